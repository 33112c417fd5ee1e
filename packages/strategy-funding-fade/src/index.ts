import { defineStrategy, duration, reason, type SignalInput, z } from '@perpkit/core';
import {
  decideRegime,
  featureHub,
  featureSettingsSchema,
  featureValues,
  regimePolicySchema,
} from '@perpkit/features';
import { evaluateFade, fadeFiltersSchema, fadeTriggersSchema } from './fade';

export {
  evaluateFade,
  type FadeDecision,
  type FadeFilters,
  type FadeRules,
  type FadeTriggers,
  fadeFiltersSchema,
  fadeTriggersSchema,
} from './fade';

export const fundingFadeOptions = z
  .object({
    /** Exchange instance id from the config. */
    exchange: z.string().min(1).default('sim'),
    symbol: z.string().min(1),
    /** Base-asset size of an entry (before the regime's size multiplier). */
    quantity: z.number().positive().optional(),
    /** Quote-asset size of an entry, instead of `quantity`. */
    notional: z.number().positive().optional(),
    /** The extremes to fade. */
    triggers: fadeTriggersSchema,
    /** Spread and volume filters. */
    filters: fadeFiltersSchema.prefault({}),
    /** A configured spread filter without quotes blocks or is skipped (volume warmup always blocks). */
    missingData: z.enum(['block', 'skip']).default('block'),
    /** No new entry this long after the previous one (engine clock). */
    cooldown: duration.default(0),
    /** Feature parameters; see @perpkit/features. */
    features: featureSettingsSchema.prefault({}),
    /** The kind of signal a fade is, as the regime policy names it. */
    signalKind: z.string().min(1).default('mean-reversion'),
    /** Regimes and what they allow (absent: every regime allows fades at 1×). */
    regimePolicy: regimePolicySchema.optional(),
  })
  .strict()
  .refine((options) => (options.quantity === undefined) !== (options.notional === undefined), {
    message: 'give exactly one of quantity and notional',
    path: ['quantity'],
  });

export type FundingFadeOptions = z.infer<typeof fundingFadeOptions>;

/**
 * Funding fade: when funding (per hour) or the premium of mark over index reaches an extreme, the
 * crowd on one side is paying to stay there; fade it. Rates at or above `above` sell, at or below
 * `below` buy. Spread and volume filters keep it out of thin or blown-out markets, and the regime
 * policy decides where mean reversion is allowed and at what size. One evaluation per new bar,
 * entries only from flat; exits are left to the exit-rule stack (a time stop that holds through a
 * settlement collects the funding being faded).
 */
export default defineStrategy({
  meta: {
    name: 'funding-fade',
    kind: 'strategy',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Fades funding-rate and premium extremes, filtered by spread and volume',
  },
  options: fundingFadeOptions,
  setup(context, options) {
    const { exchange, symbol } = options;
    const features = featureHub(context).view(exchange, symbol, options.features);
    const rules = { triggers: options.triggers, filters: options.filters, missingData: options.missingData };
    let lastBar: number | undefined;
    let lastEntryAt = Number.NEGATIVE_INFINITY;
    return {
      instruments: [{ exchange, symbol, channels: ['candles', 'ticker', 'orderBook', 'fundingRate'] }],
      onCycle(state) {
        const snapshot = features.read(state);
        if (snapshot.barTime === undefined || snapshot.barTime === lastBar) return undefined;
        lastBar = snapshot.barTime;
        if (state.position(exchange, symbol) || state.hasPendingOrder(exchange, symbol)) return undefined;
        if (state.now - lastEntryAt < options.cooldown) return undefined;
        const decision = evaluateFade(snapshot, rules);
        if (decision.side === undefined) return undefined;
        const regime = decideRegime(options.regimePolicy, snapshot.regime, options.signalKind);
        if (!regime.allowed) {
          context.logger.debug('funding fade blocked by the regime policy', {
            symbol,
            regime: snapshot.regime,
            reason: regime.reason.message,
          });
          return undefined;
        }
        lastEntryAt = state.now;
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
              : [reason('FADE_SIZE', `size × ${regime.sizeMultiplier} for regime ${snapshot.regime}`)]),
          ],
          regime: snapshot.regime,
          features: featureValues(snapshot),
        };
        return [entry];
      },
    };
  },
});
