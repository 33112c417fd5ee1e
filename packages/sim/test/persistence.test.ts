import { type Candle, type Fill, type FundingPayment, type Order, SimulatedClock } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import type { SimOptionsInput } from '../src/options';
import { SimExchange } from '../src/sim-exchange';

const T0 = Date.UTC(2025, 0, 1);
const MINUTE = 60_000;
const HOUR = 3_600_000;

const OPTIONS: SimOptionsInput = {
  fillModel: 'next-open',
  slippage: 0.0005,
  fees: { maker: 0.0002, taker: 0.0005 },
  markets: [
    {
      symbol: 'BTC',
      tickSize: '0.1',
      lotSize: '0.001',
      maxLeverage: 10,
      fundingIntervalHours: 1,
      fundingRate: 0.0001,
    },
    {
      symbol: 'ETH',
      tickSize: '0.01',
      lotSize: '0.01',
      maxLeverage: 10,
      fundingIntervalHours: 8,
      fundingRate: -0.0002,
    },
  ],
  accounts: [
    { id: 'main', balance: 50_000 },
    { id: 'hedge', balance: 20_000 },
  ],
};

/** A deterministic wandering bar series, one minute apart. */
function bar(index: number, base: number): Candle {
  const open = base + Math.round(Math.sin(index / 7) * 400) / 10;
  const close = base + Math.round(Math.sin((index + 1) / 7) * 400) / 10;
  return {
    timestamp: T0 + index * MINUTE,
    open,
    high: Math.max(open, close) + 5,
    low: Math.min(open, close) - 5,
    close,
    volume: 10,
  };
}

function venue(clock: SimulatedClock) {
  const sim = new SimExchange(OPTIONS, { id: 'sim', clock });
  const log: string[] = [];
  sim.events.on('fill', (fill: Fill) =>
    log.push(`fill ${fill.orderId} ${fill.side} ${fill.quantity}@${fill.price} fee ${fill.fee}`),
  );
  sim.events.on('order', (order: Order) => log.push(`order ${order.id} ${order.status}`));
  sim.events.on('funding', (payment: FundingPayment) =>
    log.push(`funding ${payment.account} ${payment.symbol} ${payment.fundingTime} ${payment.amount}`),
  );
  return { sim, log };
}

function feed(sim: SimExchange, clock: SimulatedClock, from: number, to: number) {
  for (let index = from; index < to; index += 1) {
    clock.advanceTo(T0 + (index + 1) * MINUTE);
    sim.processCandle('BTC', bar(index, 60_000), MINUTE);
    sim.processCandle('ETH', bar(index, 3_000), MINUTE);
  }
}

describe('exportState / importState', () => {
  it('a venue restored from its saved books continues exactly as if it had never stopped', async () => {
    // One venue runs straight through; the other is saved halfway, rebuilt, and restored.
    const straightClock = new SimulatedClock(T0);
    const straight = venue(straightClock);
    const firstClock = new SimulatedClock(T0);
    const first = venue(firstClock);

    const enter = async (sim: SimExchange) => {
      await sim.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'market',
        quantity: '0.5',
        clientOrderId: 'entry',
      });
      await sim.submitOrder({ account: 'hedge', symbol: 'ETH', side: 'sell', type: 'market', quantity: '4' });
    };
    // Resting orders that outlive the restart: a bid well below, and a reduce-only take-profit.
    const rest = async (sim: SimExchange) => {
      await sim.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'limit',
        price: '59000',
        quantity: '0.2',
        clientOrderId: 'dip',
      });
      await sim.submitOrder({
        account: 'hedge',
        symbol: 'ETH',
        side: 'buy',
        type: 'limit',
        price: '2980',
        quantity: '2',
        reduceOnly: true,
      });
    };
    feed(straight.sim, straightClock, 0, 3);
    feed(first.sim, firstClock, 0, 3);
    await enter(straight.sim);
    await enter(first.sim);
    feed(straight.sim, straightClock, 3, 4);
    feed(first.sim, firstClock, 3, 4);
    await rest(straight.sim);
    await rest(first.sim);
    feed(straight.sim, straightClock, 4, 70);
    feed(first.sim, firstClock, 4, 70);
    expect(first.log).toEqual(straight.log);

    const saved = JSON.parse(JSON.stringify(first.sim.exportState()));
    const restoredClock = new SimulatedClock(firstClock.now());
    const restored = venue(restoredClock);
    restored.sim.importState(saved);

    for (const account of ['main', 'hedge']) {
      const before = await first.sim.fetchAccount(account);
      const after = await restored.sim.fetchAccount(account);
      expect({ ...after, timestamp: 0 }).toEqual({ ...before, timestamp: 0 });
      expect(restored.sim.totals(account)).toEqual(first.sim.totals(account));
      expect(await restored.sim.fetchOpenOrders(account)).toEqual(await first.sim.fetchOpenOrders(account));
    }
    // A client id still in use stays refused after the restart.
    await expect(
      restored.sim.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'limit',
        price: '50000',
        quantity: '0.1',
        clientOrderId: 'dip',
      }),
    ).rejects.toMatchObject({ reason: 'DUPLICATE_CLIENT_ORDER_ID' });

    // Both go on: a new order (same ids: the sequences were saved), funding (never twice), the
    // resting bid and its client id, everything equal.
    const straightTail = straight.log.length;
    for (const sim of [straight.sim, restored.sim])
      await sim.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'sell',
        type: 'market',
        quantity: '0.3',
      });
    feed(straight.sim, straightClock, 70, 600);
    feed(restored.sim, restoredClock, 70, 600);
    expect(restored.log).toEqual(straight.log.slice(straightTail));
    expect(restored.log.some((line) => line.startsWith('funding'))).toBe(true);
    expect(restored.log.some((line) => line.startsWith('fill'))).toBe(true);
    for (const account of ['main', 'hedge'])
      expect(restored.sim.totals(account)).toEqual(straight.sim.totals(account));
  });

  it('refuses saved books for an account the options no longer have, naming it', () => {
    const clock = new SimulatedClock(T0);
    const { sim } = venue(clock);
    const saved = sim.exportState();
    const fewer = new SimExchange(
      { ...OPTIONS, accounts: [{ id: 'main', balance: 1 }] },
      { id: 'sim', clock },
    );
    expect(() => fewer.importState(saved)).toThrow(/account hedge, which the options no longer have/);
    expect(() => fewer.importState({ version: 7 })).toThrow(/unknown saved state/);
  });

  it('funding already applied before the save is not applied again after it', async () => {
    const clock = new SimulatedClock(T0);
    const { sim } = venue(clock);
    feed(sim, clock, 0, 2);
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '0.5' });
    feed(sim, clock, 2, 61); // past the 01:00 settlement
    const paid = sim.totals('main').funding;
    expect(paid).not.toBe(0);
    const restored = new SimExchange(OPTIONS, { id: 'sim', clock });
    restored.importState(JSON.parse(JSON.stringify(sim.exportState())));
    // Data from before the save arrives again (a replay that overlaps): nothing is paid twice.
    clock.advanceTo(T0 + HOUR + 2 * MINUTE);
    restored.processCandle('BTC', bar(59, 60_000), MINUTE);
    restored.processCandle('BTC', bar(61, 60_000), MINUTE);
    expect(restored.totals('main').funding).toBe(paid);
  });
});
