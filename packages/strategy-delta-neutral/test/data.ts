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

/**
 * Reads a `timestamp,open,high,low,close,volume` CSV with ISO times (the Bybit layout) and
 * aggregates it into bars of `intervalMs` aligned to the epoch (first open, highest high, lowest
 * low, last close, summed volume). Buckets missing source bars are kept as they are.
 */
export function loadIsoCandles(relativePath: string, intervalMs: number): Candle[] {
  const [, ...rows] = readFileSync(SHARED_DATA + relativePath, 'utf8')
    .trim()
    .split('\n');
  const buckets = new Map<number, Candle>();
  for (const row of rows) {
    const [time, open, high, low, close, volume] = row.split(',');
    const timestamp = Date.parse((time as string).replace(' ', 'T'));
    const bucket = Math.floor(timestamp / intervalMs) * intervalMs;
    const existing = buckets.get(bucket);
    if (!existing) {
      buckets.set(bucket, {
        timestamp: bucket,
        open: Number(open),
        high: Number(high),
        low: Number(low),
        close: Number(close),
        volume: Number(volume),
      });
    } else {
      buckets.set(bucket, {
        ...existing,
        high: Math.max(existing.high, Number(high)),
        low: Math.min(existing.low, Number(low)),
        close: Number(close),
        volume: existing.volume + Number(volume),
      });
    }
  }
  return [...buckets.values()].sort((a, b) => a.timestamp - b.timestamp);
}

/** Reads the Binance layout (`openTime,open,high,low,close,volume,...`, epoch ms). */
export function loadBinanceKlines(relativePath: string): Candle[] {
  const [, ...rows] = readFileSync(SHARED_DATA + relativePath, 'utf8')
    .trim()
    .split('\n');
  return rows.map((row) => {
    const [time, open, high, low, close, volume] = row.split(',');
    return {
      timestamp: Number(time),
      open: Number(open),
      high: Number(high),
      low: Number(low),
      close: Number(close),
      volume: Number(volume),
    };
  });
}

/** Reads Binance funding (`fundingTime,fundingIntervalHours,fundingRate`); times floored to the second. */
export function loadBinanceFunding(relativePath: string): { time: number; rate: number }[] {
  const [, ...rows] = readFileSync(SHARED_DATA + relativePath, 'utf8')
    .trim()
    .split('\n');
  return rows.map((row) => {
    const [time, , rate] = row.split(',');
    return { time: Math.floor(Number(time) / 1000) * 1000, rate: Number(rate) };
  });
}
