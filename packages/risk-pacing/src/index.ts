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
} as const;

interface Counted {
  readonly at: number;
  readonly reducing: boolean;
}

/**
 * Paces orders: rolling hourly and daily limits, a hard daily cap that even reductions obey, a
 * minimum spacing, and per-symbol cooldowns after wins and losses. Every order it allows counts at
 * once (so a burst in one cycle is paced too) and is uncounted if a later gate or the venue
 * refuses it.
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
    const lastClose = new Map<string, { at: number; win: boolean }>();
    const key = (proposal: OrderProposal) => `${proposal.exchange}\u0000${proposal.request.symbol}`;
    const forget = (proposalId: string) => orders.delete(proposalId);
    context.events.on('order:denied', (event) => {
      if (event.proposal) forget(event.proposal.id);
    });
    context.events.on('order:failed', (event) => forget(event.proposal.id));
    context.events.on('trade:closed', (trade) => {
      lastClose.set(`${trade.exchange}\u0000${trade.symbol}`, { at: trade.closedAt, win: trade.netPnl > 0 });
    });

    const prune = (now: number) => {
      for (const [id, entry] of orders) {
        if (entry.at > now - DAY) break;
        orders.delete(id);
      }
    };

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
            const cooldown = closed.win ? options.cooldownAfterWin : options.cooldownAfterLoss;
            if (cooldown !== undefined && now - closed.at < cooldown) {
              const code = closed.win ? 'PACING_COOLDOWN_WIN' : 'PACING_COOLDOWN_LOSS';
              return deny(
                code,
                `${proposal.request.symbol} closed a ${closed.win ? 'winning' : 'losing'} trade ${now - closed.at} ms ago; cooldown ${cooldown} ms`,
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
