import type { Fill, Order } from '@perpkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyFill,
  applyOrderReport,
  type OrderRecord,
  type PairState,
  pairPnl,
  reconcileReadback,
} from '../src/index';

function record(fields: Partial<OrderRecord> & Pick<OrderRecord, 'id' | 'leg' | 'side'>): OrderRecord {
  return {
    purpose: 'entry',
    quantity: 1,
    submittedAt: 0,
    status: 'open',
    filled: 0,
    notional: 0,
    fee: 0,
    slippage: 0,
    reported: false,
    venueFilled: 0,
    venueAverage: 0,
    venueFee: 0,
    ...fields,
  };
}

function fill(orderId: string, fields: Partial<Fill>): Fill {
  return {
    id: `${orderId}-${fields.cumulativeQuantity}`,
    orderId,
    exchange: 'alpha',
    account: 'main',
    symbol: 'BTC',
    side: 'buy',
    price: 0,
    quantity: 0,
    fee: 0,
    liquidity: 'taker',
    timestamp: 0,
    cumulativeQuantity: 0,
    cumulativeFee: 0,
    averagePrice: 0,
    ...fields,
  };
}

function pair(orders: OrderRecord[], funding = { long: 0, short: 0 }): PairState {
  const ref = (exchange: string) => ({ exchange, symbol: 'BTC', account: 'main' });
  return {
    id: 'BTC-1',
    asset: 'BTC',
    status: 'CLOSING',
    long: { ref: ref('alpha'), fundingCollected: funding.long, lastFundingTime: 0 },
    short: { ref: ref('beta'), fundingCollected: funding.short, lastFundingTime: 0 },
    quantity: 1,
    estimate: {
      spreadPerHour: 0,
      spreadApy: 0,
      quantity: 1,
      notional: 100,
      expectedFunding: 0,
      fees: 0,
      slippage: 0,
      netEv: 0,
      holdHours: 72,
    },
    createdAt: 0,
    attempts: 0,
    orders,
    maxUnhedgedMs: 0,
  };
}

const FLAT = { long: 0, short: 0, longAccrued: 0, shortAccrued: 0 };
const TOLERANCES = { vwapToleranceBps: 3, pnlTolerance: 0.3 };

describe('fills are cumulative: deltas per order id', () => {
  it('books each new cumulative quantity once, whatever the per-fill fields say', () => {
    const order = record({ id: 'o1', leg: 'long', side: 'buy' });
    const first = fill('o1', {
      price: 100,
      quantity: 0.4,
      cumulativeQuantity: 0.4,
      averagePrice: 100,
      fee: 0.02,
      cumulativeFee: 0.02,
    });
    expect(applyFill(order, first)).toBeCloseTo(0.4, 12);
    // The same report again (a re-sent message): nothing new.
    expect(applyFill(order, first)).toBe(0);
    // A venue that repeats the cumulative size in the per-fill field: the delta is still 0.6 @ 103.
    const second = fill('o1', {
      price: 103,
      quantity: 1,
      cumulativeQuantity: 1,
      averagePrice: 101.8,
      fee: 0.051,
      cumulativeFee: 0.051,
    });
    expect(applyFill(order, second)).toBeCloseTo(0.6, 12);
    // A stale report arriving late changes nothing.
    expect(applyFill(order, first)).toBe(0);
    expect(order.filled).toBe(1);
    expect(order.notional).toBeCloseTo(101.8, 10);
    expect(order.fee).toBeCloseTo(0.051, 12);
  });

  it('ends at the true VWAP for any split of an order into fills, duplicates and reorderings included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 500 }),
            price: fc.integer({ min: 9_000, max: 11_000 }),
          }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        (executions, replays) => {
          // The venue's reports: cumulative fields after each execution (sizes in lots of 0.001).
          const reports: Fill[] = [];
          let quantity = 0;
          let notional = 0;
          for (const { size, price } of executions) {
            quantity += size / 1000;
            notional += (size / 1000) * price;
            reports.push(
              fill('o', {
                price,
                quantity: size / 1000,
                cumulativeQuantity: quantity,
                averagePrice: notional / quantity,
                cumulativeFee: notional * 0.0005,
              }),
            );
          }
          // Re-deliver some earlier reports after later ones (a reconnect replaying the stream).
          const stream: Fill[] = [];
          reports.forEach((report, index) => {
            stream.push(report);
            for (const replay of replays)
              if (replay % reports.length === index) stream.push(reports[replay % (index + 1)] as Fill);
          });
          const order = record({ id: 'o', leg: 'long', side: 'buy' });
          for (const report of stream) applyFill(order, report);
          expect(order.filled).toBeCloseTo(quantity, 9);
          expect(order.notional / order.filled).toBeCloseTo(notional / quantity, 6);
          expect(order.fee).toBeCloseTo(notional * 0.0005, 9);
        },
      ),
    );
  });

  it('keeps the venue’s latest cumulative order report, and a final status sticks', () => {
    const order = record({ id: 'o1', leg: 'long', side: 'buy' });
    const report = (fields: Partial<Order>): Order =>
      ({
        id: 'o1',
        status: 'partially-filled',
        filledQuantity: 0.5,
        averagePrice: 100,
        fee: 0.01,
        ...fields,
      }) as Order;
    applyOrderReport(order, report({ status: 'filled', filledQuantity: 1, averagePrice: 101 }), 5);
    applyOrderReport(order, report({}), 6); // an older report, late
    expect(order).toMatchObject({
      status: 'filled',
      venueFilled: 1,
      venueAverage: 101,
      finalAt: 5,
      reported: true,
    });
  });
});

describe('pair money', () => {
  it('is sells − buys + open position × mark per leg, with fees and funding apart', () => {
    const state = pair(
      [
        record({ id: 'a', leg: 'long', side: 'buy', filled: 1, notional: 100, fee: 0.05 }),
        record({
          id: 'b',
          leg: 'long',
          side: 'sell',
          purpose: 'close',
          filled: 0.4,
          notional: 44,
          fee: 0.02,
        }),
        record({ id: 'c', leg: 'short', side: 'sell', filled: 1, notional: 101, fee: 0.04 }),
      ],
      { long: -1.5, short: 4 },
    );
    const pnl = pairPnl(state, 'local', { long: 105, short: 106, longAccrued: -0.1, shortAccrued: 0.3 });
    // Long: 44 − 100 + 0.6 × 105 = 7 (= 0.4 × 10 + 0.6 × 5). Short: 101 − 0 − 1 × 106 = −5.
    expect(pnl.long.pricePnl).toBeCloseTo(7, 10);
    expect(pnl.short.pricePnl).toBeCloseTo(-5, 10);
    expect(pnl.long.entryVwap).toBe(100);
    expect(pnl.long.exitVwap).toBe(110);
    expect(pnl.pricePnl).toBeCloseTo(2, 10);
    expect(pnl.fees).toBeCloseTo(0.11, 12);
    expect(pnl.fundingCollected).toBe(2.5);
    expect(pnl.fundingAccrued).toBeCloseTo(0.2, 12);
    // total = price + collected + accrued; net = total − fees.
    expect(pnl.totalPnl).toBeCloseTo(2 + 2.5 + 0.2, 10);
    expect(pnl.netPnl).toBeCloseTo(4.7 - 0.11, 10);
  });
});

describe('post-close readback', () => {
  /** A closed pair whose fills say the long leg exited at `fillExit`, while the venue says `venueExit`. */
  function closed(fillExit: number, venueExit: number, venueFee = 0.05) {
    const reported = { reported: true, status: 'filled' as const };
    return pair([
      record({
        id: 'a',
        leg: 'long',
        side: 'buy',
        filled: 1,
        notional: 100,
        fee: 0.05,
        ...reported,
        venueFilled: 1,
        venueAverage: 100,
        venueFee: 0.05,
      }),
      record({
        id: 'b',
        leg: 'long',
        side: 'sell',
        purpose: 'close',
        filled: 1,
        notional: fillExit,
        fee: 0.05,
        ...reported,
        venueFilled: 1,
        venueAverage: venueExit,
        venueFee,
      }),
      record({
        id: 'c',
        leg: 'short',
        side: 'sell',
        filled: 1,
        notional: 100,
        fee: 0.05,
        ...reported,
        venueFilled: 1,
        venueAverage: 100,
        venueFee: 0.05,
      }),
      record({
        id: 'd',
        leg: 'short',
        side: 'buy',
        purpose: 'close',
        filled: 1,
        notional: 100,
        fee: 0.05,
        ...reported,
        venueFilled: 1,
        venueAverage: 100,
        venueFee: 0.05,
      }),
    ]);
  }

  it('keeps the fills’ numbers within tolerance', () => {
    // 100.02 vs 100 is 2 bps and 0.02 of PnL: below 3 bps and $0.30.
    const { pnl, corrections } = reconcileReadback(closed(100.02, 100), FLAT, TOLERANCES);
    expect(corrections).toEqual([]);
    expect(pnl.long.exitVwap).toBe(100.02);
  });

  it('corrects to the venue’s numbers beyond 3 bps of VWAP, with a coded warning', () => {
    // Fills say the long exited at 100.5; the venue's report says 100.0 (50 bps).
    const { pnl, corrections } = reconcileReadback(closed(100.5, 100), FLAT, TOLERANCES);
    expect(corrections.map((correction) => correction.code)).toEqual([
      'READBACK_VWAP_MISMATCH',
      'READBACK_PNL_MISMATCH',
    ]);
    expect(corrections[0]).toMatchObject({ leg: 'long', local: 100.5, readback: 100 });
    expect(pnl.long.exitVwap).toBe(100);
    expect(pnl.netPnl).toBeCloseTo(-0.2, 10); // price 0, four fees of 0.05
  });

  it('corrects a net PnL that differs by more than $0.30 even when prices agree', () => {
    const { pnl, corrections } = reconcileReadback(closed(100, 100, 0.45), FLAT, TOLERANCES);
    expect(corrections.map((correction) => correction.code)).toEqual(['READBACK_PNL_MISMATCH']);
    expect(pnl.fees).toBeCloseTo(0.6, 10);
  });
});
