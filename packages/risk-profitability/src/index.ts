import { allow, defineRiskGate, deny, type OrderBook, type RiskDecision, z } from '@perpkit/core';

export const profitabilityOptions = z
  .object({
    /** Planned holding time, in hours, over which funding is earned. */
    holdHours: z.number().positive().default(8),
    /** Share of the expected funding that is counted (conservative: half). */
    fundingHaircut: z.number().min(0).max(1).default(0.5),
    /**
     * Where expected revenue comes from: the signal's `metadata.expectedRevenue` (quote units),
     * the instrument's funding rate, or the metadata when present and funding otherwise.
     */
    revenue: z.enum(['metadata', 'funding', 'metadata-or-funding']).default('metadata-or-funding'),
    /** Taker fee rate per side; default: the market's, else 0.0005. */
    takerFeeRate: z.number().min(0).max(0.1).optional(),
    /** Slippage per side in basis points when no book is available (or `slippageFromBook` is off). */
    slippageBps: z.number().min(0).default(5),
    /** Estimate entry slippage by walking the order book when one is known (exit assumed the same). */
    slippageFromBook: z.boolean().default(true),
    /** Gas or priority fee per order, in quote units (charged for entry and exit). */
    costPerOrder: z.number().min(0).default(0),
    /** Required revenue / cost ratio. */
    minRatio: z.number().positive().default(1),
  })
  .strict();

export type ProfitabilityOptions = z.output<typeof profitabilityOptions>;

export const PROFITABILITY_CODES = {
  PROFIT_BELOW_COST: 'expected revenue does not cover entry and exit fees, slippage and gas × minRatio',
  PROFIT_NO_ESTIMATE: 'no revenue estimate (no metadata.expectedRevenue and no funding rate): fails closed',
} as const;

/** Average price paid walking `levels` for `quantity`; undefined when the book is too thin. */
function walk(levels: OrderBook['asks'], quantity: number): number | undefined {
  let left = quantity;
  let cost = 0;
  for (const [price, size] of levels) {
    const take = Math.min(left, size);
    cost += take * price;
    left -= take;
    if (left <= 1e-12) return cost / quantity;
  }
  return undefined;
}

/**
 * Denies entries that do not pay: expected revenue (the strategy's estimate, or funding over the
 * holding time taken at a haircut) against entry and exit costs: taker fees on both sides,
 * slippage (from the book when known) on both sides, and gas per order. Risk-reducing orders pass.
 */
export default defineRiskGate({
  meta: {
    name: 'profitability',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Cost-aware entry filter',
  },
  options: profitabilityOptions,
  setup(_context, options) {
    return {
      name: 'profitability',
      evaluate(proposal, state): RiskDecision {
        if (proposal.riskReducing) return allow();
        const { exchange, request, notional, quantity, referencePrice, market } = proposal;
        const direction = request.side === 'buy' ? 1 : -1;

        let revenue: number | undefined;
        let source = '';
        const fromMetadata = proposal.signal.metadata?.expectedRevenue;
        if (options.revenue !== 'funding' && typeof fromMetadata === 'number') {
          revenue = fromMetadata;
          source = 'strategy estimate';
        } else if (options.revenue !== 'metadata') {
          const funding = state.fundingRate(exchange, request.symbol);
          if (funding) {
            // Longs pay a positive rate, shorts receive it. Income is taken at a haircut, cost in full.
            const earned = -direction * funding.ratePerHour * notional * options.holdHours;
            revenue = earned > 0 ? earned * options.fundingHaircut : earned;
            source = `funding ${funding.ratePerHour.toExponential(3)}/h over ${options.holdHours} h at ${options.fundingHaircut}`;
          }
        }
        if (revenue === undefined)
          return deny('PROFIT_NO_ESTIMATE', `no revenue estimate for ${exchange}:${request.symbol}`);

        const feeRate = options.takerFeeRate ?? market.takerFeeRate ?? 0.0005;
        const fees = 2 * feeRate * notional;
        let slippagePerSide = (options.slippageBps / 10_000) * notional;
        const book = options.slippageFromBook ? state.orderBook(exchange, request.symbol) : undefined;
        if (book && book.bids[0] && book.asks[0]) {
          const mid = (book.bids[0][0] + book.asks[0][0]) / 2;
          const average = walk(direction > 0 ? book.asks : book.bids, quantity);
          slippagePerSide =
            average === undefined ? Number.POSITIVE_INFINITY : Math.abs(average - mid) * quantity;
        }
        const gas = 2 * options.costPerOrder;
        const cost = fees + 2 * slippagePerSide + gas;
        if (revenue >= cost * options.minRatio) return allow();
        return deny(
          'PROFIT_BELOW_COST',
          `expected revenue ${revenue.toFixed(4)} (${source}) < ${options.minRatio} × cost ${cost.toFixed(4)} (fees ${fees.toFixed(4)}, slippage ${(2 * slippagePerSide).toFixed(4)}, gas ${gas.toFixed(4)}) at ${referencePrice}`,
        );
      },
    };
  },
});
