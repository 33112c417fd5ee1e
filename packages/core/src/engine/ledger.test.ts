import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClosedTrade } from '../events';
import type { Fill, FundingPayment, Side } from '../types';
import { Ledger } from './ledger';

function makeLedger(mark = 100) {
  const trades: ClosedTrade[] = [];
  const marks = { value: mark };
  const ledger = new Ledger({
    lotSize: () => '0.001',
    markPrice: () => marks.value,
    onPosition: () => {},
    onTradeClosed: (trade) => trades.push(trade),
  });
  return { ledger, trades, marks };
}

/** Fills of one order, built with correct cumulative fields. */
function fills(
  orderId: string,
  side: Side,
  parts: readonly [quantity: number, price: number, fee: number][],
  at = 0,
): Fill[] {
  let quantity = 0;
  let fee = 0;
  let notional = 0;
  return parts.map(([partQuantity, price, partFee], index) => {
    quantity += partQuantity;
    fee += partFee;
    notional += partQuantity * price;
    return {
      id: `${orderId}-${index}`,
      orderId,
      exchange: 'x',
      account: 'a',
      symbol: 'BTC',
      side,
      price,
      quantity: partQuantity,
      fee: partFee,
      liquidity: 'taker',
      timestamp: at + index,
      cumulativeQuantity: quantity,
      cumulativeFee: fee,
      averagePrice: notional / quantity,
    };
  });
}

const owner = (...reasons: string[]) => ({ strategyId: 's', reasons });

describe('Ledger', () => {
  it('treats fill fields as cumulative: a repeated report counts once', () => {
    const { ledger } = makeLedger();
    const [first, second] = fills('o1', 'buy', [
      [1, 100, 0.1],
      [2, 103, 0.2],
    ]) as [Fill, Fill];
    expect(ledger.applyFill(first, owner('A'))).toBe(true);
    expect(ledger.applyFill(first, owner('A'))).toBe(false);
    expect(ledger.applyFill(second, owner('A'))).toBe(true);
    expect(ledger.applyFill(second, owner('A'))).toBe(false);
    const position = ledger.position('x', 'a', 'BTC');
    expect(position?.quantity).toBe(3);
    expect(position?.entryPrice).toBeCloseTo(102, 12);
    expect(position?.fees).toBeCloseTo(0.3, 12);
    expect(ledger.totals.fills).toBe(2);
  });

  it('takes the delta when a venue re-sends an aggregated report', () => {
    const { ledger } = makeLedger();
    const [first, second] = fills('o1', 'buy', [
      [1, 100, 0.1],
      [3, 104, 0.3],
    ]) as [Fill, Fill];
    ledger.applyFill(first, owner('A'));
    // The venue reports the whole order so far as one "fill": 4 @ 103, fee 0.4.
    ledger.applyFill({ ...second, quantity: 4, price: 103, fee: 0.4 }, owner('A'));
    const position = ledger.position('x', 'a', 'BTC');
    expect(position?.quantity).toBe(4);
    expect(position?.entryPrice).toBeCloseTo(103, 12);
    expect(position?.fees).toBeCloseTo(0.4, 12);
  });

  it('prices the exit as the VWAP of the reducing fills and splits PnL from fees and funding', () => {
    const { ledger, trades } = makeLedger();
    for (const fill of fills('open', 'buy', [[2, 100, 0.2]])) ledger.applyFill(fill, owner('ENTER'));
    ledger.applyFunding(funding(1.5, true));
    ledger.applyFunding(funding(0.7, false)); // an accrual estimate: never counted as collected
    for (const fill of fills('close', 'sell', [
      [0.5, 110, 0.05],
      [1.5, 106, 0.15],
    ])) {
      ledger.applyFill(fill, owner('TAKE_PROFIT'));
    }
    expect(trades).toHaveLength(1);
    const trade = trades[0] as ClosedTrade;
    expect(trade.direction).toBe('long');
    expect(trade.entryPrice).toBe(100);
    expect(trade.exitPrice).toBeCloseTo((0.5 * 110 + 1.5 * 106) / 2, 12);
    expect(trade.pricePnl).toBeCloseTo(0.5 * 10 + 1.5 * 6, 12);
    expect(trade.fees).toBeCloseTo(0.4, 12);
    expect(trade.funding).toBe(1.5);
    expect(trade.netPnl).toBeCloseTo(14 - 0.4 + 1.5, 12);
    expect(trade.entryReasons).toEqual(['ENTER']);
    expect(trade.exitReasons).toEqual(['TAKE_PROFIT']);
    expect(ledger.totals.fundingSettled).toBe(1.5);
    expect(ledger.position('x', 'a', 'BTC')).toBeUndefined();
  });

  it('a flip closes the trade and opens the other side with the remainder, splitting the fee', () => {
    const { ledger, trades } = makeLedger();
    for (const fill of fills('o1', 'buy', [[1, 100, 0]])) ledger.applyFill(fill, owner('A'));
    for (const fill of fills('o2', 'sell', [[3, 90, 0.3]])) ledger.applyFill(fill, owner('FLIP'));
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({ direction: 'long', pricePnl: -10 });
    expect(trades[0]?.fees).toBeCloseTo(0.1, 12);
    const position = ledger.position('x', 'a', 'BTC');
    expect(position).toMatchObject({ quantity: -2, entryPrice: 90 });
    expect(position?.fees).toBeCloseTo(0.2, 12);
  });

  it('snaps quantities to the lot, so 0.1 + 0.2 − 0.3 closes the position', () => {
    const { ledger, trades } = makeLedger();
    for (const fill of fills('o1', 'buy', [
      [0.1, 100, 0],
      [0.2, 100, 0],
    ])) {
      ledger.applyFill(fill, owner('A'));
    }
    for (const fill of fills('o2', 'sell', [[0.3, 100, 0]])) ledger.applyFill(fill, owner('B'));
    expect(trades).toHaveLength(1);
    expect(ledger.hasOpenPositions()).toBe(false);
  });

  it('price PnL from fills equals the cash-flow PnL for any order flow', () => {
    const step = fc.record({
      side: fc.constantFrom<Side>('buy', 'sell'),
      lots: fc.integer({ min: 1, max: 5000 }),
      price: fc.integer({ min: 5000, max: 15000 }),
    });
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 5000, max: 15000 }),
        (steps, finalPrice) => {
          const { ledger, trades, marks } = makeLedger(finalPrice / 100);
          let cash = 0;
          let position = 0;
          steps.forEach((entry, index) => {
            const quantity = entry.lots / 1000;
            const price = entry.price / 100;
            for (const fill of fills(`o${index}`, entry.side, [[quantity, price, 0]]))
              ledger.applyFill(fill, owner('X'));
            const signed = entry.side === 'buy' ? quantity : -quantity;
            cash -= signed * price;
            position += signed;
          });
          marks.value = finalPrice / 100;
          const closed = trades.reduce((sum, trade) => sum + trade.pricePnl, 0);
          const open = ledger.position('x', 'a', 'BTC');
          const ledgerPnl = closed + (open ? open.realizedPnl + open.unrealizedPnl : 0);
          const cashPnl = cash + position * (finalPrice / 100);
          expect(ledgerPnl).toBeCloseTo(cashPnl, 6);
          expect(open?.quantity ?? 0).toBeCloseTo(position, 9);
        },
      ),
    );
  });
});

function funding(amount: number, settled: boolean): FundingPayment {
  return {
    id: `f-${amount}`,
    exchange: 'x',
    account: 'a',
    symbol: 'BTC',
    timestamp: 1,
    fundingTime: 1,
    rate: 0.0001,
    intervalHours: 8,
    positionQuantity: 2,
    markPrice: 100,
    amount,
    settled,
  };
}
