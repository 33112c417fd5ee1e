import type { X10OptionsInput } from '../src/options';
import { X10Simulator, type X10SimulatorOptionsInput } from '../src/sim';
import { X10Exchange } from '../src/x10-exchange';
import { TEST_ACCOUNT } from './fixtures/official-vectors';

/** The python_sdk's published test key, used as the simulated account. */
export const ACCOUNT = { ...TEST_ACCOUNT, apiKey: 'test-api-key-not-secret' };

export const BTC = {
  name: 'BTC-USD',
  tickSize: '0.1',
  lotSize: '0.0001',
  minOrderSize: '0.001',
  syntheticId: '0x4254432d3600000000000000000000',
  syntheticResolution: 1_000_000,
  collateralId: '0x31857064564ed0ff978e687456963cba09c2c6985d8f9300a1de4962fafa054',
  price: 60_000,
  maxLeverage: 50,
};

export function simulatorOptions(
  overrides: Partial<X10SimulatorOptionsInput> = {},
): X10SimulatorOptionsInput {
  return {
    markets: [BTC],
    accounts: [
      {
        apiKey: ACCOUNT.apiKey,
        vault: ACCOUNT.vault,
        starkPublicKey: ACCOUNT.starkPublicKey,
        balance: 100_000,
      },
    ],
    ...overrides,
  };
}

export function adapterOptions(
  simulator: X10Simulator,
  overrides: Partial<X10OptionsInput> = {},
): X10OptionsInput {
  return {
    network: 'testnet',
    restUrl: simulator.restUrl,
    streamUrl: simulator.streamUrl,
    accounts: [
      {
        id: 'main',
        apiKey: ACCOUNT.apiKey,
        starkPrivateKey: ACCOUNT.starkPrivateKey,
        starkPublicKey: ACCOUNT.starkPublicKey,
        vault: ACCOUNT.vault,
      },
    ],
    retryBaseDelayMs: 5,
    reconnectDelayMs: 20,
    maxReconnectDelayMs: 200,
    orderAckTimeoutMs: 5_000,
    ...overrides,
  };
}

export async function startPair(
  simulatorOverrides: Partial<X10SimulatorOptionsInput> = {},
  adapterOverrides: Partial<X10OptionsInput> = {},
): Promise<{ simulator: X10Simulator; exchange: X10Exchange; close: () => Promise<void> }> {
  const simulator = await X10Simulator.start(simulatorOptions(simulatorOverrides));
  const exchange = new X10Exchange(adapterOptions(simulator, adapterOverrides), { id: 'x10' });
  return {
    simulator,
    exchange,
    close: async () => {
      await exchange.close();
      await simulator.close();
    },
  };
}
