import type { ClosedTrade } from '@perpkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attribute,
  BreakdownAccumulator,
  breakdown,
  cagr,
  calmarRatio,
  DAY_MS,
  EquityTracker,
  maxDrawdown,
  mean,
  periodReturns,
  sharpeRatio,
  sortinoRatio,
  standardDeviation,
  TradeListHasher,
  tradeListHash,
  turnover,
  winRate,
  YEAR_MS,
} from '../src/metrics';

/** Equal within `tolerance` relative to the larger magnitude. */
function expectRelative(actual: number | null, expected: number | null, tolerance = 1e-9) {
  if (expected === null) {
    expect(actual).toBeNull();
    return;
  }
  expect(actual).not.toBeNull();
  const scale = Math.max(1, Math.abs(expected), Math.abs(actual as number));
  expect(Math.abs((actual as number) - expected) / scale).toBeLessThan(tolerance);
}

describe('metrics against hand-computed values', () => {
  const returns = [0.01, -0.02, 0.03, 0];

  it('mean and sample standard deviation', () => {
    expect(mean(returns)).toBeCloseTo(0.005, 15);
    // deviations 0.005, −0.025, 0.025, −0.005 → squares sum 0.0013 → /3 → √ = 0.0208166599946613
    expect(standardDeviation(returns)).toBeCloseTo(0.0208166599946613, 15);
  });

  it('Sharpe: mean / stdev × √365 on daily returns', () => {
    // 0.005 / 0.0208166599946613 × 19.1049731745428 = 4.58886612440288
    expect(sharpeRatio(returns, 365)).toBeCloseTo(4.58886612440288, 10);
    expect(sharpeRatio([0.01, 0.01, 0.01], 365)).toBeNull(); // no dispersion
    expect(sharpeRatio([0.01], 365)).toBeNull();
  });

  it('Sortino: mean / √(Σ min(r,0)² / n) × √365', () => {
    // downside deviation √(0.0004 / 4) = 0.01 → 0.5 × 19.1049731745428 = 9.5524865872714
    expect(sortinoRatio(returns, 365)).toBeCloseTo(9.5524865872714, 10);
    expect(sortinoRatio([0.01, 0.02], 365)).toBeNull(); // nothing lost
  });

  it('max drawdown from the running peak, as a fraction and an amount', () => {
    const points = [100, 120, 90, 130, 65, 140].map((equity, index) => [index, equity] as const);
    expect(maxDrawdown(points)).toEqual({ fraction: 0.5, amount: 65, peakTime: 3, troughTime: 4 });
    expect(
      maxDrawdown([
        [0, 1],
        [1, 2],
        [2, 3],
      ]).fraction,
    ).toBe(0);
  });

  it('CAGR and Calmar', () => {
    expect(cagr(100, 121, 2 * YEAR_MS)).toBeCloseTo(0.1, 12); // 1.21^(1/2) − 1
    expect(cagr(100, 0, YEAR_MS)).toBe(-1);
    expect(calmarRatio(0.1, 0.5)).toBeCloseTo(0.2, 15);
    expect(calmarRatio(0.1, 0)).toBeNull();
  });

  it('period returns chain each period’s last equity', () => {
    const samples = [
      [0.1 * DAY_MS, 101],
      [0.5 * DAY_MS, 102],
      [1.2 * DAY_MS, 99],
      [2.1 * DAY_MS, 105],
      [2.9 * DAY_MS, 104],
    ] as const;
    const result = periodReturns(samples, DAY_MS, 100);
    expect(result).toHaveLength(3);
    expect(result[0]).toBeCloseTo(0.02, 15); // 102 / 100 − 1
    expect(result[1]).toBeCloseTo(-0.0294117647058824, 14); // 99 / 102 − 1
    expect(result[2]).toBeCloseTo(0.0505050505050506, 14); // 104 / 99 − 1
  });

  it('win rate: trades with a positive net PnL over all trades; break-even is not a win', () => {
    const nets = [5, -2, 0, 1, -0.01];
    expect(winRate(nets.map((netPnl) => trade({ netPnl })))).toBe(0.4); // 2 of 5
    expect(winRate([])).toBe(0);
  });

  it('exposure: the share of recorded steps with a position open', () => {
    const tracker = new EquityTracker(1000, 0);
    const inMarket = [false, true, true, false, true, false, false, true];
    inMarket.forEach((open, index) => {
      tracker.record((index + 1) * 60_000, 1000, open);
    });
    expect(tracker.finish().exposure).toBe(0.5); // 4 of 8
    expect(new EquityTracker(1000, 0).finish().exposure).toBe(0);
  });

  it('turnover: traded notional of every fill over starting equity', () => {
    // Buy 2 @ 100, sell 2 @ 110, buy 1 @ 108, sell 1 @ 105 on 10 000: 633 / 10 000.
    expect(turnover(2 * 100 + 2 * 110 + 108 + 105, 10_000)).toBeCloseTo(0.0633, 15);
    expect(turnover(500, 0)).toBe(0);
  });

  it('the streaming tracker agrees with the batch functions on any path', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -0.05, max: 0.05, noNaN: true }), { minLength: 2, maxLength: 400 }),
        (changes) => {
          const start = Date.UTC(2025, 0, 1);
          const tracker = new EquityTracker(1000, start, { periodMs: DAY_MS, maxPoints: 64 });
          const samples: [number, number][] = [];
          let equity = 1000;
          changes.forEach((change, index) => {
            equity *= 1 + change;
            const time = start + (index + 1) * 6 * 3_600_000;
            samples.push([time, equity]);
            tracker.record(time, equity, index % 3 === 0);
          });
          const stats = tracker.finish();
          const batchReturns = periodReturns(samples, DAY_MS, 1000);
          expectRelative(stats.sharpe, sharpeRatio(batchReturns, 365));
          expectRelative(stats.sortino, sortinoRatio(batchReturns, 365));
          expect(stats.maxDrawdown.fraction).toBeCloseTo(
            maxDrawdown([[start, 1000], ...samples]).fraction,
            12,
          );
          expect(stats.finalEquity).toBe(equity);
          expect(stats.exposure).toBeCloseTo(Math.ceil(changes.length / 3) / changes.length, 12);
          expect(stats.curve.length).toBeLessThanOrEqual(64);
        },
      ),
    );
  });
});

const trade = (changes: Partial<ClosedTrade>): ClosedTrade => ({
  id: 'T1',
  exchange: 'sim',
  account: 'main',
  symbol: 'BTC',
  direction: 'long',
  strategyId: 's',
  openedAt: 1,
  closedAt: 2,
  quantity: 1,
  entryPrice: 100,
  exitPrice: 110,
  pricePnl: 10,
  fees: 0.2,
  slippage: 0.5,
  funding: -0.1,
  netPnl: 9.7,
  entryReasons: ['SMA_CROSS_UP'],
  exitReasons: ['SMA_CROSS_DOWN'],
  ...changes,
});

describe('trade attribution, breakdowns and the trade-list hash', () => {
  it('edge is price PnL before slippage; net = edge − slippage − fees + funding', () => {
    const record = attribute(trade({}));
    expect(record.edge).toBe(10.5);
    expect(record.edge - record.slippage - record.fees + record.funding).toBeCloseTo(record.netPnl, 12);
    expect(record.returnPct).toBeCloseTo(0.097, 12);
  });

  it('groups by reason and regime', () => {
    const trades = [
      attribute(trade({ netPnl: 5, entryReasons: ['A'], regime: 'trend' })),
      attribute(trade({ netPnl: -2, entryReasons: ['A'], regime: 'chop' })),
      attribute(trade({ netPnl: 1, entryReasons: ['B'] })),
    ];
    expect(
      breakdown(trades, (entry) => entry.entryReasons[0]).map((row) => [
        row.key,
        row.trades,
        row.wins,
        row.netPnl,
      ]),
    ).toEqual([
      ['A', 2, 1, 3],
      ['B', 1, 1, 1],
    ]);
    expect(breakdown(trades, (entry) => entry.regime).map((row) => row.key)).toEqual([
      '(none)',
      'chop',
      'trend',
    ]);
  });

  it('the one-at-a-time accumulators equal the list functions', () => {
    const trades = [
      attribute(trade({ id: 'T1', netPnl: 5, entryReasons: ['A'], regime: 'trend' })),
      attribute(trade({ id: 'T2', netPnl: -2, entryReasons: ['A'], regime: 'chop', fees: 0.3 })),
      attribute(trade({ id: 'T3', netPnl: 1, entryReasons: ['B'], funding: 0.25 })),
    ];
    const accumulator = new BreakdownAccumulator((entry) => entry.regime);
    const hasher = new TradeListHasher();
    for (const entry of trades) {
      accumulator.add(entry);
      hasher.add(entry);
    }
    expect(accumulator.result()).toEqual(breakdown(trades, (entry) => entry.regime));
    expect(hasher.trades).toBe(3);
    expect(hasher.digest()).toBe(tradeListHash(trades));
  });

  it('the hash changes with any trade detail and with order, and only then', () => {
    const a = trade({ id: 'T1' });
    const b = trade({ id: 'T2', openedAt: 3, closedAt: 4 });
    expect(tradeListHash([a, b])).toBe(tradeListHash([{ ...a }, { ...b }]));
    expect(tradeListHash([a, b])).not.toBe(tradeListHash([b, a]));
    expect(tradeListHash([a])).not.toBe(tradeListHash([{ ...a, exitPrice: 110.000000001 }]));
    expect(tradeListHash([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
