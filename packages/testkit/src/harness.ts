import {
  type Candle,
  type ComponentSpec,
  Engine,
  type EngineOptions,
  type Market,
  type OrderProposal,
  planSignal,
  type RunMode,
  type SetupContext,
  type Signal,
  type SignalInput,
  SimulatedClock,
  type Strategy,
  type StrategyPlugin,
  silentLogger,
} from '@perpkit/core';
import { FakeExchange, type FakeExchangeOptions } from './fake-exchange';

/** Polls `predicate` every 5 ms until it holds; rejects after `timeoutMs` (real time). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface TestEngine {
  readonly engine: Engine;
  readonly exchange: FakeExchange;
  readonly clock: SimulatedClock;
  /** Every signal the engine emitted, in order. */
  readonly signals: Signal[];
}

/**
 * An initialized engine over a `FakeExchange` and a simulated clock, for tests of strategies,
 * gates, rules and monitors.
 */
export async function createTestEngine(
  options: Partial<Omit<EngineOptions, 'exchanges' | 'clock'>> & {
    exchange?: FakeExchangeOptions;
    start?: number;
  } = {},
): Promise<TestEngine> {
  const clock = new SimulatedClock(options.start ?? 1_700_000_000_000);
  const exchange = new FakeExchange(options.exchange);
  exchange.setTime(clock.now());
  const engine = new Engine({ mode: 'backtest', ...options, clock, exchanges: [exchange] });
  const signals: Signal[] = [];
  engine.events.on('signal', (signal) => signals.push(signal));
  await engine.init();
  exchange.publishPrices();
  return { engine, exchange, clock, signals };
}

/** The context a plugin's `setup` receives from this engine (silent logger). */
export function setupContextFor(engine: Engine, id: string, mode: RunMode = 'backtest'): SetupContext {
  return {
    id,
    mode,
    clock: engine.clock,
    logger: silentLogger,
    state: engine.state,
    events: engine.events,
    approvals: engine.approvals,
    memory: engine.memory.forComponent(id),
    record: (kind, data) =>
      engine.events.emit('plugin:record', { at: engine.clock.now(), component: id, kind, data }),
    services: engine.services,
  };
}

let proposalSequence = 0;

/** Plans a signal against an engine's state and returns the proposal a gate would see. */
export function proposalFor(engine: Engine, input: SignalInput, strategyId = 'test'): OrderProposal {
  const signal: Signal = Object.freeze({
    urgency: 'normal',
    orderType: 'market',
    ...input,
    id: `S-test-${engine.state.cycle}`,
    strategyId,
    createdAt: engine.state.now,
    cycle: engine.state.cycle,
  });
  proposalSequence += 1;
  const result = planSignal(signal, engine.state, `P-test-${proposalSequence}`, `C-test-${proposalSequence}`);
  if ('rejection' in result)
    throw new Error(
      `the planner refused the test signal: ${result.rejection.code} ${result.rejection.message}`,
    );
  return result.proposal;
}

export interface ReplayInstrument {
  readonly symbol: string;
  readonly candles: readonly Candle[];
  /** Bar length in ms. Default 60 000. */
  readonly interval?: number;
  readonly market?: Partial<Market>;
}

/**
 * Runs a strategy plugin over candles on a `FakeExchange` (exchange id `fake`): one cycle per bar,
 * at the bar's close time. Returns every signal. Market orders fill at the close.
 */
export async function replayCandles<Options>(
  plugin: StrategyPlugin<Options>,
  options: Options,
  instruments: readonly ReplayInstrument[],
  engineOptions: { balance?: number } = {},
): Promise<{ signals: Signal[]; engine: Engine; exchange: FakeExchange }> {
  const strategies: ComponentSpec<Strategy>[] = [
    { id: plugin.meta.name, create: (context) => plugin.setup(context, options) },
  ];
  const first = instruments[0]?.candles[0];
  const { engine, exchange, clock, signals } = await createTestEngine({
    strategies,
    start: first?.timestamp ?? 0,
    exchange: {
      markets: instruments.map((instrument) => ({ symbol: instrument.symbol, ...instrument.market })),
      prices: Object.fromEntries(
        instruments.map((instrument) => [instrument.symbol, instrument.candles[0]?.open ?? 100]),
      ),
      ...(engineOptions.balance === undefined ? {} : { balance: engineOptions.balance }),
    },
  });
  const bars = Math.max(0, ...instruments.map((instrument) => instrument.candles.length));
  for (let index = 0; index < bars; index += 1) {
    let time = clock.now();
    for (const instrument of instruments) {
      const candle = instrument.candles[index];
      if (!candle) continue;
      const interval = instrument.interval ?? 60_000;
      time = Math.max(time, candle.timestamp + interval);
      exchange.setTime(candle.timestamp + interval);
      exchange.pushCandle(instrument.symbol, candle, interval);
    }
    clock.advanceTo(time);
    await engine.runCycle();
  }
  await engine.stop('replay finished', { cancelOpenOrders: false, timeoutMs: 5000 });
  return { signals, engine, exchange };
}
