import { describe, expect, it } from 'vitest';
import { FakeExchange } from '../../../testkit/src/fake-exchange';
import { SimulatedClock } from '../clock';
import type { Signal, SignalInput } from '../signal';
import { createEngine } from './engine';
import { planSignal } from './planner';

async function planner(position = 0) {
  const exchange = new FakeExchange({
    markets: [{ symbol: 'BTC', tickSize: '0.5', lotSize: '0.01', minNotional: 10 }],
    prices: { BTC: 101.3 },
  });
  if (position !== 0) exchange.setPosition('main', 'BTC', position, 100);
  const engine = createEngine({ exchanges: [exchange], clock: new SimulatedClock(5000) });
  await engine.init();
  exchange.setPrice('BTC', 101.3);
  return (input: Omit<SignalInput, 'exchange' | 'symbol' | 'reasons'>) => {
    const signal: Signal = {
      exchange: 'fake',
      symbol: 'BTC',
      reasons: [{ code: 'T', message: 't' }],
      urgency: 'normal',
      orderType: 'market',
      ...input,
      id: 's',
      strategyId: 'x',
      createdAt: 0,
      cycle: 1,
    } as Signal;
    return planSignal(signal, engine.state, 'p', 'c');
  };
}

describe('planSignal', () => {
  it('sizes entries by notional, rounding down to the lot', async () => {
    const plan = await planner();
    const result = plan({ intent: 'open', side: 'buy', notional: 1000 });
    expect('proposal' in result && result.proposal.request).toMatchObject({
      quantity: '9.87',
      reduceOnly: false,
      clientOrderId: 'c',
    });
  });

  it('refuses entries under the minimum notional but lets reductions through', async () => {
    expect(
      await planner().then((plan) => plan({ intent: 'open', side: 'buy', quantity: 0.05 })),
    ).toMatchObject({
      rejection: { code: 'BELOW_MIN_NOTIONAL' },
    });
    const reduce = (await planner(0.3))({ intent: 'reduce', quantity: 0.05 });
    expect('proposal' in reduce && reduce.proposal).toMatchObject({
      riskReducing: true,
      request: { side: 'sell', quantity: '0.05' },
    });
  });

  it('closes the exact position with a reduce-only order on the opposite side', async () => {
    const result = (await planner(-1.37))({ intent: 'close' });
    expect('proposal' in result && result.proposal).toMatchObject({
      riskReducing: true,
      positionBefore: -1.37,
      request: { side: 'buy', quantity: '1.37', reduceOnly: true },
    });
  });

  it('rebalances to a target; crossing zero is not reduce-only', async () => {
    const plan = await planner(1);
    const shrink = plan({ intent: 'rebalance', targetQuantity: 0.4 });
    expect('proposal' in shrink && shrink.proposal.request).toMatchObject({
      side: 'sell',
      quantity: '0.6',
      reduceOnly: true,
    });
    const flip = plan({ intent: 'rebalance', targetQuantity: -0.5 });
    expect('proposal' in flip && flip.proposal).toMatchObject({
      riskReducing: false,
      request: { side: 'sell', quantity: '1.5', reduceOnly: false },
    });
  });

  it('rounds limit prices to the tick on the passive side and turns a TTL into an expiry', async () => {
    const plan = await planner();
    const buy = plan({
      intent: 'open',
      side: 'buy',
      quantity: 1,
      orderType: 'limit',
      price: 99.9,
      ttlMs: 30_000,
    });
    expect('proposal' in buy && buy.proposal.request).toMatchObject({
      price: '99.5',
      timeInForce: 'gtc',
      expiresAt: 35_000,
    });
    const sell = plan({ intent: 'open', side: 'sell', quantity: 1, orderType: 'limit', price: 99.9 });
    expect('proposal' in sell && sell.proposal.request.price).toBe('100');
  });

  it('names what is missing', async () => {
    const plan = await planner();
    expect(plan({ intent: 'open', quantity: 1 })).toMatchObject({ rejection: { code: 'SIDE_MISSING' } });
    expect(plan({ intent: 'open', side: 'buy' })).toMatchObject({ rejection: { code: 'SIZE_MISSING' } });
    expect(plan({ intent: 'reduce', quantity: 1 })).toMatchObject({ rejection: { code: 'NO_POSITION' } });
    expect(plan({ intent: 'open', side: 'buy', quantity: 0.001 })).toMatchObject({
      rejection: { code: 'BELOW_LOT' },
    });
    expect(plan({ intent: 'open', side: 'buy', quantity: Number.NaN })).toMatchObject({
      rejection: { code: 'SIZE_INVALID' },
    });
  });
});
