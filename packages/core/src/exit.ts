import type { SignalIntent, Urgency } from './signal';
import type { LedgerPosition, StateView } from './state';

/** 1 emergency, 2 economic, 3 optional. Lower layers are evaluated first. */
export type ExitLayer = 1 | 2 | 3;

export interface ExitDecision {
  /** `close` the position, `reduce` it by `quantity`/`fraction`, or `rebalance` its legs. */
  readonly action: Extract<SignalIntent, 'close' | 'reduce' | 'rebalance'>;
  /** Stable reason code, e.g. `BROKEN_HEDGE`. */
  readonly code: string;
  readonly message: string;
  readonly quantity?: number;
  readonly fraction?: number;
  readonly targetQuantity?: number;
  readonly urgency?: Urgency;
}

/**
 * An exit rule over some subject: an engine position by default, or a strategy's own trade (the
 * funding-arb pair). Rules are evaluated in (layer, priority) order and the first that returns a
 * decision wins: exactly one decision per subject per tick.
 */
export interface ExitRule<Subject = LedgerPosition> {
  readonly name: string;
  readonly layer: ExitLayer;
  /** Lower runs first within a layer. */
  readonly priority: number;
  evaluate(subject: Subject, state: StateView): ExitDecision | null | undefined;
}

export interface ExitEvaluation<Subject = LedgerPosition> {
  readonly rule: ExitRule<Subject>;
  readonly decision: ExitDecision;
}

export interface ExitStackOptions {
  /** How long the subject has been held; with `minHoldMs`, blocks layers 2 and 3 until it passes. */
  readonly heldMs?: number;
  readonly minHoldMs?: number;
}

/** Sorts rules into evaluation order: layer, then priority, then name for a stable tie-break. */
export function sortExitRules<Subject>(rules: readonly ExitRule<Subject>[]): ExitRule<Subject>[] {
  return [...rules].sort(
    (a, b) =>
      a.layer - b.layer || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/**
 * Runs an exit stack (already sorted with `sortExitRules`) and returns the first decision, or
 * undefined. A minimum hold blocks only non-emergency layers.
 */
export function evaluateExitStack<Subject>(
  sortedRules: readonly ExitRule<Subject>[],
  subject: Subject,
  state: StateView,
  options: ExitStackOptions = {},
): ExitEvaluation<Subject> | undefined {
  const holdBlocks =
    options.minHoldMs !== undefined && options.heldMs !== undefined && options.heldMs < options.minHoldMs;
  for (const rule of sortedRules) {
    if (holdBlocks && rule.layer !== 1) continue;
    const decision = rule.evaluate(subject, state);
    if (decision) return { rule, decision };
  }
  return undefined;
}
