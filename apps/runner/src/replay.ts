import {
  type CandleBatch,
  CandleFile,
  type FileInstrument,
  intervalMs,
  loadFunding,
  resampleBatches,
} from '@perpkit/backtest';
import { type Clock, ConfigError, type Logger } from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';

/** One instrument's bars, read lazily, one bar at a time. */
class FeedCursor {
  private iterator: AsyncIterator<CandleBatch> | undefined;
  private batch: CandleBatch | undefined;
  private index = 0;
  private done = false;
  interval = 0;
  sim: SimExchange | undefined;

  constructor(readonly instrument: FileInstrument) {}

  private async open(): Promise<void> {
    const file = new CandleFile(this.instrument.candles);
    const resample = this.instrument.resample;
    if (resample !== undefined) {
      this.interval = intervalMs(resample);
      this.iterator = resampleBatches(file.batches(), this.interval)[Symbol.asyncIterator]();
    } else {
      const batches = file.batches();
      this.iterator = {
        next: async () => {
          const result = await batches.next();
          if (!result.done && this.interval === 0) this.interval = file.barInterval ?? 0;
          return result;
        },
      };
    }
  }

  /** Close time of the next bar, or undefined at the end of the data. */
  async peek(): Promise<number | undefined> {
    if (this.done) return undefined;
    if (!this.iterator) await this.open();
    while (!this.batch || this.index >= this.batch.length) {
      const next = await (this.iterator as AsyncIterator<CandleBatch>).next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      this.batch = next.value;
      this.index = 0;
    }
    if (this.interval === 0)
      throw new ConfigError(`cannot tell the bar interval of ${this.instrument.candles.path}: set interval`, {
        file: this.instrument.candles.path,
      });
    return (this.batch.time[this.index] as number) + this.interval;
  }

  /** Feeds the next bar to the simulated venue. */
  feed(): void {
    const batch = this.batch as CandleBatch;
    const index = this.index;
    (this.sim as SimExchange).processCandle(
      this.instrument.symbol,
      {
        timestamp: batch.time[index] as number,
        open: batch.open[index] as number,
        high: batch.high[index] as number,
        low: batch.low[index] as number,
        close: batch.close[index] as number,
        volume: batch.volume[index] as number,
      },
      this.interval,
    );
    this.index += 1;
  }

  skip(): void {
    this.index += 1;
  }
}

export interface ReplayProgress {
  readonly bars: number;
  /** Close time of the last bar fed. */
  readonly lastBarAt: number | undefined;
  readonly finished: boolean;
}

/**
 * Paper trading on recorded data: bars from candle files are fed to the simulated venues when the
 * (scaled) clock reaches each bar's close, so strategies see them as they would live. Bars from
 * several files interleave by close time. Funding histories become the venues' funding series.
 */
export class CandleReplay {
  private readonly cursors: FeedCursor[];
  private bars = 0;
  private lastBarAt: number | undefined;
  private finished = false;

  constructor(
    instruments: readonly FileInstrument[],
    private readonly logger: Logger,
  ) {
    this.cursors = instruments.map((instrument) => {
      if (instrument.marks)
        throw new ConfigError(
          'replay: mark-price files are for backtests; leave "marks" out of replay.data',
          {
            issues: [{ path: 'replay.data', message: 'marks is not supported in replay' }],
          },
        );
      return new FeedCursor(instrument);
    });
  }

  /** Connects each feed to its simulated venue and loads the funding histories into them. */
  async attach(sims: ReadonlyMap<string, SimExchange>): Promise<void> {
    for (const cursor of this.cursors) {
      const { exchange, symbol, funding } = cursor.instrument;
      const sim = sims.get(exchange);
      if (!sim)
        throw new ConfigError(
          `replay: exchange "${exchange}" is not a simulated venue; replayed data drives plugin: sim venues only`,
          { issues: [{ path: 'replay.data', message: `exchange ${exchange} must use plugin sim` }] },
        );
      cursor.sim = sim;
      if (funding) sim.setFundingSeries(symbol, (await loadFunding(funding)).points);
    }
  }

  get progress(): ReplayProgress {
    return { bars: this.bars, lastBarAt: this.lastBarAt, finished: this.finished };
  }

  /**
   * Skips bars that closed at or before `resumeAfter` (a restart), and
   * returns the close time of the first bar to play: where the replay clock starts.
   */
  async prepare(resumeAfter?: number): Promise<number> {
    let first: number | undefined;
    for (const cursor of this.cursors) {
      let next = await cursor.peek();
      while (next !== undefined && resumeAfter !== undefined && next <= resumeAfter) {
        cursor.skip();
        next = await cursor.peek();
      }
      if (next !== undefined && (first === undefined || next < first)) first = next;
    }
    if (first === undefined)
      throw new ConfigError(
        resumeAfter === undefined
          ? 'replay: the data files hold no bars in the chosen range'
          : `replay: no bars after ${new Date(resumeAfter).toISOString()}, where the last run stopped`,
        { issues: [{ path: 'replay.data', message: 'no bars to replay' }] },
      );
    return first;
  }

  /** Feeds every bar whose close time has come; call once before the engine starts. */
  async feedDue(now: number): Promise<void> {
    for (;;) {
      const cursor = await this.nextCursor();
      if (!cursor || cursor.time > now) return;
      cursor.cursor.feed();
      this.bars += 1;
      this.lastBarAt = cursor.time;
    }
  }

  /** Plays bars in time until the data ends (resolves true) or `signal` aborts (false). */
  async run(clock: Clock, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const next = await this.nextCursor();
      if (!next) {
        this.finished = true;
        this.logger.info('replay finished', { bars: this.bars, lastBarAt: this.lastBarAt });
        return true;
      }
      const wait = next.time - clock.now();
      if (wait > 0) await clock.sleep(wait, signal);
      // Behind the clock (a slow machine, a high speed): catch up, but let the engine, the HTTP
      // server and signals run between bars.
      else await new Promise((resolve) => setImmediate(resolve));
      if (signal.aborted) return false;
      next.cursor.feed();
      this.bars += 1;
      this.lastBarAt = next.time;
    }
  }

  private async nextCursor(): Promise<{ cursor: FeedCursor; time: number } | undefined> {
    let best: { cursor: FeedCursor; time: number } | undefined;
    for (const cursor of this.cursors) {
      const time = await cursor.peek();
      if (time !== undefined && (!best || time < best.time)) best = { cursor, time };
    }
    return best;
  }
}

/** Simulated venues among the composed exchanges, by id. */
export function simulatedVenues(exchanges: readonly { id: string }[]): Map<string, SimExchange> {
  const out = new Map<string, SimExchange>();
  for (const exchange of exchanges) if (exchange instanceof SimExchange) out.set(exchange.id, exchange);
  return out;
}
