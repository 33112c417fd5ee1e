import { fileURLToPath } from 'node:url';
import { CandleFile, loadAllCandles, loadFunding } from '@perpkit/backtest';
import type { Candle } from '@perpkit/core';

const DATA = new URL('../../../../shared/data/', import.meta.url);
const at = (relative: string) => fileURLToPath(new URL(relative, DATA));

/** Bybit USDT-perpetual BTC, 1-minute bars (43 200 bars, ISO times). Real data. */
export const BYBIT_BTC_1M = at('cobra0506-bybit-linear/BTCUSDT_1m.csv');
/** Binance USDT-M BTC, 1-hour klines (13 848 bars, epoch ms). Real data. */
export const BINANCE_BTC_1H = at('gg-cmk-binance-quant/BTCUSDT-1h-futures.csv');
/** Binance USDT-M BTC funding settlements, per 8 h. Real data. */
export const BINANCE_BTC_FUNDING = at('gg-cmk-binance-quant/BTCUSDT-funding.csv');

/** The first `limit` bars of a shared candle file, through the backtester's own loader. */
export async function readCandles(path: string, limit = Number.POSITIVE_INFINITY): Promise<Candle[]> {
  return (await loadAllCandles(new CandleFile({ path }).batches())).slice(0, limit);
}

/** Funding settlements (times floored to the second, rate per the venue's interval). */
export async function readFunding(path: string): Promise<readonly { time: number; rate: number }[]> {
  return (await loadFunding({ path })).points;
}
