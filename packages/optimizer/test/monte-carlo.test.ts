import { PerpkitError } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { histogram, monteCarlo, quantile } from '../src/monte-carlo';

describe('quantile', () => {
  it('interpolates linearly between order statistics (type 7)', () => {
    const sorted = [1, 2, 3, 4, 5];
    expect(quantile(sorted, 0)).toBe(1);
    expect(quantile(sorted, 1)).toBe(5);
    expect(quantile(sorted, 0.5)).toBe(3);
    // h = 4 × 0.1 = 0.4 → 1 + 0.4 × (2 − 1)
    expect(quantile(sorted, 0.1)).toBeCloseTo(1.4, 12);
    expect(quantile([10, 20], 0.25)).toBeCloseTo(12.5, 12);
  });
});

describe('histogram', () => {
  it('counts every value into equal-width bins, max in the last bin', () => {
    const bins = histogram([0, 1, 2, 3, 4, 10], 5);
    expect(bins.map((bin) => [bin.from, bin.to, bin.count])).toEqual([
      [0, 2, 2],
      [2, 4, 2],
      [4, 6, 1],
      [6, 8, 0],
      [8, 10, 1],
    ]);
    expect(histogram([3, 3, 3])).toEqual([{ from: 3, to: 3, count: 3 }]);
  });
});

describe('monteCarlo shuffle', () => {
  it('gives the two possible drawdowns of [+10, −10] with probability 1/2 each', () => {
    const runs = 2000;
    const result = monteCarlo([10, -10], 100, { method: 'shuffle', runs, seed: 1 });
    // +10 then −10: peak 110, trough 100 → 10/110. −10 then +10: peak 100, trough 90 → 10/100.
    expect(result.maxDrawdown.lower).toBe(10 / 110);
    expect(result.maxDrawdown.upper).toBe(10 / 100);
    const [low, high] = [result.histogram.maxDrawdown[0], result.histogram.maxDrawdown.at(-1)];
    expect((low?.count ?? 0) + (high?.count ?? 0)).toBe(runs);
    // Binomial(2000, 1/2) frequency: sd 0.011, allow ~3.5 sd.
    expect(Math.abs((low?.count ?? 0) / runs - 0.5)).toBeLessThan(0.04);
    expect(Math.abs(result.maxDrawdown.mean - (10 / 110 + 10 / 100) / 2)).toBeLessThan(
      0.04 * (10 / 100 - 10 / 110),
    );
    // The final PnL of a permutation never changes.
    expect(result.netPnl).toEqual({ mean: 0, median: 0, lower: 0, upper: 0 });
    expect(result.probabilityOfLoss).toBe(0);
    expect(result.original).toEqual({ netPnl: 0, maxDrawdown: 10 / 110 });
  });

  it('has no drawdown and degenerate intervals for equal winning trades', () => {
    const result = monteCarlo([5, 5, 5, 5], 1000, { method: 'shuffle', runs: 300, seed: 2 });
    expect(result.maxDrawdown).toEqual({ mean: 0, median: 0, lower: 0, upper: 0 });
    expect(result.netPnl).toEqual({ mean: 20, median: 20, lower: 20, upper: 20 });
    expect(result.finalReturn).toEqual({ mean: 0.02, median: 0.02, lower: 0.02, upper: 0.02 });
    expect(result.histogram.netPnl).toEqual([{ from: 20, to: 20, count: 300 }]);
  });

  it('measures drawdown from the running peak including the start', () => {
    // 100 → 110 → 80 → 85: the fall is 30 from the peak 110.
    expect(monteCarlo([10, -30, 5], 100, { method: 'shuffle', runs: 1, seed: 3 }).original.maxDrawdown).toBe(
      30 / 110,
    );
    // A losing series loses in every order.
    expect(monteCarlo([-1, -2, 1], 100, { method: 'shuffle', runs: 50, seed: 3 }).probabilityOfLoss).toBe(1);
  });
});

describe('monteCarlo bootstrap', () => {
  it('resamples ±1 trades (n = 100) to a net PnL of mean 0 and sd 10', () => {
    const trades = Array.from({ length: 100 }, (_, index) => (index % 2 === 0 ? 1 : -1));
    const runs = 4000;
    const result = monteCarlo(trades, 1000, { method: 'bootstrap', runs, seed: 7 });
    // Sum of 100 fair ±1: mean 0, sd 10. Mean of 4000 runs has sd 0.16.
    expect(Math.abs(result.netPnl.mean)).toBeLessThan(0.6);
    // 95% interval ≈ ±1.96 sd = ±19.6; sums are even integers, so allow a step either side.
    expect(result.netPnl.lower).toBeGreaterThanOrEqual(-22);
    expect(result.netPnl.lower).toBeLessThanOrEqual(-17);
    expect(result.netPnl.upper).toBeGreaterThanOrEqual(17);
    expect(result.netPnl.upper).toBeLessThanOrEqual(22);
    const total = result.histogram.netPnl.reduce((sum, bin) => sum + bin.count, 0);
    expect(total).toBe(runs);
    expect(result.finalReturn.lower).toBeCloseTo(result.netPnl.lower / 1000, 12);
  });

  it('estimates the probability of loss of [+1, −2] as 3/4', () => {
    // Two draws: +2 (1/4), −1 (1/2), −4 (1/4) → loss with probability 3/4.
    const result = monteCarlo([1, -2], 100, { method: 'bootstrap', runs: 4000, seed: 11 });
    // sd of the estimate √(0.75 × 0.25 / 4000) ≈ 0.007.
    expect(Math.abs(result.probabilityOfLoss - 0.75)).toBeLessThan(0.03);
    expect(result.netPnl.lower).toBe(-4);
    expect(result.netPnl.upper).toBe(2);
    expect(result.netPnl.median).toBe(-1);
  });
});

describe('monteCarlo options', () => {
  it('is deterministic for a seed', () => {
    const trades = [3, -1, 4, -1, -5, 9, -2, 6];
    const options = { method: 'bootstrap' as const, runs: 200, seed: 42 };
    expect(monteCarlo(trades, 100, options)).toEqual(monteCarlo(trades, 100, options));
    expect(monteCarlo(trades, 100, options)).not.toEqual(monteCarlo(trades, 100, { ...options, seed: 43 }));
    expect(monteCarlo(trades, 100, { method: 'shuffle', seed: 1 }).runs).toBe(1000);
  });

  it('handles no trades', () => {
    const result = monteCarlo([], 100, { method: 'bootstrap', runs: 10, seed: 1 });
    expect(result.netPnl).toEqual({ mean: 0, median: 0, lower: 0, upper: 0 });
    expect(result.trades).toBe(0);
  });

  it('refuses unusable options with INVALID_ARGUMENT naming the field', () => {
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error instanceof PerpkitError ? `${error.code}: ${error.message}` : String(error);
      }
      return 'no error';
    };
    expect(codeOf(() => monteCarlo([1], 100, { method: 'shuffle', runs: 0, seed: 1 }))).toMatch(
      /^INVALID_ARGUMENT: monteCarlo\.runs/,
    );
    expect(codeOf(() => monteCarlo([1], 100, { method: 'shuffle', confidence: 1, seed: 1 }))).toMatch(
      /confidence/,
    );
    expect(codeOf(() => monteCarlo([1], 0, { method: 'shuffle', seed: 1 }))).toMatch(/starting equity/);
    expect(codeOf(() => monteCarlo([1, Number.NaN], 100, { method: 'shuffle', seed: 1 }))).toMatch(/trade 1/);
  });
});
