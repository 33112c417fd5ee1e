import { type Candle, parsePluginOptions } from '@perpkit/core';
import { describeStrategyContract, replayCandles } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import smaCross from '../src/index';
import { BYBIT_BTC_1M, readCandles } from './data';

const candles = readCandles(BYBIT_BTC_1M, 3000);
const options = { exchange: 'fake', symbol: 'BTC', fast: 10, slow: 30, quantity: 0.01 };

describeStrategyContract('sma-cross', {
  plugin: smaCross,
  options,
  instruments: [{ symbol: 'BTC', candles, market: { tickSize: '0.1', lotSize: '0.001' } }],
});

const bar = (index: number, close: number): Candle => ({
  timestamp: index * 60_000,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1,
});

describe('sma-cross trading rules', () => {
  it('buys on a cross-up when flat and sells the whole position on the next cross-down', async () => {
    // Falling, then rising (cross-up), then falling again (cross-down).
    const closes = [
      ...Array.from({ length: 8 }, (_, index) => 100 - index),
      ...Array.from({ length: 6 }, (_, index) => 94 + 3 * index),
      80,
      70,
      60,
    ];
    const { signals } = await replayCandles(
      smaCross,
      parsePluginOptions(smaCross, { ...options, fast: 2, slow: 4, quantity: 0.5 }),
      [{ symbol: 'BTC', candles: closes.map((close, index) => bar(index, close)) }],
    );
    const mine = signals.filter((signal) => signal.strategyId === 'sma-cross');
    expect(
      mine.map((signal) => [signal.intent, signal.side, signal.quantity, signal.reasons[0]?.code]),
    ).toEqual([
      ['open', 'buy', 0.5, 'SMA_CROSS_UP'],
      ['close', undefined, undefined, 'SMA_CROSS_DOWN'],
    ]);
  });

  it('is long only: a cross-down while flat does nothing', async () => {
    const closes = [...Array.from({ length: 6 }, (_, index) => 100 + index), 90, 80, 70];
    const { signals } = await replayCandles(
      smaCross,
      parsePluginOptions(smaCross, { ...options, fast: 2, slow: 4 }),
      [{ symbol: 'BTC', candles: closes.map((close, index) => bar(index, close)) }],
    );
    expect(signals).toEqual([]);
  });

  it('rejects options a user could get wrong, naming the field', () => {
    expect(() =>
      parsePluginOptions(
        smaCross,
        { symbol: 'BTC', fast: 30, slow: 10 },
        { pathPrefix: 'strategies[0].options' },
      ),
    ).toThrow(/strategies\[0\]\.options\.fast: fast must be shorter than slow/);
    expect(() => parsePluginOptions(smaCross, { symbol: 'BTC', qty: 1 })).toThrow(/qty/);
  });
});
