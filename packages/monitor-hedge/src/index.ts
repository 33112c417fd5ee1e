import {
  type AlertInput,
  defineMonitor,
  duration,
  type MonitorReport,
  type SignalInput,
  z,
} from '@perpkit/core';

export const HEDGE_CODES = {
  BROKEN_HEDGE: 'one leg of a hedged pair is open and the other is missing (critical)',
  DELTA_IMBALANCE: 'the legs are mismatched beyond tolerance: |net notional| / gross notional > tolerance',
  HEDGE_RECOVERED: 'the pair is balanced again',
} as const;

const leg = z
  .object({
    exchange: z.string().min(1),
    symbol: z.string().min(1),
    /** Account; the exchange's first when left out. */
    account: z.string().optional(),
  })
  .strict();

export const hedgeOptions = z
  .object({
    interval: duration.default(5_000),
    pairs: z
      .array(
        z
          .object({
            name: z.string().min(1),
            legs: z.tuple([leg, leg]),
            /** Largest acceptable |net notional| / gross notional. */
            tolerance: z.number().min(0).max(1).default(0.02),
          })
          .strict(),
      )
      .min(1),
    /** On a broken hedge: close the orphan leg, or only alert. */
    onBroken: z.enum(['close-orphan', 'alert']).default('close-orphan'),
    /** On an imbalance: reduce the larger leg to match the smaller, or only alert. */
    onImbalance: z.enum(['rebalance', 'alert']).default('rebalance'),
  })
  .strict();

export type HedgeOptions = z.output<typeof hedgeOptions>;

/**
 * Watches hedged pairs (a long on one venue or account against a short on another): the net delta
 * is the sum of the legs' signed notionals. A missing leg is a broken hedge (critical; the orphan is
 * closed); an imbalance beyond tolerance reduces the larger leg to the smaller one.
 */
export default defineMonitor({
  meta: {
    name: 'hedge',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Delta imbalance and broken hedges',
  },
  options: hedgeOptions,
  setup(_context, options) {
    const state = new Map<string, 'ok' | 'imbalanced' | 'broken'>();
    return {
      name: 'hedge',
      intervalMs: options.interval,
      check(view): MonitorReport {
        const alerts: AlertInput[] = [];
        const signals: SignalInput[] = [];
        for (const pair of options.pairs) {
          const legs = pair.legs.map((entry) => {
            const position = view.position(entry.exchange, entry.symbol, entry.account);
            const mark = position?.markPrice ?? view.referencePrice(entry.exchange, entry.symbol) ?? 0;
            const quantity = position?.quantity ?? 0;
            return {
              ...entry,
              account: entry.account ?? view.defaultAccount(entry.exchange),
              quantity,
              mark,
              notional: quantity * mark,
            };
          });
          const [first, second] = legs as [(typeof legs)[number], (typeof legs)[number]];
          const net = first.notional + second.notional;
          const gross = Math.abs(first.notional) + Math.abs(second.notional);
          let now: 'ok' | 'imbalanced' | 'broken' = 'ok';
          if ((first.quantity === 0) !== (second.quantity === 0)) now = 'broken';
          else if (gross > 0 && Math.abs(net) / gross > pair.tolerance) now = 'imbalanced';
          const before = state.get(pair.name) ?? 'ok';
          state.set(pair.name, now);
          const data = {
            pair: pair.name,
            net,
            gross,
            legs: legs.map((entry) => ({
              exchange: entry.exchange,
              symbol: entry.symbol,
              quantity: entry.quantity,
            })),
          };
          if (now === 'broken') {
            const orphan = first.quantity !== 0 ? first : second;
            const message = `${pair.name}: ${orphan.exchange}:${orphan.symbol} holds ${orphan.quantity} and its hedge leg is missing`;
            if (before !== 'broken') alerts.push({ level: 'critical', code: 'BROKEN_HEDGE', message, data });
            if (
              options.onBroken === 'close-orphan' &&
              !view.hasPendingOrder(orphan.exchange, orphan.symbol, orphan.account)
            ) {
              signals.push({
                intent: 'close',
                exchange: orphan.exchange,
                symbol: orphan.symbol,
                account: orphan.account,
                urgency: 'emergency',
                reasons: [{ code: 'BROKEN_HEDGE', message }],
              });
            }
          } else if (now === 'imbalanced') {
            const larger = Math.abs(first.notional) >= Math.abs(second.notional) ? first : second;
            const smaller = larger === first ? second : first;
            const excess = (Math.abs(larger.notional) - Math.abs(smaller.notional)) / larger.mark;
            const message = `${pair.name}: net ${net.toFixed(2)} on gross ${gross.toFixed(2)} (${((Math.abs(net) / gross) * 100).toFixed(2)}% > ${pair.tolerance * 100}%)`;
            if (before !== 'imbalanced')
              alerts.push({ level: 'warning', code: 'DELTA_IMBALANCE', message, data });
            if (
              options.onImbalance === 'rebalance' &&
              !view.hasPendingOrder(larger.exchange, larger.symbol, larger.account)
            ) {
              signals.push({
                intent: 'reduce',
                exchange: larger.exchange,
                symbol: larger.symbol,
                account: larger.account,
                quantity: excess,
                urgency: 'high',
                reasons: [{ code: 'DELTA_IMBALANCE', message }],
              });
            }
          } else if (before !== 'ok') {
            alerts.push({
              level: 'info',
              code: 'HEDGE_RECOVERED',
              message: `${pair.name}: balanced again`,
              data,
            });
          }
        }
        return { alerts, signals };
      },
    };
  },
});
