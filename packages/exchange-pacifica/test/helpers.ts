import { readFileSync } from 'node:fs';
import { base58 } from '@scure/base';
import { PacificaExchange } from '../src/exchange';
import type { PacificaOptionsInput } from '../src/options';
import { publicKeyOf } from '../src/signing';
import { PacificaSimulator, type PacificaSimulatorOptionsInput } from '../src/sim/server';

const golden = JSON.parse(
  readFileSync(new URL('./fixtures/golden-signing.json', import.meta.url), 'utf8'),
) as {
  keys: { main: { secretKey: string } };
};
const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

/** Published test keys only: the SDK examples' key and RFC 8032 section 7.1 test seeds. */
export const SDK_EXAMPLE_PRIVATE_KEY = golden.keys.main.secretKey;
export const RFC8032_TEST1_SEED = base58.encode(
  hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
);
export const RFC8032_TEST2_SEED = base58.encode(
  hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'),
);
export const RFC8032_TEST3_SEED = base58.encode(
  hex('c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7'),
);

export const PRIMARY = publicKeyOf(SDK_EXAMPLE_PRIVATE_KEY);
export const SECONDARY = publicKeyOf(RFC8032_TEST2_SEED);
/** An agent wallet of the primary account. */
export const AGENT = publicKeyOf(RFC8032_TEST1_SEED);

export async function startVenue(
  simulatorOptions: Partial<PacificaSimulatorOptionsInput> = {},
  adapterOptions: Partial<PacificaOptionsInput> = {},
) {
  const simulator = new PacificaSimulator({
    accounts: [
      { address: PRIMARY, balance: 100_000 },
      { address: SECONDARY, balance: 100_000 },
    ],
    agentWallets: { [AGENT]: PRIMARY },
    tickIntervalMs: 50,
    volatility: 0.0001,
    ...simulatorOptions,
  });
  const { restUrl, wsUrl } = await simulator.start();
  const exchange = new PacificaExchange(
    {
      baseUrl: restUrl,
      wsUrl,
      accounts: [
        { id: 'primary', secretKey: SDK_EXAMPLE_PRIVATE_KEY },
        { id: 'secondary', secretKey: RFC8032_TEST2_SEED },
      ],
      reconnectBaseDelayMs: 20,
      reconnectMaxDelayMs: 200,
      ...adapterOptions,
    },
    { id: 'pacifica' },
  );
  return { simulator, exchange, restUrl, wsUrl };
}
