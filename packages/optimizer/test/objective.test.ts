import { describe, expect, it } from 'vitest';
import { OBJECTIVES, scoreTrial, type TrialMetrics } from '../src/objective';

const metrics: TrialMetrics = {
  trades: 12,
  netPnl: 250,
  totalReturn: 0.025,
  maxDrawdown: 0.08,
  sharpe: 1.4,
  sortino: 2.1,
  calmar: 0.9,
  winRate: 0.55,
  fees: 12,
  fundingPnl: -3,
  finalEquity: 10_250,
};

describe('scoreTrial', () => {
  it('scores each objective, higher is better', () => {
    expect(scoreTrial(metrics, 'sharpe', 10)).toEqual({ score: 1.4 });
    expect(scoreTrial(metrics, 'sortino', 10)).toEqual({ score: 2.1 });
    expect(scoreTrial(metrics, 'calmar', 10)).toEqual({ score: 0.9 });
    expect(scoreTrial(metrics, 'netPnl', 10)).toEqual({ score: 250 });
    expect(scoreTrial(metrics, 'maxDrawdown', 10)).toEqual({ score: -0.08 });
    // A smaller drawdown must score higher.
    const calmer = scoreTrial({ ...metrics, maxDrawdown: 0.02 }, 'maxDrawdown', 0).score as number;
    expect(calmer).toBeGreaterThan(-0.08);
    expect(Object.is(scoreTrial({ ...metrics, maxDrawdown: 0 }, 'maxDrawdown', 0).score, 0)).toBe(true);
    expect(OBJECTIVES).toEqual(['sharpe', 'sortino', 'calmar', 'netPnl', 'maxDrawdown']);
  });

  it('makes a trial with too few trades infeasible, with the reason', () => {
    expect(scoreTrial({ ...metrics, trades: 3 }, 'netPnl', 10)).toEqual({
      score: null,
      reason: '3 trades, fewer than minTrades 10',
    });
    expect(scoreTrial({ ...metrics, trades: 1 }, 'netPnl', 2).reason).toBe('1 trade, fewer than minTrades 2');
    expect(scoreTrial({ ...metrics, trades: 10 }, 'netPnl', 10).score).toBe(250);
  });

  it('makes an undefined or non-finite ratio infeasible', () => {
    expect(scoreTrial({ ...metrics, sharpe: null }, 'sharpe', 0)).toEqual({
      score: null,
      reason: 'sharpe is undefined for this trial',
    });
    expect(scoreTrial({ ...metrics, calmar: Number.NaN }, 'calmar', 0)).toEqual({
      score: null,
      reason: 'calmar is NaN',
    });
    expect(scoreTrial({ ...metrics, sortino: Number.POSITIVE_INFINITY }, 'sortino', 0).score).toBeNull();
    // Another objective's undefined ratio does not matter.
    expect(scoreTrial({ ...metrics, sharpe: null }, 'netPnl', 0).score).toBe(250);
  });
});
