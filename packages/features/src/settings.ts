import { duration, z } from '@perpkit/core';
import type { Regime } from './regime';

/** Feature parameters; strategies take them as their `features` option. */
export const featureSettingsSchema = z
  .object({
    /** Bars in the ATR (Wilder). */
    atrPeriod: z.number().int().min(1).max(10_000).default(14),
    /** Earlier bars the volume z-score compares a bar's volume with. */
    volumePeriod: z.number().int().min(2).max(10_000).default(20),
    /** Log returns in the realized volatility. */
    volatilityPeriod: z.number().int().min(2).max(10_000).default(20),
    /** Bars over which the regime classifier measures efficiency. */
    regimePeriod: z.number().int().min(2).max(10_000).default(20),
    /** Efficiency ratio at or above which the market is directional (`trend` or `bear`). */
    trendEfficiency: z.number().gt(0).max(1).default(0.3),
    /** Book levels per side in the imbalance. */
    bookDepth: z.number().int().min(1).max(100).default(5),
    /** Books and quotes older than this (engine clock) are ignored: a stale book is no signal. */
    maxQuoteAge: duration.default(60_000),
  })
  .strict();

export type FeatureSettings = z.infer<typeof featureSettingsSchema>;

/** The settings with every default filled in (`defaultFeatureSettings()`). */
export function defaultFeatureSettings(overrides: Partial<FeatureSettings> = {}): FeatureSettings {
  return featureSettingsSchema.parse(overrides);
}

/** The features every snapshot has a slot for, as named in signals' `features`. */
export const FEATURE_NAMES = [
  'bodyOverAtr',
  'volumeZ',
  'obImbalance',
  'premiumPct',
  'fundingRate',
  'openInterest',
  'realizedVol',
  'spreadBps',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/**
 * Features of one instrument as of one cycle. A value is `undefined` while its indicator warms up
 * or when the data it needs is not there (no book, no index price, a stale quote).
 */
export interface FeatureSnapshot {
  readonly exchange: string;
  readonly symbol: string;
  /** Open time of the newest bar, which the bar features describe. */
  readonly barTime: number | undefined;
  /** Engine time the snapshot was taken. */
  readonly at: number;
  /** The newest bar's open and close. */
  readonly open: number | undefined;
  readonly close: number | undefined;
  /** Wilder ATR including the newest bar, in price units. */
  readonly atr: number | undefined;
  /** Newest bar's body (close − open) over the ATR; signed, positive for an up bar. */
  readonly bodyOverAtr: number | undefined;
  /** Newest bar's volume as a z-score against the `volumePeriod` bars before it. */
  readonly volumeZ: number | undefined;
  /** Book imbalance over `bookDepth` levels, in [−1, 1]; positive: more bids. */
  readonly obImbalance: number | undefined;
  /** Mark over index, in percent. Needs an index price (tickers with `index`). */
  readonly premiumPct: number | undefined;
  /** The venue's current (last known) funding rate, per hour. Positive: longs pay. */
  readonly fundingRate: number | undefined;
  /**
   * Open interest. Always undefined for now: no perpkit state carries it and none of the shared
   * datasets record it. The slot is kept so strategies and audit logs do not change shape when a
   * source is added.
   */
  readonly openInterest: number | undefined;
  /** Annualized standard deviation of log returns over `volatilityPeriod` bars (0.5 = 50 %). */
  readonly realizedVol: number | undefined;
  /** Quoted spread in basis points of the mid, from the book's top or the ticker's bid/ask. */
  readonly spreadBps: number | undefined;
  readonly regime: Regime;
  /** The regime classifier's efficiency ratio. */
  readonly efficiency: number | undefined;
}

/** The defined feature values of a snapshot, for a signal's `features` (the audit log). */
export function featureValues(snapshot: FeatureSnapshot): Record<string, number> {
  const values: Record<string, number> = {};
  for (const name of FEATURE_NAMES) {
    const value = snapshot[name];
    if (value !== undefined) values[name] = value;
  }
  if (snapshot.atr !== undefined) values.atr = snapshot.atr;
  if (snapshot.efficiency !== undefined) values.efficiency = snapshot.efficiency;
  return values;
}
