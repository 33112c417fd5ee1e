import { BN } from '@drift-labs/sdk';
import { ExchangeError, fromScaledInteger, type RoundingMode, toScaledInteger } from '@perpkit/core';

/**
 * Drift's fixed-point precisions, as powers of ten. The SDK exports the same constants as `BN`s
 * (`QUOTE_PRECISION` = 10^6, ...); a test checks these exponents against them.
 */
export const DRIFT_DECIMALS = {
  /** USDC amounts, collateral, PnL, margin requirements (`QUOTE_PRECISION`). */
  quote: 6,
  /** Prices: oracle, order and fill prices (`PRICE_PRECISION`). */
  price: 6,
  /** Perp base amounts, order step sizes (`BASE_PRECISION` = `AMM_RESERVE_PRECISION`). */
  base: 9,
  /** Cumulative and last funding rates, quote per base (`FUNDING_RATE_PRECISION`). */
  fundingRate: 9,
  /** Funding rate buffer between price and funding precision (`FUNDING_RATE_BUFFER_PRECISION`). */
  fundingRateBuffer: 3,
  /** Spot `scaledBalance` (`SPOT_MARKET_BALANCE_PRECISION`). */
  spotBalance: 9,
  /** Spot cumulative interest (`SPOT_MARKET_CUMULATIVE_INTEREST_PRECISION`). */
  cumulativeInterest: 10,
  /** Margin ratios: 2000 = 20 % (`MARGIN_PRECISION`). */
  margin: 4,
  /** `getLeverage()`, `getMarginRatio()` (`TEN_THOUSAND`). */
  tenThousand: 4,
  /** Percentages such as weights and fee adjustments (`PERCENTAGE_PRECISION`). */
  percentage: 6,
} as const;

export type DriftPrecision = keyof typeof DRIFT_DECIMALS;

/** A BN, bigint, integer string or safe integer as a bigint. */
export function toBigInt(value: BN | bigint | string | number): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new ExchangeError('INVALID_ARGUMENT', `${value} is not a safe integer`);
    return BigInt(value);
  }
  return BigInt(value.toString());
}

/** The exact decimal string of a Drift fixed-point integer: `scaledToDecimal(new BN(1500000), 'quote')` → "1.5". */
export function scaledToDecimal(value: BN | bigint | string | number, precision: DriftPrecision): string {
  return fromScaledInteger(toBigInt(value), DRIFT_DECIMALS[precision]);
}

/**
 * The nearest double of a Drift fixed-point integer, for fields core keeps as numbers (equity,
 * margin). Exact up to 2^53 in the integer, which covers any realistic USDC amount.
 */
export function scaledToNumber(value: BN | bigint | string | number, precision: DriftPrecision): number {
  return Number(scaledToDecimal(value, precision));
}

/**
 * A decimal (string or number, read as its shortest round-trip decimal) as a Drift fixed-point
 * `BN`. `mode` says which way a value finer than the precision rounds; `exact` refuses it, naming
 * `field`.
 */
export function decimalToScaled(
  value: string | number,
  precision: DriftPrecision,
  mode: RoundingMode | 'exact' = 'exact',
  field = 'value',
): BN {
  const decimals = DRIFT_DECIMALS[precision];
  let scaled: bigint;
  try {
    scaled = toScaledInteger(value, decimals, mode === 'exact' ? 'floor' : mode);
    if (mode === 'exact' && scaled !== toScaledInteger(value, decimals, 'ceil'))
      throw new Error(`it has more than ${decimals} decimal places`);
  } catch (error) {
    throw new ExchangeError(
      'INVALID_ARGUMENT',
      `${field} ${JSON.stringify(value)} is not a decimal with at most ${decimals} places: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return new BN(scaled.toString());
}

/**
 * The hourly funding rate (a fraction; positive: longs pay shorts) of a settled Drift funding rate.
 * `lastFundingRate` is quote per base in FUNDING_RATE_PRECISION (10^9) for one hour; divided by the
 * oracle TWAP it was computed against (PRICE_PRECISION) it is a fraction of the price:
 * rate = lastFundingRate / 10^9 ÷ (oracleTwap / 10^6). Exact as a decimal string to 18 places.
 */
export function settledFundingRateFraction(
  lastFundingRate: BN | bigint | string,
  oracleTwap: BN | bigint | string,
): string {
  const rate = toBigInt(lastFundingRate);
  const twap = toBigInt(oracleTwap);
  if (twap <= 0n) return '0';
  const places = 18;
  // rate/1e9 / (twap/1e6) = rate / (twap * 1e3); scaled by 10^places, rounded toward zero.
  const scaled = (rate * 10n ** BigInt(places)) / (twap * 10n ** BigInt(DRIFT_DECIMALS.fundingRateBuffer));
  return fromScaledInteger(scaled, places);
}

/**
 * The hourly funding rate (fraction) of the SDK's live estimate (`calculateLongShortFundingRateAndLiveTwaps`),
 * whose unit is percent × PRICE_PRECISION: fraction = raw / 10^8.
 */
export function estimatedFundingRateFraction(raw: BN | bigint | string): string {
  return fromScaledInteger(toBigInt(raw), DRIFT_DECIMALS.price + 2);
}

/**
 * Funding owed on a position between two cumulative funding rates, in QUOTE_PRECISION, as the
 * program computes it: −(Δ cumulative rate × base / BASE_PRECISION / FUNDING_RATE_BUFFER),
 * each division truncating toward zero. Positive: received.
 */
export function fundingPayment(
  fromCumulativeRate: BN | bigint | string,
  toCumulativeRate: BN | bigint | string,
  baseAssetAmount: BN | bigint | string,
): bigint {
  const delta = toBigInt(toCumulativeRate) - toBigInt(fromCumulativeRate);
  const owed =
    (delta * toBigInt(baseAssetAmount)) /
    10n ** BigInt(DRIFT_DECIMALS.base) /
    10n ** BigInt(DRIFT_DECIMALS.fundingRateBuffer);
  return -owed;
}
