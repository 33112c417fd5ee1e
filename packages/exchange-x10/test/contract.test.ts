import { describeExchangeContract } from '@perpkit/testkit';
import { X10Simulator } from '../src/sim';
import { X10Exchange } from '../src/x10-exchange';
import { adapterOptions, BTC, simulatorOptions } from './helpers';

// The adapter, over real sockets, against the wire-protocol simulator backed by @perpkit/sim.
describeExchangeContract('X10Exchange against the Extended simulator', async () => {
  const simulator = await X10Simulator.start(simulatorOptions());
  const exchange = new X10Exchange(adapterOptions(simulator), { id: 'x10' });
  return {
    exchange,
    symbol: BTC.name,
    setPrice: (price) => simulator.setPrice(BTC.name, price),
    teardown: () => simulator.close(),
  };
});

// Without the account stream the adapter learns order states by polling REST.
describeExchangeContract('X10Exchange against the Extended simulator, REST polling only', async () => {
  const simulator = await X10Simulator.start(simulatorOptions());
  const exchange = new X10Exchange(adapterOptions(simulator, { accountStream: false }), { id: 'x10' });
  return {
    exchange,
    symbol: BTC.name,
    setPrice: (price) => simulator.setPrice(BTC.name, price),
    teardown: () => simulator.close(),
  };
});
