import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCrossDetector } from '../src/cross';
import { BYBIT_BTC_1M, readCandles } from './data';

/** Straight from the rules, with exact integer arithmetic and no incremental state. */
function referenceCrosses(
  closes: readonly number[],
  fast: number,
  slow: number,
  decimals: number,
): (string | undefined)[] {
  const scaled = closes.map((close) => BigInt(Math.round(close * 10 ** decimals)));
  const sum = (from: number, to: number) =>
    scaled.slice(from, to).reduce((total, value) => total + value, 0n);
  const d: (number | undefined)[] = closes.map((_, t) => {
    if (t + 1 < slow) return undefined;
    const difference = sum(t + 1 - fast, t + 1) * BigInt(slow) - sum(t + 1 - slow, t + 1) * BigInt(fast);
    return difference === 0n ? 0 : difference > 0n ? 1 : -1;
  });
  return d.map((value, t) => {
    if (value === undefined || value === 0) return undefined;
    let previous = 0;
    for (let back = t - 1; back >= 0; back -= 1) {
      const earlier = d[back];
      if (earlier === undefined) break;
      if (earlier !== 0) {
        previous = earlier;
        break;
      }
    }
    if (previous < 0 && value > 0) return 'up';
    if (previous > 0 && value < 0) return 'down';
    return undefined;
  });
}

describe('createCrossDetector', () => {
  it('finds the crosses the rules define on real BTC minutes', () => {
    const closes = readCandles(BYBIT_BTC_1M, 5000).map((candle) => candle.close);
    const detector = createCrossDetector(10, 30, '0.1');
    const found = closes.map((close) => detector.push(close));
    const expected = referenceCrosses(closes, 10, 30, 1);
    expect(found).toEqual(expected);
    expect(found.filter(Boolean).length).toBeGreaterThan(50);
  });

  it('treats d = 0 as no information: the cross comes on the first non-zero d', () => {
    // SMA2 vs SMA4. t3: d < 0; t4: d is exactly 0 (in floats, 0.8 + 1.2 sums would not be); t5: d > 0.
    const detector = createCrossDetector(2, 4, '0.1');
    const closes = [1.2, 1.2, 0.8, 0.8, 1.2, 1.2, 0.8, 1.2, 1.6];
    const events = closes.map((close) => detector.push(close));
    expect(events.slice(0, 6)).toEqual([undefined, undefined, undefined, undefined, undefined, 'up']);
    expect(events).toEqual(referenceCrosses(closes, 2, 4, 1));
  });

  it('matches the reference on random paths, including many exact ties', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 995, max: 1005 }), { minLength: 40, maxLength: 300 }),
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 12 }),
        (ticks, fast, extra) => {
          const slow = fast + extra;
          const closes = ticks.map((tick) => tick / 10);
          const detector = createCrossDetector(fast, slow, '0.1');
          expect(closes.map((close) => detector.push(close))).toEqual(
            referenceCrosses(closes, fast, slow, 1),
          );
        },
      ),
    );
  });
});
