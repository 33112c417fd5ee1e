import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StudyStore } from '../src/store';

const metrics = (netPnl: number) => ({
  trades: 12,
  netPnl,
  totalReturn: netPnl / 1000,
  maxDrawdown: 0.1,
  sharpe: netPnl / 100,
  sortino: null,
  calmar: 1,
  winRate: 0.5,
  fees: 3,
  fundingPnl: -1,
  finalEquity: 1000 + netPnl,
});

function tempStore() {
  return path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-study-')), 'study.db');
}

describe('StudyStore', () => {
  it('keeps each trial once: a second result for the same trial is ignored', () => {
    const store = new StudyStore(tempStore());
    store.openStudy('s1', { configFile: 'bot.yaml', configHash: 'h', settings: { seed: 1 } });
    expect(
      store.save('s1', {
        segment: 'search',
        trial: 0,
        params: { fast: 5 },
        score: 1.5,
        metrics: metrics(150),
      }),
    ).toBe(true);
    expect(
      store.save('s1', { segment: 'search', trial: 0, params: { fast: 5 }, score: 9, metrics: metrics(900) }),
    ).toBe(false);
    expect(store.count('s1')).toBe(1);
    expect(store.get('s1', 'search', 0)?.score).toBe(1.5);
    expect(store.get('s1', 'search', 0)?.metrics?.netPnl).toBe(150);
    store.close();
  });

  it('ranks feasible trials best first and keeps infeasible ones with their reason', () => {
    const store = new StudyStore(tempStore());
    store.openStudy('s1', { configFile: 'bot.yaml', configHash: 'h', settings: {} });
    store.save('s1', { segment: 'search', trial: 0, params: { fast: 5 }, score: 0.2, metrics: metrics(20) });
    store.save('s1', {
      segment: 'search',
      trial: 1,
      params: { fast: 6 },
      score: null,
      reason: '3 trades, fewer than minTrades 10',
    });
    store.save('s1', { segment: 'search', trial: 2, params: { fast: 7 }, score: 0.9, metrics: metrics(90) });
    store.save('s1', {
      segment: 'search',
      trial: 3,
      params: { fast: 8 },
      score: null,
      error: 'fast must be < slow',
      reason: 'error',
    });
    store.save('s1', {
      segment: 'wf-0-train',
      trial: 0,
      params: { fast: 9 },
      score: 5,
      metrics: metrics(500),
    });
    expect(store.ranked('s1', 'search', 10).map((record) => record.trial)).toEqual([2, 0]);
    expect(store.trials('s1', 'search').map((record) => record.reason ?? null)).toEqual([
      null,
      '3 trades, fewer than minTrades 10',
      null,
      'error',
    ]);
    expect(store.get('s1', 'search', 3)?.error).toBe('fast must be < slow');
    expect(store.count('s1', 'search')).toBe(4);
    store.close();
  });

  it('a reopened study resumes with its trials; fresh empties it; studies do not mix', () => {
    const file = tempStore();
    const first = new StudyStore(file);
    first.openStudy('a', { configFile: 'bot.yaml', configHash: 'h', settings: { seed: 1 } });
    first.openStudy('b', { configFile: 'bot.yaml', configHash: 'h', settings: { seed: 2 } });
    first.save('a', { segment: 'search', trial: 0, params: { fast: 5 }, score: 1 });
    first.save('b', { segment: 'search', trial: 0, params: { fast: 6 }, score: 2 });
    first.close();
    const second = new StudyStore(file);
    expect(second.openStudy('a', { configFile: 'bot.yaml', configHash: 'h', settings: { seed: 1 } })).toEqual(
      {
        resumed: true,
        trials: 1,
      },
    );
    expect(second.study('a')?.settings).toEqual({ seed: 1 });
    expect(
      second.openStudy(
        'a',
        { configFile: 'bot.yaml', configHash: 'h', settings: { seed: 1 } },
        { fresh: true },
      ),
    ).toEqual({
      resumed: false,
      trials: 0,
    });
    expect(second.count('a')).toBe(0);
    expect(second.count('b')).toBe(1);
    second.finishStudy('b');
    expect(second.study('b')?.status).toBe('done');
    second.close();
  });
});

describe('StudyStore ranking', () => {
  it('lists a parameter set proposed twice once, as its first trial', () => {
    const store = new StudyStore(tempStore());
    store.openStudy('s1', { configFile: 'bot.yaml', configHash: 'h', settings: {} });
    store.save('s1', {
      segment: 'search',
      trial: 0,
      params: { fast: 5, slow: 30 },
      score: 2,
      metrics: metrics(200),
    });
    store.save('s1', {
      segment: 'search',
      trial: 1,
      params: { fast: 6, slow: 30 },
      score: 1,
      metrics: metrics(100),
    });
    store.save('s1', {
      segment: 'search',
      trial: 2,
      params: { slow: 30, fast: 5 },
      score: 2,
      metrics: metrics(200),
    });
    expect(store.ranked('s1', 'search', 10).map((record) => record.trial)).toEqual([0, 1]);
    store.close();
  });
});
