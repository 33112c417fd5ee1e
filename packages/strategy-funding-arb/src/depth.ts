import type { BookLevel, OrderBook } from '@perpkit/core';

const EPSILON = 1e-12;

/** Mid of a book with both sides, else undefined. */
export function bookMid(book: OrderBook | undefined): number | undefined {
  const bid = book?.bids[0]?.[0];
  const ask = book?.asks[0]?.[0];
  return bid !== undefined && ask !== undefined ? (bid + ask) / 2 : undefined;
}

/**
 * Walks `levels` (best first) for `quantity`: the average price paid, and the cost against
 * `reference` (quote units, positive = worse than the reference). Undefined when the book is too
 * thin for the whole quantity: size beyond visible liquidity cannot be priced.
 */
export function walkBook(
  levels: readonly BookLevel[],
  quantity: number,
  reference: number,
): { average: number; cost: number } | undefined {
  if (!(quantity > 0)) return { average: reference, cost: 0 };
  let left = quantity;
  let notional = 0;
  for (const [price, size] of levels) {
    const take = Math.min(left, size);
    notional += take * price;
    left -= take;
    if (left <= EPSILON * Math.max(1, quantity)) {
      const average = notional / quantity;
      return { average, cost: Math.abs(average - reference) * quantity };
    }
  }
  return undefined;
}

/**
 * The largest quantity whose walk of `levels` averages within `maxBps` of `reference`: a buy walks
 * the asks up, a sell the bids down. Liquidity sizes the trade: the answer never exceeds what the book shows.
 */
export function quantityWithin(
  levels: readonly BookLevel[],
  reference: number,
  maxBps: number,
  side: 'buy' | 'sell',
): number {
  if (levels.length === 0 || !(reference > 0)) return 0;
  const buying = side === 'buy';
  const limit = buying ? reference * (1 + maxBps / 10_000) : reference * (1 - maxBps / 10_000);
  let quantity = 0;
  let notional = 0;
  for (const [price, size] of levels) {
    const average = (notional + price * size) / (quantity + size);
    if (buying ? average <= limit : average >= limit) {
      quantity += size;
      notional += price * size;
      continue;
    }
    // Part of this level: (notional + price·x) / (quantity + x) = limit.
    const part = (limit * quantity - notional) / (price - limit);
    if (part > 0) quantity += Math.min(part, size);
    break;
  }
  return quantity;
}
