/**
 * Backtest throughput and memory.
 *   1. bars/s for the SMA example on the Bybit BTC 1m file (43 200 bars);
 *   2. bars/s for a 10-instrument run on one clock (1m, 5m and 1h streams over one window);
 *   3. peak memory for runs over 250k, 1M and 2M bars (synthetic random walk, streamed from disk), each
 *      in a fresh process so one run's heap does not inflate the next.
 * Run: pnpm --filter @perpkit/backtest bench
 */
import { fork } from 'node:child_process';
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
      keepTrades: false,
    });
    if (run < 3) continue; // JIT warm-up
    engine.push(summary.barsPerSecond);
    wall.push((summary.bars / (performance.now() - started)) * 1000);
    hash = summary.tradeListHash;
  }
  console.log(
    `SMA example, Bybit BTC 1m (43,200 bars): ${format(median(engine))} bars/s in the engine (best ${format(Math.max(...engine))}), ${format(median(wall))} bars/s end to end incl. CSV parsing (best ${format(Math.max(...wall))}); median of 10 warm runs; hash ${hash.slice(0, 12)}`,
  );
}

async function tenInstruments() {
  // Ten streams over one common window, aligned on one clock by bar close: Bybit 1m and 5m for
  // BTC, ETH and SOL, the same 1m files resampled to 1h, and Binance's BTC 1h futures.
  const from = Date.parse('2025-05-31T00:00:00Z');
  const to = Date.parse('2025-06-29T00:00:00Z');
  const bybit = (coin: string, interval: string) =>
    `${DATA}/cobra0506-bybit-linear/${coin}USDT_${interval}.csv`;
  const instruments: BacktestInstrument[] = [];
  for (const coin of ['BTC', 'ETH', 'SOL']) {
    instruments.push({
      exchange: 'sim',
      symbol: `${coin}-1m`,
      candles: { path: bybit(coin, '1m'), from, to },
    });
    instruments.push({
      exchange: 'sim',
      symbol: `${coin}-5m`,
      candles: { path: bybit(coin, '5m'), from, to },
    });
    instruments.push({
      exchange: 'sim',
      symbol: `${coin}-1h`,
      candles: { path: bybit(coin, '1m'), from, to },
      resample: '1h',
    });
  }
  instruments.push({
    exchange: 'sim',
    symbol: 'BTC-binance-1h',
    candles: { path: `${DATA}/gg-cmk-binance-quant/BTCUSDT-1h-futures.csv`, from, to },
  });
  const symbols = instruments.map((instrument) => instrument.symbol);
  const rates: number[] = [];
  let summary: Awaited<ReturnType<typeof runBacktest>>['summary'] | undefined;
  for (let run = 0; run < 5; run += 1) {
    ({ summary } = await runBacktest({
      venues: [venue(symbols)],
      instruments,
      strategies: symbols.map((symbol) => sma('sim', symbol, 0.01)),
      keepTrades: false,
    }));
    if (run >= 1) rates.push(summary.barsPerSecond);
  }
  const result = summary as NonNullable<typeof summary>;
  console.log(
    `10 instruments on one clock, ${new Date(from).toISOString().slice(0, 10)} → ${new Date(to).toISOString().slice(0, 10)} (${format(result.bars)} bars, ${format(result.steps)} cycles, ${format(result.trades)} trades, 10 SMA strategies): ${format(median(rates))} bars/s in the engine (best ${format(Math.max(...rates))}; median of 4 warm runs)`,
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

/** One memory run, in this (fresh) process: prints a JSON line with the figures. */
async function memoryRun(file: string, bars: number) {
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  let peakHeap = baseline.heapUsed;
  let peakRss = baseline.rss;
  const sample = () => {
    const usage = process.memoryUsage();
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakRss = Math.max(peakRss, usage.rss);
  };
  const { summary } = await runBacktest({
    venues: [venue(['BTC'])],
    instruments: [{ exchange: 'sim', symbol: 'BTC', candles: { path: file } }],
    strategies: [sma('sim', 'BTC', 1)],
    keepTrades: false,
    onProgress: sample,
  });
  sample();
  globalThis.gc?.();
  const retained = process.memoryUsage().heapUsed - baseline.heapUsed;
  console.log(
    JSON.stringify({
      bars,
      peakRss: peakRss / 2 ** 20,
      baselineRss: baseline.rss / 2 ** 20,
      peakHeap: (peakHeap - baseline.heapUsed) / 2 ** 20,
      retained: retained / 2 ** 20,
      trades: summary.trades,
      barsPerSecond: summary.barsPerSecond,
    }),
  );
}

async function memory() {
  const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-bench-'));
  try {
    for (const bars of [250_000, 1_000_000, 2_000_000]) {
      const file = path.join(dir, `walk-${bars}.csv`);
      await writeRandomWalk(file, bars);
      const line = await new Promise<string>((resolve, reject) => {
        const child = fork(process.argv[1] as string, ['--memory-run', file, String(bars)], {
          stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
        });
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))));
      });
      const figures = JSON.parse(line.split('\n').at(-1) as string);
      console.log(
        `${format(bars)} bars (fresh process, trades not kept): peak RSS ${figures.peakRss.toFixed(0)} MiB (${figures.baselineRss.toFixed(0)} MiB at start), peak heap ${figures.peakHeap.toFixed(1)} MiB above baseline (garbage included), retained after the run ${figures.retained.toFixed(1)} MiB (${format(figures.trades)} trades), ${format(figures.barsPerSecond)} bars/s`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const memoryRunAt = process.argv.indexOf('--memory-run');
if (memoryRunAt >= 0) {
  await memoryRun(process.argv[memoryRunAt + 1] as string, Number(process.argv[memoryRunAt + 2]));
} else {
  console.log(`@perpkit/backtest benchmark (node ${process.version})`);
  await smaExample();
  await tenInstruments();
  await memory();
}
