import { type Candle, EngineError } from '@perpkit/core';
import { RollingMoments } from './rolling';

/**
 * An incremental indicator over bars. Bars are `commit`ted once they are final, in time order;
 * `preview` computes the value as of the newest bar (which may still be forming on a live stream,
 * and may be replaced by a bar with the same open time) without changing the committed state.
 * Both are O(1).
 */
export interface BarIndicator<Value> {
  /** Open time of the newest committed bar; −Infinity before the first. */
  readonly lastCommitted: number;
  commit(candle: Candle): void;
  /** The value as of `candle`, the bar after the committed ones; undefined while warming up. */
  preview(candle: Candle): Value | undefined;
}

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/** True range of a bar; the first bar (no previous close) has its high − low. */
export function trueRange(candle: Candle, previousClose: number | undefined): number {
  const range = candle.high - candle.low;
  if (previousClose === undefined) return range;
  return Math.max(range, Math.abs(candle.high - previousClose), Math.abs(candle.low - previousClose));
}

/**
 * Average true range with Wilder's smoothing: the first value is the simple mean of the first
 * `period` true ranges, then `atr += (tr − atr) / period`. The first bar's true range is its
 * high − low.
 */
export class AverageTrueRange implements BarIndicator<number> {
  lastCommitted = Number.NEGATIVE_INFINITY;
  private previousClose: number | undefined;
  private ranges = 0;
  private seedSum = 0;
  private value = Number.NaN;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 1)
      throw new EngineError('INVALID_ARGUMENT', 'period must be a positive integer');
  }

  private next(range: number): number {
    const count = this.ranges + 1;
    if (count < this.period) return Number.NaN;
    if (count === this.period) return (this.seedSum + range) / this.period;
    return this.value + (range - this.value) / this.period;
  }

  commit(candle: Candle): void {
    const range = trueRange(candle, this.previousClose);
    const next = this.next(range);
    this.ranges += 1;
    if (this.ranges < this.period) this.seedSum += range;
    this.value = next;
    this.previousClose = candle.close;
    this.lastCommitted = candle.timestamp;
  }

  preview(candle: Candle): number | undefined {
    const next = this.next(trueRange(candle, this.previousClose));
    return Number.isNaN(next) ? undefined : next;
  }
}

/**
 * Z-score of a bar's volume against the `period` bars before it: (volume − mean) / σ, with the
 * population standard deviation. The bar itself is not in its own baseline, so a spike does not
 * dampen itself. Undefined until `period` earlier bars exist, and when they all have one volume.
 */
export class VolumeZScore implements BarIndicator<number> {
  lastCommitted = Number.NEGATIVE_INFINITY;
  private readonly window: RollingMoments;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 2)
      throw new EngineError('INVALID_ARGUMENT', 'period must be an integer ≥ 2');
    this.window = new RollingMoments(period);
  }

  commit(candle: Candle): void {
    this.window.push(candle.volume);
    this.lastCommitted = candle.timestamp;
  }

  preview(candle: Candle): number | undefined {
    if (!this.window.full) return undefined;
    const { mean, variance } = this.window.moments();
    const deviation = Math.sqrt(variance);
    if (!(deviation > 0)) return undefined;
    return (candle.volume - mean) / deviation;
  }
}

/**
 * Realized volatility: the population standard deviation of the last `period` log returns of the
 * close, annualized over a 365-day year (perpetuals trade every day) with the bar length, e.g.
 * 0.5 = 50 % a year. The bar length is the smallest spacing seen between bars, so a gap in the
 * data does not pass for a longer bar. Undefined until `period` returns exist.
 */
export class RealizedVolatility implements BarIndicator<number> {
  lastCommitted = Number.NEGATIVE_INFINITY;
  private readonly window: RollingMoments;
  private previousClose: number | undefined;
  private barMs = Number.POSITIVE_INFINITY;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 2)
      throw new EngineError('INVALID_ARGUMENT', 'period must be an integer ≥ 2');
    this.window = new RollingMoments(period);
  }

  commit(candle: Candle): void {
    this.noteSpacing(candle.timestamp);
    if (this.previousClose !== undefined) this.window.push(Math.log(candle.close / this.previousClose));
    this.previousClose = candle.close;
    this.lastCommitted = candle.timestamp;
  }

  private noteSpacing(timestamp: number): void {
    const spacing = timestamp - this.lastCommitted;
    if (spacing > 0 && spacing < this.barMs) this.barMs = spacing;
  }

  /** Bar length in ms as far as seen (Infinity before two bars). */
  get barLengthMs(): number {
    return this.barMs;
  }

  preview(candle: Candle): number | undefined {
    if (this.previousClose === undefined) return undefined;
    const logReturn = Math.log(candle.close / this.previousClose);
    const { count, variance } = this.window.momentsWith(logReturn);
    if (count < this.period) return undefined;
    const spacing = candle.timestamp - this.lastCommitted;
    const barMs = spacing > 0 ? Math.min(this.barMs, spacing) : this.barMs;
    if (!Number.isFinite(barMs)) return undefined;
    return Math.sqrt(variance) * Math.sqrt(YEAR_MS / barMs);
  }
}
