import type { OrderType, Side, TimeInForce } from './types';

export type SignalIntent = 'open' | 'close' | 'reduce' | 'rebalance' | 'cancel';
export type Urgency = 'low' | 'normal' | 'high' | 'emergency';

/** Why a signal exists. `code` is stable (SCREAMING_SNAKE) and grouped on in reports. */
export interface SignalReason {
  readonly code: string;
  readonly message: string;
}

export function reason(code: string, message: string): SignalReason {
  return Object.freeze({ code, message });
}

/**
 * What a strategy (or an exit rule, or a monitor) returns: an intent, not an order. The engine
 * stamps it into a `Signal` and the order planner turns it into an order request.
 *
 * Size, by intent:
 * - `open`: `side` and one of `quantity` (base units) or `notional` (quote units).
 * - `close`: the whole position (no size needed).
 * - `reduce`: `quantity`, or `fraction` of the position (0–1].
 * - `rebalance`: `targetQuantity`, the signed position wanted afterwards.
 * - `cancel`: `orderId` or `clientOrderId` of one order, else every open order of the instrument
 *   (of `account` if given). Cancels skip the planner, the phase and the gates: they only remove
 *   risk, so they always go out.
 */
export interface SignalInput {
  readonly intent: SignalIntent;
  readonly exchange: string;
  readonly symbol: string;
  readonly account?: string;
  readonly side?: Side;
  readonly quantity?: number;
  readonly notional?: number;
  readonly fraction?: number;
  readonly targetQuantity?: number;
  /** Defaults to `market`. */
  readonly orderType?: OrderType;
  /** Limit price (rounded to the tick on the passive side by the planner). */
  readonly price?: number;
  readonly timeInForce?: TimeInForce;
  /** Resting orders are cancelled after this long. */
  readonly ttlMs?: number;
  /**
   * Defaults to `normal`. A risk-reducing `emergency` order passes the `halted` phase whatever its
   * source (see `isProtectiveSignal`).
   */
  readonly urgency?: Urgency;
  readonly reasons: readonly SignalReason[];
  /** Signals sharing a group (the legs of a hedge) pass or fail the risk gates together. */
  readonly groupId?: string;
  /** Regime label at decision time, for the audit log and breakdowns. */
  readonly regime?: string;
  /** Feature values the decision used, for the audit log. */
  readonly features?: Readonly<Record<string, number>>;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** `cancel`: the venue order id to cancel. */
  readonly orderId?: string;
  /** `cancel`: the client order id to cancel. */
  readonly clientOrderId?: string;
  /** `cancel`: only orders that are not reduce-only (the engine uses it when the phase tightens). */
  readonly riskIncreasingOnly?: boolean;
}

/** An immutable, stamped signal. */
export interface Signal extends SignalInput {
  readonly id: string;
  /** Strategy instance id, or `exit:<rule>` / `monitor:<name>` / `operator` for other sources. */
  readonly strategyId: string;
  readonly createdAt: number;
  readonly cycle: number;
  readonly urgency: Urgency;
  readonly orderType: OrderType;
}
