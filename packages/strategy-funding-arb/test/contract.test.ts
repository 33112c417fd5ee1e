import type { Candle } from '@perpkit/core';
import { describeStrategyContract } from '@perpkit/testkit';
import fundingArb from '../src/index';

const HOUR = 3_600_000;
const start = Date.UTC(2026, 0, 5);
const candles = (base: number): Candle[] =>
  Array.from({ length: 48 }, (_, index) => {
    const price = base + Math.sin(index / 3) * 50;
    return {
      timestamp: start + index * HOUR,
      open: price,
      high: price + 20,
      low: price - 20,
      close: price,
      volume: 1,
    };
  });

// The contract replays one exchange (`fake`) with one market; the two legs are two accounts on it.
// No funding is published (and one venue's two accounts would never differ), so no pair is entered.
describeStrategyContract('funding-arb', {
  plugin: fundingArb,
  options: {
    markets: [
      {
        asset: 'BTC',
        venues: [
          { exchange: 'fake', symbol: 'BTC', account: 'a' },
          { exchange: 'fake', symbol: 'BTC', account: 'b' },
        ],
      },
    ],
    entry: { maxNotional: 1_000 },
  },
  instruments: [{ symbol: 'BTC', candles: candles(100_000), interval: HOUR }],
  expectSignals: false,
});
