import { reason, type Side, type SignalReason, z } from '@perpkit/core';
import type { FeatureSnapshot } from '@perpkit/features';

const atLeastOneBound = (bound: { min?: number | undefined; max?: number | undefined }) =>
  bound.min !== undefined || bound.max !== undefined;

/**
 * The entry conditions. Each one is optional; a configured condition must hold for an entry, and
 * at least one must be configured (a strategy with no condition would trade every bar).
 * Direction-aware conditions are measured in the trade's direction: for a short, a book imbalance
 * of −0.3 is +0.3 in favour, a premium of −0.1 % is +0.1 % rich, a positive funding rate is income.
 */
export const e3ConditionsSchema = z
  .object({
    /** |body| / ATR of the bar at least `min` (an impulse bar). */
    bodyOverAtr: z.object({ min: z.number().positive() }).strict().optional(),
    /** Volume z-score of the bar at least `min`. */
    volumeZ: z.object({ min: z.number() }).strict().optional(),
    /** Book imbalance in the trade's direction at least `min` (−1 to 1). */
    obImbalance: z
      .object({ min: z.number().min(-1).max(1) })
      .strict()
      .optional(),
    /**
     * Premium of mark over index in the trade's direction at most `max` percent: a long does not
     * buy a perpetual already `max` % rich, a short does not sell one `max` % cheap.
     */
    premiumPct: z.object({ max: z.number() }).strict().optional(),
    /** Funding per hour the position would pay at most `max` (negative: it must earn at least −max). */
    fundingRate: z.object({ max: z.number() }).strict().optional(),
    /** Annualized realized volatility within [`min`, `max`] (either bound may be left out). */
    realizedVol: z
      .object({ min: z.number().min(0).optional(), max: z.number().positive().optional() })
      .strict()
      .refine(atLeastOneBound, { message: 'give min, max or both' })
      .optional(),
    /** Quoted spread at most `max` basis points. */
    spreadBps: z.object({ max: z.number().positive() }).strict().optional(),
  })
  .strict()
  .refine((conditions) => Object.values(conditions).some((condition) => condition !== undefined), {
    message: 'configure at least one condition: without any, E3 would enter on every bar',
  });

export type E3Conditions = z.infer<typeof e3ConditionsSchema>;
export type E3ConditionName = keyof E3Conditions;

/** Evaluation order, and the order of the reasons. */
export const E3_CONDITION_NAMES = [
  'bodyOverAtr',
  'volumeZ',
  'obImbalance',
  'premiumPct',
  'fundingRate',
  'realizedVol',
  'spreadBps',
] as const satisfies readonly E3ConditionName[];

const CODES: Record<E3ConditionName, string> = {
  bodyOverAtr: 'E3_BODY_ATR',
  volumeZ: 'E3_VOLUME_Z',
  obImbalance: 'E3_BOOK_IMBALANCE',
  premiumPct: 'E3_PREMIUM',
  fundingRate: 'E3_FUNDING',
  realizedVol: 'E3_REALIZED_VOL',
  spreadBps: 'E3_SPREAD',
};

const LABELS: Record<E3ConditionName, string> = {
  bodyOverAtr: 'body/ATR',
  volumeZ: 'volume z-score',
  obImbalance: 'book imbalance',
  premiumPct: 'premium',
  fundingRate: 'funding',
  realizedVol: 'realized volatility',
  spreadBps: 'spread',
};

const MISSING: Record<E3ConditionName, string> = {
  bodyOverAtr: 'ATR still warming up',
  volumeZ: 'volume baseline still warming up or constant',
  obImbalance: 'no fresh order book',
  premiumPct: 'no fresh index price',
  fundingRate: 'no funding rate',
  realizedVol: 'realized volatility still warming up',
  spreadBps: 'no fresh bid and ask',
};

/**
 * Conditions on market data a source may simply not have (no book on a candle replay, no index
 * price on some venues): `missingData: skip` may skip these. Bar indicators that are still warming
 * up always block, whatever `missingData` says: a warmup is no reason to trade.
 */
export const SKIPPABLE_CONDITIONS: readonly E3ConditionName[] = [
  'obImbalance',
  'premiumPct',
  'fundingRate',
  'spreadBps',
];

export type ConditionStatus = 'pass' | 'fail' | 'missing' | 'skipped';

export interface ConditionResult {
  readonly name: E3ConditionName;
  readonly status: ConditionStatus;
  readonly reason: SignalReason;
}

export interface E3Decision {
  /** The side of the bar (up: buy, down: sell), before any condition. */
  readonly barSide: Side | undefined;
  /** The entry side when every configured condition holds and the side is allowed; else undefined. */
  readonly side: Side | undefined;
  /** One result per configured condition, in `E3_CONDITION_NAMES` order. */
  readonly conditions: readonly ConditionResult[];
  /** The entry's reasons: the side decision first, then every condition (and what is not configured). */
  readonly reasons: readonly SignalReason[];
}

export interface E3Rules {
  readonly conditions: E3Conditions;
  readonly sides: 'both' | 'long' | 'short';
  /**
   * A configured book, premium, funding or spread condition whose data is missing blocks (`block`,
   * the default) or is skipped (`skip`). Bar indicators still warming up always block.
   */
  readonly missingData: 'block' | 'skip';
}

const signed = (value: number, digits: number) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
const short = (value: number) => Number(value.toPrecision(4)).toString();

function check(
  name: E3ConditionName,
  value: number | undefined,
  rules: E3Rules,
  test: (value: number) => { ok: boolean; text: string },
): ConditionResult {
  const code = CODES[name];
  if (value === undefined) {
    const skipped = rules.missingData === 'skip' && SKIPPABLE_CONDITIONS.includes(name);
    return {
      name,
      status: skipped ? 'skipped' : 'missing',
      reason: reason(
        `${code}_${skipped ? 'SKIPPED' : 'MISSING'}`,
        `${LABELS[name]} unavailable (${MISSING[name]}): ${skipped ? 'skipped' : 'blocks'}`,
      ),
    };
  }
  const { ok, text } = test(value);
  return { name, status: ok ? 'pass' : 'fail', reason: reason(ok ? code : `${code}_FAIL`, text) };
}

/**
 * Decides an E3 entry from one feature snapshot. Pure: the same snapshot and rules always give
 * the same decision. The side is the bar's direction (close above open: buy, below: sell, equal:
 * none); every configured condition is then measured in that direction and must pass.
 */
export function evaluateE3(snapshot: FeatureSnapshot, rules: E3Rules): E3Decision {
  const { conditions } = rules;
  const { open, close } = snapshot;
  const body = open !== undefined && close !== undefined ? close - open : undefined;
  const barSide: Side | undefined = body === undefined || body === 0 ? undefined : body > 0 ? 'buy' : 'sell';
  const direction = barSide === 'sell' ? -1 : 1;
  const as = barSide === 'sell' ? 'a short' : 'a long';

  const results: ConditionResult[] = [];
  for (const name of E3_CONDITION_NAMES) {
    if (conditions[name] === undefined) continue;
    switch (name) {
      case 'bodyOverAtr': {
        const min = (conditions.bodyOverAtr as { min: number }).min;
        results.push(
          check(name, snapshot.bodyOverAtr, rules, (value) => ({
            ok: Math.abs(value) >= min,
            text: `body/ATR ${signed(value, 2)}: |${short(value)}| ${Math.abs(value) >= min ? '≥' : '<'} ${min}`,
          })),
        );
        break;
      }
      case 'volumeZ': {
        const min = (conditions.volumeZ as { min: number }).min;
        results.push(
          check(name, snapshot.volumeZ, rules, (value) => ({
            ok: value >= min,
            text: `volume z-score ${signed(value, 2)} ${value >= min ? '≥' : '<'} ${min}`,
          })),
        );
        break;
      }
      case 'obImbalance': {
        const min = (conditions.obImbalance as { min: number }).min;
        results.push(
          check(name, snapshot.obImbalance, rules, (value) => {
            const favour = direction * value;
            return {
              ok: favour >= min,
              text: `book imbalance ${signed(value, 3)}, ${signed(favour, 3)} for ${as} ${favour >= min ? '≥' : '<'} ${min}`,
            };
          }),
        );
        break;
      }
      case 'premiumPct': {
        const max = (conditions.premiumPct as { max: number }).max;
        results.push(
          check(name, snapshot.premiumPct, rules, (value) => {
            const rich = direction * value;
            return {
              ok: rich <= max,
              text: `premium ${signed(value, 4)}%, ${signed(rich, 4)}% against ${as} ${rich <= max ? '≤' : '>'} ${max}%`,
            };
          }),
        );
        break;
      }
      case 'fundingRate': {
        const max = (conditions.fundingRate as { max: number }).max;
        results.push(
          check(name, snapshot.fundingRate, rules, (value) => {
            const paid = direction * value;
            return {
              ok: paid <= max,
              text: `funding ${value.toExponential(3)}/h, ${paid.toExponential(3)}/h paid by ${as} ${paid <= max ? '≤' : '>'} ${max}/h`,
            };
          }),
        );
        break;
      }
      case 'realizedVol': {
        const { min, max } = conditions.realizedVol as { min?: number; max?: number };
        results.push(
          check(name, snapshot.realizedVol, rules, (value) => {
            const ok = (min === undefined || value >= min) && (max === undefined || value <= max);
            const band = `[${min === undefined ? '−' : `${short(min * 100)}%`}, ${max === undefined ? '∞' : `${short(max * 100)}%`}]`;
            return {
              ok,
              text: `realized volatility ${short(value * 100)}% ${ok ? 'within' : 'outside'} ${band}`,
            };
          }),
        );
        break;
      }
      case 'spreadBps': {
        const max = (conditions.spreadBps as { max: number }).max;
        results.push(
          check(name, snapshot.spreadBps, rules, (value) => ({
            ok: value <= max,
            text: `spread ${short(value)} bps ${value <= max ? '≤' : '>'} ${max}`,
          })),
        );
        break;
      }
    }
  }

  const blocking = results.filter((result) => result.status === 'fail' || result.status === 'missing');
  const sideAllowed =
    barSide !== undefined && (rules.sides === 'both' || (rules.sides === 'long') === (barSide === 'buy'));
  const side = sideAllowed && blocking.length === 0 ? barSide : undefined;

  const held = results.filter((result) => result.status === 'pass').length;
  const skipped = results.filter((result) => result.status === 'skipped').length;
  let sideReason: SignalReason;
  if (barSide === undefined)
    sideReason = reason(
      'E3_NO_SIDE',
      body === 0 ? 'doji bar (close = open): no side' : 'no bar yet: no side',
    );
  else if (!sideAllowed)
    sideReason = reason(
      'E3_SIDE_DISABLED',
      `${barSide === 'buy' ? 'up' : 'down'} bar, but only ${rules.sides} entries are enabled`,
    );
  else if (side === undefined)
    sideReason = reason(
      'E3_BLOCKED',
      `${barSide === 'buy' ? 'long' : 'short'} on ${barSide === 'buy' ? 'an up' : 'a down'} bar blocked by ${blocking.map((result) => LABELS[result.name]).join(', ')}`,
    );
  else
    sideReason = reason(
      side === 'buy' ? 'E3_LONG' : 'E3_SHORT',
      `${side === 'buy' ? 'long on an up' : 'short on a down'} bar: all ${held} checked conditions hold${skipped ? ` (${skipped} skipped for missing data)` : ''}`,
    );

  const reasons: SignalReason[] = [sideReason, ...results.map((result) => result.reason)];
  const off = E3_CONDITION_NAMES.filter((name) => conditions[name] === undefined);
  if (off.length > 0)
    reasons.push(
      reason('E3_NOT_CONFIGURED', `not configured: ${off.map((name) => LABELS[name]).join(', ')}`),
    );
  return { barSide, side, conditions: results, reasons };
}
