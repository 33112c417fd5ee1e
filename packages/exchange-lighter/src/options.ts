import { z } from '@perpkit/core';

const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{80}$/;

/** One API key: its slot on the account and its 40-byte private key (a secret; never logged). */
export const lighterApiKeySchema = z
  .object({
    /** API key index on the account, 0..254. Indices 0–3 are used by the web and mobile apps. */
    index: z.number().int().min(0).max(254),
    privateKey: z
      .string()
      .regex(PRIVATE_KEY, 'must be a 40-byte hex private key (80 hex digits, optional 0x)'),
  })
  .strict();

export const lighterAccountSchema = z
  .object({
    /** The account (or sub-account) index, as `accountsByL1Address` lists it. */
    index: z
      .number()
      .int()
      .min(0)
      .max(2 ** 48 - 2),
    /** The id strategies and the engine use (`primary`). Default: the index as a decimal string. */
    id: z.string().min(1).optional(),
    /** One or more API keys of this account; each has its own nonce and orders are spread over them. */
    apiKeys: z.array(lighterApiKeySchema).min(1),
  })
  .strict()
  .superRefine((account, context) => {
    const seen = new Set<number>();
    account.apiKeys.forEach((key, position) => {
      if (seen.has(key.index)) {
        context.addIssue({
          code: 'custom',
          path: ['apiKeys', position, 'index'],
          message: 'duplicate API key index',
        });
      }
      seen.add(key.index);
    });
  });

export const lighterOptionsSchema = z
  .object({
    /** Selects the hosts and the chain id the signatures commit to. */
    network: z.enum(['mainnet', 'testnet']).default('mainnet'),
    /** REST base URL (without `/api/v1`); defaults to the network's host. A simulator URL in tests. */
    baseUrl: z.url().optional(),
    /** WebSocket URL; defaults to the network's `/stream`. */
    streamUrl: z.url().optional(),
    /** Overrides the chain id (304 mainnet, 300 testnet). */
    chainId: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    accounts: z.array(lighterAccountSchema).min(1),
    /** Symbols to trade; default every active perp market. */
    symbols: z.array(z.string().min(1)).optional(),
    /** Opens the WebSocket for order, fill, funding and position events (off: REST polling only). */
    stream: z.boolean().default(true),
    requestTimeoutMs: z.number().int().positive().default(10_000),
    /** How long `submitOrder`/`cancelOrder` wait for the venue to report the order after `sendTx`. */
    orderAckTimeoutMs: z.number().int().positive().default(10_000),
    /** Transaction deadline (`ExpiredAt`) after signing. The SDK default is 10 min − 1 s. */
    txExpiryMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000 - 1_000),
    /** Resting (good-till-time) orders expire this long after placement; the venue allows 5 min to 30 days. */
    orderExpiryMs: z
      .number()
      .int()
      .min(5 * 60_000)
      .max(30 * 24 * 3_600_000)
      .default(28 * 24 * 3_600_000),
    /** Auth tokens for private reads live this long (the venue allows at most 8 hours). */
    authTokenLifetimeMs: z
      .number()
      .int()
      .min(60_000)
      .max(8 * 3_600_000)
      .default(10 * 60_000),
    /** Market orders are IOC orders at the mark moved by this fraction (the worst acceptable price). */
    marketOrderSlippage: z.number().positive().max(0.5).default(0.05),
    /** With the stream on, `account` events come after account activity and at least this often (0: only after activity). */
    accountRefreshMs: z.number().int().min(0).default(15_000),
    pingIntervalMs: z.number().int().positive().default(30_000),
    reconnect: z
      .object({
        initialDelayMs: z.number().int().positive().default(250),
        maxDelayMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .default({ initialDelayMs: 250, maxDelayMs: 10_000 }),
  })
  .strict()
  .superRefine((options, context) => {
    const seen = new Set<number>();
    const ids = new Set<string>();
    options.accounts.forEach((account, position) => {
      if (seen.has(account.index)) {
        context.addIssue({
          code: 'custom',
          path: ['accounts', position, 'index'],
          message: 'duplicate account index',
        });
      }
      seen.add(account.index);
      const id = account.id ?? String(account.index);
      if (ids.has(id)) {
        context.addIssue({
          code: 'custom',
          path: ['accounts', position, 'id'],
          message: 'duplicate account id',
        });
      }
      ids.add(id);
    });
  });

export type LighterOptionsInput = z.input<typeof lighterOptionsSchema>;
export type LighterOptions = z.output<typeof lighterOptionsSchema>;

export const LIGHTER_HOSTS = {
  mainnet: {
    rest: 'https://mainnet.zklighter.elliot.ai',
    stream: 'wss://mainnet.zklighter.elliot.ai/stream',
    chainId: 304,
  },
  testnet: {
    rest: 'https://testnet.zklighter.elliot.ai',
    stream: 'wss://testnet.zklighter.elliot.ai/stream',
    chainId: 300,
  },
} as const;
