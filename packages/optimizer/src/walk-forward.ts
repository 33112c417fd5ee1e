/**
 * Walk-forward analysis: optimize on a training window, then measure the chosen parameters on the
 * test window that follows it, window after window. A strategy whose out-of-sample results keep up
 * with its in-sample results is less likely to be curve-fitted.
 */
import { type ObjectiveName, scoreTrial, type TrialMetrics } from './objective';
import type { ParameterSet } from './space';

export interface WalkForwardOptions {
  /** Training window length, ms. */
  train: number;
  /** Test window length, ms. */
  test: number;
  /** How far each window moves, ms. Default: `test`, so test windows tile without overlap. */
  step?: number;
  /** True: every training window starts at `start` and grows. False (default): it rolls. */
  anchored?: boolean;
}

/** Half-open intervals [start, end) in ms; the test window starts where training ends. */
export interface WalkForwardWindow {
  /** 0-based position of the window. */
  index: number;
  trainStart: number;
  trainEnd: number;
  testStart: number;
  testEnd: number;
}

const DAY_MS = 86_400_000;

function formatDuration(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms}ms`;
}

const formatTime = (time: number) =>
  new Date(time)
    .toISOString()
    .replace('T', ' ')
    .replace(/:00\.000Z$|\.000Z$/, '');

/**
 * The windows between `start` and `end`. Rolling: the training window slides by `step`. Anchored:
 * the training window always starts at `start` and its end moves by `step`. Windows are produced
 * while the test window still ends at or before `end`; a partial last window is dropped rather than
 * judged on less data than the others.
 */
export function walkForwardWindows(
  start: number,
  end: number,
  options: WalkForwardOptions,
): WalkForwardWindow[] {
  const { train, test, anchored = false } = options;
  const step = options.step ?? test;
  for (const [name, value] of [
    ['train', train],
    ['test', test],
    ['step', step],
  ] as const)
    if (!(Number.isFinite(value) && value > 0))
      throw new RangeError(`walk-forward ${name} must be a positive duration in ms, got ${value}`);
  if (!(Number.isFinite(start) && Number.isFinite(end) && start < end))
    throw new RangeError(`walk-forward needs start < end, got ${start} and ${end}`);
  const windows: WalkForwardWindow[] = [];
  for (let index = 0; ; index++) {
    const trainStart = anchored ? start : start + index * step;
    const trainEnd = start + train + index * step;
    const testEnd = trainEnd + test;
    if (testEnd > end) break;
    windows.push({ index, trainStart, trainEnd, testStart: trainEnd, testEnd });
  }
  if (windows.length === 0)
    throw new RangeError(
      `no walk-forward window fits between ${formatTime(start)} and ${formatTime(end)}: one window needs train ${formatDuration(train)} + test ${formatDuration(test)} = ${formatDuration(train + test)}, the range is ${formatDuration(end - start)}`,
    );
  return windows;
}

export interface WalkForwardRow {
  window: WalkForwardWindow;
  /** The best parameters found on the training window. */
  params: ParameterSet;
  inSample: TrialMetrics;
  outOfSample: TrialMetrics;
}

export interface WalkForwardSummary {
  windows: number;
  /** Mean score over windows with a defined score; null when none has one. */
  inSampleMean: number | null;
  outOfSampleMean: number | null;
  /** outOfSampleMean / inSampleMean; null unless the in-sample mean is positive (the ratio means nothing otherwise). */
  efficiency: number | null;
  /** Sum of the test windows' net PnL: what trading the walk-forward would have made. */
  outOfSampleNetPnl: number;
  perWindow: { index: number; inSample: number | null; outOfSample: number | null; diverged: boolean }[];
  diverged: boolean;
  warnings: string[];
}

const formatScore = (value: number) => String(Number(value.toPrecision(4)));
const formatPercent = (value: number) => `${Math.round(value * 100)}%`;

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Scores every window in and out of sample (no minimum trade count: a test window is short) and
 * judges whether out-of-sample results kept up.
 *
 * A window diverges when its out-of-sample score is undefined, or when, for a positive in-sample
 * score, it is negative or below minEfficiency × in-sample; for an in-sample score ≤ 0 (always the
 * case for maxDrawdown), when it is worse than in-sample / minEfficiency (e.g. a drawdown more than
 * twice the in-sample one at 0.5). A window without an in-sample score is not judged.
 * The walk-forward as a whole diverges when efficiency is below minEfficiency or most windows diverge.
 */
export function summarizeWalkForward(
  rows: readonly WalkForwardRow[],
  objective: ObjectiveName,
  options: { minEfficiency?: number } = {},
): WalkForwardSummary {
  const minEfficiency = options.minEfficiency ?? 0.5;
  if (!Number.isFinite(minEfficiency))
    throw new RangeError(`minEfficiency must be a finite number, got ${minEfficiency}`);
  const warnings: string[] = [];
  const perWindow = rows.map((row) => {
    const inSample = scoreTrial(row.inSample, objective, 0).score;
    const outOfSample = scoreTrial(row.outOfSample, objective, 0).score;
    const name = `Window ${row.window.index} (test ${formatTime(row.window.testStart)} → ${formatTime(row.window.testEnd)})`;
    let reason: string | undefined;
    if (outOfSample === null) reason = `out-of-sample ${objective} is undefined`;
    else if (inSample === null)
      warnings.push(`${name}: in-sample ${objective} is undefined, the window is not judged.`);
    else if (inSample > 0) {
      if (outOfSample < 0)
        reason = `out-of-sample ${objective} ${formatScore(outOfSample)} has the opposite sign of in-sample ${formatScore(inSample)}`;
      else if (outOfSample < minEfficiency * inSample)
        reason = `out-of-sample ${objective} ${formatScore(outOfSample)} is ${formatPercent(outOfSample / inSample)} of in-sample ${formatScore(inSample)}, below ${formatPercent(minEfficiency)}`;
    } else if (minEfficiency > 0 && outOfSample < inSample / minEfficiency)
      reason = `out-of-sample ${objective} ${formatScore(outOfSample)} is much worse than in-sample ${formatScore(inSample)}`;
    if (reason !== undefined) warnings.push(`${name}: ${reason}.`);
    return { index: row.window.index, inSample, outOfSample, diverged: reason !== undefined };
  });

  const inSampleMean = mean(
    perWindow.flatMap((window) => (window.inSample === null ? [] : [window.inSample])),
  );
  const outOfSampleMean = mean(
    perWindow.flatMap((window) => (window.outOfSample === null ? [] : [window.outOfSample])),
  );
  const efficiency =
    inSampleMean !== null && inSampleMean > 0 && outOfSampleMean !== null
      ? outOfSampleMean / inSampleMean
      : null;
  const divergedCount = perWindow.filter((window) => window.diverged).length;
  const lowEfficiency = efficiency !== null && efficiency < minEfficiency;
  const mostDiverged = divergedCount * 2 > rows.length;

  if (rows.length === 0) warnings.push('No walk-forward windows were evaluated.');
  // A drawdown score is never positive, so only the other objectives can say "did not work in sample".
  if (inSampleMean !== null && inSampleMean <= 0 && objective !== 'maxDrawdown')
    warnings.push(
      `The in-sample mean ${objective} is ${formatScore(inSampleMean)}: the optimized parameters did not do well even in sample.`,
    );
  if (lowEfficiency)
    warnings.push(
      `Walk-forward efficiency ${formatPercent(efficiency as number)} (out-of-sample mean ${objective} ${formatScore(outOfSampleMean as number)} against in-sample ${formatScore(inSampleMean as number)}) is below the ${formatPercent(minEfficiency)} minimum: in-sample results did not carry over.`,
    );
  if (mostDiverged) warnings.push(`${divergedCount} of ${rows.length} windows diverged out of sample.`);

  return {
    windows: rows.length,
    inSampleMean,
    outOfSampleMean,
    efficiency,
    outOfSampleNetPnl: rows.reduce((sum, row) => sum + row.outOfSample.netPnl, 0),
    perWindow,
    diverged: lowEfficiency || mostDiverged,
    warnings,
  };
}
