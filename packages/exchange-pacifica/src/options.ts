import { z } from '@perpkit/core';

const positiveInteger = z.number().int().positive();

export const pacificaAccountSchema = z
  .object({
    /** The id strategies and the engine use (`primary`). Default: the account address. */
    id: z.string().min(1).optional(),
    /**
     * The main account's address (base58 public key). Required when `secretKey` is an agent
     * wallet's key; default: the public key of `secretKey`.
     */
    account: z.string().min(32).max(44).optional(),
    /**
     * The signing key, base58 (a 64-byte Solana secret key or a 32-byte seed): the account's own
     * key or an agent wallet's. Fill it from the environment in the runner config
     * (`secretKey: ${PACIFICA_PRIMARY_KEY}`); the plugin never reads the environment itself.
     */
    secretKey: z.string().min(32, 'secretKey must be a base58 secret key'),
  })
  .strict();

export const pacificaOptionsSchema = z
  .object({
    /** `mainnet` or `testnet`: picks the default URLs. */
    network: z.enum(['mainnet', 'testnet']).default('mainnet'),
    /** REST base including `/api/v1` (point it at the simulator). Default: the network's. */
    baseUrl: z.url().optional(),
    /** WebSocket URL (point it at the simulator). Default: the network's. */
    wsUrl: z.url().optional(),
    /** API config key (`PF-API-KEY`) for the higher rate-limit tier. */
    apiKey: z.string().min(1).optional(),
    /** Accounts traded through this instance (for example a primary and a secondary). */
    accounts: z.array(pacificaAccountSchema).min(1),
    /** How long a signature stays valid. Default 5 000 ms (the venue's own default is 30 000). */
    expiryWindowMs: positiveInteger.max(60_000).default(5_000),
    /**
     * A price or quantity off the market's tick or lot: `reject` (default: an `OrderRejectedError`
     * before anything is sent) or `round` (a buy's price down, a sell's up, the quantity toward zero).
     */
    offGrid: z.enum(['reject', 'round']).default('reject'),
    /** Slippage bound of market orders without `priceLimit`, in percent ("0.5" = 0.5 %). */
    marketSlippagePercent: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'a decimal percentage such as "0.5"')
      .default('0.5'),
    requestTimeoutMs: positiveInteger.default(10_000),
    /** Retries after HTTP 429 (any request) and 5xx (reads). */
    maxRetries: z.number().int().min(0).max(20).default(5),
    /** Stream market data and account events over the WebSocket. Without it, everything is polled by the engine. */
    websocket: z.boolean().default(true),
    pingIntervalMs: positiveInteger.default(30_000),
    /** A book or price stream silent this long is reconnected (0: off). */
    staleAfterMs: z.number().int().min(0).default(15_000),
    reconnectBaseDelayMs: positiveInteger.default(500),
    reconnectMaxDelayMs: positiveInteger.default(30_000),
    circuitBreakerFailures: positiveInteger.default(6),
    circuitBreakerCooldownMs: positiveInteger.default(60_000),
    /** Maker and taker fee rates of the account's tier (fractions). Default tier 1: 0.015 % / 0.04 %. */
    makerFeeRate: z.number().min(-0.01).max(0.01).default(0.00015),
    takerFeeRate: z.number().min(-0.01).max(0.01).default(0.0004),
  })
  .strict()
  .superRefine((options, context) => {
    const ids = new Set<string>();
    options.accounts.forEach((account, index) => {
      const id = account.id ?? account.account;
      if (id === undefined) return;
      if (ids.has(id))
        context.addIssue({
          code: 'custom',
          path: ['accounts', index, 'id'],
          message: `duplicate account id ${id}`,
        });
      ids.add(id);
    });
  });

export type PacificaOptionsInput = z.input<typeof pacificaOptionsSchema>;
export type PacificaOptions = z.output<typeof pacificaOptionsSchema>;
