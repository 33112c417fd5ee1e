import { readFileSync } from 'node:fs';
import { roundToStepNumber } from '@perpkit/core';
import { createRandom } from '@perpkit/sim';

/** A source of mid prices, one per tick of the simulator. */
export interface PriceFeed {
  next(): number;
  /** Continues from `price` (a market moved on purpose goes on from there, not from its old path). */
  moveTo(price: number): void;
}

/** A seeded geometric random walk: the same seed gives the same path. */
export function randomWalk(start: number, volatility: number, seed: number): PriceFeed {
  const random = createRandom(seed);
  let price = start;
  return {
    next() {
      // Box–Muller from the seeded generator.
      const u = Math.max(random(), 1e-12);
      const v = random();
      const gaussian = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      price *= Math.exp(volatility * gaussian);
      return price;
    },
    moveTo(target) {
      price = target;
    },
  };
}

export interface CandleRow {
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

const TIME_COLUMNS = ['timestamp', 'opentime', 'open_time', 'time', 't'];

/**
 * Reads a candle CSV with a header (the layouts in `../shared/data`: `timestamp,open,high,low,close,...`
 * or Binance's `openTime,open,high,low,close,...`). Rows that do not parse are skipped.
 */
export function readCandleCsv(path: string): CandleRow[] {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((name) => name.trim().toLowerCase());
  const column = (names: string[]) => header.findIndex((name) => names.includes(name));
  const time = column(TIME_COLUMNS);
  const open = column(['open', 'o']);
  const high = column(['high', 'h']);
  const low = column(['low', 'l']);
  const close = column(['close', 'c']);
  if ([time, open, high, low, close].some((index) => index < 0))
    throw new Error(`${path}: expected a header with a time column and open, high, low, close`);
  const rows: CandleRow[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const row = {
      time: Number(cells[time]),
      open: Number(cells[open]),
      high: Number(cells[high]),
      low: Number(cells[low]),
      close: Number(cells[close]),
    };
    if (Object.values(row).every((value) => Number.isFinite(value)) && row.low > 0) rows.push(row);
  }
  if (rows.length === 0) throw new Error(`${path}: no candles`);
  return rows;
}

/**
 * Replays candles as a price path: each bar gives four points, open, the extreme nearer the open,
 * the other extreme, close. Loops at the end. `scale` multiplies every price (to put a BTC path
 * under another market's price level).
 */
export function candleReplay(rows: readonly CandleRow[], scale = 1): PriceFeed {
  const path: number[] = [];
  for (const row of rows) {
    const highFirst = row.high - row.open < row.open - row.low;
    path.push(row.open, highFirst ? row.high : row.low, highFirst ? row.low : row.high, row.close);
  }
  let index = 0;
  let last = (path[0] ?? 1) * scale;
  return {
    next() {
      last = (path[index % path.length] as number) * scale;
      index += 1;
      return last;
    },
    moveTo(target) {
      // The replay keeps its shape, rescaled so that its current level is the target.
      if (last > 0 && target > 0) {
        scale *= target / last;
        last = target;
      }
    },
  };
}

export interface BookShape {
  readonly tickSize: string;
  readonly lotSize: string;
  /** Levels per side. Pacifica shows up to 10. */
  readonly levels: number;
  /** Notional per level (USD), growing by one step per level away from the touch. */
  readonly levelNotional: number;
  /** Half the spread as a fraction of the mid (at least one tick). */
  readonly halfSpread: number;
}

/** An L2 book around a mid: prices on the tick, sizes on the lot, bids below asks. */
export function bookAround(
  mid: number,
  shape: BookShape,
): { bids: [number, number][]; asks: [number, number][] } {
  const tick = Number(shape.tickSize);
  const half = Math.max(tick, mid * shape.halfSpread);
  const bestBid = roundToStepNumber(mid - half, shape.tickSize, 'floor');
  const bestAsk = Math.max(roundToStepNumber(mid + half, shape.tickSize, 'ceil'), bestBid + tick);
  const stepTicks = Math.max(1, Math.round((mid * shape.halfSpread) / tick));
  const bids: [number, number][] = [];
  const asks: [number, number][] = [];
  for (let level = 0; level < shape.levels; level += 1) {
    const size = roundToStepNumber((shape.levelNotional * (1 + level)) / mid, shape.lotSize, 'ceil');
    const bid = roundToStepNumber(bestBid - level * stepTicks * tick, shape.tickSize, 'nearest');
    const ask = roundToStepNumber(bestAsk + level * stepTicks * tick, shape.tickSize, 'nearest');
    if (bid > 0) bids.push([bid, size]);
    asks.push([ask, size]);
  }
  return { bids, asks };
}
