import { EngineError, type FundingRate, type Market } from '@perpkit/core';

/** Hours in a (365-day) year: an hourly rate times this is an APY (simple, not compounded). */
export const HOURS_PER_YEAR = 24 * 365;

const HOUR_MS = 3_600_000;

/** Relative tolerance when checking that `ratePerHour` is `rate / intervalHours`. */
const NORMALIZATION_TOLERANCE = 1e-9;

/**
 * The funding rate per hour, the only unit venues are compared in.
 *
 * A `FundingRate` carries the venue's own rate (`rate`, per `intervalHours`) and the same rate
 * normalized once (`ratePerHour`). This reads `ratePerHour` and checks both facts it rests on,
 * because a wrong interval silently misstates funding by the ratio of the intervals (an 8h rate
 * read as hourly is the classic 8× error):
 * - the rate's interval is the interval the market declares (an adapter that normalized already
 *   and then labelled the result hourly would break this);
 * - `ratePerHour` is exactly `rate / intervalHours` (an adapter that divided twice would break this).
 *
 * Throws `INVALID_ARGUMENT` naming the instrument and both numbers when either check fails.
 */
export function hourlyRate(
  rate: FundingRate,
  market: Pick<Market, 'fundingIntervalHours'> | undefined,
): number {
  const where = `${rate.exchange}:${rate.symbol}`;
  if (!(rate.intervalHours > 0))
    throw new EngineError(
      'INVALID_ARGUMENT',
      `${where}: funding intervalHours must be positive (got ${rate.intervalHours})`,
    );
  if (market !== undefined && market.fundingIntervalHours !== rate.intervalHours) {
    throw new EngineError(
      'INVALID_ARGUMENT',
      `${where}: the funding rate is per ${rate.intervalHours}h but the market settles every ${market.fundingIntervalHours}h; comparing it would misstate funding by ${Math.max(rate.intervalHours, market.fundingIntervalHours) / Math.min(rate.intervalHours, market.fundingIntervalHours)}×`,
    );
  }
  const expected = rate.rate / rate.intervalHours;
  const scale = Math.max(Math.abs(expected), Math.abs(rate.ratePerHour), 1e-18);
  if (Math.abs(rate.ratePerHour - expected) > NORMALIZATION_TOLERANCE * scale) {
    throw new EngineError(
      'INVALID_ARGUMENT',
      `${where}: ratePerHour ${rate.ratePerHour} is not rate ${rate.rate} / ${rate.intervalHours}h = ${expected} (normalized twice?)`,
    );
  }
  return rate.ratePerHour;
}

/**
 * Net funding per hour, per unit of notional, of a hedged pair: the short leg receives its venue's
 * rate, the long leg pays its own (positive rates: longs pay shorts). Positive means the pair
 * collects.
 */
export function pairSpreadPerHour(longRatePerHour: number, shortRatePerHour: number): number {
  return shortRatePerHour - longRatePerHour;
}

/** An hourly rate as a simple annual rate. */
export function annualize(ratePerHour: number): number {
  return ratePerHour * HOURS_PER_YEAR;
}

/**
 * Start of the funding period a rate is accruing in: the previous settlement. Venues that give the
 * next settlement time define it; otherwise the rate's own time (a settled rate's settlement).
 */
export function accrualStart(rate: FundingRate): number {
  if (rate.nextFundingTime !== undefined && rate.predicted === true)
    return rate.nextFundingTime - rate.intervalHours * HOUR_MS;
  return rate.timestamp;
}
