/**
 * Feature-pipeline throughput on real data (Bybit BTCUSDT 1m, 43 200 bars).
 * Run: pnpm --filter @perpkit/features bench
 */
import { CandleRing, type OrderBook, type StateView, type Ticker } from '@perpkit/core';
import { defaultFeatureSettings, FeatureHub, FeaturePipeline } from '../src/index';
import { BYBIT_BTC_1M, readCandles } from '../test/data';

const candles = await readCandles(BYBIT_BTC_1M);
const PASSES = 20;

function measure(name: string, unit: string, count: number, run: () => void): void {
  run(); // warm up the JIT
  const started = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${name.padEnd(58)} ${Math.round(count / seconds)
      .toLocaleString('en-US')
      .padStart(12)} ${unit}/s  (${count.toLocaleString('en-US')} in ${(seconds * 1000).toFixed(0)} ms)`,
  );
}

let sink = 0;

// Bars only: every feature of the bar set (ATR, body/ATR, volume z, realized vol, regime) per bar.
measure('pipeline: bar update + snapshot', 'updates', candles.length * PASSES, () => {
  for (let pass = 0; pass < PASSES; pass += 1) {
    const pipeline = new FeaturePipeline('bench', 'BTC');
    for (const candle of candles) {
      pipeline.onBar(candle);
      sink += pipeline.snapshot(candle.timestamp + 60_000).bodyOverAtr ?? 0;
    }
  }
});

// Ticks: four book and ticker updates per bar, each followed by a snapshot (all eight features).
const TICKS = 4;
measure('pipeline: tick update (book + ticker) + snapshot', 'updates', candles.length * TICKS * 5, () => {
  for (let pass = 0; pass < 5; pass += 1) {
    const pipeline = new FeaturePipeline('bench', 'BTC');
    for (const candle of candles) {
      pipeline.onBar(candle);
      for (let tick = 0; tick < TICKS; tick += 1) {
        const mid = candle.open + ((candle.close - candle.open) * (tick + 1)) / TICKS;
        const at = candle.timestamp + tick * 15_000;
        const book: OrderBook = {
          exchange: 'bench',
          symbol: 'BTC',
          timestamp: at,
          bids: [
            [mid - 0.1, 2 + tick],
            [mid - 0.2, 3],
            [mid - 0.3, 4],
            [mid - 0.4, 5],
            [mid - 0.5, 6],
          ],
          asks: [
            [mid + 0.1, 3],
            [mid + 0.2, 3],
            [mid + 0.3, 4],
            [mid + 0.4, 5],
            [mid + 0.5, 6],
          ],
        };
        const ticker: Ticker = {
          exchange: 'bench',
          symbol: 'BTC',
          timestamp: at,
          mark: mid,
          index: mid * 0.9999,
        };
        pipeline.onOrderBook(book);
        pipeline.onTicker(ticker);
        pipeline.onFundingRate(0.0000125);
        sink += pipeline.snapshot(at).obImbalance ?? 0;
      }
    }
  }
});

// The engine path: the hub refreshing from a state view once per cycle, read by three strategies
// (two with the same settings, one with another ATR period) and an ATR exit rule.
function hubRun(): void {
  const ring = new CandleRing(500);
  let cycle = 0;
  let now = 0;
  const state = {
    get cycle() {
      return cycle;
    },
    get now() {
      return now;
    },
    candles: () => ring,
    orderBook: () => undefined,
    ticker: () => undefined,
    fundingRate: () => undefined,
  } as unknown as StateView;
  const hub = new FeatureHub();
  const first = hub.view('bench', 'BTC', defaultFeatureSettings());
  const second = hub.view('bench', 'BTC', defaultFeatureSettings());
  const third = hub.view('bench', 'BTC', defaultFeatureSettings({ atrPeriod: 30 }));
  const atr = hub.averageTrueRange('bench', 'BTC', 14);
  for (const candle of candles) {
    ring.push(candle);
    cycle += 1;
    now = candle.timestamp + 60_000;
    sink += first.read(state).volumeZ ?? 0;
    sink += second.read(state).volumeZ ?? 0;
    sink += third.read(state).atr ?? 0;
    sink += atr.read(state) ?? 0;
  }
}
measure('hub: one cycle, 3 strategies + 1 exit rule reading', 'cycles', candles.length * 5, () => {
  for (let pass = 0; pass < 5; pass += 1) hubRun();
});

if (sink === 42) console.log('');
