import {
  allow,
  deny,
  OrderRejectedError,
  parsePluginOptions,
  type RiskDecision,
  type RiskGate,
  type SignalInput,
} from '@perpkit/core';
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
      prices: { BTC: 100, ETH: 10, SOL: 100 },
      markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }, { symbol: 'SOL' }],
      maintenanceMarginRate: 0.05,
    },
  });
  const gate: RiskGate = exposure.setup(
    setupContextFor(test.engine, 'exposure'),
    parsePluginOptions(exposure, options),
  );
  /** Judges a proposal that then goes out (its allowance counts until the venue shows it). */
  const allowInCycle = (signal: SignalInput) =>
    gate.evaluate(proposalFor(test.engine, signal), test.engine.state) as RiskDecision;
  /** Judges a proposal on its own: a later gate refuses it, so it leaves nothing behind. */
  const evaluate = (signal: SignalInput) => {
    const proposal = proposalFor(test.engine, signal);
    const decision = gate.evaluate(proposal, test.engine.state) as RiskDecision;
    test.engine.events.emit('order:denied', {
      at: test.engine.state.now,
      signal: proposal.signal,
      proposal,
      gate: 'later',
      code: 'PROBE',
      message: 'probe',
    });
    return decision;
  };
  const hold = async (symbol: string, quantity: number) =>
    test.exchange.submitOrder({
      account: 'main',
      symbol,
      side: quantity > 0 ? 'buy' : 'sell',
      type: 'market',
      quantity: String(Math.abs(quantity)),
    });
  return { ...test, gate, evaluate, allowInCycle, hold };
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

const sell = (quantity: number, symbol = 'BTC'): SignalInput => ({ ...buy(quantity, symbol), side: 'sell' });

describe('exposure gate boundaries, continued', () => {
  it('health: resizes to the floor when resize is on', async () => {
    const { evaluate } = await harness({ minHealthRatio: 0.5 }); // room: 1 000 BTC
    expect(summary(evaluate(buy(1_000)))).toBe('allow');
    expect(summary(evaluate(buy(1_000.01)))).toBe('resize 1000 EXPOSURE_HEALTH');
  });

  it('maintenanceMarginRate sets the health estimate (0.1: half the room of 0.05)', async () => {
    // health = 1 − 0.1 × notional / 10 000 ≥ 0.5  ⇔  notional ≤ 50 000 = 500 BTC
    const { evaluate } = await harness({ minHealthRatio: 0.5, maintenanceMarginRate: 0.1, resize: false });
    expect(summary(evaluate(buy(499.99)))).toBe('allow');
    expect(summary(evaluate(buy(500)))).toBe('allow');
    expect(summary(evaluate(buy(500.01)))).toBe('deny EXPOSURE_HEALTH');
  });

  it('short side: the position cap counts the short already held; a flip to long is capped on the long side', async () => {
    const { evaluate, hold } = await harness({ maxPositionNotional: 1_000 });
    await hold('BTC', -6);
    expect(summary(evaluate(sell(3.99)))).toBe('allow');
    expect(summary(evaluate(sell(4)))).toBe('allow');
    expect(summary(evaluate(sell(4.01)))).toBe('resize 4 EXPOSURE_POSITION_NOTIONAL');
    // Flipping: a buy of 16 takes −6 to +10 (exactly the cap); 16.01 goes over.
    expect(summary(evaluate(buy(16)))).toBe('allow');
    expect(summary(evaluate(buy(16.01)))).toBe('resize 16 EXPOSURE_POSITION_NOTIONAL');
  });

  it('short side: total notional and leverage count shorts as gross', async () => {
    const { evaluate, hold } = await harness({ maxTotalNotional: 1_500, maxLeverage: 0.15, resize: false });
    await hold('ETH', 50); // 500 long
    // total: 500 + |short| ≤ 1 500 → 10 BTC; leverage: 0.15 × 10 000 = 1 500 gross → the same 10 BTC
    expect(summary(evaluate(sell(9.99)))).toBe('allow');
    expect(summary(evaluate(sell(10)))).toBe('allow');
    const over = evaluate(sell(10.01));
    expect(over.action).toBe('deny');
    expect(['EXPOSURE_TOTAL_NOTIONAL', 'EXPOSURE_LEVERAGE']).toContain(over.action === 'deny' && over.code);
  });

  it("scope: all counts every account's positions; scope: account only the order's own", async () => {
    const test = await createTestEngine({
      exchange: {
        accounts: ['main', 'hedge'],
        balance: 10_000,
        prices: { BTC: 100, ETH: 10 },
        markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }],
      },
    });
    await test.exchange.submitOrder({
      account: 'hedge',
      symbol: 'ETH',
      side: 'sell',
      type: 'market',
      quantity: '50',
    }); // 500 on the other account
    const probe = (options: Record<string, unknown>, quantity: number) => {
      const gate = exposure.setup(
        setupContextFor(test.engine, 'exposure'),
        parsePluginOptions(exposure, options),
      );
      return summary(
        gate.evaluate(proposalFor(test.engine, buy(quantity)), test.engine.state) as RiskDecision,
      );
    };
    expect(probe({ maxTotalNotional: 1_500, scope: 'all' }, 10)).toBe('allow'); // 500 + 1 000 = the cap
    expect(probe({ maxTotalNotional: 1_500, scope: 'all' }, 10.01)).toBe('resize 10 EXPOSURE_TOTAL_NOTIONAL');
    expect(probe({ maxTotalNotional: 1_500 }, 15)).toBe('allow'); // per account: the hedge's ETH does not count
    expect(probe({ maxTotalNotional: 1_500 }, 15.01)).toBe('resize 15 EXPOSURE_TOTAL_NOTIONAL');
    expect(probe({ maxPositions: 1, scope: 'all' }, 1)).toBe('deny EXPOSURE_MAX_POSITIONS');
    expect(probe({ maxPositions: 1 }, 1)).toBe('allow');
    // Leverage over all accounts divides all the gross by all the equity (20 000): 0.1× = 2 000.
    expect(probe({ maxLeverage: 0.1, scope: 'all', resize: false }, 15)).toBe('allow');
    expect(probe({ maxLeverage: 0.1, scope: 'all', resize: false }, 15.01)).toBe('deny EXPOSURE_LEVERAGE');
  });

  it('the reason names the binding limit', async () => {
    const { evaluate } = await harness({ maxTotalNotional: 1_500, resize: false });
    expect(evaluate(buy(15.01))).toMatchObject({
      action: 'deny',
      code: 'EXPOSURE_TOTAL_NOTIONAL',
      message: 'buy 15.01 BTC (notional 1501.00) exceeds the gross cap 1500 (others hold 0.00)',
    });
  });
});

describe('exposure within one cycle and with pending orders', () => {
  const entries = (...symbols: string[]): SignalInput[] =>
    symbols.map((symbol) => ({ ...buy(1, symbol), exchange: 'fake' }));

  async function engineWith(
    gateOptions: Record<string, unknown>,
    script: (cycle: number) => SignalInput[] | undefined,
    extra: { later?: RiskGate; autoFill?: boolean } = {},
  ) {
    const test = await createTestEngine({
      exchange: {
        balance: 10_000,
        prices: { BTC: 100, ETH: 100, SOL: 100 },
        markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }, { symbol: 'SOL' }],
        autoFill: extra.autoFill ?? true,
      },
      strategies: [{ id: 's', create: () => ({ onCycle: (state) => script(state.cycle) }) }],
      riskGates: [
        {
          id: 'exposure',
          create: (context) => exposure.setup(context, parsePluginOptions(exposure, gateOptions)),
        },
        ...(extra.later ? [{ id: extra.later.name, create: () => extra.later as RiskGate }] : []),
      ],
    });
    const denied: string[] = [];
    test.engine.events.on('order:denied', (event) => denied.push(`${event.signal.symbol}:${event.code}`));
    const quantity = (symbol: string) => test.engine.state.position('fake', symbol)?.quantity ?? 0;
    const next = async () => {
      test.clock.advance(1000);
      return test.engine.runCycle();
    };
    return { ...test, denied, quantity, next };
  }

  it('maxPositions 1 and maxTotalNotional 150: three entries in one cycle open one position of 100', async () => {
    const { engine, denied, quantity } = await engineWith(
      { maxPositions: 1, maxTotalNotional: 150 },
      (cycle) => (cycle === 1 ? entries('BTC', 'ETH', 'SOL') : undefined),
    );
    await engine.runCycle();
    expect(quantity('BTC')).toBe(1);
    expect(quantity('ETH')).toBe(0);
    expect(quantity('SOL')).toBe(0);
    expect(denied).toEqual(['ETH:EXPOSURE_MAX_POSITIONS', 'SOL:EXPOSURE_MAX_POSITIONS']);
    expect(engine.state.positions()).toHaveLength(1);
  });

  it('maxTotalNotional alone: the second entry of the cycle is resized to the room left, the third denied', async () => {
    const { engine, denied, quantity } = await engineWith({ maxTotalNotional: 150 }, (cycle) =>
      cycle === 1 ? entries('BTC', 'ETH', 'SOL') : undefined,
    );
    await engine.runCycle();
    expect([quantity('BTC'), quantity('ETH'), quantity('SOL')]).toEqual([1, 0.5, 0]);
    expect(denied).toEqual(['SOL:EXPOSURE_TOTAL_NOTIONAL']);
    expect(engine.state.positions().reduce((sum, position) => sum + position.quantity * 100, 0)).toBe(150);
  });

  it('an allowance a later gate denies is released for the rest of the cycle', async () => {
    const later: RiskGate = {
      name: 'no-eth',
      evaluate: (proposal) => (proposal.request.symbol === 'ETH' ? deny('NO_ETH', 'not today') : allow()),
    };
    const { engine, denied, quantity } = await engineWith(
      { maxPositions: 2 },
      (cycle) => (cycle === 1 ? entries('BTC', 'ETH', 'SOL') : undefined),
      { later },
    );
    await engine.runCycle();
    expect(denied).toEqual(['ETH:NO_ETH']);
    expect([quantity('BTC'), quantity('ETH'), quantity('SOL')]).toEqual([1, 0, 1]);
  });

  it('an allowance the venue refuses is released', async () => {
    const { engine, exchange, denied, quantity, next } = await engineWith({ maxPositions: 1 }, (cycle) =>
      cycle === 1 ? entries('BTC') : cycle === 2 ? entries('ETH') : undefined,
    );
    exchange.failNext('submitOrder', new OrderRejectedError('INSUFFICIENT_MARGIN', 'no margin'));
    await engine.runCycle();
    expect(quantity('BTC')).toBe(0);
    await next();
    expect(denied).toEqual([]);
    expect(quantity('ETH')).toBe(1);
  });

  it('open entry orders count (their unfilled rest), partial fills are not counted twice', async () => {
    const limit = (symbol: string): SignalInput => ({ ...buy(1, symbol), orderType: 'limit', price: 100 });
    const { engine, exchange, denied, quantity, next } = await engineWith(
      { maxTotalNotional: 150, maxPositions: 2 },
      (cycle) =>
        cycle === 1
          ? [limit('BTC')]
          : cycle === 2
            ? entries('ETH')
            : cycle === 3
              ? entries('SOL')
              : undefined,
      { autoFill: false },
    );
    await engine.runCycle(); // a resting buy of 1 BTC: nothing filled, 100 pending
    const [resting] = engine.state.openOrders('fake', 'BTC');
    expect(resting?.status).toBe('open');
    exchange.fillOrder(resting?.id as string, 0.4); // 0.4 in the position, 0.6 still open
    expect(quantity('BTC')).toBeCloseTo(0.4, 12);
    await next(); // ETH: 150 − (40 + 60) = 50 of room → resized to 0.5, a market order (autoFill off: IOC cancelled)
    expect(engine.state.openOrders('fake', 'BTC')).toHaveLength(1);
    const eth = exchange.requests.find((request) => request.symbol === 'ETH');
    expect(eth?.quantity).toBe('0.5');
    await next(); // SOL: ETH's IOC died, so its room is back: 50 again
    const sol = exchange.requests.find((request) => request.symbol === 'SOL');
    expect(sol?.quantity).toBe('0.5');
    expect(denied).toEqual([]);
  });

  it('an order final at its ack keeps counting until its fills arrive; a new cycle drops it', async () => {
    const { engine, gate, evaluate } = await harness({ maxPositions: 1 });
    const proposal = proposalFor(engine, buy(1));
    expect(summary(gate.evaluate(proposal, engine.state) as RiskDecision)).toBe('allow');
    const order = {
      id: 'o-1',
      clientOrderId: proposal.request.clientOrderId,
      exchange: 'fake',
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      timeInForce: 'ioc',
      reduceOnly: false,
      quantity: 1,
      status: 'filled',
      filledQuantity: 1,
      averagePrice: 100,
      fee: 0,
      createdAt: 0,
      updatedAt: 0,
    } as const;
    engine.events.emit('order:submitted', { at: 0, proposal, order, latencyMs: 1 });
    expect(summary(evaluate(buy(1, 'ETH')))).toBe('deny EXPOSURE_MAX_POSITIONS'); // the fill is not in yet
    engine.events.emit('fill', {
      id: 'f-1',
      orderId: 'o-1',
      clientOrderId: proposal.request.clientOrderId,
      exchange: 'fake',
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      price: 100,
      quantity: 1,
      fee: 0,
      liquidity: 'taker',
      timestamp: 0,
      cumulativeQuantity: 1,
      cumulativeFee: 0,
      averagePrice: 100,
    });
    expect(summary(evaluate(buy(1, 'ETH')))).toBe('allow'); // the fill released it (the fake venue never saw it)

    // A new cycle drops allowances sent final whose fills never came, not those not sent yet.
    const second = await harness({ maxTotalNotional: 250 });
    const sent = proposalFor(second.engine, buy(1));
    expect(summary(second.gate.evaluate(sent, second.engine.state) as RiskDecision)).toBe('allow');
    second.engine.events.emit('order:submitted', {
      at: 0,
      proposal: sent,
      order: { ...order, clientOrderId: sent.request.clientOrderId },
      latencyMs: 1,
    });
    expect(summary(second.allowInCycle(buy(1, 'SOL')))).toBe('allow'); // not sent yet (parked for a human, say)
    expect(summary(second.evaluate(buy(10, 'ETH')))).toBe('resize 5 EXPOSURE_TOTAL_NOTIONAL'); // 200 reserved
    (second.engine.state as { cycle: number }).cycle += 1;
    expect(summary(second.evaluate(buy(15.01, 'ETH')))).toBe('resize 15 EXPOSURE_TOTAL_NOTIONAL'); // SOL's 100 only
  });
});
