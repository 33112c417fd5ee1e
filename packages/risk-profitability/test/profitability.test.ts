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

describe('profitability gate boundaries', () => {
  /** A short of 10 BTC (1 000 notional) at the given 8 h rate, judged with these options. */
  const short = async (options: Record<string, unknown>, ratePer8h: number) =>
    verdict((await harness(options, ratePer8h)).evaluate(order('sell', 10)));

  it('holdHours: 16 h earns twice 8 h (cost 2.00 → rate 0.002 is exactly enough)', async () => {
    expect(await short({ holdHours: 16 }, 0.001998)).toBe('PROFIT_BELOW_COST');
    expect(await short({ holdHours: 16 }, 0.002)).toBe('allow');
    expect(await short({ holdHours: 16 }, 0.002002)).toBe('allow');
  });

  it('fundingHaircut 0.25 counts a quarter of the income', async () => {
    expect(await short({ fundingHaircut: 0.25 }, 0.007992)).toBe('PROFIT_BELOW_COST'); // 1.998
    expect(await short({ fundingHaircut: 0.25 }, 0.008)).toBe('allow'); // 2.000
    expect(await short({ fundingHaircut: 0.25 }, 0.008008)).toBe('allow');
  });

  it('minRatio 2 needs twice the cost', async () => {
    expect(await short({ minRatio: 2 }, 0.007992)).toBe('PROFIT_BELOW_COST'); // 3.996 < 4
    expect(await short({ minRatio: 2 }, 0.008)).toBe('allow'); // 4.000
    expect(await short({ minRatio: 2 }, 0.008008)).toBe('allow');
  });

  it('takerFeeRate overrides the market’s; without either the fallback is 0.0005', async () => {
    // takerFeeRate 0.001: fees 2.00 + slippage 1.00 = 3.00 → rate 0.006
    expect(await short({ takerFeeRate: 0.001 }, 0.005992)).toBe('PROFIT_BELOW_COST');
    expect(await short({ takerFeeRate: 0.001 }, 0.006)).toBe('allow');
    // The market's own rate (0.002 here): fees 4.00 + slippage 1.00 = 5.00 → rate 0.01
    const marketRate = async (rate: number, takerFeeRate: number | undefined) => {
      const test = await createTestEngine({
        exchange: { prices: { BTC: 100 }, markets: [{ symbol: 'BTC', takerFeeRate }] },
      });
      test.exchange.setFundingRate('BTC', rate);
      const gate = profitability.setup(
        setupContextFor(test.engine, 'p'),
        parsePluginOptions(profitability, { slippageFromBook: false }),
      );
      return verdict(
        gate.evaluate(proposalFor(test.engine, order('sell', 10)), test.engine.state) as RiskDecision,
      );
    };
    expect(await marketRate(0.00999, 0.002)).toBe('PROFIT_BELOW_COST');
    expect(await marketRate(0.01, 0.002)).toBe('allow');
    // No rate anywhere: 0.0005 → fees 1.00 + slippage 1.00 = 2.00 → rate 0.004
    expect(await marketRate(0.003998, undefined)).toBe('PROFIT_BELOW_COST');
    expect(await marketRate(0.004, undefined)).toBe('allow');
  });

  it('slippageBps sets the flat estimate without a book', async () => {
    // 10 bps: slippage 2.00 + fees 1.00 = 3.00 → rate 0.006
    expect(await short({ slippageBps: 10 }, 0.005992)).toBe('PROFIT_BELOW_COST');
    expect(await short({ slippageBps: 10 }, 0.006)).toBe('allow');
    expect(await short({ slippageBps: 0 }, 0.002)).toBe('allow'); // fees only: 1.00
    expect(await short({ slippageBps: 0 }, 0.001998)).toBe('PROFIT_BELOW_COST');
  });

  it('revenue: funding ignores the strategy’s estimate', async () => {
    const { evaluate } = await harness({ revenue: 'funding' }, 0.004);
    expect(verdict(evaluate(order('buy', 10, { expectedRevenue: 1_000 })))).toBe('PROFIT_BELOW_COST'); // the long pays
    expect(verdict(evaluate(order('sell', 10, { expectedRevenue: -1_000 })))).toBe('allow'); // the short earns 2.00
    const noRate = await createTestEngine({ exchange: { prices: { BTC: 100 } } });
    noRate.engine.state.fundingRate = () => undefined;
    const gate = profitability.setup(
      setupContextFor(noRate.engine, 'p'),
      parsePluginOptions(profitability, { revenue: 'funding' }),
    );
    expect(
      verdict(
        gate.evaluate(
          proposalFor(noRate.engine, order('sell', 1, { expectedRevenue: 10 })),
          noRate.engine.state,
        ) as RiskDecision,
      ),
    ).toBe('PROFIT_NO_ESTIMATE');
  });

  it('a book too thin for the order is infinite slippage; a walk exactly covered passes', async () => {
    const test = await createTestEngine({ exchange: { prices: { BTC: 100 }, takerFeeRate: 0 } });
    test.exchange.events.emit('orderBook', await test.exchange.fetchOrderBook('BTC')); // 5 levels of 10
    const gate = profitability.setup(
      setupContextFor(test.engine, 'p'),
      parsePluginOptions(profitability, { revenue: 'metadata' }),
    );
    const ask = (quantity: number, revenue: number) =>
      gate.evaluate(
        proposalFor(test.engine, order('buy', quantity, { expectedRevenue: revenue })),
        test.engine.state,
      ) as RiskDecision;
    expect(verdict(ask(50, 1e9))).toBe('allow'); // the whole visible book
    const thin = ask(50.001, 1e9);
    expect(thin).toMatchObject({ action: 'deny', code: 'PROFIT_BELOW_COST' });
    expect(thin.action === 'deny' && thin.message).toMatch(/slippage Infinity/);
    const average = (10 * 100.5 + 5 * 101.5) / 15;
    const exactly = 2 * (Math.abs(average - 100) * 15);
    expect(verdict(ask(15, exactly))).toBe('allow');
    expect(verdict(ask(15, exactly - 1e-9))).toBe('PROFIT_BELOW_COST');
  });
});

describe('profitability judges the legs of a group together', () => {
  /**
   * A funding-arbitrage pair on one fake venue: long 10 BTC paying 0.001 per 8 h, short 10 ETH
   * receiving `ethRate` per 8 h. Both at 100 (1 000 notional). Costs: each leg fees 1.00 and
   * slippage 1.00, so 4.00 for the pair. Over 8 h the long pays 1.00 and the short earns
   * 1 000 × ethRate; the net is counted at the 50 % haircut.
   */
  async function pair(ethRate: number | undefined, options: Record<string, unknown> = {}) {
    const legs: SignalInput[] = [
      { ...order('buy', 10), groupId: 'arb-1' },
      { ...order('sell', 10), symbol: 'ETH', groupId: 'arb-1' },
    ];
    const test = await createTestEngine({
      exchange: {
        prices: { BTC: 100, ETH: 100 },
        takerFeeRate: 0.0005,
        markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }],
      },
      strategies: [
        { id: 'arb', create: () => ({ onCycle: (state) => (state.cycle === 1 ? legs : undefined) }) },
      ],
      riskGates: [
        {
          id: 'profitability',
          create: (context) =>
            profitability.setup(
              context,
              parsePluginOptions(profitability, { slippageFromBook: false, revenue: 'funding', ...options }),
            ),
        },
      ],
    });
    test.exchange.setFundingRate('BTC', 0.001);
    if (ethRate === undefined) {
      const known = test.engine.state.fundingRate.bind(test.engine.state);
      test.engine.state.fundingRate = (exchange, symbol) =>
        symbol === 'ETH' ? undefined : known(exchange, symbol);
    } else test.exchange.setFundingRate('ETH', ethRate);
    const denied: string[] = [];
    const decisions: string[] = [];
    test.engine.events.on('order:denied', (event) => denied.push(`${event.signal.symbol}:${event.code}`));
    test.engine.events.on('risk:decision', (event) => {
      if (event.gate === 'profitability')
        decisions.push(event.decision.action === 'deny' ? event.decision.message : 'allow');
    });
    await test.engine.runCycle();
    const positions = test.engine.state
      .positions()
      .map((position) => `${position.symbol} ${position.quantity}`);
    return { denied, decisions, positions };
  }

  it('the net funding of the pair against the costs of both legs: just under, at, just over', async () => {
    // net = 1 000 × ethRate − 1.00; counted 0.5 × net ≥ 4.00  ⇔  ethRate ≥ 0.009
    const under = await pair(0.00899);
    expect(under.positions).toEqual([]);
    expect(under.denied).toEqual(['BTC:PROFIT_BELOW_COST', 'ETH:PROFIT_BELOW_COST']);
    expect(under.decisions[0]).toMatch(
      /expected revenue 3\.9950 \(net funding .* over 8 h at 0\.5\) < 1 × cost 4\.0000/,
    );
    expect(under.decisions[0]).toMatch(/group arb-1 \(buy 10 fake:BTC, sell 10 fake:ETH\)/);
    const at = await pair(0.009);
    expect(at.denied).toEqual([]);
    expect(at.positions).toEqual(['BTC 10', 'ETH -10']);
    expect((await pair(0.00901)).positions).toEqual(['BTC 10', 'ETH -10']);
  });

  it('a leg without a funding rate leaves the group without an estimate', async () => {
    const result = await pair(undefined);
    expect(result.denied).toEqual(['BTC:PROFIT_NO_ESTIMATE', 'ETH:PROFIT_NO_ESTIMATE']);
    expect(result.decisions[0]).toMatch(/no funding rate for sell 10 fake:ETH/);
  });

  it('metadata estimates of the legs add up', async () => {
    const legs: SignalInput[] = [
      { ...order('buy', 10, { expectedRevenue: 1.5 }), groupId: 'g' },
      { ...order('sell', 10, { expectedRevenue: 2.5 }), symbol: 'ETH', groupId: 'g' },
    ];
    const test = await createTestEngine({
      exchange: {
        prices: { BTC: 100, ETH: 100 },
        takerFeeRate: 0.0005,
        markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }],
      },
      strategies: [
        { id: 's', create: () => ({ onCycle: (state) => (state.cycle === 1 ? legs : undefined) }) },
      ],
      riskGates: [
        {
          id: 'profitability',
          create: (context) =>
            profitability.setup(context, parsePluginOptions(profitability, { slippageFromBook: false })),
        },
      ],
    });
    await test.engine.runCycle();
    expect(test.engine.state.positions()).toHaveLength(2); // 1.5 + 2.5 = 4.00 = the pair's cost
  });
});
