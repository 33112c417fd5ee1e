import {
  allow,
  defineRiskGate,
  deny,
  type OrderBook,
  type OrderProposal,
  planSignal,
  type RiskDecision,
  type Signal,
  type StateView,
  z,
} from '@perpkit/core';

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
  PROFIT_NO_ESTIMATE:
    'no revenue estimate (no metadata.expectedRevenue, or no funding rate for a leg): fails closed',
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

/** One entry leg, as the gate prices it. */
interface Leg {
  readonly label: string;
  readonly proposal: OrderProposal;
  /** The strategy's own estimate (`metadata.expectedRevenue`), when it gave one. */
  readonly estimate?: number;
  /** Funding the leg would receive over `holdHours` (negative: it pays), when a rate is known. */
  readonly funding?: number;
  readonly fundingNote?: string;
  readonly fees: number;
  readonly slippage: number;
  readonly gas: number;
}

/**
 * Denies entries that do not pay: expected revenue (the strategy's estimate, or funding over the
 * holding time taken at a haircut) against entry and exit costs: taker fees on both sides,
 * slippage (from the book when known) on both sides, and gas per order. Risk-reducing orders pass.
 *
 * The legs of a group (signals sharing a `groupId` in one cycle, such as a funding-arbitrage pair)
 * are judged together: the net funding of all legs (or the sum of their estimates) against the
 * costs of all legs. Judged alone, the paying leg of a funding pair would always be denied and,
 * with it, the whole group.
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
  setup(context, options) {
    // Grouped signals of the current cycle, seen as the engine stamps them (before any gate runs).
    const groups = new Map<string, Signal[]>();
    let groupCycle = Number.NEGATIVE_INFINITY;
    context.events.on('signal', (signal) => {
      if (signal.groupId === undefined) return;
      if (signal.cycle > groupCycle) {
        groups.clear();
        groupCycle = signal.cycle;
      }
      const key = `${signal.cycle}\u0000${signal.groupId}`;
      const members = groups.get(key);
      if (members) members.push(signal);
      else groups.set(key, [signal]);
    });

    const price = (proposal: OrderProposal, state: StateView): Leg => {
      const { exchange, request, notional, quantity, market } = proposal;
      const direction = request.side === 'buy' ? 1 : -1;
      const estimate = proposal.signal.metadata?.expectedRevenue;
      const rate = state.fundingRate(exchange, request.symbol);
      // Longs pay a positive rate, shorts receive it.
      const funding = rate ? -direction * rate.ratePerHour * notional * options.holdHours : undefined;
      const feeRate = options.takerFeeRate ?? market.takerFeeRate ?? 0.0005;
      let slippagePerSide = (options.slippageBps / 10_000) * notional;
      const book = options.slippageFromBook ? state.orderBook(exchange, request.symbol) : undefined;
      if (book?.bids[0] && book.asks[0]) {
        const mid = (book.bids[0][0] + book.asks[0][0]) / 2;
        const average = walk(direction > 0 ? book.asks : book.bids, quantity);
        slippagePerSide =
          average === undefined ? Number.POSITIVE_INFINITY : Math.abs(average - mid) * quantity;
      }
      return {
        label: `${request.side} ${request.quantity} ${exchange}:${request.symbol}`,
        proposal,
        ...(typeof estimate === 'number' ? { estimate } : {}),
        ...(rate ? { funding, fundingNote: `${rate.ratePerHour.toExponential(3)}/h` } : {}),
        fees: 2 * feeRate * notional,
        slippage: 2 * slippagePerSide,
        gas: 2 * options.costPerOrder,
      };
    };

    /** The other entry legs of the proposal's group, planned as the engine would plan them. */
    const otherLegs = (proposal: OrderProposal, state: StateView): OrderProposal[] => {
      const { groupId, cycle, id } = proposal.signal;
      if (groupId === undefined) return [];
      const out: OrderProposal[] = [];
      for (const signal of groups.get(`${cycle}\u0000${groupId}`) ?? []) {
        if (signal.id === id) continue;
        const planned = planSignal(signal, state, `profitability-${signal.id}`, `profitability-${signal.id}`);
        if ('proposal' in planned && !planned.proposal.riskReducing) out.push(planned.proposal);
      }
      return out;
    };

    return {
      name: 'profitability',
      evaluate(proposal, state): RiskDecision {
        if (proposal.riskReducing) return allow();
        const legs = [proposal, ...otherLegs(proposal, state)].map((leg) => price(leg, state));
        const grouped = legs.length > 1;
        const subject = grouped
          ? `group ${proposal.signal.groupId} (${legs.map((leg) => leg.label).join(', ')})`
          : `${proposal.exchange}:${proposal.request.symbol}`;

        const useEstimate =
          options.revenue === 'metadata' ||
          (options.revenue === 'metadata-or-funding' && legs.some((leg) => leg.estimate !== undefined));
        let revenue: number;
        let source: string;
        if (useEstimate) {
          const estimates = legs.filter((leg) => leg.estimate !== undefined);
          if (estimates.length === 0) return deny('PROFIT_NO_ESTIMATE', `no revenue estimate for ${subject}`);
          revenue = estimates.reduce((sum, leg) => sum + (leg.estimate as number), 0);
          source = 'strategy estimate';
        } else {
          const unknown = legs.find((leg) => leg.funding === undefined);
          if (unknown)
            return deny(
              'PROFIT_NO_ESTIMATE',
              `no revenue estimate for ${subject}: no funding rate for ${unknown.label}`,
            );
          // Net funding of all legs: income is taken at a haircut, a cost in full.
          const net = legs.reduce((sum, leg) => sum + (leg.funding as number), 0);
          revenue = net > 0 ? net * options.fundingHaircut : net;
          source = `${grouped ? 'net ' : ''}funding ${legs.map((leg) => leg.fundingNote).join(' + ')} over ${options.holdHours} h at ${options.fundingHaircut}`;
        }

        const fees = legs.reduce((sum, leg) => sum + leg.fees, 0);
        const slippage = legs.reduce((sum, leg) => sum + leg.slippage, 0);
        const gas = legs.reduce((sum, leg) => sum + leg.gas, 0);
        const cost = fees + slippage + gas;
        if (revenue >= cost * options.minRatio) return allow();
        return deny(
          'PROFIT_BELOW_COST',
          `expected revenue ${revenue.toFixed(4)} (${source}) < ${options.minRatio} × cost ${cost.toFixed(4)} (fees ${fees.toFixed(4)}, slippage ${slippage.toFixed(4)}, gas ${gas.toFixed(4)}) for ${subject} at ${proposal.referencePrice}`,
        );
      },
    };
  },
});
