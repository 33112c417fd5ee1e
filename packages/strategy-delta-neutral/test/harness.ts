import {
  type BookLevel,
  type ComponentSpec,
  createEngine,
  type Engine,
  type MemorySnapshot,
  type OrderDeniedEvent,
  type OrderFailedEvent,
  type OrderSubmittedEvent,
  parsePluginOptions,
  type RiskGate,
  type Signal,
  SimulatedClock,
} from '@perpkit/core';
import { SimExchange, type SimOptionsInput } from '@perpkit/sim';
import deltaNeutral from '../src/index';

export const START = Date.UTC(2026, 0, 5);

/** What the engine did, as its events tell it. */
export interface Recorded {
  readonly signals: Signal[];
  readonly denied: OrderDeniedEvent[];
  readonly submitted: OrderSubmittedEvent[];
  readonly failed: OrderFailedEvent[];
  readonly cancels: { orderId: string; ok: boolean; reason: string }[];
  readonly skips: string[];
}

function record(engine: Engine): Recorded {
  const recorded: Recorded = { signals: [], denied: [], submitted: [], failed: [], cancels: [], skips: [] };
  engine.events.on('signal', (signal) => recorded.signals.push(signal));
  engine.events.on('order:denied', (event) => recorded.denied.push(event));
  engine.events.on('order:submitted', (event) => recorded.submitted.push(event));
  engine.events.on('order:failed', (event) => recorded.failed.push(event));
  engine.events.on('order:cancel', (event) =>
    recorded.cancels.push({
      orderId: event.order.id,
      ok: event.ok,
      reason: event.signal.reasons[0]?.code ?? '',
    }),
  );
  engine.events.on('plugin:record', (event) => {
    if (event.kind === 'skip') recorded.skips.push(String(event.data.code));
  });
  return recorded;
}

/**
 * The real engine over a `SimExchange` (book fill model) with two accounts, `primary` and
 * `secondary`, trading BTC; the strategy is `delta-neutral` with the given options.
 */
export async function pairedHarness(
  options: Record<string, unknown>,
  setup: {
    balances?: readonly [number, number];
    sim?: Partial<SimOptionsInput>;
    riskGates?: ComponentSpec<RiskGate>[];
    /** Plugin memory kept by a previous run, and when this run starts. */
    memory?: MemorySnapshot;
    start?: number;
  } = {},
) {
  const clock = new SimulatedClock(setup.start ?? START);
  const [primaryBalance, secondaryBalance] = setup.balances ?? [100_000, 100_000];
  const sim = new SimExchange(
    {
      fillModel: 'book',
      fees: { maker: 0.00015, taker: 0.0004 },
      defaultFundingRatePerHour: 0,
      markets: [
        {
          symbol: 'BTC',
          tickSize: '1',
          lotSize: '0.001',
          minNotional: 10,
          maxLeverage: 20,
          fundingIntervalHours: 1,
        },
      ],
      accounts: [
        { id: 'primary', balance: primaryBalance },
        { id: 'secondary', balance: secondaryBalance },
      ],
      ...setup.sim,
    },
    { id: 'venue', clock },
  );
  const parsed = parsePluginOptions(deltaNeutral, {
    mode: 'paired',
    exchange: 'venue',
    symbol: 'BTC',
    accounts: ['primary', 'secondary'],
    ...options,
  });
  const engine = createEngine({
    mode: 'backtest',
    clock,
    exchanges: [sim],
    strategies: [{ id: 'dn', create: (context) => deltaNeutral.setup(context, parsed) }],
    riskGates: setup.riskGates ?? [],
    accountRefreshMs: 0,
    accountEventIntervalMs: 0,
    ...(setup.memory ? { memory: setup.memory } : {}),
  });
  const recorded = record(engine);
  await engine.init();

  /** Feeds a book: `levels` levels a tick apart each side of the spread, `size` BTC each. */
  const book = (
    mid: number,
    shape: {
      spread?: number;
      size?: number;
      levels?: number;
      timestamp?: number;
      bids?: BookLevel[];
      asks?: BookLevel[];
    } = {},
  ) => {
    const half = Math.round((mid * (shape.spread ?? 0.0002)) / 2);
    const levels = shape.levels ?? 5;
    const size = shape.size ?? 5;
    sim.processOrderBook({
      symbol: 'BTC',
      timestamp: shape.timestamp ?? clock.now(),
      bids:
        shape.bids ?? Array.from({ length: levels }, (_, index) => [mid - half - index, size] as BookLevel),
      asks:
        shape.asks ?? Array.from({ length: levels }, (_, index) => [mid + half + index, size] as BookLevel),
    });
  };
  /** Advances the clock, feeds a fresh book at `mid` (unless `mid` is null) and runs one cycle. */
  const cycle = async (advanceMs = 60_000, mid: number | null = 100_000) => {
    clock.advance(advanceMs);
    if (mid !== null) book(mid);
    return engine.runCycle();
  };
  const positions = () => ({
    primary: engine.state.position('venue', 'BTC', 'primary')?.quantity ?? 0,
    secondary: engine.state.position('venue', 'BTC', 'secondary')?.quantity ?? 0,
  });
  const venuePositions = () =>
    Object.fromEntries(
      ['primary', 'secondary'].map((account) => [
        account,
        sim.snapshotAccount(account)?.positions.find((position) => position.symbol === 'BTC')?.quantity ?? 0,
      ]),
    ) as { primary: number; secondary: number };
  return { clock, sim, engine, recorded, book, cycle, positions, venuePositions };
}

/** Strategy signals of the last cycle. */
export function lastCycleSignals(recorded: Recorded, engine: Engine): Signal[] {
  return recorded.signals.filter(
    (signal) => signal.cycle === engine.state.cycle && signal.strategyId === 'dn',
  );
}
