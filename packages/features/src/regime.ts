import { type Candle, EngineError, reason, type SignalReason, z } from '@perpkit/core';
import type { BarIndicator } from './indicators';
import { NumberRing } from './rolling';

/**
 * The regime labels, one per bar:
 * - `warmup`: fewer than `period + 1` bars seen, nothing is known yet;
 * - `trend`: the close moved up efficiently over the last `period` bars;
 * - `bear`: the close moved down efficiently over the last `period` bars;
 * - `chop`: the close went back and forth (low efficiency), whatever the net move.
 */
export const REGIMES = ['warmup', 'trend', 'chop', 'bear'] as const;
export type Regime = (typeof REGIMES)[number];

export interface RegimeReading {
  readonly regime: Regime;
  /** Kaufman's efficiency ratio in [0, 1]; undefined during warmup. */
  readonly efficiency: number | undefined;
  /** Close now minus close `period` bars ago; undefined during warmup. */
  readonly netMove: number | undefined;
}

const WARMUP: RegimeReading = Object.freeze({
  regime: 'warmup',
  efficiency: undefined,
  netMove: undefined,
});

/**
 * Labels each bar with Kaufman's efficiency ratio over `period` bars:
 * ER = |close − close `period` bars ago| / Σ |close-to-close moves| over those bars.
 * ER ≥ `trendEfficiency` is a directional market (`trend` up, `bear` down); below it, `chop`.
 * A flat window (no move at all) is `chop`. O(1) per bar: the sum of moves is kept incrementally
 * and re-summed exactly every `period` bars.
 */
export class RegimeClassifier implements BarIndicator<RegimeReading> {
  lastCommitted = Number.NEGATIVE_INFINITY;
  private readonly closes: NumberRing;
  private readonly moves: NumberRing;
  private movesSum = 0;
  private pushesSinceExact = 0;

  constructor(
    readonly period: number,
    readonly trendEfficiency: number,
  ) {
    if (!Number.isInteger(period) || period < 2)
      throw new EngineError('INVALID_ARGUMENT', 'period must be an integer ≥ 2');
    if (!(trendEfficiency > 0 && trendEfficiency <= 1))
      throw new EngineError('INVALID_ARGUMENT', 'trendEfficiency must be in (0, 1]');
    this.closes = new NumberRing(period);
    this.moves = new NumberRing(period - 1);
  }

  commit(candle: Candle): void {
    if (this.closes.count > 0) {
      const move = Math.abs(candle.close - this.closes.get(0));
      const leaving = this.moves.push(move);
      this.movesSum += move - (Number.isNaN(leaving) ? 0 : leaving);
      this.pushesSinceExact += 1;
      if (this.pushesSinceExact >= this.period) {
        this.pushesSinceExact = 0;
        this.movesSum = this.moves.total();
      }
    }
    this.closes.push(candle.close);
    this.lastCommitted = candle.timestamp;
  }

  preview(candle: Candle): RegimeReading {
    if (!this.closes.full) return WARMUP;
    // The window: the `period` committed closes and this bar's close, so `period` moves.
    const netMove = candle.close - this.closes.get(this.period - 1);
    const path = this.movesSum + Math.abs(candle.close - this.closes.get(0));
    const efficiency = path > 0 ? Math.abs(netMove) / path : 0;
    const regime: Regime = efficiency >= this.trendEfficiency ? (netMove > 0 ? 'trend' : 'bear') : 'chop';
    return { regime, efficiency, netMove };
  }
}

const regimeRuleSchema = z
  .object({
    /** Signal kinds this regime allows (`momentum`, `mean-reversion`, ...). Empty: none. */
    allow: z.array(z.string().min(1)),
    /** Entries are sized by this factor (0.5: half size). */
    sizeMultiplier: z.number().min(0).max(10).default(1),
  })
  .strict();

/**
 * What each regime allows: `{ trend: { allow: [momentum] }, chop: { allow: [mean-reversion],
 * sizeMultiplier: 0.5 }, bear: { allow: [] } }`. A regime left out allows nothing (fail closed).
 */
export const regimePolicySchema = z
  .object({
    warmup: regimeRuleSchema.optional(),
    trend: regimeRuleSchema.optional(),
    chop: regimeRuleSchema.optional(),
    bear: regimeRuleSchema.optional(),
  })
  .strict();

export type RegimePolicy = z.infer<typeof regimePolicySchema>;
export type RegimeRule = z.infer<typeof regimeRuleSchema>;

export interface RegimeDecision {
  readonly allowed: boolean;
  /** Size factor for an allowed entry (1 without a policy). */
  readonly sizeMultiplier: number;
  /** `REGIME_<LABEL>`, saying what the policy decided and why. */
  readonly reason: SignalReason;
}

/**
 * Whether a policy lets a signal of `kind` in during `regime`, and at what size. Without a policy
 * everything is allowed at 1×. A regime the policy does not name, a kind its rule does not list and
 * a multiplier of 0 all block.
 */
export function decideRegime(policy: RegimePolicy | undefined, regime: Regime, kind: string): RegimeDecision {
  const code = `REGIME_${regime.toUpperCase()}`;
  if (policy === undefined)
    return {
      allowed: true,
      sizeMultiplier: 1,
      reason: reason(code, `regime ${regime}; no regime policy, ${kind} allowed at 1×`),
    };
  const rule = policy[regime];
  if (rule === undefined)
    return {
      allowed: false,
      sizeMultiplier: 0,
      reason: reason(code, `regime ${regime} has no policy rule: nothing is allowed`),
    };
  if (!rule.allow.includes(kind))
    return {
      allowed: false,
      sizeMultiplier: 0,
      reason: reason(
        code,
        `regime ${regime} allows ${rule.allow.length ? rule.allow.join(', ') : 'nothing'}, not ${kind}`,
      ),
    };
  if (!(rule.sizeMultiplier > 0))
    return {
      allowed: false,
      sizeMultiplier: 0,
      reason: reason(code, `regime ${regime} sizes ${kind} at 0×`),
    };
  return {
    allowed: true,
    sizeMultiplier: rule.sizeMultiplier,
    reason: reason(code, `regime ${regime} allows ${kind} at ${rule.sizeMultiplier}×`),
  };
}
