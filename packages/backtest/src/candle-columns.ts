import type { CandleBatch, CandleSourceOptions, DataQualityReport } from './candles';
import { CandleFile, intervalMs, resampleBatches } from './candles';

/**
 * A whole candle series held in memory as six `Float64Array` columns. With `shared: true` (the
 * default) the columns live in `SharedArrayBuffer`s, so posting them to worker threads hands every
 * worker the same memory instead of a copy: an optimizer loads its data once, whatever the number
 * of workers.
 */
export interface CandleColumns {
  readonly length: number;
  readonly time: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  /** Bar length in ms (after resampling, when resampled). */
  readonly interval: number | undefined;
  /** What the loader found in the file (gaps, duplicates, dropped rows). */
  readonly report: DataQualityReport;
}

const COLUMNS = ['time', 'open', 'high', 'low', 'close', 'volume'] as const;

/**
 * Reads a candle file once into columns (optionally resampled, e.g. 1m → 1h). Options are those of
 * `CandleFile`; `from`/`to` here bound what is loaded, and `ColumnCandleSource` can narrow further.
 */
export async function loadCandleColumns(
  options: Omit<CandleSourceOptions, 'onProgress'>,
  settings: { resample?: string | number; shared?: boolean } = {},
): Promise<CandleColumns> {
  const file = new CandleFile(options);
  const source =
    settings.resample === undefined
      ? file.batches()
      : resampleBatches(file.batches(), intervalMs(settings.resample), { dropPartial: false });
  const chunks: Record<(typeof COLUMNS)[number], Float64Array>[] = [];
  let length = 0;
  let firstTimes: number[] = [];
  for await (const batch of source) {
    const chunk = {} as Record<(typeof COLUMNS)[number], Float64Array>;
    for (const column of COLUMNS) chunk[column] = batch[column].slice(0, batch.length);
    chunks.push(chunk);
    length += batch.length;
    if (firstTimes.length < 2) firstTimes = [...firstTimes, ...chunk.time.subarray(0, 2)].slice(0, 2);
  }
  const shared = settings.shared ?? true;
  const allocate = () =>
    shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  const columns = {} as Record<(typeof COLUMNS)[number], Float64Array>;
  for (const column of COLUMNS) {
    const target = allocate();
    let offset = 0;
    for (const chunk of chunks) {
      target.set(chunk[column], offset);
      offset += chunk[column].length;
    }
    columns[column] = target;
  }
  const inferred =
    firstTimes.length === 2 ? (firstTimes[1] as number) - (firstTimes[0] as number) : undefined;
  const interval =
    settings.resample !== undefined
      ? intervalMs(settings.resample)
      : (options.interval ?? file.barInterval ?? inferred);
  return { length, ...columns, interval, report: file.report() };
}

/** Index of the first bar with time ≥ `time` (binary search over the sorted time column). */
function lowerBound(times: Float64Array, length: number, time: number): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((times[middle] as number) < time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Streams `CandleColumns` to a backtest as batches that are views into the columns (no copy), within
 * `from ≤ open time < to`. Progress is counted in bars.
 */
export class ColumnCandleSource {
  readonly totalBytes: number;
  private readonly start: number;
  private readonly end: number;
  private handedOut = 0;

  constructor(
    readonly columns: CandleColumns,
    private readonly range: { from?: number; to?: number; batchSize?: number } = {},
  ) {
    this.start = range.from === undefined ? 0 : lowerBound(columns.time, columns.length, range.from);
    this.end = range.to === undefined ? columns.length : lowerBound(columns.time, columns.length, range.to);
    this.end = Math.max(this.start, this.end);
    this.totalBytes = this.end - this.start;
  }

  get bytesParsed(): number {
    return this.handedOut;
  }

  get barInterval(): number | undefined {
    return this.columns.interval;
  }

  report(): DataQualityReport {
    const bars = this.end - this.start;
    return {
      ...this.columns.report,
      bars,
      first: bars > 0 ? (this.columns.time[this.start] as number) : undefined,
      last: bars > 0 ? (this.columns.time[this.end - 1] as number) : undefined,
      filtered: this.columns.report.filtered + (this.columns.length - bars),
    };
  }

  async *batches(): AsyncGenerator<CandleBatch> {
    const size = this.range.batchSize ?? 8192;
    this.handedOut = 0;
    for (let from = this.start; from < this.end; from += size) {
      const to = Math.min(this.end, from + size);
      this.handedOut += to - from;
      const columns = this.columns;
      yield {
        length: to - from,
        time: columns.time.subarray(from, to),
        open: columns.open.subarray(from, to),
        high: columns.high.subarray(from, to),
        low: columns.low.subarray(from, to),
        close: columns.close.subarray(from, to),
        volume: columns.volume.subarray(from, to),
      };
    }
  }
}
