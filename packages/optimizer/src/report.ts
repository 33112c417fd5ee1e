/**
 * The optimization report: one self-contained HTML file (inline CSS and SVG, no scripts, no
 * network) that can be mailed or archived as is. It stays small with many trials: scatter plots
 * draw at most MAX_SCATTER_POINTS points, chosen deterministically, and everything else is
 * aggregated (means per value or bin).
 */
import type { MonteCarloResult } from './monte-carlo';
import type { ObjectiveName, TrialMetrics } from './objective';
import type { ParameterSet, ParameterSpec, ParameterValue, SearchSpace } from './space';
import { stepGrid } from './space';
import type { WalkForwardRow, WalkForwardSummary } from './walk-forward';

export interface OptimizeReportInput {
  title: string;
  objective: ObjectiveName;
  minTrades: number;
  space: SearchSpace;
  sampler: string;
  seed: number;
  trialsDone: number;
  trialsTotal: number;
  /** The top trials, best first. */
  ranked: { trial: number; params: ParameterSet; score: number | null; metrics: TrialMetrics }[];
  /** Every trial, for the sensitivity plots and heatmaps. */
  points: { params: ParameterSet; score: number | null }[];
  walkForward?: { rows: WalkForwardRow[]; summary: WalkForwardSummary };
  monteCarlo?: MonteCarloResult[];
  /** The best set as YAML, ready to paste into a config. */
  bestYaml?: string;
  /** Free sentences, e.g. peak memory or throughput. */
  notes?: string[];
}

/** Above this many trials a scatter plot shows an evenly spaced subset (means still use every trial). */
export const MAX_SCATTER_POINTS = 2000;
/** Numeric axes with more distinct values than this are binned. */
const MAX_DISCRETE_VALUES = 24;
const NUMERIC_BINS = 12;
/** Heatmaps cover pairs among the first this many parameters. */
const HEATMAP_PARAMETERS = 3;

const escapeHtml = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string,
  );

function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}
const formatMoney = (value: number) =>
  value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const formatPercent = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(2)}%`);
const formatTime = (time: number) => new Date(time).toISOString().replace('T', ' ').slice(0, 16);
const formatValue = (value: ParameterValue | undefined) =>
  value === undefined ? '-' : typeof value === 'number' ? formatNumber(value) : String(value);
/** Two decimals for SVG coordinates: enough on screen, keeps the file small. */
const coordinate = (value: number) => String(Math.round(value * 100) / 100);

/** Evenly spaced indices, the same for the same input: no randomness in the report. */
function evenSample<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  return Array.from({ length: limit }, (_, index) => items[Math.floor((index * items.length) / limit)] as T);
}

/** Red (worst) through yellow to green (best). */
function color(fraction: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0.5));
  return `hsl(${Math.round(clamped * 120)},65%,${Math.round(48 - 8 * clamped)}%)`;
}

// ---------------------------------------------------------------------------------------------
// Axes: how a parameter's values are grouped for means and heatmaps

interface Axis {
  labels: string[];
  /** The span of the axis in words, for an axis title when labels do not fit. */
  range: string;
  /** Bucket of a value, or -1 when it does not belong to the axis. */
  bucket(value: ParameterValue | undefined): number;
  /** Horizontal position in [0, 1] for a scatter plot, or undefined. */
  position(value: ParameterValue | undefined): number | undefined;
  /** Horizontal position in [0, 1] of a bucket's centre. */
  bucketPosition(bucket: number): number;
}

function axisFor(spec: ParameterSpec): Axis {
  if (spec.kind === 'choice') {
    const count = spec.choices.length;
    const position = (index: number) => (count === 1 ? 0.5 : index / (count - 1));
    return {
      labels: spec.choices.map(String),
      range: `${count} choices`,
      bucket: (value) => (value === undefined ? -1 : spec.choices.indexOf(value)),
      position: (value) => {
        const index = value === undefined ? -1 : spec.choices.indexOf(value);
        return index < 0 ? undefined : position(index);
      },
      bucketPosition: position,
    };
  }
  const log = spec.log === true && spec.min > 0;
  const scale = (value: number) => (log ? Math.log(value) : value);
  const low = scale(spec.min);
  const span = scale(spec.max) - low;
  const toFraction = (value: number) => (span === 0 ? 0.5 : (scale(value) - low) / span);
  const position = (value: ParameterValue | undefined) =>
    typeof value === 'number' && value >= spec.min && value <= spec.max ? toFraction(value) : undefined;
  const grid = stepGrid(spec);
  if (grid !== undefined && grid.count <= MAX_DISCRETE_VALUES) {
    const values = Array.from({ length: grid.count }, (_, index) => grid.valueAt(index));
    return {
      labels: values.map(formatNumber),
      range: `${formatNumber(spec.min)} … ${formatNumber(spec.max)}`,
      bucket: (value) =>
        typeof value === 'number' && position(value) !== undefined ? grid.nearestIndex(value) : -1,
      position,
      bucketPosition: (bucket) => toFraction(values[bucket] as number),
    };
  }
  const bins = span === 0 ? 1 : NUMERIC_BINS;
  const edge = (index: number) => (log ? Math.exp(low + (span * index) / bins) : low + (span * index) / bins);
  return {
    range: `${formatNumber(spec.min)} … ${formatNumber(spec.max)}${log ? ', log' : ''}`,
    labels: Array.from(
      { length: bins },
      (_, index) => `${formatNumber(edge(index))}–${formatNumber(edge(index + 1))}`,
    ),
    bucket: (value) => {
      const fraction = position(value);
      return fraction === undefined ? -1 : Math.min(bins - 1, Math.floor(fraction * bins));
    },
    position,
    bucketPosition: (bucket) => (bucket + 0.5) / bins,
  };
}

// ---------------------------------------------------------------------------------------------
// Sections

function spaceTable(space: SearchSpace): string {
  const rows = Object.entries(space).map(([key, spec]) => {
    const values =
      spec.kind === 'choice'
        ? spec.choices.map((choice) => formatValue(choice)).join(', ')
        : `${formatNumber(spec.min)} … ${formatNumber(spec.max)}${spec.step === undefined ? '' : ` step ${formatNumber(spec.step)}`}${spec.log === true ? ' (log)' : ''}`;
    return `<tr><td><code>${escapeHtml(key)}</code></td><td>${escapeHtml(spec.kind)}</td><td>${escapeHtml(values)}</td></tr>`;
  });
  return `<h2>Search space</h2><table><thead><tr><th>parameter</th><th>kind</th><th>values</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function rankedTable(input: OptimizeReportInput): string {
  const keys = Object.keys(input.space);
  const head = [
    'rank',
    'trial',
    `score (${input.objective})`,
    ...keys,
    'trades',
    'net PnL',
    'return',
    'max DD',
    'sharpe',
    'sortino',
    'calmar',
    'win rate',
    'fees',
    'funding',
  ];
  const rows = input.ranked.map((row, index) => {
    const metrics = row.metrics;
    const cells = [
      String(index + 1),
      String(row.trial),
      formatNumber(row.score),
      ...keys.map((key) => formatValue(row.params[key])),
      String(metrics.trades),
      formatMoney(metrics.netPnl),
      formatPercent(metrics.totalReturn),
      formatPercent(metrics.maxDrawdown),
      formatNumber(metrics.sharpe),
      formatNumber(metrics.sortino),
      formatNumber(metrics.calmar),
      formatPercent(metrics.winRate),
      formatMoney(metrics.fees),
      formatMoney(metrics.fundingPnl),
    ];
    return `<tr class="ranked-row" data-trial="${escapeHtml(row.trial)}">${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`;
  });
  return `<h2>Best trials</h2><div class="scroll"><table class="ranked"><thead><tr>${head.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const PLOT_WIDTH = 420;
const PLOT_HEIGHT = 220;
const MARGIN = { left: 48, right: 12, top: 10, bottom: 34 };

function sensitivityPlots(input: OptimizeReportInput): string {
  const scored = input.points.filter(
    (point): point is { params: ParameterSet; score: number } =>
      point.score !== null && Number.isFinite(point.score),
  );
  const infeasible = input.points.length - scored.length;
  if (scored.length === 0) return '<h2>Sensitivity</h2><p>No trial has a score yet.</p>';
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const point of scored) {
    if (point.score < low) low = point.score;
    if (point.score > high) high = point.score;
  }
  const span = high - low || 1;
  const innerWidth = PLOT_WIDTH - MARGIN.left - MARGIN.right;
  const innerHeight = PLOT_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (fraction: number) => MARGIN.left + fraction * innerWidth;
  const y = (score: number) => MARGIN.top + (1 - (score - low) / span) * innerHeight;
  const shown = evenSample(scored, MAX_SCATTER_POINTS);

  const plots = Object.entries(input.space).map(([key, spec]) => {
    const axis = axisFor(spec);
    // One path of zero-length round-capped segments draws every point in ~12 bytes each.
    let dots = '';
    for (const point of shown) {
      const fraction = axis.position(point.params[key]);
      if (fraction !== undefined) dots += `M${coordinate(x(fraction))} ${coordinate(y(point.score))}h0`;
    }
    const sums = axis.labels.map(() => ({ total: 0, count: 0 }));
    for (const point of scored) {
      const bucket = axis.bucket(point.params[key]);
      const sum = sums[bucket];
      if (sum !== undefined) {
        sum.total += point.score;
        sum.count++;
      }
    }
    const means = sums.flatMap((sum, bucket) =>
      sum.count === 0 ? [] : [{ bucket, mean: sum.total / sum.count, count: sum.count }],
    );
    const line = means
      .map(
        (entry, index) =>
          `${index === 0 ? 'M' : 'L'}${coordinate(x(axis.bucketPosition(entry.bucket)))} ${coordinate(y(entry.mean))}`,
      )
      .join('');
    const markers = means
      .map(
        (entry) =>
          `<circle class="mean" cx="${coordinate(x(axis.bucketPosition(entry.bucket)))}" cy="${coordinate(y(entry.mean))}" r="3.5"><title>${escapeHtml(`${key} ${axis.labels[entry.bucket]}: mean ${formatNumber(entry.mean)} over ${entry.count} trials`)}</title></circle>`,
      )
      .join('');
    const labels =
      spec.kind === 'choice'
        ? axis.labels
            .map(
              (label, index) =>
                `<text x="${coordinate(x(axis.bucketPosition(index)))}" y="${PLOT_HEIGHT - 18}" text-anchor="middle">${escapeHtml(label)}</text>`,
            )
            .join('')
        : `<text x="${MARGIN.left}" y="${PLOT_HEIGHT - 18}">${escapeHtml(formatNumber(spec.min))}</text><text x="${PLOT_WIDTH - MARGIN.right}" y="${PLOT_HEIGHT - 18}" text-anchor="end">${escapeHtml(formatNumber(spec.max))}</text>`;
    return `<figure class="plot"><svg class="sensitivity" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" viewBox="0 0 ${PLOT_WIDTH} ${PLOT_HEIGHT}" role="img" aria-label="${escapeHtml(`${input.objective} against ${key}`)}"><rect class="frame" x="${MARGIN.left}" y="${MARGIN.top}" width="${innerWidth}" height="${innerHeight}"/><text x="${MARGIN.left - 4}" y="${MARGIN.top + 8}" text-anchor="end">${escapeHtml(formatNumber(high))}</text><text x="${MARGIN.left - 4}" y="${MARGIN.top + innerHeight}" text-anchor="end">${escapeHtml(formatNumber(low))}</text>${labels}<text x="${MARGIN.left + innerWidth / 2}" y="${PLOT_HEIGHT - 4}" text-anchor="middle" class="axis-title">${escapeHtml(key)}</text><path class="points" d="${dots}"/><path class="mean-line" d="${line}"/>${markers}</svg></figure>`;
  });
  const sampled =
    shown.length < scored.length
      ? ` Points show ${shown.length} of ${scored.length} scored trials (evenly spaced); means use all of them.`
      : '';
  return `<h2>Sensitivity</h2><p class="meta">${escapeHtml(`${input.objective} of each scored trial against each parameter, with the mean per value (or per bin). ${infeasible} infeasible trials not shown.${sampled}`)}</p><div class="plots">${plots.join('')}</div>`;
}

function heatmaps(input: OptimizeReportInput): string {
  const keys = Object.keys(input.space).slice(0, HEATMAP_PARAMETERS);
  if (keys.length < 2) return '';
  const scored = input.points.filter((point) => point.score !== null && Number.isFinite(point.score));
  const axes = new Map(keys.map((key) => [key, axisFor(input.space[key] as ParameterSpec)]));
  const maps: string[] = [];
  for (let first = 0; first < keys.length; first++)
    for (let second = first + 1; second < keys.length; second++) {
      const rowKey = keys[first] as string;
      const columnKey = keys[second] as string;
      const rows = axes.get(rowKey) as Axis;
      const columns = axes.get(columnKey) as Axis;
      const cells = rows.labels.map(() => columns.labels.map(() => ({ total: 0, count: 0 })));
      for (const point of scored) {
        const cell = cells[rows.bucket(point.params[rowKey])]?.[columns.bucket(point.params[columnKey])];
        if (cell !== undefined) {
          cell.total += point.score as number;
          cell.count++;
        }
      }
      const means = cells.flat().flatMap((cell) => (cell.count === 0 ? [] : [cell.total / cell.count]));
      const low = Math.min(...means);
      const high = Math.max(...means);
      const labelWidth = 90;
      const cellWidth = Math.max(14, Math.min(48, 480 / columns.labels.length));
      const cellHeight = Math.max(12, Math.min(28, 320 / rows.labels.length));
      const width = labelWidth + cellWidth * columns.labels.length + 4;
      const height = 20 + cellHeight * rows.labels.length + 40;
      let body = '';
      cells.forEach((row, rowIndex) => {
        body += `<text x="${labelWidth - 4}" y="${coordinate(20 + rowIndex * cellHeight + cellHeight * 0.7)}" text-anchor="end">${escapeHtml(rows.labels[rowIndex])}</text>`;
        row.forEach((cell, columnIndex) => {
          const mean = cell.count === 0 ? null : cell.total / cell.count;
          const fill = mean === null ? '#eee' : color(high === low ? 0.5 : (mean - low) / (high - low));
          const tip = `${rowKey}=${rows.labels[rowIndex]}, ${columnKey}=${columns.labels[columnIndex]}: ${mean === null ? 'no scored trial' : `mean ${formatNumber(mean)} over ${cell.count} trials`}`;
          body += `<rect class="cell${mean === null ? ' empty' : ''}" x="${coordinate(labelWidth + columnIndex * cellWidth)}" y="${coordinate(20 + rowIndex * cellHeight)}" width="${coordinate(cellWidth - 1)}" height="${coordinate(cellHeight - 1)}" fill="${fill}"><title>${escapeHtml(tip)}</title></rect>`;
        });
      });
      // Column labels only when they fit (else the range goes in the axis title); every cell names its values in its tooltip.
      const longest = Math.max(...columns.labels.map((label) => label.length));
      if (longest * 6 <= cellWidth)
        columns.labels.forEach((label, columnIndex) => {
          body += `<text x="${coordinate(labelWidth + (columnIndex + 0.5) * cellWidth)}" y="${coordinate(20 + rows.labels.length * cellHeight + 14)}" text-anchor="middle">${escapeHtml(label)}</text>`;
        });
      body += `<text x="${coordinate(labelWidth + (cellWidth * columns.labels.length) / 2)}" y="${height - 6}" text-anchor="middle" class="axis-title">${escapeHtml(longest * 6 <= cellWidth ? columnKey : `${columnKey} (${columns.range})`)}</text><text x="4" y="12" class="axis-title">${escapeHtml(rowKey)}</text>`;
      maps.push(
        `<figure class="plot"><svg class="heatmap" data-rows="${rows.labels.length}" data-columns="${columns.labels.length}" width="${coordinate(width)}" height="${height}" viewBox="0 0 ${coordinate(width)} ${height}" role="img" aria-label="${escapeHtml(`mean ${input.objective} by ${rowKey} and ${columnKey}`)}">${body}</svg></figure>`,
      );
    }
  return `<h2>Heatmaps</h2><p class="meta">${escapeHtml(`Mean ${input.objective} of the scored trials for each pair of values (green best, red worst, grey: no scored trial).`)}</p><div class="plots">${maps.join('')}</div>`;
}

function walkForwardSection(input: OptimizeReportInput): string {
  const walkForward = input.walkForward;
  if (walkForward === undefined) return '';
  const { rows, summary } = walkForward;
  const keys = Object.keys(input.space);
  const byIndex = new Map(summary.perWindow.map((window) => [window.index, window]));
  const body = rows.map((row) => {
    const judged = byIndex.get(row.window.index);
    const cells = [
      String(row.window.index),
      `${formatTime(row.window.trainStart)} → ${formatTime(row.window.trainEnd)}`,
      `${formatTime(row.window.testStart)} → ${formatTime(row.window.testEnd)}`,
      ...keys.map((key) => formatValue(row.params[key])),
      formatNumber(judged?.inSample),
      formatNumber(judged?.outOfSample),
      formatMoney(row.inSample.netPnl),
      formatMoney(row.outOfSample.netPnl),
      String(row.outOfSample.trades),
      judged?.diverged ? 'diverged' : 'ok',
    ];
    return `<tr class="${judged?.diverged ? 'diverged' : 'ok'}">${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`;
  });
  const head = [
    'window',
    'train',
    'test',
    ...keys,
    `IS ${input.objective}`,
    `OOS ${input.objective}`,
    'IS net PnL',
    'OOS net PnL',
    'OOS trades',
    '',
  ];
  const warnings =
    summary.warnings.length === 0
      ? '<p class="good">No divergence between in-sample and out-of-sample results.</p>'
      : `<ul class="warnings">${summary.warnings.map((warning) => `<li class="warning">${escapeHtml(warning)}</li>`).join('')}</ul>`;
  const figures = [
    ['windows', String(summary.windows)],
    [`IS mean ${input.objective}`, formatNumber(summary.inSampleMean)],
    [`OOS mean ${input.objective}`, formatNumber(summary.outOfSampleMean)],
    ['efficiency', formatPercent(summary.efficiency)],
    ['OOS net PnL', formatMoney(summary.outOfSampleNetPnl)],
    ['verdict', summary.diverged ? 'diverged' : 'holds up'],
  ];
  return `<h2>Walk-forward</h2><div class="cards">${figures.map(([label, value]) => `<div class="card${label === 'verdict' && summary.diverged ? ' bad' : ''}"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`).join('')}</div>${warnings}<div class="scroll"><table class="walk-forward"><thead><tr>${head.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

function histogramSvg(
  bins: MonteCarloResult['histogram']['netPnl'],
  label: string,
  format: (value: number) => string,
): string {
  if (bins.length === 0) return '';
  const width = 360;
  const height = 140;
  const top = Math.max(...bins.map((bin) => bin.count)) || 1;
  const barWidth = (width - 8) / bins.length;
  const bars = bins
    .map((bin, index) => {
      const barHeight = (bin.count / top) * (height - 40);
      return `<rect class="bar" x="${coordinate(4 + index * barWidth)}" y="${coordinate(height - 24 - barHeight)}" width="${coordinate(Math.max(1, barWidth - 1))}" height="${coordinate(barHeight)}"><title>${escapeHtml(`${format(bin.from)} to ${format(bin.to)}: ${bin.count} runs`)}</title></rect>`;
    })
    .join('');
  const first = bins[0] as (typeof bins)[number];
  const last = bins.at(-1) as (typeof bins)[number];
  return `<figure class="plot"><svg class="histogram" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}">${bars}<text x="4" y="${height - 8}">${escapeHtml(format(first.from))}</text><text x="${width - 4}" y="${height - 8}" text-anchor="end">${escapeHtml(format(last.to))}</text><text x="${width / 2}" y="12" text-anchor="middle" class="axis-title">${escapeHtml(label)}</text></svg></figure>`;
}

function monteCarloSection(input: OptimizeReportInput): string {
  const results = input.monteCarlo ?? [];
  if (results.length === 0) return '';
  const parts = results.map((result) => {
    const level = `${Math.round(result.confidence * 1000) / 10}%`;
    const row = (
      name: string,
      interval: MonteCarloResult['netPnl'],
      format: (value: number) => string,
      original: string,
    ) =>
      `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(original)}</td><td>${escapeHtml(format(interval.mean))}</td><td>${escapeHtml(format(interval.median))}</td><td>${escapeHtml(format(interval.lower))}</td><td>${escapeHtml(format(interval.upper))}</td></tr>`;
    return `<h3>${escapeHtml(`${result.method}: ${result.runs} runs of ${result.trades} trades`)}</h3><table class="monte-carlo"><thead><tr><th></th><th>as traded</th><th>mean</th><th>median</th><th>${escapeHtml(`${level} low`)}</th><th>${escapeHtml(`${level} high`)}</th></tr></thead><tbody>${row('net PnL', result.netPnl, formatMoney, formatMoney(result.original.netPnl))}${row('max drawdown', result.maxDrawdown, formatPercent, formatPercent(result.original.maxDrawdown))}${row('final return', result.finalReturn, formatPercent, '')}</tbody></table><p>${escapeHtml(`Probability of a loss: ${formatPercent(result.probabilityOfLoss)}.`)}</p><div class="plots">${histogramSvg(result.histogram.netPnl, 'net PnL', formatMoney)}${histogramSvg(result.histogram.maxDrawdown, 'max drawdown', formatPercent)}</div>`;
  });
  return `<h2>Monte Carlo</h2><p class="meta">Intervals are empirical percentiles (linear interpolation between order statistics) of the simulated runs. Shuffle permutes the trades (net PnL fixed, drawdown varies); bootstrap resamples them with replacement.</p>${parts.join('')}`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1280px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
.meta{color:#59636e}table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:right;white-space:nowrap}
th{background:#f6f8fa;position:sticky;top:0}td:first-child,th:first-child{text-align:left}.scroll{overflow:auto;max-height:560px}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{margin:0}svg{font-size:10px;fill:#59636e;max-width:100%;height:auto}
.frame{fill:none;stroke:#d0d7de}.points{stroke:#0969da55;stroke-width:3;stroke-linecap:round;fill:none}
.mean-line{fill:none;stroke:#cf222e;stroke-width:1.5}.mean{fill:#cf222e}.axis-title{font-weight:600;fill:#1f2328}
.bar{fill:#0969da}.warnings{background:#fff8c5;border:1px solid #d4a72c;padding:8px 8px 8px 28px;border-radius:6px}.warning{color:#7d4e00}
tr.diverged td{background:#ffebe9}.good{color:#1a7f37}.cards{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:6px 12px;min-width:110px}.card b{display:block;font-size:17px}.card span{color:#59636e;font-size:12px}
.card.bad{border-color:#cf222e;color:#cf222e}pre{background:#f6f8fa;padding:12px;border-radius:6px;overflow:auto}`;

/** Renders the report. Every piece of text from the input is HTML-escaped. */
export function renderOptimizeReport(input: OptimizeReportInput): string {
  const meta = [
    `objective ${input.objective}`,
    `min trades ${input.minTrades}`,
    `sampler ${input.sampler}`,
    `seed ${input.seed}`,
    `${input.trialsDone} of ${input.trialsTotal} trials`,
  ];
  const notes =
    input.notes === undefined || input.notes.length === 0
      ? ''
      : `<ul class="notes">${input.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`;
  const best =
    input.bestYaml === undefined
      ? ''
      : `<h2>Best parameters</h2><pre class="yaml">${escapeHtml(input.bestYaml)}</pre>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(input.title)}</title><style>${STYLE}</style></head><body>
<h1>${escapeHtml(input.title)}</h1><div class="meta">${escapeHtml(meta.join(' · '))}</div>${notes}
${best}
${rankedTable(input)}
${spaceTable(input.space)}
${sensitivityPlots(input)}
${heatmaps(input)}
${walkForwardSection(input)}
${monteCarloSection(input)}
</body></html>
`;
}
