import type { Candle, SharedServices, StateView } from '@perpkit/core';
import { AverageTrueRange, type BarIndicator, RealizedVolatility, VolumeZScore } from './indicators';
import { RegimeClassifier, type RegimeReading } from './regime';
import type { FeatureSettings, FeatureSnapshot } from './settings';
import { buildSnapshot, type QuoteFeatures, quoteFeatures } from './snapshot';

/** The key of the hub in an engine's shared services. */
export const FEATURE_HUB_KEY = '@perpkit/features:hub';

/** Work counters: how often indicators were advanced and evaluated. */
export interface FeatureCounters {
  /** Bars committed to an indicator (once per bar per distinct indicator). */
  commits: number;
  /** Indicator evaluations on the newest bar (once per cycle per distinct indicator). */
  previews: number;
  /** Quote-feature computations (once per cycle per instrument and book depth). */
  quoteReads: number;
}

interface Slot<Value> {
  readonly indicator: BarIndicator<Value>;
  value: Value | undefined;
}

/** Everything computed for one instrument: its distinct indicators, shared by every reader. */
class InstrumentFeatures {
  private readonly slots = new Map<string, Slot<unknown>>();
  private refreshedCycle = Number.NaN;
  private readonly quotes = new Map<string, QuoteFeatures>();
  newest: Candle | undefined;

  get slotCount(): number {
    return this.slots.size;
  }

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    private readonly counters: FeatureCounters,
  ) {}

  slot<Value>(key: string, create: () => BarIndicator<Value>): Slot<Value> {
    let slot = this.slots.get(key) as Slot<Value> | undefined;
    if (!slot) {
      slot = { indicator: create(), value: undefined };
      this.slots.set(key, slot as Slot<unknown>);
      // A reader added after cycles ran catches up at the next refresh.
      this.refreshedCycle = Number.NaN;
    }
    return slot;
  }

  /**
   * Once per engine cycle: commits the bars every indicator has not seen (all but the newest, which
   * may still be replaced by a bar with the same open time) and evaluates each on the newest bar.
   */
  refresh(state: StateView): void {
    if (state.cycle === this.refreshedCycle) return;
    this.refreshedCycle = state.cycle;
    this.quotes.clear();
    const series = state.candles(this.exchange, this.symbol);
    const newest = series?.last();
    this.newest = newest;
    for (const slot of this.slots.values()) {
      if (!series || !newest) {
        slot.value = undefined;
        continue;
      }
      const indicator = slot.indicator;
      let pending = 0;
      while (
        pending + 1 < series.length &&
        (series.get(pending + 1) as Candle).timestamp > indicator.lastCommitted
      )
        pending += 1;
      for (let ago = pending; ago >= 1; ago -= 1) {
        indicator.commit(series.get(ago) as Candle);
        this.counters.commits += 1;
      }
      slot.value = indicator.preview(newest);
      this.counters.previews += 1;
    }
  }

  quoteFeatures(state: StateView, depth: number, maxAge: number): QuoteFeatures {
    const key = `${depth}:${maxAge}`;
    let quotes = this.quotes.get(key);
    if (!quotes) {
      quotes = quoteFeatures(
        {
          book: state.orderBook(this.exchange, this.symbol),
          ticker: state.ticker(this.exchange, this.symbol),
          fundingRatePerHour: state.fundingRate(this.exchange, this.symbol)?.ratePerHour,
        },
        state.now,
        depth,
        maxAge,
      );
      this.quotes.set(key, quotes);
      this.counters.quoteReads += 1;
    }
    return quotes;
  }
}

/** One indicator of one instrument, as a reader sees it. */
export class IndicatorView<Value> {
  constructor(
    private readonly instrument: InstrumentFeatures,
    private readonly slot: Slot<Value>,
  ) {}

  /** The value as of this cycle (computed at most once per cycle for all readers). */
  read(state: StateView): Value | undefined {
    this.instrument.refresh(state);
    return this.slot.value;
  }
}

/** The full feature set of one instrument with one set of settings. */
export class FeatureView {
  private cachedCycle = Number.NaN;
  private cached: FeatureSnapshot | undefined;

  constructor(
    private readonly instrument: InstrumentFeatures,
    readonly settings: FeatureSettings,
    private readonly atr: Slot<number>,
    private readonly volumeZ: Slot<number>,
    private readonly realizedVol: Slot<number>,
    private readonly regime: Slot<RegimeReading>,
  ) {}

  /** The snapshot as of this cycle; the same object for every read within a cycle. */
  read(state: StateView): FeatureSnapshot {
    if (this.cached && state.cycle === this.cachedCycle) return this.cached;
    this.instrument.refresh(state);
    const newest = this.instrument.newest;
    const snapshot = buildSnapshot(
      this.instrument,
      state.now,
      {
        barTime: newest?.timestamp,
        open: newest?.open,
        close: newest?.close,
        atr: this.atr.value,
        volumeZ: this.volumeZ.value,
        realizedVol: this.realizedVol.value,
        regime: this.regime.value,
      },
      this.instrument.quoteFeatures(state, this.settings.bookDepth, this.settings.maxQuoteAge),
    );
    this.cached = snapshot;
    this.cachedCycle = state.cycle;
    return snapshot;
  }
}

/**
 * The feature pipeline of one engine. Strategies and exit rules ask it for views at setup; an
 * indicator (say ATR(14) of sim:BTC) exists once however many readers ask for it, advances once
 * per bar and is evaluated once per cycle. Get the engine's hub with `featureHub(context)`.
 */
export class FeatureHub {
  readonly counters: FeatureCounters = { commits: 0, previews: 0, quoteReads: 0 };
  private readonly instruments = new Map<string, InstrumentFeatures>();
  private readonly views = new Map<string, FeatureView>();

  private instrument(exchange: string, symbol: string): InstrumentFeatures {
    const key = `${exchange}\u0000${symbol}`;
    let instrument = this.instruments.get(key);
    if (!instrument) {
      instrument = new InstrumentFeatures(exchange, symbol, this.counters);
      this.instruments.set(key, instrument);
    }
    return instrument;
  }

  /** Every feature of an instrument, with these settings (readers with equal settings share a view). */
  view(exchange: string, symbol: string, settings: FeatureSettings): FeatureView {
    const key = [
      exchange,
      symbol,
      settings.atrPeriod,
      settings.volumePeriod,
      settings.volatilityPeriod,
      settings.regimePeriod,
      settings.trendEfficiency,
      settings.bookDepth,
      settings.maxQuoteAge,
    ].join('\u0000');
    const existing = this.views.get(key);
    if (existing) return existing;
    const instrument = this.instrument(exchange, symbol);
    const view = new FeatureView(
      instrument,
      settings,
      instrument.slot(`atr:${settings.atrPeriod}`, () => new AverageTrueRange(settings.atrPeriod)),
      instrument.slot(`volumeZ:${settings.volumePeriod}`, () => new VolumeZScore(settings.volumePeriod)),
      instrument.slot(
        `realizedVol:${settings.volatilityPeriod}`,
        () => new RealizedVolatility(settings.volatilityPeriod),
      ),
      instrument.slot(
        `regime:${settings.regimePeriod}:${settings.trendEfficiency}`,
        () => new RegimeClassifier(settings.regimePeriod, settings.trendEfficiency),
      ),
    );
    this.views.set(key, view);
    return view;
  }

  /** Only the ATR of an instrument (for ATR-based exit rules). */
  averageTrueRange(exchange: string, symbol: string, period: number): IndicatorView<number> {
    const instrument = this.instrument(exchange, symbol);
    return new IndicatorView(
      instrument,
      instrument.slot(`atr:${period}`, () => new AverageTrueRange(period)),
    );
  }

  /** Distinct indicators across instruments (what one cycle evaluates). */
  get indicatorCount(): number {
    let count = 0;
    for (const instrument of this.instruments.values()) count += instrument.slotCount;
    return count;
  }
}

/**
 * The feature hub of the engine a component belongs to, created on first use in the engine's
 * shared services. A host without shared services gets a private hub (correct values, no sharing).
 */
export function featureHub(context: { readonly services?: SharedServices }): FeatureHub {
  return context.services?.use(FEATURE_HUB_KEY, () => new FeatureHub()) ?? new FeatureHub();
}
