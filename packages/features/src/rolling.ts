import { EngineError } from '@perpkit/core';

/** Mean and population variance of a window. */
export interface WindowMoments {
  readonly count: number;
  readonly mean: number;
  /** Population variance (divided by the count), never negative. */
  readonly variance: number;
}

/**
 * Mean and variance over the last `period` values, O(1) per value.
 *
 * Sums are kept of values shifted by a reference close to their mean, so `E[x²] − E[x]²` does not
 * cancel catastrophically, and they are recomputed exactly from the window every `period` pushes
 * (amortized O(1)), so rounding never accumulates over a long series: results stay within a few
 * ulps of a two-pass computation.
 */
export class RollingMoments {
  private readonly values: Float64Array;
  private head = 0;
  private size = 0;
  private shift = 0;
  private sum = 0;
  private sumSquares = 0;
  private pushesSinceExact = 0;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 1)
      throw new EngineError('INVALID_ARGUMENT', `period must be a positive integer`);
    this.values = new Float64Array(period);
  }

  get count(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.period;
  }

  /** Adds a value, dropping the oldest once the window is full. */
  push(value: number): void {
    if (this.size === 0) this.shift = value;
    const shifted = value - this.shift;
    if (this.size === this.period) {
      const leaving = (this.values[this.head] as number) - this.shift;
      this.sum -= leaving;
      this.sumSquares -= leaving * leaving;
    } else {
      this.size += 1;
    }
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.period;
    this.sum += shifted;
    this.sumSquares += shifted * shifted;
    this.pushesSinceExact += 1;
    if (this.pushesSinceExact >= this.period) this.recompute();
  }

  /** The window's moments. */
  moments(): WindowMoments {
    return this.momentsOf(this.size, this.sum, this.sumSquares);
  }

  /** The moments the window would have after `push(value)`, without changing it. */
  momentsWith(value: number): WindowMoments {
    if (this.size === 0) return { count: 1, mean: value, variance: 0 };
    const shifted = value - this.shift;
    let sum = this.sum + shifted;
    let sumSquares = this.sumSquares + shifted * shifted;
    let count = this.size + 1;
    if (this.size === this.period) {
      const leaving = (this.values[this.head] as number) - this.shift;
      sum -= leaving;
      sumSquares -= leaving * leaving;
      count = this.period;
    }
    return this.momentsOf(count, sum, sumSquares);
  }

  private momentsOf(count: number, sum: number, sumSquares: number): WindowMoments {
    if (count === 0) return { count: 0, mean: Number.NaN, variance: Number.NaN };
    const meanShifted = sum / count;
    const variance = Math.max(0, sumSquares / count - meanShifted * meanShifted);
    return { count, mean: this.shift + meanShifted, variance };
  }

  /** Exact two-pass sums from the window, re-centred on its mean. */
  private recompute(): void {
    this.pushesSinceExact = 0;
    let total = 0;
    for (let index = 0; index < this.size; index += 1) total += this.values[index] as number;
    this.shift = total / this.size;
    let sum = 0;
    let sumSquares = 0;
    for (let index = 0; index < this.size; index += 1) {
      const shifted = (this.values[index] as number) - this.shift;
      sum += shifted;
      sumSquares += shifted * shifted;
    }
    this.sum = sum;
    this.sumSquares = sumSquares;
  }
}

/** A fixed-size ring of the last `capacity` numbers; `get(0)` is the newest. */
export class NumberRing {
  private readonly values: Float64Array;
  private head = -1;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new EngineError('INVALID_ARGUMENT', `capacity must be a positive integer`);
    this.values = new Float64Array(capacity);
  }

  get count(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  /** Adds a value; returns the value it pushed out, or NaN while not full. */
  push(value: number): number {
    this.head = (this.head + 1) % this.capacity;
    const leaving = this.size === this.capacity ? (this.values[this.head] as number) : Number.NaN;
    this.values[this.head] = value;
    if (this.size < this.capacity) this.size += 1;
    return leaving;
  }

  /** `ago` = 0 is the newest value; NaN outside the ring. */
  get(ago: number): number {
    if (ago < 0 || ago >= this.size) return Number.NaN;
    return this.values[(this.head - ago + this.capacity) % this.capacity] as number;
  }

  /** Sum of every value in the ring (O(capacity); for exact re-sums). */
  total(): number {
    let sum = 0;
    for (let index = 0; index < this.size; index += 1) sum += this.values[index] as number;
    return sum;
  }
}
