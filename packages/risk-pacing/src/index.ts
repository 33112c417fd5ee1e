import { allow, defineRiskGate, deny, duration, type OrderProposal, z } from '@perpkit/core';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const pacingOptions = z
  .object({
    /** Most orders in any rolling hour. */
    maxTradesPerHour: z.number().int().positive().optional(),
    /** Most orders in any rolling 24 hours. */
    maxTradesPerDay: z.number().int().positive().optional(),
    /** The last resort: most orders in any rolling 24 hours, risk-reducing orders included. */
    hardDailyCap: z.number().int().positive().optional(),
    /** Least time between any two orders. */
    minSpacing: duration.optional(),
    /** Per symbol: no new entry this long after a winning round trip closed. */
    cooldownAfterWin: duration.optional(),
    /** Per symbol: no new entry this long after a losing round trip closed. */
    cooldownAfterLoss: duration.optional(),
    /** Per symbol: no new entry this long after a break-even round trip; default `cooldownAfterWin`. */
    cooldownAfterBreakEven: duration.optional(),
    /** Apply the hourly/daily limits, spacing and cooldowns to risk-reducing orders too. */
    applyToReducing: z.boolean().default(false),
  })
  .strict();

export type PacingOptions = z.output<typeof pacingOptions>;

export const PACING_CODES = {
  PACING_HOURLY_LIMIT: 'maxTradesPerHour orders in the last hour',
  PACING_DAILY_LIMIT: 'maxTradesPerDay orders in the last 24 hours',
  PACING_HARD_DAILY_CAP: 'hardDailyCap orders in the last 24 hours (risk-reducing ones included)',
  PACING_MIN_SPACING: 'less than minSpacing since the last order',
  PACING_COOLDOWN_WIN: 'the symbol is cooling down after a winning trade',
  PACING_COOLDOWN_LOSS: 'the symbol is cooling down after a losing trade',
  PACING_COOLDOWN_BREAK_EVEN: 'the symbol is cooling down after a break-even trade',
} as const;

interface Counted {
  readonly at: number;
  readonly reducing: boolean;
  /** Sent to the venue (only sent orders are remembered across restarts). */
  sent?: boolean;
}

type Outcome = 'win' | 'loss' | 'break-even';

/** A round trip whose net PnL is within this of zero is break-even (float noise is not a loss). */
const BREAK_EVEN_TOLERANCE = 1e-9;

/** What the gate remembers across restarts (plugin memory). */
const MEMORY_ORDERS = 'orders';
const MEMORY_CLOSES = 'closes';
type RememberedOrder = readonly [at: number, reducing: boolean];
type RememberedClose = { readonly at: number; readonly outcome: Outcome };

export function tradeOutcome(netPnl: number): Outcome {
  if (Math.abs(netPnl) <= BREAK_EVEN_TOLERANCE) return 'break-even';
  return netPnl > 0 ? 'win' : 'loss';
}

/**
 * Paces orders: rolling hourly and daily limits, a hard daily cap that even reductions obey, a
 * minimum spacing, and per-symbol cooldowns after wins, losses and break-even trades. Every order
 * it allows counts at once (so a burst in one cycle is paced too) and is uncounted if a later gate
 * or the venue refuses it. Sent orders and the last close per symbol are kept in plugin memory, so
 * a restart does not reset the windows or the cooldowns.
 */
export default defineRiskGate({
  meta: {
    name: 'pacing',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Trade pacing, daily caps and cooldowns',
  },
  options: pacingOptions,
  setup(context, options) {
    const orders = new Map<string, Counted>(); // by proposal id, oldest first
    const lastClose = new Map<string, RememberedClose>();
    for (const [index, [at, reducing]] of (
      context.memory.get<RememberedOrder[]>(MEMORY_ORDERS) ?? []
    ).entries())
      orders.set(`remembered-${index}`, { at, reducing, sent: true });
    for (const [symbolKey, close] of Object.entries(
      context.memory.get<Record<string, RememberedClose>>(MEMORY_CLOSES) ?? {},
    ))
      lastClose.set(symbolKey, close);

    const key = (proposal: OrderProposal) => `${proposal.exchange}\u0000${proposal.request.symbol}`;
    const forget = (proposalId: string) => orders.delete(proposalId);
    const rememberOrders = () => {
      const sent: RememberedOrder[] = [];
      for (const entry of orders.values()) if (entry.sent) sent.push([entry.at, entry.reducing]);
      context.memory.set(MEMORY_ORDERS, sent);
    };
    context.events.on('order:denied', (event) => {
      if (event.proposal) forget(event.proposal.id);
    });
    context.events.on('order:failed', (event) => forget(event.proposal.id));
    context.events.on('order:submitted', (event) => {
      const entry = orders.get(event.proposal.id);
      if (!entry) return;
      entry.sent = true;
      rememberOrders();
    });
    context.events.on('trade:closed', (trade) => {
      lastClose.set(`${trade.exchange}\u0000${trade.symbol}`, {
        at: trade.closedAt,
        outcome: tradeOutcome(trade.netPnl),
      });
      context.memory.set(MEMORY_CLOSES, Object.fromEntries(lastClose));
    });

    const prune = (now: number) => {
      for (const [id, entry] of orders) {
        if (entry.at > now - DAY) break;
        orders.delete(id);
      }
    };
    const cooldownOf = (outcome: Outcome) =>
      outcome === 'win'
        ? options.cooldownAfterWin
        : outcome === 'loss'
          ? options.cooldownAfterLoss
          : (options.cooldownAfterBreakEven ?? options.cooldownAfterWin);
    const OUTCOME_WORDS = { win: 'winning', loss: 'losing', 'break-even': 'break-even' } as const;
    const COOLDOWN_CODES = {
      win: 'PACING_COOLDOWN_WIN',
      loss: 'PACING_COOLDOWN_LOSS',
      'break-even': 'PACING_COOLDOWN_BREAK_EVEN',
    } as const;

    return {
      name: 'pacing',
      evaluate(proposal, state) {
        const now = state.now;
        prune(now);
        let inHour = 0;
        let inDay = 0;
        let all = 0;
        let last = Number.NEGATIVE_INFINITY;
        for (const entry of orders.values()) {
          all += 1;
          if (entry.at > last) last = entry.at;
          if (entry.reducing && !options.applyToReducing) continue;
          inDay += 1;
          if (entry.at > now - HOUR) inHour += 1;
        }
        if (options.hardDailyCap !== undefined && all >= options.hardDailyCap) {
          return deny(
            'PACING_HARD_DAILY_CAP',
            `${all} orders in the last 24 h reach the hard cap of ${options.hardDailyCap}`,
          );
        }
        const paced = !proposal.riskReducing || options.applyToReducing;
        if (paced) {
          if (options.maxTradesPerHour !== undefined && inHour >= options.maxTradesPerHour) {
            return deny(
              'PACING_HOURLY_LIMIT',
              `${inHour} orders in the last hour reach the limit of ${options.maxTradesPerHour}`,
            );
          }
          if (options.maxTradesPerDay !== undefined && inDay >= options.maxTradesPerDay) {
            return deny(
              'PACING_DAILY_LIMIT',
              `${inDay} orders in the last 24 h reach the limit of ${options.maxTradesPerDay}`,
            );
          }
          if (options.minSpacing !== undefined && now - last < options.minSpacing) {
            return deny(
              'PACING_MIN_SPACING',
              `${now - last} ms since the last order, less than ${options.minSpacing} ms`,
            );
          }
          const closed = lastClose.get(key(proposal));
          if (closed) {
            const cooldown = cooldownOf(closed.outcome);
            if (cooldown !== undefined && now - closed.at < cooldown) {
              const outcome = OUTCOME_WORDS[closed.outcome];
              return deny(
                COOLDOWN_CODES[closed.outcome],
                `${proposal.request.symbol} closed a ${outcome} trade ${now - closed.at} ms ago; cooldown ${cooldown} ms`,
              );
            }
          }
        }
        orders.set(proposal.id, { at: now, reducing: proposal.riskReducing });
        return allow();
      },
    };
  },
});
