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
