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

// A venue that declares less: the cases for what it lacks skip, and the rest still pass.
describeExchangeContract('FakeExchange with limit orders only, no client ids, no cancel-all', () => {
  const exchange = new FakeExchange({
    markets: [{ symbol: 'BTC', minNotional: 5 }],
    prices: { BTC: 30_000 },
    capabilities: {
      orderTypes: ['limit'],
      timeInForce: ['gtc'],
      reduceOnly: false,
      clientOrderId: false,
      cancelAll: false,
    },
  });
  return { exchange, symbol: 'BTC', setPrice: (price) => exchange.setPrice('BTC', price) };
});
