import {
  type AlertInput,
  defineMonitor,
  duration,
  type MonitorReport,
  type SignalInput,
  z,
} from '@perpkit/core';

export const FUNDING_MONITOR_CODES = {
  FUNDING_FLIP:
    'the funding rate turned against a held position (it paid the position, now the position pays)',
  FUNDING_AGAINST: 'a held position pays funding at or above againstRatePerHour',
} as const;

export const fundingFlipOptions = z
  .object({
    interval: duration.default(60_000),
    /** Ignore rates smaller than this per hour (noise around zero). */
    minRatePerHour: z.number().min(0).default(0.000001),
    /** On a flip: only alert, or close the position. */
    action: z.enum(['alert', 'close']).default('alert'),
    /** Alert when a held position pays funding at this rate per hour or more; off when left out. */
    againstRatePerHour: z.number().positive().optional(),
    /** When a position pays at least `againstRatePerHour`: only alert, or close the position. */
    againstAction: z.enum(['alert', 'close']).default('alert'),
    exchanges: z.array(z.string()).optional(),
  })
  .strict();

/**
 * Watches the funding of held positions. A position "earns" when it receives funding (a short with
 * a positive rate, a long with a negative one). When an earning position starts to pay, that is a
 * flip: an alert, and a close signal when `action: close`. Independently, a position paying at
 * least `againstRatePerHour` (whether it ever earned or not) is funding against it: an alert once
 * per episode, and a close signal when `againstAction: close`.
 */
export default defineMonitor({
  meta: {
    name: 'funding-flip',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Funding flips on held positions',
  },
  options: fundingFlipOptions,
  setup(_context, options) {
    const earning = new Map<string, boolean>();
    /** Positions currently paying at least `againstRatePerHour` (alerted once per episode). */
    const against = new Set<string>();
    return {
      name: 'funding-flip',
      intervalMs: options.interval,
      check(state): MonitorReport {
        const alerts: AlertInput[] = [];
        const signals: SignalInput[] = [];
        const open = new Set<string>();
        for (const position of state.positions()) {
          if (options.exchanges && !options.exchanges.includes(position.exchange)) continue;
          const rate = state.fundingRate(position.exchange, position.symbol);
          const key = `${position.exchange}/${position.account}/${position.symbol}/${position.openedAt}`;
          open.add(key);
          if (!rate) continue;
          // Longs pay a positive rate: the rate this position pays, per hour (negative: it earns).
          const paying = Math.sign(position.quantity) * rate.ratePerHour;
          const closeSignal = (code: string, message: string): SignalInput => ({
            intent: 'close',
            exchange: position.exchange,
            symbol: position.symbol,
            account: position.account,
            reasons: [{ code, message }],
          });
          if (options.againstRatePerHour !== undefined && paying >= options.againstRatePerHour) {
            if (!against.has(key)) {
              against.add(key);
              const message = `${position.exchange}:${position.symbol} ${position.quantity > 0 ? 'long' : 'short'} pays ${(paying * 100).toExponential(2)}%/h, at or above ${(options.againstRatePerHour * 100).toExponential(2)}%/h`;
              alerts.push({
                level: 'warning',
                code: 'FUNDING_AGAINST',
                message,
                data: { ratePerHour: rate.ratePerHour, quantity: position.quantity },
              });
              if (
                options.againstAction === 'close' &&
                !state.hasPendingOrder(position.exchange, position.symbol, position.account)
              )
                signals.push(closeSignal('FUNDING_AGAINST', message));
            }
          } else against.delete(key);
          if (Math.abs(rate.ratePerHour) < options.minRatePerHour) continue;
          const earns = Math.sign(position.quantity) !== Math.sign(rate.ratePerHour);
          const before = earning.get(key);
          earning.set(key, earns);
          if (before === true && !earns) {
            const message = `${position.exchange}:${position.symbol} ${position.quantity > 0 ? 'long' : 'short'} now pays ${(rate.ratePerHour * 100).toExponential(2)}%/h`;
            alerts.push({
              level: 'warning',
              code: 'FUNDING_FLIP',
              message,
              data: { ratePerHour: rate.ratePerHour, quantity: position.quantity },
            });
            if (
              options.action === 'close' &&
              !state.hasPendingOrder(position.exchange, position.symbol, position.account) &&
              !signals.some(
                (signal) => signal.exchange === position.exchange && signal.symbol === position.symbol,
              )
            )
              signals.push(closeSignal('FUNDING_FLIP', message));
          }
        }
        for (const key of earning.keys()) if (!open.has(key)) earning.delete(key);
        for (const key of against) if (!open.has(key)) against.delete(key);
        return { alerts, signals };
      },
    };
  },
});
