import { parsePluginOptions, type RiskDecision, type RiskGatePlugin, type SignalInput } from '@perpkit/core';
import { createTestEngine, describeRiskGateContract, proposalFor, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
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
  it('judges the measured round trip: under, at, over the limit', async () => {
    const { evaluate, engine } = await harness(latency, { maxLatency: '500ms', measure: 'last' });
    expect(verdict((await evaluate()) as RiskDecision)).toBe('allow'); // nothing measured yet
    for (const [ms, expected] of [
      [499, 'allow'],
      [500, 'allow'],
      [501, 'VENUE_LATENCY_HIGH'],
    ] as const) {
      engine.state.recordLatency('fake', ms, engine.state.now);
      expect(verdict((await evaluate()) as RiskDecision)).toBe(expected);
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
