import { defineStrategy, reason, type SignalInput, z } from '@perpkit/core';
import {
  decideRegime,
  featureHub,
  featureSettingsSchema,
  featureValues,
  regimePolicySchema,
} from '@perpkit/features';
import { e3ConditionsSchema, evaluateE3 } from './conditions';

export {
  type ConditionResult,
  type ConditionStatus,
  E3_CONDITION_NAMES,
  type E3ConditionName,
  type E3Conditions,
  type E3Decision,
  type E3Rules,
  e3ConditionsSchema,
  evaluateE3,
  SKIPPABLE_CONDITIONS,
} from './conditions';

export const e3Options = z
  .object({
    /** Exchange instance id from the config. */
    exchange: z.string().min(1).default('sim'),
    symbol: z.string().min(1),
    /** Base-asset size of an entry (before the regime's size multiplier). */
    quantity: z.number().positive().optional(),
    /** Quote-asset size of an entry, instead of `quantity`. */
    notional: z.number().positive().optional(),
    /** Which bar directions may be traded. */
    sides: z.enum(['both', 'long', 'short']).default('both'),
    conditions: e3ConditionsSchema,
    /**
     * A configured book, premium, funding or spread condition whose data is missing (no book, no
     * index price) blocks or is skipped. Bar indicators still warming up always block.
     */
    missingData: z.enum(['block', 'skip']).default('block'),
    /** Feature parameters (ATR period, volume window, ...); see @perpkit/features. */
    features: featureSettingsSchema.prefault({}),
    /** The kind of signal E3 makes, as the regime policy names it. */
    signalKind: z.string().min(1).default('momentum'),
    /** Regimes and what they allow (absent: every regime allows E3 at 1×). */
    regimePolicy: regimePolicySchema.optional(),
  })
  .strict()
  .refine((options) => (options.quantity === undefined) !== (options.notional === undefined), {
    message: 'give exactly one of quantity and notional',
    path: ['quantity'],
  });

export type E3Options = z.infer<typeof e3Options>;

/**
 * E3: an impulse-bar entry that fires only when every configured condition holds.
 *
 * At each new bar, when flat with nothing pending: the side is the bar's direction (up: long,
 * down: short); each configured condition is measured in that direction (body/ATR, volume z-score,
 * book imbalance, premium, funding, realized volatility, spread); if all hold and the regime
 * policy allows `signalKind` in the current regime, it opens `quantity` (or `notional`) times the
 * regime's size multiplier. The signal carries a reason for the side and for every condition, the
 * regime label and the feature values. Exits are left to the exit-rule stack.
 */
export default defineStrategy({
  meta: {
    name: 'e3',
    kind: 'strategy',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Impulse-bar entries gated by every configured condition and a regime policy',
  },
  options: e3Options,
  setup(context, options) {
    const { exchange, symbol } = options;
    const features = featureHub(context).view(exchange, symbol, options.features);
    const rules = { conditions: options.conditions, sides: options.sides, missingData: options.missingData };
    let lastBar: number | undefined;
    return {
      instruments: [{ exchange, symbol, channels: ['candles', 'ticker', 'orderBook', 'fundingRate'] }],
      onCycle(state) {
        const snapshot = features.read(state);
        if (snapshot.barTime === undefined || snapshot.barTime === lastBar) return undefined;
        lastBar = snapshot.barTime;
        if (state.position(exchange, symbol) || state.hasPendingOrder(exchange, symbol)) return undefined;
        const decision = evaluateE3(snapshot, rules);
        if (decision.side === undefined) return undefined;
        const regime = decideRegime(options.regimePolicy, snapshot.regime, options.signalKind);
        if (!regime.allowed) {
          context.logger.debug('e3 entry blocked by the regime policy', {
            symbol,
            regime: snapshot.regime,
            reason: regime.reason.message,
          });
          return undefined;
        }
        const size =
          options.quantity !== undefined
            ? { quantity: options.quantity * regime.sizeMultiplier }
            : { notional: (options.notional as number) * regime.sizeMultiplier };
        const entry: SignalInput = {
          intent: 'open',
          exchange,
          symbol,
          side: decision.side,
          ...size,
          reasons: [
            ...decision.reasons,
            regime.reason,
            ...(regime.sizeMultiplier === 1
              ? []
              : [reason('E3_SIZE', `size × ${regime.sizeMultiplier} for regime ${snapshot.regime}`)]),
          ],
          regime: snapshot.regime,
          features: featureValues(snapshot),
        };
        return [entry];
      },
    };
  },
});
