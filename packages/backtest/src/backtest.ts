import { existsSync } from 'node:fs';
import {
  type ComponentSpec,
  ConfigError,
  Engine,
  type ExitRule,
  type Logger,
  type Monitor,
  type RiskGate,
  SimulatedClock,
  type Store,
  type Strategy,
} from '@perpkit/core';
import { SimExchange, type SimOptionsInput } from '@perpkit/sim';
import { type CandleColumns, ColumnCandleSource } from './candle-columns';
import {
  type CandleBatch,
  CandleFile,
  type CandleSourceOptions,
  createCandleBatch,
  type DataQualityReport,
  intervalMs,
  resampleBatches,
} from './candles';
import { FundingFile, type FundingPoint, type FundingReport, type FundingSourceOptions } from './funding';
import {
  attribute,
  type Breakdown,
  BreakdownAccumulator,
  EquityTracker,
  TradeListHasher,
  type TradeRecord,
  turnover,
} from './metrics';

export interface BacktestVenue {
  /** Exchange id strategies trade on. */
  readonly id: string;
  readonly sim: SimOptionsInput;
}

export interface BacktestInstrument {
  readonly exchange: string;
  readonly symbol: string;
  /**
   * A candle file (read as it streams), or columns already in memory (`{ memory }` from
   * `loadCandleColumns`: loaded once, shared by worker threads) with an optional
   * `from ≤ open time < to` range.
   */
  readonly candles: Omit<CandleSourceOptions, 'onProgress'> | InMemoryCandles;
  /** Resample the candles to this interval (`5m`, `1h`, `4h`, or ms). */
  readonly resample?: string | number;
  /** A funding history: settlements then happen at its times with its rates. */
  readonly funding?: FundingSourceOptions;
  /** Mark-price candles: funding settles at the mark of its time. */
  readonly marks?: Omit<CandleSourceOptions, 'onProgress'>;
}

/** An instrument whose candles come from a file (what configs describe). */
export type FileInstrument = BacktestInstrument & {
  readonly candles: Omit<CandleSourceOptions, 'onProgress'>;
};

/** Candles from memory: `memory` from `loadCandleColumns`, narrowed to `from ≤ open time < to`. */
export interface InMemoryCandles {
  readonly memory: CandleColumns;
  readonly from?: number;
  readonly to?: number;
  readonly batchSize?: number;
}

/** What a stream reads its bars from: a file, or columns in memory. */
interface BarSource {
  batches(): AsyncGenerator<CandleBatch>;
  readonly bytesParsed: number;
  readonly totalBytes: number;
  readonly barInterval: number | undefined;
  report(): DataQualityReport;
}

function isInMemory(candles: BacktestInstrument['candles']): candles is InMemoryCandles {
  return 'memory' in candles;
}

/** Progress of a run, reported once per batch of bars and once at the end (`done`). */
export interface BacktestProgress {
  /** Bars fed to the venues so far. */
  readonly bars: number;
  readonly steps: number;
  /** Bytes of the candle files behind the bars fed so far (not merely read from disk). */
  readonly bytesConsumed: number;
  readonly totalBytes: number;
  /** `bytesConsumed / totalBytes`; exactly 1 when done. */
  readonly fraction: number;
  /** Bars the whole run will feed, extrapolated from the bytes per bar so far; exact when done. */
  readonly estimatedBars: number | undefined;
  readonly done: boolean;
}

export interface BacktestOptions {
  readonly venues: readonly BacktestVenue[];
  readonly instruments: readonly BacktestInstrument[];
  readonly strategies?: readonly ComponentSpec<Strategy>[];
  readonly riskGates?: readonly ComponentSpec<RiskGate>[];
  readonly exitRules?: readonly ComponentSpec<ExitRule>[];
  readonly monitors?: readonly ComponentSpec<Monitor>[];
  readonly minHoldMs?: number;
  readonly candleHistory?: number;
  /** Return period for Sharpe and Sortino. Default one day. */
  readonly periodMs?: number;
  readonly maxEquityPoints?: number;
  /** Emit `account` events (for a store attached with `store`) this often, in simulated ms. Default: never. */
  readonly accountEventIntervalMs?: number;
  readonly runId?: string;
  readonly configHash?: string;
  readonly store?: Store;
  readonly logger?: Logger;
  readonly onProgress?: (progress: BacktestProgress) => void;
  /**
   * Keep every trade in `result.trades`. Default true. Set false for long runs: the summary, the
   * trade-list hash and the breakdowns are computed as trades close either way, and `onTrade` can
   * stream them to disk, so memory stays flat however many trades there are.
   */
  readonly keepTrades?: boolean;
  /** Called with each trade as it closes. */
  readonly onTrade?: (trade: TradeRecord) => void;
}

export interface BacktestSummary {
  /** Bars fed to the simulated venues (all instruments). */
  readonly bars: number;
  /** Engine cycles (one per distinct bar close time). */
  readonly steps: number;
  readonly start: number | undefined;
  readonly end: number | undefined;
  /** Round trips (flat → flat); an open position at the end is not a trade. */
  readonly trades: number;
  readonly startingEquity: number;
  /** Equity at the end, open positions valued at the last close. */
  readonly finalEquity: number;
  readonly totalReturn: number;
  readonly annualReturn: number;
  readonly maxDrawdown: number;
  readonly maxDrawdownAmount: number;
  readonly sharpe: number | null;
  readonly sortino: number | null;
  readonly calmar: number | null;
  readonly winRate: number;
  /** Fees paid on every fill, open positions included. */
  readonly fees: number;
  /** Slippage cost inside the fill prices. */
  readonly slippage: number;
  /** Funding settled (positive received). */
  readonly fundingPnl: number;
  /** Fraction of steps with an open position. */
  readonly exposure: number;
  /** Traded notional / starting equity. */
  readonly turnover: number;
  /** Time inside the engine and the simulated venues, excluding process start and file parsing. */
  readonly engineMs: number;
  readonly barsPerSecond: number;
  /** sha256 over the ordered trade list. */
  readonly tradeListHash: string;
  readonly signals: number;
  readonly denials: number;
}

export interface BacktestResult {
  readonly summary: BacktestSummary;
  /** Every trade, in closing order (empty with `keepTrades: false`). */
  readonly trades: readonly TradeRecord[];
  readonly equityCurve: readonly (readonly [number, number])[];
  readonly openPositions: readonly {
    exchange: string;
    symbol: string;
    quantity: number;
    entryPrice: number;
    markPrice: number;
    unrealizedPnl: number;
  }[];
  readonly breakdowns: {
    readonly byReason: readonly Breakdown[];
    readonly byExitReason: readonly Breakdown[];
    readonly byRegime: readonly Breakdown[];
    readonly byStrategy: readonly Breakdown[];
    readonly signalsByReason: Readonly<Record<string, number>>;
    readonly denialsByCode: Readonly<Record<string, number>>;
  };
  readonly data: {
    readonly candles: readonly DataQualityReport[];
    readonly funding: readonly FundingReport[];
    readonly marks: readonly DataQualityReport[];
  };
}

/** A candle stream: its current batch, its position in it, and the venue it feeds. */
interface Stream {
  readonly instrument: BacktestInstrument;
  readonly symbol: string;
  readonly file: BarSource;
  readonly iterator: AsyncIterator<CandleBatch>;
  readonly sim: SimExchange;
  readonly interval: number;
  batch: CandleBatch;
  index: number;
  done: boolean;
  /** `file.bytesParsed` when the previous and the current batch were handed out (for progress). */
  batchStartBytes: number;
  batchEndBytes: number;
  funding: FundingDriver | undefined;
}

const EMPTY_BATCH = createCandleBatch(0);

async function refill(stream: Stream): Promise<void> {
  const next = await stream.iterator.next();
  stream.batchStartBytes = stream.batchEndBytes;
  stream.batchEndBytes = stream.file.bytesParsed;
  stream.index = 0;
  if (next.done || next.value.length === 0) {
    stream.done = true;
    stream.batch = EMPTY_BATCH;
    return;
  }
  stream.batch = next.value;
}

/** A time-ordered series read batch by batch, with what is not yet consumed kept in a buffer. */
class SeriesCursor<Point extends { readonly time: number }> {
  private buffer: Point[] = [];
  private position = 0;
  private finished = false;

  constructor(private readonly iterator: AsyncIterator<Point[]>) {}

  /** The next unconsumed point, if buffered. */
  peek(): Point | undefined {
    return this.buffer[this.position];
  }

  next(): void {
    this.position += 1;
  }

  /** True when every point with time ≤ `time` is buffered (so consuming up to it needs no I/O). */
  covers(time: number): boolean {
    if (this.finished) return true;
    const last = this.buffer.at(-1);
    return last !== undefined && last.time > time && this.position < this.buffer.length;
  }

  /** Reads until `covers(time)`. Memory: the unconsumed rest plus one batch. */
  async load(time: number): Promise<void> {
    while (!this.covers(time)) {
      const next = await this.iterator.next();
      const rest = this.position < this.buffer.length ? this.buffer.slice(this.position) : [];
      this.position = 0;
      if (next.done) {
        this.finished = true;
        this.buffer = rest;
        return;
      }
      this.buffer = rest.length > 0 ? rest.concat(next.value) : next.value;
    }
  }

  /** Reads (and discards) the rest, so a file's report covers all of it. */
  async drain(): Promise<void> {
    this.buffer = [];
    this.position = 0;
    while (!this.finished) if ((await this.iterator.next()).done) this.finished = true;
  }
}

async function* markPoints(file: CandleFile): AsyncGenerator<{ time: number; price: number }[]> {
  for await (const batch of file.batches()) {
    const out: { time: number; price: number }[] = new Array(batch.length);
    for (let index = 0; index < batch.length; index += 1)
      out[index] = { time: batch.time[index] as number, price: batch.open[index] as number };
    yield out;
  }
}

/**
 * Settles one instrument's funding from streamed data, so no series is held in memory: rates from
 * a funding file (or, with marks only, the market's constant rate on its interval grid, as the
 * venue would), priced at the mark of the settlement time when marks are given, else at the open
 * of the bar that starts at or after it. The venue's own schedule is switched off.
 */
class FundingDriver {
  /** Time of the next settlement; +∞ when none is left. */
  nextTime = Number.POSITIVE_INFINITY;
  private readonly grid: { readonly rate: number; readonly intervalMs: number } | undefined = undefined;
  private lastMark: number | undefined;

  constructor(
    private readonly sim: SimExchange,
    private readonly symbol: string,
    private readonly start: number,
    firstOpen: number,
    private readonly rates: SeriesCursor<FundingPoint> | undefined,
    private readonly marks: SeriesCursor<{ time: number; price: number }> | undefined,
    grid: { rate: number; intervalMs: number },
  ) {
    sim.setFundingSeries(symbol, []);
    if (rates) return;
    this.grid = grid;
    // The venue's rule: the first settlement is the first grid time at or after the first bar.
    const { intervalMs } = grid;
    this.nextTime =
      firstOpen % intervalMs === 0 ? firstOpen : Math.floor(firstOpen / intervalMs) * intervalMs + intervalMs;
  }

  /** Loads what settling up to `time` needs. */
  async prepare(time: number): Promise<void> {
    if (this.rates) {
      await this.rates.load(time);
      this.skipBeforeStart();
    }
    if (this.marks) await this.marks.load(time);
  }

  private skipBeforeStart(): void {
    const rates = this.rates as SeriesCursor<FundingPoint>;
    let point = rates.peek();
    // A settlement at or before the first bar is history, not something the backtest holds into.
    while (point && point.time <= this.start) {
      rates.next();
      point = rates.peek();
    }
    this.nextTime = point?.time ?? Number.POSITIVE_INFINITY;
  }

  /** True when `settle(time, ...)` can run without I/O. */
  ready(time: number): boolean {
    return (this.rates?.covers(time) ?? true) && (this.marks?.covers(time) ?? true);
  }

  /** Settles everything due at or before `time` (a bar's open); `open` prices it without marks. */
  settle(time: number, open: number): void {
    while (this.nextTime <= time) {
      const settlement = this.nextTime;
      let rate: number;
      if (this.rates) {
        rate = (this.rates.peek() as FundingPoint).rate;
        this.rates.next();
        this.nextTime = this.rates.peek()?.time ?? Number.POSITIVE_INFINITY;
      } else {
        const grid = this.grid as { rate: number; intervalMs: number };
        rate = grid.rate;
        this.nextTime = settlement + grid.intervalMs;
      }
      this.sim.applyFunding(this.symbol, settlement, rate, this.markAt(settlement) ?? open);
    }
  }

  /** The last mark at or before `time`. */
  private markAt(time: number): number | undefined {
    const marks = this.marks;
    if (!marks) return undefined;
    let point = marks.peek();
    while (point && point.time <= time) {
      this.lastMark = point.price;
      marks.next();
      point = marks.peek();
    }
    return this.lastMark;
  }

  async finish(): Promise<void> {
    await this.rates?.drain();
    await this.marks?.drain();
  }
}

/**
 * Runs strategies on historical data through the same engine, gates and exit rules as live, on
 * `SimExchange`s driven by a simulated clock. Candles, funding and marks stream from disk, so
 * memory stays flat however long the data.
 *
 * Several instruments and venues share one clock that only moves forward. A bar becomes visible
 * when it closes: the streams are merged by close time, and at each distinct close time every
 * stream with a bar closing then feeds its venue (in instrument order), then the engine runs one
 * cycle at that time. A 1h bar is therefore first seen at the close of the 1m bar that ends with it.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  if (options.venues.length === 0) throw new ConfigError('a backtest needs at least one venue');
  if (options.instruments.length === 0)
    throw new ConfigError('a backtest needs at least one instrument with candles');
  const venueIds = new Set(options.venues.map((venue) => venue.id));
  for (const instrument of options.instruments) {
    if (!venueIds.has(instrument.exchange)) {
      throw new ConfigError(
        `instrument ${instrument.symbol} names exchange "${instrument.exchange}", which is not a backtest venue (${[...venueIds].join(', ')})`,
      );
    }
    if (isInMemory(instrument.candles)) continue;
    const file = instrument.candles.path;
    if (!existsSync(file)) {
      throw new ConfigError(
        `candle file not found for ${instrument.exchange}:${instrument.symbol}: ${file}`,
        { file, code: 'CONFIG_NOT_FOUND' },
      );
    }
  }

  // Open every candle stream and read its first batch: the earliest bar starts the clock.
  const opened: {
    instrument: BacktestInstrument;
    file: BarSource;
    iterator: AsyncIterator<CandleBatch>;
    batch: CandleBatch;
    bytes: number;
  }[] = [];
  for (const instrument of options.instruments) {
    const candles = instrument.candles;
    const file: BarSource = isInMemory(candles)
      ? new ColumnCandleSource(candles.memory, candles)
      : new CandleFile(candles);
    const source =
      instrument.resample === undefined
        ? file.batches()
        : resampleBatches(file.batches(), intervalMs(instrument.resample), { dropPartial: false });
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next();
    const batch = first.done || first.value.length === 0 ? EMPTY_BATCH : first.value;
    opened.push({ instrument, file, iterator, batch, bytes: file.bytesParsed });
  }
  const firstTimes = opened
    .filter((entry) => entry.batch.length > 0)
    .map((entry) => entry.batch.time[0] as number);
  if (firstTimes.length === 0)
    throw new ConfigError('no candles in range: every candle file is empty after filtering');
  const start = Math.min(...firstTimes);
  const clock = new SimulatedClock(start);
  const sims = new Map<string, SimExchange>();
  for (const venue of options.venues) sims.set(venue.id, new SimExchange(venue.sim, { id: venue.id, clock }));

  const streams: Stream[] = opened.map(({ instrument, file, iterator, batch, bytes }) => {
    const inferred = batch.length > 1 ? (batch.time[1] as number) - (batch.time[0] as number) : 60_000;
    return {
      instrument,
      symbol: instrument.symbol,
      file,
      iterator,
      sim: sims.get(instrument.exchange) as SimExchange,
      interval:
        instrument.resample !== undefined
          ? intervalMs(instrument.resample)
          : ((isInMemory(instrument.candles) ? undefined : instrument.candles.interval) ??
            file.barInterval ??
            inferred),
      batch,
      index: 0,
      done: batch.length === 0,
      batchStartBytes: 0,
      batchEndBytes: bytes,
      funding: undefined,
    };
  });

  const fundingFiles: FundingFile[] = [];
  const markFiles: CandleFile[] = [];
  for (const stream of streams) {
    const { instrument, sim } = stream;
    const market = (await sim.fetchMarkets()).find((candidate) => candidate.symbol === instrument.symbol);
    if (!market)
      throw new ConfigError(
        `venue "${instrument.exchange}" has no market ${instrument.symbol}; add it to the venue's markets`,
      );
    if (stream.done || (!instrument.funding && !instrument.marks)) continue;
    let rates: SeriesCursor<FundingPoint> | undefined;
    if (instrument.funding) {
      const fundingFile = new FundingFile(instrument.funding);
      fundingFiles.push(fundingFile);
      rates = new SeriesCursor(fundingFile.batches()[Symbol.asyncIterator]());
      await rates.load(start);
      const intervalHours = fundingFile.intervalHours ?? fundingFile.report().intervalHours;
      if (intervalHours !== market.fundingIntervalHours) {
        throw new ConfigError(
          `${instrument.funding.path}: the data settles every ${intervalHours}h but market ${instrument.exchange}:${instrument.symbol} declares fundingIntervalHours ${market.fundingIntervalHours}. Set the market's interval to the venue's; a mismatch would misstate funding by ${Math.max(intervalHours, market.fundingIntervalHours) / Math.min(intervalHours, market.fundingIntervalHours)}×.`,
          { file: instrument.funding.path },
        );
      }
    }
    let marks: SeriesCursor<{ time: number; price: number }> | undefined;
    if (instrument.marks) {
      const markFile = new CandleFile(instrument.marks);
      markFiles.push(markFile);
      marks = new SeriesCursor(markPoints(markFile)[Symbol.asyncIterator]());
    }
    const settings = sim.options.markets.find((entry) => entry.symbol === instrument.symbol);
    const grid = {
      rate: settings?.fundingRate ?? sim.options.defaultFundingRatePerHour * market.fundingIntervalHours,
      intervalMs: market.fundingIntervalHours * 3_600_000,
    };
    const driver = new FundingDriver(
      sim,
      instrument.symbol,
      start,
      stream.batch.time[0] as number,
      rates,
      marks,
      grid,
    );
    await driver.prepare(start);
    stream.funding = driver;
  }

  const engine = new Engine({
    mode: 'backtest',
    clock,
    exchanges: [...sims.values()],
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    strategies: options.strategies ?? [],
    riskGates: options.riskGates ?? [],
    exitRules: options.exitRules ?? [],
    monitors: options.monitors ?? [],
    accountRefreshMs: 0,
    // Account audit samples are for live dashboards; backtests have the equity curve instead.
    accountEventIntervalMs: options.accountEventIntervalMs ?? 0,
    minHoldMs: options.minHoldMs ?? 0,
    candleHistory: options.candleHistory ?? 500,
    runId: options.runId ?? 'backtest',
    ...(options.configHash === undefined ? {} : { configHash: options.configHash }),
    ...(options.store === undefined ? {} : { store: options.store }),
    shutdown: { cancelOpenOrders: false, closePositions: false, timeoutMs: 10_000 },
  });

  // Trades are folded into the hash and the breakdowns as they close; keeping the list is optional.
  const keepTrades = options.keepTrades ?? true;
  const trades: TradeRecord[] = [];
  const hasher = new TradeListHasher();
  const byReason = new BreakdownAccumulator((trade) => trade.entryReasons[0]);
  const byExitReason = new BreakdownAccumulator((trade) => trade.exitReasons[0]);
  const byRegime = new BreakdownAccumulator((trade) => trade.regime);
  const byStrategy = new BreakdownAccumulator((trade) => trade.strategyId);
  let wins = 0;
  let fees = 0;
  let slippage = 0;
  let traded = 0;
  let fundingPnl = 0;
  let signals = 0;
  let denials = 0;
  const signalsByReason: Record<string, number> = {};
  const denialsByCode: Record<string, number> = {};
  engine.events.on('trade:closed', (trade) => {
    const record = attribute(trade);
    hasher.add(record);
    byReason.add(record);
    byExitReason.add(record);
    byRegime.add(record);
    byStrategy.add(record);
    if (record.netPnl > 0) wins += 1;
    if (keepTrades) trades.push(record);
    options.onTrade?.(record);
  });
  engine.events.on('fill', (fill) => {
    fees += fill.fee;
    slippage += fill.slippage ?? 0;
    traded += fill.price * fill.quantity;
  });
  engine.events.on('funding', (payment) => {
    if (payment.settled) fundingPnl += payment.amount;
  });
  engine.events.on('signal', (signal) => {
    signals += 1;
    const code = signal.reasons[0]?.code ?? '(none)';
    signalsByReason[code] = (signalsByReason[code] ?? 0) + 1;
  });
  engine.events.on('order:denied', (event) => {
    denials += 1;
    denialsByCode[event.code] = (denialsByCode[event.code] ?? 0) + 1;
  });
  await engine.init();

  const simList = [...sims.values()];
  const onlySim = simList.length === 1 ? (simList[0] as SimExchange) : undefined;
  const totalEquity = (): number => {
    if (onlySim) return onlySim.equity();
    let equity = 0;
    for (const sim of simList) equity += sim.equity();
    return equity;
  };
  const inMarket = (): boolean => {
    if (onlySim) return onlySim.hasPositions();
    for (const sim of simList) if (sim.hasPositions()) return true;
    return false;
  };
  const tracker = new EquityTracker(totalEquity(), start, {
    ...(options.periodMs === undefined ? {} : { periodMs: options.periodMs }),
    ...(options.maxEquityPoints === undefined ? {} : { maxPoints: options.maxEquityPoints }),
  });

  const totalBytes = streams.reduce((sum, stream) => sum + stream.file.totalBytes, 0);
  let bars = 0;
  let steps = 0;
  const reportProgress = (done: boolean) => {
    if (!options.onProgress) return;
    let consumed = 0;
    for (const stream of streams) {
      if (stream.done) consumed += stream.file.totalBytes;
      else {
        const share = stream.batch.length > 0 ? stream.index / stream.batch.length : 0;
        consumed += stream.batchStartBytes + (stream.batchEndBytes - stream.batchStartBytes) * share;
      }
    }
    const fraction = done ? 1 : totalBytes > 0 ? Math.min(1, consumed / totalBytes) : 0;
    options.onProgress({
      bars,
      steps,
      bytesConsumed: done ? totalBytes : Math.round(consumed),
      totalBytes,
      fraction,
      estimatedBars: done ? bars : fraction > 0 ? Math.round(bars / fraction) : undefined,
      done,
    });
  };

  // Venues wait on the clock for acknowledgement latency and order expiry. Moving the clock past
  // such a wait resolves it; the venue's work then runs as a microtask, so the loop lets it run
  // before feeding the next bar (only when a wait was due: a quiet bar pays one comparison).
  const advance = (time: number): boolean => {
    const wake = clock.nextWakeTime();
    clock.advanceTo(time);
    return wake !== undefined && wake <= time;
  };
  const timersDone = () => new Promise<void>((resolve) => setImmediate(resolve));

  let engineNanos = 0n;
  let end: number | undefined;
  for (;;) {
    // Outside the engine's timer: read the next batches and what funding needs up to their end.
    let active = 0;
    for (const stream of streams) {
      if (!stream.done && stream.index >= stream.batch.length) await refill(stream);
      if (stream.done) continue;
      active += 1;
      const funding = stream.funding;
      if (funding) {
        const lastOpen = stream.batch.time[stream.batch.length - 1] as number;
        if (!funding.ready(lastOpen)) await funding.prepare(lastOpen);
      }
    }
    if (active === 0) break;
    reportProgress(false);
    const began = process.hrtime.bigint();
    if (active === 1) {
      // One stream: a tight loop over its batch.
      const stream = streams.find((candidate) => !candidate.done) as Stream;
      const { batch, sim, symbol, interval, funding } = stream;
      const { time: times, open, high, low, close, volume } = batch;
      const length = batch.length;
      for (let index = stream.index; index < length; index += 1) {
        const time = times[index] as number;
        const closeTime = time + interval;
        if (advance(closeTime)) await timersDone();
        if (funding !== undefined && funding.nextTime <= time) funding.settle(time, open[index] as number);
        sim.processCandle(
          symbol,
          {
            timestamp: time,
            open: open[index] as number,
            high: high[index] as number,
            low: low[index] as number,
            close: close[index] as number,
            volume: volume[index] as number,
          },
          interval,
        );
        const outcome = engine.cycle();
        if (outcome instanceof Promise) await outcome;
        tracker.record(closeTime, totalEquity(), inMarket());
      }
      bars += length - stream.index;
      steps += length - stream.index;
      stream.index = length;
      end = (times[length - 1] as number) + interval;
    } else {
      // Several streams: one cycle per distinct close time, until a batch runs out. The next close
      // of each stream is kept in a typed array, so a step scans numbers, not stream objects.
      const live = streams.filter((stream) => !stream.done);
      const nextClose = new Float64Array(live.length);
      live.forEach((stream, position) => {
        nextClose[position] = (stream.batch.time[stream.index] as number) + stream.interval;
      });
      let exhausted = false;
      while (!exhausted) {
        let closeTime = Number.POSITIVE_INFINITY;
        for (let position = 0; position < nextClose.length; position += 1)
          if ((nextClose[position] as number) < closeTime) closeTime = nextClose[position] as number;
        if (advance(closeTime)) await timersDone();
        for (let position = 0; position < live.length; position += 1) {
          if (nextClose[position] !== closeTime) continue;
          const stream = live[position] as Stream;
          const batch = stream.batch;
          const index = stream.index;
          const time = batch.time[index] as number;
          const funding = stream.funding;
          if (funding !== undefined && funding.nextTime <= time)
            funding.settle(time, batch.open[index] as number);
          stream.sim.processCandle(
            stream.symbol,
            {
              timestamp: time,
              open: batch.open[index] as number,
              high: batch.high[index] as number,
              low: batch.low[index] as number,
              close: batch.close[index] as number,
              volume: batch.volume[index] as number,
            },
            stream.interval,
          );
          bars += 1;
          stream.index = index + 1;
          // A stream whose batch ran out ends the run of steps after this one: its next bar (in
          // its next batch) closes later than this step, but maybe before the others' next bars.
          if (stream.index >= batch.length) exhausted = true;
          else nextClose[position] = (batch.time[stream.index] as number) + stream.interval;
        }
        const outcome = engine.cycle();
        if (outcome instanceof Promise) await outcome;
        tracker.record(closeTime, totalEquity(), inMarket());
        steps += 1;
        end = closeTime;
      }
    }
    engineNanos += process.hrtime.bigint() - began;
  }
  await engine.stop('backtest finished');
  for (const stream of streams) await stream.funding?.finish();
  reportProgress(true);

  const stats = tracker.finish();
  const engineMs = Number(engineNanos) / 1e6;
  const tradeCount = hasher.trades;
  const summary: BacktestSummary = {
    bars,
    steps,
    start,
    end,
    trades: tradeCount,
    startingEquity: stats.startEquity,
    finalEquity: stats.finalEquity,
    totalReturn: stats.totalReturn,
    annualReturn: stats.annualReturn,
    maxDrawdown: stats.maxDrawdown.fraction,
    maxDrawdownAmount: stats.maxDrawdown.amount,
    sharpe: stats.sharpe,
    sortino: stats.sortino,
    calmar: stats.calmar,
    winRate: tradeCount > 0 ? wins / tradeCount : 0,
    fees,
    slippage,
    fundingPnl,
    exposure: stats.exposure,
    turnover: turnover(traded, stats.startEquity),
    engineMs,
    barsPerSecond: engineMs > 0 ? bars / (engineMs / 1000) : 0,
    tradeListHash: hasher.digest(),
    signals,
    denials,
  };
  const openPositions = engine.state.positions().map((position) => ({
    exchange: position.exchange,
    symbol: position.symbol,
    quantity: position.quantity,
    entryPrice: position.entryPrice,
    markPrice: position.markPrice,
    unrealizedPnl: position.unrealizedPnl,
  }));
  return {
    summary,
    trades,
    equityCurve: stats.curve,
    openPositions,
    breakdowns: {
      byReason: byReason.result(),
      byExitReason: byExitReason.result(),
      byRegime: byRegime.result(),
      byStrategy: byStrategy.result(),
      signalsByReason,
      denialsByCode,
    },
    data: {
      candles: streams.map((stream) => stream.file.report()),
      funding: fundingFiles.map((file) => file.report()),
      marks: markFiles.map((file) => file.report()),
    },
  };
}
