import { type ObjectiveName, scoreTrial, type TrialMetrics } from './objective';
import type { Sampler, TrialOutcome } from './samplers';
import { type ParameterSet, parameterKey } from './space';
import type { StudyStore, TrialRecord } from './store';
import {
  summarizeWalkForward,
  type WalkForwardOptions,
  type WalkForwardRow,
  type WalkForwardWindow,
  walkForwardWindows,
} from './walk-forward';

/** One backtest to run: a parameter set on a time range. */
export interface TrialTask {
  readonly segment: string;
  readonly trial: number;
  readonly params: ParameterSet;
  /** Bars with `from ≤ open time < to` (all data when absent). */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  /** Return every closed trade's net PnL (for the Monte Carlo of the best set). */
  readonly collectTrades?: boolean;
}

/** What a trial's backtest produced. A trial that threw carries `error` and no metrics. */
export interface TrialResult {
  readonly metrics?: TrialMetrics | undefined;
  readonly error?: string | undefined;
  readonly tradePnls?: readonly number[] | undefined;
  readonly durationMs: number;
}

/** Runs a trial somewhere (a worker thread, a queue worker) and says who ran it. */
export type TrialExecutor = (
  task: TrialTask,
) => Promise<{ readonly result: TrialResult; readonly worker?: string; readonly attempts?: number }>;

export interface SearchOptions {
  readonly store: StudyStore;
  readonly studyId: string;
  readonly sampler: Sampler;
  /** Trials to run (a grid smaller than this runs whole and stops). */
  readonly trials: number;
  /**
   * Proposals per batch. A batch's proposals depend only on the seed and the results of earlier
   * batches, so any number of workers, and a resumed run, propose the same sets. Grid and random
   * search need no feedback and run as one batch; TPE learns between batches.
   */
  readonly batchSize: number;
  readonly objective: ObjectiveName;
  readonly minTrades: number;
  readonly execute: TrialExecutor;
  /**
   * Called for each trial as it is known: `ran` (its backtest ran now), `stored` (read back from
   * the store: a resumed study), or `repeat` (a set proposed again, given its earlier result).
   */
  readonly onTrial?: (record: TrialRecord, how: 'ran' | 'stored' | 'repeat') => void;
}

/** A trial that ended inside the executor rather than in its backtest (a worker thread died). */
function isInfrastructureFailure(error: unknown): boolean {
  return (error as { code?: string })?.code === 'WORKER_DIED';
}

/** Runs a trial, retrying twice when its worker died under it, and builds its record. */
async function runTrial(options: SearchOptions, task: TrialTask): Promise<TrialRecord> {
  let attempt = 0;
  for (;;) {
    try {
      const { result, worker, attempts } = await options.execute(task);
      return recordOf(task, result, options.objective, options.minTrades, worker, attempts);
    } catch (error) {
      attempt += 1;
      if (!isInfrastructureFailure(error) || attempt > 2) throw error;
    }
  }
}

export function recordOf(
  task: TrialTask,
  result: TrialResult,
  objective: ObjectiveName,
  minTrades: number,
  worker?: string,
  attempts?: number,
): TrialRecord {
  const base = {
    segment: task.segment,
    trial: task.trial,
    params: task.params,
    worker,
    attempts,
    durationMs: result.durationMs,
  };
  if (result.error !== undefined || result.metrics === undefined)
    return { ...base, score: null, reason: 'error', error: result.error ?? 'no metrics' };
  const { score, reason } = scoreTrial(result.metrics, objective, minTrades);
  return { ...base, score, reason, metrics: result.metrics };
}

/**
 * One search over a segment: proposes sets batch by batch, skips trials the store already holds
 * (their parameters must match the proposal: a changed study needs `--fresh`), runs the rest and
 * stores each as it finishes.
 */
export async function runSearch(
  options: SearchOptions,
  segment: string,
  range: { from?: number; to?: number } = {},
): Promise<{ trials: number; best: TrialRecord | undefined }> {
  const history: TrialOutcome[] = [];
  // A sampler may propose a set it proposed before (a converged TPE in a small region): the
  // backtest is deterministic, so the earlier result is reused instead of run again.
  const done = new Map<string, Promise<TrialRecord>>();
  let trial = 0;
  for (let batchIndex = 0; trial < options.trials; batchIndex += 1) {
    const size = Math.min(options.batchSize, options.trials - trial);
    const proposals = options.sampler.batch(batchIndex, size, history);
    if (proposals.length === 0) break;
    const first = trial;
    const records = await Promise.all(
      proposals.map(async (params, offset) => {
        const index = first + offset;
        const stored = options.store.get(options.studyId, segment, index);
        if (stored) {
          if (parameterKey(stored.params) !== parameterKey(params))
            throw new Error(
              `stored trial ${segment}#${index} has parameters ${parameterKey(stored.params)}, but the study now proposes ${parameterKey(params)}: the study's settings changed; start over with --fresh`,
            );
          if (!done.has(parameterKey(params))) done.set(parameterKey(params), Promise.resolve(stored));
          options.onTrial?.(stored, 'stored');
          return stored;
        }
        const key = parameterKey(params);
        const earlier = done.get(key);
        let record: TrialRecord;
        const how = earlier ? 'repeat' : 'ran';
        if (earlier) {
          const original = await earlier;
          record = {
            ...original,
            trial: index,
            worker: `repeat of trial ${original.trial}`,
            attempts: 0,
            durationMs: 0,
          };
        } else {
          const running = runTrial(options, { segment, trial: index, params, ...range });
          done.set(key, running);
          record = await running;
        }
        // A duplicate (a queue job that ran twice) keeps the first stored result.
        options.store.save(options.studyId, record);
        const kept = options.store.get(options.studyId, segment, index) ?? record;
        options.onTrial?.(kept, how);
        return kept;
      }),
    );
    for (const record of records) {
      history.push({ params: record.params, score: record.score });
      const key = parameterKey(record.params);
      if (!done.has(key)) done.set(key, Promise.resolve(record));
    }
    trial += proposals.length;
  }
  return { trials: trial, best: options.store.ranked(options.studyId, segment, 1)[0] };
}

export interface WalkForwardResult {
  readonly windows: readonly WalkForwardWindow[];
  readonly rows: readonly WalkForwardRow[];
  /** Windows whose training found no feasible set (no out-of-sample run). */
  readonly skipped: readonly number[];
  readonly summary: ReturnType<typeof summarizeWalkForward>;
}

/**
 * Walk-forward: for each window, search on the training range, then run the best set on the test
 * range that follows it. Out-of-sample results are stored like trials (`wf-N-test`), so a resumed
 * run skips them too.
 */
export async function runWalkForward(
  options: SearchOptions,
  span: { start: number; end: number },
  settings: WalkForwardOptions & { readonly minEfficiency?: number },
  onWindow?: (window: WalkForwardWindow, stage: 'train' | 'test') => void,
): Promise<WalkForwardResult> {
  const windows = walkForwardWindows(span.start, span.end, settings);
  const rows: WalkForwardRow[] = [];
  const skipped: number[] = [];
  for (const window of windows) {
    onWindow?.(window, 'train');
    const { best } = await runSearch(options, `wf-${window.index}-train`, {
      from: window.trainStart,
      to: window.trainEnd,
    });
    if (!best?.metrics) {
      skipped.push(window.index);
      continue;
    }
    onWindow?.(window, 'test');
    const segment = `wf-${window.index}-test`;
    let test = options.store.get(options.studyId, segment, 0);
    if (!test) {
      test = await runTrial(
        { ...options, minTrades: 0 },
        { segment, trial: 0, params: best.params, from: window.testStart, to: window.testEnd },
      );
      options.store.save(options.studyId, test);
    }
    options.onTrial?.(test, 'ran');
    if (!test.metrics) {
      skipped.push(window.index);
      continue;
    }
    rows.push({ window, params: best.params, inSample: best.metrics, outOfSample: test.metrics });
  }
  return {
    windows,
    rows,
    skipped,
    summary: summarizeWalkForward(rows, options.objective, { minEfficiency: settings.minEfficiency }),
  };
}
