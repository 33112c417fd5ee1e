import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../src/clock';
import { Engine } from '../src/engine/engine';
import type {
  ClosedTrade,
  EnginePausedEvent,
  OrderCancelEvent,
  OrderDryRunEvent,
  PhaseChange,
} from '../src/events';
import { deny } from '../src/risk';
import type { SignalInput } from '../src/signal';
import type { EngineCheckpoint } from '../src/store';
import type { Alert } from '../src/types';
import { FakeExchange, gate, rule, scripted, setup, spec, T0, why } from './helpers';

const open = (symbol: string, quantity: number, extra: Partial<SignalInput> = {}): SignalInput => ({
  intent: 'open',
  exchange: 'fake',
  symbol,
  side: 'buy',
  quantity,
  reasons: why(`ENTER_${symbol}`),
  ...extra,
});

/** A checkpoint as it comes back from a store: through JSON. */
const throughJson = (checkpoint: EngineCheckpoint): EngineCheckpoint =>
  JSON.parse(JSON.stringify(checkpoint));

async function restartOn(exchange: FakeExchange, checkpoint: EngineCheckpoint, extra = {}) {
  const engine = new Engine({
    mode: 'paper',
    clock: new SimulatedClock(T0 + 60_000),
    exchanges: [exchange],
    restore: throughJson(checkpoint),
    ...extra,
  });
  const alerts: Alert[] = [];
  const trades: ClosedTrade[] = [];
  engine.events.on('alert', (alert) => alerts.push(alert));
  engine.events.on('trade:closed', (trade) => trades.push(trade));
  await engine.init();
  return { engine, alerts, trades };
}

describe('checkpoint and restore', () => {
  it('resumes positions, round trips and open orders without adopting its own', async () => {
    const { engine, exchange } = await setup({
      exchange: { takerFeeRate: 0.001 },
      strategies: [
        scripted('trend', (state) =>
          state.cycle === 1
            ? [open('BTC', 2), open('ETH', 1, { orderType: 'limit', price: 90, reasons: why('BID_ETH') })]
            : undefined,
        ),
      ],
    });
    await engine.runCycle();
    const checkpoint = engine.checkpoint();
    expect(checkpoint.ledger.records).toHaveLength(1);
    expect(checkpoint.openOrders).toHaveLength(1);
    await engine.stop('restart', { cancelOpenOrders: false });

    const { engine: resumed, alerts, trades } = await restartOn(exchange, checkpoint);
    expect(alerts).toEqual([]);
    expect(resumed.state.position('fake', 'BTC')).toMatchObject({
      quantity: 2,
      entryPrice: 100,
      strategyId: 'trend',
      entryReasons: ['ENTER_BTC'],
      fees: 0.2,
    });
    expect(resumed.state.openOrders('fake', 'ETH')).toHaveLength(1);

    // The round trip that began before the restart ends after it, with everything counted once.
    exchange.setPrice('BTC', 110);
    resumed.enqueueSignal({ intent: 'close', exchange: 'fake', symbol: 'BTC', reasons: why('TAKE_PROFIT') });
    await resumed.runCycle();
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({
      strategyId: 'trend',
      entryPrice: 100,
      exitPrice: 110,
      pricePnl: 20,
      entryReasons: ['ENTER_BTC'],
      exitReasons: ['TAKE_PROFIT'],
    });
    expect(trades[0]?.fees).toBeCloseTo(0.2 + 0.22, 12);
  });

  it('reconciles what changed at the venue while it was down, with an alert for each difference', async () => {
    const { engine, exchange } = await setup({
      strategies: [
        scripted('s', (state) =>
          state.cycle === 1 ? [open('BTC', 1), open('ETH', 1, { orderType: 'limit', price: 90 })] : undefined,
        ),
      ],
    });
    await engine.runCycle();
    const checkpoint = engine.checkpoint();
    await engine.stop('restart', { cancelOpenOrders: false });
    const eth = (await exchange.fetchOpenOrders('main'))[0];
    // While down: BTC was closed elsewhere, ETH's bid was cancelled, and an ETH short appeared.
    exchange.setPosition('main', 'BTC', 0, 0);
    await exchange.cancelOrder({ account: 'main', symbol: 'ETH', orderId: eth?.id ?? '' });
    exchange.setPosition('main', 'ETH', -3, 95);

    const { engine: resumed, alerts } = await restartOn(exchange, checkpoint);
    expect(alerts.map((alert) => `${alert.code} ${alert.data?.symbol}`).sort()).toEqual([
      'POSITION_ADOPTED ETH',
      'POSITION_RECONCILED BTC',
    ]);
    expect(resumed.state.position('fake', 'BTC')).toBeUndefined();
    expect(resumed.state.position('fake', 'ETH')).toMatchObject({ quantity: -3, entryReasons: ['ADOPTED'] });
    expect(resumed.state.openOrders()).toHaveLength(0);
    // No strategy of the resumed engine trades ETH, yet the adopted short is priced (its ticker is
    // subscribed), so an exit rule or a monitor can still close it.
    expect(exchange.isSubscribed({ channel: 'ticker', symbol: 'ETH' })).toBe(true);
    expect(resumed.state.referencePrice('fake', 'ETH')).toBeGreaterThan(0);
  });

  it('keeps phase holds and plugin memory across the restart', async () => {
    const { engine, exchange } = await setup({
      riskGates: [gate('breaker', () => deny('TRIPPED', 'tripped', { to: 'halted', reason: 'loss cap' }))],
      strategies: [scripted('s', (state) => (state.cycle === 1 ? [open('BTC', 1)] : undefined))],
    });
    await engine.runCycle();
    expect(engine.phase).toBe('halted');
    engine.memory.forComponent('breaker').set('peak', 10_500);
    const checkpoint = engine.checkpoint();
    await engine.stop('restart');

    const phases: PhaseChange[] = [];
    const resumedEngine = new Engine({
      mode: 'paper',
      clock: new SimulatedClock(T0),
      exchanges: [exchange],
      restore: throughJson(checkpoint),
    });
    resumedEngine.events.on('phase', (change) => phases.push(change));
    await resumedEngine.init();
    expect(resumedEngine.phase).toBe('halted');
    expect(resumedEngine.state.phaseHolds()[0]).toMatchObject({ source: 'gate:breaker', reason: 'loss cap' });
    expect(resumedEngine.memory.forComponent('breaker').get('peak')).toBe(10_500);
  });

  it('refuses to restore into a ledger that has already traded', async () => {
    const { engine } = await setup({
      strategies: [scripted('s', (state) => (state.cycle === 1 ? [open('BTC', 1)] : undefined))],
    });
    await engine.runCycle();
    expect(() => engine.ledger.restoreState(engine.checkpoint().ledger)).toThrow(/restored before/);
  });
});

describe('pause and resume', () => {
  it('stops strategies but keeps exit rules working, and records both transitions', async () => {
    let calls = 0;
    const paused: EnginePausedEvent[] = [];
    const { engine, exchange } = await setup({
      strategies: [
        scripted('s', () => {
          calls += 1;
          return calls === 1 ? [open('BTC', 1)] : undefined;
        }),
      ],
      exitRules: [
        rule('stop', 2, 0, (state) =>
          (state.referencePrice('fake', 'BTC') ?? 100) < 95
            ? { action: 'close', code: 'STOP', message: 'stop' }
            : null,
        ),
      ],
    });
    engine.events.on('engine:paused', (event) => paused.push(event));
    await engine.runCycle();
    engine.pause('manual check', 'dashboard');
    exchange.setPrice('BTC', 90);
    await engine.runCycle();
    await engine.runCycle();
    expect(calls).toBe(1);
    expect(engine.state.position('fake', 'BTC')).toBeUndefined();
    engine.resume('done', 'dashboard');
    await engine.runCycle();
    expect(calls).toBe(2);
    expect(paused.map((event) => [event.paused, event.reason, event.source])).toEqual([
      [true, 'manual check', 'dashboard'],
      [false, 'done', 'dashboard'],
    ]);
  });
});

describe('dry run', () => {
  it('runs gates and records each order it would send, with costs, and sends nothing', async () => {
    const dryRuns: OrderDryRunEvent[] = [];
    const { engine, exchange } = await setup({
      dryRun: true,
      exchange: { markets: [{ symbol: 'BTC', takerFeeRate: 0.0005 }] },
      strategies: [scripted('s', (state) => (state.cycle === 1 ? [open('BTC', 2)] : undefined))],
    });
    engine.events.on('order:dry-run', (event) => dryRuns.push(event));
    await engine.runCycle();
    expect(exchange.requests).toHaveLength(0);
    expect(dryRuns).toHaveLength(1);
    expect(dryRuns[0]?.proposal.request).toMatchObject({ side: 'buy', quantity: '2' });
    expect(dryRuns[0]?.estimatedFee).toBeCloseTo(2 * 100 * 0.0005, 12);
    // No book yet: slippage cannot be costed, and the event says so rather than guessing.
    expect(dryRuns[0]?.estimatedSlippage).toBeUndefined();
    expect(engine.state.position('fake', 'BTC')).toBeUndefined();

    // With a book, the walk of 2 BTC costs 1 × 0 + 1 × (101 − 100).
    exchange.events.emit('orderBook', {
      exchange: 'fake',
      symbol: 'BTC',
      timestamp: T0,
      bids: [[99.9, 5]],
      asks: [
        [100, 1],
        [101, 1],
        [102, 5],
      ],
    });
    engine.enqueueSignal(open('BTC', 2), 'operator');
    await engine.runCycle();
    expect(dryRuns[1]?.estimatedSlippage).toBeCloseTo(1, 12);
    expect(exchange.requests).toHaveLength(0);
  });
});

describe('cancels', () => {
  it('a cancel signal goes out even when halted; the phase tightening cancels only risk-adding orders', async () => {
    const cancels: OrderCancelEvent[] = [];
    const { engine, exchange } = await setup({
      strategies: [
        scripted('s', (state) => {
          if (state.cycle === 1) return [open('BTC', 1), open('ETH', 1, { orderType: 'limit', price: 90 })];
          if (state.cycle === 2)
            return [
              {
                intent: 'reduce',
                exchange: 'fake',
                symbol: 'BTC',
                fraction: 0.5,
                orderType: 'limit',
                price: 120,
                reasons: why('TRIM_AT_120'),
              },
            ];
          return undefined;
        }),
      ],
    });
    engine.events.on('order:cancel', (event) => cancels.push(event));
    await engine.runCycle();
    await engine.runCycle();
    expect(engine.state.openOrders()).toHaveLength(2);

    engine.setPhase('reducing', 'operator check');
    await engine.runCycle();
    // The ETH bid would add risk: cancelled. The BTC trim is reduce-only: it stays.
    expect(cancels.map((event) => `${event.order.symbol} ${event.ok}`)).toEqual(['ETH true']);
    expect(cancels[0]?.signal.reasons[0]?.code).toBe('PHASE_CANCEL');
    expect(engine.state.openOrders().map((order) => order.symbol)).toEqual(['BTC']);

    engine.setPhase('halted', 'stop everything');
    engine.enqueueSignal({
      intent: 'cancel',
      exchange: 'fake',
      symbol: 'BTC',
      reasons: why('OPERATOR_CANCEL'),
    });
    await engine.runCycle();
    expect(cancels.map((event) => event.order.symbol)).toEqual(['ETH', 'BTC']);
    expect(await exchange.fetchOpenOrders('main')).toHaveLength(0);
  });
});

describe('start and stop', () => {
  it('a stop during a slow connect wins: the loop never starts and both calls settle', async () => {
    const exchange = new FakeExchange({ markets: [{ symbol: 'BTC' }] });
    const connect = exchange.connect.bind(exchange);
    let releaseConnect: () => void = () => undefined;
    exchange.connect = () => new Promise<void>((resolve) => (releaseConnect = resolve)).then(connect);
    const engine = new Engine({ mode: 'paper', clock: new SimulatedClock(T0), exchanges: [exchange] });
    const started = engine.start();
    const stopped = engine.stop('SIGINT');
    releaseConnect();
    await started;
    await expect(stopped).resolves.toMatchObject({ reason: 'SIGINT' });
    expect(engine.isRunning).toBe(false);
  });
});

describe('health', () => {
  it('collects every component check; a throwing check counts as failed', async () => {
    const { engine } = await setup({
      strategies: [spec('quiet', { onCycle: () => undefined, health: () => ({ ok: true }) })],
      monitors: [
        spec('broken', {
          name: 'broken',
          check: () => undefined,
          health: () => {
            throw new Error('socket gone');
          },
        }),
      ],
    });
    expect(await engine.health()).toEqual([
      { component: 'strategy:quiet', ok: true },
      { component: 'monitor:broken', ok: false, message: 'health check threw: socket gone' },
    ]);
  });
});

describe('exchange errors', () => {
  it('become alerts (critical unless retryable), the same one at most once a minute', async () => {
    const { ExchangeError } = await import('../src/errors');
    const { engine, exchange, clock } = await setup();
    const alerts: Alert[] = [];
    engine.events.on('alert', (alert) => alerts.push(alert));
    const unknown = new ExchangeError('EXCHANGE_TIMEOUT', 'transaction outcome unknown after 60 s');
    exchange.events.emit('error', unknown);
    exchange.events.emit('error', unknown);
    exchange.events.emit(
      'error',
      new ExchangeError('EXCHANGE_PROTOCOL', 'malformed message', { retryable: true }),
    );
    clock.advance(60_000);
    exchange.events.emit('error', unknown);
    expect(alerts.map((alert) => `${alert.source} ${alert.level} ${alert.code}`)).toEqual([
      'exchange:fake critical EXCHANGE_TIMEOUT',
      'exchange:fake warning EXCHANGE_PROTOCOL',
      'exchange:fake critical EXCHANGE_TIMEOUT',
    ]);
  });
});
