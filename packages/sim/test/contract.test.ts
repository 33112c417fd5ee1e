import { describeExchangeContract } from '@perpkit/testkit';
import { SimExchange } from '../src/sim-exchange';

const markets = [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', minNotional: 10, maxLeverage: 20 }];

describeExchangeContract('SimExchange, mark model', () => {
  const exchange = new SimExchange({
    fillModel: 'mark',
    markets,
    accounts: [
      { id: 'main', balance: 100_000 },
      { id: 'sub', parent: 'main', balance: 0 },
    ],
  });
  exchange.processTicker({ symbol: 'BTC', mark: 60_000, timestamp: Date.now() });
  return {
    exchange,
    symbol: 'BTC',
    setPrice: (price) =>
      exchange.processTicker({ symbol: 'BTC', mark: Math.round(price * 10) / 10, timestamp: Date.now() }),
  };
});

describeExchangeContract('SimExchange, book model', () => {
  const exchange = new SimExchange({
    fillModel: 'book',
    markets,
    accounts: [{ id: 'main', balance: 100_000 }],
  });
  const book = (mid: number) => ({
    symbol: 'BTC',
    timestamp: Date.now(),
    bids: [1, 2, 3, 4, 5].map((level) => [Math.round((mid - level) * 10) / 10, 0.5 * level] as const),
    asks: [1, 2, 3, 4, 5].map((level) => [Math.round((mid + level) * 10) / 10, 0.5 * level] as const),
  });
  exchange.processOrderBook(book(60_000));
  return { exchange, symbol: 'BTC', setPrice: (price) => exchange.processOrderBook(book(Math.round(price))) };
});

/**
 * The candle model fills only when a bar arrives, so the harness plays a paper feed: a flat
 * one-minute bar at the last price every few milliseconds, until the case tears down.
 */
describeExchangeContract('SimExchange, next-open (candle) model', () => {
  const exchange = new SimExchange({
    fillModel: 'next-open',
    markets,
    accounts: [{ id: 'main', balance: 100_000 }],
  });
  const start = Math.floor(exchange.clock.now() / 60_000) * 60_000;
  let index = 0;
  let price = 60_000;
  const feed = () => {
    exchange.processCandle(
      'BTC',
      { timestamp: start + index * 60_000, open: price, high: price, low: price, close: price, volume: 1 },
      60_000,
    );
    index += 1;
  };
  feed();
  const timer = setInterval(feed, 5);
  return {
    exchange,
    symbol: 'BTC',
    setPrice: (next) => {
      price = Math.round(next * 10) / 10;
      feed();
    },
    teardown: () => clearInterval(timer),
  };
});
