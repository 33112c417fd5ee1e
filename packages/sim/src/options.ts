import { decimalPlaces, z } from '@perpkit/core';

const decimalString = z
  .union([z.string(), z.number()])
  .transform((value) => String(value))
  .refine(
    (value) => /^\d+(\.\d+)?$/.test(value) && Number(value) > 0,
    'must be a positive decimal such as "0.01"',
  );

const rate = z.number().min(-1).max(1);

export const slippageSchema = z.union([
  z.number().min(0).max(0.5),
  z
    .object({
      /** Slippage fraction for the smallest orders. Default 0.001 (0.1%). */
      min: z.number().min(0).max(0.5).default(0.001),
      /** Slippage fraction at and above `notionalAtMax`. Default 0.003 (0.3%). */
      max: z.number().min(0).max(0.5).default(0.003),
      /** Order notional (quote) at which slippage reaches `max`; linear in between. Default 100 000. */
      notionalAtMax: z.number().positive().default(100_000),
    })
    .strict(),
]);

export const simMarketSchema = z
  .object({
    symbol: z.string().min(1),
    base: z.string().min(1).optional(),
    quote: z.string().min(1).default('USD'),
    tickSize: decimalString,
    lotSize: decimalString,
    minQuantity: decimalString.optional(),
    minNotional: z.number().min(0).default(0),
    maxLeverage: z.number().positive().default(20),
    fundingIntervalHours: z.number().positive().default(8),
    /** Constant funding rate per settlement interval, used when no series is given. */
    fundingRate: rate.optional(),
    maintenanceMarginRate: z.number().min(0).max(1).optional(),
    makerFeeRate: rate.optional(),
    takerFeeRate: rate.optional(),
  })
  .strict();

export const simAccountSchema = z
  .object({
    id: z.string().min(1),
    /** Starting collateral in the quote asset. */
    balance: z.number().min(0).default(10_000),
    /** A sub-account of this account id. */
    parent: z.string().min(1).optional(),
    makerFeeRate: rate.optional(),
    takerFeeRate: rate.optional(),
    /** Account-wide leverage cap (total notional / equity). */
    maxLeverage: z.number().positive().optional(),
  })
  .strict();

export const simOptionsSchema = z
  .object({
    /** Venue name reported by markets and events. */
    venue: z.string().min(1).default('sim'),
    /**
     * The one collateral asset every account holds (single-collateral venue). Deposits, withdrawals
     * and transfers of any other asset are refused.
     */
    collateralAsset: z.string().min(1).default('USD'),
    /** How orders fill: `next-open` (candles), `book` (walk L2 depth) or `mark` (at the mark with slippage). */
    fillModel: z.enum(['next-open', 'book', 'mark']).default('mark'),
    slippage: slippageSchema.default({ min: 0.001, max: 0.003, notionalAtMax: 100_000 }),
    /** Fee rates for every market and account unless they set their own. Taker applies to market orders. */
    fees: z
      .object({ maker: rate.default(0.0002), taker: rate.default(0.0005) })
      .strict()
      .default({ maker: 0.0002, taker: 0.0005 }),
    maintenanceMarginRate: z.number().min(0).max(1).default(0.05),
    liquidationFeeRate: z.number().min(0).max(1).default(0.01),
    /** Funding per hour applied when a market has no rate or series. 0 turns funding off. */
    defaultFundingRatePerHour: rate.default(0.0000125),
    /** Realized PnL moves into collateral at once (`immediate`) or waits for `settlePnl` (`manual`). */
    pnlSettlement: z.enum(['immediate', 'manual']).default('immediate'),
    /** Time from submit to the order being live, in ms. */
    ackLatencyMs: z.number().min(0).default(0),
    /** Extra random latency, uniform in [0, jitter], drawn from the seeded generator. */
    latencyJitterMs: z.number().min(0).default(0),
    seed: z.number().int().default(1),
    markets: z.array(simMarketSchema).min(1),
    accounts: z
      .array(simAccountSchema)
      .min(1)
      .default([{ id: 'main', balance: 10_000 }]),
  })
  .strict()
  .superRefine((options, context) => {
    const symbols = new Set<string>();
    options.markets.forEach((market, index) => {
      if (symbols.has(market.symbol))
        context.addIssue({
          code: 'custom',
          path: ['markets', index, 'symbol'],
          message: `duplicate market ${market.symbol}`,
        });
      symbols.add(market.symbol);
      if (decimalPlaces(market.tickSize) > 12)
        context.addIssue({
          code: 'custom',
          path: ['markets', index, 'tickSize'],
          message: 'at most 12 decimals',
        });
    });
    const ids = new Set(options.accounts.map((account) => account.id));
    if (ids.size !== options.accounts.length)
      context.addIssue({ code: 'custom', path: ['accounts'], message: 'account ids must be unique' });
    options.accounts.forEach((account, index) => {
      if (account.parent !== undefined && account.parent === account.id) {
        context.addIssue({
          code: 'custom',
          path: ['accounts', index, 'parent'],
          message: 'an account cannot be its own parent',
        });
      } else if (account.parent !== undefined && !ids.has(account.parent)) {
        context.addIssue({
          code: 'custom',
          path: ['accounts', index, 'parent'],
          message: `no account "${account.parent}"`,
        });
      }
    });
  });

export type SimOptionsInput = z.input<typeof simOptionsSchema>;
export type SimOptions = z.output<typeof simOptionsSchema>;
export type SimMarketOptions = z.output<typeof simMarketSchema>;
export type SlippageOptions = z.output<typeof slippageSchema>;
