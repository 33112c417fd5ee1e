import { parsePluginOptions, type RiskDecision, type RiskGate, type SignalInput } from '@perpkit/core';
import { createTestEngine, describeRiskGateContract, proposalFor, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import exposure from '../src/index';

describeRiskGateContract('exposure', {
  plugin: exposure,
  options: { maxOrderNotional: 500, maxLeverage: 3, minHealthRatio: 0.5 },
});

const buy = (quantity: number, symbol = 'BTC'): SignalInput => ({
  intent: 'open',
  exchange: 'fake',
  symbol,
  side: 'buy',
  quantity,
  reasons: [{ code: 'T', message: 't' }],
});

/** A fake account with 10 000 equity; prices: BTC 100, ETH 10 (a quantity of 1 BTC is 100 notional). */
async function harness(options: Record<string, unknown>) {
  const test = await createTestEngine({
    exchange: {
      balance: 10_000,
      prices: { BTC: 100, ETH: 10 },
      markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }],
      maintenanceMarginRate: 0.05,
    },
  });
  const gate: RiskGate = exposure.setup(
    setupContextFor(test.engine, 'exposure'),
    parsePluginOptions(exposure, options),
  );
  const evaluate = (signal: SignalInput) =>
    gate.evaluate(proposalFor(test.engine, signal), test.engine.state) as RiskDecision;
  const hold = async (symbol: string, quantity: number) =>
    test.exchange.submitOrder({
      account: 'main',
      symbol,
      side: quantity > 0 ? 'buy' : 'sell',
      type: 'market',
      quantity: String(Math.abs(quantity)),
    });
  return { ...test, evaluate, hold };
}

const summary = (decision: RiskDecision) =>
  decision.action === 'allow'
    ? 'allow'
    : decision.action === 'resize'
      ? `resize ${decision.quantity} ${decision.code}`
      : `deny ${decision.code}`;

describe('exposure gate boundaries (just under, at, just over)', () => {
  it('max order notional, resizing by default', async () => {
    const { evaluate } = await harness({ maxOrderNotional: 500 });
    expect(summary(evaluate(buy(4.99)))).toBe('allow');
    expect(summary(evaluate(buy(5)))).toBe('allow');
    expect(summary(evaluate(buy(5.01)))).toBe('resize 5 EXPOSURE_ORDER_NOTIONAL');
  });

  it('max order notional clamped by live equity, denying when resize is off', async () => {
    const { evaluate } = await harness({
      maxOrderNotional: 5_000,
      maxOrderEquityFraction: 0.1,
      resize: false,
    }); // cap 1 000
    expect(summary(evaluate(buy(9.99)))).toBe('allow');
    expect(summary(evaluate(buy(10)))).toBe('allow');
    expect(summary(evaluate(buy(10.01)))).toBe('deny EXPOSURE_ORDER_NOTIONAL');
  });

  it('max position notional counts the position already held', async () => {
    const { evaluate, hold } = await harness({ maxPositionNotional: 1_000 });
    await hold('BTC', 6);
    expect(summary(evaluate(buy(3.99)))).toBe('allow');
    expect(summary(evaluate(buy(4)))).toBe('allow');
    expect(summary(evaluate(buy(4.01)))).toBe('resize 4 EXPOSURE_POSITION_NOTIONAL');
  });

  it('max total notional counts every position in scope', async () => {
    const { evaluate, hold } = await harness({ maxTotalNotional: 1_500 });
    await hold('ETH', -50); // 500 gross (short)
    expect(summary(evaluate(buy(9.99)))).toBe('allow');
    expect(summary(evaluate(buy(10)))).toBe('allow');
    expect(summary(evaluate(buy(10.01)))).toBe('resize 10 EXPOSURE_TOTAL_NOTIONAL');
  });

  it('max concurrent positions stops a new position but not an add to an open one', async () => {
    const { evaluate, hold } = await harness({ maxPositions: 1 });
    expect(summary(evaluate(buy(1)))).toBe('allow');
    await hold('ETH', 1);
    expect(summary(evaluate(buy(1)))).toBe('deny EXPOSURE_MAX_POSITIONS');
    expect(summary(evaluate(buy(1, 'ETH')))).toBe('allow');
  });

  it('max leverage after the trade', async () => {
    const { evaluate } = await harness({ maxLeverage: 2 }); // 20 000 notional = 200 BTC
    expect(summary(evaluate(buy(199.99)))).toBe('allow');
    expect(summary(evaluate(buy(200)))).toBe('allow');
    expect(summary(evaluate(buy(200.01)))).toBe('resize 200 EXPOSURE_LEVERAGE');
  });

  it('minimum health ratio after the trade', async () => {
    // health = 1 − 0.05 × notional / 10 000 ≥ 0.5  ⇔  notional ≤ 100 000 = 1 000 BTC
    const { evaluate } = await harness({ minHealthRatio: 0.5, resize: false });
    expect(summary(evaluate(buy(999.99)))).toBe('allow');
    expect(summary(evaluate(buy(1_000)))).toBe('allow');
    expect(summary(evaluate(buy(1_000.01)))).toBe('deny EXPOSURE_HEALTH');
  });

  it('the tightest limit binds, risk-reducing orders always pass, and missing equity fails closed', async () => {
    const { evaluate, hold, engine } = await harness({ maxOrderNotional: 800, maxLeverage: 0.05 }); // leverage: 500 notional
    expect(summary(evaluate(buy(6)))).toBe('resize 5 EXPOSURE_LEVERAGE');
    await hold('BTC', 3);
    const reduce: SignalInput = {
      intent: 'reduce',
      exchange: 'fake',
      symbol: 'BTC',
      quantity: 1,
      reasons: [{ code: 'T', message: 't' }],
    };
    expect(summary(evaluate(reduce))).toBe('allow');
    const blind = exposure.setup(
      setupContextFor(engine, 'x'),
      parsePluginOptions(exposure, { maxLeverage: 2 }),
    );
    const elsewhere = proposalFor(engine, buy(1));
    const noAccount = { ...elsewhere, request: { ...elsewhere.request, account: 'unknown' } };
    expect(summary(blind.evaluate(noAccount, engine.state) as RiskDecision)).toBe('deny EXPOSURE_NO_ACCOUNT');
  });
});
