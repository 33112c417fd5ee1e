import type { BookLevel, OrderBook, Side } from '@perpkit/core';

/** Why the book does not allow a trade now. */
export type BookProblem =
  | 'BOOK_MISSING'
  | 'BOOK_EMPTY'
  | 'BOOK_INVALID'
  | 'BOOK_CROSSED'
  | 'BOOK_STALE'
  | 'SPREAD_TOO_WIDE';

export type BookCheck =
  | {
      readonly ok: true;
      readonly bid: number;
      readonly ask: number;
      readonly mid: number;
      /** (ask − bid) / mid. */
      readonly spread: number;
      readonly book: OrderBook;
    }
  | { readonly ok: false; readonly code: BookProblem; readonly message: string };

export interface BookLimits {
  /** Engine time now. */
  readonly now: number;
  /** A book older than this (by its timestamp) is stale. */
  readonly maxAgeMs: number;
  /** Largest (ask − bid) / mid allowed. */
  readonly maxSpread: number;
}

const validLevel = (level: BookLevel | undefined): level is BookLevel =>
  level !== undefined &&
  Number.isFinite(level[0]) &&
  level[0] > 0 &&
  Number.isFinite(level[1]) &&
  level[1] >= 0;

/** Levels must be valid and strictly ordered away from the touch (bids down, asks up). */
function validSide(levels: readonly BookLevel[], descending: boolean): boolean {
  let previous: number | undefined;
  for (const level of levels) {
    if (!validLevel(level)) return false;
    if (previous !== undefined && (descending ? level[0] >= previous : level[0] <= previous)) return false;
    previous = level[0];
  }
  return true;
}

/**
 * Judges whether a book can be traded on: present, both sides non-empty, every level a positive
 * finite price with a finite non-negative size, sides ordered, not crossed or locked, fresh, and
 * the spread within the limit. Anything else is no trade, with a stable code saying why.
 */
export function checkBook(book: OrderBook | undefined, limits: BookLimits): BookCheck {
  if (!book) return { ok: false, code: 'BOOK_MISSING', message: 'no order book yet' };
  const bestBid = book.bids[0];
  const bestAsk = book.asks[0];
  if (bestBid === undefined || bestAsk === undefined) {
    return {
      ok: false,
      code: 'BOOK_EMPTY',
      message: `the book has ${book.bids.length} bids and ${book.asks.length} asks`,
    };
  }
  if (!validSide(book.bids, true) || !validSide(book.asks, false)) {
    return {
      ok: false,
      code: 'BOOK_INVALID',
      message: 'the book has a non-positive, non-finite or out-of-order level',
    };
  }
  const bid = bestBid[0];
  const ask = bestAsk[0];
  if (bid >= ask) {
    return { ok: false, code: 'BOOK_CROSSED', message: `best bid ${bid} is not below best ask ${ask}` };
  }
  const age = limits.now - book.timestamp;
  if (age > limits.maxAgeMs) {
    return {
      ok: false,
      code: 'BOOK_STALE',
      message: `the book is ${age} ms old (limit ${limits.maxAgeMs} ms)`,
    };
  }
  const mid = (bid + ask) / 2;
  const spread = (ask - bid) / mid;
  if (spread > limits.maxSpread) {
    return {
      ok: false,
      code: 'SPREAD_TOO_WIDE',
      message: `spread ${(spread * 10_000).toFixed(2)} bps is above ${(limits.maxSpread * 10_000).toFixed(2)} bps`,
    };
  }
  return { ok: true, bid, ask, mid, spread, book };
}

/** Visible quantity an order on `side` could take: the opposite side's first `levels` levels. */
export function visibleDepth(book: OrderBook, side: Side, levels: number): number {
  const opposite = side === 'buy' ? book.asks : book.bids;
  let total = 0;
  for (let index = 0; index < Math.min(levels, opposite.length); index += 1)
    total += (opposite[index] as BookLevel)[1];
  return total;
}

/** A passive price that joins the touch: a buy at the best bid, a sell at the best ask. */
export function passivePrice(check: { bid: number; ask: number }, side: Side): number {
  return side === 'buy' ? check.bid : check.ask;
}
