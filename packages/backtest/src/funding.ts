import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@perpkit/core';
import { parseTime, readJsonRowBatches, readLineBatches, splitCsvLine, type TimeFormat } from './text';

export interface FundingPoint {
  /** Settlement time, epoch ms (floored to the second: venues add ms jitter). */
  readonly time: number;
  /** Rate per the venue's settlement interval. */
  readonly rate: number;
  readonly intervalHours: number;
  /** `rate / intervalHours`. Compare venues only on this. */
  readonly ratePerHour: number;
}

export type FundingFormat =
  | 'auto'
  | 'binance'
  | 'gravestone'
  | 'hyperliquid'
  | 'supervik'
  | 'freqtrade'
  | 'csv';

export interface FundingSourceOptions {
  readonly path: string;
  readonly format?: FundingFormat;
  /** Keep rows for this symbol/coin only (Hyperliquid `coin`, Supervik `Symbol`, gravestone `symbol`). */
  readonly symbol?: string;
  /** The venue's settlement interval; inferred (or read from the file) when left out. */
  readonly intervalHours?: number;
  /** Naive times in the file are in this UTC offset; it is subtracted. Supervik presets set it. */
  readonly timezoneOffsetHours?: number;
  /** For `csv`: the columns holding time, rate and (optionally) symbol and interval. */
  readonly columns?: {
    readonly time: string;
    readonly rate: string;
    readonly symbol?: string;
    readonly intervalHours?: string;
  };
  readonly timeFormat?: TimeFormat;
  readonly from?: number;
  readonly to?: number;
}

export interface FundingReport {
  readonly source: string;
  readonly format: Exclude<FundingFormat, 'auto'>;
  readonly rows: number;
  readonly points: number;
  readonly intervalHours: number;
  readonly first: number | undefined;
  readonly last: number | undefined;
  readonly duplicates: number;
  /** Rows older than the row before them: dropped. */
  readonly outOfOrder: number;
  /** Spacings other than the interval (holes and irregular settlements). */
  readonly irregularSpacings: number;
  /** Missing settlements inside holes, counted on the interval grid. */
  readonly missingSettlements: number;
  /** Points whose time is not on the interval grid (e.g. HTX's 9–11h steps). */
  readonly offGrid: number;
  readonly invalid: number;
}

export interface FundingSeries {
  readonly points: readonly FundingPoint[];
  readonly intervalHours: number;
  readonly report: FundingReport;
}

/**
 * Supervik's fetcher wrote naive local time on a UTC+3 machine for these venues (gate and dydx are
 * UTC), and dydx settles hourly. See ../shared/data/README.md.
 */
const SUPERVIK_VENUES: Record<string, { offset: number; intervalHours: number }> = {
  binance: { offset: 3, intervalHours: 8 },
  bybit: { offset: 3, intervalHours: 8 },
  htx: { offset: 3, intervalHours: 8 },
  kucoin: { offset: 3, intervalHours: 8 },
  mexc: { offset: 3, intervalHours: 8 },
  gate: { offset: 0, intervalHours: 8 },
  dydx: { offset: 0, intervalHours: 1 },
};

interface Layout {
  readonly format: Exclude<FundingFormat, 'auto' | 'freqtrade'>;
  readonly time: number;
  readonly rate: number;
  readonly symbol: number;
  readonly interval: number;
}

function detect(file: string, header: string[], options: FundingSourceOptions): Layout {
  const names = header.map((name) => name.trim());
  const lower = names.map((name) => name.toLowerCase());
  const at = (name: string) => lower.indexOf(name.toLowerCase());
  const format = options.format ?? 'auto';
  if (format === 'csv' || options.columns) {
    const columns = options.columns;
    if (!columns) throw new ConfigError(`${file}: format "csv" needs columns: { time, rate }`, { file });
    const time = at(columns.time);
    const rate = at(columns.rate);
    if (time < 0 || rate < 0)
      throw new ConfigError(
        `${file}: columns ${columns.time}/${columns.rate} are not in the header (${names.join(', ')})`,
        { file },
      );
    return {
      format: 'csv',
      time,
      rate,
      symbol: columns.symbol ? at(columns.symbol) : -1,
      interval: columns.intervalHours ? at(columns.intervalHours) : -1,
    };
  }
  if ((format === 'auto' || format === 'binance') && at('fundingTime') >= 0 && at('fundingRate') >= 0) {
    return {
      format: 'binance',
      time: at('fundingTime'),
      rate: at('fundingRate'),
      symbol: at('symbol'),
      interval: at('fundingIntervalHours'),
    };
  }
  if ((format === 'auto' || format === 'hyperliquid') && at('coin') >= 0 && at('funding_rate') >= 0) {
    return {
      format: 'hyperliquid',
      time: at('time'),
      rate: at('funding_rate'),
      symbol: at('coin'),
      interval: -1,
    };
  }
  if ((format === 'auto' || format === 'gravestone') && at('timestamp') >= 0 && at('funding_rate') >= 0) {
    return {
      format: 'gravestone',
      time: at('timestamp'),
      rate: at('funding_rate'),
      symbol: at('symbol'),
      interval: -1,
    };
  }
  if ((format === 'auto' || format === 'supervik') && at('date') >= 0 && at('funding rate') >= 0) {
    return {
      format: 'supervik',
      time: at('date'),
      rate: at('funding rate'),
      symbol: at('symbol'),
      interval: -1,
    };
  }
  throw new ConfigError(
    `${file}: unrecognized funding layout (${names.join(', ')}); set format: csv and columns: { time, rate }`,
    { file },
  );
}

function supervikVenue(file: string): { offset: number; intervalHours: number } | undefined {
  const match = /_(binance|bybit|htx|kucoin|mexc|gate|dydx)_/.exec(path.basename(file));
  return match ? SUPERVIK_VENUES[match[1] as string] : undefined;
}

interface RawPoint {
  readonly time: number;
  readonly rate: number;
  readonly interval: number | undefined;
}

/** Points held back to infer the settlement interval before the first is emitted. */
const INFERENCE_WINDOW = 200;

/**
 * A funding history read as a stream of time-ordered point batches, in any of the shared data's
 * layouts: Binance (`fundingTime`, `fundingIntervalHours`, `fundingRate`), gravestone
 * (`timestamp,symbol,funding_rate`), Hyperliquid (`coin,time,funding_rate,premium`), Supervik
 * (`Symbol,Date,Funding Rate`, with the venue's timezone and interval from the file name) and
 * freqtrade JSON (`[ms, rate, ...]`). Every point keeps the venue's own interval and carries the
 * rate normalized per hour. Memory stays bounded: at most one read chunk plus the first
 * `INFERENCE_WINDOW` points (held to infer the interval) are in memory at once.
 *
 * Rows must be in time order (every file in the shared data is); a row older than the one before it
 * is dropped and counted in the report, never silently reordered.
 */
export class FundingFile {
  private format: Exclude<FundingFormat, 'auto'> | undefined;
  private interval: number | undefined;
  private stats = {
    rows: 0,
    points: 0,
    first: undefined as number | undefined,
    last: undefined as number | undefined,
    duplicates: 0,
    outOfOrder: 0,
    irregularSpacings: 0,
    missingSettlements: 0,
    offGrid: 0,
    invalid: 0,
  };

  constructor(readonly options: FundingSourceOptions) {
    if (!existsSync(options.path))
      throw new ConfigError(`funding file not found: ${options.path}`, {
        file: options.path,
        code: 'CONFIG_NOT_FOUND',
      });
  }

  /** The settlement interval: given, read from the file, preset by the layout, or inferred. Known once the first batch is out. */
  get intervalHours(): number | undefined {
    return this.interval;
  }

  report(): FundingReport {
    return {
      source: this.options.path,
      format: this.format ?? 'csv',
      intervalHours: this.interval ?? this.options.intervalHours ?? 8,
      ...this.stats,
    };
  }

  /** Raw (time, rate, interval) rows in file order, after the symbol filter. */
  private async *rows(): AsyncGenerator<RawPoint[]> {
    const { options } = this;
    const file = options.path;
    const timeFormat = options.timeFormat ?? 'auto';
    const offsetFor = (hours: number | undefined) => (hours ?? 0) * 3_600_000;
    if (options.format === 'freqtrade' || ((options.format ?? 'auto') === 'auto' && file.endsWith('.json'))) {
      this.format = 'freqtrade';
      const offset = offsetFor(options.timezoneOffsetHours);
      for await (const batch of readJsonRowBatches(file)) {
        const out: RawPoint[] = [];
        for (const row of batch)
          out.push({ time: Number(row[0]) - offset, rate: Number(row[1]), interval: undefined });
        yield out;
      }
      return;
    }
    let layout: Layout | undefined;
    let offset = 0;
    for await (const lines of readLineBatches(file)) {
      const out: RawPoint[] = [];
      for (const line of lines) {
        if (line.trim() === '') continue;
        const fields = splitCsvLine(line);
        if (!layout) {
          layout = detect(file, fields, options);
          this.format = layout.format;
          let offsetHours = options.timezoneOffsetHours;
          if (layout.format === 'supervik') {
            const venue = supervikVenue(file);
            offsetHours ??= venue?.offset ?? 0;
            this.presetInterval = venue?.intervalHours;
          }
          if (layout.format === 'hyperliquid') this.presetInterval = 1;
          offset = offsetFor(offsetHours);
          continue;
        }
        if (options.symbol !== undefined && layout.symbol >= 0) {
          const symbol = (fields[layout.symbol] as string).trim();
          if (symbol !== options.symbol) continue;
        }
        out.push({
          time: parseTime((fields[layout.time] as string).trim(), timeFormat) - offset,
          rate: Number(fields[layout.rate]),
          interval: layout.interval >= 0 ? Number(fields[layout.interval]) : undefined,
        });
      }
      if (out.length > 0) yield out;
    }
    if (!layout) throw new ConfigError(`${file}: the file is empty`, { file });
  }

  private presetInterval: number | undefined;

  /** Time-ordered points, a batch per read chunk. */
  async *batches(): AsyncGenerator<FundingPoint[]> {
    const { options } = this;
    const from = options.from ?? Number.NEGATIVE_INFINITY;
    const to = options.to ?? Number.POSITIVE_INFINITY;
    const stats = this.stats;
    let previous = Number.NEGATIVE_INFINITY;
    let firstTime: number | undefined;
    let intervalMs = 0;
    // Cleaned points held until the interval is known.
    let held: RawPoint[] | undefined = [];

    const settle = (points: RawPoint[], out: FundingPoint[]) => {
      const intervalHours = this.interval as number;
      for (const point of points) {
        const hours = point.interval ?? intervalHours;
        if (stats.last !== undefined && point.time - stats.last !== intervalMs) {
          stats.irregularSpacings += 1;
          const missing = Math.round((point.time - stats.last) / intervalMs) - 1;
          if (missing > 0) stats.missingSettlements += missing;
        }
        if (point.time % intervalMs !== 0 && intervalHours <= 24) {
          // KuCoin settles at 04/12/20 UTC: on an 8h grid shifted by 4h, which still counts as on-grid.
          const shifted = (point.time - (firstTime ?? 0)) % intervalMs;
          if (shifted !== 0) stats.offGrid += 1;
        }
        stats.points += 1;
        stats.first ??= point.time;
        stats.last = point.time;
        out.push({
          time: point.time,
          rate: point.rate,
          intervalHours: hours,
          ratePerHour: point.rate / hours,
        });
      }
    };
    const release = (): FundingPoint[] => {
      const points = held as RawPoint[];
      held = undefined;
      this.interval =
        options.intervalHours ??
        points.find((point) => point.interval !== undefined)?.interval ??
        this.presetInterval ??
        inferInterval(points);
      intervalMs = this.interval * 3_600_000;
      const out: FundingPoint[] = [];
      settle(points, out);
      return out;
    };

    for await (const rows of this.rows()) {
      const cleaned: RawPoint[] = [];
      for (const row of rows) {
        stats.rows += 1;
        if (!Number.isFinite(row.time) || !Number.isFinite(row.rate)) {
          stats.invalid += 1;
          continue;
        }
        // Venues add ms jitter to settlement times.
        const time = Math.floor(row.time / 1000) * 1000;
        if (time < from || time > to) continue;
        if (time === previous) {
          stats.duplicates += 1;
          continue;
        }
        if (time < previous) {
          stats.outOfOrder += 1;
          continue;
        }
        previous = time;
        firstTime ??= time;
        cleaned.push(row.time === time ? row : { time, rate: row.rate, interval: row.interval });
      }
      if (held) {
        for (const point of cleaned) held.push(point);
        if (held.length < INFERENCE_WINDOW) continue;
        yield release();
        continue;
      }
      const out: FundingPoint[] = [];
      settle(cleaned, out);
      if (out.length > 0) yield out;
    }
    if (held) {
      const out = release();
      if (out.length > 0) yield out;
    }
  }
}

/**
 * Loads a whole funding history (see `FundingFile` for the layouts). For tests and small files;
 * backtests stream the file instead.
 */
export async function loadFunding(options: FundingSourceOptions): Promise<FundingSeries> {
  const file = new FundingFile(options);
  const points: FundingPoint[] = [];
  for await (const batch of file.batches()) for (const point of batch) points.push(point);
  const report = file.report();
  return { points, intervalHours: report.intervalHours, report };
}

/** The most common spacing between settlements, in whole hours. */
function inferInterval(points: readonly { time: number }[]): number {
  const counts = new Map<number, number>();
  for (let index = 1; index < Math.min(points.length, INFERENCE_WINDOW); index += 1) {
    const hours = Math.round(
      ((points[index] as { time: number }).time - (points[index - 1] as { time: number }).time) / 3_600_000,
    );
    if (hours > 0) counts.set(hours, (counts.get(hours) ?? 0) + 1);
  }
  let best = 8;
  let bestCount = 0;
  for (const [hours, count] of counts) {
    if (count > bestCount) {
      best = hours;
      bestCount = count;
    }
  }
  return best;
}
