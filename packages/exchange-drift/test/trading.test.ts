import type { Fill, Order } from '@perpkit/core';
import { OrderRejectedError } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, rejection, startVenue, type Venue } from './helpers';

let venue: Venue | undefined;
afterEach(async () => {
  await venue?.stop();
  venue = undefined;
});

async function connected(options: Parameters<typeof startVenue>[0] = {}): Promise<Venue> {
  venue = await startVenue(options);
  await venue.exchange.connect();
  return venue;
}

const position = async (v: Venue, symbol = 'SOL') =>
  (await v.exchange.fetchPositions('main')).find((item) => item.symbol === symbol)?.quantity ?? 0;

describe('market orders', () => {
  it('carry a price limit of the oracle ± the slippage tolerance, on the tick', async () => {
    const v = await connected({ exchange: { slippageBps: 50 } });
    v.rpc.setPrice('SOL', '150.1234');
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    // The fake lands the order with the params the SDK encoded: read them back from the account.
    const buy = v.rpc.user(v.userAddress)?.orders.find((order) => order.orderId === 1);
    // 150.1234 × 1.005 = 150.874017 → a buy's limit rounds down to the tick 0.0001.
    expect(buy?.price.toString()).toBe('150874000');
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '1',
    });
    const sell = v.rpc.user(v.userAddress)?.orders.find((order) => order.orderId === 2);
    // 150.1234 × 0.995 = 149.372783 → a sell's limit rounds up: 149.3728.
    expect(sell?.price.toString()).toBe('149372800');
  });

  it('report fills from the program events: exact price, fee and cumulative fields', async () => {
    const v = await connected();
    const fills = collect<Fill>(v, 'fill');
    const order = await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '2.5',
    });
    expect(order.status).toBe('filled');
    // Oracle 150, taker half-spread 2 bps: 150.03; quote 375.075 USDC; fee 3.5 bps rounded up: 0.131277.
    expect(order.averagePrice).toBe(150.03);
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({
      orderId: order.id,
      side: 'buy',
      quantity: 2.5,
      price: 150.03,
      fee: 0.131277,
      liquidity: 'taker',
      cumulativeQuantity: 2.5,
      cumulativeFee: 0.131277,
    });
    expect(await position(v)).toBe(2.5);
  });

  it('refuse a price limit the market cannot meet (the program fails the fill-or-kill)', async () => {
    const v = await connected();
    const error = await rejection(
      v.exchange.submitOrder({
        account: 'main',
        symbol: 'SOL',
        side: 'buy',
        type: 'market',
        quantity: '1',
        priceLimit: '149',
      }),
    );
    expect(error).toBeInstanceOf(OrderRejectedError);
    expect(error.reason).toBe('PRICE_LIMIT_NOT_FILLABLE');
    expect(error.details?.programError).toBe('PlaceAndTakeOrderSuccessConditionFailed');
    expect(await position(v)).toBe(0);
  });

  it('close a position by its exact offsetting size', async () => {
    const v = await connected();
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '1.23',
    });
    expect(await position(v)).toBe(-1.23);
    const close = await v.exchange.closePosition('main', 'SOL');
    expect(close).toMatchObject({ side: 'buy', quantity: 1.23, reduceOnly: true, status: 'filled' });
    expect(await position(v)).toBe(0);
    expect(v.rpc.user(v.userAddress)?.perpPositions.every((item) => item.baseAssetAmount.isZero())).toBe(
      true,
    );
    expect(await v.exchange.closePosition('main', 'SOL')).toBeUndefined();
  });
});

describe('safety rules: each refusal says why', () => {
  it('refuses an order that would take leverage above the limit (5x by default), and sends nothing', async () => {
    const v = await connected({ usdc: '1000' });
    const sent = v.rpc.signatures().length;
    // 40 SOL at 150 = 6 000 USD on 1 000 of equity: 6x.
    const error = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '40' }),
    );
    expect(error).toBeInstanceOf(OrderRejectedError);
    expect(error.reason).toBe('MAX_LEVERAGE');
    expect(error.message).toMatch(/6\.00x, above the 5x limit/);
    expect(v.rpc.signatures()).toHaveLength(sent);
    // 30 SOL (4.5x) passes; reducing it passes whatever the leverage.
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '30',
    });
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '10',
      reduceOnly: true,
    });
    expect(await position(v)).toBe(20);
  });

  it('a failed simulation refuses the order with the program error, and sends nothing', async () => {
    const v = await connected();
    const sent = v.rpc.signatures().length;
    v.rpc.failNextSimulation('InsufficientCollateral');
    const error = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    expect(error).toBeInstanceOf(OrderRejectedError);
    expect(error.reason).toBe('INSUFFICIENT_MARGIN');
    expect(error.message).toMatch(/simulation failed: InsufficientCollateral; nothing was sent/);
    expect(v.rpc.signatures()).toHaveLength(sent);
    expect(await position(v)).toBe(0);
  });

  it('a confirmation timeout then an unknown status pauses trading with an error event, until the operator resumes', async () => {
    const v = await connected();
    const errors = collect<{ code: string; reason?: string }>(v, 'error');
    v.rpc.dropNextTransactions(1);
    const error = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    expect(error.code).toBe('EXCHANGE_TIMEOUT');
    expect(error.reason).toBe('TRANSACTION_UNKNOWN');
    expect(error.message).toMatch(/outcome is unknown/);
    expect(errors.some((item) => item.reason === 'TRANSACTION_UNKNOWN')).toBe(true);
    expect([...v.exchange.tradingHolds().keys()]).toContain('TRANSACTION_UNKNOWN');
    expect(v.exchange.health()).toMatchObject({ ok: false });
    const refused = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    expect(refused.reason).toBe('TRADING_DISABLED');
    expect(refused.message).toMatch(/TRANSACTION_UNKNOWN/);
    v.exchange.resumeTrading();
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(await position(v)).toBe(1);
  });

  it('a transaction that lands late in the status query is confirmed', async () => {
    const v = await connected();
    // Confirmation window 400 ms, status query 400 ms more: landing at 600 ms is found by the query.
    v.rpc.delayNextLanding(600);
    const order = await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(order.status).toBe('filled');
    expect(v.exchange.tradingHolds().size).toBe(0);
  });

  it('a transaction whose blockhash expired unconfirmed is failed (never landed), and trading goes on', async () => {
    const v = await connected();
    v.rpc.dropNextTransactions(1);
    const pending = rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 450));
    v.rpc.expireBlockhashes();
    const error = await pending;
    expect(error.code).toBe('TRANSACTION_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/expired unconfirmed/);
    expect(v.exchange.tradingHolds().size).toBe(0);
    expect(await position(v)).toBe(0);
  });

  it('a ledger desync (the account never shows the fill) disables trading until a poll sees it', async () => {
    const v = await connected();
    const errors = collect<{ reason?: string }>(v, 'error');
    v.rpc.freezeAccount(v.userAddress, true);
    const order = await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(order.status).toBe('filled');
    expect([...v.exchange.tradingHolds().keys()]).toEqual(['DESYNC']);
    expect(errors.some((item) => item.reason === 'DESYNC')).toBe(true);
    const refused = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    expect(refused.reason).toBe('TRADING_DISABLED');
    expect(refused.message).toMatch(/DESYNC/);
    v.rpc.freezeAccount(v.userAddress, false);
    await waitFor(() => v.exchange.tradingHolds().size === 0, 5_000, 'desync to clear');
    expect(await position(v)).toBe(1);
  });

  it('RPC send errors are retried (1 s, 2 s, 4 s by default; shortened here); when every retry fails nothing lands', async () => {
    const v = await connected();
    v.rpc.failNextSends(2);
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(await position(v)).toBe(1);
    v.rpc.failNextSends(4);
    const error = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    expect(error.code).toBe('TRANSACTION_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/Node is behind/);
    expect(await position(v)).toBe(1);
  });
});

describe('resting orders', () => {
  it('a keeper fill of a resting limit is reported from the account, with the maker fee from its event', async () => {
    const v = await connected();
    const fills = collect<Fill>(v, 'fill');
    const orders = collect<Order>(v, 'order');
    const order = await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'limit',
      price: '149.5',
      quantity: '2',
      clientOrderId: 'dip-buy',
    });
    expect(order.status).toBe('open');
    v.rpc.setPrice('SOL', '149');
    await waitFor(() => fills.some((fill) => fill.orderId === order.id), 5_000, 'the maker fill');
    // 2 × 149.5 = 299 USDC; maker rebate 0.2 bps = 0.00598 (negative fee).
    expect(fills.find((fill) => fill.orderId === order.id)).toMatchObject({
      clientOrderId: 'dip-buy',
      quantity: 2,
      price: 149.5,
      fee: -0.00598,
      liquidity: 'maker',
      cumulativeQuantity: 2,
    });
    await waitFor(
      () => orders.some((item) => item.id === order.id && item.status === 'filled'),
      5_000,
      'filled',
    );
    expect(await position(v)).toBe(2);
  });
});
