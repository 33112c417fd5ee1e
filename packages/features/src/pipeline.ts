import { type Candle, EngineError, type OrderBook, type Ticker } from '@perpkit/core';
import { AverageTrueRange, RealizedVolatility, VolumeZScore } from './indicators';
import { RegimeClassifier, type RegimeReading } from './regime';
import { defaultFeatureSettings, type FeatureSettings, type FeatureSnapshot } from './settings';
import { buildSnapshot, quoteFeatures } from './snapshot';

/**
 * The feature set of one instrument, fed directly (outside an engine: research scripts,
 * benchmarks, adapters' own tooling). Inside an engine, use the shared `featureHub(context)`.
 *
 * `onBar` takes the newest bar: a bar with a later open time commits the previous one, a bar with
 * the same open time replaces it (a live bar still forming). Every update is O(1).
 */
export class FeaturePipeline {
  readonly settings: FeatureSettings;
  private readonly atr: AverageTrueRange;
  private readonly volumeZ: VolumeZScore;
  private readonly realizedVol: RealizedVolatility;
  private readonly regime: RegimeClassifier;
  private newest: Candle | undefined;
  private atrValue: number | undefined;
  private volumeZValue: number | undefined;
  private realizedVolValue: number | undefined;
  private regimeValue: RegimeReading | undefined;
  private book: OrderBook | undefined;
  private ticker: Ticker | undefined;
  private fundingRatePerHour: number | undefined;

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    settings: Partial<FeatureSettings> = {},
  ) {
    this.settings = defaultFeatureSettings(settings);
    this.atr = new AverageTrueRange(this.settings.atrPeriod);
    this.volumeZ = new VolumeZScore(this.settings.volumePeriod);
    this.realizedVol = new RealizedVolatility(this.settings.volatilityPeriod);
    this.regime = new RegimeClassifier(this.settings.regimePeriod, this.settings.trendEfficiency);
  }

  onBar(candle: Candle): void {
    const newest = this.newest;
    if (newest !== undefined && candle.timestamp > newest.timestamp) {
      this.atr.commit(newest);
      this.volumeZ.commit(newest);
      this.realizedVol.commit(newest);
      this.regime.commit(newest);
    } else if (newest !== undefined && candle.timestamp < newest.timestamp) {
      throw new EngineError(
        'INVALID_ARGUMENT',
        `bar at ${candle.timestamp} is older than the newest bar (${newest.timestamp}) of ${this.exchange}:${this.symbol}`,
      );
    }
    this.newest = candle;
    this.atrValue = this.atr.preview(candle);
    this.volumeZValue = this.volumeZ.preview(candle);
    this.realizedVolValue = this.realizedVol.preview(candle);
    this.regimeValue = this.regime.preview(candle);
  }

  onOrderBook(book: OrderBook): void {
    this.book = book;
  }

  onTicker(ticker: Ticker): void {
    this.ticker = ticker;
  }

  /** The current funding rate, per hour. */
  onFundingRate(ratePerHour: number): void {
    this.fundingRatePerHour = ratePerHour;
  }

  /** Features as of `now` (quotes older than `maxQuoteAge` count as absent). */
  snapshot(now: number): FeatureSnapshot {
    const newest = this.newest;
    return buildSnapshot(
      this,
      now,
      {
        barTime: newest?.timestamp,
        open: newest?.open,
        close: newest?.close,
        atr: this.atrValue,
        volumeZ: this.volumeZValue,
        realizedVol: this.realizedVolValue,
        regime: this.regimeValue,
      },
      quoteFeatures(
        { book: this.book, ticker: this.ticker, fundingRatePerHour: this.fundingRatePerHour },
        now,
        this.settings.bookDepth,
        this.settings.maxQuoteAge,
      ),
    );
  }
}
