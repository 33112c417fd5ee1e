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

/**
 * Loads a funding history in any of the shared data's layouts: Binance (`fundingTime`,
 * `fundingIntervalHours`, `fundingRate`), gravestone (`timestamp,symbol,funding_rate`),
 * Hyperliquid (`coin,time,funding_rate,premium`), Supervik (`Symbol,Date,Funding Rate`, with the
 * venue's timezone and interval from the file name) and freqtrade JSON (`[ms, rate, ...]`).
 * Every point keeps the venue's own interval and carries the rate normalized per hour.
 */
export async function loadFunding(options: FundingSourceOptions): Promise<FundingSeries> {
  const file = options.path;
  if (!existsSync(file))
    throw new ConfigError(`funding file not found: ${file}`, { file, code: 'CONFIG_NOT_FOUND' });
  const raw: { time: number; rate: number; interval: number | undefined }[] = [];
  let rows = 0;
  let invalid = 0;
  let format: Exclude<FundingFormat, 'auto'>;
  let offsetHours = options.timezoneOffsetHours;
  let presetInterval: number | undefined;
  const timeFormat = options.timeFormat ?? 'auto';
  const push = (time: number, rate: number, interval: number | undefined) => {
    rows += 1;
    if (!Number.isFinite(time) || !Number.isFinite(rate)) {
      invalid += 1;
      return;
    }
    raw.push({ time, rate, interval });
  };

  if (options.format === 'freqtrade' || ((options.format ?? 'auto') === 'auto' && file.endsWith('.json'))) {
    format = 'freqtrade';
    for await (const batch of readJsonRowBatches(file))
      for (const row of batch) push(Number(row[0]), Number(row[1]), undefined);
  } else {
    let layout: Layout | undefined;
    for await (const lines of readLineBatches(file)) {
      for (const line of lines) {
        if (line.trim() === '') continue;
        const fields = splitCsvLine(line);
        if (!layout) {
          layout = detect(file, fields, options);
          if (layout.format === 'supervik') {
            const venue = supervikVenue(file);
            offsetHours ??= venue?.offset ?? 0;
            presetInterval = venue?.intervalHours;
          }
          if (layout.format === 'hyperliquid') presetInterval = 1;
          continue;
        }
        if (options.symbol !== undefined && layout.symbol >= 0) {
          const symbol = (fields[layout.symbol] as string).trim();
          if (symbol !== options.symbol) continue;
        }
        const interval = layout.interval >= 0 ? Number(fields[layout.interval]) : undefined;
        push(
          parseTime((fields[layout.time] as string).trim(), timeFormat),
          Number(fields[layout.rate]),
          interval,
        );
      }
    }
    if (!layout) throw new ConfigError(`${file}: the file is empty`, { file });
    format = layout.format;
  }

  const offset = (offsetHours ?? 0) * 3_600_000;
  const from = options.from ?? Number.NEGATIVE_INFINITY;
  const to = options.to ?? Number.POSITIVE_INFINITY;
  const cleaned = raw
    .map((point) => ({ ...point, time: Math.floor((point.time - offset) / 1000) * 1000 }))
    .filter((point) => point.time >= from && point.time <= to)
    .sort((a, b) => a.time - b.time);

  const intervalHours =
    options.intervalHours ??
    cleaned.find((point) => point.interval !== undefined)?.interval ??
    presetInterval ??
    inferInterval(cleaned);
  const intervalMs = intervalHours * 3_600_000;
  const points: FundingPoint[] = [];
  let duplicates = 0;
  let irregularSpacings = 0;
  let missingSettlements = 0;
  let offGrid = 0;
  for (const point of cleaned) {
    const previous = points.at(-1);
    if (previous && previous.time === point.time) {
      duplicates += 1;
      continue;
    }
    const hours = point.interval ?? intervalHours;
    if (previous && point.time - previous.time !== intervalMs) {
      irregularSpacings += 1;
      const missing = Math.round((point.time - previous.time) / intervalMs) - 1;
      if (missing > 0) missingSettlements += missing;
    }
    if (point.time % intervalMs !== 0 && intervalHours <= 24) {
      // KuCoin settles at 04/12/20 UTC: on an 8h grid shifted by 4h, which still counts as on-grid.
      const shifted = (point.time - (cleaned[0]?.time ?? 0)) % intervalMs;
      if (shifted !== 0) offGrid += 1;
    }
    points.push({
      time: point.time,
      rate: point.rate,
      intervalHours: hours,
      ratePerHour: point.rate / hours,
    });
  }
  return {
    points,
    intervalHours,
    report: {
      source: file,
      format,
      rows,
      points: points.length,
      intervalHours,
      first: points[0]?.time,
      last: points.at(-1)?.time,
      duplicates,
      irregularSpacings,
      missingSettlements,
      offGrid,
      invalid,
    },
  };
}

/** The most common spacing between settlements, in whole hours. */
function inferInterval(points: readonly { time: number }[]): number {
  const counts = new Map<number, number>();
  for (let index = 1; index < Math.min(points.length, 200); index += 1) {
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
