import { existsSync, statSync } from 'node:fs';
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
import {
  type CandleBatch,
  CandleFile,
  type CandleSourceOptions,
  type DataQualityReport,
  intervalMs,
  loadAllCandles,
  resampleBatches,
} from './candles';
import { type FundingReport, type FundingSourceOptions, loadFunding } from './funding';
import {
  attribute,
  type Breakdown,
  breakdown,
  EquityTracker,
  type TradeRecord,
  tradeListHash,
} from './metrics';

export interface BacktestVenue {
  /** Exchange id strategies trade on. */
  readonly id: string;
  readonly sim: SimOptionsInput;
}

export interface BacktestInstrument {
  readonly exchange: string;
  readonly symbol: string;
  readonly candles: Omit<CandleSourceOptions, 'onProgress'>;
  /** Resample the candles to this interval (`5m`, `1h`, `4h`, or ms). */
  readonly resample?: string | number;
  /** A funding history: settlements then happen at its times with its rates. */
  readonly funding?: FundingSourceOptions;
  /** Mark-price candles: funding settles at the mark of its time. */
  readonly marks?: Omit<CandleSourceOptions, 'onProgress'>;
}

export interface BacktestProgress {
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly bars: number;
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
}

export interface BacktestSummary {
  /** Bars fed to the simulated venues (all instruments). */
  readonly bars: number;
  /** Engine cycles (one per distinct bar time). */
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
  };
}

interface Cursor {
  readonly instrument: BacktestInstrument;
  readonly file: CandleFile;
  readonly iterator: AsyncIterator<CandleBatch>;
  sim: SimExchange | undefined;
  interval: number;
  batch: CandleBatch | undefined;
  index: number;
  done: boolean;
}

async function refill(cursor: Cursor): Promise<void> {
  const next = await cursor.iterator.next();
  if (next.done || next.value.length === 0) {
    cursor.done = true;
    cursor.batch = undefined;
    return;
  }
  cursor.batch = next.value;
  cursor.index = 0;
}

/**
 * Runs strategies on historical data through the same engine, gates and exit rules as live, on
 * `SimExchange`s driven by a simulated clock. Candles stream from disk in column batches, so
 * memory stays flat however long the data; several instruments and venues are merged on one clock.
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
  }

  // Progress over every candle file, by bytes.
  const bytesRead = new Map<string, number>();
  let totalBytes = 0;
  for (const instrument of options.instruments) {
    const file = instrument.candles.path;
    if (!existsSync(file)) {
      throw new ConfigError(
        `candle file not found for ${instrument.exchange}:${instrument.symbol}: ${file}`,
        { file, code: 'CONFIG_NOT_FOUND' },
      );
    }
    totalBytes += statSync(file).size;
  }
  let bars = 0;
  const reportProgress = () => {
    let read = 0;
    for (const value of bytesRead.values()) read += value;
    options.onProgress?.({ bytesRead: read, totalBytes, bars });
  };

  const cursors: Cursor[] = options.instruments.map((instrument, position) => {
    const key = `${position}:${instrument.candles.path}`;
    const file = new CandleFile({
      ...instrument.candles,
      onProgress: (read) => {
        bytesRead.set(key, read);
        reportProgress();
      },
    });
    const source =
      instrument.resample === undefined
        ? file.batches()
        : resampleBatches(file.batches(), intervalMs(instrument.resample), { dropPartial: false });
    return {
      instrument,
      file,
      iterator: source[Symbol.asyncIterator](),
      sim: undefined,
      interval: 0,
      batch: undefined,
      index: 0,
      done: false,
    };
  });
  for (const cursor of cursors) {
    await refill(cursor);
    const batch = cursor.batch;
    const inferred =
      batch && batch.length > 1 ? (batch.time[1] as number) - (batch.time[0] as number) : 60_000;
    cursor.interval =
      cursor.instrument.resample !== undefined
        ? intervalMs(cursor.instrument.resample)
        : (cursor.instrument.candles.interval ?? cursor.file.barInterval ?? inferred);
  }
  const firstTimes = cursors
    .filter((cursor) => cursor.batch)
    .map((cursor) => (cursor.batch as CandleBatch).time[0] as number);
  if (firstTimes.length === 0)
    throw new ConfigError('no candles in range: every candle file is empty after filtering');
  const start = Math.min(...firstTimes);
  const clock = new SimulatedClock(start);

  const sims = new Map<string, SimExchange>();
  for (const venue of options.venues) sims.set(venue.id, new SimExchange(venue.sim, { id: venue.id, clock }));
  const fundingReports: FundingReport[] = [];
  for (const cursor of cursors) {
    const { instrument } = cursor;
    const sim = sims.get(instrument.exchange) as SimExchange;
    cursor.sim = sim;
    const market = (await sim.fetchMarkets()).find((candidate) => candidate.symbol === instrument.symbol);
    if (!market)
      throw new ConfigError(
        `venue "${instrument.exchange}" has no market ${instrument.symbol}; add it to the venue's markets`,
      );
    if (instrument.funding) {
      const series = await loadFunding(instrument.funding);
      fundingReports.push(series.report);
      if (series.intervalHours !== market.fundingIntervalHours) {
        throw new ConfigError(
          `${instrument.funding.path}: the data settles every ${series.intervalHours}h but market ${instrument.exchange}:${instrument.symbol} declares fundingIntervalHours ${market.fundingIntervalHours}. Set the market's interval to the venue's; a mismatch would misstate funding by ${Math.max(series.intervalHours, market.fundingIntervalHours) / Math.min(series.intervalHours, market.fundingIntervalHours)}×.`,
          { file: instrument.funding.path },
        );
      }
      sim.setFundingSeries(
        instrument.symbol,
        series.points
          .filter((point) => point.time > start)
          .map((point) => ({ time: point.time, rate: point.rate })),
      );
    }
    if (instrument.marks) {
      const marks = await loadAllCandles(new CandleFile(instrument.marks).batches());
      sim.setFundingMarks(
        instrument.symbol,
        marks.map((mark) => ({ time: mark.timestamp, price: mark.open })),
      );
    }
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

  const trades: TradeRecord[] = [];
  let fees = 0;
  let slippage = 0;
  let traded = 0;
  let fundingPnl = 0;
  let signals = 0;
  let denials = 0;
  const signalsByReason: Record<string, number> = {};
  const denialsByCode: Record<string, number> = {};
  engine.events.on('trade:closed', (trade) => trades.push(attribute(trade)));
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
  const totalEquity = () => {
    let equity = 0;
    for (const sim of simList) equity += sim.equity();
    return equity;
  };
  const inMarket = () => {
    for (const sim of simList) if (sim.hasPositions()) return true;
    return false;
  };
  const tracker = new EquityTracker(totalEquity(), start, {
    ...(options.periodMs === undefined ? {} : { periodMs: options.periodMs }),
    ...(options.maxEquityPoints === undefined ? {} : { maxPoints: options.maxEquityPoints }),
  });

  let engineNanos = 0n;
  let end: number | undefined;
  let steps = 0;
  const step = (closeTime: number): Promise<void> | undefined => {
    const outcome = engine.cycle();
    if (outcome instanceof Promise) {
      return outcome.then(() => {
        tracker.record(closeTime, totalEquity(), inMarket());
      });
    }
    tracker.record(closeTime, totalEquity(), inMarket());
    return undefined;
  };
  for (;;) {
    const active = cursors.filter((cursor) => !cursor.done);
    if (active.length === 0) break;
    const began = process.hrtime.bigint();
    if (active.length === 1) {
      // One stream: a tight loop over the batch.
      const cursor = active[0] as Cursor;
      const batch = cursor.batch as CandleBatch;
      const sim = cursor.sim as SimExchange;
      const { symbol } = cursor.instrument;
      const interval = cursor.interval;
      const { time: times, open, high, low, close, volume } = batch;
      for (let index = cursor.index; index < batch.length; index += 1) {
        const time = times[index] as number;
        const closeTime = time + interval;
        clock.advanceTo(closeTime);
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
        const pending = step(closeTime);
        if (pending) await pending;
        end = closeTime;
      }
      bars += batch.length - cursor.index;
      steps += batch.length - cursor.index;
      cursor.index = batch.length;
    } else {
      let exhausted = false;
      while (!exhausted) {
        // The earliest bar time among the streams; every stream with a bar at that time feeds it,
        // then the engine runs one cycle at the bars' close.
        let time = Number.POSITIVE_INFINITY;
        for (const cursor of active) {
          const candidate = (cursor.batch as CandleBatch).time[cursor.index] as number;
          if (candidate < time) time = candidate;
        }
        let closeTime = time;
        for (const cursor of active) {
          const batch = cursor.batch as CandleBatch;
          const index = cursor.index;
          if ((batch.time[index] as number) !== time) continue;
          const close = time + cursor.interval;
          if (close > closeTime) closeTime = close;
          clock.advanceTo(close);
          (cursor.sim as SimExchange).processCandle(
            cursor.instrument.symbol,
            {
              timestamp: time,
              open: batch.open[index] as number,
              high: batch.high[index] as number,
              low: batch.low[index] as number,
              close: batch.close[index] as number,
              volume: batch.volume[index] as number,
            },
            cursor.interval,
          );
          bars += 1;
          cursor.index = index + 1;
          if (cursor.index >= batch.length) exhausted = true;
        }
        const pending = step(closeTime);
        if (pending) await pending;
        steps += 1;
        end = closeTime;
      }
    }
    engineNanos += process.hrtime.bigint() - began;
    for (const cursor of active)
      if ((cursor.batch as CandleBatch).length <= cursor.index) await refill(cursor);
  }
  await engine.stop('backtest finished');
  reportProgress();

  const stats = tracker.finish();
  const engineMs = Number(engineNanos) / 1e6;
  const wins = trades.filter((trade) => trade.netPnl > 0).length;
  const summary: BacktestSummary = {
    bars,
    steps,
    start,
    end,
    trades: trades.length,
    startingEquity: stats.startEquity,
    finalEquity: stats.finalEquity,
    totalReturn: stats.totalReturn,
    annualReturn: stats.annualReturn,
    maxDrawdown: stats.maxDrawdown.fraction,
    maxDrawdownAmount: stats.maxDrawdown.amount,
    sharpe: stats.sharpe,
    sortino: stats.sortino,
    calmar: stats.calmar,
    winRate: trades.length > 0 ? wins / trades.length : 0,
    fees,
    slippage,
    fundingPnl,
    exposure: stats.exposure,
    turnover: stats.startEquity > 0 ? traded / stats.startEquity : 0,
    engineMs,
    barsPerSecond: engineMs > 0 ? bars / (engineMs / 1000) : 0,
    tradeListHash: tradeListHash(trades),
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
      byReason: breakdown(trades, (trade) => trade.entryReasons[0]),
      byExitReason: breakdown(trades, (trade) => trade.exitReasons[0]),
      byRegime: breakdown(trades, (trade) => trade.regime),
      byStrategy: breakdown(trades, (trade) => trade.strategyId),
      signalsByReason,
      denialsByCode,
    },
    data: { candles: cursors.map((cursor) => cursor.file.report()), funding: fundingReports },
  };
}
