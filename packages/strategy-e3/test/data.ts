import { readFileSync } from 'node:fs';
import type { Candle } from '@perpkit/core';

const DATA = new URL('../../../../shared/data/', import.meta.url);

/** Bybit USDT-perpetual BTC, 1-minute bars (43 200 bars, ISO times). Real data. */
export const BYBIT_BTC_1M = new URL('cobra0506-bybit-linear/BTCUSDT_1m.csv', DATA);
/** Binance USDT-M BTC, 1-hour klines (13 848 bars, epoch ms). Real data. */
export const BINANCE_BTC_1H = new URL('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv', DATA);
/** Binance USDT-M BTC funding settlements, per 8 h. Real data. */
export const BINANCE_BTC_FUNDING = new URL('gg-cmk-binance-quant/BTCUSDT-funding.csv', DATA);

/** Reads a candle CSV of the shared data: ISO `timestamp` or epoch-ms `openTime` first column. */
export function readCandles(url: URL, limit = Number.POSITIVE_INFINITY): Candle[] {
  const lines = readFileSync(url, 'utf8').trim().split('\n').slice(1);
  const candles: Candle[] = [];
  for (const line of lines) {
    if (candles.length >= limit) break;
    const [time, open, high, low, close, volume] = line.split(',');
    const timestamp = /^\d+$/.test(time as string)
      ? Number(time)
      : Date.parse((time as string).replace(' ', 'T'));
    candles.push({
      timestamp,
      open: Number(open),
      high: Number(high),
      low: Number(low),
      close: Number(close),
      volume: Number(volume),
    });
  }
  return candles;
}

/** Funding settlements as (time floored to the second, rate per 8 h). */
export function readFunding(url: URL): { time: number; rate: number }[] {
  return readFileSync(url, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [time, , rate] = line.split(',');
      return { time: Math.floor(Number(time) / 1000) * 1000, rate: Number(rate) };
    });
}
