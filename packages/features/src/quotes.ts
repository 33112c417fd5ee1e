import type { BookLevel, OrderBook } from '@perpkit/core';

/**
 * Order-book imbalance over the best `depth` levels of each side:
 * (bid size − ask size) / (bid size + ask size), in [−1, 1]. Positive: more resting buyers.
 * Undefined when both sides are empty.
 */
export function bookImbalance(book: Pick<OrderBook, 'bids' | 'asks'>, depth: number): number | undefined {
  let bidSize = 0;
  let askSize = 0;
  const bidLevels = Math.min(depth, book.bids.length);
  const askLevels = Math.min(depth, book.asks.length);
  for (let level = 0; level < bidLevels; level += 1) bidSize += (book.bids[level] as BookLevel)[1];
  for (let level = 0; level < askLevels; level += 1) askSize += (book.asks[level] as BookLevel)[1];
  const total = bidSize + askSize;
  return total > 0 ? (bidSize - askSize) / total : undefined;
}

/** Quoted spread in basis points of the mid: (ask − bid) / mid × 10 000. */
export function spreadBps(bid: number | undefined, ask: number | undefined): number | undefined {
  if (bid === undefined || ask === undefined || !(bid > 0) || !(ask > 0) || ask < bid) return undefined;
  return ((ask - bid) / ((ask + bid) / 2)) * 10_000;
}

/** Premium of the mark over the index, in percent: (mark − index) / index × 100. */
export function premiumPercent(mark: number | undefined, index: number | undefined): number | undefined {
  if (mark === undefined || index === undefined || !(index > 0) || !Number.isFinite(mark)) return undefined;
  return ((mark - index) / index) * 100;
}
