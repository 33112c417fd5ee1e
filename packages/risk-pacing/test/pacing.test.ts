import {
  type ClosedTrade,
  Engine,
  parsePluginOptions,
  type RiskGate,
  type SignalInput,
  SimulatedClock,
} from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { createTestEngine, describeRiskGateContract, proposalFor, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import pacing from '../src/index';

describeRiskGateContract('pacing', { plugin: pacing, options: { maxTradesPerHour: 3, minSpacing: '10s' } });

const HOUR = 3_600_000;
const entry = (symbol = 'BTC', quantity = 0.1): SignalInput => ({
  intent: 'open',
  exchange: 'fake',
  symbol,
  side: 'buy',
  quantity,
  reasons: [{ code: 'T', message: 't' }],
});

async function gate(options: Record<string, unknown>) {
  const test = await createTestEngine({ exchange: { markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }] } });
  const instance: RiskGate = pacing.setup(
    setupContextFor(test.engine, 'pacing'),
    parsePluginOptions(pacing, options),
  );
  /** Proposes an entry at `at` ms after start and returns the decision (allowed ones count). */
  const propose = async (at: number, signal = entry()) => {
    test.clock.advanceTo(1_700_000_000_000 + at);
    (test.engine.state as { now: number }).now = test.clock.now();
    return instance.evaluate(proposalFor(test.engine, signal), test.engine.state);
  };
  return { ...test, propose };
}

const code = (decision: Awaited<ReturnType<RiskGate['evaluate']>>) =>
  decision.action === 'allow' ? 'ALLOW' : decision.code;

describe('pacing gate boundaries', () => {
  it('hourly limit: just under allows, at the limit denies, and the window rolls', async () => {
    const { propose } = await gate({ maxTradesPerHour: 3 });
    expect(code(await propose(0))).toBe('ALLOW');
    expect(code(await propose(1000))).toBe('ALLOW');
    expect(code(await propose(2000))).toBe('ALLOW'); // the third: just under → allowed
    expect(code(await propose(3000))).toBe('PACING_HOURLY_LIMIT'); // a fourth: at the limit
    expect(code(await propose(HOUR - 1))).toBe('PACING_HOURLY_LIMIT'); // the first is 1 ms short of an hour old
    expect(code(await propose(HOUR))).toBe('ALLOW'); // the window is (now − 1 h, now]: the first has left it
  });

  it('daily limit and the hard daily cap (which even reductions obey)', async () => {
    const { propose, exchange } = await gate({ maxTradesPerDay: 2, hardDailyCap: 3 });
    await exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    }); // a position to reduce
    expect(code(await propose(0))).toBe('ALLOW');
    expect(code(await propose(HOUR))).toBe('ALLOW');
    expect(code(await propose(2 * HOUR))).toBe('PACING_DAILY_LIMIT');
    const reduce: SignalInput = {
      intent: 'reduce',
      exchange: 'fake',
      symbol: 'BTC',
      quantity: 0.1,
      reasons: [{ code: 'T', message: 't' }],
    };
    expect(code(await propose(3 * HOUR, reduce))).toBe('ALLOW'); // reductions are not paced by the daily limit…
    expect(code(await propose(4 * HOUR, reduce))).toBe('PACING_HARD_DAILY_CAP'); // …but the hard cap stops them
    expect(code(await propose(24 * HOUR + 1, reduce))).toBe('ALLOW'); // the first order left the 24 h window
  });

  it('minimum spacing: 1 ms under denies, exactly at and over allow', async () => {
    const { propose } = await gate({ minSpacing: '10s' });
    expect(code(await propose(0))).toBe('ALLOW');
    expect(code(await propose(9_999))).toBe('PACING_MIN_SPACING');
    expect(code(await propose(10_000))).toBe('ALLOW');
    expect(code(await propose(20_001))).toBe('ALLOW');
  });

  it('cooldowns differ after a win and after a loss, per symbol', async () => {
    const { propose, engine } = await gate({ cooldownAfterWin: '1m', cooldownAfterLoss: '10m' });
    const closed = (symbol: string, netPnl: number, closedAt: number) =>
      engine.events.emit('trade:closed', {
        exchange: 'fake',
        symbol,
        netPnl,
        closedAt: 1_700_000_000_000 + closedAt,
      } as ClosedTrade);
    closed('BTC', 5, 0);
    closed('ETH', -5, 0);
    expect(code(await propose(59_999, entry('BTC')))).toBe('PACING_COOLDOWN_WIN');
    expect(code(await propose(60_000, entry('BTC')))).toBe('ALLOW');
    expect(code(await propose(599_999, entry('ETH')))).toBe('PACING_COOLDOWN_LOSS');
    expect(code(await propose(600_000, entry('ETH')))).toBe('ALLOW');
  });

  it('an order a later gate denies, or the venue refuses, does not count', async () => {
    const { propose, engine } = await gate({ maxTradesPerHour: 1 });
    const instance = pacing.setup(
      setupContextFor(engine, 'pacing'),
      parsePluginOptions(pacing, { maxTradesPerHour: 1 }),
    );
    const first = proposalFor(engine, entry());
    expect(code(await instance.evaluate(first, engine.state))).toBe('ALLOW');
    expect(code(await instance.evaluate(proposalFor(engine, entry()), engine.state))).toBe(
      'PACING_HOURLY_LIMIT',
    );
    engine.events.emit('order:denied', {
      at: 0,
      signal: first.signal,
      proposal: first,
      gate: 'exposure',
      code: 'X',
      message: 'x',
    });
    const second = proposalFor(engine, entry());
    expect(code(await instance.evaluate(second, engine.state))).toBe('ALLOW');
    engine.events.emit('order:failed', {
      at: 0,
      proposal: second,
      code: 'ORDER_REJECTED',
      message: 'x',
      retryable: false,
    });
    expect(code(await instance.evaluate(proposalFor(engine, entry()), engine.state))).toBe('ALLOW');
    expect(code(await propose(1000))).toBe('ALLOW'); // the other instance counts on its own
  });
});

describe('pacing in the engine, on SimExchange', () => {
  it('a burst of signals is paced: three orders per hour go out, the rest are denied with the reason', async () => {
    const clock = new SimulatedClock(Date.UTC(2025, 0, 1));
    const sim = new SimExchange(
      {
        fillModel: 'mark',
        slippage: 0,
        markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001' }],
        accounts: [{ id: 'main', balance: 1e6 }],
      },
      { clock },
    );
    const burst = Array.from({ length: 10 }, () => ({
      intent: 'open' as const,
      exchange: 'sim',
      symbol: 'BTC',
      side: 'buy' as const,
      quantity: 0.01,
      reasons: [{ code: 'BURST', message: 'b' }],
    }));
    const engine = new Engine({
      mode: 'backtest',
      clock,
      exchanges: [sim],
      strategies: [
        { id: 'burst', create: () => ({ onCycle: (state) => (state.cycle <= 2 ? burst : undefined) }) },
      ],
      riskGates: [
        {
          id: 'pacing',
          create: (context) => pacing.setup(context, parsePluginOptions(pacing, { maxTradesPerHour: 3 })),
        },
      ],
    });
    const denied: string[] = [];
    const decisions: string[] = [];
    engine.events.on('order:denied', (event) => denied.push(event.code));
    engine.events.on('risk:decision', (event) => decisions.push(`${event.gate}:${event.decision.action}`));
    await engine.init();
    sim.processTicker({ symbol: 'BTC', mark: 50_000, timestamp: clock.now() });
    await engine.runCycle();
    clock.advance(60_000);
    await engine.runCycle();
    expect((await sim.fetchPositions('main'))[0]?.quantity).toBeCloseTo(0.03, 12);
    expect(denied).toEqual(Array(17).fill('PACING_HOURLY_LIMIT'));
    expect(decisions.filter((entry) => entry === 'pacing:allow')).toHaveLength(3);
    expect(decisions.filter((entry) => entry.startsWith('phase:'))).toHaveLength(20); // every proposal's verdicts are in the stream
  });
});
