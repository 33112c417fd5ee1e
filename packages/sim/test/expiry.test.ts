import { waitFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import { SimExchange } from '../src/sim-exchange';
import { bar, createSim, flush, rejection, T0 } from './helpers';

const base = { account: 'main', symbol: 'BTC' } as const;
const MINUTE = 60_000;

const book = (mid: number, timestamp: number) => ({
  symbol: 'BTC',
  timestamp,
  bids: [[mid - 0.1, 5] as const, [mid - 0.2, 5] as const],
  asks: [[mid + 0.1, 5] as const, [mid + 0.2, 5] as const],
});

describe('order expiry (TTL) and acknowledgement latency', () => {
  it.each(['mark', 'book', 'next-open'] as const)(
    'an expiresAt not after the venue time is rejected at submit (%s model)',
    async (fillModel) => {
      const { sim, clock } = createSim({ fillModel });
      if (fillModel === 'book') sim.processOrderBook(book(100, T0));
      else if (fillModel === 'mark') sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
      else sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
      clock.advanceTo(T0 + 5000);
      const order = { ...base, side: 'buy', type: 'limit', price: '90', quantity: '1' } as const;
      expect(await rejection(sim.submitOrder({ ...order, expiresAt: T0 + 4999 }))).toBe('INVALID_EXPIRY');
      expect(await rejection(sim.submitOrder({ ...order, expiresAt: T0 + 5000 }))).toBe('INVALID_EXPIRY');
      expect(await rejection(sim.submitOrder({ ...order, expiresAt: Number.NaN }))).toBe('INVALID_EXPIRY');
      expect(await sim.fetchOpenOrders('main')).toEqual([]);
      expect(await rejection(sim.submitOrder({ ...order, expiresAt: T0 + 5001 }))).toBeUndefined();
    },
  );

  it.each(['mark', 'book', 'next-open'] as const)(
    'a resting order expires on the clock at its time, with no market data (%s model)',
    async (fillModel) => {
      const { sim, clock, orders } = createSim({ fillModel });
      if (fillModel === 'book') sim.processOrderBook(book(100, T0));
      else if (fillModel === 'mark') sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
      else sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
      const order = await sim.submitOrder({
        ...base,
        side: 'buy',
        type: 'limit',
        price: '90',
        quantity: '1',
        expiresAt: T0 + 30_000,
      });
      clock.advanceTo(T0 + 29_999);
      await flush();
      expect((await sim.fetchOrder('main', order.id))?.status).toBe('open');
      clock.advanceTo(T0 + 30_000);
      await flush();
      expect(await sim.fetchOrder('main', order.id)).toMatchObject({
        status: 'expired',
        reason: 'TTL_EXPIRED',
        updatedAt: T0 + 30_000,
      });
      expect(orders.filter((entry) => entry.id === order.id).map((entry) => entry.status)).toEqual([
        'pending',
        'open',
        'expired',
      ]);
    },
  );

  it('mark model: an order goes live when its latency has passed, on the clock, and fills at the mark then', async () => {
    const { sim, clock, fills } = createSim({ ackLatencyMs: 250 });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const order = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' });
    clock.advanceTo(T0 + 249);
    await flush();
    expect((await sim.fetchOrder('main', order.id))?.status).toBe('pending');
    clock.advanceTo(T0 + 250);
    await flush();
    expect(await sim.fetchOrder('main', order.id)).toMatchObject({ status: 'filled', averagePrice: 100 });
    expect(fills[0]).toMatchObject({ timestamp: T0 + 250, price: 100 });
  });

  it('book model: a tick at the expiry time does not fill an expired order, and the ack timer walks the book', async () => {
    const { sim, clock, fills } = createSim({ fillModel: 'book', ackLatencyMs: 100 });
    sim.processOrderBook(book(100, T0));
    const resting = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '99',
      quantity: '1',
      expiresAt: T0 + 1000,
    });
    const market = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '6' });
    clock.advanceTo(T0 + 100);
    await flush();
    expect(await sim.fetchOrder('main', market.id)).toMatchObject({ status: 'filled', filledQuantity: 6 });
    expect(fills.map((fill) => [fill.price, fill.quantity])).toEqual([
      [100.1, 5],
      [100.2, 1],
    ]);
    // A snapshot at the expiry time with asks through the limit: the order is already gone.
    sim.processOrderBook({ ...book(98, T0 + 1000), asks: [[98.5, 5]] });
    expect(await sim.fetchOrder('main', resting.id)).toMatchObject({ status: 'expired', filledQuantity: 0 });
  });

  it('next-open model: an order expiring inside a bar does not fill from that bar, one live to the close does', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open' });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
    const early = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '99',
      quantity: '1',
      expiresAt: T0 + MINUTE + 30_000, // inside bar 1
    });
    const full = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '99',
      quantity: '1',
      expiresAt: T0 + 2 * MINUTE, // bar 1's close
    });
    const market = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'market',
      quantity: '1',
      expiresAt: T0 + 30_000, // before the next open
    });
    sim.processCandle('BTC', bar(1, 100, 100.5, 98, 99.5), MINUTE); // trades through 99
    expect(fills.map((fill) => fill.orderId)).toEqual([full.id]);
    expect(await sim.fetchOrder('main', early.id)).toMatchObject({
      status: 'expired',
      reason: 'TTL_EXPIRED',
      updatedAt: T0 + MINUTE + 30_000,
    });
    expect(await sim.fetchOrder('main', market.id)).toMatchObject({
      status: 'expired',
      filledQuantity: 0,
      updatedAt: T0 + 30_000,
    });
  });

  it('on a real clock, the ack and the expiry happen without any market data', async () => {
    const sim = new SimExchange({
      fillModel: 'mark',
      slippage: 0,
      ackLatencyMs: 20,
      markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', fundingRate: 0 }],
    });
    try {
      sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: sim.clock.now() });
      const market = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' });
      const resting = await sim.submitOrder({
        ...base,
        side: 'buy',
        type: 'limit',
        price: '90',
        quantity: '1',
        expiresAt: sim.clock.now() + 60,
      });
      await waitFor(
        async () => (await sim.fetchOrder('main', resting.id))?.status === 'expired',
        5000,
        'the expiry',
      );
      expect((await sim.fetchOrder('main', market.id))?.status).toBe('filled');
    } finally {
      await sim.close();
    }
  });
});
