/**
 * Monte Carlo of the trade sequence: how much of a backtest's result is the luck of the order (and
 * the particular set) of its trades. `shuffle` permutes the trades, so the final PnL never changes
 * but the drawdown path does; `bootstrap` resamples trades with replacement, so both vary.
 */
import { PerpkitError } from '@perpkit/core';
import { createRandom } from './random';

export interface MonteCarloOptions {
  /** Number of simulated sequences. Default 1000. */
  runs?: number;
  method: 'shuffle' | 'bootstrap';
  /** Central probability of the intervals. Default 0.95 (2.5th to 97.5th percentile). */
  confidence?: number;
  seed: number;
}

/** `lower`/`upper` are the (1 ∓ confidence)/2 quantiles; see `quantile` for the definition. */
export interface Interval {
  mean: number;
  median: number;
  lower: number;
  upper: number;
}

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

export interface MonteCarloResult {
  method: 'shuffle' | 'bootstrap';
  runs: number;
  trades: number;
  confidence: number;
  /** The sequence as traded. */
  original: { netPnl: number; maxDrawdown: number };
  netPnl: Interval;
  /** Largest fall from a running equity peak along each path, as a fraction of that peak. */
  maxDrawdown: Interval;
  /** netPnl / startingEquity. */
  finalReturn: Interval;
  /** Fraction of runs that end below the starting equity. */
  probabilityOfLoss: number;
  histogram: { netPnl: HistogramBin[]; maxDrawdown: HistogramBin[] };
}

const HISTOGRAM_BINS = 20;

/**
 * Quantile of sorted values by linear interpolation between order statistics (Hyndman & Fan type 7,
 * the default of R and NumPy): position h = (n − 1)·p, value v[⌊h⌋] + (h − ⌊h⌋)(v[⌊h⌋+1] − v[⌊h⌋]).
 * When both neighbours are equal the result is exactly that value.
 */
export function quantile(sorted: ArrayLike<number>, probability: number): number {
  if (sorted.length === 0) return 0;
  const position = (sorted.length - 1) * probability;
  const below = Math.floor(position);
  const low = sorted[below] as number;
  const high = sorted[Math.min(sorted.length - 1, below + 1)] as number;
  return low === high ? low : low + (position - below) * (high - low);
}

function interval(values: Float64Array, confidence: number): Interval {
  const sorted = Float64Array.from(values).sort();
  // Summing offsets from the smallest value keeps the mean exact when every run is equal.
  const base = sorted[0] ?? 0;
  let offsets = 0;
  for (const value of sorted) offsets += value - base;
  return {
    mean: sorted.length === 0 ? 0 : base + offsets / sorted.length,
    median: quantile(sorted, 0.5),
    lower: quantile(sorted, (1 - confidence) / 2),
    upper: quantile(sorted, (1 + confidence) / 2),
  };
}

/** Equal-width bins over [min, max]; the last bin includes max. A single bin when all values are equal. */
export function histogram(values: ArrayLike<number>, bins = HISTOGRAM_BINS): HistogramBin[] {
  if (values.length === 0) return [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < values.length; index++) {
    const value = values[index] as number;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (min === max) return [{ from: min, to: max, count: values.length }];
  const width = (max - min) / bins;
  const result = Array.from({ length: bins }, (_, index) => ({
    from: min + index * width,
    to: index === bins - 1 ? max : min + (index + 1) * width,
    count: 0,
  }));
  for (let index = 0; index < values.length; index++) {
    const bin = Math.min(bins - 1, Math.floor(((values[index] as number) - min) / width));
    (result[bin] as HistogramBin).count++;
  }
  return result;
}

/** Max drawdown fraction of the equity path starting at `startingEquity` (peak includes the start). */
function pathDrawdown(pnls: ArrayLike<number>, startingEquity: number): number {
  let equity = startingEquity;
  let peak = startingEquity;
  let worst = 0;
  for (let index = 0; index < pnls.length; index++) {
    equity += pnls[index] as number;
    if (equity > peak) peak = equity;
    else {
      const drawdown = (peak - equity) / peak;
      if (drawdown > worst) worst = drawdown;
    }
  }
  return worst;
}

const invalid = (message: string) => new PerpkitError('INVALID_ARGUMENT', message);

export function monteCarlo(
  tradePnls: ArrayLike<number>,
  startingEquity: number,
  options: MonteCarloOptions,
): MonteCarloResult {
  const { method, seed } = options;
  const runs = options.runs ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (method !== 'shuffle' && method !== 'bootstrap')
    throw invalid(`monteCarlo.method must be shuffle or bootstrap, got ${String(method)}`);
  if (!(Number.isInteger(runs) && runs >= 1))
    throw invalid(`monteCarlo.runs must be a positive integer, got ${runs}`);
  if (!(confidence > 0 && confidence < 1))
    throw invalid(`monteCarlo.confidence must be in (0, 1), got ${confidence}`);
  if (!(Number.isFinite(startingEquity) && startingEquity > 0))
    throw invalid(`starting equity must be a positive number, got ${startingEquity}`);
  const trades = Float64Array.from(tradePnls);
  for (const [index, pnl] of trades.entries())
    if (!Number.isFinite(pnl)) throw invalid(`trade ${index} has a non-finite PnL (${pnl})`);

  const random = createRandom(seed);
  const count = trades.length;
  const path = Float64Array.from(trades);
  const netPnls = new Float64Array(runs);
  const drawdowns = new Float64Array(runs);
  const returns = new Float64Array(runs);
  let losses = 0;
  for (let run = 0; run < runs; run++) {
    if (method === 'shuffle') {
      // Fisher–Yates; permuting the previous permutation is still uniform.
      for (let index = count - 1; index > 0; index--) {
        const other = Math.floor(random() * (index + 1));
        const held = path[index] as number;
        path[index] = path[other] as number;
        path[other] = held;
      }
    } else {
      for (let index = 0; index < count; index++)
        path[index] = trades[Math.floor(random() * count)] as number;
    }
    let netPnl = 0;
    for (const pnl of path) netPnl += pnl;
    netPnls[run] = netPnl;
    drawdowns[run] = pathDrawdown(path, startingEquity);
    returns[run] = netPnl / startingEquity;
    if (netPnl < 0) losses++;
  }

  let originalNetPnl = 0;
  for (const pnl of trades) originalNetPnl += pnl;
  return {
    method,
    runs,
    trades: count,
    confidence,
    original: { netPnl: originalNetPnl, maxDrawdown: pathDrawdown(trades, startingEquity) },
    netPnl: interval(netPnls, confidence),
    maxDrawdown: interval(drawdowns, confidence),
    finalReturn: interval(returns, confidence),
    probabilityOfLoss: losses / runs,
    histogram: { netPnl: histogram(netPnls), maxDrawdown: histogram(drawdowns) },
  };
}
