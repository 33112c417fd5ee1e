export type CrossEvent = 'up' | 'down';

export interface CrossDetector {
  /** Adds bar t's close; returns the cross at t, if any. O(1). */
  push(close: number): CrossEvent | undefined;
  fastMean(): number;
  slowMean(): number;
}

/**
 * Incremental SMA crossover detection with exact comparisons.
 *
 * Closes are scaled to integers on the price grid (10^decimals of the tick, or 10^8), so window sums
 * are exact in doubles and the sign of d = fastSum/fast − slowSum/slow is taken from the exact
 * integer `fastSum·slow − slowSum·fast`. Float drift can never turn a tie (d = 0) into a cross.
 */
export function createCrossDetector(fast: number, slow: number, tickSize?: string): CrossDetector {
  const decimals = tickSize === undefined ? 8 : (tickSize.split('.')[1]?.replace(/0+$/, '').length ?? 0);
  const scale = 10 ** decimals;
  const window = new Float64Array(slow);
  let count = 0;
  let head = 0;
  let fastSum = 0;
  let slowSum = 0;
  let lastNonZero = 0; // sign of the last non-zero d, 0 before any

  const sign = (): number => {
    const left = fastSum * slow;
    const right = slowSum * fast;
    if (Math.abs(left) < Number.MAX_SAFE_INTEGER && Math.abs(right) < Number.MAX_SAFE_INTEGER) {
      return Math.sign(left - right);
    }
    const difference = BigInt(fastSum) * BigInt(slow) - BigInt(slowSum) * BigInt(fast);
    return difference === 0n ? 0 : difference > 0n ? 1 : -1;
  };

  return {
    push(close) {
      const scaled = Math.round(close * scale);
      const leaving = count >= slow ? (window[head] as number) : 0;
      // The bar leaving the fast window is `fast` bars back.
      const fastLeaving = count >= fast ? (window[(head - fast + slow) % slow] as number) : 0;
      window[head] = scaled;
      head = (head + 1) % slow;
      count += 1;
      slowSum += scaled - leaving;
      fastSum += scaled - fastLeaving;
      if (count < slow) return undefined;
      const d = sign();
      if (d === 0) return undefined;
      const previous = lastNonZero;
      lastNonZero = d;
      if (previous < 0 && d > 0) return 'up';
      if (previous > 0 && d < 0) return 'down';
      return undefined;
    },
    fastMean: () => fastSum / fast / scale,
    slowMean: () => slowSum / slow / scale,
  };
}
