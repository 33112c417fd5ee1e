import { z } from '@perpkit/core';

const hexKey = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, 'must be a 0x-prefixed hex key');

export const x10AccountSchema = z
  .object({
    /** Account id used inside perpkit (orders, snapshots). */
    id: z.string().min(1),
    /** The sub-account's API key (`X-Api-Key`). Secret: pass it as `${ENV}` in the runner config. */
    apiKey: z.string().min(1),
    /** The sub-account's Stark private key. Secret. */
    starkPrivateKey: hexKey,
    /** The sub-account's Stark public key (`l2Key`); derived from the private key when left out. */
    starkPublicKey: hexKey.optional(),
    /** The collateral position id (`l2Vault`). */
    vault: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(String),
  })
  .strict();

export const x10OptionsSchema = z
  .object({
    /** `mainnet` (Starknet) or `testnet` (Sepolia): picks the hosts and the signing chain id. */
    network: z.enum(['mainnet', 'testnet']).default('mainnet'),
    /** REST base URL, overriding the network's (a simulator, a proxy). Ends with `/api/v1`. */
    restUrl: z.string().url().optional(),
    /** WebSocket base URL, overriding the network's. Ends with `/stream.extended.exchange/v1`. */
    streamUrl: z.string().url().optional(),
    /** SNIP-12 chain id, overriding the network's (`SN_MAIN` or `SN_SEPOLIA`). */
    chainId: z.enum(['SN_MAIN', 'SN_SEPOLIA']).optional(),
    /** The venue requires a User-Agent on REST and WebSocket. */
    userAgent: z.string().min(1).default('perpkit-exchange-x10/0.1'),
    accounts: z.array(x10AccountSchema).min(1),
    /** Only these markets (e.g. `BTC-USD`); all active markets when left out. */
    markets: z.array(z.string().min(1)).optional(),
    /**
     * Fee rate signed into orders as the maximum fee (decimal string). Default: the account's
     * rate from `/user/fees` (the larger of maker and taker), else 0.0005.
     */
    feeRate: z
      .string()
      .regex(/^\d+(\.\d+)?$/)
      .optional(),
    /** Market orders are IOC limits this far through the best opposite price (0.0075 = 0.75%). */
    marketSlippage: z.number().min(0).max(0.05).default(0.0075),
    /** Expiry of a `gtc` order (the venue allows at most 90 days on mainnet, 28 on testnet). */
    gtcExpiryMs: z
      .number()
      .int()
      .positive()
      .default(27 * 24 * 3_600_000),
    /** Expiry of IOC and market orders. */
    iocExpiryMs: z.number().int().positive().default(3_600_000),
    /** How long `submitOrder` waits for the venue's first status of an order (accepted or rejected). */
    orderAckTimeoutMs: z.number().int().positive().default(10_000),
    requestTimeoutMs: z.number().int().positive().default(10_000),
    /** Retries of idempotent requests after a 429, a 5xx or a network error. */
    maxRetries: z.number().int().min(0).max(10).default(3),
    retryBaseDelayMs: z.number().int().min(0).default(250),
    /** Reconnect backoff of the streams: starts here, doubles up to `maxReconnectDelayMs`. */
    reconnectDelayMs: z.number().int().min(0).default(500),
    maxReconnectDelayMs: z.number().int().min(0).default(10_000),
    /** A stream with no message and no ping for this long is reconnected. */
    staleStreamMs: z.number().int().positive().default(45_000),
    /** Stream the account (orders, fills, positions, balance) over WebSocket. */
    accountStream: z.boolean().default(true),
    /**
     * How often the accounts' funding payments and the predicted funding rate of subscribed markets
     * are read over REST (the venue streams neither: `/funding` carries only applied rates). 0: never.
     */
    fundingPollMs: z.number().int().min(0).default(60_000),
  })
  .strict()
  .superRefine((options, context) => {
    const ids = new Set(options.accounts.map((account) => account.id));
    if (ids.size !== options.accounts.length)
      context.addIssue({ code: 'custom', path: ['accounts'], message: 'account ids must be unique' });
  });

export type X10OptionsInput = z.input<typeof x10OptionsSchema>;
export type X10Options = z.output<typeof x10OptionsSchema>;
export type X10AccountOptions = z.output<typeof x10AccountSchema>;

export const NETWORKS = {
  mainnet: {
    restUrl: 'https://api.starknet.extended.exchange/api/v1',
    streamUrl: 'wss://api.starknet.extended.exchange/stream.extended.exchange/v1',
    chainId: 'SN_MAIN',
  },
  testnet: {
    restUrl: 'https://api.starknet.sepolia.extended.exchange/api/v1',
    streamUrl: 'wss://api.starknet.sepolia.extended.exchange/stream.extended.exchange/v1',
    chainId: 'SN_SEPOLIA',
  },
} as const;
