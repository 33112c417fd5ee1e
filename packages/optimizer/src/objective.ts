/**
 * Objectives turn a trial's metrics into one score, higher is better, or null when the trial is
 * infeasible so that samplers and rankings treat it as worse than any scored trial.
 */

export type ObjectiveName = 'sharpe' | 'sortino' | 'calmar' | 'netPnl' | 'maxDrawdown';

export const OBJECTIVES: readonly ObjectiveName[] = ['sharpe', 'sortino', 'calmar', 'netPnl', 'maxDrawdown'];

/** The figures of one backtest that the optimizer scores, ranks and reports. */
export interface TrialMetrics {
  trades: number;
  netPnl: number;
  totalReturn: number;
  /** Largest fall from a running equity peak, as a positive fraction of that peak. */
  maxDrawdown: number;
  sharpe: number | null;
  sortino: number | null;
  calmar: number | null;
  winRate: number;
  fees: number;
  fundingPnl: number;
  finalEquity: number;
}

/**
 * Scores `metrics` by `objective`. `maxDrawdown` scores as −maxDrawdown so that higher is still
 * better. A trial with fewer than `minTrades` trades is infeasible: a handful of lucky trades
 * would otherwise top every ranking. An undefined ratio (no variance, no losing period, no
 * drawdown) or a non-finite figure is infeasible too, with the reason.
 */
export function scoreTrial(
  metrics: TrialMetrics,
  objective: ObjectiveName,
  minTrades: number,
): { score: number | null; reason?: string } {
  if (metrics.trades < minTrades)
    return {
      score: null,
      reason: `${metrics.trades} ${metrics.trades === 1 ? 'trade' : 'trades'}, fewer than minTrades ${minTrades}`,
    };
  const raw = objective === 'maxDrawdown' ? metrics.maxDrawdown : metrics[objective];
  if (raw === null || raw === undefined)
    return { score: null, reason: `${objective} is undefined for this trial` };
  if (!Number.isFinite(raw)) return { score: null, reason: `${objective} is ${raw}` };
  // `0 - x` rather than `-x` so that a zero drawdown scores 0, not -0.
  return { score: objective === 'maxDrawdown' ? 0 - raw : raw };
}
