import { readFileSync } from 'node:fs';
import type { Candle } from '@perpkit/core';

/** The shared Bybit 1m BTC file (real data), read by relative path. */
export const BYBIT_BTC_1M = new URL(
  '../../../../shared/data/cobra0506-bybit-linear/BTCUSDT_1m.csv',
  import.meta.url,
);

/** Reads `timestamp,open,high,low,close,volume` rows with ISO times. Enough for tests. */
export function readCandles(url: URL, limit = Number.POSITIVE_INFINITY): Candle[] {
  const lines = readFileSync(url, 'utf8')
    .trim()
    .split('\n')
    .slice(1, limit + 1);
  return lines.map((line) => {
    const [time, open, high, low, close, volume] = line.split(',');
    return {
      timestamp: Date.parse((time as string).replace(' ', 'T')),
      open: Number(open),
      high: Number(high),
      low: Number(low),
      close: Number(close),
      volume: Number(volume),
    };
  });
}
