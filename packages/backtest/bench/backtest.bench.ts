/**
 * Backtest throughput and memory.
 *   1. bars/s for the SMA example on the Bybit BTC 1m file (43 200 bars);
 *   2. bars/s for a 10-instrument run on one clock;
 *   3. peak memory for runs over 250k and 1M bars (synthetic random walk, streamed from disk).
 * Run: pnpm --filter @perpkit/backtest bench
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ComponentSpec, parsePluginOptions, type Strategy } from '@perpkit/core';
import { createRandom } from '@perpkit/sim';
import smaCross from 'perpkit-strategy-sma-cross';
import { type BacktestInstrument, runBacktest } from '../src/index';

const DATA = path.resolve(import.meta.dirname, '../../../../shared/data');
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const format = (value: number) => Math.round(value).toLocaleString('en-US');

function sma(exchange: string, symbol: string, quantity: number): ComponentSpec<Strategy> {
  const options = parsePluginOptions(smaCross, { exchange, symbol, fast: 10, slow: 30, quantity });
  return { id: `sma-${symbol}`, create: (context) => smaCross.setup(context, options) };
}

const market = (symbol: string) => ({ symbol, tickSize: '0.0001', lotSize: '0.001', maxLeverage: 100 });
const venue = (symbols: string[]) => ({
  id: 'sim',
  sim: {
    fillModel: 'next-open' as const,
    slippage: 0,
    fees: { maker: 0.0005, taker: 0.0005 },
    defaultFundingRatePerHour: 0,
    markets: symbols.map(market),
    accounts: [{ id: 'main', balance: 1e9 }],
  },
});

async function smaExample() {
  const instruments: BacktestInstrument[] = [
    { exchange: 'sim', symbol: 'BTC', candles: { path: `${DATA}/cobra0506-bybit-linear/BTCUSDT_1m.csv` } },
  ];
  const engine: number[] = [];
  const wall: number[] = [];
  let hash = '';
  for (let run = 0; run < 13; run += 1) {
    const started = performance.now();
    const { summary } = await runBacktest({
      venues: [venue(['BTC'])],
      instruments,
      strategies: [sma('sim', 'BTC', 1)],
    });
    if (run < 3) continue; // JIT warm-up
    engine.push(summary.barsPerSecond);
    wall.push((summary.bars / (performance.now() - started)) * 1000);
    hash = summary.tradeListHash;
  }
  console.log(
    `SMA example, Bybit BTC 1m (43,200 bars): ${format(median(engine))} bars/s in the engine, ${format(median(wall))} bars/s end to end incl. CSV parsing (median of 10 warm runs; hash ${hash.slice(0, 12)})`,
  );
}

async function tenInstruments() {
  const files: [string, string][] = [
    ['BTC1', 'cobra0506-bybit-linear/BTCUSDT_1m.csv'],
    ['ETH1', 'cobra0506-bybit-linear/ETHUSDT_1m.csv'],
    ['SOL1', 'cobra0506-bybit-linear/SOLUSDT_1m.csv'],
    ['BTC5', 'cobra0506-bybit-linear/BTCUSDT_5m.csv'],
    ['ETH5', 'cobra0506-bybit-linear/ETHUSDT_5m.csv'],
    ['SOL5', 'cobra0506-bybit-linear/SOLUSDT_5m.csv'],
    ['BTCH', 'silertrades-gravestone-data/BTCUSDT-1h.csv'],
    ['ETHH', 'silertrades-gravestone-data/ETHUSDT-1h.csv'],
    ['SOLH', 'silertrades-gravestone-data/SOLUSDT-1h.csv'],
    ['BTCB', 'gg-cmk-binance-quant/BTCUSDT-1h-futures.csv'],
  ];
  const instruments: BacktestInstrument[] = files.map(([symbol, file]) => ({
    exchange: 'sim',
    symbol,
    candles: { path: `${DATA}/${file}` },
  }));
  const rates: number[] = [];
  let bars = 0;
  for (let run = 0; run < 5; run += 1) {
    const { summary } = await runBacktest({
      venues: [venue(files.map(([symbol]) => symbol))],
      instruments,
      strategies: files.map(([symbol]) => sma('sim', symbol, 0.01)),
    });
    bars = summary.bars;
    if (run >= 1) rates.push(summary.barsPerSecond);
  }
  console.log(
    `10 instruments on one clock (${format(bars)} bars, 10 SMA strategies): ${format(median(rates))} bars/s in the engine`,
  );
}

async function writeRandomWalk(file: string, bars: number) {
  const random = createRandom(42);
  const out = createWriteStream(file);
  out.write('timestamp,open,high,low,close,volume\n');
  let price = 50_000;
  let chunk = '';
  const start = Date.UTC(2020, 0, 1);
  for (let index = 0; index < bars; index += 1) {
    const open = price;
    const close = Math.max(100, Math.round(open * (1 + (random() - 0.5) * 0.004) * 10) / 10);
    const high = Math.round(Math.max(open, close) * (1 + random() * 0.001) * 10) / 10;
    const low = Math.round(Math.min(open, close) * (1 - random() * 0.001) * 10) / 10;
    chunk += `${start + index * 60_000},${open},${high},${low},${close},${Math.round(random() * 1000) / 10}\n`;
    price = close;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((resolve) => out.once('finish', () => resolve()));
}

async function memory() {
  const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-bench-'));
  try {
    for (const bars of [250_000, 1_000_000]) {
      const file = path.join(dir, `walk-${bars}.csv`);
      await writeRandomWalk(file, bars);
      globalThis.gc?.();
      const baseline = process.memoryUsage().heapUsed;
      let peakHeap = baseline;
      let peakRss = process.memoryUsage().rss;
      const timer = setInterval(() => {
        const usage = process.memoryUsage();
        peakHeap = Math.max(peakHeap, usage.heapUsed);
        peakRss = Math.max(peakRss, usage.rss);
      }, 5);
      const { summary } = await runBacktest({
        venues: [venue(['BTC'])],
        instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: file } }],
        strategies: [sma('sim', 'BTC', 1)],
        onProgress: () => {
          const usage = process.memoryUsage();
          peakHeap = Math.max(peakHeap, usage.heapUsed);
          peakRss = Math.max(peakRss, usage.rss);
        },
      });
      clearInterval(timer);
      globalThis.gc?.();
      const retained = process.memoryUsage().heapUsed - baseline;
      console.log(
        `${format(bars)} bars: peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, peak heap ${((peakHeap - baseline) / 2 ** 20).toFixed(1)} MiB above baseline (garbage included), retained after the run ${(retained / 2 ** 20).toFixed(1)} MiB (the result: ${format(summary.trades)} trades), ${format(summary.barsPerSecond)} bars/s`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`@perpkit/backtest benchmark (node ${process.version})`);
await smaExample();
await tenInstruments();
await memory();
