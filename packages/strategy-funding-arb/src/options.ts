import { duration, z } from '@perpkit/core';

const venueLeg = z
  .object({
    /** Exchange instance id from the config. */
    exchange: z.string().min(1),
    /** The asset's perpetual on that exchange (venues name it differently: BTC, BTC-USD, BTCUSDT). */
    symbol: z.string().min(1),
    /** Account; the exchange's first when left out. */
    account: z.string().min(1).optional(),
  })
  .strict();

const market = z
  .object({
    /** The asset both legs trade, as a label (`BTC`). One pair per asset at a time. */
    asset: z.string().min(1),
    /** Two or more venues that list it; every ordered pair of them is a candidate. */
    venues: z.array(venueLeg).min(2, 'list at least two venues for an asset'),
  })
  .strict()
  .superRefine((value, context) => {
    const seen = new Set<string>();
    value.venues.forEach((venue, index) => {
      const key = `${venue.exchange}\u0000${venue.symbol}\u0000${venue.account ?? ''}`;
      if (seen.has(key))
        context.addIssue({
          code: 'custom',
          path: ['venues', index],
          message: `${venue.exchange}:${venue.symbol} is listed twice`,
        });
      seen.add(key);
    });
  });

const entry = z
  .object({
    /** Largest notional per leg, in the quote asset. */
    maxNotional: z.number().positive(),
    /** Skip an entry whose size (after liquidity and collateral caps) is below this notional. */
    minNotional: z.number().min(0).default(0),
    /** Planned holding time over which expected funding is counted. */
    holdHours: z.number().positive().default(72),
    /** Expected spread = mean of the last N hourly samples (1: the current rates only). */
    lookbackHours: z.number().int().positive().default(8),
    /** Hourly samples needed before a candidate is considered; default: lookbackHours. */
    minSamples: z.number().int().positive().optional(),
    /** Enter only when net EV (quote units) is at least this ... */
    minNetEv: z.number().default(0),
    /** ... and at least this many basis points of the notional. */
    minNetEvBps: z.number().default(1),
    /** Ignore candidates whose expected spread is below this APY (0.1 = 10 %). */
    minSpreadApy: z.number().default(0),
    /** Size is cut so the depth walk on either book costs at most this vs the mid. */
    maxSlippageBps: z.number().min(0).default(5),
    /** Slippage per leg and side when a venue gives no book. */
    fallbackSlippageBps: z.number().min(0).default(5),
    /** Fee rate assumed for the cost estimate (maker-first may do better; taker is the bound). */
    feeAssumption: z.enum(['taker', 'maker']).default('taker'),
    /** Notional per leg at most this × the account's free collateral. */
    maxLeverage: z.number().positive().default(3),
    /** Wait this long after a pair on an asset ends before entering that asset again. */
    cooldown: duration.default(3_600_000),
  })
  .strict();

const execution = z
  .object({
    /**
     * How long maker orders rest before the synchronized IOC completes the legs. It bounds the
     * unhedged window: the IOC goes out at the last cycle before this expires (so it must be at
     * least one cycle interval).
     */
    makerTimeout: duration.default(30_000),
    /** Without a book, maker orders rest this far from the mark. */
    makerOffsetBps: z.number().min(0).default(1),
    /** IOC limit price: this far through the reference (best opposite price, else the mark). */
    iocSlippageBps: z.number().positive().default(20),
    /** Close with makers first (false: IOC straight away). Emergencies always go straight to IOC. */
    closeMaker: z.boolean().default(true),
    /** IOC rounds before a close escalates to market orders. */
    maxIocAttempts: z.number().int().positive().default(2),
  })
  .strict();

const hedgeRules = z
  .object({
    /** |long − short| / larger above this: the legs are rebalanced (REBALANCE, layer 1). */
    rebalanceTolerance: z.number().min(0).max(1).default(0.01),
    /** Above this (or a leg missing, or both on one side): the hedge is broken, the pair closes. */
    brokenTolerance: z.number().min(0).max(1).default(0.1),
  })
  .strict();

const liquidationRule = z
  .object({
    /** Close when either leg's mark is within this fraction of its liquidation price. */
    minDistance: z.number().min(0).max(1).default(0.03),
    /** ... or either leg's account health ratio falls below this. */
    minHealth: z.number().min(0).max(1).default(0.1),
  })
  .strict();

const netEvRule = z
  .object({
    enabled: z.boolean().default(true),
    /** Expected funding from holding this much longer ... */
    horizonHours: z.number().positive().default(24),
    /** ... below this (quote units) closes the pair. */
    floor: z.number().default(0),
  })
  .strict();

const opportunityRule = z
  .object({
    enabled: z.boolean().default(true),
    /** Another venue pair of the asset must beat the held one by this APY (0.1 = 10 points) ... */
    marginApy: z.number().positive().default(0.1),
    /** ... and its extra funding over this horizon must pay for closing and re-entering. */
    horizonHours: z.number().positive().default(24),
  })
  .strict();

const fundingFlipRule = z
  .object({
    enabled: z.boolean().default(true),
    /** The held pair's hourly net APY below −threshold ... */
    thresholdApy: z.number().min(0).default(0),
    /** ... for this many hourly samples in a row. */
    confirmHours: z.number().int().positive().default(2),
  })
  .strict();

const takeProfitRule = z
  .object({
    /** Close once the pair's PnL after fees and estimated exit costs reaches this, in bps of notional. */
    netPnlBps: z.number().positive(),
  })
  .strict();

const velocityRule = z
  .object({
    /** Least-squares slope of the last `hours` hourly net APY samples at or below −this (APY per hour). */
    dropApyPerHour: z.number().positive(),
    hours: z.number().int().min(2).default(6),
  })
  .strict();

const zScoreRule = z
  .object({
    /** Close when the latest hourly net APY is this many standard deviations below its window mean. */
    threshold: z.number().positive().default(2),
    window: z.number().int().min(3).default(168),
    /** Samples needed before the rule speaks. */
    minSamples: z.number().int().min(3).default(48),
  })
  .strict();

const exits = z
  .object({
    /** Layers 2 and 3 wait this long after a pair opens; layer 1 never waits. */
    minHold: duration.default(0),
    hedge: hedgeRules.prefault({}),
    liquidation: liquidationRule.prefault({}),
    netEv: netEvRule.prefault({}),
    opportunityCost: opportunityRule.prefault({}),
    fundingFlip: fundingFlipRule.prefault({}),
    takeProfit: takeProfitRule.optional(),
    velocity: velocityRule.optional(),
    zScore: zScoreRule.optional(),
  })
  .strict();

const readback = z
  .object({
    /** A leg's exit VWAP differing from the venue's by more than this is corrected (with a warning). */
    vwapToleranceBps: z.number().min(0).default(3),
    /** Net PnL differing from the venue's by more than this (quote units) is corrected. */
    pnlTolerance: z.number().min(0).default(0.3),
  })
  .strict();

export const fundingArbOptions = z
  .object({
    markets: z.array(market).min(1),
    /** Pairs open at once over all assets. */
    maxOpenPairs: z.number().int().positive().default(1),
    entry,
    execution: execution.prefault({}),
    exits: exits.prefault({}),
    readback: readback.prefault({}),
    /** Closed pairs kept in plugin memory (the audit trail has all of them). */
    historyLimit: z.number().int().min(0).default(50),
  })
  .strict()
  .superRefine((value, context) => {
    const assets = new Set<string>();
    value.markets.forEach((entry, index) => {
      if (assets.has(entry.asset))
        context.addIssue({
          code: 'custom',
          path: ['markets', index, 'asset'],
          message: `asset ${entry.asset} is listed twice`,
        });
      assets.add(entry.asset);
    });
    if (value.exits.hedge.rebalanceTolerance >= value.exits.hedge.brokenTolerance)
      context.addIssue({
        code: 'custom',
        path: ['exits', 'hedge', 'rebalanceTolerance'],
        message: 'must be below brokenTolerance',
      });
  });

export type FundingArbOptions = z.output<typeof fundingArbOptions>;
export type FundingArbOptionsInput = z.input<typeof fundingArbOptions>;
