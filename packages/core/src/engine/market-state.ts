import type { CandleSeries } from '../state';
import type { Candle, CandleEvent, FundingRate, Market, OrderBook, Ticker } from '../types';
import { InstrumentMap } from './nested-map';

/** Fixed-size ring of recent candles, newest last. */
export class CandleRing implements CandleSeries {
  private readonly buffer: (Candle | undefined)[];
  private head = -1;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.buffer = new Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(candle: Candle): void {
    // A bar with the same open time replaces the previous one (a live, still-forming bar).
    if (this.count > 0 && this.buffer[this.head]?.timestamp === candle.timestamp) {
      this.buffer[this.head] = candle;
      return;
    }
    this.head = (this.head + 1) % this.capacity;
    this.buffer[this.head] = candle;
    if (this.count < this.capacity) this.count += 1;
  }

  get(ago: number): Candle | undefined {
    if (ago < 0 || ago >= this.count) return undefined;
    return this.buffer[(this.head - ago + this.capacity) % this.capacity];
  }

  last(): Candle | undefined {
    return this.count === 0 ? undefined : this.buffer[this.head];
  }

  close(ago: number): number {
    return this.get(ago)?.close ?? Number.NaN;
  }
}

/**
 * Everything known about one instrument. A class with every field set up front, so all entries
 * share one shape and the per-bar updates are plain field stores.
 */
class InstrumentData {
  ticker: Ticker | undefined = undefined;
  book: OrderBook | undefined = undefined;
  funding: FundingRate | undefined = undefined;
  candles: CandleRing | undefined = undefined;
  lastUpdate: number | undefined = undefined;
  /** Close time and close of the newest bar. */
  candleTime: number | undefined = undefined;
  candleClose = 0;
  /** A ticker derived from the newest bar, built on first read. */
  derived: Ticker | undefined = undefined;
}

/** Latest market data per instrument, updated from exchange events. */
export class MarketState {
  private readonly markets = new InstrumentMap<Market>();
  private readonly marketList: Market[] = [];
  private readonly data = new InstrumentMap<InstrumentData>();
  /**
   * The entry looked up last. A bar updates the same instrument several times in a row (candle,
   * ticker, then the strategies' reads), so this saves most of the two-level map lookups.
   */
  private lastExchange: string | undefined;
  private lastSymbol: string | undefined;
  private lastEntry: InstrumentData | undefined;

  constructor(private readonly candleHistory: number) {}

  private find(exchange: string, symbol: string): InstrumentData | undefined {
    if (symbol === this.lastSymbol && exchange === this.lastExchange) return this.lastEntry;
    const entry = this.data.get(exchange, symbol);
    if (entry) {
      this.lastExchange = exchange;
      this.lastSymbol = symbol;
      this.lastEntry = entry;
    }
    return entry;
  }

  addMarkets(markets: readonly Market[]): void {
    for (const market of markets) {
      if (!this.markets.get(market.exchange, market.symbol)) this.marketList.push(market);
      else
        this.marketList.splice(
          this.marketList.findIndex((m) => m.exchange === market.exchange && m.symbol === market.symbol),
          1,
          market,
        );
      this.markets.set(market.exchange, market.symbol, market);
    }
  }

  market(exchange: string, symbol: string): Market | undefined {
    return this.markets.get(exchange, symbol);
  }

  allMarkets(): readonly Market[] {
    return this.marketList;
  }

  private entry(exchange: string, symbol: string): InstrumentData {
    let entry = this.find(exchange, symbol);
    if (!entry) {
      entry = new InstrumentData();
      this.data.set(exchange, symbol, entry);
    }
    return entry;
  }

  onTicker(ticker: Ticker): void {
    const entry = this.entry(ticker.exchange, ticker.symbol);
    entry.ticker = ticker;
    entry.lastUpdate = ticker.timestamp;
  }

  onOrderBook(book: OrderBook): void {
    const entry = this.entry(book.exchange, book.symbol);
    entry.book = book;
    entry.lastUpdate = book.timestamp;
  }

  onFundingRate(rate: FundingRate): void {
    this.entry(rate.exchange, rate.symbol).funding = rate;
  }

  onCandle(event: CandleEvent): void {
    const entry = this.entry(event.exchange, event.symbol);
    if (!entry.candles) entry.candles = new CandleRing(this.candleHistory);
    entry.candles.push(event.candle);
    // A bar is data as of its close.
    const closeTime = event.candle.timestamp + event.interval;
    entry.candleTime = closeTime;
    entry.candleClose = event.candle.close;
    if (entry.lastUpdate === undefined || closeTime > entry.lastUpdate) entry.lastUpdate = closeTime;
  }

  /**
   * The newest ticker; when a bar closed after it (candle-fed venues stream no tickers), a ticker
   * derived from that bar: mark and last are its close.
   */
  ticker(exchange: string, symbol: string): Ticker | undefined {
    const entry = this.find(exchange, symbol);
    if (!entry) return undefined;
    const { ticker, candleTime } = entry;
    if (candleTime === undefined || (ticker && ticker.timestamp >= candleTime)) return ticker;
    if (entry.derived?.timestamp !== candleTime) {
      const close = entry.candleClose;
      entry.derived = { exchange, symbol, timestamp: candleTime, mark: close, last: close };
    }
    return entry.derived;
  }

  orderBook(exchange: string, symbol: string): OrderBook | undefined {
    return this.find(exchange, symbol)?.book;
  }

  fundingRate(exchange: string, symbol: string): FundingRate | undefined {
    return this.find(exchange, symbol)?.funding;
  }

  candles(exchange: string, symbol: string): CandleSeries | undefined {
    return this.find(exchange, symbol)?.candles;
  }

  lastUpdate(exchange: string, symbol: string): number | undefined {
    return this.find(exchange, symbol)?.lastUpdate;
  }

  referencePrice(exchange: string, symbol: string): number | undefined {
    const entry = this.find(exchange, symbol);
    if (!entry) return undefined;
    if (entry.ticker && entry.ticker.mark > 0) return entry.ticker.mark;
    const book = entry.book;
    if (book && book.bids.length > 0 && book.asks.length > 0) {
      return (
        ((book.bids[0] as readonly [number, number])[0] + (book.asks[0] as readonly [number, number])[0]) / 2
      );
    }
    return entry.candles?.last()?.close;
  }
}
