import { describe, expect, it } from 'vitest';
import { bar, createSim, rejection, T0 } from './helpers';

const base = { account: 'main', symbol: 'BTC' } as const;
const MINUTE = 60_000;

describe('next-open model: time in force', () => {
  it('IOC and FOK never rest: not marketable at the next open, they are cancelled there even if the bar trades through', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open' });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
    const ioc = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '99',
      quantity: '1',
      timeInForce: 'ioc',
    });
    const fok = await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'limit',
      price: '101',
      quantity: '1',
      timeInForce: 'fok',
    });
    expect([ioc.status, fok.status]).toEqual(['open', 'open']); // decided now, executed at the next open
    // The next bar opens at 100 (neither crosses) and then trades through both prices.
    sim.processCandle('BTC', bar(1, 100, 102, 98, 100), MINUTE);
    expect(fills).toEqual([]);
    expect(await sim.fetchOrder('main', ioc.id)).toMatchObject({
      status: 'cancelled',
      reason: 'IOC_NOT_FILLED',
      updatedAt: T0 + MINUTE,
    });
    expect(await sim.fetchOrder('main', fok.id)).toMatchObject({
      status: 'cancelled',
      reason: 'FOK_NOT_FILLED',
      updatedAt: T0 + MINUTE,
    });
    expect(await sim.fetchOpenOrders('main')).toEqual([]);
  });

  it('IOC and FOK marketable at the next open fill there as taker', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open' });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
    await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '101',
      quantity: '1',
      timeInForce: 'ioc',
    });
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '0.5', timeInForce: 'fok' });
    sim.processCandle('BTC', bar(1, 100.5, 102, 98, 100), MINUTE);
    expect(fills.map((fill) => [fill.price, fill.quantity, fill.liquidity, fill.timestamp])).toEqual([
      [100.5, 1, 'taker', T0 + MINUTE],
      [100.5, 0.5, 'taker', T0 + MINUTE],
    ]);
  });

  it('FOK is all-or-nothing at the open: a margin failure or a short reduce-only position cancels it with no fill', async () => {
    const { sim, fills } = createSim({
      fillModel: 'next-open',
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
    // Fits at 100 (initial margin 950 of 1000); at an open of 110 the loss to the mark breaks it.
    const big = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'market',
      quantity: '95',
      timeInForce: 'fok',
    });
    sim.processCandle('BTC', bar(1, 110, 111, 109, 110), MINUTE);
    expect(await sim.fetchOrder('main', big.id)).toMatchObject({
      status: 'cancelled',
      reason: 'INSUFFICIENT_MARGIN',
      filledQuantity: 0,
    });
    expect(fills).toEqual([]);

    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' });
    sim.processCandle('BTC', bar(2, 110, 111, 109, 110), MINUTE);
    // Two reduce-only sells decided together: the first halves the position, so the FOK of the full
    // size can no longer fill in full at the open.
    await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '0.5', reduceOnly: true });
    const fok = await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'market',
      quantity: '1',
      reduceOnly: true,
      timeInForce: 'fok',
    });
    sim.processCandle('BTC', bar(3, 110, 111, 109, 110), MINUTE);
    expect(await sim.fetchOrder('main', fok.id)).toMatchObject({
      status: 'cancelled',
      reason: 'FOK_NOT_FILLED',
      filledQuantity: 0,
    });
    expect((await sim.fetchPositions('main'))[0]?.quantity).toBe(0.5);
  });

  it('post-only: rejected if it crosses the close, cancelled if it crosses when acknowledged, and fills only as maker', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open', ackLatencyMs: 90_000 });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
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
    const late = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '99',
      quantity: '1',
      timeInForce: 'post-only',
    });
    const resting = await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'limit',
      price: '102',
      quantity: '1',
      timeInForce: 'post-only',
    });
    // Acknowledged at T0 + 90 s: bar 1 (from T0 + 60 s) cannot fill them; it closes at 98.5.
    sim.processCandle('BTC', bar(1, 100, 100, 98, 98.5), MINUTE);
    expect((await sim.fetchOrder('main', late.id))?.status).toBe('pending');
    sim.processCandle('BTC', bar(2, 98.5, 99, 98, 98.6), MINUTE);
    expect(await sim.fetchOrder('main', late.id)).toMatchObject({
      status: 'cancelled',
      reason: 'POST_ONLY_WOULD_CROSS',
    });
    // The resting sell: a bar gapping up through it fills it at its own price, as maker.
    sim.processCandle('BTC', bar(3, 103, 104, 102.5, 103), MINUTE);
    expect(fills.map((fill) => [fill.orderId, fill.price, fill.liquidity])).toEqual([
      [resting.id, 102, 'maker'],
    ]);
  });

  it('reduce-only: fills at the open, a resting one is cut to the position, one that no longer reduces is cancelled', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open' });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '2' });
    sim.processCandle('BTC', bar(1, 100, 101, 99, 100), MINUTE);
    const resting = await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'limit',
      price: '105',
      quantity: '2',
      reduceOnly: true,
    });
    await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '1.5', reduceOnly: true });
    sim.processCandle('BTC', bar(2, 101, 106, 100, 104), MINUTE);
    expect(fills.slice(1).map((fill) => [fill.price, fill.quantity, fill.reduceOnly])).toEqual([
      [101, 1.5, true],
      [105, 0.5, true],
    ]);
    expect(await sim.fetchOrder('main', resting.id)).toMatchObject({
      status: 'cancelled',
      reason: 'REDUCE_ONLY_REMAINDER_CANCELLED',
      filledQuantity: 0.5,
    });
    expect(await sim.fetchPositions('main')).toEqual([]);

    await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '1' });
    sim.processCandle('BTC', bar(3, 104, 105, 103, 104), MINUTE);
    expect((await sim.fetchPositions('main'))[0]?.quantity).toBe(-1);
    const wrongSide = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '90',
      quantity: '1',
      reduceOnly: true,
    });
    // Decided later but executed first: the open precedes anything inside the bar.
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '1' }); // flattens at the open
    sim.processCandle('BTC', bar(4, 104, 105, 89, 95), MINUTE); // then trades through 90
    expect(await sim.fetchOrder('main', wrongSide.id)).toMatchObject({
      status: 'cancelled',
      reason: 'REDUCE_ONLY_WOULD_INCREASE',
      filledQuantity: 0,
    });
  });
});

describe('next-open model: limits and slippage', () => {
  it('a limit marketable when decided takes at the slipped open only within its limit; beyond it GTC rests, IOC cancels', async () => {
    const { sim, fills } = createSim({ fillModel: 'next-open', slippage: 0.01 });
    sim.processCandle('BTC', bar(0, 100, 101, 99, 100), MINUTE);
    const within = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '102',
      quantity: '1',
    });
    const ioc = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '100.5',
      quantity: '1',
      timeInForce: 'ioc',
    });
    const gtc = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '100.5',
      quantity: '1',
    });
    // Open 100: the taker price is 101, within 102 but beyond 100.5.
    sim.processCandle('BTC', bar(1, 100, 100.4, 99.5, 100), MINUTE);
    expect(fills.map((fill) => [fill.orderId, fill.price, fill.liquidity])).toEqual([
      [within.id, 101, 'taker'],
      // Resting at 100.5 from the open, the bar trades through it: a maker fill at its price.
      [gtc.id, 100.5, 'maker'],
    ]);
    expect(await sim.fetchOrder('main', ioc.id)).toMatchObject({
      status: 'cancelled',
      reason: 'IOC_NOT_FILLED',
    });
  });
});

describe('next-open model: liquidation', () => {
  it('liquidates at the liquidation price (on the tick, against the account) when a bar trades through it', async () => {
    const { sim, liquidations, fills, balances } = createSim({
      fillModel: 'next-open',
      fees: { maker: 0, taker: 0 },
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processCandle('BTC', bar(0, 100_000, 100_100, 99_900, 100_000), MINUTE);
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '0.09' });
    sim.processCandle('BTC', bar(1, 100_000, 100_500, 99_000, 99_500), MINUTE);
    const resting = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '80000',
      quantity: '0.001',
    });
    // equity = 1000 + (p − 100 000) × 0.09 = 0.05 × 0.09 × p  →  p = 8000 / 0.0855 = 93 567.25…
    expect(sim.liquidationPrice('main', 'BTC')).toBeCloseTo(8000 / 0.0855, 6);
    // Opens above it, trades through it (low 93 000): executes at the liquidation price, floored to the tick.
    sim.processCandle('BTC', bar(2, 96_000, 96_500, 93_000, 94_000), MINUTE);
    const price = 93_567.2;
    const fee = 0.09 * price * 0.01;
    expect(liquidations).toEqual([
      expect.objectContaining({ symbol: 'BTC', quantity: 0.09, price, timestamp: T0 + 2 * MINUTE }),
    ]);
    expect(liquidations[0]?.fee).toBeCloseTo(fee, 9);
    expect(fills.at(-1)).toMatchObject({ side: 'sell', price, quantity: 0.09, reduceOnly: true });
    const pnl = (price - 100_000) * 0.09;
    const change = balances.find((entry) => entry.kind === 'liquidation');
    expect(change?.amount).toBeCloseTo(pnl - fee, 9);
    expect((await sim.fetchAccount('main')).collateral).toBeCloseTo(1000 + pnl - fee, 9);
    expect(await sim.fetchOrder('main', resting.id)).toMatchObject({
      status: 'cancelled',
      reason: 'LIQUIDATION',
    });
    // The forced close is an order like any other: retrievable by its id.
    expect(await sim.fetchOrder('main', fills.at(-1)?.orderId as string)).toMatchObject({
      status: 'filled',
      reason: 'LIQUIDATION',
      filledQuantity: 0.09,
      averagePrice: price,
      reduceOnly: true,
    });
  });

  it('liquidates at the open when the bar gaps through the liquidation price', async () => {
    const { sim, liquidations } = createSim({
      fillModel: 'next-open',
      fees: { maker: 0, taker: 0 },
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processCandle('BTC', bar(0, 100_000, 100_100, 99_900, 100_000), MINUTE);
    await sim.submitOrder({ ...base, side: 'sell', type: 'market', quantity: '0.09' });
    sim.processCandle('BTC', bar(1, 100_000, 100_500, 99_000, 99_500), MINUTE);
    // Short: equity = 1000 − (p − 100 000) × 0.09 = 0.05 × 0.09 × p → p = 10 000 / 0.0945 = 105 820.1…
    expect(sim.liquidationPrice('main', 'BTC')).toBeCloseTo(10_000 / 0.0945, 6);
    sim.processCandle('BTC', bar(2, 107_000, 108_000, 106_500, 107_500), MINUTE);
    expect(liquidations.map((entry) => [entry.quantity, entry.price])).toEqual([[-0.09, 107_000]]);
  });
});
