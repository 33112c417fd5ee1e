import { describeExchangeContract } from '@perpkit/testkit';
import { startVenue } from './helpers';

describeExchangeContract('DriftExchange through the SDK against the fake Drift RPC', async () => {
  const { rpc, exchange, stop } = await startVenue();
  return {
    exchange,
    symbol: 'SOL',
    setPrice: (price) => rpc.setPrice('SOL', price.toFixed(4)),
    teardown: stop,
  };
});
