import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '@perpkit/core';
import {
  type ProgressListener,
  parseNumberBytes,
  parseTime,
  parseTimeBytes,
  readJsonRowBatches,
  readLineChunks,
  splitCsvLine,
  type TimeFormat,
} from './text';

/** Columns of bars, oldest first. Buffers are reused between batches: consume before asking for more. */
export interface CandleBatch {
  length: number;
  readonly time: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
}

export function createCandleBatch(capacity: number): CandleBatch {
  return {
    length: 0,
    time: new Float64Array(capacity),
    open: new Float64Array(capacity),
    high: new Float64Array(capacity),
    low: new Float64Array(capacity),
    close: new Float64Array(capacity),
    volume: new Float64Array(capacity),
  };
}

export type CandleFormat = 'auto' | 'binance-kline' | 'ohlcv-csv' | 'freqtrade-json';
export type CandleField = 'time' | 'open' | 'high' | 'low' | 'close' | 'volume';

export interface CandleSourceOptions {
  readonly path: string;
  readonly format?: CandleFormat;
  /** Column names (or 0-based indexes) for CSV layouts the loader does not recognize. */
  readonly columns?: Partial<Record<CandleField, string | number>>;
  readonly timeFormat?: TimeFormat;
  /** Naive times in the file are in this UTC offset (hours); it is subtracted to get UTC. */
  readonly timezoneOffsetHours?: number;
  /** Bar length in ms; inferred from the data when left out. */
  readonly interval?: number;
  /** Drop the file's last bar (a bar captured before it closed). */
  readonly dropLast?: boolean;
  /** Keep bars with open time ≥ from and < to. */
  readonly from?: number;
  readonly to?: number;
  readonly batchSize?: number;
  readonly onProgress?: ProgressListener;
}

export interface GapRange {
  /** Open time of the last bar before the gap. */
  readonly after: number;
  /** Open time of the first bar after it. */
  readonly before: number;
  readonly missingBars: number;
}

/** What the loader found in the data: counted and reported, never silently fixed. */
export interface DataQualityReport {
  readonly source: string;
  readonly rows: number;
  readonly bars: number;
  readonly first: number | undefined;
  readonly last: number | undefined;
  readonly interval: number | undefined;
  readonly gaps: number;
  readonly missingBars: number;
  /** The first gaps found (at most 20). */
  readonly gapRanges: readonly GapRange[];
  /** Rows with the time of the previous row: the first is kept. */
  readonly duplicates: number;
  /** Rows older than the previous row: dropped. */
  readonly outOfOrder: number;
  /** Rows that could not be read (bad numbers, OHLC inconsistent): dropped. */
  readonly invalid: number;
  /** Rows dropped on purpose (time filter, `dropLast`). */
  readonly filtered: number;
}

const TIME_NAMES = ['timestamp', 'time', 'date', 'datetime', 'opentime', 'open_time', 'ts', 't'];
const NAMES: Record<Exclude<CandleField, 'time'>, string[]> = {
  open: ['open', 'o'],
  high: ['high', 'h'],
  low: ['low', 'l'],
  close: ['close', 'c'],
  volume: ['volume', 'vol', 'v', 'base_volume'],
};

interface Layout {
  readonly format: Exclude<CandleFormat, 'auto'>;
  readonly indexes: Record<CandleField, number>;
  readonly hasHeader: boolean;
}

function resolveColumns(
  path: string,
  header: string[],
  columns: CandleSourceOptions['columns'] = {},
): Record<CandleField, number> {
  const lower = header.map((name) => name.trim().toLowerCase());
  const find = (field: CandleField, candidates: string[]): number => {
    const wanted = columns[field];
    if (typeof wanted === 'number') return wanted;
    if (typeof wanted === 'string') {
      const index = lower.indexOf(wanted.toLowerCase());
      if (index === -1)
        throw new ConfigError(
          `${path}: column "${wanted}" for ${field} is not in the header (${header.join(', ')})`,
          { file: path },
        );
      return index;
    }
    const index = lower.findIndex((name) => candidates.includes(name));
    if (index === -1 && field !== 'volume') {
      throw new ConfigError(
        `${path}: no ${field} column found in the header (${header.join(', ')}); map it with columns.${field}`,
        { file: path },
      );
    }
    return index;
  };
  return {
    time: find('time', TIME_NAMES),
    open: find('open', NAMES.open),
    high: find('high', NAMES.high),
    low: find('low', NAMES.low),
    close: find('close', NAMES.close),
    volume: find('volume', NAMES.volume),
  };
}

function detectLayout(path: string, firstLine: string, options: CandleSourceOptions): Layout {
  const fields = splitCsvLine(firstLine);
  const numeric = fields.every((field) => field.trim() !== '' && !Number.isNaN(Number(field)));
  const format = options.format ?? 'auto';
  if (numeric) {
    // No header: Binance's archive layout (openTime, open, high, low, close, volume, ...).
    const indexes = { time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5 };
    for (const [field, value] of Object.entries(options.columns ?? {})) {
      if (typeof value !== 'number')
        throw new ConfigError(`${path}: the file has no header, so columns.${field} must be an index`, {
          file: path,
        });
      indexes[field as CandleField] = value;
    }
    return { format: format === 'auto' ? 'binance-kline' : format, indexes, hasHeader: false };
  }
  const indexes = resolveColumns(path, fields, options.columns);
  const isBinance = fields[0]?.trim() === 'openTime' && fields.includes('closeTime');
  return {
    format: format === 'auto' ? (isBinance ? 'binance-kline' : 'ohlcv-csv') : format,
    indexes,
    hasHeader: true,
  };
}

/**
 * A candle file read as a stream of column batches, in any layout of the shared data: Binance
 * klines (with or without header), `time,open,high,low,close,volume` CSV with ISO or epoch times,
 * and freqtrade JSON arrays. Duplicates, gaps, out-of-order and invalid rows are counted in
 * `report()`; duplicates and out-of-order rows are dropped, gaps are left as gaps.
 */
export class CandleFile {
  private quality = {
    rows: 0,
    bars: 0,
    first: undefined as number | undefined,
    last: undefined as number | undefined,
    gaps: 0,
    missingBars: 0,
    gapRanges: [] as GapRange[],
    duplicates: 0,
    outOfOrder: 0,
    invalid: 0,
    filtered: 0,
  };
  private interval: number | undefined;
  /** (previous, time) pairs seen while the interval is still being inferred. */
  private readonly early: [number, number][] = [];
  format: Exclude<CandleFormat, 'auto'> | undefined;
  /** The file's size in bytes. */
  readonly totalBytes: number;
  private parsed = 0;

  constructor(readonly options: CandleSourceOptions) {
    if (!existsSync(options.path))
      throw new ConfigError(`candle file not found: ${options.path}`, {
        file: options.path,
        code: 'CONFIG_NOT_FOUND',
      });
    this.interval = options.interval;
    this.totalBytes = statSync(options.path).size;
  }

  /**
   * Bytes of the file turned into bars so far (not merely read from disk): progress that moves with
   * the bars handed out, and reaches `totalBytes` when the last bar is out.
   */
  get bytesParsed(): number {
    return this.parsed;
  }

  report(): DataQualityReport {
    return {
      source: this.options.path,
      interval: this.interval,
      ...this.quality,
      gapRanges: [...this.quality.gapRanges],
    };
  }

  /** The bar interval (given, or inferred from the first bars read). */
  get barInterval(): number | undefined {
    return this.interval;
  }

  async *batches(): AsyncGenerator<CandleBatch> {
    const options = this.options;
    const batch = createCandleBatch(options.batchSize ?? 8192);
    const offset = (options.timezoneOffsetHours ?? 0) * 3_600_000;
    const from = options.from ?? Number.NEGATIVE_INFINITY;
    const to = options.to ?? Number.POSITIVE_INFINITY;
    const timeFormat = options.timeFormat ?? 'auto';
    this.parsed = 0;
    let previous = Number.NEGATIVE_INFINITY;
    // One row is held back so `dropLast` can drop the file's final bar.
    let held = false;
    const heldRow = new Float64Array(6);

    const emitHeld = (): boolean => {
      const time = heldRow[0] as number;
      if (time < from || time >= to) {
        this.quality.filtered += 1;
        return false;
      }
      const index = batch.length;
      batch.time[index] = time;
      batch.open[index] = heldRow[1] as number;
      batch.high[index] = heldRow[2] as number;
      batch.low[index] = heldRow[3] as number;
      batch.close[index] = heldRow[4] as number;
      batch.volume[index] = heldRow[5] as number;
      batch.length += 1;
      this.quality.bars += 1;
      if (this.quality.first === undefined) this.quality.first = time;
      this.quality.last = time;
      return batch.length === batch.time.length;
    };

    const accept = (
      time: number,
      open: number,
      high: number,
      low: number,
      close: number,
      volume: number,
    ): boolean => {
      this.quality.rows += 1;
      if (
        !(Number.isFinite(time) && open > 0 && high > 0 && low > 0 && close > 0) ||
        high < low ||
        Number.isNaN(volume)
      ) {
        this.quality.invalid += 1;
        return false;
      }
      if (time === previous) {
        this.quality.duplicates += 1;
        return false;
      }
      if (time < previous) {
        this.quality.outOfOrder += 1;
        return false;
      }
      if (previous !== Number.NEGATIVE_INFINITY) this.trackDelta(previous, time);
      previous = time;
      let full = false;
      if (held) full = emitHeld();
      heldRow[0] = time;
      heldRow[1] = open;
      heldRow[2] = high;
      heldRow[3] = low;
      heldRow[4] = close;
      heldRow[5] = volume;
      held = true;
      return full;
    };

    if (
      options.format === 'freqtrade-json' ||
      ((options.format === undefined || options.format === 'auto') && options.path.endsWith('.json'))
    ) {
      this.format = 'freqtrade-json';
      let chunkEnd = 0;
      const onChunk: ProgressListener = (read, total) => {
        chunkEnd = read;
        options.onProgress?.(read, total);
      };
      for await (const rows of readJsonRowBatches(options.path, onChunk)) {
        for (const row of rows) {
          const full = accept(
            Number(row[0]) - offset,
            Number(row[1]),
            Number(row[2]),
            Number(row[3]),
            Number(row[4]),
            Number(row[5] ?? 0),
          );
          if (full) {
            yield batch;
            batch.length = 0;
          }
        }
        this.parsed = chunkEnd;
      }
    } else {
      // Bytes straight to numbers: no string per line or per field (a line with quotes, rare in
      // market data, takes the string path).
      let layout: Layout | undefined;
      let needed = 0;
      let starts = new Int32Array(0);
      let ends = new Int32Array(0);
      const parse = (buffer: Buffer, column: number, count: number): number =>
        column < count
          ? parseNumberBytes(buffer, starts[column] as number, ends[column] as number)
          : Number.NaN;
      for await (const { buffer, end: chunkEnd } of readLineChunks(options.path, options.onProgress)) {
        const chunkStart = chunkEnd - buffer.length;
        let lineStart = 0;
        while (lineStart < buffer.length) {
          let lineEnd = buffer.indexOf(10, lineStart);
          if (lineEnd === -1) lineEnd = buffer.length;
          const next = lineEnd + 1;
          this.parsed = chunkStart + Math.min(next, buffer.length);
          let stop = lineEnd;
          if (stop > lineStart && buffer[stop - 1] === 13) stop -= 1;
          if (stop === lineStart) {
            lineStart = next;
            continue;
          }
          if (!layout) {
            layout = detectLayout(options.path, buffer.toString('utf8', lineStart, lineEnd), options);
            this.format = layout.format;
            const { indexes } = layout;
            needed =
              Math.max(indexes.time, indexes.open, indexes.high, indexes.low, indexes.close, indexes.volume) +
              1;
            starts = new Int32Array(needed);
            ends = new Int32Array(needed);
            if (layout.hasHeader) {
              lineStart = next;
              continue;
            }
          }
          const { indexes } = layout;
          let count = 0;
          let fieldStart = lineStart;
          let quoted = false;
          for (let index = lineStart; index < stop && count < needed; index += 1) {
            const code = buffer[index];
            if (code === 44) {
              starts[count] = fieldStart;
              ends[count] = index;
              count += 1;
              fieldStart = index + 1;
            } else if (code === 34) {
              quoted = true;
              break;
            }
          }
          let full: boolean;
          if (quoted) {
            const fields = splitCsvLine(buffer.toString('utf8', lineStart, lineEnd));
            full = accept(
              parseTime(fields[indexes.time] as string, timeFormat) - offset,
              Number(fields[indexes.open]),
              Number(fields[indexes.high]),
              Number(fields[indexes.low]),
              Number(fields[indexes.close]),
              indexes.volume === -1 ? 0 : Number(fields[indexes.volume]),
            );
          } else {
            if (count < needed) {
              starts[count] = fieldStart;
              ends[count] = stop;
              count += 1;
            }
            const time =
              indexes.time < count
                ? parseTimeBytes(
                    buffer,
                    starts[indexes.time] as number,
                    ends[indexes.time] as number,
                    timeFormat,
                  )
                : Number.NaN;
            full = accept(
              time - offset,
              parse(buffer, indexes.open, count),
              parse(buffer, indexes.high, count),
              parse(buffer, indexes.low, count),
              parse(buffer, indexes.close, count),
              indexes.volume === -1 ? 0 : parse(buffer, indexes.volume, count),
            );
          }
          lineStart = next;
          if (full) {
            yield batch;
            batch.length = 0;
          }
        }
      }
    }
    this.parsed = this.totalBytes;
    if (this.interval === undefined && this.early.length > 0) this.inferInterval();
    if (held) {
      if (options.dropLast) this.quality.filtered += 1;
      else if (emitHeld()) {
        yield batch;
        batch.length = 0;
      }
    }
    if (batch.length > 0) yield batch;
  }

  private trackDelta(previous: number, time: number): void {
    if (this.interval === undefined) {
      this.early.push([previous, time]);
      if (this.early.length >= 50) this.inferInterval();
      return;
    }
    this.scoreGap(previous, time);
  }

  /** Sets the interval to the most common spacing seen so far and scores those spacings. */
  private inferInterval(): void {
    this.interval = mode(this.early.map(([previous, time]) => time - previous));
    for (const [previous, time] of this.early) this.scoreGap(previous, time);
    this.early.length = 0;
  }

  private scoreGap(previous: number, time: number): void {
    const interval = this.interval as number;
    const delta = time - previous;
    if (delta <= interval) return;
    const missing = Math.round(delta / interval) - 1;
    if (missing <= 0) return;
    this.quality.gaps += 1;
    this.quality.missingBars += missing;
    if (this.quality.gapRanges.length < 20)
      this.quality.gapRanges.push({ after: previous, before: time, missingBars: missing });
  }
}

function mode(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const value of values) if (value > 0) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best = 0;
  let bestCount = -1;
  for (const [value, count] of counts) {
    if (count > bestCount || (count === bestCount && value < best)) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Aggregates bars into `target`-ms buckets aligned to the epoch (1m → 5m, 1h → 4h, ...): open of
 * the first bar, highest high, lowest low, close of the last, summed volume. A bucket with fewer
 * bars than a full one (a gap, or the data's edges) is still emitted; `dropPartial` drops the
 * leading and trailing partial buckets.
 */
export async function* resampleBatches(
  source: AsyncIterable<CandleBatch>,
  target: number,
  options: { sourceInterval?: number; dropPartial?: boolean; batchSize?: number } = {},
): AsyncGenerator<CandleBatch> {
  const out = createCandleBatch(options.batchSize ?? 4096);
  let bucket = Number.NaN;
  let open = 0;
  let high = 0;
  let low = 0;
  let close = 0;
  let volume = 0;
  let count = 0;
  let first = true;
  const perBucket = options.sourceInterval ? Math.round(target / options.sourceInterval) : undefined;
  const flush = (): boolean => {
    const partial = perBucket !== undefined && count < perBucket;
    if (options.dropPartial && partial && first) {
      first = false;
      return false;
    }
    first = false;
    const index = out.length;
    out.time[index] = bucket;
    out.open[index] = open;
    out.high[index] = high;
    out.low[index] = low;
    out.close[index] = close;
    out.volume[index] = volume;
    out.length += 1;
    return out.length === out.time.length;
  };
  for await (const batch of source) {
    for (let index = 0; index < batch.length; index += 1) {
      const time = batch.time[index] as number;
      const start = Math.floor(time / target) * target;
      if (start !== bucket) {
        if (count > 0 && flush()) {
          yield out;
          out.length = 0;
        }
        bucket = start;
        open = batch.open[index] as number;
        high = batch.high[index] as number;
        low = batch.low[index] as number;
        volume = 0;
        count = 0;
      }
      const barHigh = batch.high[index] as number;
      const barLow = batch.low[index] as number;
      if (barHigh > high) high = barHigh;
      if (barLow < low) low = barLow;
      close = batch.close[index] as number;
      volume += batch.volume[index] as number;
      count += 1;
    }
  }
  if (count > 0) {
    const partial = perBucket !== undefined && count < perBucket;
    if (!(options.dropPartial && partial) && flush()) {
      yield out;
      out.length = 0;
    }
  }
  if (out.length > 0) yield out;
}

/** Reads every bar into plain candle objects. For tests and small files only. */
export async function loadAllCandles(
  batches: AsyncIterable<CandleBatch>,
): Promise<{ timestamp: number; open: number; high: number; low: number; close: number; volume: number }[]> {
  const out: { timestamp: number; open: number; high: number; low: number; close: number; volume: number }[] =
    [];
  for await (const batch of batches) {
    for (let index = 0; index < batch.length; index += 1) {
      out.push({
        timestamp: batch.time[index] as number,
        open: batch.open[index] as number,
        high: batch.high[index] as number,
        low: batch.low[index] as number,
        close: batch.close[index] as number,
        volume: batch.volume[index] as number,
      });
    }
  }
  return out;
}

/** `'1m'`, `'5m'`, `'1h'`, `'4h'`, `'1d'` or ms → ms. */
export function intervalMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)\s*(s|m|h|d|w)$/.exec(value.trim());
  if (!match) throw new ConfigError(`not an interval: "${value}" (use 1m, 5m, 1h, 4h, 1d)`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 's'];
  return Number(match[1]) * unit;
}
