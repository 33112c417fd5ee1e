import {
  type AlertInput,
  defineMonitor,
  duration,
  type MonitorReport,
  type SignalInput,
  z,
} from '@perpkit/core';

export const HEDGE_CODES = {
  BROKEN_HEDGE:
    'one leg of a hedged pair is open and the other missing, or both legs are on the same side (critical)',
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
    /** On a broken hedge: close the unhedged leg(s), or only alert. */
    onBroken: z.enum(['close-orphan', 'alert']).default('close-orphan'),
    /** On an imbalance: reduce the larger leg to match the smaller, or only alert. */
    onImbalance: z.enum(['rebalance', 'alert']).default('rebalance'),
    /** A broken or imbalanced pair must stay so this long (engine clock) before it alerts or acts. */
    grace: duration.default(10_000),
    /**
     * While the leg that would restore the pair has an order in flight (the second leg of an entry
     * still filling), wait up to this long instead of `grace`.
     */
    pendingGrace: duration.default(60_000),
  })
  .strict();

export type HedgeOptions = z.output<typeof hedgeOptions>;

type Status = 'ok' | 'imbalanced' | 'broken';

interface LegView {
  readonly exchange: string;
  readonly symbol: string;
  readonly account: string | undefined;
  readonly quantity: number;
  readonly mark: number;
  readonly notional: number;
}

/**
 * Watches hedged pairs (a long on one venue or account against a short on another): the net delta
 * is the sum of the legs' signed notionals. A missing leg, or two legs on the same side, is a
 * broken hedge (critical; the unhedged legs are closed); an imbalance beyond tolerance reduces the
 * larger leg to the smaller one. A pair must stay broken or imbalanced for `grace` before the
 * monitor acts (longer, up to `pendingGrace`, while the leg that would restore it has an order in
 * flight), so the normal two-leg entry never reads as a broken hedge.
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
    /** Per pair: the status last reported, and since when the pair has been out of balance. */
    const pairs = new Map<string, { reported: Status; since: number | undefined }>();
    return {
      name: 'hedge',
      intervalMs: options.interval,
      check(view): MonitorReport {
        const alerts: AlertInput[] = [];
        const signals: SignalInput[] = [];
        const pending = (entry: LegView) => view.hasPendingOrder(entry.exchange, entry.symbol, entry.account);
        for (const pair of options.pairs) {
          const legs = pair.legs.map((entry): LegView => {
            const position = view.position(entry.exchange, entry.symbol, entry.account);
            const mark = position?.markPrice ?? view.referencePrice(entry.exchange, entry.symbol) ?? 0;
            const quantity = position?.quantity ?? 0;
            return {
              exchange: entry.exchange,
              symbol: entry.symbol,
              account: entry.account ?? view.defaultAccount(entry.exchange),
              quantity,
              mark,
              notional: quantity * mark,
            };
          });
          const [first, second] = legs as [LegView, LegView];
          const net = first.notional + second.notional;
          const gross = Math.abs(first.notional) + Math.abs(second.notional);
          const oneMissing = (first.quantity === 0) !== (second.quantity === 0);
          const sameSide = first.quantity !== 0 && Math.sign(first.quantity) === Math.sign(second.quantity);
          let status: Status = 'ok';
          if (oneMissing || sameSide) status = 'broken';
          else if (gross > 0 && Math.abs(net) / gross > pair.tolerance) status = 'imbalanced';

          const memory = pairs.get(pair.name) ?? { reported: 'ok' as Status, since: undefined };
          pairs.set(pair.name, memory);
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
          if (status === 'ok') {
            memory.since = undefined;
            if (memory.reported !== 'ok')
              alerts.push({
                level: 'info',
                code: 'HEDGE_RECOVERED',
                message: `${pair.name}: balanced again`,
                data,
              });
            memory.reported = 'ok';
            continue;
          }

          // Out of balance: wait out the grace (longer while the restoring leg has an order in flight).
          memory.since ??= view.now;
          const larger = Math.abs(first.notional) >= Math.abs(second.notional) ? first : second;
          const smaller = larger === first ? second : first;
          const restoring = oneMissing ? (first.quantity === 0 ? first : second) : smaller;
          const restoringInFlight = sameSide ? pending(first) || pending(second) : pending(restoring);
          const wait = restoringInFlight ? Math.max(options.grace, options.pendingGrace) : options.grace;
          if (view.now - memory.since < wait) continue;

          if (status === 'broken') {
            const unhedged = oneMissing ? [first.quantity !== 0 ? first : second] : [first, second];
            const message = oneMissing
              ? `${pair.name}: ${unhedged[0]?.exchange}:${unhedged[0]?.symbol} holds ${unhedged[0]?.quantity} and its hedge leg is missing`
              : `${pair.name}: both legs are ${first.quantity > 0 ? 'long' : 'short'} (${first.exchange}:${first.symbol} ${first.quantity}, ${second.exchange}:${second.symbol} ${second.quantity})`;
            if (memory.reported !== 'broken')
              alerts.push({ level: 'critical', code: 'BROKEN_HEDGE', message, data });
            if (options.onBroken === 'close-orphan') {
              for (const orphan of unhedged) {
                if (pending(orphan)) continue;
                signals.push({
                  intent: 'close',
                  exchange: orphan.exchange,
                  symbol: orphan.symbol,
                  account: orphan.account,
                  urgency: 'emergency',
                  reasons: [{ code: 'BROKEN_HEDGE', message }],
                });
              }
            }
          } else {
            const excess =
              larger.mark > 0 ? (Math.abs(larger.notional) - Math.abs(smaller.notional)) / larger.mark : 0;
            const message = `${pair.name}: net ${net.toFixed(2)} on gross ${gross.toFixed(2)} (${((Math.abs(net) / gross) * 100).toFixed(2)}% > ${pair.tolerance * 100}%)`;
            if (memory.reported !== 'imbalanced')
              alerts.push({ level: 'warning', code: 'DELTA_IMBALANCE', message, data });
            // Never a zero or sub-lot reduce: the planner would refuse it, and it would mean nothing.
            const lot = Number(view.market(larger.exchange, larger.symbol)?.lotSize ?? 0);
            if (
              options.onImbalance === 'rebalance' &&
              Number.isFinite(excess) &&
              excess > 0 &&
              excess >= lot &&
              !pending(larger) &&
              !pending(smaller)
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
          }
          memory.reported = status;
        }
        return { alerts, signals };
      },
    };
  },
});
