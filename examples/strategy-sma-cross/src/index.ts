import { defineStrategy, reason, type SignalInput, z } from '@perpkit/core';
import { createCrossDetector } from './cross';

export type { CrossDetector, CrossEvent } from './cross';
export { createCrossDetector } from './cross';

export const smaCrossOptions = z
  .object({
    /** Exchange instance id from the config. */
    exchange: z.string().min(1).default('sim'),
    symbol: z.string().min(1),
    fast: z.number().int().positive().default(10),
    slow: z.number().int().positive().default(30),
    /** Base-asset size of each entry. */
    quantity: z.number().positive().default(1),
  })
  .strict()
  .refine((options) => options.fast < options.slow, {
    message: 'fast must be shorter than slow',
    path: ['fast'],
  });

export type SmaCrossOptions = z.infer<typeof smaCrossOptions>;

/**
 * Long-only SMA crossover with exact rules (so results compare across engines):
 *
 * - SMA(fast) and SMA(slow) of closes; bar t's SMA includes bar t.
 * - d = SMA(fast) − SMA(slow). A cross-up at t: the last non-zero d before t was < 0 and d[t] > 0.
 *   A cross-down is the mirror.
 * - Decided at bar t's close. Flat with no order pending: a cross-up buys `quantity`. Long with no
 *   order pending: a cross-down sells the whole position. No shorts, no pyramiding.
 */
export default defineStrategy({
  meta: {
    name: 'sma-cross',
    kind: 'strategy',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Long-only SMA crossover (example third-party plugin)',
  },
  options: smaCrossOptions,
  setup(context, options) {
    const { exchange, symbol } = options;
    const market = context.state.market(exchange, symbol);
    const detector = createCrossDetector(options.fast, options.slow, market?.tickSize);
    let lastBar = Number.NaN;
    return {
      instruments: [{ exchange, symbol, channels: ['candles', 'ticker'] }],
      onCycle(state) {
        const candle = state.candles(exchange, symbol)?.last();
        if (!candle || candle.timestamp === lastBar) return undefined;
        lastBar = candle.timestamp;
        const cross = detector.push(candle.close);
        if (cross === undefined || state.hasPendingOrder(exchange, symbol)) return undefined;
        const position = state.position(exchange, symbol)?.quantity ?? 0;
        const at = `SMA${options.fast} ${detector.fastMean().toFixed(2)} vs SMA${options.slow} ${detector.slowMean().toFixed(2)}`;
        if (cross === 'up' && position === 0) {
          const entry: SignalInput = {
            intent: 'open',
            exchange,
            symbol,
            side: 'buy',
            quantity: options.quantity,
            reasons: [reason('SMA_CROSS_UP', `SMA${options.fast} crossed above SMA${options.slow} (${at})`)],
          };
          return [entry];
        }
        if (cross === 'down' && position > 0) {
          return [
            {
              intent: 'close',
              exchange,
              symbol,
              reasons: [
                reason('SMA_CROSS_DOWN', `SMA${options.fast} crossed below SMA${options.slow} (${at})`),
              ],
            },
          ];
        }
        return undefined;
      },
    };
  },
});
