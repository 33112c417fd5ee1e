import type { SignalInput } from './signal';
import type { StateView } from './state';
import type { AlertLevel, HealthStatus, TradingPhase } from './types';

export interface AlertInput {
  readonly level: AlertLevel;
  readonly code: string;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** What a monitor check found. Everything is optional; an empty report means all is well. */
export interface MonitorReport {
  readonly alerts?: readonly AlertInput[];
  /** Reduce or rebalance signals; they go through the planner, gates and executor like any other. */
  readonly signals?: readonly SignalInput[];
  /**
   * Hold the phase at `reducing` or `halted`, or release this monitor's hold with `active`; the
   * reason goes to the audit log.
   */
  readonly phase?: { readonly to: TradingPhase; readonly reason: string };
  /** Request emergency mode: halt and close every position. The text is the reason. */
  readonly emergency?: string;
}

/**
 * A periodic check over state. Runs after the cycle's orders are sent, at most once per
 * `intervalMs` of engine-clock time (every cycle when unset).
 */
export interface Monitor {
  readonly name: string;
  readonly intervalMs?: number;
  check(state: StateView): MonitorReport | undefined | Promise<MonitorReport | undefined>;
  /** Optional health check for the runner's `/health`. */
  health?(): HealthStatus | Promise<HealthStatus>;
}
