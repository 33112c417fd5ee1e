import { createHash } from 'node:crypto';
import type { ClosedTrade } from '@perpkit/core';

export const DAY_MS = 86_400_000;
export const YEAR_MS = 365 * DAY_MS;

/** Arithmetic mean; 0 for no values. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const average = mean(values);
  let squares = 0;
  for (const value of values) squares += (value - average) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/** Annualized Sharpe of periodic returns: mean / sample stdev × √periodsPerYear. Null when undefined. */
export function sharpeRatio(returns: readonly number[], periodsPerYear: number): number | null {
  const deviation = standardDeviation(returns);
  if (returns.length < 2 || deviation === 0) return null;
  return (mean(returns) / deviation) * Math.sqrt(periodsPerYear);
}

/**
 * Annualized Sortino: mean / downside deviation × √periodsPerYear, where the downside deviation
 * is √(Σ min(r, 0)² / n). Null when no period lost money.
 */
export function sortinoRatio(returns: readonly number[], periodsPerYear: number): number | null {
  if (returns.length < 2) return null;
  let squares = 0;
  for (const value of returns) if (value < 0) squares += value * value;
  if (squares === 0) return null;
  return (mean(returns) / Math.sqrt(squares / returns.length)) * Math.sqrt(periodsPerYear);
}

export interface Drawdown {
  /** Largest fall from a running peak, as a fraction of that peak (0.25 = 25 %). */
  readonly fraction: number;
  /** The same fall in quote units. */
  readonly amount: number;
  readonly peakTime: number | undefined;
  readonly troughTime: number | undefined;
}

export function maxDrawdown(points: readonly (readonly [time: number, equity: number])[]): Drawdown {
  let peak = Number.NEGATIVE_INFINITY;
  let peakTime: number | undefined;
  let best: Drawdown = { fraction: 0, amount: 0, peakTime: undefined, troughTime: undefined };
  for (const [time, equity] of points) {
    if (equity > peak) {
      peak = equity;
      peakTime = time;
    }
    const amount = peak - equity;
    const fraction = peak > 0 ? amount / peak : 0;
    if (fraction > best.fraction) best = { fraction, amount, peakTime, troughTime: time };
  }
  return best;
}

/** Compound annual growth rate over `durationMs`. */
export function cagr(startEquity: number, endEquity: number, durationMs: number): number {
  if (startEquity <= 0 || durationMs <= 0) return 0;
  if (endEquity <= 0) return -1;
  return (endEquity / startEquity) ** (YEAR_MS / durationMs) - 1;
}

/** CAGR / max drawdown fraction. Null without a drawdown. */
export function calmarRatio(annualReturn: number, drawdownFraction: number): number | null {
  return drawdownFraction > 0 ? annualReturn / drawdownFraction : null;
}

/**
 * Returns per period from equity samples (time-ordered): each period's return is its last equity
 * over the previous period's last equity (the first period starts from `startEquity`).
 */
export function periodReturns(
  samples: readonly (readonly [time: number, equity: number])[],
  periodMs: number,
  startEquity: number,
): number[] {
  const returns: number[] = [];
  let base = startEquity;
  let period = Number.NaN;
  let last = startEquity;
  for (const [time, equity] of samples) {
    const current = Math.floor(time / periodMs);
    if (!Number.isNaN(period) && current !== period) {
      returns.push(base > 0 ? last / base - 1 : 0);
      base = last;
    }
    period = current;
    last = equity;
  }
  if (!Number.isNaN(period)) returns.push(base > 0 ? last / base - 1 : 0);
  return returns;
}

export interface EquityTrackerOptions {
  /** Length of the return period for Sharpe/Sortino. Default one day. */
  readonly periodMs?: number;
  /** Points kept for the equity curve; older points are thinned, the metrics stay exact. */
  readonly maxPoints?: number;
}

/**
 * Follows equity step by step in constant memory: exact running peak and max drawdown, exposure,
 * and period returns for Sharpe and Sortino (Welford), plus a thinned curve for charts.
 */
export class EquityTracker {
  readonly periodMs: number;
  private readonly maxPoints: number;
  private peak: number;
  private peakTime: number;
  private drawdown: Drawdown = { fraction: 0, amount: 0, peakTime: undefined, troughTime: undefined };
  private steps = 0;
  private stepsInMarket = 0;
  private period = Number.NaN;
  private periodBase: number;
  private lastEquity: number;
  private lastTime: number;
  // Welford accumulators over period returns
  private count = 0;
  private average = 0;
  private squares = 0;
  private downsideSquares = 0;
  private curve: [number, number][] = [];
  private stride = 1;
  private sinceKept = 0;

  constructor(
    readonly startEquity: number,
    readonly startTime: number,
    options: EquityTrackerOptions = {},
  ) {
    this.periodMs = options.periodMs ?? DAY_MS;
    this.maxPoints = Math.max(16, options.maxPoints ?? 2000);
    this.peak = startEquity;
    this.peakTime = startTime;
    this.periodBase = startEquity;
    this.lastEquity = startEquity;
    this.lastTime = startTime;
    this.curve.push([startTime, startEquity]);
  }

  record(time: number, equity: number, inMarket: boolean): void {
    this.steps += 1;
    if (inMarket) this.stepsInMarket += 1;
    const period = Math.floor(time / this.periodMs);
    if (period !== this.period) {
      if (!Number.isNaN(this.period)) this.closePeriod();
      this.period = period;
    }
    this.lastEquity = equity;
    this.lastTime = time;
    if (equity > this.peak) {
      this.peak = equity;
      this.peakTime = time;
    } else {
      const amount = this.peak - equity;
      const fraction = this.peak > 0 ? amount / this.peak : 0;
      if (fraction > this.drawdown.fraction)
        this.drawdown = { fraction, amount, peakTime: this.peakTime, troughTime: time };
    }
    this.sinceKept += 1;
    if (this.sinceKept >= this.stride) {
      this.sinceKept = 0;
      this.curve.push([time, equity]);
      if (this.curve.length >= this.maxPoints) {
        this.curve = this.curve.filter((_, index) => index % 2 === 0);
        this.stride *= 2;
      }
    }
  }

  private closePeriod(): void {
    const value = this.periodBase > 0 ? this.lastEquity / this.periodBase - 1 : 0;
    this.periodBase = this.lastEquity;
    this.count += 1;
    const delta = value - this.average;
    this.average += delta / this.count;
    this.squares += delta * (value - this.average);
    if (value < 0) this.downsideSquares += value * value;
  }

  finish(): EquityStats {
    if (!Number.isNaN(this.period)) {
      this.closePeriod();
      this.period = Number.NaN;
    }
    if (this.curve.at(-1)?.[0] !== this.lastTime) this.curve.push([this.lastTime, this.lastEquity]);
    const periodsPerYear = YEAR_MS / this.periodMs;
    const deviation = this.count > 1 ? Math.sqrt(this.squares / (this.count - 1)) : 0;
    const sharpe =
      this.count > 1 && deviation > 0 ? (this.average / deviation) * Math.sqrt(periodsPerYear) : null;
    const sortino =
      this.count > 1 && this.downsideSquares > 0
        ? (this.average / Math.sqrt(this.downsideSquares / this.count)) * Math.sqrt(periodsPerYear)
        : null;
    const annual = cagr(this.startEquity, this.lastEquity, this.lastTime - this.startTime);
    return {
      startEquity: this.startEquity,
      finalEquity: this.lastEquity,
      totalReturn: this.startEquity > 0 ? this.lastEquity / this.startEquity - 1 : 0,
      annualReturn: annual,
      maxDrawdown: this.drawdown,
      sharpe,
      sortino,
      calmar: calmarRatio(annual, this.drawdown.fraction),
      periods: this.count,
      exposure: this.steps > 0 ? this.stepsInMarket / this.steps : 0,
      steps: this.steps,
      curve: this.curve,
    };
  }
}

export interface EquityStats {
  readonly startEquity: number;
  readonly finalEquity: number;
  readonly totalReturn: number;
  readonly annualReturn: number;
  readonly maxDrawdown: Drawdown;
  readonly sharpe: number | null;
  readonly sortino: number | null;
  readonly calmar: number | null;
  readonly periods: number;
  /** Fraction of steps with an open position. */
  readonly exposure: number;
  readonly steps: number;
  readonly curve: readonly (readonly [number, number])[];
}

/** One trade with its PnL split: edge (price PnL before slippage), fees, slippage, funding. */
export interface TradeRecord extends ClosedTrade {
  /** Price PnL the trade would have made without slippage: pricePnl + slippage. */
  readonly edge: number;
  readonly returnPct: number;
}

export function attribute(trade: ClosedTrade): TradeRecord {
  const notional = trade.entryPrice * trade.quantity;
  return {
    id: trade.id,
    exchange: trade.exchange,
    account: trade.account,
    symbol: trade.symbol,
    direction: trade.direction,
    strategyId: trade.strategyId,
    openedAt: trade.openedAt,
    closedAt: trade.closedAt,
    quantity: trade.quantity,
    entryPrice: trade.entryPrice,
    exitPrice: trade.exitPrice,
    pricePnl: trade.pricePnl,
    fees: trade.fees,
    slippage: trade.slippage,
    funding: trade.funding,
    netPnl: trade.netPnl,
    entryReasons: trade.entryReasons,
    exitReasons: trade.exitReasons,
    regime: trade.regime,
    edge: trade.pricePnl + trade.slippage,
    returnPct: notional > 0 ? trade.netPnl / notional : 0,
  };
}

export interface Breakdown {
  readonly key: string;
  readonly trades: number;
  readonly wins: number;
  readonly winRate: number;
  readonly netPnl: number;
  readonly edge: number;
  readonly fees: number;
  readonly slippage: number;
  readonly funding: number;
}

/** Groups trades by a key (the entry reason code, the regime label, ...). */
export function breakdown(
  trades: readonly TradeRecord[],
  keyOf: (trade: TradeRecord) => string | undefined,
): Breakdown[] {
  const accumulator = new BreakdownAccumulator(keyOf);
  for (const trade of trades) accumulator.add(trade);
  return accumulator.result();
}

interface BreakdownTotals {
  trades: number;
  wins: number;
  netPnl: number;
  edge: number;
  fees: number;
  slippage: number;
  funding: number;
}

/**
 * `breakdown` one trade at a time, in memory proportional to the number of keys (not trades), so a
 * backtest need not keep its trade list to report per-reason and per-regime results.
 */
export class BreakdownAccumulator {
  private readonly groups = new Map<string, BreakdownTotals>();

  constructor(private readonly keyOf: (trade: TradeRecord) => string | undefined) {}

  add(trade: TradeRecord): void {
    const key = this.keyOf(trade) ?? '(none)';
    let totals = this.groups.get(key);
    if (!totals) {
      totals = { trades: 0, wins: 0, netPnl: 0, edge: 0, fees: 0, slippage: 0, funding: 0 };
      this.groups.set(key, totals);
    }
    totals.trades += 1;
    if (trade.netPnl > 0) totals.wins += 1;
    totals.netPnl += trade.netPnl;
    totals.edge += trade.edge;
    totals.fees += trade.fees;
    totals.slippage += trade.slippage;
    totals.funding += trade.funding;
  }

  result(): Breakdown[] {
    return [...this.groups.entries()]
      .map(([key, totals]) => ({
        key,
        trades: totals.trades,
        wins: totals.wins,
        winRate: totals.wins / totals.trades,
        netPnl: totals.netPnl,
        edge: totals.edge,
        fees: totals.fees,
        slippage: totals.slippage,
        funding: totals.funding,
      }))
      .sort((a, b) => b.trades - a.trades || a.key.localeCompare(b.key));
  }
}

/** Traded notional (every fill, both sides of each round trip) over starting equity; 0 without equity. */
export function turnover(tradedNotional: number, startingEquity: number): number {
  return startingEquity > 0 ? tradedNotional / startingEquity : 0;
}

/** Share of trades with a positive net PnL (a break-even trade is not a win); 0 without trades. */
export function winRate(trades: readonly ClosedTrade[]): number {
  if (trades.length === 0) return 0;
  return trades.filter((trade) => trade.netPnl > 0).length / trades.length;
}

/**
 * sha256 over the ordered trade list, one canonical line per trade. Two runs with the same hash
 * made the same trades at the same times, sizes and prices.
 */
export function tradeListHash(trades: readonly ClosedTrade[]): string {
  const hasher = new TradeListHasher();
  for (const trade of trades) hasher.add(trade);
  return hasher.digest();
}

/** `tradeListHash` fed one trade at a time, so the trade list need not be kept. */
export class TradeListHasher {
  private readonly hash = createHash('sha256');
  private count = 0;

  get trades(): number {
    return this.count;
  }

  add(trade: ClosedTrade): void {
    this.count += 1;
    this.hash.update(
      `${JSON.stringify([
        trade.exchange,
        trade.account,
        trade.symbol,
        trade.direction,
        trade.openedAt,
        trade.closedAt,
        trade.quantity,
        trade.entryPrice,
        trade.exitPrice,
        trade.pricePnl,
        trade.fees,
        trade.funding,
      ])}\n`,
    );
  }

  /** The hex digest; the hasher cannot be fed afterwards. */
  digest(): string {
    return this.hash.digest('hex');
  }
}
