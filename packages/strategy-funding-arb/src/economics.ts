import { type Market, type OrderBook, roundQuantity, type StateView } from '@perpkit/core';
import { bookMid, quantityWithin, walkBook } from './depth';
import { HOURS_PER_YEAR } from './funding';
import type { FundingArbOptions } from './options';
import type { EntryEstimate, LegRef } from './types';

/** Fee rates when a market does not say (typical perp venues). */
const DEFAULT_TAKER_FEE = 0.0005;
const DEFAULT_MAKER_FEE = 0.0002;

export interface LegMarket {
  readonly ref: LegRef;
  readonly market: Market;
}

export function feeRate(market: Market, assumption: 'taker' | 'maker'): number {
  return assumption === 'maker'
    ? (market.makerFeeRate ?? DEFAULT_MAKER_FEE)
    : (market.takerFeeRate ?? DEFAULT_TAKER_FEE);
}

/** The price a leg is valued at: the book's mid when there is one, else the reference price. */
export function legPrice(state: StateView, ref: LegRef): number | undefined {
  return bookMid(state.orderBook(ref.exchange, ref.symbol)) ?? state.referencePrice(ref.exchange, ref.symbol);
}

/**
 * Slippage of trading `quantity` on one side of a leg now, in quote units: a walk of the visible
 * book against its mid, or the flat fallback when the venue gives no book. Infinite when the book
 * is too thin (such a trade cannot be priced, so it is never entered).
 */
export function legSlippage(
  book: OrderBook | undefined,
  side: 'buy' | 'sell',
  quantity: number,
  price: number,
  fallbackBps: number,
): number {
  const mid = bookMid(book);
  if (book && mid !== undefined) {
    const walk = walkBook(side === 'buy' ? book.asks : book.bids, quantity, mid);
    return walk === undefined ? Number.POSITIVE_INFINITY : walk.cost;
  }
  return (fallbackBps / 10_000) * quantity * price;
}

/**
 * Fees and slippage of a round trip (or one half of it) on both legs: entering is buying the long
 * leg and selling the short one; exiting is the reverse.
 */
export function legCosts(
  state: StateView,
  legs: { readonly long: LegMarket; readonly short: LegMarket },
  quantity: number,
  halves: readonly ('entry' | 'exit')[],
  options: FundingArbOptions['entry'],
): { fees: number; slippage: number } {
  let fees = 0;
  let slippage = 0;
  for (const name of ['long', 'short'] as const) {
    const leg = legs[name];
    const price = legPrice(state, leg.ref) ?? 0;
    const book = state.orderBook(leg.ref.exchange, leg.ref.symbol);
    const rate = feeRate(leg.market, options.feeAssumption);
    for (const half of halves) {
      const buying = (name === 'long') === (half === 'entry');
      fees += rate * quantity * price;
      slippage += legSlippage(book, buying ? 'buy' : 'sell', quantity, price, options.fallbackSlippageBps);
    }
  }
  return { fees, slippage };
}

/**
 * A base quantity both venues accept: toward zero on every lot (legs are hedged in base units, so
 * both must hold the same size). Lots that are not multiples of each other step down to the next
 * size both grids share.
 */
export function commonQuantity(quantity: number, lots: readonly string[]): number {
  if (!(quantity > 0) || lots.length === 0) return 0;
  const ordered = [...lots].sort((a, b) => Number(b) - Number(a));
  const coarsest = ordered[0] as string;
  const step = Number(coarsest);
  let candidate = Number(roundQuantity(quantity, coarsest));
  for (let tries = 0; tries < 1000 && candidate > 0; tries += 1) {
    if (ordered.every((lot) => Number(roundQuantity(candidate, lot)) === candidate)) return candidate;
    candidate = Number(roundQuantity(candidate - step, coarsest));
  }
  return 0;
}

export type EntryEvaluation =
  | { readonly ok: true; readonly estimate: EntryEstimate }
  | { readonly ok: false; readonly reason: string; readonly estimate?: EntryEstimate };

/**
 * Net expected value of entering a pair now: expected funding over the planned hold (the expected
 * spread per hour × notional × hours) minus entry and exit fees on both legs minus the slippage of
 * a depth walk on both books (entry and exit sides). The size comes from the liquidity within
 * `maxSlippageBps` on both books, capped by `maxNotional` and by free collateral × `maxLeverage`.
 */
export function evaluateEntry(
  state: StateView,
  legs: { readonly long: LegMarket; readonly short: LegMarket },
  spreadPerHour: number,
  options: FundingArbOptions['entry'],
): EntryEvaluation {
  const longPrice = legPrice(state, legs.long.ref);
  const shortPrice = legPrice(state, legs.short.ref);
  if (!(longPrice !== undefined && longPrice > 0 && shortPrice !== undefined && shortPrice > 0))
    return { ok: false, reason: 'NO_PRICE' };
  const price = Math.max(longPrice, shortPrice);
  let quantity = options.maxNotional / price;
  // Liquidity: what each book shows within the acceptable slippage, on the entry side.
  const longBook = state.orderBook(legs.long.ref.exchange, legs.long.ref.symbol);
  const shortBook = state.orderBook(legs.short.ref.exchange, legs.short.ref.symbol);
  const longMid = bookMid(longBook);
  const shortMid = bookMid(shortBook);
  if (longBook && longMid !== undefined)
    quantity = Math.min(quantity, quantityWithin(longBook.asks, longMid, options.maxSlippageBps, 'buy'));
  if (shortBook && shortMid !== undefined)
    quantity = Math.min(quantity, quantityWithin(shortBook.bids, shortMid, options.maxSlippageBps, 'sell'));
  // Collateral: each leg's notional at most maxLeverage × its account's free collateral.
  for (const [leg, legPriceNow] of [
    [legs.long, longPrice],
    [legs.short, shortPrice],
  ] as const) {
    const account = state.account(leg.ref.exchange, leg.ref.account);
    if (account) quantity = Math.min(quantity, (account.freeCollateral * options.maxLeverage) / legPriceNow);
  }
  quantity = commonQuantity(quantity, [legs.long.market.lotSize, legs.short.market.lotSize]);
  const notional = quantity * ((longPrice + shortPrice) / 2);
  const minimum = Math.max(options.minNotional, legs.long.market.minNotional, legs.short.market.minNotional);
  const minQuantity = Math.max(
    Number(legs.long.market.minQuantity ?? 0),
    Number(legs.short.market.minQuantity ?? 0),
  );
  if (!(quantity > 0) || notional < minimum || quantity < minQuantity)
    return { ok: false, reason: 'TOO_SMALL' };

  const { fees, slippage } = legCosts(state, legs, quantity, ['entry', 'exit'], options);
  const expectedFunding = spreadPerHour * notional * options.holdHours;
  const estimate: EntryEstimate = {
    spreadPerHour,
    spreadApy: spreadPerHour * HOURS_PER_YEAR,
    quantity,
    notional,
    expectedFunding,
    fees,
    slippage,
    netEv: expectedFunding - fees - slippage,
    holdHours: options.holdHours,
  };
  if (estimate.spreadApy < options.minSpreadApy)
    return { ok: false, reason: 'SPREAD_BELOW_MINIMUM', estimate };
  if (!(estimate.netEv >= options.minNetEv) || (estimate.netEv / notional) * 10_000 < options.minNetEvBps)
    return { ok: false, reason: 'EV_BELOW_THRESHOLD', estimate };
  return { ok: true, estimate };
}
