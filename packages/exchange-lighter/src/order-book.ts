/**
 * A price-level book kept from the `order_book` channel: the subscribe reply is a snapshot, every
 * update carries the absolute size of the levels it names, and a size of 0 removes the level.
 * Levels are keyed by their numeric value, so "3000.10" and "3000.1" are one level.
 */
import type { BookLevel } from '@perpkit/core';

function key(price: string): string {
  return String(Number(price));
}

export class PriceLevelBook {
  private readonly bids = new Map<string, number>();
  private readonly asks = new Map<string, number>();
  offset: number | undefined;

  reset(): void {
    this.bids.clear();
    this.asks.clear();
    this.offset = undefined;
  }

  apply(side: 'bids' | 'asks', levels: readonly { readonly price: string; readonly size: string }[]): void {
    const book = side === 'bids' ? this.bids : this.asks;
    for (const level of levels) {
      const size = Number(level.size);
      if (!Number.isFinite(size) || !Number.isFinite(Number(level.price))) {
        throw new RangeError(`level ${level.price} × ${level.size} is not numeric`);
      }
      if (size === 0) book.delete(key(level.price));
      else book.set(key(level.price), size);
    }
  }

  levels(depth = Number.POSITIVE_INFINITY): { bids: BookLevel[]; asks: BookLevel[] } {
    const sorted = (book: Map<string, number>, descending: boolean): BookLevel[] =>
      [...book]
        .map(([price, size]) => [Number(price), size] as const)
        .sort((left, right) => (descending ? right[0] - left[0] : left[0] - right[0]))
        .slice(0, depth);
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }
}
