import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Candle } from '@perpkit/core';

/** The shared real market data, beside the repository (see ../shared/data/README.md). */
export const SHARED_DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

/**
 * Reads a `timestamp,open,high,low,close,volume,...` CSV with epoch-ms bar open times (the
 * gravestone layout). The gravestone files end with an unfinished bar: `dropLast` removes it.
 */
export function loadCandles(relativePath: string, options: { dropLast?: boolean } = {}): Candle[] {
  const [header, ...rows] = readFileSync(SHARED_DATA + relativePath, 'utf8')
    .trim()
    .split('\n');
  const columns = (header as string).split(',');
  const index = (name: string) => {
    const found = columns.indexOf(name);
    if (found < 0) throw new Error(`${relativePath} has no column ${name}`);
    return found;
  };
  const [time, open, high, low, close, volume] = ['timestamp', 'open', 'high', 'low', 'close', 'volume'].map(
    index,
  );
  const candles = rows.map((row) => {
    const cells = row.split(',');
    return {
      timestamp: Number(cells[time as number]),
      open: Number(cells[open as number]),
      high: Number(cells[high as number]),
      low: Number(cells[low as number]),
      close: Number(cells[close as number]),
      volume: Number(cells[volume as number]),
    };
  });
  return options.dropLast ? candles.slice(0, -1) : candles;
}

/** Reads a `timestamp,symbol,funding_rate` CSV (per 8h); times are floored to the second. */
export function loadFunding(relativePath: string): { time: number; rate: number }[] {
  const [, ...rows] = readFileSync(SHARED_DATA + relativePath, 'utf8')
    .trim()
    .split('\n');
  return rows.map((row) => {
    const [time, , rate] = row.split(',');
    return { time: Math.floor(Number(time) / 1000) * 1000, rate: Number(rate) };
  });
}
