import { describeExchangeContract } from '@perpkit/testkit';
import { startVenue } from './helpers';

describeExchangeContract('PacificaExchange over real sockets against the Pacifica simulator', async () => {
  const { simulator, exchange } = await startVenue();
  return {
    exchange,
    symbol: 'BTC',
    setPrice: (price) => simulator.setPrice('BTC', Math.round(price)),
    teardown: () => simulator.stop(),
  };
});
