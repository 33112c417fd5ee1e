import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrialMetrics } from '../src/objective';
import { createRandom } from '../src/random';
import { createSampler } from '../src/samplers';
import type { SearchSpace } from '../src/space';
import { StudyStore } from '../src/store';
import {
  runSearch,
  runWalkForward,
  type SearchOptions,
  type TrialExecutor,
  type TrialTask,
} from '../src/study';

const space: SearchSpace = {
  fast: { kind: 'int', min: 2, max: 20, step: 1 },
  slow: { kind: 'int', min: 20, max: 100, step: 5 },
  mode: { kind: 'choice', choices: ['a', 'b'] },
};

/**
 * A stand-in for a backtest with a known landscape: Sharpe peaks at fast 8, slow 50, mode b, and
 * sets with slow < 3 × fast trade too rarely. The runs are what the orchestration moves around.
 */
function landscape(task: TrialTask): TrialMetrics {
  const fast = task.params.fast as number;
  const slow = task.params.slow as number;
  const sharpe = 2 - ((fast - 8) / 6) ** 2 - ((slow - 50) / 40) ** 2 - (task.params.mode === 'b' ? 0 : 0.3);
  const trades = slow < 3 * fast ? 4 : 40;
  return {
    trades,
    netPnl: sharpe * 100,
    totalReturn: sharpe / 10,
    maxDrawdown: 0.1,
    sharpe,
    sortino: sharpe,
    calmar: sharpe,
    winRate: 0.5,
    fees: 1,
    fundingPnl: 0,
    finalEquity: 10_000 + sharpe * 100,
  };
}

/** Runs trials with random delays and a concurrency limit: completion order differs from trial order. */
function executor(concurrency: number, seed: number, calls: TrialTask[] = []): TrialExecutor {
  const random = createRandom(seed);
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    calls.push(task);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
    running -= 1;
    waiting.shift()?.();
    return { result: { metrics: landscape(task), durationMs: 1 }, worker: `w${concurrency}` };
  };
}

function options(
  store: StudyStore,
  execute: TrialExecutor,
  kind: 'random' | 'tpe' | 'grid',
  trials: number,
): SearchOptions {
  return {
    store,
    studyId: 'study',
    sampler: createSampler({ kind, space, seed: 7 }),
    trials,
    batchSize: kind === 'tpe' ? 8 : trials,
    objective: 'sharpe',
    minTrades: 10,
    execute,
  };
}

function newStore(): StudyStore {
  const store = new StudyStore(path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-search-')), 'study.db'));
  store.openStudy('study', { configFile: 'bot.yaml', configHash: 'h', settings: {} });
  return store;
}

const summary = (store: StudyStore, segment = 'search') =>
  store
    .trials('study', segment)
    .map((record) => [record.trial, record.params, record.score, record.reason ?? null]);

describe('runSearch', () => {
  it('the same seed gives the same trials whatever the number of workers (TPE learns between batches)', async () => {
    const one = newStore();
    await runSearch(options(one, executor(1, 1), 'tpe', 48), 'search');
    const four = newStore();
    await runSearch(options(four, executor(4, 2), 'tpe', 48), 'search');
    expect(one.count('study')).toBe(48);
    expect(summary(four)).toEqual(summary(one));
    // Infeasible sets (too few trades) are kept, without a score, with their reason.
    const infeasible = one.trials('study', 'search').filter((record) => record.score === null);
    for (const record of infeasible) expect(record.reason).toMatch(/fewer than minTrades 10/);
  });

  it('an interrupted search resumes where it stopped and completes the same set, running only what is missing', async () => {
    for (const kind of ['random', 'tpe'] as const) {
      const whole = newStore();
      await runSearch(options(whole, executor(2, 3), kind, 40), 'search');

      const interrupted = newStore();
      // The process "dies" after 13 trials finished: every later result is lost.
      let finished = 0;
      const running = executor(2, 4);
      const dying: TrialExecutor = async (task) => {
        const outcome = await running(task);
        if (finished++ >= 13) throw new Error('killed');
        return outcome;
      };
      await expect(runSearch(options(interrupted, dying, kind, 40), 'search')).rejects.toThrow('killed');
      const stored = interrupted.count('study');
      // 13 ran; a set proposed again before the kill was stored from its earlier result.
      expect(stored).toBeGreaterThanOrEqual(13);

      const calls: TrialTask[] = [];
      await runSearch(options(interrupted, executor(3, 5, calls), kind, 40), 'search');
      expect(calls.length).toBeLessThanOrEqual(40 - stored);
      expect(calls.length).toBeGreaterThan(0);
      expect(summary(interrupted)).toEqual(summary(whole));
    }
  });

  it('a study whose settings changed under its stored trials is refused, pointing at --fresh', async () => {
    const store = newStore();
    await runSearch(options(store, executor(2, 6), 'random', 10), 'search');
    const changed = {
      ...options(store, executor(2, 6), 'random', 10),
      sampler: createSampler({ kind: 'random', space, seed: 8 }),
    };
    await expect(runSearch(changed, 'search')).rejects.toThrow(/--fresh/);
  });

  it('a grid smaller than the trial count runs whole, each point once', async () => {
    const store = newStore();
    const small: SearchSpace = {
      fast: { kind: 'int', min: 2, max: 6, step: 2 },
      mode: { kind: 'choice', choices: ['a', 'b'] },
    };
    const search = {
      ...options(store, executor(2, 7), 'grid', 100),
      sampler: createSampler({ kind: 'grid', space: small, seed: 1 }),
    };
    const { trials } = await runSearch(search, 'search');
    expect(trials).toBe(6);
    const keys = store.trials('study', 'search').map((record) => JSON.stringify(record.params));
    expect(new Set(keys).size).toBe(6);
  });

  it('a trial whose backtest failed is stored with its error and no score', async () => {
    const store = newStore();
    const failing: TrialExecutor = async (task) =>
      task.trial === 2
        ? { result: { error: 'options.fast: must be below slow', durationMs: 1 } }
        : executor(1, 8)(task);
    await runSearch(options(store, failing, 'random', 5), 'search');
    expect(store.get('study', 'search', 2)).toMatchObject({
      score: null,
      reason: 'error',
      error: 'options.fast: must be below slow',
    });
    expect(store.count('study')).toBe(5);
  });
});

describe('runWalkForward', () => {
  it('searches each training window, runs its best set on the following test window, and stores both', async () => {
    const day = 86_400_000;
    const store = newStore();
    const calls: TrialTask[] = [];
    const result = await runWalkForward(
      options(store, executor(2, 9, calls), 'random', 12),
      { start: 0, end: 100 * day },
      { train: 30 * day, test: 10 * day },
    );
    expect(
      result.windows.map((window) => [window.trainStart / day, window.testStart / day, window.testEnd / day]),
    ).toEqual([
      [0, 30, 40],
      [10, 40, 50],
      [20, 50, 60],
      [30, 60, 70],
      [40, 70, 80],
      [50, 80, 90],
      [60, 90, 100],
    ]);
    expect(result.rows).toHaveLength(7);
    for (const row of result.rows) {
      const best = store.ranked('study', `wf-${row.window.index}-train`, 1)[0];
      expect(row.params).toEqual(best?.params);
      const test = calls.find((call) => call.segment === `wf-${row.window.index}-test`);
      expect(test).toMatchObject({
        from: row.window.testStart,
        to: row.window.testEnd,
        params: best?.params,
      });
    }
    // Training trials see only their window.
    for (const call of calls.filter((task) => task.segment.endsWith('-train'))) {
      const index = Number(call.segment.split('-')[1]);
      expect(call.from).toBe(result.windows[index]?.trainStart);
      expect(call.to).toBe(result.windows[index]?.trainEnd);
    }
    // The landscape does not depend on time: out-of-sample equals in-sample, no warning.
    expect(result.summary.diverged).toBe(false);
    expect(result.summary.warnings).toEqual([]);
    const callsBefore = calls.length;
    await runWalkForward(
      options(store, executor(2, 9, calls), 'random', 12),
      { start: 0, end: 100 * day },
      { train: 30 * day, test: 10 * day },
    );
    expect(calls.length).toBe(callsBefore);
  });
});

describe('repeated proposals', () => {
  it('a set proposed again reuses the earlier result instead of running the backtest twice', async () => {
    // Two points only: a TPE of 20 trials must repeat them.
    const tiny: SearchSpace = { mode: { kind: 'choice', choices: ['a', 'b'] } };
    const store = newStore();
    const calls: TrialTask[] = [];
    const run = executor(1, 10, calls);
    const search = {
      ...options(
        store,
        async (task: TrialTask) => run({ ...task, params: { fast: 8, slow: 50, ...task.params } }),
        'tpe',
        20,
      ),
      sampler: createSampler({ kind: 'tpe', space: tiny, seed: 3, startupTrials: 2 }),
      batchSize: 2,
    };
    await runSearch(search, 'search');
    expect(store.count('study')).toBe(20);
    const distinct = new Set(store.trials('study', 'search').map((record) => record.params.mode));
    expect(calls.length).toBe(distinct.size);
    const repeats = store
      .trials('study', 'search')
      .filter((record) => record.worker?.startsWith('repeat of trial'));
    expect(repeats.length).toBe(20 - distinct.size);
    for (const repeat of repeats) {
      const first = store
        .trials('study', 'search')
        .find((record) => record.params.mode === repeat.params.mode);
      expect(repeat.score).toBe(first?.score);
    }
  });
});

describe('runWalkForward on a regime change', () => {
  it('flags exactly the windows trained before a regime change and tested after it', async () => {
    const day = 86_400_000;
    // Before day 50 the best `fast` is 5, after it 20: a set tuned on the first regime fails in
    // the second. A range belongs to the regime of its midpoint.
    const regimeShift: TrialExecutor = async (task) => {
      const middle = ((task.from ?? 0) + (task.to ?? 100 * day)) / 2;
      const optimum = middle < 50 * day ? 5 : 20;
      const sharpe = 2 - (((task.params.fast as number) - optimum) / 6) ** 2;
      const metrics: TrialMetrics = { ...landscape(task), trades: 40, sharpe, netPnl: sharpe * 100 };
      return { result: { metrics, durationMs: 1 } };
    };
    const store = newStore();
    const result = await runWalkForward(
      {
        ...options(store, regimeShift, 'grid', 100),
        sampler: createSampler({
          kind: 'grid',
          space: { fast: { kind: 'int', min: 2, max: 20, step: 1 } },
          seed: 1,
        }),
      },
      { start: 0, end: 100 * day },
      { train: 30 * day, test: 10 * day },
    );
    // Window k trains on [10k, 10k + 30) and tests on [10k + 30, 10k + 40) days.
    expect(result.rows.map((row) => row.params.fast)).toEqual([5, 5, 5, 5, 20, 20, 20]);
    expect(result.summary.perWindow.map((window) => window.diverged)).toEqual([
      false,
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(result.summary.perWindow[2]?.inSample).toBe(2);
    expect(result.summary.perWindow[2]?.outOfSample).toBeCloseTo(2 - (15 / 6) ** 2, 12);
    expect(result.summary.warnings.join('\n')).toMatch(/Window 2/);
    expect(result.summary.warnings.join('\n')).toMatch(/Window 3/);
    expect(result.summary.warnings.join('\n')).not.toMatch(/Window [01456]\b/);
  });
});
