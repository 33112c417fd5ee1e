import {
  type ComponentSpec,
  Engine,
  type MemorySnapshot,
  type Monitor,
  type OrderDeniedEvent,
  parsePluginOptions,
  type RiskGate,
  type SignalInput,
  SimulatedClock,
  type StateView,
} from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import {
  createTestEngine,
  describeRiskGateContract,
  FakeExchange,
  proposalFor,
  setupContextFor,
} from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import lossLimits from '../src/index';

describeRiskGateContract('loss-limits', {
  plugin: lossLimits,
  options: { dailyLossCap: 500, maxDrawdown: 0.2 },
});

const HOUR = 3_600_000;
const NOON = Date.UTC(2025, 0, 1, 12);

const entry: SignalInput = {
  intent: 'open',
  exchange: 'fake',
  symbol: 'BTC',
  side: 'buy',
  quantity: 0.1,
  reasons: [{ code: 'T', message: 't' }],
};
const code = (decision: Awaited<ReturnType<RiskGate['evaluate']>>) =>
  decision.action === 'allow' ? 'ALLOW' : decision.code;

/**
 * A gate over a fake account whose equity we move with a position and the mark: 10 000 cash and
 * 100 BTC bought at 100, so one unit of price is 100 of equity.
 */
async function harness(options: Record<string, unknown>, memory?: MemorySnapshot, cash = 10_000) {
  const test = await createTestEngine({
    start: NOON,
    exchange: { balance: cash, prices: { BTC: 100 } },
    ...(memory ? { memory } : {}),
  });
  await test.exchange.submitOrder({
    account: 'main',
    symbol: 'BTC',
    side: 'buy',
    type: 'market',
    quantity: '100',
  });
  const gate: RiskGate = lossLimits.setup(
    setupContextFor(test.engine, 'loss-limits'),
    parsePluginOptions(lossLimits, options),
  );
  /** Moves to `offsetMs` after noon and to `mark`, runs the update hook, and judges an entry. */
  const atMs = (mark: number, offsetMs = 0) => {
    test.clock.advanceTo(NOON + offsetMs);
    (test.engine.state as { now: number }).now = test.clock.now();
    test.exchange.setPrice('BTC', mark);
    // Apply the hook's phase request the way the engine does each cycle.
    const update = gate.update?.(test.engine.state);
    if (update?.phase) test.engine.requestPhase(update.phase.to, update.phase.reason, 'gate:loss-limits');
    return { update, decision: gate.evaluate(proposalFor(test.engine, entry), test.engine.state) };
  };
  const at = (mark: number, hours = 0) => atMs(mark, hours * HOUR);
  return { ...test, gate, at, atMs };
}

describe('daily loss cap', () => {
  it('just under the cap allows; at the cap denies and holds the phase; the next day releases', async () => {
    const { at } = await harness({ dailyLossCap: 500, dailyAction: 'reducing' });
    expect(code(await at(100).decision)).toBe('ALLOW'); // day starts at equity 10 000
    expect(code(await at(95.01).decision)).toBe('ALLOW'); // loss 499: just under
    const hit = at(95); // loss 500: at the cap
    expect(hit.update?.phase).toMatchObject({ to: 'reducing' });
    const decision = await hit.decision;
    expect(decision).toMatchObject({ action: 'deny', code: 'LOSS_DAILY_CAP', phase: { to: 'reducing' } });
    expect(code(await at(100, 1).decision)).toBe('LOSS_DAILY_CAP'); // recovering the same day does not reset
    const nextDay = at(100, 12); // 00:00 UTC the next day
    expect(nextDay.update?.phase).toEqual({ to: 'active', reason: 'loss limits clear' });
    expect(code(await nextDay.decision)).toBe('ALLOW');
  });

  it('just over the cap denies with the reason, and the default action is reducing', async () => {
    const { at, engine } = await harness({ dailyLossCap: 500 });
    expect(code(await at(100).decision)).toBe('ALLOW');
    const over = at(94.99); // loss 501
    expect(over.update?.phase).toMatchObject({ to: 'reducing' });
    expect(await over.decision).toMatchObject({
      action: 'deny',
      code: 'LOSS_DAILY_CAP',
      message: 'day loss 501.00 reached the cap 500.00',
      phase: { to: 'reducing' },
    });
    expect(engine.phase).toBe('reducing');
    expect(parsePluginOptions(lossLimits, { dailyLossCap: 1 })).toMatchObject({
      dailyAction: 'reducing',
      drawdownAction: 'halted',
    });
  });

  it('a fractional cap uses the day’s starting equity; the smaller of two caps wins', async () => {
    const { at } = await harness({ dailyLossCapFraction: 0.03 }); // 3 % of 10 000 = 300
    expect(code(await at(100).decision)).toBe('ALLOW');
    expect(code(await at(97.01).decision)).toBe('ALLOW');
    expect(code(await at(97).decision)).toBe('LOSS_DAILY_CAP');
    const both = await harness({ dailyLossCap: 200, dailyLossCapFraction: 0.03 });
    both.at(100);
    expect(code(await both.at(98.01).decision)).toBe('ALLOW'); // loss 199
    expect(code(await both.at(98).decision)).toBe('LOSS_DAILY_CAP'); // loss 200: the absolute cap binds
  });

  it('dayStartHourUtc moves the day boundary: 1 ms before it is the same day, at it a new day', async () => {
    const { atMs } = await harness({ dailyLossCap: 500, dayStartHourUtc: 13 }); // days start 13:00 UTC
    expect(code(await atMs(100).decision)).toBe('ALLOW'); // 12:00: the day that began yesterday 13:00
    expect(code(await atMs(95, 1).decision)).toBe('LOSS_DAILY_CAP');
    const before = atMs(95, HOUR - 1); // 12:59:59.999: still that day
    expect(before.update?.phase).toMatchObject({ to: 'reducing' });
    expect(code(await before.decision)).toBe('LOSS_DAILY_CAP');
    const boundary = atMs(95, HOUR); // 13:00: a new day, starting at equity 9 500
    expect(boundary.update?.phase).toEqual({ to: 'active', reason: 'loss limits clear' });
    expect(code(await boundary.decision)).toBe('ALLOW');
    expect(code(await atMs(90.01, HOUR + 1).decision)).toBe('ALLOW'); // loss 499 from 9 500
    expect(code(await atMs(90, HOUR + 2).decision)).toBe('LOSS_DAILY_CAP'); // loss 500
  });

  it('risk-reducing orders pass the gate (the phase decides them)', async () => {
    const { at, engine, gate } = await harness({ dailyLossCap: 100 });
    at(98);
    const reduce = proposalFor(engine, {
      intent: 'reduce',
      exchange: 'fake',
      symbol: 'BTC',
      quantity: 10,
      reasons: [{ code: 'T', message: 't' }],
    });
    expect(code(await gate.evaluate(reduce, engine.state))).toBe('ALLOW');
  });

  it('exchanges: only the listed exchanges’ accounts count', async () => {
    const clock = new SimulatedClock(NOON);
    const watched = new FakeExchange({ id: 'watched', prices: { BTC: 100 } });
    const other = new FakeExchange({ id: 'other', prices: { BTC: 100 } });
    const engine = new Engine({ mode: 'backtest', clock, exchanges: [watched, other] });
    await engine.init();
    watched.publishPrices();
    other.publishPrices();
    for (const exchange of [watched, other])
      await exchange.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'market',
        quantity: '100',
      });
    const gate = lossLimits.setup(
      setupContextFor(engine, 'loss-limits'),
      parsePluginOptions(lossLimits, { dailyLossCap: 500, exchanges: ['watched'] }),
    );
    const judge = () =>
      gate.evaluate(proposalFor(engine, { ...entry, exchange: 'watched' }), engine.state) as ReturnType<
        RiskGate['evaluate']
      >;
    expect(code(await judge())).toBe('ALLOW'); // the day starts at the watched account's 10 000
    other.setPrice('BTC', 90); // −1 000 on the other exchange: not counted
    expect(code(await judge())).toBe('ALLOW');
    watched.setPrice('BTC', 95.01); // −499 on the watched one
    expect(code(await judge())).toBe('ALLOW');
    watched.setPrice('BTC', 95); // −500
    expect(code(await judge())).toBe('LOSS_DAILY_CAP');
  });
});

describe('drawdown circuit breaker', () => {
  it('trips at the drawdown from the peak and stays tripped until the operator resets', async () => {
    const { at, engine } = await harness({ maxDrawdown: 0.1 });
    expect(code(await at(110).decision)).toBe('ALLOW'); // peak 11 000
    expect(code(await at(99.01).decision)).toBe('ALLOW'); // 9 901: 9.99 % below the peak
    const tripped = at(99); // 9 900: exactly 10 %
    expect(tripped.update?.phase).toMatchObject({ to: 'halted' });
    expect(code(await tripped.decision)).toBe('LOSS_DRAWDOWN_BREAKER');
    expect(code(await at(120, 48).decision)).toBe('LOSS_DRAWDOWN_BREAKER'); // days later, at a new high: still tripped
    engine.setPhase('active', 'reviewed, resuming', 'operator');
    expect(code(await at(120, 49).decision)).toBe('ALLOW');
  });

  it('just over the drawdown denies with the reason', async () => {
    const { at } = await harness({ maxDrawdown: 0.1 });
    at(110); // peak 11 000
    expect(await at(98.99).decision).toMatchObject({
      action: 'deny',
      code: 'LOSS_DRAWDOWN_BREAKER',
      message: 'drawdown 10.01% from the peak 11000.00 reached 10.00%',
      phase: { to: 'halted', reason: 'drawdown 10.01% from the peak 11000.00 reached 10.00%' },
    });
  });

  it('drawdownAction: reducing holds reducing instead of halted', async () => {
    const { at, engine } = await harness({ maxDrawdown: 0.1, drawdownAction: 'reducing' });
    at(110);
    const tripped = at(99);
    expect(tripped.update?.phase).toMatchObject({ to: 'reducing' });
    expect(await tripped.decision).toMatchObject({
      code: 'LOSS_DRAWDOWN_BREAKER',
      phase: { to: 'reducing' },
    });
    expect(engine.phase).toBe('reducing');
  });

  it('with both limits tripped, the stricter action wins', async () => {
    const { at, engine } = await harness({ dailyLossCap: 500, maxDrawdown: 0.05 });
    at(100);
    const both = at(94); // loss 600 and drawdown 6 %
    expect(both.update?.phase).toMatchObject({ to: 'halted' });
    expect(code(await both.decision)).toBe('LOSS_DRAWDOWN_BREAKER');
    expect(engine.phase).toBe('halted');
  });

  it('refuses options that set no limit', () => {
    expect(() => parsePluginOptions(lossLimits, {})).toThrow(
      /set dailyLossCap, dailyLossCapFraction or maxDrawdown/,
    );
  });
});

describe('loss limits remember across a restart (plugin memory)', () => {
  it('the equity peak survives: a fall from the remembered peak trips after the restart', async () => {
    const first = await harness({ maxDrawdown: 0.1 });
    first.at(110); // peak 11 000
    first.at(105); // 10 500 when the bot restarts
    const memory = first.engine.memory.snapshot();
    const again = await harness({ maxDrawdown: 0.1 }, memory, 10_000);
    expect(code(await again.at(105, 1).decision)).toBe('ALLOW');
    expect(code(await again.at(99.01, 2).decision)).toBe('ALLOW'); // 9.99 % under the remembered 11 000
    expect(code(await again.at(99, 3).decision)).toBe('LOSS_DRAWDOWN_BREAKER'); // 10 % under it
    const forgetful = await harness({ maxDrawdown: 0.1 });
    forgetful.at(105, 1);
    expect(code(await forgetful.at(99, 3).decision)).toBe('ALLOW'); // without memory: only 5.7 % under 10 500
  });

  it("the day's baseline survives: a restart in the same day keeps counting from the day's start", async () => {
    const first = await harness({ dailyLossCap: 500 });
    first.at(100); // the day starts at 10 000
    first.at(97); // −300 when the bot restarts
    const memory = first.engine.memory.snapshot();
    const again = await harness({ dailyLossCap: 500 }, memory);
    expect(code(await again.at(97, 1).decision)).toBe('ALLOW');
    expect(code(await again.at(95, 2).decision)).toBe('LOSS_DAILY_CAP'); // −500 from the remembered 10 000
    const nextDay = again.at(95, 12); // a new day after the restart starts from the equity then
    expect(code(await nextDay.decision)).toBe('ALLOW');
  });

  it('a tripped daily cap stays tripped after a restart the same day, even if equity recovered', async () => {
    const first = await harness({ dailyLossCap: 500 });
    first.at(100);
    expect(code(await first.at(94).decision)).toBe('LOSS_DAILY_CAP');
    const again = await harness({ dailyLossCap: 500 }, first.engine.memory.snapshot());
    const restart = again.at(99, 1); // only −100 now
    expect(restart.update?.phase).toMatchObject({ to: 'reducing' });
    expect(code(await restart.decision)).toBe('LOSS_DAILY_CAP');
  });
});

// ------------------------------------------------------------------ engine level, on SimExchange

const open = (quantity: number, code = 'ENTER'): SignalInput => ({
  intent: 'open',
  exchange: 'sim',
  symbol: 'BTC',
  side: 'buy',
  quantity,
  reasons: [{ code, message: code.toLowerCase() }],
});
const trim = (quantity: number): SignalInput => ({
  intent: 'reduce',
  exchange: 'sim',
  symbol: 'BTC',
  quantity,
  reasons: [{ code: 'TRIM', message: 'trim' }],
});

/** An engine on SimExchange (no fees, no slippage) with the loss-limits gate as configured. */
async function simEngine(
  gateOptions: Record<string, unknown>,
  script: (state: StateView) => readonly SignalInput[] | undefined,
  extra: {
    balance?: number;
    memory?: MemorySnapshot;
    monitors?: ComponentSpec<Monitor>[];
    mark?: number;
  } = {},
) {
  const clock = new SimulatedClock(Date.UTC(2025, 0, 1, 9));
  const sim = new SimExchange(
    {
      fillModel: 'mark',
      slippage: 0,
      fees: { maker: 0, taker: 0 },
      defaultFundingRatePerHour: 0,
      markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 10 }],
      accounts: [{ id: 'main', balance: extra.balance ?? 10_000 }],
    },
    { clock },
  );
  const engine = new Engine({
    mode: 'backtest',
    clock,
    exchanges: [sim],
    ...(extra.memory ? { memory: extra.memory } : {}),
    strategies: [{ id: 's', create: () => ({ onCycle: script }) }],
    riskGates: [
      {
        id: 'loss-limits',
        create: (context) => lossLimits.setup(context, parsePluginOptions(lossLimits, gateOptions)),
      },
    ],
    monitors: extra.monitors ?? [],
  });
  const denied: string[] = [];
  engine.events.on('order:denied', (event: OrderDeniedEvent) =>
    denied.push(`${event.signal.strategyId}:${event.gate}:${event.code}`),
  );
  await engine.init();
  const mark = (price: number) => sim.processTicker({ symbol: 'BTC', mark: price, timestamp: clock.now() });
  mark(extra.mark ?? 5_000);
  const quantity = async () => (await sim.fetchPositions('main'))[0]?.quantity ?? 0;
  const next = async () => {
    clock.advance(60_000);
    return engine.runCycle();
  };
  return { engine, sim, clock, denied, mark, quantity, next };
}

describe('loss limits in the engine, on SimExchange', () => {
  it('with the DEFAULT config, a daily loss stops new entries while a strategy’s reduce still passes', async () => {
    const script: Record<number, SignalInput[]> = {
      1: [open(1)],
      3: [open(0.5, 'ADD'), trim(0.4)],
    };
    const { engine, denied, mark, quantity, next } = await simEngine(
      { dailyLossCap: 500 },
      (state) => script[state.cycle],
    );
    await engine.runCycle(); // buys 1 BTC at 5 000; the day starts at equity 10 000
    mark(4_400); // −600: over the 500 cap
    await next();
    expect(engine.phase).toBe('reducing');
    await next();
    expect(denied).toEqual(['s:phase:PHASE_REDUCING']); // the add is stopped before the gate
    expect(await quantity()).toBeCloseTo(0.6, 12); // the strategy's trim went through
    expect(engine.state.phaseHolds()[0]).toMatchObject({ source: 'gate:loss-limits', phase: 'reducing' });
  });

  it('the drawdown breaker halts: no strategy order passes, a monitor’s reduction does, the operator resets', async () => {
    let monitorReduces = false;
    const script: Record<number, SignalInput[]> = {
      1: [open(1)],
      3: [open(0.5, 'ADD'), trim(0.2)],
      5: [open(0.1, 'AGAIN')],
    };
    const { engine, denied, mark, quantity, next } = await simEngine(
      { maxDrawdown: 0.1 },
      (state) => script[state.cycle],
      {
        monitors: [
          {
            id: 'guard',
            create: () => ({
              name: 'guard',
              check: () =>
                monitorReduces
                  ? {
                      signals: [
                        {
                          intent: 'reduce' as const,
                          exchange: 'sim',
                          symbol: 'BTC',
                          fraction: 0.5,
                          urgency: 'high' as const,
                          reasons: [{ code: 'GUARD', message: 'guard' }],
                        },
                      ],
                    }
                  : undefined,
            }),
          },
        ],
      },
    );
    await engine.runCycle(); // 1 BTC at 5 000; peak 10 000
    mark(4_000); // equity 9 000: 10 % below the peak
    await next();
    expect(engine.phase).toBe('halted');
    expect(engine.state.phaseHolds()[0]).toMatchObject({ source: 'gate:loss-limits', phase: 'halted' });
    monitorReduces = true;
    await next(); // cycle 3: the strategy's add and its own trim are both stopped; the monitor's reduce executes
    monitorReduces = false;
    expect(denied).toEqual(['s:phase:PHASE_HALTED', 's:phase:PHASE_HALTED']);
    expect(await quantity()).toBeCloseTo(0.5, 12);
    mark(6_000); // a new high does not reset the breaker
    await next();
    expect(engine.phase).toBe('halted');
    engine.setPhase('active', 'reviewed', 'operator');
    await next(); // cycle 5: entries pass again
    expect(engine.phase).toBe('active');
    expect(await quantity()).toBeCloseTo(0.6, 12);
  });

  it('a tripped breaker survives a restart with the memory snapshot', async () => {
    const { engine, mark, next } = await simEngine({ maxDrawdown: 0.1 }, (state) =>
      state.cycle === 1 ? [open(1)] : undefined,
    );
    await engine.runCycle();
    mark(4_000); // −10 %: tripped
    await next();
    expect(engine.phase).toBe('halted');
    const memory = engine.memory.snapshot();
    expect(memory['loss-limits']?.state).toMatchObject({ peak: 10_000, drawdownHit: expect.any(String) });
    await engine.stop('restart');

    // The restarted bot holds 9 500 (5 % below the old peak): on its own it would trade.
    const entryEveryCycle = () => [open(0.1)];
    const restarted = await simEngine({ maxDrawdown: 0.1 }, entryEveryCycle, { balance: 9_500, memory });
    await restarted.engine.runCycle();
    expect(restarted.engine.phase).toBe('halted');
    expect(restarted.engine.state.phaseHolds()[0]).toMatchObject({
      source: 'gate:loss-limits',
      phase: 'halted',
    });
    expect(restarted.denied).toEqual(['s:phase:PHASE_HALTED']);
    expect(await restarted.quantity()).toBe(0);

    const fresh = await simEngine({ maxDrawdown: 0.1 }, entryEveryCycle, { balance: 9_500 });
    await fresh.engine.runCycle();
    expect(fresh.engine.phase).toBe('active'); // without the memory the breaker is forgotten
    expect(await fresh.quantity()).toBeCloseTo(0.1, 12);
  });
});
