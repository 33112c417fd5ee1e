import { type Candle, type ExitRule, type OrderBook, parsePluginOptions, type Signal } from '@perpkit/core';
import { createTestEngine, describeStrategyContract } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import e3, { E3_CONDITION_NAMES } from '../src/index';
import { BYBIT_BTC_1M, readCandles } from './data';

const realCandles = await readCandles(BYBIT_BTC_1M, 3000);

describeStrategyContract('e3', {
  plugin: e3,
  options: {
    exchange: 'fake',
    symbol: 'BTC',
    quantity: 0.01,
    conditions: { bodyOverAtr: { min: 1.5 }, volumeZ: { min: 2 } },
  },
  instruments: [{ symbol: 'BTC', candles: realCandles, market: { tickSize: '0.1', lotSize: '0.001' } }],
});

const MINUTE = 60_000;
const T0 = 1_700_000_000_000;

/** Quiet bars (small alternating bodies, volume 100 ± 10) then one impulse bar up. */
function bars(): Candle[] {
  const quiet = Array.from({ length: 40 }, (_, index): Candle => {
    const open = 100 + (index % 2) * 0.5;
    const close = 100.5 - (index % 2) * 0.5;
    return {
      timestamp: T0 + index * MINUTE,
      open,
      high: 101,
      low: 99.5,
      close,
      volume: 100 + (index % 3) * 10 - 10,
    };
  });
  const impulse: Candle = {
    timestamp: T0 + 40 * MINUTE,
    open: 100.5,
    high: 104.2,
    low: 100.4,
    close: 104,
    volume: 400,
  };
  return [...quiet, impulse];
}

interface Market {
  /** Bid and ask sizes of the five best levels. */
  bidSize?: number;
  askSize?: number;
  /** Half the quoted spread. */
  halfSpread?: number;
  /** Index price relative to the mark (1.0005: the perpetual trades 0.05 % below the index). */
  indexRatio?: number;
  /** Funding rate per 8 h. */
  funding?: number;
}

const ALL_CONDITIONS = {
  bodyOverAtr: { min: 1.5 },
  volumeZ: { min: 2 },
  obImbalance: { min: 0.2 },
  premiumPct: { max: 0.05 },
  fundingRate: { max: 0.00002 },
  realizedVol: { min: 0.01, max: 10 },
  spreadBps: { max: 5 },
};

/** Replays the bars on an engine, with a book, ticker and funding rate at each bar, and returns E3's signals. */
async function run(options: Record<string, unknown>, market: Market = {}) {
  const parsed = parsePluginOptions(e3, { exchange: 'fake', symbol: 'BTC', quantity: 1, ...options });
  const { engine, exchange, clock, signals } = await createTestEngine({
    strategies: [{ id: 'e3', create: (context) => e3.setup(context, parsed) }],
    start: T0,
    exchange: { prices: { BTC: 100 }, balance: 1_000_000 },
  });
  exchange.setFundingRate('BTC', market.funding ?? 0.00008); // 1e-5 per hour
  for (const candle of bars()) {
    const now = candle.timestamp + MINUTE;
    clock.advanceTo(now);
    exchange.setTime(now);
    exchange.pushCandle('BTC', candle);
    const mid = candle.close;
    const half = market.halfSpread ?? 0.01;
    const levels = (side: 1 | -1, size: number) =>
      Array.from({ length: 5 }, (_, level) => [mid + side * (half + level * 0.1), size] as const);
    const book: OrderBook = {
      exchange: 'fake',
      symbol: 'BTC',
      timestamp: now,
      bids: levels(-1, market.bidSize ?? 15),
      asks: levels(1, market.askSize ?? 5),
    };
    exchange.events.emit('orderBook', book);
    exchange.events.emit('ticker', {
      exchange: 'fake',
      symbol: 'BTC',
      timestamp: now,
      mark: mid,
      index: mid * (market.indexRatio ?? 1.0001),
      bid: mid - half,
      ask: mid + half,
    });
    await engine.runCycle();
  }
  await engine.stop('done', { cancelOpenOrders: false, timeoutMs: 1000 });
  return signals.filter((signal) => signal.strategyId === 'e3');
}

/** Market values that make each condition alone fail on the impulse bar. */
const FAILING: Record<
  (typeof E3_CONDITION_NAMES)[number],
  { options?: Record<string, unknown>; market?: Market }
> = {
  bodyOverAtr: { options: { conditions: { ...ALL_CONDITIONS, bodyOverAtr: { min: 3 } } } },
  volumeZ: { options: { conditions: { ...ALL_CONDITIONS, volumeZ: { min: 50 } } } },
  obImbalance: { market: { bidSize: 5, askSize: 15 } },
  premiumPct: { market: { indexRatio: 0.999 } }, // mark 0.1 % over the index: too rich for a long
  fundingRate: { market: { funding: 0.0008 } }, // 1e-4 per hour paid by a long
  realizedVol: { options: { conditions: { ...ALL_CONDITIONS, realizedVol: { max: 0.01 } } } },
  spreadBps: { market: { halfSpread: 0.5 } }, // 100 bps
};

describe('e3 in an engine', () => {
  it('enters long on the impulse bar when every condition holds, with reasons, regime and features', async () => {
    const signals = await run({ conditions: ALL_CONDITIONS });
    expect(signals).toHaveLength(1);
    const [entry] = signals as [Signal];
    expect(entry).toMatchObject({ intent: 'open', side: 'buy', quantity: 1, regime: expect.any(String) });
    expect(entry.reasons.map((item) => item.code)).toEqual([
      'E3_LONG',
      'E3_BODY_ATR',
      'E3_VOLUME_Z',
      'E3_BOOK_IMBALANCE',
      'E3_PREMIUM',
      'E3_FUNDING',
      'E3_REALIZED_VOL',
      'E3_SPREAD',
      `REGIME_${entry.regime?.toUpperCase()}`,
    ]);
    expect(entry.reasons[0]?.message).toBe('long on an up bar: all 7 checked conditions hold');
    expect(entry.reasons[3]?.message).toBe('book imbalance +0.500, +0.500 for a long ≥ 0.2');
    expect(entry.reasons[5]?.message).toBe('funding 1.000e-5/h, 1.000e-5/h paid by a long ≤ 0.00002/h');
    expect(entry.features).toMatchObject({ obImbalance: 0.5, fundingRate: 0.00001 });
    expect(entry.features?.bodyOverAtr).toBeGreaterThan(1.5);
    expect(entry.features?.volumeZ).toBeGreaterThan(2);
  });

  for (const name of E3_CONDITION_NAMES) {
    it(`does not enter when ${name} alone fails`, async () => {
      const failing = FAILING[name];
      const signals = await run({ conditions: ALL_CONDITIONS, ...failing.options }, failing.market);
      expect(signals).toEqual([]);
    });
  }

  it('enters only once per bar and only from flat', async () => {
    // Every bar qualifies (a zero-threshold volume condition), but one position is held.
    const signals = await run({ conditions: { volumeZ: { min: -100 } } });
    expect(signals).toHaveLength(1);
  });

  it('sizes by the regime policy and stays out where it allows nothing', async () => {
    const policy = {
      trend: { allow: ['momentum'] },
      chop: { allow: ['momentum'], sizeMultiplier: 0.5 },
      bear: { allow: [] },
    };
    const sized = await run({ conditions: ALL_CONDITIONS, regimePolicy: policy });
    expect(sized).toHaveLength(1);
    expect(sized[0]?.regime).toBe('chop'); // the quiet zigzag before the impulse
    expect(sized[0]?.quantity).toBe(0.5);
    expect(sized[0]?.reasons.slice(-2)).toEqual([
      { code: 'REGIME_CHOP', message: 'regime chop allows momentum at 0.5×' },
      { code: 'E3_SIZE', message: 'size × 0.5 for regime chop' },
    ]);
    const blocked = await run({
      conditions: ALL_CONDITIONS,
      regimePolicy: { chop: { allow: ['mean-reversion'] } },
    });
    expect(blocked).toEqual([]);
  });

  it('sizes by notional instead of quantity', async () => {
    const signals = await run({ quantity: undefined, notional: 5000, conditions: ALL_CONDITIONS });
    expect(signals[0]).toMatchObject({ notional: 5000, quantity: undefined });
  });
});

/**
 * Replays real Bybit BTC 1m bars on an engine whose only exit rule closes every position the cycle
 * after it opens, so E3 may enter again and again (exits are not these tests' subject).
 */
async function replayReal(options: Record<string, unknown>): Promise<Signal[]> {
  const parsed = parsePluginOptions(e3, { exchange: 'fake', symbol: 'BTC', quantity: 0.01, ...options });
  const closeAtOnce: ExitRule = {
    name: 'close-at-once',
    layer: 2,
    priority: 0,
    evaluate: () => ({ action: 'close', code: 'TEST_CLOSE', message: 'test exit' }),
  };
  const first = realCandles[0] as Candle;
  const { engine, exchange, clock, signals } = await createTestEngine({
    strategies: [{ id: 'e3', create: (context) => e3.setup(context, parsed) }],
    exitRules: [{ id: 'close-at-once', create: () => closeAtOnce }],
    start: first.timestamp,
    exchange: { prices: { BTC: first.open }, balance: 10_000_000 },
  });
  for (const candle of realCandles) {
    clock.advanceTo(candle.timestamp + MINUTE);
    exchange.setTime(candle.timestamp + MINUTE);
    exchange.pushCandle('BTC', candle);
    await engine.runCycle();
  }
  await engine.stop('done', { cancelOpenOrders: false, timeoutMs: 1000 });
  return signals.filter((signal) => signal.strategyId === 'e3');
}

describe('e3 on real data', () => {
  it('respects its thresholds: out of reach, it never fires (the historic bug fired anyway)', async () => {
    const some = await replayReal({ conditions: { bodyOverAtr: { min: 1.5 }, volumeZ: { min: 2 } } });
    expect(some.length).toBeGreaterThan(20);
    for (const signal of some) {
      expect(Math.abs(signal.features?.bodyOverAtr as number)).toBeGreaterThanOrEqual(1.5);
      expect(signal.features?.volumeZ as number).toBeGreaterThanOrEqual(2);
    }
    expect(new Set(some.map((signal) => signal.side))).toEqual(new Set(['buy', 'sell']));
    expect(await replayReal({ conditions: { bodyOverAtr: { min: 1000 }, volumeZ: { min: 2 } } })).toEqual([]);
    expect(await replayReal({ conditions: { bodyOverAtr: { min: 1.5 }, volumeZ: { min: 1000 } } })).toEqual(
      [],
    );
    // Candles carry no order book: a book condition blocks every entry unless told to skip it.
    expect(await replayReal({ conditions: { bodyOverAtr: { min: 1.5 }, obImbalance: { min: 0 } } })).toEqual(
      [],
    );
    const skipped = await replayReal({
      conditions: { bodyOverAtr: { min: 1.5 }, volumeZ: { min: 2 }, obImbalance: { min: 0 } },
      missingData: 'skip',
    });
    // Skipping the missing book changes nothing else: not even during the indicators' warmup.
    expect(skipped.map((signal) => signal.createdAt)).toEqual(some.map((signal) => signal.createdAt));
  });
});

describe('e3 under an optimizer', () => {
  it('runs parameter sets side by side in one process exactly as it runs them alone', async () => {
    const sets = [
      { conditions: { bodyOverAtr: { min: 1.2 }, volumeZ: { min: 1.5 } }, features: { atrPeriod: 10 } },
      {
        conditions: { bodyOverAtr: { min: 2 }, volumeZ: { min: 1 }, realizedVol: { max: 0.8 } },
        features: { atrPeriod: 20 },
      },
      { conditions: { volumeZ: { min: 3 } }, sides: 'short' },
    ];
    const comparable = (signals: readonly Signal[]) =>
      signals.map((signal) => [signal.createdAt, signal.side, signal.reasons, signal.features]);
    const alone: Signal[][] = [];
    for (const set of sets) alone.push(await replayReal(set));
    const together = await Promise.all(sets.map((set) => replayReal(set)));
    together.forEach((signals, index) => {
      expect(comparable(signals)).toEqual(comparable(alone[index] as Signal[]));
    });
    const counts = alone.map((signals) => signals.length);
    expect(Math.min(...counts)).toBeGreaterThan(5);
    expect(new Set(counts).size).toBe(3);
  });
});

describe('e3 options', () => {
  it('are strict, need one size and at least one condition, and name the field', () => {
    const base = { symbol: 'BTC', quantity: 1, conditions: { volumeZ: { min: 2 } } };
    expect(() => parsePluginOptions(e3, base)).not.toThrow();
    expect(() =>
      parsePluginOptions(e3, { ...base, conditions: {} }, { pathPrefix: 'strategies[0].options' }),
    ).toThrow(/strategies\[0\]\.options\.conditions: configure at least one condition/);
    expect(() => parsePluginOptions(e3, { ...base, notional: 100 })).toThrow(
      /exactly one of quantity and notional/,
    );
    expect(() => parsePluginOptions(e3, { ...base, threshold: 1 })).toThrow(/threshold/);
    expect(() => parsePluginOptions(e3, { ...base, features: { atrPeriods: 3 } })).toThrow(/atrPeriods/);
    expect(() => parsePluginOptions(e3, { ...base, regimePolicy: { sideways: { allow: [] } } })).toThrow(
      /sideways/,
    );
  });
});
