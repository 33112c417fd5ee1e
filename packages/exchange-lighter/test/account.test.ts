import type { AccountSnapshot, Fill, Order } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT, startVenue, type Venue } from './helpers';

const account = String(ACCOUNT);
let venue: Venue | undefined;

afterEach(async () => {
  await venue?.close();
  venue = undefined;
});

describe('account, orders and fills against the simulator ledger', () => {
  it('account events follow fills, and positions, fees and equity agree with the simulator', async () => {
    venue = await startVenue({ simulator: { fees: { makerMillionths: 20, takerMillionths: 280 } } });
    const { exchange, simulator } = venue;
    const snapshots: AccountSnapshot[] = [];
    const fills: Fill[] = [];
    exchange.events.on('account', (snapshot) => snapshots.push(snapshot));
    exchange.events.on('fill', (fill) => fills.push(fill));
    await exchange.connect();

    await exchange.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '0.5' });
    await exchange.submitOrder({ account, symbol: 'BTC', side: 'sell', type: 'market', quantity: '0.01' });
    await waitFor(
      () => snapshots.some((snapshot) => snapshot.positions.length === 2),
      5_000,
      'an account event with both positions',
    );
    const latest = snapshots.at(-1) as AccountSnapshot;
    const venueSide = await simulator.exchange.fetchAccount(account);
    expect(latest.equity).toBeCloseTo(venueSide.equity, 5);
    expect(latest.collateral).toBeCloseTo(venueSide.collateral, 5);
    expect(latest.positions.map((position) => [position.symbol, position.quantity]).sort()).toEqual([
      ['BTC', -0.01],
      ['ETH', 0.5],
    ]);
    // Taker fees at 280 millionths of the notional, as the trades report them, match the ledger.
    const fees = fills.reduce((sum, fill) => sum + fill.fee, 0);
    expect(fees).toBeCloseTo((0.5 * 3000 + 0.01 * 60_000) * 0.00028, 9);
    expect(fees).toBeCloseTo(simulator.exchange.totals(account).fees, 9);
  });

  it('a resting order fills as maker when the market trades through it; order events stay cumulative', async () => {
    venue = await startVenue();
    const { exchange, simulator } = venue;
    const orders: Order[] = [];
    const fills: Fill[] = [];
    exchange.events.on('order', (order) => orders.push(order));
    exchange.events.on('fill', (fill) => fills.push(fill));
    await exchange.connect();
    const order = await exchange.submitOrder({
      account,
      symbol: 'ETH',
      side: 'buy',
      type: 'limit',
      price: '2990.00',
      quantity: '0.2',
      timeInForce: 'post-only',
    });
    expect(order.status).toBe('open');
    simulator.setMark('ETH', 2980);
    await waitFor(() => fills.length === 1, 5_000, 'the maker fill');
    expect(fills[0]).toMatchObject({ orderId: order.id, liquidity: 'maker', price: 2990, quantity: 0.2 });
    expect(fills[0]?.fee).toBeCloseTo(0.2 * 2990 * 0.00002, 12);
    await waitFor(
      () => orders.some((item) => item.id === order.id && item.status === 'filled'),
      5_000,
      'filled',
    );
    const filled = orders.filter((item) => item.id === order.id).map((item) => item.filledQuantity);
    expect(filled).toEqual([...filled].sort((left, right) => left - right));
    expect(await exchange.fetchOrder(account, order.id)).toMatchObject({
      status: 'filled',
      averagePrice: 2990,
    });
  });

  it('an account may go by a configured id: calls take it and events carry it', async () => {
    venue = await startVenue();
    await venue.exchange.close();
    const { LighterExchange } = await import('../src/lighter-exchange');
    const { POSEIDON_CRYPTO_TEST_KEY_0, API_KEY } = await import('./helpers');
    const named = new LighterExchange(
      {
        baseUrl: venue.baseUrl,
        streamUrl: venue.streamUrl,
        accounts: [
          {
            index: ACCOUNT,
            id: 'primary',
            apiKeys: [{ index: API_KEY, privateKey: POSEIDON_CRYPTO_TEST_KEY_0 }],
          },
        ],
      },
      { id: 'lighter' },
    );
    try {
      const fills: Fill[] = [];
      named.events.on('fill', (fill) => fills.push(fill));
      await named.connect();
      expect(named.accounts()).toEqual(['primary']);
      const order = await named.submitOrder({
        account: 'primary',
        symbol: 'ETH',
        side: 'buy',
        type: 'market',
        quantity: '0.01',
      });
      expect(order.account).toBe('primary');
      await waitFor(() => fills.length === 1, 5_000, 'fill');
      expect(fills[0]?.account).toBe('primary');
      expect((await named.fetchAccount('primary')).account).toBe('primary');
      expect((await named.fetchPositions('primary'))[0]?.account).toBe('primary');
    } finally {
      await named.close();
    }
  });
});
