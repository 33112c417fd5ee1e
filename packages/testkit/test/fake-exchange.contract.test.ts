import { describeExchangeContract } from '../src/exchange-contract';
import { FakeExchange } from '../src/fake-exchange';

describeExchangeContract('FakeExchange', () => {
  const exchange = new FakeExchange({
    markets: [{ symbol: 'BTC', minNotional: 5 }],
    prices: { BTC: 30_000 },
    takerFeeRate: 0.0005,
  });
  return { exchange, symbol: 'BTC', setPrice: (price) => exchange.setPrice('BTC', price) };
});
