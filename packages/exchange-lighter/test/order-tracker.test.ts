import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapStatus, OrderTracker } from '../src/order-tracker';
import type { WireOrder, WireTrade } from '../src/wire';

const ACCOUNT = 7;

function trade(id: number, size: string, price: string, overrides: Partial<WireTrade> = {}): WireTrade {
  return {
    trade_id: id,
    market_id: 0,
    size,
    price,
    usd_amount: String(Number(size) * Number(price)),
    ask_account_id: 0,
    bid_account_id: ACCOUNT,
    bid_client_id: 11,
    is_maker_ask: true,
    taker_fee: 200,
    maker_fee: 20,
    timestamp: 1_700_000_000_000 + id,
    ...overrides,
  };
}

function wireOrder(overrides: Partial<WireOrder> = {}): WireOrder {
  return {
    client_order_index: 11,
    market_index: 0,
    initial_base_amount: '1.0',
    filled_base_amount: '0',
    filled_quote_amount: '0',
    price: '3000',
    is_ask: false,
    type: 'limit',
    time_in_force: 'good-till-time',
    reduce_only: false,
    status: 'open',
    ...overrides,
  };
}

describe('order tracker', () => {
  it('fills carry cumulative quantity, fee and VWAP; a repeated trade adds nothing', () => {
    const tracker = new OrderTracker('lighter');
    const first = tracker.applyTrade(ACCOUNT, 'ETH', trade(1, '0.4', '3000'), 0);
    const second = tracker.applyTrade(ACCOUNT, 'ETH', trade(2, '0.6', '3010'), 0);
    const repeat = tracker.applyTrade(ACCOUNT, 'ETH', trade(2, '0.6', '3010'), 0);
    expect(repeat).toEqual([]);
    expect(first[0]).toMatchObject({
      orderId: '11',
      side: 'buy',
      liquidity: 'taker',
      cumulativeQuantity: 0.4,
    });
    expect(second[0]?.cumulativeQuantity).toBeCloseTo(1, 12);
    expect(second[0]?.averagePrice).toBeCloseTo((0.4 * 3000 + 0.6 * 3010) / 1, 9);
    // Taker fee 200 millionths of each notional.
    expect(second[0]?.cumulativeFee).toBeCloseTo((1200 + 1806) * 0.0002, 12);
  });

  it('a self-trade is two fills, one per side, with the right liquidity', () => {
    const tracker = new OrderTracker('lighter');
    const fills = tracker.applyTrade(
      ACCOUNT,
      'ETH',
      trade(3, '1', '3000', { ask_account_id: ACCOUNT, ask_client_id: 12, is_maker_ask: true }),
      0,
    );
    expect(fills.map((fill) => [fill.side, fill.orderId, fill.liquidity])).toEqual([
      ['sell', '12', 'maker'],
      ['buy', '11', 'taker'],
    ]);
    expect(fills[0]?.fee).toBeCloseTo(3000 * 0.00002, 12);
  });

  it('order reports: cumulative fields never roll back, repeats are ignored, a final order stays final', () => {
    const tracker = new OrderTracker('lighter');
    expect(
      tracker.applyOrder(
        ACCOUNT,
        'ETH',
        wireOrder({ filled_base_amount: '0.5', filled_quote_amount: '1500' }),
        0,
      ),
    ).toBeDefined();
    expect(
      tracker.applyOrder(
        ACCOUNT,
        'ETH',
        wireOrder({ filled_base_amount: '0.5', filled_quote_amount: '1500' }),
        0,
      ),
    ).toBeUndefined();
    tracker.applyOrder(
      ACCOUNT,
      'ETH',
      wireOrder({ filled_base_amount: '0.2', filled_quote_amount: '600' }),
      0,
    );
    const record = tracker.get(ACCOUNT, 11);
    expect(record?.venueFilled).toBe('0.5');
    expect(tracker.toOrder(record as never)).toMatchObject({
      status: 'partially-filled',
      filledQuantity: 0.5,
      averagePrice: 3000,
    });
    tracker.applyOrder(
      ACCOUNT,
      'ETH',
      wireOrder({ status: 'filled', filled_base_amount: '1.0', filled_quote_amount: '3000' }),
      0,
    );
    tracker.applyOrder(
      ACCOUNT,
      'ETH',
      wireOrder({ status: 'open', filled_base_amount: '0.5', filled_quote_amount: '1500' }),
      0,
    );
    expect(tracker.toOrder(tracker.get(ACCOUNT, 11) as never).status).toBe('filled');
  });

  it('maps the venue statuses: refusals with nothing filled are rejections with a reason', () => {
    expect(mapStatus('canceled-post-only', 0)).toEqual({
      status: 'rejected',
      reason: 'POST_ONLY_WOULD_CROSS',
    });
    expect(mapStatus('canceled-reduce-only', 0)).toEqual({
      status: 'rejected',
      reason: 'REDUCE_ONLY_WOULD_INCREASE',
    });
    expect(mapStatus('canceled-margin-not-allowed', 0.1)).toEqual({
      status: 'cancelled',
      reason: 'INSUFFICIENT_MARGIN',
    });
    expect(mapStatus('canceled', 0)).toEqual({ status: 'cancelled', reason: 'CANCELLED' });
    expect(mapStatus('canceled-expired', 0)).toEqual({ status: 'expired', reason: 'EXPIRED' });
    expect(mapStatus('in-progress', 0)?.status).toBe('pending');
    expect(mapStatus('open', 0.1)?.status).toBe('partially-filled');
    expect(mapStatus('something-new', 0)).toBeUndefined();
  });

  it('property: however trades repeat and interleave, the cumulative quantity is the sum of distinct trades', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.integer({ min: 1, max: 20 }), lots: fc.integer({ min: 1, max: 50 }) }), {
          maxLength: 40,
        }),
        (events) => {
          const tracker = new OrderTracker('lighter');
          const sizes = new Map<number, number>();
          let last = 0;
          for (const event of events) {
            const size = sizes.get(event.id) ?? event.lots;
            sizes.set(event.id, size);
            const fills = tracker.applyTrade(
              ACCOUNT,
              'ETH',
              trade(event.id, (size / 1000).toFixed(3), '3000'),
              0,
            );
            for (const fill of fills) last = fill.cumulativeQuantity;
          }
          const expected = [...sizes.values()].reduce((sum, size) => sum + size, 0) / 1000;
          expect(last).toBeCloseTo(expected, 9);
        },
      ),
    );
  });
});
