import type { OrderBook, Ticker } from '@perpkit/core';
import { bookImbalance, premiumPercent, spreadBps } from './quotes';
import type { RegimeReading } from './regime';
import type { FeatureSnapshot } from './settings';

/** Features read from the newest book, ticker and funding rate (not from bars). */
export interface QuoteFeatures {
  readonly obImbalance: number | undefined;
  readonly premiumPct: number | undefined;
  readonly fundingRate: number | undefined;
  readonly spreadBps: number | undefined;
  readonly openInterest: number | undefined;
}

/**
 * Quote features as of `now`. A book or ticker older than `maxAge` counts as absent. The spread is
 * the book's top when there is a fresh book, else the ticker's bid and ask.
 */
export function quoteFeatures(
  input: {
    readonly book: OrderBook | undefined;
    readonly ticker: Ticker | undefined;
    readonly fundingRatePerHour: number | undefined;
  },
  now: number,
  depth: number,
  maxAge: number,
): QuoteFeatures {
  const book = input.book && now - input.book.timestamp <= maxAge ? input.book : undefined;
  const ticker = input.ticker && now - input.ticker.timestamp <= maxAge ? input.ticker : undefined;
  const bookSpread = book ? spreadBps(book.bids[0]?.[0], book.asks[0]?.[0]) : undefined;
  return {
    obImbalance: book ? bookImbalance(book, depth) : undefined,
    premiumPct: ticker ? premiumPercent(ticker.mark, ticker.index) : undefined,
    fundingRate: input.fundingRatePerHour,
    spreadBps: bookSpread ?? (ticker ? spreadBps(ticker.bid, ticker.ask) : undefined),
    openInterest:
      ticker?.openInterest !== undefined && Number.isFinite(ticker.openInterest)
        ? ticker.openInterest
        : undefined,
  };
}

export interface BarFeatures {
  readonly barTime: number | undefined;
  readonly open: number | undefined;
  readonly close: number | undefined;
  readonly atr: number | undefined;
  readonly volumeZ: number | undefined;
  readonly realizedVol: number | undefined;
  readonly regime: RegimeReading | undefined;
}

/** Assembles a snapshot; `bodyOverAtr` is the bar's (close − open) / ATR. */
export function buildSnapshot(
  instrument: { readonly exchange: string; readonly symbol: string },
  at: number,
  bar: BarFeatures,
  quotes: QuoteFeatures,
): FeatureSnapshot {
  const { atr, open, close } = bar;
  const bodyOverAtr =
    atr !== undefined && atr > 0 && open !== undefined && close !== undefined
      ? (close - open) / atr
      : undefined;
  return Object.freeze({
    exchange: instrument.exchange,
    symbol: instrument.symbol,
    barTime: bar.barTime,
    at,
    open,
    close,
    atr,
    bodyOverAtr,
    volumeZ: bar.volumeZ,
    obImbalance: quotes.obImbalance,
    premiumPct: quotes.premiumPct,
    fundingRate: quotes.fundingRate,
    openInterest: quotes.openInterest,
    realizedVol: bar.realizedVol,
    spreadBps: quotes.spreadBps,
    regime: bar.regime?.regime ?? 'warmup',
    efficiency: bar.regime?.efficiency,
  });
}
