import type { Candle, OrderBook, Ticker } from '@perpkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bookImbalance,
  FEATURE_NAMES,
  FeaturePipeline,
  featureValues,
  premiumPercent,
  RollingMoments,
  spreadBps,
} from '../src/index';
import { BYBIT_BTC_1M, readCandles } from './data';

const bar = (index: number, open: number, close: number, volume = 10): Candle => ({
  timestamp: index * 60_000,
  open,
  high: Math.max(open, close) + 1,
  low: Math.min(open, close) - 1,
  close,
  volume,
});

describe('RollingMoments', () => {
  it('matches a two-pass mean and variance on any window, even far from zero', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom(0, 1e6, 1e9),
        (values, period, offset) => {
          const moments = new RollingMoments(period);
          for (const value of values) moments.push(value + offset);
          const window = values.slice(-period).map((value) => value + offset);
          const mean = window.reduce((sum, value) => sum + value, 0) / window.length;
          const variance = window.reduce((sum, value) => sum + (value - mean) ** 2, 0) / window.length;
          const result = moments.moments();
          expect(result.count).toBe(window.length);
          expect(result.mean).toBeCloseTo(mean, 6);
          // Variance is exact to rounding relative to the square of the offset the values carry.
          expect(Math.abs(result.variance - variance)).toBeLessThanOrEqual(
            1e-9 * (variance + 1) + 1e-12 * offset ** 2,
          );
        },
      ),
    );
  });

  it('previews a push without changing the window', () => {
    const moments = new RollingMoments(3);
    for (const value of [1, 2, 3]) moments.push(value);
    const preview = moments.momentsWith(10); // window 2, 3, 10
    expect(preview.count).toBe(3);
    expect(preview.mean).toBe(5);
    expect(preview.variance).toBeCloseTo((9 + 4 + 25) / 3, 12);
    const current = moments.moments(); // still 1, 2, 3
    expect(current.mean).toBe(2);
    expect(current.variance).toBeCloseTo(2 / 3, 12);
  });
});

describe('FeaturePipeline', () => {
  it('gives the same values when the newest bar is replaced while it forms (a live stream)', async () => {
    const candles = await readCandles(BYBIT_BTC_1M, 400);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 400, maxLength: 400 }), (updates) => {
        const closedOnly = new FeaturePipeline('x', 'BTC');
        const forming = new FeaturePipeline('x', 'BTC');
        candles.forEach((candle, index) => {
          closedOnly.onBar(candle);
          // Partial versions of the bar first (same open time), then the final bar.
          for (let step = 1; step <= (updates[index] as number); step += 1) {
            const fraction = step / 4;
            const close = candle.open + (candle.close - candle.open) * fraction;
            forming.onBar({
              ...candle,
              high: Math.max(candle.open, close),
              low: Math.min(candle.open, close),
              close,
              volume: candle.volume * fraction,
            });
          }
          forming.onBar(candle);
          expect(forming.snapshot(candle.timestamp)).toEqual(closedOnly.snapshot(candle.timestamp));
        });
      }),
      { numRuns: 5 },
    );
  });

  it('refuses a bar older than the newest one', () => {
    const pipeline = new FeaturePipeline('x', 'BTC');
    pipeline.onBar(bar(5, 100, 101));
    expect(() => pipeline.onBar(bar(4, 100, 101))).toThrow(/older than the newest bar/);
  });

  it('warms up: each feature is undefined until its window is full', () => {
    const pipeline = new FeaturePipeline('x', 'BTC', { atrPeriod: 3, volumePeriod: 4, volatilityPeriod: 2 });
    const seen: [number, boolean, boolean, boolean][] = [];
    for (let index = 0; index < 6; index += 1) {
      pipeline.onBar(bar(index, 100 + index, 101 + index, 10 + (index % 2)));
      const snapshot = pipeline.snapshot(index * 60_000);
      seen.push([
        index,
        snapshot.atr !== undefined,
        snapshot.volumeZ !== undefined,
        snapshot.realizedVol !== undefined,
      ]);
    }
    // ATR after 3 bars, volume z with 4 earlier bars, realized vol with 2 returns (3 bars).
    expect(seen).toEqual([
      [0, false, false, false],
      [1, false, false, false],
      [2, true, false, true],
      [3, true, false, true],
      [4, true, true, true],
      [5, true, true, true],
    ]);
  });

  it('computes body over ATR with its sign, and keeps an open-interest slot that is always empty', () => {
    const pipeline = new FeaturePipeline('x', 'BTC', { atrPeriod: 2 });
    pipeline.onBar({ timestamp: 0, open: 100, high: 104, low: 98, close: 102, volume: 1 }); // TR 6
    pipeline.onBar({ timestamp: 60_000, open: 102, high: 103, low: 99, close: 99, volume: 1 }); // TR 4
    const snapshot = pipeline.snapshot(60_000);
    expect(snapshot.atr).toBe(5);
    expect(snapshot.bodyOverAtr).toBeCloseTo(-3 / 5, 15);
    expect(snapshot.openInterest).toBeUndefined();
    expect(Object.keys(snapshot)).toContain('openInterest');
  });

  it('reads book imbalance, spread and premium from fresh quotes only', () => {
    const pipeline = new FeaturePipeline('x', 'BTC', { bookDepth: 2, maxQuoteAge: 5_000 });
    const book: OrderBook = {
      exchange: 'x',
      symbol: 'BTC',
      timestamp: 10_000,
      bids: [
        [99.9, 3],
        [99.8, 5],
        [99.7, 100],
      ],
      asks: [
        [100.1, 1],
        [100.2, 1],
      ],
    };
    const ticker: Ticker = {
      exchange: 'x',
      symbol: 'BTC',
      timestamp: 10_000,
      mark: 100.5,
      index: 100,
      bid: 99,
      ask: 101,
      openInterest: 1234.5,
    };
    pipeline.onOrderBook(book);
    pipeline.onTicker(ticker);
    pipeline.onFundingRate(0.0000125);
    const fresh = pipeline.snapshot(12_000);
    expect(fresh.obImbalance).toBeCloseTo((8 - 2) / 10, 15); // two levels a side
    expect(fresh.spreadBps).toBeCloseTo((0.2 / 100) * 10_000, 9); // the book's top, not the ticker's
    expect(fresh.premiumPct).toBeCloseTo(0.5, 12);
    expect(fresh.fundingRate).toBe(0.0000125);
    expect(fresh.openInterest).toBe(1234.5);

    const stale = pipeline.snapshot(15_001);
    expect(stale.openInterest).toBeUndefined();
    expect(stale.obImbalance).toBeUndefined();
    expect(stale.spreadBps).toBeUndefined();
    expect(stale.premiumPct).toBeUndefined();
    expect(stale.fundingRate).toBe(0.0000125);

    pipeline.onTicker({ ...ticker, timestamp: 15_000 });
    expect(pipeline.snapshot(15_001).openInterest).toBe(1234.5);
    // A venue that does not report it leaves it undefined.
    const { openInterest: _unreported, ...withoutOpenInterest } = ticker;
    pipeline.onTicker({ ...withoutOpenInterest, timestamp: 15_000 });
    expect(pipeline.snapshot(15_001).openInterest).toBeUndefined();
    pipeline.onTicker({ ...ticker, timestamp: 15_000 });
    // The book is stale, the ticker is not: the spread comes from the ticker's bid and ask.
    expect(pipeline.snapshot(15_001).spreadBps).toBeCloseTo((2 / 100) * 10_000, 9);
  });

  it('lists only defined values for a signal, named as the features are', () => {
    const pipeline = new FeaturePipeline('x', 'BTC', { atrPeriod: 1 });
    pipeline.onBar(bar(0, 100, 101));
    pipeline.onFundingRate(-0.00001);
    const values = featureValues(pipeline.snapshot(0));
    expect(values).toEqual({ bodyOverAtr: 1 / 3, fundingRate: -0.00001, atr: 3 });
    for (const name of Object.keys(values)) expect([...FEATURE_NAMES, 'atr', 'efficiency']).toContain(name);
  });
});

describe('quote helpers', () => {
  it('compute imbalance, spread and premium from their definitions', () => {
    expect(bookImbalance({ bids: [[1, 3]], asks: [[2, 1]] }, 5)).toBe(0.5);
    expect(bookImbalance({ bids: [], asks: [] }, 5)).toBeUndefined();
    expect(spreadBps(99.95, 100.05)).toBeCloseTo(10, 9);
    expect(spreadBps(101, 100)).toBeUndefined(); // crossed
    expect(spreadBps(undefined, 100)).toBeUndefined();
    expect(premiumPercent(99, 100)).toBeCloseTo(-1, 12);
    expect(premiumPercent(99, undefined)).toBeUndefined();
  });
});
