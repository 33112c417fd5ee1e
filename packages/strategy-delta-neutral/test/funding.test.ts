import {
  createEngine,
  type MemorySnapshot,
  parsePluginOptions,
  type Signal,
  SimulatedClock,
} from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { describeStrategyContract } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import deltaNeutral from '../src/index';
import { START } from './harness';

const MINUTE = 60_000;

/**
 * A short SOL perp on `drift` (account `collector`) hedged by a long on `hedge` (account `main`):
 * two simulated venues on one clock, filling at the mark without slippage.
 */
async function fundingHarness(options: Record<string, unknown> = {}, memory?: MemorySnapshot, start = START) {
  const clock = new SimulatedClock(start);
  const venue = (id: string, accounts: string[]) =>
    new SimExchange(
      {
        fillModel: 'mark',
        slippage: 0,
        fees: { maker: 0, taker: 0.0005 },
        defaultFundingRatePerHour: 0,
        markets: [
          { symbol: 'SOL', tickSize: '0.01', lotSize: '0.001', minNotional: 1, fundingIntervalHours: 1 },
        ],
        accounts: accounts.map((account) => ({ id: account, balance: 10_000 })),
      },
      { id, clock },
    );
  const drift = venue('drift', ['collector']);
  const hedge = venue('hedge', ['main', 'backup']);
  const parsed = parsePluginOptions(deltaNeutral, {
    mode: 'funding',
    short: { exchange: 'drift', symbol: 'SOL', account: 'collector' },
    hedges: [{ exchange: 'hedge', symbol: 'SOL' }],
    size: { quantity: 10 },
    driftThreshold: 0.02,
    cooldown: '30m',
    minTradeSize: 0.005,
    interval: '1m',
    ...options,
  });
  const engine = createEngine({
    mode: 'backtest',
    clock,
    exchanges: [drift, hedge],
    strategies: [{ id: 'dn', create: (context) => deltaNeutral.setup(context, parsed) }],
    accountRefreshMs: 0,
    accountEventIntervalMs: 0,
    ...(memory ? { memory } : {}),
  });
  const signals: Signal[] = [];
  const skips: string[] = [];
  engine.events.on('signal', (signal) => signals.push(signal));
  engine.events.on('plugin:record', (event) => skips.push(String(event.data.code)));
  await engine.init();
  const prices = { drift: 100, hedge: 100 };
  const tick = () => {
    drift.processTicker({ symbol: 'SOL', mark: prices.drift, timestamp: clock.now() });
    hedge.processTicker({ symbol: 'SOL', mark: prices.hedge, timestamp: clock.now() });
  };
  tick();
  const cycle = async (advanceMs = MINUTE) => {
    clock.advance(advanceMs);
    tick();
    const before = signals.length;
    await engine.runCycle();
    return signals.slice(before);
  };
  const position = (exchange: 'drift' | 'hedge') =>
    engine.state.position(exchange, 'SOL', exchange === 'drift' ? 'collector' : 'main')?.quantity ?? 0;
  /** Moves the hedge position by `quantity` outside the strategy (a partial liquidation, a manual trade). */
  const nudgeHedge = async (quantity: number) => {
    await hedge.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: quantity > 0 ? 'buy' : 'sell',
      type: 'market',
      quantity: String(Math.abs(quantity)),
    });
  };
  return { clock, engine, drift, hedge, prices, cycle, position, nudgeHedge, signals, skips };
}

// The contract's venue is a FakeExchange with one BTC market and one account (`main`). Both shapes
// need two accounts, and the strategy never trades an account whose equity it cannot see (its
// orders are clamped by live equity), so the contract replay produces no signal here: it checks
// metadata, strict options, setup and instance isolation. Signals are covered by the tests below
// and by the paired tests, on SimExchange venues with real accounts.
describeStrategyContract('delta-neutral (funding shape)', {
  plugin: deltaNeutral,
  options: {
    mode: 'funding',
    short: { exchange: 'fake', symbol: 'BTC', account: 'main' },
    hedges: [{ exchange: 'fake', symbol: 'BTC', account: 'hedge' }],
    size: { notional: 1_000 },
  },
  instruments: [
    {
      symbol: 'BTC',
      candles: Array.from({ length: 30 }, (_, index) => ({
        timestamp: START + index * MINUTE,
        open: 100 + index,
        high: 101 + index,
        low: 99 + index,
        close: 100 + index,
        volume: 1,
      })),
    },
  ],
  expectSignals: false,
});

describe('funding shape: entry and exit', () => {
  it('opens the short and its hedge as one group, equal notional', async () => {
    const { cycle, position } = await fundingHarness();
    const opened = await cycle();
    expect(
      opened.map((signal) => [signal.exchange, signal.account, signal.intent, signal.side, signal.quantity]),
    ).toEqual([
      ['drift', 'collector', 'open', 'sell', 10],
      ['hedge', 'main', 'open', 'buy', 10],
    ]);
    expect(new Set(opened.map((signal) => signal.groupId)).size).toBe(1);
    expect([position('drift'), position('hedge')]).toEqual([-10, 10]);
    expect(await cycle()).toEqual([]);
  });

  it('splits the hedge by weight: the hedges together match the short’s notional', async () => {
    const { cycle, engine } = await fundingHarness({
      size: { notional: 1_200 },
      hedges: [
        { exchange: 'hedge', symbol: 'SOL', account: 'main', weight: 2 },
        { exchange: 'hedge', symbol: 'SOL', account: 'backup', weight: 1 },
      ],
    });
    await cycle();
    expect(engine.state.position('drift', 'SOL', 'collector')?.quantity).toBe(-12);
    expect(engine.state.position('hedge', 'SOL', 'main')?.quantity).toBe(8);
    expect(engine.state.position('hedge', 'SOL', 'backup')?.quantity).toBe(4);
  });

  it('waits for funding that pays, and closes every leg when it falls below the exit rate', async () => {
    const { cycle, drift, position, skips } = await fundingHarness({
      minEntryFundingRatePerHour: 0.00001,
      exitFundingRatePerHour: 0,
    });
    expect(await cycle()).toEqual([]);
    expect(skips).toEqual(['FUNDING_TOO_LOW']);
    drift.processFundingRate('SOL', 0.00005);
    expect((await cycle()).map((signal) => signal.intent)).toEqual(['open', 'open']);
    drift.processFundingRate('SOL', -0.00002);
    const closed = await cycle();
    expect(closed.map((signal) => [signal.exchange, signal.intent, signal.reasons[0]?.code])).toEqual([
      ['drift', 'close', 'FUNDING_EXIT'],
      ['hedge', 'close', 'FUNDING_EXIT'],
    ]);
    expect([position('drift'), position('hedge')]).toEqual([0, 0]);
  });
});

describe('funding shape: rebalancing', () => {
  it('net long past the threshold expands the short by the net delta; net short reduces it', async () => {
    const { cycle, position, nudgeHedge } = await fundingHarness({ cooldown: 0 });
    await cycle();
    await nudgeHedge(0.5); // hedge 10.5 vs short −10: net +50 of gross 2,050 = 2.4 %
    const expand = await cycle();
    expect(
      expand.map((signal) => [signal.intent, signal.side, signal.quantity, signal.reasons[0]?.code]),
    ).toEqual([['open', 'sell', 0.5, 'EXPAND_SHORT']]);
    expect(position('drift')).toBeCloseTo(-10.5, 9);
    await nudgeHedge(-1); // hedge 9.5 vs short −10.5: net −100 of 2,000 = −5 %
    const reduce = await cycle();
    expect(reduce.map((signal) => [signal.intent, signal.quantity, signal.reasons[0]?.code])).toEqual([
      ['reduce', 1, 'REDUCE_SHORT'],
    ]);
    expect(position('drift')).toBeCloseTo(-9.5, 9);
  });

  it('does nothing at or under the threshold', async () => {
    const { cycle, nudgeHedge } = await fundingHarness({ cooldown: 0 });
    await cycle();
    await nudgeHedge(0.4); // net 40 / gross 2,040 = 1.96 %
    expect(await cycle()).toEqual([]);
  });

  it('the cooldown holds a second rebalance back until 30 minutes after the first', async () => {
    const { cycle, nudgeHedge, skips } = await fundingHarness();
    await cycle();
    await nudgeHedge(0.5);
    expect((await cycle()).map((signal) => signal.reasons[0]?.code)).toEqual(['EXPAND_SHORT']);
    await nudgeHedge(-1);
    for (let minute = 1; minute < 30; minute += 1) expect(await cycle()).toEqual([]);
    expect(skips).toContain('COOLDOWN');
    expect((await cycle()).map((signal) => signal.reasons[0]?.code)).toEqual(['REDUCE_SHORT']);
  });

  it('the cooldown survives a restart: it is kept in plugin memory', async () => {
    const first = await fundingHarness();
    await first.cycle();
    await first.nudgeHedge(0.5);
    await first.cycle();
    const memory = first.engine.memory.snapshot();
    const rebalancedAt = first.clock.now();
    expect(memory.dn?.funding).toMatchObject({ lastRebalanceAt: rebalancedAt });
    // A new engine 10 minutes later with the kept memory: the cooldown still runs.
    const second = await fundingHarness({}, memory, rebalancedAt + 10 * MINUTE);
    await second.nudgeHedge(-10); // positions are per engine here: make the second book net short
    expect(await second.cycle()).toEqual([]);
    expect(second.skips).toContain('COOLDOWN');
  });

  it('filters dust: a rebalance smaller than minTradeSize is skipped', async () => {
    const { cycle, nudgeHedge, skips, prices } = await fundingHarness({
      minTradeSize: 0.5,
      size: { quantity: 1 },
    });
    await cycle();
    await nudgeHedge(0.03); // net 3 of gross 203 = 1.5 %: under the threshold
    prices.hedge = 103; // 1.03 × 103 = 106.09 vs 100: net 6.09 / 206.09 = 2.95 %, a 0.06 SOL trade
    expect(await cycle()).toEqual([]);
    expect(skips).toContain('BELOW_MIN_TRADE_SIZE');
  });
});
