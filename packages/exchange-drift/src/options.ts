import { z } from '@perpkit/core';

const positiveInteger = z.number().int().positive();
const milliseconds = z.number().int().min(0);
const decimal = z.string().regex(/^\d+(\.\d+)?$/, 'a non-negative decimal such as "1" or "0.5"');

export const driftAccountSchema = z
  .object({
    /** The id strategies and the engine use. Default: `main` for sub-account 0, else `sub-<n>`. */
    id: z.string().min(1).optional(),
    /** Drift sub-account id (0 is the main account). */
    subAccountId: z.number().int().min(0).max(65_535),
  })
  .strict();

export const jitoSenderSchema = z
  .object({
    type: z.literal('jito'),
    /** Block engine base URL; bundles go to `<url>/api/v1/bundles`. */
    url: z.url(),
    /** Tip paid to a Jito tip account in a second transaction of the bundle. */
    tipLamports: z.number().int().min(1000).default(10_000),
    /** Tip accounts; default: asked from the block engine (`getTipAccounts`). */
    tipAccounts: z.array(z.string().min(32).max(44)).min(1).optional(),
    /** Send through the RPC when the block engine refuses or cannot be reached. */
    fallbackToRpc: z.boolean().default(true),
    requestTimeoutMs: positiveInteger.default(5_000),
  })
  .strict();

export const rpcSenderSchema = z.object({ type: z.literal('rpc') }).strict();

export const driftOptionsSchema = z
  .object({
    /** `mainnet-beta` or `devnet`: the SDK's environment (program id, market lists). */
    network: z.enum(['mainnet-beta', 'devnet']).default('mainnet-beta'),
    /** Solana JSON-RPC endpoint (HTTP). Point it at the fake RPC in tests. */
    rpcUrl: z.url(),
    commitment: z.enum(['processed', 'confirmed', 'finalized']).default('confirmed'),
    /**
     * The wallet's secret key: base58 (64-byte secret key or 32-byte seed) or a JSON byte array.
     * Fill it from the environment in the runner config (`secretKey: ${DRIFT_SECRET_KEY}`); the
     * plugin never reads the environment itself. Required unless `readOnly`.
     */
    secretKey: z.string().min(1, 'secretKey must not be empty').optional(),
    /**
     * The account owner when it is not the key's own (a delegate signs), or the authority watched
     * in `readOnly` mode. Base58 public key.
     */
    authority: z.string().min(32).max(44).optional(),
    /** Watch accounts only: no key needed, every order and transfer is refused. */
    readOnly: z.boolean().default(false),
    /** Sub-accounts traded through this instance. */
    accounts: z
      .array(driftAccountSchema)
      .min(1)
      .default([{ subAccountId: 0 }]),
    /** Perp market indexes to load (mainnet: 0 SOL, 1 BTC, 2 ETH). */
    perpMarkets: z.array(z.number().int().min(0).max(65_535)).min(1).default([0, 1, 2]),
    /** Account polling period. */
    pollIntervalMs: positiveInteger.default(10_000),
    /** While disconnected, a reconnect attempt every this long. */
    reconnectIntervalMs: positiveInteger.default(10_000),
    /** Connect: attempts and the first delay of the exponential backoff between them. */
    connectAttempts: positiveInteger.max(20).default(5),
    connectBackoffMs: positiveInteger.default(1_000),
    /** Orders that would take account leverage above this are refused. */
    maxLeverage: z.number().positive().max(100).default(5),
    /** Market orders carry a limit of the oracle price ± this tolerance (basis points). */
    slippageBps: z.number().int().min(1).max(5_000).default(50),
    /** A withdrawal that would leave account health below this fraction is refused. */
    withdrawHealthFloor: z.number().min(0).max(1).default(0.8),
    /** PnL of a market is settled into USDC once its unsettled amount exceeds this (USD). */
    settlePnlThreshold: decimal.default('1'),
    /** Settle PnL automatically (closed positions at once, open ones at most once per interval). */
    autoSettlePnl: z.boolean().default(true),
    settleOpenPositionIntervalMs: milliseconds.default(3_600_000),
    /** A transaction not confirmed within this is queried further for `statusQueryMs`. */
    confirmTimeoutMs: positiveInteger.default(30_000),
    statusQueryMs: positiveInteger.default(60_000),
    /** Status polling period while confirming. */
    statusPollMs: positiveInteger.default(500),
    /** Delays of the retries of a failed RPC send (network errors, node behind). */
    sendRetryDelaysMs: z.array(milliseconds).max(10).default([1_000, 2_000, 4_000]),
    /** Delays of the re-reads after an action when the account does not show its effect yet. */
    syncRetryDelaysMs: z.array(milliseconds).max(10).default([500, 1_000, 2_000]),
    /** Priority fee (micro-lamports per compute unit) and compute unit limit of each transaction. */
    computeUnitPrice: z.number().int().min(0).default(0),
    computeUnits: positiveInteger.max(1_400_000).default(600_000),
    /** How transactions go out: the RPC, or Jito bundles with RPC fallback. */
    sender: z.discriminatedUnion('type', [rpcSenderSchema, jitoSenderSchema]).default({ type: 'rpc' }),
  })
  .strict()
  .superRefine((options, context) => {
    const ids = new Set<string>();
    const subAccounts = new Set<number>();
    options.accounts.forEach((account, index) => {
      const id = accountIdOf(account);
      if (ids.has(id))
        context.addIssue({
          code: 'custom',
          path: ['accounts', index, 'id'],
          message: `duplicate account id ${id}`,
        });
      if (subAccounts.has(account.subAccountId))
        context.addIssue({
          code: 'custom',
          path: ['accounts', index, 'subAccountId'],
          message: `sub-account ${account.subAccountId} is listed twice`,
        });
      ids.add(id);
      subAccounts.add(account.subAccountId);
    });
    if (options.readOnly && options.authority === undefined && options.secretKey === undefined)
      context.addIssue({
        code: 'custom',
        path: ['authority'],
        message: 'readOnly needs the authority to watch',
      });
  });

export type DriftOptionsInput = z.input<typeof driftOptionsSchema>;
export type DriftOptions = z.output<typeof driftOptionsSchema>;
export type DriftAccountOptions = z.output<typeof driftAccountSchema>;

export function accountIdOf(account: { id?: string | undefined; subAccountId: number }): string {
  return account.id ?? (account.subAccountId === 0 ? 'main' : `sub-${account.subAccountId}`);
}
