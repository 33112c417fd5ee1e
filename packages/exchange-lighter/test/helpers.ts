import type { Clock } from '@perpkit/core';
import { LighterExchange } from '../src/lighter-exchange';
import type { LighterOptionsInput } from '../src/options';
import { lighterPublicKey } from '../src/signer/index';
import { LighterSimulator, type LighterSimulatorOptions } from '../src/sim/index';

/**
 * Test keys: the published Schnorr test scalars of elliottech/poseidon_crypto
 * (signature/schnorr/schnorr_test.go, sks[0], sks[1], sks[2]) as 40 little-endian bytes.
 * Never real keys.
 */
export const POSEIDON_CRYPTO_TEST_KEY_0 =
  '4980df1a5a76cba9fef4d80446e951108e16a5b21f497976475c950bd2588c5a58771d5b06498d28';
export const POSEIDON_CRYPTO_TEST_KEY_1 =
  'da83ea081245bfca42565b26d74febd75d352595f3c4d70be0a1adc310582bf496971dcdbdce1c05';
export const POSEIDON_CRYPTO_TEST_KEY_2 =
  '11120994deffbe0be8b5fce19703cb12e30278d58ff9d04f1e8c98f8b453f9437e4e840de9f2ef0e';

export const ACCOUNT = 281_474_976_710_000;
export const API_KEY = 4;

export const MARKETS: LighterSimulatorOptions['markets'] = [
  {
    index: 0,
    symbol: 'ETH',
    priceDecimals: 2,
    sizeDecimals: 4,
    minBaseAmount: '0.0050',
    minQuoteAmount: '10',
    minInitialMarginFraction: 500,
    maintenanceMarginFraction: 120,
    mark: 3000,
  },
  {
    index: 1,
    symbol: 'BTC',
    priceDecimals: 1,
    sizeDecimals: 5,
    minBaseAmount: '0.00020',
    minQuoteAmount: '10',
    minInitialMarginFraction: 200,
    maintenanceMarginFraction: 120,
    mark: 60_000,
  },
];

export interface Venue {
  readonly simulator: LighterSimulator;
  readonly exchange: LighterExchange;
  readonly baseUrl: string;
  readonly streamUrl: string;
  close(): Promise<void>;
}

/** A simulator on loopback and an adapter talking to it over real sockets. */
export async function startVenue(
  options: {
    simulator?: Partial<LighterSimulatorOptions>;
    adapter?: Partial<LighterOptionsInput>;
    clock?: Clock;
    apiKeys?: readonly { index: number; privateKey: string }[];
  } = {},
): Promise<Venue> {
  const apiKeys = options.apiKeys ?? [{ index: API_KEY, privateKey: POSEIDON_CRYPTO_TEST_KEY_0 }];
  const simulator = new LighterSimulator({
    markets: MARKETS,
    accounts: [
      {
        index: ACCOUNT,
        balance: 100_000,
        apiKeys: apiKeys.map((key) => ({ index: key.index, publicKey: lighterPublicKey(key.privateKey) })),
      },
    ],
    slippage: 0,
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.simulator,
  });
  const { baseUrl, streamUrl } = await simulator.start();
  const exchange = new LighterExchange(
    {
      baseUrl,
      streamUrl,
      accounts: [{ index: ACCOUNT, apiKeys: [...apiKeys] }],
      orderAckTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      ...options.adapter,
    },
    { id: 'lighter', ...(options.clock ? { clock: options.clock } : {}) },
  );
  return {
    simulator,
    exchange,
    baseUrl,
    streamUrl,
    async close() {
      await exchange.close();
      await simulator.close();
    },
  };
}
