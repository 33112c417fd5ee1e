/**
 * Hourly net APY samples of one venue pair, newest last, in a fixed ring (the z-score exit reads a
 * week: 168 samples). Samples are stored for the pair's canonical orientation (long the first venue,
 * short the second); `OrientedHistory` reads them for either orientation.
 */
export class SpreadHistory {
  private readonly values: Float64Array;
  private head = 0;
  private size = 0;
  /** Statistics computed since the last push (exit rules read them every cycle; samples come hourly). */
  private readonly memo = new Map<string, number>();
  /** The hour (epoch ms / 3 600 000, floored) of the newest sample. */
  lastHour = Number.NEGATIVE_INFINITY;

  constructor(readonly capacity: number) {
    this.values = new Float64Array(capacity);
  }

  get count(): number {
    return this.size;
  }

  push(value: number, hour: number): void {
    this.memo.clear();
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size += 1;
    this.lastHour = hour;
  }

  /** `ago` = 0 is the newest sample. */
  get(ago: number): number {
    if (ago < 0 || ago >= this.size) return Number.NaN;
    return this.values[(this.head - 1 - ago + this.capacity) % this.capacity] as number;
  }

  /** Mean of the newest `n` samples (fewer if fewer are kept). */
  mean(n: number): number {
    const count = Math.min(n, this.size);
    if (count === 0) return Number.NaN;
    let sum = 0;
    for (let ago = 0; ago < count; ago += 1) sum += this.get(ago);
    return sum / count;
  }

  /**
   * Least-squares slope of the newest `n` samples, per sample (per hour); NaN with fewer than `n`.
   * x runs 0 … n−1 from the oldest of them to the newest.
   */
  slope(n: number): number {
    if (this.size < n || n < 2) return Number.NaN;
    const key = `slope:${n}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const meanX = (n - 1) / 2;
    let meanY = 0;
    for (let ago = 0; ago < n; ago += 1) meanY += this.get(ago);
    meanY /= n;
    let covariance = 0;
    let variance = 0;
    for (let ago = 0; ago < n; ago += 1) {
      const dx = n - 1 - ago - meanX;
      covariance += dx * (this.get(ago) - meanY);
      variance += dx * dx;
    }
    const slope = covariance / variance;
    this.memo.set(key, slope);
    return slope;
  }

  /**
   * How far the newest sample is from the mean of the newest `window` samples (itself included),
   * in (population) standard deviations; NaN with fewer than `minSamples` or no dispersion.
   */
  zScore(window: number, minSamples: number): number {
    const count = Math.min(window, this.size);
    if (count < minSamples || count < 2) return Number.NaN;
    const key = `z:${count}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const mean = this.mean(count);
    let squares = 0;
    for (let ago = 0; ago < count; ago += 1) {
      const deviation = this.get(ago) - mean;
      squares += deviation * deviation;
    }
    const deviation = Math.sqrt(squares / count);
    const z = deviation > 0 ? (this.get(0) - mean) / deviation : Number.NaN;
    this.memo.set(key, z);
    return z;
  }

  /** Oldest first, for plugin memory. */
  toJSON(): { lastHour: number; values: number[] } {
    const values: number[] = [];
    for (let ago = this.size - 1; ago >= 0; ago -= 1) values.push(this.get(ago));
    return { lastHour: this.lastHour, values };
  }

  static fromJSON(capacity: number, saved: { lastHour: number; values: readonly number[] }): SpreadHistory {
    const history = new SpreadHistory(capacity);
    const values = saved.values.slice(-capacity);
    values.forEach((value, index) => {
      history.push(value, saved.lastHour - (values.length - 1 - index));
    });
    return history;
  }
}

/** A venue pair's history read for one orientation: sign +1 canonical, −1 reversed. */
export class OrientedHistory {
  constructor(
    readonly history: SpreadHistory,
    readonly sign: 1 | -1,
  ) {}

  get count(): number {
    return this.history.count;
  }
  get(ago: number): number {
    return this.sign * this.history.get(ago);
  }
  mean(n: number): number {
    return this.sign * this.history.mean(n);
  }
  slope(n: number): number {
    return this.sign * this.history.slope(n);
  }
  zScore(window: number, minSamples: number): number {
    return this.sign * this.history.zScore(window, minSamples);
  }
}
