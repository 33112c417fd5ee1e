import { type Candle, type ExitRule, parsePluginOptions, type Signal } from '@perpkit/core';
import { createTestEngine, describeStrategyContract } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import fundingFade from '../src/index';
import { BINANCE_BTC_1H, BINANCE_BTC_FUNDING, readCandles, readFunding } from './data';

const HOUR = 3_600_000;
const candles = await readCandles(BINANCE_BTC_1H, 2000);

describeStrategyContract('funding-fade', {
  plugin: fundingFade,
  options: {
    exchange: 'fake',
    symbol: 'BTC',
    quantity: 0.01,
    triggers: { funding: { above: 0.00001 } },
  },
  instruments: [{ symbol: 'BTC', candles, interval: HOUR, market: { tickSize: '0.1', lotSize: '0.001' } }],
  // The contract's replay streams candles only: no funding rate reaches the engine, so no fade.
  // The tests below replay the real funding settlements.
  expectSignals: false,
});

/**
 * Replays real Binance BTC 1h bars with the real funding settlements (each rate becomes the
 * venue's current rate at its settlement time) and returns the strategy's signals.
 */
async function replay(options: Record<string, unknown>, bars = candles) {
  const parsed = parsePluginOptions(fundingFade, {
    exchange: 'fake',
    symbol: 'BTC',
    quantity: 0.01,
    ...options,
  });
  const funding = await readFunding(BINANCE_BTC_FUNDING);
  const first = bars[0] as Candle;
  // Every position is closed the cycle after it opens, so each extreme can be faded again (exits
  // are not this test's subject).
  const closeAtOnce: ExitRule = {
    name: 'close-at-once',
    layer: 2,
    priority: 0,
    evaluate: () => ({ action: 'close', code: 'TEST_CLOSE', message: 'test exit' }),
  };
  const { engine, exchange, clock, signals } = await createTestEngine({
    strategies: [{ id: 'fade', create: (context) => fundingFade.setup(context, parsed) }],
    exitRules: [{ id: 'close-at-once', create: () => closeAtOnce }],
    start: first.timestamp,
    exchange: { prices: { BTC: first.open }, balance: 10_000_000 },
  });
  let next = 0;
  for (const candle of bars) {
    const now = candle.timestamp + HOUR;
    clock.advanceTo(now);
    exchange.setTime(now);
    while (next < funding.length && (funding[next] as { time: number }).time <= now) {
      exchange.setFundingRate('BTC', (funding[next] as { rate: number }).rate);
      next += 1;
    }
    exchange.pushCandle('BTC', candle, HOUR);
    await engine.runCycle();
  }
  await engine.stop('done', { cancelOpenOrders: false, timeoutMs: 1000 });
  return signals.filter((signal) => signal.strategyId === 'fade');
}

describe('funding-fade on real Binance BTC funding', () => {
  it('shorts when the hourly funding is at or above the bound and longs at or below, never in between', async () => {
    const signals = await replay({ triggers: { funding: { above: 0.00001, below: -0.000003 } } });
    const shorts = signals.filter((signal) => signal.side === 'sell');
    const longs = signals.filter((signal) => signal.side === 'buy');
    expect(shorts.length).toBeGreaterThan(0);
    expect(longs.length).toBeGreaterThan(0);
    for (const signal of shorts) {
      expect(signal.features?.fundingRate as number).toBeGreaterThanOrEqual(0.00001);
      expect(signal.reasons[0]?.code).toBe('FADE_FUNDING_HIGH');
    }
    for (const signal of longs) {
      expect(signal.features?.fundingRate as number).toBeLessThanOrEqual(-0.000003);
      expect(signal.reasons[0]?.code).toBe('FADE_FUNDING_LOW');
    }
    for (const signal of signals) expect(signal.regime).toMatch(/^(warmup|trend|chop|bear)$/);
  });

  it('respects its bounds: out of reach, it never fires', async () => {
    expect(await replay({ triggers: { funding: { above: 0.01, below: -0.01 } } })).toEqual([]);
  });

  it('filters by volume: a tight volume band removes the fades on busy bars', async () => {
    const all = await replay({ triggers: { funding: { above: 0.00001 } } });
    const calm = await replay({
      triggers: { funding: { above: 0.00001 } },
      filters: { volumeZ: { max: 0 } },
    });
    expect(calm.length).toBeGreaterThan(0);
    expect(calm.length).toBeLessThan(all.length);
    for (const signal of calm) expect(signal.features?.volumeZ as number).toBeLessThanOrEqual(0);
  });

  it('waits out the cooldown between entries', async () => {
    const free = await replay({ triggers: { funding: { above: 0.00001 } } }, candles.slice(0, 500));
    const spaced = await replay(
      { triggers: { funding: { above: 0.00001 } }, cooldown: '1d' },
      candles.slice(0, 500),
    );
    expect(spaced.length).toBeLessThan(free.length);
    for (let index = 1; index < spaced.length; index += 1)
      expect(
        (spaced[index] as Signal).createdAt - (spaced[index - 1] as Signal).createdAt,
      ).toBeGreaterThanOrEqual(24 * HOUR);
  });

  it('lets the regime policy allow, size and forbid fades', async () => {
    const policy = {
      chop: { allow: ['mean-reversion'], sizeMultiplier: 0.5 },
      trend: { allow: ['momentum'] },
      bear: { allow: [] },
    };
    const signals = await replay({ triggers: { funding: { above: 0.00001 } }, regimePolicy: policy });
    expect(signals.length).toBeGreaterThan(0);
    for (const signal of signals) {
      expect(signal.regime).toBe('chop');
      expect(signal.quantity).toBe(0.005);
      expect(signal.reasons.at(-1)).toEqual({ code: 'FADE_SIZE', message: 'size × 0.5 for regime chop' });
    }
  });
});

describe('funding-fade with quotes', () => {
  it('fades a premium extreme and filters by the spread', async () => {
    const run = async (halfSpread: number) => {
      const parsed = parsePluginOptions(fundingFade, {
        exchange: 'fake',
        symbol: 'BTC',
        quantity: 1,
        triggers: { premium: { above: 0.1 } },
        filters: { spreadBps: { max: 5 } },
      });
      const { engine, exchange, clock, signals } = await createTestEngine({
        strategies: [{ id: 'fade', create: (context) => fundingFade.setup(context, parsed) }],
        start: 0,
      });
      const now = HOUR;
      clock.advanceTo(now);
      exchange.setTime(now);
      exchange.pushCandle(
        'BTC',
        { timestamp: 0, open: 100, high: 101, low: 99, close: 100, volume: 1 },
        HOUR,
      );
      exchange.events.emit('ticker', {
        exchange: 'fake',
        symbol: 'BTC',
        timestamp: now,
        mark: 100,
        index: 99.8,
        bid: 100 - halfSpread,
        ask: 100 + halfSpread,
      });
      await engine.runCycle();
      return signals.filter((signal) => signal.strategyId === 'fade');
    };
    const tight = await run(0.01);
    expect(tight).toHaveLength(1);
    expect(tight[0]).toMatchObject({
      side: 'sell',
      reasons: [
        { code: 'FADE_PREMIUM_HIGH' },
        { code: 'FADE_SHORT' },
        { code: 'FADE_SPREAD' },
        { code: 'REGIME_WARMUP' },
      ],
    });
    expect(await run(0.1)).toEqual([]); // 20 bps
  });
});

describe('funding-fade options', () => {
  it('are strict and name the field', () => {
    const base = { symbol: 'BTC', quantity: 1, triggers: { funding: { above: 0.00005 } } };
    expect(() => parsePluginOptions(fundingFade, base)).not.toThrow();
    expect(() =>
      parsePluginOptions(fundingFade, { ...base, triggers: {} }, { pathPrefix: 'strategies[1].options' }),
    ).toThrow(/strategies\[1\]\.options\.triggers: configure funding, premium or both/);
    expect(() => parsePluginOptions(fundingFade, { ...base, cooldown: 'later' })).toThrow(/cooldown/);
    expect(() => parsePluginOptions(fundingFade, { ...base, quantity: undefined })).toThrow(
      /exactly one of quantity and notional/,
    );
    expect(() => parsePluginOptions(fundingFade, { ...base, thresholds: {} })).toThrow(/thresholds/);
  });
});
