import { parsePluginOptions, type RiskDecision, type SignalInput } from '@perpkit/core';
import { createTestEngine, describeRiskGateContract, proposalFor, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import profitability from '../src/index';

describeRiskGateContract('profitability', { plugin: profitability, options: { holdHours: 24 } });

const order = (side: 'buy' | 'sell', quantity: number, metadata?: Record<string, unknown>): SignalInput => ({
  intent: 'open',
  exchange: 'fake',
  symbol: 'BTC',
  side,
  quantity,
  reasons: [{ code: 'T', message: 't' }],
  metadata,
});

/** BTC at 100, 8h funding; taker 0.0005. 10 BTC = 1 000 notional → fees 1.00, slippage 5 bps × 2 = 1.00. */
async function harness(options: Record<string, unknown>, ratePer8h: number) {
  const test = await createTestEngine({ exchange: { prices: { BTC: 100 }, takerFeeRate: 0.0005 } });
  test.exchange.setFundingRate('BTC', ratePer8h);
  const gate = profitability.setup(
    setupContextFor(test.engine, 'profitability'),
    parsePluginOptions(profitability, { slippageFromBook: false, ...options }),
  );
  const evaluate = (signal: SignalInput) =>
    gate.evaluate(proposalFor(test.engine, signal), test.engine.state) as RiskDecision;
  return { ...test, evaluate };
}

const verdict = (decision: RiskDecision) => (decision.action === 'allow' ? 'allow' : decision.code);

describe('profitability gate', () => {
  it('funding income at a 50 % haircut against fees and slippage: just under, at, just over', async () => {
    // Cost of 10 BTC: fees 1.00 + slippage 1.00 = 2.00. A short earns rate/8 × 1 000 × 8 h × 0.5 = 500 × rate.
    expect(verdict((await harness({}, 0.003998)).evaluate(order('sell', 10)))).toBe('PROFIT_BELOW_COST'); // 1.999
    expect(verdict((await harness({}, 0.004)).evaluate(order('sell', 10)))).toBe('allow'); // 2.000
    expect(verdict((await harness({}, 0.004002)).evaluate(order('sell', 10)))).toBe('allow'); // 2.001
  });

  it('a long pays a positive rate: revenue is negative and counted in full', async () => {
    const { evaluate } = await harness({}, 0.004);
    const decision = evaluate(order('buy', 10));
    expect(verdict(decision)).toBe('PROFIT_BELOW_COST');
    expect(decision.action === 'deny' && decision.message).toMatch(/expected revenue -4\.0000/);
  });

  it("a strategy's own estimate and gas per order", async () => {
    const { evaluate } = await harness({ costPerOrder: 0.5, revenue: 'metadata' }, 0);
    // cost 2.00 + 2 × 0.5 gas = 3.00
    expect(verdict(evaluate(order('buy', 10, { expectedRevenue: 2.99 })))).toBe('PROFIT_BELOW_COST');
    expect(verdict(evaluate(order('buy', 10, { expectedRevenue: 3 })))).toBe('allow');
    expect(verdict(evaluate(order('buy', 10)))).toBe('PROFIT_NO_ESTIMATE'); // metadata required, none given
  });

  it('walks the book for slippage when one is known', async () => {
    const test = await createTestEngine({ exchange: { prices: { BTC: 100 }, takerFeeRate: 0 } });
    test.exchange.setFundingRate('BTC', 0.01);
    // Book around 100: asks 100.5, 101.5 ... 10 per level. Buying 15 averages (10 × 100.5 + 5 × 101.5) / 15.
    test.exchange.events.emit('orderBook', await test.exchange.fetchOrderBook('BTC'));
    const gate = profitability.setup(
      setupContextFor(test.engine, 'p'),
      parsePluginOptions(profitability, { revenue: 'metadata' }),
    );
    const average = (10 * 100.5 + 5 * 101.5) / 15;
    const slippage = 2 * (average - 100) * 15;
    const ask = (revenue: number) =>
      verdict(
        gate.evaluate(
          proposalFor(test.engine, order('buy', 15, { expectedRevenue: revenue })),
          test.engine.state,
        ) as RiskDecision,
      );
    expect(ask(slippage - 0.001)).toBe('PROFIT_BELOW_COST');
    expect(ask(slippage + 0.001)).toBe('allow');
  });

  it('risk-reducing orders pass', async () => {
    const { evaluate, exchange } = await harness({}, -0.5);
    await exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(
      verdict(
        evaluate({
          intent: 'close',
          exchange: 'fake',
          symbol: 'BTC',
          reasons: [{ code: 'T', message: 't' }],
        }),
      ),
    ).toBe('allow');
  });
});
