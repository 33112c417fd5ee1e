import { duration, z } from '@perpkit/core';

const positive = z.number().positive();

const bookOptions = z
  .object({
    /**
     * Trade only with a valid order book. Off, a missing book falls back to the reference price
     * (backtests and replays on candles have no book); an empty or invalid book still stops trading.
     */
    required: z.boolean().default(true),
    /** Largest (ask − bid) / mid to trade at (0.001 = 10 bps). */
    maxSpread: positive.max(1).default(0.001),
    /** A book older than this is stale: no trade. */
    maxAge: duration.default(10_000),
    /** An order takes at most this share of the visible opposite quantity within `depthLevels`. */
    maxDepthShare: positive.max(1).default(0.5),
    depthLevels: z.number().int().positive().default(5),
  })
  .strict();

export const pairedOptions = z
  .object({
    mode: z.literal('paired'),
    exchange: z.string().min(1),
    symbol: z.string().min(1),
    /** The two accounts that trade opposite sides: primary first, then secondary. */
    accounts: z
      .tuple([z.string().min(1), z.string().min(1)])
      .refine(([primary, secondary]) => primary !== secondary, 'the two accounts must differ'),
    /** Wanted size of each leg, in the quote asset. */
    legNotional: positive,
    /** Largest order value (quote). Clamped by each account's live equity × `maxOrderLeverage`. */
    maxOrderValue: positive.optional(),
    /** An order's value never exceeds the account's live equity × this. */
    maxOrderLeverage: positive.default(1),
    /** A leg's notional never exceeds its account's live equity × this. */
    maxLeverage: positive.default(2),
    /** How often the strategy proposes paired trades or rebalances. */
    interval: duration.default(60_000),
    /** A pair is held this long, then unwound. */
    holdTime: duration.default(3_600_000),
    /** How a held pair is unwound: both legs flip sides (`flip`) or both close (`close`). */
    unwind: z.enum(['flip', 'close']).default('flip'),
    /** The primary account's side in the first pair. */
    primarySide: z.enum(['buy', 'sell']).default('buy'),
    /** After a close, the next pair opens with the primary on the other side. */
    alternate: z.boolean().default(true),
    /** A held leg more than this fraction away from the wanted size is resized (both legs). */
    resizeBand: positive.max(1).default(0.2),
    /** Paired trades as market orders, or as post-only limits joining the touch. */
    orderType: z.enum(['market', 'limit']).default('market'),
    /** Resting orders older than this are cancelled. */
    orderTimeout: duration.default(30_000),
    /** When no rule asked for a trade and the legs do not cancel (a failed or partial fill). */
    autoHedge: z.enum(['complete', 'reduce']).default('complete'),
    /** Either account's health ratio below this reduces both legs by `deleverageFraction`. */
    minHealthRatio: z.number().min(0).max(1).default(0.4),
    deleverageFraction: positive.max(1).default(0.5),
    book: bookOptions.default({
      required: true,
      maxSpread: 0.001,
      maxAge: 10_000,
      maxDepthShare: 0.5,
      depthLevels: 5,
    }),
  })
  .strict();

const leg = z
  .object({
    exchange: z.string().min(1),
    symbol: z.string().min(1),
    /** Default: the exchange's first account. */
    account: z.string().min(1).optional(),
  })
  .strict();

export const fundingOptions = z
  .object({
    mode: z.literal('funding'),
    /** The leg that collects funding with a short position; rebalances trade it. */
    short: leg,
    /** The long hedge legs; each gets `weight` of the short's notional (default equal weights). */
    hedges: z.array(leg.extend({ weight: positive.default(1) }).strict()).min(1),
    /** Wanted short size: `quantity` in base units, or `notional` in the quote asset. */
    size: z
      .object({ quantity: positive.optional(), notional: positive.optional() })
      .strict()
      .refine(
        (size) => (size.quantity === undefined) !== (size.notional === undefined),
        'give exactly one of quantity or notional',
      ),
    /** Rebalance when |net delta / gross| is above this. */
    driftThreshold: z.number().min(0).max(1).default(0.01),
    /** No rebalance sooner than this after the last one. */
    cooldown: duration.default(30 * 60_000),
    /** Rebalance trades smaller than this (base units of the short leg) are dust: skipped. */
    minTradeSize: z.number().min(0).default(0),
    /** How often the strategy evaluates. */
    interval: duration.default(60_000),
    /** Open only while the short leg's funding rate per hour is at least this (shorts receive a positive rate). */
    minEntryFundingRatePerHour: z.number().optional(),
    /** Close every leg when the short leg's funding rate per hour falls below this. */
    exitFundingRatePerHour: z.number().optional(),
    /** Largest order value (quote), clamped by the account's live equity × `maxOrderLeverage`. */
    maxOrderValue: positive.optional(),
    maxOrderLeverage: positive.default(1),
  })
  .strict()
  .refine(
    (options) => {
      const keys = [options.short, ...options.hedges].map(
        (entry) => `${entry.exchange}\u0000${entry.symbol}\u0000${entry.account ?? ''}`,
      );
      return new Set(keys).size === keys.length;
    },
    { message: 'every leg must be a different exchange, symbol or account', path: ['hedges'] },
  );

export const deltaNeutralOptions = z.discriminatedUnion('mode', [pairedOptions, fundingOptions]);

export type PairedOptions = z.output<typeof pairedOptions>;
export type FundingOptions = z.output<typeof fundingOptions>;
export type DeltaNeutralOptions = z.output<typeof deltaNeutralOptions>;
export type DeltaNeutralOptionsInput = z.input<typeof deltaNeutralOptions>;
