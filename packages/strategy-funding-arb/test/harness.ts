import {
  type ComponentSpec,
  Engine,
  type Logger,
  type MemorySnapshot,
  type OrderDeniedEvent,
  type OrderSubmittedEvent,
  parsePluginOptions,
  type RiskGate,
  type Signal,
  SimulatedClock,
  type Strategy,
} from '@perpkit/core';
import { SimExchange, type SimOptionsInput } from '@perpkit/sim';
import fundingArb, { type FundingArbOptionsInput, type FundingArbStrategy } from '../src/index';

export const HOUR = 3_600_000;
export const START = Date.UTC(2026, 0, 5, 0, 0, 0);

/** A logger that keeps every line, for asserting what was logged. */
export function recordingLogger(): Logger & { lines: { level: string; message: string; data?: unknown }[] } {
  const lines: { level: string; message: string; data?: unknown }[] = [];
  const make = (bindings: Record<string, unknown>): Logger & { lines: typeof lines } => {
    const log = (level: string) => (message: string, data?: Record<string, unknown>) => {
      lines.push({ level, message, data: { ...bindings, ...data } });
    };
    return {
      lines,
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
    } as Logger & { lines: typeof lines };
  };
  return make({});
}

export interface VenueSetup {
  readonly id: string;
  readonly fundingIntervalHours: number;
  readonly sim?: Partial<SimOptionsInput>;
  readonly market?: Record<string, unknown>;
  readonly balance?: number;
}

/** Two simulated venues (mark fill model unless told), one engine, the strategy under test. */
export async function createHarness(
  options: FundingArbOptionsInput,
  venues: readonly [VenueSetup, VenueSetup] = [
    { id: 'alpha', fundingIntervalHours: 8 },
    { id: 'beta', fundingIntervalHours: 1 },
  ],
  extra: {
    start?: number;
    logger?: Logger;
    memory?: MemorySnapshot;
    riskGates?: readonly ComponentSpec<RiskGate>[];
  } = {},
) {
  const clock = new SimulatedClock(extra.start ?? START);
  const sims = venues.map(
    (venue) =>
      new SimExchange(
        {
          fillModel: 'mark',
          slippage: 0,
          fees: { maker: 0.0002, taker: 0.0005 },
          defaultFundingRatePerHour: 0,
          ...venue.sim,
          markets: [
            {
              symbol: 'BTC',
              tickSize: '0.1',
              lotSize: '0.001',
              minNotional: 10,
              maxLeverage: 20,
              fundingIntervalHours: venue.fundingIntervalHours,
              ...venue.market,
            },
          ],
          accounts: [{ id: 'main', balance: venue.balance ?? 100_000 }],
        },
        { id: venue.id, clock },
      ),
  );
  const parsed = parsePluginOptions(fundingArb, options);
  let strategy: FundingArbStrategy | undefined;
  const spec: ComponentSpec<Strategy> = {
    id: 'arb',
    create: (context) => {
      strategy = fundingArb.setup(context, parsed) as FundingArbStrategy;
      return strategy;
    },
  };
  const engine = new Engine({
    mode: 'backtest',
    clock,
    exchanges: sims,
    strategies: [spec],
    accountRefreshMs: 0,
    accountEventIntervalMs: 0,
    ...(extra.logger ? { logger: extra.logger } : {}),
    ...(extra.memory ? { memory: extra.memory } : {}),
    ...(extra.riskGates ? { riskGates: extra.riskGates } : {}),
  });
  const signals: Signal[] = [];
  engine.events.on('signal', (signal) => signals.push(signal));
  const submitted: OrderSubmittedEvent[] = [];
  engine.events.on('order:submitted', (event) => submitted.push(event));
  const denied: OrderDeniedEvent[] = [];
  engine.events.on('order:denied', (event) => denied.push(event));
  for (const sim of sims) sim.processTicker({ symbol: 'BTC', mark: 100_000, timestamp: clock.now() });
  await engine.init();
  const [alpha, beta] = sims as [SimExchange, SimExchange];
  return {
    clock,
    engine,
    alpha,
    beta,
    signals,
    submitted,
    denied,
    get strategy(): FundingArbStrategy {
      return strategy as FundingArbStrategy;
    },
    /** Sets both marks (and optionally rates) at the current time. */
    tick(marks: { alpha?: number; beta?: number }) {
      if (marks.alpha !== undefined)
        alpha.processTicker({ symbol: 'BTC', mark: marks.alpha, timestamp: clock.now() });
      if (marks.beta !== undefined)
        beta.processTicker({ symbol: 'BTC', mark: marks.beta, timestamp: clock.now() });
    },
    /** Advances the clock, re-sends each venue's mark (or the given one), and runs one cycle. */
    async step(ms: number, marks: { alpha?: number; beta?: number } = {}) {
      clock.advance(ms);
      this.tick({
        alpha: marks.alpha ?? (await alpha.fetchTicker('BTC')).mark,
        beta: marks.beta ?? (await beta.fetchTicker('BTC')).mark,
      });
      return engine.runCycle();
    },
  };
}
