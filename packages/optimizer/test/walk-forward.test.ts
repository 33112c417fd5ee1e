import { describe, expect, it } from 'vitest';
import type { TrialMetrics } from '../src/objective';
import { summarizeWalkForward, type WalkForwardRow, walkForwardWindows } from '../src/walk-forward';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

describe('walkForwardWindows', () => {
  it('rolls the training window by the test length by default', () => {
    // 100 days, train 30, test 10: windows while trainEnd + 10 ≤ 100 → trainStart 0, 10, ..., 60.
    const windows = walkForwardWindows(T0, T0 + 100 * DAY, { train: 30 * DAY, test: 10 * DAY });
    expect(windows).toHaveLength(7);
    expect(windows[0]).toEqual({
      index: 0,
      trainStart: T0,
      trainEnd: T0 + 30 * DAY,
      testStart: T0 + 30 * DAY,
      testEnd: T0 + 40 * DAY,
    });
    expect(windows[6]).toEqual({
      index: 6,
      trainStart: T0 + 60 * DAY,
      trainEnd: T0 + 90 * DAY,
      testStart: T0 + 90 * DAY,
      testEnd: T0 + 100 * DAY,
    });
    // Test windows tile the range after the first training window.
    for (let index = 1; index < windows.length; index++)
      expect(windows[index]?.testStart).toBe(windows[index - 1]?.testEnd);
  });

  it('anchors the training start and grows its end', () => {
    const windows = walkForwardWindows(T0, T0 + 95 * DAY, {
      train: 30 * DAY,
      test: 20 * DAY,
      step: 15 * DAY,
      anchored: true,
    });
    // trainEnd 30, 45, 60, 75 → testEnd 50, 65, 80, 95; the next (testEnd 110) does not fit.
    expect(
      windows.map((window) =>
        [window.trainStart, window.trainEnd, window.testEnd].map((time) => (time - T0) / DAY),
      ),
    ).toEqual([
      [0, 30, 50],
      [0, 45, 65],
      [0, 60, 80],
      [0, 75, 95],
    ]);
    expect(windows.every((window) => window.testStart === window.trainEnd)).toBe(true);
  });

  it('drops a partial last window', () => {
    const windows = walkForwardWindows(T0, T0 + 99 * DAY, { train: 30 * DAY, test: 10 * DAY });
    expect(windows).toHaveLength(6);
    expect(windows.at(-1)?.testEnd).toBe(T0 + 90 * DAY);
  });

  it('explains when no window fits, and refuses non-positive lengths', () => {
    expect(() => walkForwardWindows(T0, T0 + 31 * DAY, { train: 60 * DAY, test: 30 * DAY })).toThrow(
      'no walk-forward window fits between 2024-01-01 00:00 and 2024-02-01 00:00: one window needs train 60d + test 30d = 90d, the range is 31d',
    );
    expect(() => walkForwardWindows(T0, T0 + 31 * DAY, { train: 0, test: DAY })).toThrow(RangeError);
    expect(() => walkForwardWindows(T0, T0 + 31 * DAY, { train: DAY, test: DAY, step: -1 })).toThrow(/step/);
    expect(() => walkForwardWindows(T0, T0, { train: DAY, test: DAY })).toThrow(/start < end/);
  });
});

function metrics(sharpe: number | null, netPnl: number, maxDrawdown = 0.1): TrialMetrics {
  return {
    trades: 20,
    netPnl,
    totalReturn: netPnl / 10_000,
    maxDrawdown,
    sharpe,
    sortino: sharpe,
    calmar: sharpe,
    winRate: 0.5,
    fees: 1,
    fundingPnl: 0,
    finalEquity: 10_000 + netPnl,
  };
}

function rows(pairs: [inSample: number | null, outOfSample: number | null][]): WalkForwardRow[] {
  const windows = walkForwardWindows(T0, T0 + (30 + 10 * pairs.length) * DAY, {
    train: 30 * DAY,
    test: 10 * DAY,
  });
  return pairs.map(([inSample, outOfSample], index) => ({
    window: windows[index] as (typeof windows)[number],
    params: { fast: 10 + index },
    inSample: metrics(inSample, 100),
    outOfSample: metrics(outOfSample, outOfSample === null ? 0 : outOfSample * 50),
  }));
}

describe('summarizeWalkForward', () => {
  it('passes stable windows without warnings', () => {
    const summary = summarizeWalkForward(
      rows([
        [2, 1.6],
        [1.8, 1.5],
        [2.2, 1.9],
      ]),
      'sharpe',
    );
    expect(summary.windows).toBe(3);
    expect(summary.inSampleMean).toBeCloseTo(2, 12);
    expect(summary.outOfSampleMean).toBeCloseTo(5 / 3, 12);
    expect(summary.efficiency).toBeCloseTo(5 / 6, 12);
    expect(summary.outOfSampleNetPnl).toBeCloseTo(250, 9);
    expect(summary.perWindow.map((window) => window.diverged)).toEqual([false, false, false]);
    expect(summary.diverged).toBe(false);
    expect(summary.warnings).toEqual([]);
  });

  it('flags the window whose out-of-sample result collapses, naming it and its figures', () => {
    const summary = summarizeWalkForward(
      rows([
        [2, 1.8],
        [2, -0.5],
        [2, 1.9],
      ]),
      'sharpe',
    );
    expect(summary.perWindow.map((window) => window.diverged)).toEqual([false, true, false]);
    expect(summary.warnings).toEqual([
      'Window 1 (test 2024-02-10 00:00 → 2024-02-20 00:00): out-of-sample sharpe -0.5 has the opposite sign of in-sample 2.',
    ]);
    // Efficiency (1.8 − 0.5 + 1.9) / 3 / 2 = 0.533: still above 0.5, and only one window of three.
    expect(summary.efficiency).toBeCloseTo(3.2 / 6, 12);
    expect(summary.diverged).toBe(false);
  });

  it('diverges overall when efficiency falls below the minimum or most windows diverge', () => {
    const weak = summarizeWalkForward(
      rows([
        [2, 0.6],
        [2, 0.7],
        [2, 1.2],
      ]),
      'sharpe',
    );
    expect(weak.perWindow.map((window) => window.diverged)).toEqual([true, true, false]);
    expect(weak.efficiency).toBeCloseTo(2.5 / 6, 12);
    expect(weak.diverged).toBe(true);
    expect(weak.warnings).toContain(
      'Window 0 (test 2024-01-31 00:00 → 2024-02-10 00:00): out-of-sample sharpe 0.6 is 30% of in-sample 2, below 50%.',
    );
    expect(weak.warnings).toContain(
      'Walk-forward efficiency 42% (out-of-sample mean sharpe 0.8333 against in-sample 2) is below the 50% minimum: in-sample results did not carry over.',
    );
    expect(weak.warnings).toContain('2 of 3 windows diverged out of sample.');
    // The same rows pass with a lower bar.
    expect(
      summarizeWalkForward(
        rows([
          [2, 0.6],
          [2, 0.7],
          [2, 1.2],
        ]),
        'sharpe',
        { minEfficiency: 0.25 },
      ).diverged,
    ).toBe(false);
  });

  it('treats an undefined out-of-sample score as divergence and leaves it out of the mean', () => {
    const summary = summarizeWalkForward(
      rows([
        [2, null],
        [2, 2],
      ]),
      'sharpe',
    );
    expect(summary.perWindow[0]).toEqual({ index: 0, inSample: 2, outOfSample: null, diverged: true });
    expect(summary.outOfSampleMean).toBe(2);
    expect(summary.warnings[0]).toMatch(/^Window 0 .*out-of-sample sharpe is undefined\.$/);
  });

  it('judges drawdown (always ≤ 0 as a score) by how much worse out of sample is', () => {
    const windows = rows([
      [1, 1],
      [1, 1],
    ]);
    const drawdownRows: WalkForwardRow[] = [
      {
        ...(windows[0] as WalkForwardRow),
        inSample: metrics(1, 100, 0.1),
        outOfSample: metrics(1, 50, 0.15),
      },
      {
        ...(windows[1] as WalkForwardRow),
        inSample: metrics(1, 100, 0.1),
        outOfSample: metrics(1, -80, 0.35),
      },
    ];
    const summary = summarizeWalkForward(drawdownRows, 'maxDrawdown');
    expect(summary.perWindow.map((window) => window.diverged)).toEqual([false, true]);
    expect(summary.efficiency).toBeNull();
    expect(summary.outOfSampleNetPnl).toBe(-30);
    expect(summary.warnings).toHaveLength(1);
    expect(summary.warnings[0]).toMatch(
      /^Window 1 .*maxDrawdown -0\.35 is much worse than in-sample -0\.1\.$/,
    );
  });

  it('warns when the in-sample mean itself is not positive', () => {
    const summary = summarizeWalkForward(rows([[-0.5, -0.4]]), 'sharpe');
    expect(summary.efficiency).toBeNull();
    expect(summary.warnings).toContain(
      'The in-sample mean sharpe is -0.5: the optimized parameters did not do well even in sample.',
    );
  });

  it('summarizes no rows without failing', () => {
    const summary = summarizeWalkForward([], 'sharpe');
    expect(summary).toMatchObject({
      windows: 0,
      inSampleMean: null,
      outOfSampleMean: null,
      efficiency: null,
      diverged: false,
    });
    expect(summary.warnings).toEqual(['No walk-forward windows were evaluated.']);
  });
});
