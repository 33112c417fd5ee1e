import type { Signal } from './signal';
import type { StateView } from './state';
import type { HealthStatus, Market, OrderRequest, TradingPhase } from './types';

/** An order the planner wants to send, as the risk gates see it. */
export interface OrderProposal {
  readonly id: string;
  readonly signal: Signal;
  readonly request: OrderRequest;
  readonly exchange: string;
  readonly market: Market;
  /** Price used for notional and cost estimates (the limit price, else the reference price). */
  readonly referencePrice: number;
  /** Quantity as a number (the request carries the exact string). */
  readonly quantity: number;
  readonly notional: number;
  /** True when the order can only shrink the position it acts on. */
  readonly riskReducing: boolean;
  /** Signed position quantity before the order. */
  readonly positionBefore: number;
}

export type RiskDecision =
  | {
      readonly action: 'allow';
      /** Optional: why it passed, for the audit trail (a stale measurement, an exemption). */
      readonly code?: string;
      readonly message?: string;
    }
  | {
      readonly action: 'deny';
      readonly code: string;
      readonly message: string;
      /** A gate may ask the engine to change phase (loss limits do). */
      readonly phase?: { readonly to: TradingPhase; readonly reason: string };
    }
  | { readonly action: 'resize'; readonly quantity: number; readonly code: string; readonly message: string };

const ALLOW: RiskDecision = Object.freeze({ action: 'allow' });

/** Lets the proposal pass; a code and message, when given, say why (they reach `risk:decision`). */
export function allow(code?: string, message?: string): RiskDecision {
  if (code === undefined) return ALLOW;
  return Object.freeze(
    message === undefined ? { action: 'allow', code } : { action: 'allow', code, message },
  );
}

export function deny(
  code: string,
  message: string,
  phase?: { to: TradingPhase; reason: string },
): RiskDecision {
  return Object.freeze(phase ? { action: 'deny', code, message, phase } : { action: 'deny', code, message });
}

export function resize(quantity: number, code: string, message: string): RiskDecision {
  return Object.freeze({ action: 'resize', quantity, code, message });
}

/**
 * A risk gate instance. `evaluate` sees one proposal at a time, in the configured gate order, and
 * must not throw for a denial: a denial is data. A resize's quantity is re-rounded to the lot by the
 * engine and passed to the next gate. Gates may be async (human confirmation), but most are not.
 */
export interface RiskGate {
  readonly name: string;
  /**
   * Judges one proposal. A promise (a human confirmation, a model) does not block the cycle: the
   * proposal is parked and sent when the promise allows it.
   */
  evaluate(proposal: OrderProposal, state: StateView): RiskDecision | Promise<RiskDecision>;
  /**
   * Optional: called once per cycle before strategies run, to keep time-based state (a new trading
   * day) and to hold (`reducing`, `halted`) or release (`active`) this gate's phase hold.
   */
  update?(
    state: StateView,
  ): { readonly phase?: { readonly to: TradingPhase; readonly reason: string } } | undefined;
  /** Optional health check for the runner's `/health`. */
  health?(): HealthStatus | Promise<HealthStatus>;
}
