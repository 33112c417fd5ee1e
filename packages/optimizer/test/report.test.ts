import { describe, expect, it } from 'vitest';
import { monteCarlo } from '../src/monte-carlo';
import type { TrialMetrics } from '../src/objective';
import { type OptimizeReportInput, renderOptimizeReport } from '../src/report';
import { gridPoint, gridSize, type ParameterSet, type SearchSpace } from '../src/space';
import { summarizeWalkForward, type WalkForwardRow, walkForwardWindows } from '../src/walk-forward';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

function metrics(score: number, trades = 20): TrialMetrics {
  return {
    trades,
    netPnl: score * 100,
    totalReturn: score / 100,
    maxDrawdown: 0.1,
    sharpe: score,
    sortino: score,
    calmar: score,
    winRate: 0.5,
    fees: 3,
    fundingPnl: -1,
    finalEquity: 10_000 + score * 100,
  };
}

const count = (html: string, pattern: RegExp) => html.match(pattern)?.length ?? 0;

function baseInput(
  space: SearchSpace,
  points: { params: ParameterSet; score: number | null }[],
): OptimizeReportInput {
  const ranked = points
    .map((point, trial) => ({ trial, ...point }))
    .filter((point) => point.score !== null)
    .sort((a, b) => (b.score as number) - (a.score as number))
    .slice(0, 10)
    .map((point) => ({ ...point, metrics: metrics(point.score as number) }));
  return {
    title: 'SMA cross on BTC',
    objective: 'sharpe',
    minTrades: 10,
    space,
    sampler: 'grid',
    seed: 1,
    trialsDone: points.length,
    trialsTotal: points.length,
    ranked,
    points,
  };
}

const gridSpace: SearchSpace = {
  fast: { kind: 'int', min: 5, max: 15, step: 5 },
  ratio: { kind: 'float', min: 0.1, max: 0.4, step: 0.1 },
  mode: { kind: 'choice', choices: ['trend', 'revert'] },
};
const gridPoints = Array.from({ length: gridSize(gridSpace) }, (_, index) => {
  const params = gridPoint(gridSpace, index);
  return { params, score: index === 5 ? null : (params.fast as number) / 10 - (params.ratio as number) };
});

describe('renderOptimizeReport', () => {
  it('shows every ranked row and a heatmap cell for each pair of values', () => {
    const html = renderOptimizeReport(baseInput(gridSpace, gridPoints));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(count(html, /<tr class="ranked-row"/g)).toBe(10);
    // Pairs among fast (3), ratio (4) and mode (2): 3×4 + 3×2 + 4×2.
    const heatmaps = [
      ...html.matchAll(/<svg class="heatmap" data-rows="(\d+)" data-columns="(\d+)".*?<\/svg>/g),
    ];
    expect(heatmaps.map((match) => [match[1], match[2]])).toEqual([
      ['3', '4'],
      ['3', '2'],
      ['4', '2'],
    ]);
    for (const match of heatmaps)
      expect(count(match[0], /<rect class="cell/g)).toBe(Number(match[1]) * Number(match[2]));
    // One sensitivity plot per parameter.
    expect(count(html, /<svg class="sensitivity"/g)).toBe(3);
  });

  it('computes heatmap means from the trials', () => {
    const html = renderOptimizeReport(baseInput(gridSpace, gridPoints));
    // fast=15, ratio=0.1: both modes score 1.5 − 0.1 = 1.4.
    expect(html).toContain('fast=15, ratio=0.1: mean 1.4 over 2 trials');
    // Trial 5 (fast 5, ratio 0.3, mode revert) is infeasible: one trial left in that cell.
    expect(html).toContain('fast=5, ratio=0.3: mean 0.2 over 1 trials');
  });

  it('escapes hostile text everywhere and links nothing external', () => {
    const evil = '<script>alert("x")</script>';
    const space: SearchSpace = {
      mode: { kind: 'choice', choices: [evil, 'plain'] },
      fast: { kind: 'int', min: 1, max: 3 },
    };
    const points = [
      { params: { mode: evil, fast: 1 }, score: 1 },
      { params: { mode: 'plain', fast: 2 }, score: 2 },
    ];
    const input = {
      ...baseInput(space, points),
      title: `<img src=x onerror=alert(1)>`,
      bestYaml: `mode: "${evil}"`,
      notes: [evil],
    };
    const html = renderOptimizeReport(input);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<[^>]*\b(src|href)=|@import|url\(/);
  });

  it('shows walk-forward warnings and marks diverged windows', () => {
    const windows = walkForwardWindows(T0, T0 + 60 * DAY, { train: 30 * DAY, test: 10 * DAY });
    const rows: WalkForwardRow[] = windows.map((window, index) => ({
      window,
      params: { fast: 5 + 5 * index, ratio: 0.1, mode: 'trend' },
      inSample: metrics(2),
      outOfSample: metrics(index === 1 ? -1 : 2.5),
    }));
    const summary = summarizeWalkForward(rows, 'sharpe');
    expect(summary.warnings).toHaveLength(1);
    const html = renderOptimizeReport({
      ...baseInput(gridSpace, gridPoints),
      walkForward: { rows, summary },
    });
    expect(count(html, /<li class="warning">/g)).toBe(1);
    expect(html).toContain(`<li class="warning">${summary.warnings[0]?.replace(/&/g, '&amp;')}</li>`);
    expect(count(html, /<tr class="diverged">/g)).toBe(1);
    expect(count(html, /<tr class="ok">/g)).toBe(2);
  });

  it('shows Monte Carlo intervals and histograms', () => {
    const result = monteCarlo([10, -10, 5, -3, 8], 1000, { method: 'bootstrap', runs: 500, seed: 3 });
    const html = renderOptimizeReport({ ...baseInput(gridSpace, gridPoints), monteCarlo: [result] });
    expect(count(html, /<table class="monte-carlo">/g)).toBe(1);
    expect(count(html, /<svg class="histogram"/g)).toBe(2);
    const bars = result.histogram.netPnl.length + result.histogram.maxDrawdown.length;
    expect(count(html, /<rect class="bar"/g)).toBe(bars);
    expect(html).toContain('bootstrap: 500 runs of 5 trades');
  });

  it('stays small with many trials by capping scatter points and binning continuous axes', () => {
    const space: SearchSpace = {
      fast: { kind: 'int', min: 2, max: 200 },
      level: { kind: 'float', min: 0.001, max: 10, log: true },
      mode: { kind: 'choice', choices: ['a', 'b', 'c'] },
      width: { kind: 'float', min: 0, max: 1 },
    };
    const points = Array.from({ length: 20_000 }, (_, index) => ({
      params: {
        fast: 2 + (index % 199),
        level: 0.001 * 1.0005 ** index,
        mode: ['a', 'b', 'c'][index % 3] as string,
        width: (index % 97) / 96,
      },
      score: index % 11 === 0 ? null : Math.sin(index),
    }));
    const html = renderOptimizeReport(baseInput(space, points));
    expect(html.length).toBeLessThan(400_000);
    for (const match of html.matchAll(/<path class="points" d="([^"]*)"/g))
      expect(count(match[1] as string, /h0/g)).toBeLessThanOrEqual(2000);
    expect(html).toContain('Points show 2000 of');
    // fast has 199 values: binned into 12 rows in its heatmaps.
    expect(html).toMatch(/<svg class="heatmap" data-rows="12" data-columns="12"/);
    // The same input renders the same file.
    expect(renderOptimizeReport(baseInput(space, points))).toBe(html);
  });

  it('renders with no scored trial', () => {
    const html = renderOptimizeReport(
      baseInput(
        gridSpace,
        gridPoints.map((point) => ({ ...point, score: null })),
      ),
    );
    expect(html).toContain('No trial has a score yet.');
    expect(count(html, /<rect class="cell empty"/g)).toBe(12 + 6 + 8);
  });
});
