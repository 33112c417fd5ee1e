/**
 * Unit conversions at the adapter's edge: scaled integers for prices and sizes, and the funding
 * readings (see the README, "Funding units"). Everything here is pure and unit-tested.
 */
import { fromScaledInteger, isMultipleOf, toScaledInteger } from '@perpkit/core';

/** 10^-decimals as an exact decimal string ("0.01" for 2). */
export function stepOf(decimals: number): string {
  return decimals === 0 ? '1' : fromScaledInteger(1n, decimals);
}

/** An exact decimal as the venue's integer, or undefined when it is not on the 10^-decimals grid. */
export function toVenueInteger(value: string, decimals: number): bigint | undefined {
  if (!isMultipleOf(value, stepOf(decimals))) return undefined;
  return toScaledInteger(value, decimals);
}

export function fromVenueInteger(value: bigint | number, decimals: number): number {
  return Number(fromScaledInteger(BigInt(value), decimals));
}

/**
 * `GET /api/v1/funding-rates` `rate`: read as a fraction per 8 hours (the page compares Lighter with
 * 8-hour venues). Returns the fraction per hour.
 */
export function fundingRatesEndpointToHourly(rate: string | number): number {
  return Number(rate) / 8;
}

/**
 * `GET /api/v1/fundings` rows: `rate` read as an unsigned percent per hour and `direction` as the
 * side that pays. Returns the signed fraction per hour (positive: longs pay shorts).
 */
export function fundingHistoryRowToHourly(rate: string | number, direction: string): number {
  const magnitude = Math.abs(Number(rate)) / 100;
  if (direction === 'long') return magnitude;
  if (direction === 'short') return -magnitude;
  throw new RangeError(`unknown funding direction "${direction}"`);
}

/**
 * `market_stats` `current_funding_rate` / `funding_rate` and position-funding `rate`: read as a
 * signed percent per hour. Returns the signed fraction per hour.
 */
export function percentPerHourToHourly(rate: string | number): number {
  return Number(rate) / 100;
}

/** Trade fee fields are rates in millionths of the notional (lighter-go `FeeTick = 1_000_000`). */
export const FEE_TICK = 1_000_000;

export function tradeFee(notional: number, feeRateMillionths: number | undefined): number {
  return feeRateMillionths === undefined ? 0 : (notional * feeRateMillionths) / FEE_TICK;
}
