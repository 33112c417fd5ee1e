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

interface InstrumentData {
  ticker?: Ticker;
  book?: OrderBook;
  funding?: FundingRate;
  candles?: CandleRing;
  lastUpdate?: number;
  /** Close time and close of the newest bar. */
  candleTime?: number;
  candleClose?: number;
  /** A ticker derived from the newest bar, built on first read. */
  derived?: Ticker;
}

/** Latest market data per instrument, updated from exchange events. */
export class MarketState {
  private readonly markets = new InstrumentMap<Market>();
  private readonly marketList: Market[] = [];
  private readonly data = new InstrumentMap<InstrumentData>();

  constructor(private readonly candleHistory: number) {}

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
    let entry = this.data.get(exchange, symbol);
    if (!entry) {
      entry = {};
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
    const entry = this.data.get(exchange, symbol);
    if (!entry) return undefined;
    const { ticker, candleTime } = entry;
    if (candleTime === undefined || (ticker && ticker.timestamp >= candleTime)) return ticker;
    if (entry.derived?.timestamp !== candleTime) {
      const close = entry.candleClose as number;
      entry.derived = { exchange, symbol, timestamp: candleTime, mark: close, last: close };
    }
    return entry.derived;
  }

  orderBook(exchange: string, symbol: string): OrderBook | undefined {
    return this.data.get(exchange, symbol)?.book;
  }

  fundingRate(exchange: string, symbol: string): FundingRate | undefined {
    return this.data.get(exchange, symbol)?.funding;
  }

  candles(exchange: string, symbol: string): CandleSeries | undefined {
    return this.data.get(exchange, symbol)?.candles;
  }

  lastUpdate(exchange: string, symbol: string): number | undefined {
    return this.data.get(exchange, symbol)?.lastUpdate;
  }

  referencePrice(exchange: string, symbol: string): number | undefined {
    const entry = this.data.get(exchange, symbol);
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
