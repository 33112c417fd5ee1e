import { roundToStepNumber } from '@perpkit/core';

/**
 * One account's wanted position after this cycle, from one rule of the strategy (a paired trade,
 * a resize, the margin guard). Several rules may want different things for the same account in
 * the same cycle: the hedging decision step resolves them.
 */
export interface TargetCandidate {
  /** Signed position wanted afterwards, base units, a multiple of the lot. */
  readonly target: number;
  readonly code: string;
  readonly message: string;
}

/**
 * Resolves the candidates for one account into one target, never more exposed than the least
 * exposing candidate:
 * - none: keep the current position;
 * - all the same: that target;
 * - some long and some short: flat (0), since they disagree on the side;
 * - otherwise (one side, different sizes): the smallest.
 */
export function resolveTarget(current: number, candidates: readonly number[]): number {
  if (candidates.length === 0) return current;
  const first = candidates[0] as number;
  if (candidates.every((target) => target === first)) return first;
  const anyLong = candidates.some((target) => target > 0);
  const anyShort = candidates.some((target) => target < 0);
  if (anyLong && anyShort) return 0;
  let smallest = first;
  for (const target of candidates) if (Math.abs(target) < Math.abs(smallest)) smallest = target;
  return smallest;
}

export type AutoHedgeMode = 'complete' | 'reduce';

/** What the auto-hedge rules did to the pair's targets. */
export type AutoHedgeRule =
  /** The targets already cancel: nothing to do. */
  | 'NEUTRAL'
  /** Both targets on the same side (a broken pair): both flat. */
  | 'CLOSE_SAME_SIDE'
  /** The larger leg comes down to the smaller one (a missing leg: the orphan is closed). */
  | 'MATCH_SMALLER'
  /** No rule asked for anything, and a leg lags (a failed or partial fill): it is completed. */
  | 'COMPLETE_LAGGING';

export interface PairPositions {
  readonly primary: number;
  readonly secondary: number;
}

export interface PairDecisionInput {
  /** Signed positions now. */
  readonly current: PairPositions;
  readonly candidates: { readonly primary: readonly number[]; readonly secondary: readonly number[] };
  /**
   * When no rule asked for anything and the positions do not cancel: `complete` brings the
   * smaller leg up to the larger one (the hedge is placed), `reduce` brings the larger down.
   * When rules did ask, the larger leg always comes down: the step never adds exposure to make
   * up for a conflict.
   */
  readonly autoHedge: AutoHedgeMode;
  readonly lotSize: string;
}

export interface PairDecision extends PairPositions {
  readonly rule: AutoHedgeRule;
  /** Accounts whose candidates disagreed. */
  readonly conflicts: readonly ('primary' | 'secondary')[];
}

const sameMagnitude = (a: number, b: number, lot: number) => Math.abs(Math.abs(a) - Math.abs(b)) < lot / 2;

/**
 * The hedging decision step of the paired shape: resolves each account's candidates
 * (`resolveTarget`), then applies the auto-hedge rules so that the two targets cancel.
 */
export function decidePair(input: PairDecisionInput): PairDecision {
  const lot = Number(input.lotSize);
  const conflicts: ('primary' | 'secondary')[] = [];
  for (const account of ['primary', 'secondary'] as const) {
    const list = input.candidates[account];
    if (list.some((target) => target !== list[0])) conflicts.push(account);
  }
  const primary = resolveTarget(input.current.primary, input.candidates.primary);
  const secondary = resolveTarget(input.current.secondary, input.candidates.secondary);
  if (Math.abs(primary + secondary) < lot / 2) return { primary, secondary, rule: 'NEUTRAL', conflicts };
  if (primary !== 0 && secondary !== 0 && Math.sign(primary) === Math.sign(secondary))
    return { primary: 0, secondary: 0, rule: 'CLOSE_SAME_SIDE', conflicts };
  const asked = input.candidates.primary.length > 0 || input.candidates.secondary.length > 0;
  if (!asked && input.autoHedge === 'complete') {
    return Math.abs(primary) >= Math.abs(secondary)
      ? { primary, secondary: -primary, rule: 'COMPLETE_LAGGING', conflicts }
      : { primary: -secondary, secondary, rule: 'COMPLETE_LAGGING', conflicts };
  }
  const magnitude = Math.min(Math.abs(primary), Math.abs(secondary));
  return {
    primary: Math.sign(primary) * magnitude,
    secondary: Math.sign(secondary) * magnitude,
    rule: 'MATCH_SMALLER',
    conflicts,
  };
}

/**
 * Batch clamp: scales both legs' trades by one common factor so that neither exceeds its cap (base
 * units: the max order value clamped by the account's live equity, and the book's depth), then
 * rounds to the lot toward zero. A symmetric pair trade stays symmetric, so a clamped trade moves
 * the pair toward its targets without ever unbalancing it; an asymmetric one (a hedge completion)
 * shrinks its imbalance in proportion.
 */
export function clampPairTrades(
  current: PairPositions,
  targets: PairPositions,
  caps: PairPositions,
  lotSize: string,
): PairPositions {
  // Positions and targets are lot multiples up to float noise: snap the differences to the grid.
  const primary = roundToStepNumber(targets.primary - current.primary, lotSize, 'nearest');
  const secondary = roundToStepNumber(targets.secondary - current.secondary, lotSize, 'nearest');
  let scale = 1;
  if (primary !== 0) scale = Math.min(scale, Math.max(0, caps.primary) / Math.abs(primary));
  if (secondary !== 0) scale = Math.min(scale, Math.max(0, caps.secondary) / Math.abs(secondary));
  if (scale >= 1) return { primary, secondary };
  const lot = Number(lotSize);
  const scaled = (value: number) =>
    Math.sign(value) * roundToStepNumber(Math.abs(value) * scale, lotSize, 'floor');
  if (sameMagnitude(primary, secondary, lot)) {
    const common = roundToStepNumber(Math.abs(primary) * scale, lotSize, 'floor');
    return { primary: Math.sign(primary) * common, secondary: Math.sign(secondary) * common };
  }
  return { primary: scaled(primary), secondary: scaled(secondary) };
}
