import { Engine, parsePluginOptions, type RiskGate, type SignalInput, SimulatedClock } from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { createTestEngine, describeRiskGateContract, proposalFor, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import lossLimits from '../src/index';

describeRiskGateContract('loss-limits', {
  plugin: lossLimits,
  options: { dailyLossCap: 500, maxDrawdown: 0.2 },
});

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

/** A gate over a fake account whose equity we move with a position and the mark. */
async function harness(options: Record<string, unknown>) {
  const test = await createTestEngine({
    start: Date.UTC(2025, 0, 1, 12),
    exchange: { balance: 10_000, prices: { BTC: 100 } },
  });
  await test.exchange.submitOrder({
    account: 'main',
    symbol: 'BTC',
    side: 'buy',
    type: 'market',
    quantity: '100',
  }); // 1 unit of price = 100 of equity
  const gate: RiskGate = lossLimits.setup(
    setupContextFor(test.engine, 'loss-limits'),
    parsePluginOptions(lossLimits, options),
  );
  const at = (mark: number, hours = 0) => {
    test.clock.advanceTo(Date.UTC(2025, 0, 1, 12) + hours * 3_600_000);
    (test.engine.state as { now: number }).now = test.clock.now();
    test.exchange.setPrice('BTC', mark);
    // Apply the hook's phase request the way the engine does each cycle.
    const update = gate.update?.(test.engine.state);
    if (update?.phase) test.engine.requestPhase(update.phase.to, update.phase.reason, 'gate:loss-limits');
    return { update, decision: gate.evaluate(proposalFor(test.engine, entry), test.engine.state) };
  };
  return { ...test, gate, at };
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

  it('a fractional cap uses the day’s starting equity', async () => {
    const { at } = await harness({ dailyLossCapFraction: 0.03 }); // 3 % of 10 000 = 300
    expect(code(await at(100).decision)).toBe('ALLOW');
    expect(code(await at(97.01).decision)).toBe('ALLOW');
    expect(code(await at(97).decision)).toBe('LOSS_DAILY_CAP');
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

  it('refuses options that set no limit', () => {
    expect(() => parsePluginOptions(lossLimits, {})).toThrow(
      /set dailyLossCap, dailyLossCapFraction or maxDrawdown/,
    );
  });
});

describe('loss limits in the engine, on SimExchange', () => {
  it('a daily loss halts new entries while reducing orders still pass', async () => {
    const start = Date.UTC(2025, 0, 1, 9);
    const clock = new SimulatedClock(start);
    const sim = new SimExchange(
      {
        fillModel: 'mark',
        slippage: 0,
        fees: { maker: 0, taker: 0 },
        markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 10 }],
        accounts: [{ id: 'main', balance: 10_000 }],
      },
      { clock },
    );
    const script: Record<number, SignalInput[]> = {
      1: [
        {
          intent: 'open',
          exchange: 'sim',
          symbol: 'BTC',
          side: 'buy',
          quantity: 1,
          reasons: [{ code: 'ENTER', message: 'e' }],
        },
      ],
      3: [
        {
          intent: 'open',
          exchange: 'sim',
          symbol: 'BTC',
          side: 'buy',
          quantity: 0.5,
          reasons: [{ code: 'ADD', message: 'add' }],
        },
        {
          intent: 'reduce',
          exchange: 'sim',
          symbol: 'BTC',
          quantity: 0.4,
          reasons: [{ code: 'TRIM', message: 'trim' }],
        },
      ],
    };
    const engine = new Engine({
      mode: 'backtest',
      clock,
      exchanges: [sim],
      strategies: [{ id: 's', create: () => ({ onCycle: (state) => script[state.cycle] }) }],
      riskGates: [
        {
          id: 'loss',
          create: (context) =>
            lossLimits.setup(
              context,
              parsePluginOptions(lossLimits, { dailyLossCap: 500, dailyAction: 'reducing' }),
            ),
        },
      ],
    });
    const denied: string[] = [];
    engine.events.on('order:denied', (event) => denied.push(`${event.gate}:${event.code}`));
    await engine.init();
    sim.processTicker({ symbol: 'BTC', mark: 5_000, timestamp: clock.now() });
    await engine.runCycle(); // buys 1 BTC at 5 000; the day starts at equity 10 000
    clock.advance(60_000);
    sim.processTicker({ symbol: 'BTC', mark: 4_400, timestamp: clock.now() }); // −600: over the 500 cap
    await engine.runCycle();
    expect(engine.phase).toBe('reducing');
    clock.advance(60_000);
    await engine.runCycle();
    expect(denied).toEqual(['phase:PHASE_REDUCING']); // the add is stopped before the gate
    expect((await sim.fetchPositions('main'))[0]?.quantity).toBeCloseTo(0.6, 12); // the trim went through
    expect(engine.state.phaseHolds()[0]).toMatchObject({ source: 'gate:loss-limits', phase: 'reducing' });
  });
});
