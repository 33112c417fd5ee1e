import {
  Engine,
  type Order,
  parsePluginOptions,
  type RiskDecision,
  type RiskGatePlugin,
  type SignalInput,
  SimulatedClock,
} from '@perpkit/core';
import {
  createTestEngine,
  describeRiskGateContract,
  FakeExchange,
  proposalFor,
  setupContextFor,
} from '@perpkit/testkit';
import { describe, expect, it, vi } from 'vitest';
import { confirmation, latency, nativeReserve, staleness } from '../src/index';

describeRiskGateContract('staleness', { plugin: staleness, options: { maxAge: '10s' } });
describeRiskGateContract('latency', { plugin: latency, options: { maxLatency: '1s' } });
describeRiskGateContract('native-reserve', { plugin: nativeReserve, options: { asset: 'USD', minimum: 1 } });
describeRiskGateContract('confirmation', { plugin: confirmation, options: { aboveNotional: 1e9 } });

const entry: SignalInput = {
  intent: 'open',
  exchange: 'fake',
  symbol: 'BTC',
  side: 'buy',
  quantity: 1,
  reasons: [{ code: 'T', message: 't' }],
};
const verdict = (decision: RiskDecision) => (decision.action === 'allow' ? 'allow' : decision.code);

async function harness<Options>(
  plugin: RiskGatePlugin<Options>,
  options: Record<string, unknown>,
  mode: 'live' | 'backtest' = 'live',
) {
  const test = await createTestEngine({ exchange: { prices: { BTC: 100 } } });
  const gate = plugin.setup(
    setupContextFor(test.engine, plugin.meta.name, mode),
    parsePluginOptions(plugin, options),
  );
  const evaluate = (signal: SignalInput = entry) =>
    gate.evaluate(proposalFor(test.engine, signal), test.engine.state);
  const at = (ms: number) => {
    test.clock.advanceTo(1_700_000_000_000 + ms);
    (test.engine.state as { now: number }).now = test.clock.now();
  };
  return { ...test, evaluate, at };
}

describe('staleness', () => {
  it('just under and at the age allow; just over denies; no data denies', async () => {
    const { evaluate, at } = await harness(staleness, { maxAge: '10s' }); // prices published at t = 0
    at(9_999);
    expect(verdict((await evaluate()) as RiskDecision)).toBe('allow');
    at(10_000);
    expect(verdict((await evaluate()) as RiskDecision)).toBe('allow');
    at(10_001);
    expect(verdict((await evaluate()) as RiskDecision)).toBe('STALE_DATA');
    const { engine } = await harness(staleness, {});
    const gate = staleness.setup(setupContextFor(engine, 's'), parsePluginOptions(staleness, {}));
    const unknown = proposalFor(engine, entry);
    expect(
      verdict(
        gate.evaluate(
          { ...unknown, request: { ...unknown.request, symbol: 'ETH' } },
          engine.state,
        ) as RiskDecision,
      ),
    ).toBe('NO_MARKET_DATA');
  });
});

describe('latency', () => {
  /** Reports a measured round trip the way the engine does, at the current engine time. */
  const measure = (engine: Engine, ms: number) => {
    const proposal = proposalFor(engine, entry);
    engine.events.emit('order:submitted', {
      at: engine.state.now,
      proposal,
      order: {} as Order,
      latencyMs: ms,
    });
  };

  it('judges the newest round trip (measure: last): under, at, over the limit', async () => {
    const { evaluate, engine } = await harness(latency, { maxLatency: '500ms', measure: 'last' });
    expect(await evaluate()).toMatchObject({ action: 'allow', code: 'LATENCY_UNMEASURED' }); // nothing measured yet
    for (const [ms, expected] of [
      [499, 'allow'],
      [500, 'allow'],
      [501, 'VENUE_LATENCY_HIGH'],
      [100, 'allow'], // only the newest counts
    ] as const) {
      measure(engine, ms);
      expect(verdict((await evaluate()) as RiskDecision)).toBe(expected);
    }
  });

  it('measure: average is the mean of the recent round trips: under, at, over', async () => {
    const { evaluate, engine } = await harness(latency, { maxLatency: '500ms' });
    measure(engine, 400);
    measure(engine, 599); // mean 499.5
    expect(verdict((await evaluate()) as RiskDecision)).toBe('allow');
    measure(engine, 501); // mean 500
    expect(verdict((await evaluate()) as RiskDecision)).toBe('allow');
    measure(engine, 504); // mean 501
    expect(await evaluate()).toMatchObject({
      action: 'deny',
      code: 'VENUE_LATENCY_HIGH',
      message: 'fake round trip 501 ms (average of 4 in the last 60000 ms) is above 500 ms',
    });
  });

  it('minSamples: fewer recent round trips than needed allow; at the count the gate judges', async () => {
    const { evaluate, engine } = await harness(latency, { maxLatency: '500ms', minSamples: 3 });
    measure(engine, 900);
    measure(engine, 900);
    expect(await evaluate()).toMatchObject({ action: 'allow', code: 'LATENCY_UNMEASURED' });
    measure(engine, 900);
    expect(verdict((await evaluate()) as RiskDecision)).toBe('VENUE_LATENCY_HIGH');
  });

  it('recovers: round trips older than the window are ignored (at the window they still count)', async () => {
    const { evaluate, engine, at } = await harness(latency, { maxLatency: '500ms', window: '1m' });
    measure(engine, 900); // at t = 0
    at(60_000);
    expect(verdict((await evaluate()) as RiskDecision)).toBe('VENUE_LATENCY_HIGH'); // exactly a window old
    at(60_001);
    expect(await evaluate()).toMatchObject({ action: 'allow', code: 'LATENCY_UNMEASURED' }); // stale: let one out
    measure(engine, 20); // that order measured a healthy venue
    expect(await evaluate()).toEqual({ action: 'allow' });
  });

  it('risk-reducing orders pass unless applyToReducing', async () => {
    const reduce: SignalInput = {
      intent: 'reduce',
      exchange: 'fake',
      symbol: 'BTC',
      quantity: 0.5,
      reasons: entry.reasons,
    };
    for (const [applyToReducing, expected] of [
      [false, 'allow'],
      [true, 'VENUE_LATENCY_HIGH'],
    ] as const) {
      const { evaluate, engine, exchange } = await harness(latency, { maxLatency: '500ms', applyToReducing });
      await exchange.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'market',
        quantity: '1',
      });
      measure(engine, 900);
      expect(verdict((await evaluate(reduce)) as RiskDecision)).toBe(expected);
    }
  });

  it('in the engine: a slow venue locks entries out only until its measurement is a window old', async () => {
    let wall = 0;
    let venueDelay = 900;
    const clock = new SimulatedClock(1_700_000_000_000);
    const exchange = new FakeExchange({ prices: { BTC: 100 } });
    const submit = exchange.submitOrder.bind(exchange);
    exchange.submitOrder = async (request) => {
      wall += venueDelay; // the round trip, on the wall clock the engine measures with
      return submit(request);
    };
    const now = vi.spyOn(performance, 'now').mockImplementation(() => wall);
    try {
      const engine = new Engine({
        mode: 'paper',
        clock,
        exchanges: [exchange],
        strategies: [{ id: 's', create: () => ({ onCycle: () => [{ ...entry, quantity: 0.01 }] }) }],
        riskGates: [
          {
            id: 'latency',
            create: (context) =>
              latency.setup(context, parsePluginOptions(latency, { maxLatency: '500ms', window: '1m' })),
          },
        ],
      });
      const verdicts: string[] = [];
      engine.events.on('risk:decision', (event) => {
        if (event.gate === 'latency')
          verdicts.push(
            event.decision.action === 'allow' ? (event.decision.code ?? 'allow') : event.decision.code,
          );
      });
      await engine.init();
      exchange.publishPrices();
      const runAt = async (ms: number) => {
        clock.advanceTo(1_700_000_000_000 + ms);
        exchange.setTime(clock.now());
        exchange.publishPrices();
        await engine.runCycle();
      };
      await runAt(0); // unmeasured: goes out, and takes 900 ms
      await runAt(1_000);
      await runAt(30_000);
      await runAt(60_000); // the 900 ms sample is exactly a window old: still judged
      venueDelay = 5; // the venue is fast again, but nothing has measured it
      await runAt(60_001); // the slow sample left the window: one order goes out and measures 5 ms
      await runAt(61_000);
      expect(verdicts).toEqual([
        'LATENCY_UNMEASURED',
        'VENUE_LATENCY_HIGH',
        'VENUE_LATENCY_HIGH',
        'VENUE_LATENCY_HIGH',
        'LATENCY_UNMEASURED',
        'allow',
      ]);
      expect(exchange.requests).toHaveLength(3);
      await engine.stop('done', { cancelOpenOrders: false, timeoutMs: 1000 });
    } finally {
      now.mockRestore();
    }
  });
});

describe('native-reserve', () => {
  it('keeps a reserve of the fee token: under, at, over', async () => {
    // The fake account's USD balance stands in for the native token: 10 000 free.
    for (const [minimum, expected] of [
      [9_999.99, 'allow'],
      [10_000, 'allow'],
      [10_000.01, 'NATIVE_RESERVE_LOW'],
    ] as const) {
      const { evaluate } = await harness(nativeReserve, { asset: 'USD', minimum });
      expect(verdict((await evaluate()) as RiskDecision)).toBe(expected);
    }
    const { evaluate } = await harness(nativeReserve, { asset: 'SOL', minimum: 0.017 });
    expect(verdict((await evaluate()) as RiskDecision)).toBe('NATIVE_RESERVE_UNKNOWN');
  });
});

describe('confirmation', () => {
  it('small orders pass; at the threshold passes; above it waits for a human', async () => {
    const { evaluate, engine } = await harness(confirmation, { aboveNotional: 100, timeout: '1m' });
    expect(verdict((await evaluate({ ...entry, quantity: 0.99 })) as RiskDecision)).toBe('allow');
    expect(verdict((await evaluate({ ...entry, quantity: 1 })) as RiskDecision)).toBe('allow');
    const waiting = evaluate({ ...entry, quantity: 1.01 });
    expect(waiting).toBeInstanceOf(Promise);
    const [request] = engine.approvals.pending();
    expect(request?.summary).toMatch(
      /^buy 1\.01 BTC on fake\/main \(market, notional 101\.00\) for test: T$/,
    );
    engine.approvals.approve(request?.id as string, 'cli');
    expect(verdict(await waiting)).toBe('allow');
  });

  it('a rejection and an expiry deny with their reasons; a backtest cannot ask', async () => {
    const { evaluate, engine, clock } = await harness(confirmation, { aboveNotional: 10, timeout: '30s' });
    const rejected = evaluate();
    engine.approvals.reject(engine.approvals.pending()[0]?.id as string, 'dashboard:ops', 'too big today');
    expect(await rejected).toMatchObject({
      action: 'deny',
      code: 'CONFIRMATION_REJECTED',
      message: 'rejected by dashboard:ops: too big today',
    });
    const expired = evaluate();
    clock.advance(30_000);
    expect(verdict(await expired)).toBe('CONFIRMATION_EXPIRED');
    const backtest = await harness(confirmation, { aboveNotional: 10 }, 'backtest');
    expect(verdict((await backtest.evaluate()) as RiskDecision)).toBe('CONFIRMATION_UNAVAILABLE');
  });
});

describe('operational gates, more boundaries', () => {
  const reduce: SignalInput = {
    intent: 'reduce',
    exchange: 'fake',
    symbol: 'BTC',
    quantity: 0.5,
    reasons: entry.reasons,
  };

  it('staleness: risk-reducing orders on stale data pass unless applyToReducing (under, at, over)', async () => {
    for (const [applyToReducing, expected] of [
      [false, ['allow', 'allow', 'allow']],
      [true, ['allow', 'allow', 'STALE_DATA']],
    ] as const) {
      const { evaluate, at, exchange } = await harness(staleness, { maxAge: '10s', applyToReducing });
      await exchange.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'market',
        quantity: '1',
      });
      const seen: string[] = [];
      for (const ms of [9_999, 10_000, 10_001]) {
        at(ms);
        seen.push(verdict((await evaluate(reduce)) as RiskDecision));
      }
      expect(seen).toEqual(expected);
    }
    const { evaluate, at } = await harness(staleness, { maxAge: '10s' });
    at(10_001);
    expect(await evaluate()).toMatchObject({
      code: 'STALE_DATA',
      message: 'market data is 10001 ms old, more than 10000 ms',
    });
  });

  it('native-reserve: feePerOrder is taken off the free balance first (under, at, over)', async () => {
    for (const [feePerOrder, expected] of [
      [999.99, 'allow'],
      [1_000, 'allow'],
      [1_000.01, 'NATIVE_RESERVE_LOW'],
    ] as const) {
      const { evaluate } = await harness(nativeReserve, { asset: 'USD', minimum: 9_000, feePerOrder });
      expect(verdict((await evaluate()) as RiskDecision)).toBe(expected);
    }
  });

  it('native-reserve: exchanges limits it to the listed venues', async () => {
    const elsewhere = await harness(nativeReserve, { asset: 'SOL', minimum: 0.017, exchanges: ['drift'] });
    expect(verdict((await elsewhere.evaluate()) as RiskDecision)).toBe('allow');
    const here = await harness(nativeReserve, { asset: 'SOL', minimum: 0.017, exchanges: ['drift', 'fake'] });
    expect(verdict((await here.evaluate()) as RiskDecision)).toBe('NATIVE_RESERVE_UNKNOWN');
  });

  it('confirmation: an answer 1 ms before the timeout still counts; at the timeout it expired', async () => {
    const { evaluate, engine, clock } = await harness(confirmation, { aboveNotional: 10, timeout: '30s' });
    const waiting = evaluate();
    clock.advance(29_999);
    engine.approvals.approve(engine.approvals.pending()[0]?.id as string, 'cli');
    expect(verdict(await waiting)).toBe('allow');
    const late = evaluate();
    const id = engine.approvals.pending()[0]?.id as string;
    clock.advance(30_000);
    expect(verdict(await late)).toBe('CONFIRMATION_EXPIRED');
    engine.approvals.approve(id, 'cli'); // too late: changes nothing
    expect(engine.approvals.pending()).toEqual([]);
  });

  it('confirmation: backtest: allow lets large orders through in a backtest; reductions pass unless applyToReducing', async () => {
    const backtest = await harness(confirmation, { aboveNotional: 10, backtest: 'allow' }, 'backtest');
    expect(verdict((await backtest.evaluate()) as RiskDecision)).toBe('allow');
    const strict = await harness(confirmation, { aboveNotional: 10, applyToReducing: true }, 'backtest');
    await strict.exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(verdict((await strict.evaluate({ ...reduce, quantity: 0.2 })) as RiskDecision)).toBe(
      'CONFIRMATION_UNAVAILABLE',
    );
    const lenient = await harness(confirmation, { aboveNotional: 10 }, 'backtest');
    await lenient.exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(verdict((await lenient.evaluate({ ...reduce, quantity: 0.2 })) as RiskDecision)).toBe('allow');
  });
});
