import {
  allow,
  type ClosedTrade,
  deny,
  Engine,
  type MemorySnapshot,
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

describe('pacing boundaries, continued', () => {
  const reduce: SignalInput = {
    intent: 'reduce',
    exchange: 'fake',
    symbol: 'BTC',
    quantity: 0.01,
    reasons: [{ code: 'T', message: 't' }],
  };
  const holdBtc = (exchange: { submitOrder: (request: never) => Promise<unknown> }) =>
    exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    } as never);

  it('applyToReducing: reductions count and are limited like entries (under, at, over)', async () => {
    const { propose, exchange } = await gate({ maxTradesPerHour: 2, applyToReducing: true });
    await holdBtc(exchange);
    expect(code(await propose(0, reduce))).toBe('ALLOW'); // 1 of 2
    expect(code(await propose(1000, reduce))).toBe('ALLOW'); // 2 of 2: at the limit
    const over = await propose(2000, reduce);
    expect(over).toMatchObject({
      action: 'deny',
      code: 'PACING_HOURLY_LIMIT',
      message: '2 orders in the last hour reach the limit of 2',
    });
    expect(code(await propose(3000))).toBe('PACING_HOURLY_LIMIT'); // the reductions count against entries too
  });

  it('without applyToReducing, reductions neither count nor are limited', async () => {
    const { propose, exchange } = await gate({ maxTradesPerHour: 2, minSpacing: '1m' });
    await holdBtc(exchange);
    expect(code(await propose(0))).toBe('ALLOW');
    expect(code(await propose(1000, reduce))).toBe('ALLOW'); // inside minSpacing: reductions are not spaced
    // Spacing is measured from the last order of any kind, the reduction included.
    expect(code(await propose(60_999))).toBe('PACING_MIN_SPACING');
    expect(code(await propose(61_000))).toBe('ALLOW'); // the second entry: the reduction did not count
    expect(code(await propose(130_000))).toBe('PACING_HOURLY_LIMIT');
    expect(code(await propose(131_000, reduce))).toBe('ALLOW'); // nor are reductions limited
  });

  it('maxTradesPerDay: the rolling 24 h window lets the oldest order roll off (1 ms before it does not)', async () => {
    const { propose } = await gate({ maxTradesPerDay: 2 });
    expect(code(await propose(0))).toBe('ALLOW');
    expect(code(await propose(HOUR))).toBe('ALLOW'); // at the limit
    expect(await propose(2 * HOUR)).toMatchObject({
      action: 'deny',
      code: 'PACING_DAILY_LIMIT',
      message: '2 orders in the last 24 h reach the limit of 2',
    });
    expect(code(await propose(24 * HOUR - 1))).toBe('PACING_DAILY_LIMIT'); // the first is 1 ms short of 24 h old
    expect(code(await propose(24 * HOUR))).toBe('ALLOW'); // window (now − 24 h, now]: it rolled off
    expect(code(await propose(24 * HOUR + 1))).toBe('PACING_DAILY_LIMIT'); // the one at 1 h and the new one
  });

  it('a break-even trade is its own case: its cooldown defaults to the win cooldown, not the loss one', async () => {
    const { propose, engine } = await gate({
      cooldownAfterWin: '1m',
      cooldownAfterLoss: '10m',
      cooldownAfterBreakEven: '5m',
    });
    const closed = (symbol: string, netPnl: number) =>
      engine.events.emit('trade:closed', {
        exchange: 'fake',
        symbol,
        netPnl,
        closedAt: 1_700_000_000_000,
      } as ClosedTrade);
    closed('BTC', 0);
    expect(await propose(299_999, entry('BTC'))).toMatchObject({
      code: 'PACING_COOLDOWN_BREAK_EVEN',
      message: 'BTC closed a break-even trade 299999 ms ago; cooldown 300000 ms',
    });
    expect(code(await propose(300_000, entry('BTC')))).toBe('ALLOW');

    const defaults = await gate({ cooldownAfterWin: '1m', cooldownAfterLoss: '10m' });
    defaults.engine.events.emit('trade:closed', {
      exchange: 'fake',
      symbol: 'ETH',
      netPnl: 1e-12, // float noise around zero is break-even, not a win or a loss
      closedAt: 1_700_000_000_000,
    } as ClosedTrade);
    expect(code(await defaults.propose(59_999, entry('ETH')))).toBe('PACING_COOLDOWN_BREAK_EVEN');
    expect(code(await defaults.propose(60_000, entry('ETH')))).toBe('ALLOW'); // the win cooldown, not 10 m
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

describe('pacing remembers across a restart (plugin memory)', () => {
  async function simEngine(memory?: MemorySnapshot, start = Date.UTC(2025, 0, 1), laterGate?: RiskGate) {
    const clock = new SimulatedClock(start);
    const sim = new SimExchange(
      {
        fillModel: 'mark',
        slippage: 0,
        fees: { maker: 0, taker: 0 },
        defaultFundingRatePerHour: 0,
        markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001' }],
        accounts: [{ id: 'main', balance: 1e6 }],
      },
      { clock },
    );
    let script: SignalInput[] = [];
    const engine = new Engine({
      mode: 'backtest',
      clock,
      exchanges: [sim],
      ...(memory ? { memory } : {}),
      strategies: [
        {
          id: 's',
          create: () => ({
            onCycle: () => {
              const out = script;
              script = [];
              return out;
            },
          }),
        },
      ],
      riskGates: [
        {
          id: 'pacing',
          create: (context) =>
            pacing.setup(
              context,
              parsePluginOptions(pacing, { maxTradesPerHour: 3, cooldownAfterLoss: '30m' }),
            ),
        },
        ...(laterGate ? [{ id: laterGate.name, create: () => laterGate }] : []),
      ],
    });
    const denied: string[] = [];
    engine.events.on('order:denied', (event) => denied.push(event.code));
    await engine.init();
    const mark = (price: number) => sim.processTicker({ symbol: 'BTC', mark: price, timestamp: clock.now() });
    mark(50_000);
    const run = async (signals: SignalInput[]) => {
      script = signals;
      clock.advance(60_000);
      await engine.runCycle();
    };
    return { engine, sim, clock, denied, run, mark };
  }
  const buy = (symbol = 'BTC'): SignalInput => ({
    intent: 'open',
    exchange: 'sim',
    symbol,
    side: 'buy',
    quantity: 0.01,
    reasons: [{ code: 'ENTER', message: 'e' }],
  });

  it('the orders sent in the last hour and the last loss still pace after a restart', async () => {
    const first = await simEngine();
    await first.run([buy(), buy()]);
    await first.run([buy()]); // three in the hour
    const memory = first.engine.memory.snapshot();
    expect(memory.pacing?.orders).toHaveLength(3);
    await first.engine.stop('restart');

    const restarted = await simEngine(memory, first.clock.now());
    await restarted.run([buy()]);
    expect(restarted.denied).toEqual(['PACING_HOURLY_LIMIT']);
    const fresh = await simEngine(undefined, first.clock.now());
    await fresh.run([buy()]);
    expect(fresh.denied).toEqual([]); // without the memory the window is empty

    // A losing close is remembered too: the cooldown outlives a restart.
    const loser = await simEngine();
    await loser.run([buy()]);
    loser.mark(49_000);
    await loser.run([
      { intent: 'close', exchange: 'sim', symbol: 'BTC', reasons: [{ code: 'X', message: 'x' }] },
    ]);
    const afterLoss = await simEngine(loser.engine.memory.snapshot(), loser.clock.now());
    await afterLoss.run([buy()]);
    expect(afterLoss.denied).toEqual(['PACING_COOLDOWN_LOSS']);
  });

  it('only orders that went out are remembered: not one a later gate denies, nor one the venue rejects', async () => {
    const laterGate: RiskGate = {
      name: 'size',
      evaluate: (proposal) =>
        proposal.quantity > 0.015 && proposal.quantity < 1 ? deny('TOO_BIG', 'too big') : allow(),
    };
    const first = await simEngine(undefined, Date.UTC(2025, 0, 1), laterGate);
    const failed: string[] = [];
    first.engine.events.on('order:failed', (event) => failed.push(event.reason ?? event.code));
    await first.run([buy(), { ...buy(), quantity: 0.02 }, { ...buy(), quantity: 1000 }]);
    expect(first.denied).toEqual(['TOO_BIG']);
    expect(failed).toHaveLength(1); // 50 million notional on a 1 million account
    expect(first.engine.memory.snapshot().pacing?.orders).toHaveLength(1);
  });
});
