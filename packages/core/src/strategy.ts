import type { MarketDataChannel } from './exchange';
import type { SignalInput } from './signal';
import type { StateView } from './state';
import type { Fill, FundingPayment, HealthStatus, Instrument, Order } from './types';

export interface StrategyInstrument extends Instrument {
  /** Market data the strategy reads; defaults to ticker and funding rate. */
  readonly channels?: readonly MarketDataChannel[];
}

/**
 * A strategy instance, built by its plugin's `setup(context, options)`. All per-run state lives in
 * the instance (closures or fields), never in module globals, so the optimizer can run many
 * instances side by side. Strategies have no timers, sockets or environment reads: time comes from
 * `state.now`, data from `state`, and they act only by returning signals.
 */
export interface Strategy {
  /** Instruments the engine must subscribe to for this strategy. */
  readonly instruments?: readonly StrategyInstrument[];
  /** Called once per cycle, after market state is updated; returns the signals of this cycle. */
  onCycle(state: StateView): readonly SignalInput[] | undefined;
  /** Fills of orders this strategy's signals produced. */
  onFill?(fill: Fill, state: StateView): void;
  onOrder?(order: Order, state: StateView): void;
  onFunding?(payment: FundingPayment, state: StateView): void;
  /** Called once on engine stop. */
  onStop?(): void | Promise<void>;
  /** Optional health check for the runner's `/health`. */
  health?(): HealthStatus | Promise<HealthStatus>;
}
