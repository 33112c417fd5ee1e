/**
 * Time to evaluate the exit stack for 10 open pairs (target: under 150 µs).
 * Run: pnpm --filter @perpkit/strategy-funding-arb bench
 *
 * Ten assets, each a long on `alpha` (8h funding) against a short on `beta` (1h funding), on two
 * simulated venues behind a real engine, with a week of hourly spread history so every rule has
 * its data (the z-score reads 168 samples). Nothing fires, so every rule of every pair runs: the
 * worst case. Timed: `evaluateExits(state)` (build each pair's subject from engine state, run the
 * nine rules) and the strategy's whole `onCycle` with 10 open pairs.
 */
import { Engine, parsePluginOptions, SimulatedClock } from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import fundingArb, { type FundingArbStrategy } from '../src/index';

const HOUR = 3_600_000;
const ASSETS = Array.from({ length: 10 }, (_, index) => `A${index}`);

async function setup() {
  const clock = new SimulatedClock(Date.UTC(2026, 0, 5));
  const venue = (id: string, fundingIntervalHours: number) =>
    new SimExchange(
      {
        fillModel: 'mark',
        slippage: 0,
        defaultFundingRatePerHour: 0,
        markets: ASSETS.map((symbol) => ({
          symbol,
          tickSize: '0.01',
          lotSize: '0.001',
          minNotional: 1,
          maxLeverage: 20,
          fundingIntervalHours,
        })),
        accounts: [{ id: 'main', balance: 10_000_000 }],
      },
      { id, clock },
    );
  const alpha = venue('alpha', 8);
  const beta = venue('beta', 1);
  const options = parsePluginOptions(fundingArb, {
    markets: ASSETS.map((asset) => ({
      asset,
      venues: [
        { exchange: 'alpha', symbol: asset },
        { exchange: 'beta', symbol: asset },
      ],
    })),
    maxOpenPairs: 10,
    entry: { maxNotional: 10_000, lookbackHours: 1, feeAssumption: 'maker', fallbackSlippageBps: 1 },
    execution: { makerTimeout: '2h' },
    exits: {
      takeProfit: { netPnlBps: 10_000 },
      velocity: { dropApyPerHour: 100 },
      zScore: { threshold: 50, window: 168, minSamples: 48 },
    },
  });
  let strategy: FundingArbStrategy | undefined;
  const engine = new Engine({
    mode: 'backtest',
    clock,
    exchanges: [alpha, beta],
    strategies: [
      {
        id: 'arb',
        create: (context) => {
          strategy = fundingArb.setup(context, options) as FundingArbStrategy;
          return strategy;
        },
      },
    ],
    accountRefreshMs: 0,
    accountEventIntervalMs: 0,
  });
  const feed = (hour: number) => {
    for (const symbol of ASSETS) {
      // Marks swing a little each hour so resting makers fill; beta's rate wobbles around 0.01 %/h.
      const swing = hour % 2 === 0 ? 0 : 0.3;
      alpha.processTicker({ symbol, mark: 100 - swing, timestamp: clock.now() });
      beta.processTicker({ symbol, mark: 100 + swing, timestamp: clock.now() });
      alpha.processFundingRate(symbol, 0.0001);
      beta.processFundingRate(symbol, 0.0001 + 0.00001 * Math.sin(hour / 5));
    }
  };
  feed(0);
  await engine.init();
  for (let hour = 1; hour <= 200; hour += 1) {
    clock.advance(HOUR);
    feed(hour);
    await engine.runCycle();
  }
  return { engine, strategy: strategy as FundingArbStrategy };
}

function time(name: string, iterations: number, run: () => void): void {
  for (let warm = 0; warm < 2_000; warm += 1) run();
  const samples = new Float64Array(iterations);
  for (let index = 0; index < iterations; index += 1) {
    const started = process.hrtime.bigint();
    run();
    samples[index] = Number(process.hrtime.bigint() - started) / 1000;
  }
  samples.sort();
  const at = (share: number) =>
    (samples[Math.min(iterations - 1, Math.floor(share * iterations))] as number).toFixed(1);
  console.log(
    `${name.padEnd(58)} min ${at(0).padStart(6)} µs  median ${at(0.5).padStart(6)} µs  p99 ${at(0.99).padStart(8)} µs  (${iterations.toLocaleString('en-US')} runs)`,
  );
}

const { engine, strategy } = await setup();
const open = strategy.pairs().filter((pair) => pair.status === 'OPEN');
if (open.length !== 10) throw new Error(`expected 10 open pairs, got ${open.length}`);
if (strategy.evaluateExits(engine.state).length !== 0)
  throw new Error('an exit fired: the bench needs every rule to run');
console.log(
  `10 open pairs, ${strategy.spreadSamples('A0', 'alpha', 'beta').length} hourly samples each; 9 rules per pair`,
);
time('exit stack, 10 open pairs (subjects from engine state)', 20_000, () => {
  strategy.evaluateExits(engine.state);
});
time('strategy onCycle with 10 open pairs (no signal)', 20_000, () => {
  strategy.onCycle(engine.state);
});
// The same clock-reading harness around a fixed amount of arithmetic: on a shared, loaded machine
// the tail (p99) is the scheduler's, not the code's; compare the medians.
let sink = 0;
time('calibration: 20 000 square roots', 20_000, () => {
  for (let index = 0; index < 20_000; index += 1) sink += Math.sqrt(index);
});
if (sink < 0) console.log(sink);
