import { ExchangeError } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { createSim, rejection, T0 } from './helpers';

const base = { account: 'main', symbol: 'BTC' } as const;

describe('order types (mark model)', () => {
  it('market: fills at once at the mark, worse by the size-based slippage, rounded to the tick', async () => {
    const { sim, fills } = createSim({ slippage: { min: 0.001, max: 0.003, notionalAtMax: 100_000 } });
    sim.processTicker({ symbol: 'BTC', mark: 50_000, timestamp: T0 });
    const order = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' });
    // notional 50 000 → slippage 0.001 + 0.002 × 0.5 = 0.2% → 50 100
    expect(order).toMatchObject({ status: 'filled', filledQuantity: 1, averagePrice: 50_100 });
    expect(fills[0]).toMatchObject({
      price: 50_100,
      liquidity: 'taker',
      fee: 50_100 * 0.0005,
      slippage: 100,
    });
    const sell = await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '0.1' });
    expect(sell.averagePrice).toBe(49_945); // notional 5 000 → 0.1% + 0.2% × 0.05 = 0.11%
  });

  it('limit: rests when passive and fills as maker at its price when the mark trades through', async () => {
    const { sim, fills } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const order = await sim.submitOrder({ ...base, side: 'buy', type: 'limit', price: '99', quantity: '1' });
    expect(order.status).toBe('open');
    sim.processTicker({ symbol: 'BTC', mark: 99, timestamp: T0 + 1 }); // touching is not trading through
    expect(fills).toHaveLength(0);
    sim.processTicker({ symbol: 'BTC', mark: 98.9, timestamp: T0 + 2 });
    expect(fills[0]).toMatchObject({ price: 99, liquidity: 'maker', fee: 99 * 0.0002 });
    expect((await sim.fetchOrder('main', order.id))?.status).toBe('filled');
  });

  it('a marketable limit takes at the slipped mark only when that is within its limit; else GTC rests, IOC cancels', async () => {
    const { sim, fills } = createSim({ slippage: 0.01 });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    // Within the limit: the whole size at the slipped mark (101), not capped at or improved to the limit.
    const within = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '102',
      quantity: '1',
    });
    expect(within).toMatchObject({ status: 'filled', averagePrice: 101 });
    expect(fills.at(-1)).toMatchObject({ price: 101, liquidity: 'taker', slippage: 1 });
    // Beyond the limit (101 > 100.5): it takes nothing.
    const ioc = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '100.5',
      quantity: '1',
      timeInForce: 'ioc',
    });
    expect(ioc).toMatchObject({ status: 'cancelled', reason: 'IOC_NOT_FILLED', filledQuantity: 0 });
    const gtc = await sim.submitOrder({ ...base, side: 'buy', type: 'limit', price: '100.5', quantity: '1' });
    expect(gtc).toMatchObject({ status: 'open', filledQuantity: 0 });
    expect(fills).toHaveLength(1);
    // Resting at 100.5, it fills as maker at its price when a later mark is through it.
    sim.processTicker({ symbol: 'BTC', mark: 100.2, timestamp: T0 + 1 });
    expect(fills.at(-1)).toMatchObject({ orderId: gtc.id, price: 100.5, liquidity: 'maker' });
  });

  it('post-only: rejected when it would cross, rests otherwise, and only ever fills as maker', async () => {
    const { sim, fills } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    expect(
      await rejection(
        sim.submitOrder({
          ...base,
          side: 'buy',
          type: 'limit',
          price: '100',
          quantity: '1',
          timeInForce: 'post-only',
        }),
      ),
    ).toBe('POST_ONLY_WOULD_CROSS');
    await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'limit',
      price: '101',
      quantity: '1',
      timeInForce: 'post-only',
    });
    sim.processTicker({ symbol: 'BTC', mark: 101.5, timestamp: T0 + 1 });
    expect(fills.map((fill) => fill.liquidity)).toEqual(['maker']);
  });

  it('IOC and FOK never rest', async () => {
    const { sim } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const ioc = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '99',
      quantity: '1',
      timeInForce: 'ioc',
    });
    expect(ioc).toMatchObject({ status: 'cancelled', reason: 'IOC_NOT_FILLED', filledQuantity: 0 });
    const fok = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '101',
      quantity: '1',
      timeInForce: 'fok',
    });
    expect(fok).toMatchObject({ status: 'filled', filledQuantity: 1 });
    expect(await sim.fetchOpenOrders('main')).toEqual([]);
  });

  it('reduce-only reduces and never increases; a resting one is cut to the position', async () => {
    const { sim } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    expect(
      await rejection(
        sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '1', reduceOnly: true }),
      ),
    ).toBe('REDUCE_ONLY_WOULD_INCREASE');
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '2' });
    expect(
      await rejection(
        sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1', reduceOnly: true }),
      ),
    ).toBe('REDUCE_ONLY_WOULD_INCREASE');
    expect(
      await rejection(
        sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '3', reduceOnly: true }),
      ),
    ).toBe('REDUCE_ONLY_WOULD_INCREASE');
    const resting = await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'limit',
      price: '105',
      quantity: '2',
      reduceOnly: true,
    });
    await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '1.5' });
    sim.processTicker({ symbol: 'BTC', mark: 106, timestamp: T0 + 1 });
    expect(await sim.fetchOrder('main', resting.id)).toMatchObject({
      filledQuantity: 0.5,
      status: 'cancelled',
      reason: 'REDUCE_ONLY_REMAINDER_CANCELLED',
    });
    expect(await sim.fetchPositions('main')).toEqual([]);
  });

  it('TTL: a resting order expires at its time', async () => {
    const { sim, clock } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const order = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '90',
      quantity: '1',
      expiresAt: T0 + 30_000,
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 29_999 });
    expect((await sim.fetchOrder('main', order.id))?.status).toBe('open');
    clock.advanceTo(T0 + 30_000);
    sim.advanceTime();
    expect(await sim.fetchOrder('main', order.id)).toMatchObject({
      status: 'expired',
      reason: 'TTL_EXPIRED',
    });
  });

  it('client order ids: a duplicate is rejected; cancel works by client id; cancel-all counts', async () => {
    const { sim } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '90',
      quantity: '1',
      clientOrderId: 'a',
    });
    expect(
      await rejection(
        sim.submitOrder({
          ...base,
          side: 'buy',
          type: 'limit',
          price: '91',
          quantity: '1',
          clientOrderId: 'a',
        }),
      ),
    ).toBe('DUPLICATE_CLIENT_ORDER_ID');
    expect((await sim.cancelOrder({ ...base, clientOrderId: 'a' })).status).toBe('cancelled');
    // A used id stays used after the order is gone.
    expect(
      await rejection(
        sim.submitOrder({
          ...base,
          side: 'buy',
          type: 'limit',
          price: '91',
          quantity: '1',
          clientOrderId: 'a',
        }),
      ),
    ).toBe('DUPLICATE_CLIENT_ORDER_ID');
    await sim.submitOrder({ ...base, side: 'buy', type: 'limit', price: '91', quantity: '1' });
    await sim.submitOrder({ ...base, side: 'buy', type: 'limit', price: '92', quantity: '1' });
    expect(await sim.cancelAllOrders({ account: 'main' })).toBe(2);
    await expect(sim.cancelOrder({ ...base, orderId: 'sim-999' })).rejects.toMatchObject({
      code: 'ORDER_NOT_FOUND',
    });
  });

  it('ack latency: an order is pending until its latency has passed, and only then fills', async () => {
    const { sim, clock, orders } = createSim({ ackLatencyMs: 250 });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const order = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' });
    expect(order.status).toBe('pending');
    clock.advanceTo(T0 + 249);
    sim.processTicker({ symbol: 'BTC', mark: 101, timestamp: T0 + 249 });
    expect((await sim.fetchOrder('main', order.id))?.status).toBe('pending');
    clock.advanceTo(T0 + 250);
    sim.processTicker({ symbol: 'BTC', mark: 102, timestamp: T0 + 250 });
    expect(await sim.fetchOrder('main', order.id)).toMatchObject({ status: 'filled', averagePrice: 102 });
    expect(orders.map((entry) => entry.status)).toEqual(['pending', 'open', 'filled']);
  });
});

describe('rejection reasons', () => {
  it.each([
    [{ quantity: '0.0015' }, 'INVALID_QUANTITY'],
    [{ quantity: '-1' }, 'INVALID_QUANTITY'],
    [{ quantity: 'abc' }, 'INVALID_QUANTITY'],
    [{ type: 'limit', price: '100.05' }, 'INVALID_PRICE'],
    [{ type: 'limit' }, 'INVALID_PRICE'],
    [{ quantity: '0.05' }, 'BELOW_MIN_NOTIONAL'],
    [{ quantity: '1000' }, 'INSUFFICIENT_MARGIN'],
    [{ timeInForce: 'gtc' }, 'INVALID_TIME_IN_FORCE'],
    [{ type: 'stop' }, 'INVALID_ORDER_TYPE'],
  ] as const)('%o → %s', async (change, reason) => {
    const { sim } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const request = { ...base, side: 'buy' as const, type: 'market' as const, quantity: '1', ...change };
    expect(await rejection(sim.submitOrder(request as never))).toBe(reason);
  });

  it('LEVERAGE_EXCEEDED values the trade at the mark: slippage cannot sneak a short past the cap', async () => {
    // Found by the property test: a slipped short sold below the mark looked like 4.93× at the fill
    // price but is 5.01× at the mark the account is reported at.
    const { sim } = createSim({
      slippage: { min: 0.001, max: 0.003, notionalAtMax: 50_000 },
      markets: [{ symbol: 'BTC', tickSize: '0.5', lotSize: '0.01', maxLeverage: 10 }],
      accounts: [{ id: 'main', balance: 20_000, maxLeverage: 5 }],
    });
    sim.processTicker({ symbol: 'BTC', mark: 50_000, timestamp: T0 });
    expect(
      await rejection(sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '1.97' })),
    ).toBe('LEVERAGE_EXCEEDED');
    await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '1.9' });
    expect((await sim.fetchAccount('main')).leverage).toBeLessThanOrEqual(5);
  });

  it('BELOW_MIN_QUANTITY, NO_MARKET_DATA, LEVERAGE_EXCEEDED and the not-found errors', async () => {
    const { sim } = createSim({
      markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', minQuantity: '0.01', maxLeverage: 50 }],
      accounts: [{ id: 'main', balance: 1000, maxLeverage: 3 }],
    });
    expect(await rejection(sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' }))).toBe(
      'NO_MARKET_DATA',
    );
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    expect(
      await rejection(sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '0.005' })),
    ).toBe('BELOW_MIN_QUANTITY');
    expect(await rejection(sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '31' }))).toBe(
      'LEVERAGE_EXCEEDED',
    );
    expect(
      await rejection(sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '29' })),
    ).toBeUndefined();
    await expect(
      sim.submitOrder({ ...base, symbol: 'DOGE', side: 'buy', type: 'market', quantity: '1' }),
    ).rejects.toMatchObject({ code: 'MARKET_NOT_FOUND' });
    await expect(
      sim.submitOrder({ ...base, account: 'nobody', side: 'buy', type: 'market', quantity: '1' }),
    ).rejects.toBeInstanceOf(ExchangeError);
  });
});

describe('book model', () => {
  const thin = {
    symbol: 'BTC',
    timestamp: T0,
    bids: [
      [99.9, 0.5],
      [99.8, 0.5],
    ] as const,
    asks: [
      [100.1, 0.3],
      [100.2, 0.4],
      [100.5, 0.2],
    ] as const,
  };

  it('walks the depth with partial fills and fills nothing beyond visible liquidity', async () => {
    const { sim, fills } = createSim({ fillModel: 'book' });
    sim.processOrderBook(thin);
    const order = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1.5' });
    expect(fills.map((fill) => [fill.price, fill.quantity, fill.cumulativeQuantity])).toEqual([
      [100.1, 0.3, 0.3],
      [100.2, 0.4, 0.7],
      [100.5, 0.2, 0.9],
    ]);
    const vwap = (100.1 * 0.3 + 100.2 * 0.4 + 100.5 * 0.2) / 0.9;
    expect(order).toMatchObject({
      status: 'cancelled',
      reason: 'IOC_REMAINDER_CANCELLED',
      filledQuantity: 0.9,
    });
    expect(order.averagePrice).toBeCloseTo(vwap, 10);
    expect(fills.at(-1)?.averagePrice).toBeCloseTo(vwap, 10);
    expect(fills.at(-1)?.cumulativeFee).toBeCloseTo(vwap * 0.9 * 0.0005, 10);
    // Liquidity we took stays taken until the next snapshot.
    const again = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '0.1' });
    expect(again).toMatchObject({ status: 'cancelled', filledQuantity: 0, reason: 'IOC_NOT_FILLED' });
  });

  it('FOK fills fully or not at all; a limit stops at its price and rests the rest', async () => {
    const { sim, fills } = createSim({ fillModel: 'book' });
    sim.processOrderBook(thin);
    const fok = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'market',
      quantity: '1',
      timeInForce: 'fok',
    });
    expect(fok).toMatchObject({ status: 'cancelled', reason: 'FOK_NOT_FILLED', filledQuantity: 0 });
    expect(fills).toHaveLength(0);
    const limit = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '100.2',
      quantity: '1',
    });
    expect(limit).toMatchObject({ status: 'partially-filled', filledQuantity: 0.7 });
    // The next snapshot brings asks at our price: the rest fills as maker at our limit.
    sim.processOrderBook({ ...thin, asks: [[100.2, 5]] });
    expect(await sim.fetchOrder('main', limit.id)).toMatchObject({ status: 'filled', filledQuantity: 1 });
    expect(fills.at(-1)).toMatchObject({ liquidity: 'maker', price: 100.2, quantity: 0.3 });
  });

  const deep = {
    symbol: 'BTC',
    timestamp: T0,
    bids: [[99.9, 50] as const],
    asks: [[100, 5] as const, [100.5, 5] as const],
  };

  it('FOK checks depth and margin for its whole size before any fill', async () => {
    // 1 000 of collateral at 10×. Valued at the mark (99.95), 95 pass the check at submit; walking
    // the book costs 50 at 100 and 45 at 120, which leaves equity 95.25 under 949.5 of margin,
    // while the first 50 alone would fit.
    const { sim, fills } = createSim({
      fillModel: 'book',
      fees: { maker: 0, taker: 0 },
      accounts: [{ id: 'main', balance: 1000 }],
    });
    const steep = { ...deep, asks: [[100, 50] as const, [120, 50] as const] };
    sim.processOrderBook(steep);
    const fok = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'market',
      quantity: '95',
      timeInForce: 'fok',
    });
    expect(fok).toMatchObject({ status: 'cancelled', reason: 'INSUFFICIENT_MARGIN', filledQuantity: 0 });
    expect(fills).toEqual([]);
    expect(await sim.fetchPositions('main')).toEqual([]);
    // The same order as IOC fills level by level and stops where margin runs out.
    const ioc = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '95' });
    expect(ioc).toMatchObject({ status: 'cancelled', reason: 'INSUFFICIENT_MARGIN', filledQuantity: 50 });
  });

  it('a level under one lot is skipped, not the end of the walk; FOK reasons stay FOK', async () => {
    const { sim, fills } = createSim({ fillModel: 'book' });
    const dusty = { ...thin, asks: [[100.1, 0.0004] as const, [100.2, 1] as const] };
    sim.processOrderBook(dusty);
    const fok = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'market',
      quantity: '0.5',
      timeInForce: 'fok',
    });
    expect(fok).toMatchObject({ status: 'filled', averagePrice: 100.2 });
    const ioc = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '0.4' });
    expect(ioc).toMatchObject({ status: 'filled', averagePrice: 100.2 });
    const short = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'market',
      quantity: '0.2',
      timeInForce: 'fok',
    });
    expect(short).toMatchObject({ status: 'cancelled', reason: 'FOK_NOT_FILLED', filledQuantity: 0 });
    expect(fills.map((fill) => [fill.price, fill.quantity])).toEqual([
      [100.2, 0.5],
      [100.2, 0.4],
    ]);
  });

  it('a reduce-only FOK larger than the position when it goes live is cancelled whole', async () => {
    const { sim, clock, fills } = createSim({ fillModel: 'book', ackLatencyMs: 10 });
    sim.processOrderBook(deep);
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '2' });
    clock.advanceTo(T0 + 10);
    sim.processOrderBook({ ...deep, timestamp: T0 + 10 });
    await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '1', reduceOnly: true });
    const fok = await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'market',
      quantity: '2',
      reduceOnly: true,
      timeInForce: 'fok',
    });
    clock.advanceTo(T0 + 20);
    sim.processOrderBook({ ...deep, timestamp: T0 + 20 }); // both go live; the first leaves a position of 1
    expect(await sim.fetchOrder('main', fok.id)).toMatchObject({
      status: 'cancelled',
      reason: 'FOK_NOT_FILLED',
      filledQuantity: 0,
    });
    expect(fills.map((fill) => fill.quantity)).toEqual([2, 1]);
    expect((await sim.fetchPositions('main'))[0]?.quantity).toBe(1);
  });
});

describe('next-open model (candles)', () => {
  const bar = (index: number, open: number, high: number, low: number, close: number) => ({
    timestamp: T0 + index * 60_000,
    open,
    high,
    low,
    close,
    volume: 1,
  });

  it('a market order decided at bar t fills at bar t+1 open', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open' });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100.5), 60_000);
    const order = await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' });
    expect(order.status).toBe('open');
    expect(fills).toHaveLength(0);
    sim.processCandle('BTC', bar(1, 102.3, 103, 101, 102), 60_000);
    expect(fills[0]).toMatchObject({ price: 102.3, timestamp: T0 + 60_000, liquidity: 'taker' });
  });

  it('a resting limit fills only when a bar trades through it', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open' });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), 60_000);
    await sim.submitOrder({ ...base, side: 'buy', type: 'limit', price: '98', quantity: '1' });
    sim.processCandle('BTC', bar(1, 100, 100, 98, 99), 60_000); // low touches 98: no fill
    expect(fills).toHaveLength(0);
    sim.processCandle('BTC', bar(2, 99, 99, 97.9, 98.5), 60_000);
    expect(fills[0]).toMatchObject({ price: 98, liquidity: 'maker' });
  });
});
