import { describeExchangeContract } from '@perpkit/testkit';
import { startVenue } from './helpers';

// The adapter against the simulator over real sockets (HTTP and WebSocket on 127.0.0.1), a fresh
// venue per case.
describeExchangeContract('LighterExchange against the Lighter simulator', async () => {
  const venue = await startVenue();
  return {
    exchange: venue.exchange,
    symbol: 'ETH',
    setPrice: (price) => venue.simulator.setMark('ETH', Math.round(price * 100) / 100),
    teardown: () => venue.simulator.close(),
  };
});
