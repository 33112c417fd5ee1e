import { Worker } from 'node:worker_threads';
import { type ComponentSpec, parsePluginOptions, type Strategy } from '@perpkit/core';
import smaCross from 'perpkit-strategy-sma-cross';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../src/backtest';
import { ColumnCandleSource, loadCandleColumns } from '../src/candle-columns';
import { CandleFile, loadAllCandles } from '../src/candles';
import { at } from './data';

const BYBIT_BTC_1M = at('cobra0506-bybit-linear/BTCUSDT_1m.csv');

const venue = {
  id: 'sim',
  sim: {
    fillModel: 'next-open' as const,
    slippage: 0,
    fees: { maker: 0.0005, taker: 0.0005 },
    defaultFundingRatePerHour: 0,
    markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 100 }],
    accounts: [{ id: 'main', balance: 1_000_000 }],
  },
};

function sma(fast: number, slow: number): ComponentSpec<Strategy> {
  const options = parsePluginOptions(smaCross, { exchange: 'sim', symbol: 'BTC', fast, slow, quantity: 1 });
  return { id: 'sma-cross', create: (context) => smaCross.setup(context, options) };
}

describe('candle columns in memory', () => {
  it('hold every bar of the file, in SharedArrayBuffers', async () => {
    const columns = await loadCandleColumns({ path: BYBIT_BTC_1M });
    const bars = await loadAllCandles(new CandleFile({ path: BYBIT_BTC_1M }).batches());
    expect(columns.length).toBe(bars.length);
    expect(columns.time.buffer).toBeInstanceOf(SharedArrayBuffer);
    const last = bars.length - 1;
    expect([columns.time[last], columns.open[last], columns.close[last], columns.volume[last]]).toEqual([
      bars[last]?.timestamp,
      bars[last]?.open,
      bars[last]?.close,
      bars[last]?.volume,
    ]);
    expect(columns.interval).toBe(60_000);
    expect(columns.report.bars).toBe(bars.length);
  });

  it('a backtest on columns trades exactly as one on the file, for a whole file and for a range', async () => {
    const columns = await loadCandleColumns({ path: BYBIT_BTC_1M });
    const from = (columns.time[5_000] as number) + 1; // not on a bar: the next bar is the first
    const to = columns.time[20_000] as number;
    for (const range of [{}, { from, to }]) {
      const fromFile = await runBacktest({
        venues: [venue],
        instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: BYBIT_BTC_1M, ...range } }],
        strategies: [sma(10, 30)],
      });
      const fromColumns = await runBacktest({
        venues: [venue],
        instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { memory: columns, ...range } }],
        strategies: [sma(10, 30)],
      });
      expect(fromColumns.summary.trades).toBeGreaterThan(10);
      expect(fromColumns.summary.bars).toBe(fromFile.summary.bars);
      expect(fromColumns.summary.tradeListHash).toBe(fromFile.summary.tradeListHash);
      expect(fromColumns.summary.finalEquity).toBe(fromFile.summary.finalEquity);
      expect(fromColumns.data.candles[0]?.first).toBe(fromFile.data.candles[0]?.first);
    }
  });

  it('a range that holds no bar yields none; progress counts bars', async () => {
    const columns = await loadCandleColumns({ path: BYBIT_BTC_1M });
    const empty = new ColumnCandleSource(columns, { from: 0, to: 1 });
    expect(empty.totalBytes).toBe(0);
    let batches = 0;
    for await (const _ of empty.batches()) batches += 1;
    expect(batches).toBe(0);
    const some = new ColumnCandleSource(columns, { to: columns.time[100] as number, batchSize: 30 });
    const lengths: number[] = [];
    for await (const batch of some.batches()) lengths.push(batch.length);
    expect(lengths).toEqual([30, 30, 30, 10]);
    expect(some.bytesParsed).toBe(100);
  });

  it('a worker thread reads the same memory, not a copy', async () => {
    const columns = await loadCandleColumns({ path: BYBIT_BTC_1M });
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       workerData.close[0] = -1;
       parentPort.postMessage('written');`,
      { eval: true, workerData: columns },
    );
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(columns.close[0]).toBe(-1);
  });

  it('resamples once at load time', async () => {
    const hourly = await loadCandleColumns({ path: BYBIT_BTC_1M }, { resample: '1h' });
    expect(hourly.interval).toBe(3_600_000);
    expect((hourly.time[1] as number) - (hourly.time[0] as number)).toBe(3_600_000);
    expect((hourly.time[0] as number) % 3_600_000).toBe(0);
  });
});
