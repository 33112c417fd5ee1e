import { closeSync, openSync, writeSync } from 'node:fs';
import type { BacktestResult } from './backtest';
import type { Breakdown, TradeRecord } from './metrics';

const escapeHtml = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string,
  );

const iso = (time: number | undefined) =>
  time === undefined ? '-' : new Date(time).toISOString().replace('T', ' ').slice(0, 16);
const money = (value: number) =>
  value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
const ratio = (value: number | null) => (value === null ? 'n/a' : value.toFixed(3));

const WIDTH = 960;
/** Above this many trades, markers lose their per-trade tooltips (every trade is still drawn). */
const MAX_MARKER_TOOLTIPS = 2000;

interface Scale {
  x(time: number): number;
  y(value: number): number;
}

function scale(points: readonly (readonly [number, number])[], height: number, padding = 8): Scale {
  const times = points.map(([time]) => time);
  const values = points.map(([, value]) => value);
  const minTime = Math.min(...times);
  const maxTime = Math.max(...times);
  const minValue = Math.min(...values);
  const maxValue = Math.max(...values);
  const spanTime = maxTime - minTime || 1;
  const spanValue = maxValue - minValue || Math.abs(maxValue) || 1;
  return {
    x: (time) => padding + ((time - minTime) / spanTime) * (WIDTH - 2 * padding),
    y: (value) => padding + (1 - (value - minValue) / spanValue) * (height - 2 * padding),
  };
}

/** Equity of the last curve point at or before `time` (binary search: the curve is time-ordered). */
function equityAt(points: readonly (readonly [number, number])[], time: number): number {
  let low = 0;
  let high = points.length - 1;
  let found = points[0]?.[1] ?? 0;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const point = points[middle] as readonly [number, number];
    if (point[0] <= time) {
      found = point[1];
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/**
 * The equity curve with a marker for every trade: ▲ at the entry, ▼ at the exit (green won, red
 * lost). All markers are always drawn; above `MAX_MARKER_TOOLTIPS` trades they are merged into
 * three paths without per-trade tooltips (the report says so), which keeps the page light.
 */
function* equityChart(
  points: readonly (readonly [number, number])[],
  trades: Iterable<TradeRecord>,
  tradeCount: number,
): Generator<string> {
  if (points.length < 2) {
    yield '<p>Not enough data for a chart.</p>';
    return;
  }
  const height = 280;
  const s = scale(points, height);
  const path = points
    .map(
      ([time, equity], index) =>
        `${index === 0 ? 'M' : 'L'}${s.x(time).toFixed(1)},${s.y(equity).toFixed(1)}`,
    )
    .join('');
  yield `<svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Equity curve with trade markers"><path d="${path}" fill="none" stroke="#0969da" stroke-width="1.5"/>`;
  const entry = (trade: TradeRecord) =>
    `M${s.x(trade.openedAt).toFixed(1)},${(s.y(equityAt(points, trade.openedAt)) + 7).toFixed(1)}l-4,7h8z`;
  const exit = (trade: TradeRecord) =>
    `M${s.x(trade.closedAt).toFixed(1)},${(s.y(equityAt(points, trade.closedAt)) - 7).toFixed(1)}l-4,-7h8z`;
  const color = (trade: TradeRecord) => (trade.netPnl >= 0 ? '#1a7f37' : '#cf222e');
  let drawn = 0;
  if (tradeCount <= MAX_MARKER_TOOLTIPS) {
    for (const trade of trades) {
      drawn += 1;
      yield `<g class="trade-marker"><title>${escapeHtml(`${trade.id} ${trade.direction} ${trade.symbol}: ${money(trade.netPnl)}`)}</title><path d="${entry(trade)}" fill="#0969da"/><path d="${exit(trade)}" fill="${color(trade)}"/></g>`;
    }
  } else {
    let entries = '';
    let won = '';
    let lost = '';
    for (const trade of trades) {
      drawn += 1;
      entries += entry(trade);
      if (trade.netPnl >= 0) won += exit(trade);
      else lost += exit(trade);
    }
    yield `<path class="trade-markers" d="${entries}" fill="#0969da"/><path class="trade-markers" d="${won}" fill="#1a7f37"/><path class="trade-markers" d="${lost}" fill="#cf222e"/>`;
  }
  yield '</svg>';
  const tooltips =
    drawn > MAX_MARKER_TOOLTIPS
      ? ` Markers for all ${drawn} trades are drawn without tooltips (more than ${MAX_MARKER_TOOLTIPS}); see the trade table for details.`
      : '';
  yield `<p class="meta">▲ entry, ▼ exit (green: won, red: lost): ${drawn} of ${drawn} trades marked.${tooltips}</p>`;
}

function drawdownChart(points: readonly (readonly [number, number])[]): string {
  if (points.length < 2) return '';
  let peak = Number.NEGATIVE_INFINITY;
  const drawdown = points.map(([time, equity]) => {
    peak = Math.max(peak, equity);
    return [time, peak > 0 ? -(peak - equity) / peak : 0] as const;
  });
  const height = 140;
  const s = scale([...drawdown, [drawdown[0]?.[0] ?? 0, 0]], height);
  const line = drawdown.map(([time, value]) => `L${s.x(time).toFixed(1)},${s.y(value).toFixed(1)}`).join('');
  const first = drawdown[0] as readonly [number, number];
  const last = drawdown.at(-1) as readonly [number, number];
  const area = `M${s.x(first[0]).toFixed(1)},${s.y(0).toFixed(1)}${line}L${s.x(last[0]).toFixed(1)},${s.y(0).toFixed(1)}Z`;
  return `<svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Drawdown"><path d="${area}" fill="#cf222e33" stroke="#cf222e" stroke-width="1"/></svg>`;
}

function breakdownTable(title: string, rows: readonly Breakdown[]): string {
  if (rows.length === 0) return '';
  const body = rows
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.key)}</td><td>${row.trades}</td><td>${percent(row.winRate)}</td><td>${money(row.netPnl)}</td><td>${money(row.edge)}</td><td>${money(row.fees)}</td><td>${money(row.slippage)}</td><td>${money(row.funding)}</td></tr>`,
    )
    .join('');
  return `<h3>${escapeHtml(title)}</h3><table><thead><tr><th>key</th><th>trades</th><th>win rate</th><th>net</th><th>edge</th><th>fees</th><th>slippage</th><th>funding</th></tr></thead><tbody>${body}</tbody></table>`;
}

const TRADE_COLUMNS: [string, (trade: TradeRecord) => string | number][] = [
  ['id', (trade) => trade.id],
  ['symbol', (trade) => `${trade.exchange}:${trade.symbol}`],
  ['side', (trade) => trade.direction],
  ['opened', (trade) => iso(trade.openedAt)],
  ['closed', (trade) => iso(trade.closedAt)],
  ['qty', (trade) => trade.quantity],
  ['entry', (trade) => trade.entryPrice],
  ['exit', (trade) => trade.exitPrice],
  ['edge', (trade) => trade.edge],
  ['fees', (trade) => trade.fees],
  ['slippage', (trade) => trade.slippage],
  ['funding', (trade) => trade.funding],
  ['net', (trade) => trade.netPnl],
  ['entry reason', (trade) => trade.entryReasons.join(' ')],
  ['exit reason', (trade) => trade.exitReasons.join(' ')],
  ['regime', (trade) => trade.regime ?? ''],
];

function* tradeTable(trades: Iterable<TradeRecord>): Generator<string> {
  const head = TRADE_COLUMNS.map(
    ([name], index) => `<th data-column="${index}">${escapeHtml(name)}</th>`,
  ).join('');
  yield `<table id="trades"><thead><tr>${head}</tr></thead><tbody>`;
  for (const trade of trades) {
    yield `<tr>${TRADE_COLUMNS.map(([, value]) => {
      const raw = value(trade);
      const shown =
        typeof raw === 'number'
          ? Math.abs(raw) >= 1000 || Number.isInteger(raw)
            ? money(raw)
            : raw.toPrecision(6)
          : escapeHtml(raw);
      return `<td data-value="${escapeHtml(raw)}">${shown}</td>`;
    }).join('')}</tr>`;
  }
  yield '</tbody></table>';
}

function dataTables(result: BacktestResult): string {
  const candleRow = (report: BacktestResult['data']['candles'][number]) =>
    `<tr><td>${escapeHtml(report.source)}</td><td>${report.bars}</td><td>${iso(report.first)}</td><td>${iso(report.last)}</td><td>${report.interval === undefined ? '-' : `${report.interval / 60_000}m`}</td><td>${report.gaps} (${report.missingBars} bars)</td><td>${report.duplicates}</td><td>${report.outOfOrder}</td><td>${report.invalid}</td><td>${report.filtered}</td></tr>`;
  const candleHead =
    '<thead><tr><th>file</th><th>bars</th><th>first</th><th>last</th><th>interval</th><th>gaps</th><th>duplicates</th><th>out of order</th><th>invalid</th><th>filtered</th></tr></thead>';
  let html = `<h3>Candles</h3><table>${candleHead}<tbody>${result.data.candles.map(candleRow).join('')}</tbody></table>`;
  if (result.data.funding.length > 0) {
    const rows = result.data.funding
      .map(
        (report) =>
          `<tr><td>${escapeHtml(report.source)}</td><td>${escapeHtml(report.format)}</td><td>${report.points}</td><td>${report.intervalHours}h</td><td>${iso(report.first)}</td><td>${iso(report.last)}</td><td>${report.irregularSpacings} (${report.missingSettlements} missing)</td><td>${report.offGrid}</td><td>${report.duplicates}</td><td>${report.outOfOrder}</td><td>${report.invalid}</td></tr>`,
      )
      .join('');
    html += `<h3>Funding</h3><table><thead><tr><th>file</th><th>format</th><th>settlements</th><th>interval</th><th>first</th><th>last</th><th>irregular spacings</th><th>off grid</th><th>duplicates</th><th>out of order</th><th>invalid</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
  if (result.data.marks.length > 0)
    html += `<h3>Mark prices</h3><table>${candleHead}<tbody>${result.data.marks.map(candleRow).join('')}</tbody></table>`;
  return html;
}

/**
 * The report as chunks of HTML, for writing to a file without building one large string. `trades`
 * (default `result.trades`) is read twice, for the markers and for the table: pass a function that
 * returns a fresh iterable (e.g. over a spool file) when the result does not keep its trades.
 */
export function* htmlReportChunks(
  result: BacktestResult,
  title = 'perpkit backtest',
  trades: () => Iterable<TradeRecord> = () => result.trades,
): Generator<string> {
  const { summary } = result;
  const cards: [string, string][] = [
    ['final equity', money(summary.finalEquity)],
    ['total return', percent(summary.totalReturn)],
    ['max drawdown', percent(summary.maxDrawdown)],
    ['Sharpe', ratio(summary.sharpe)],
    ['Sortino', ratio(summary.sortino)],
    ['Calmar', ratio(summary.calmar)],
    ['trades', String(summary.trades)],
    ['win rate', percent(summary.winRate)],
    ['fees', money(summary.fees)],
    ['slippage', money(summary.slippage)],
    ['funding', money(summary.fundingPnl)],
    ['exposure', percent(summary.exposure)],
    ['turnover', `${summary.turnover.toFixed(2)}×`],
    ['bars', summary.bars.toLocaleString('en-US')],
    ['engine', `${summary.engineMs.toFixed(0)} ms`],
  ];
  const sources = [
    ...result.data.candles.map((report) => `candles ${report.source}`),
    ...result.data.funding.map((report) => `funding ${report.source}`),
    ...result.data.marks.map((report) => `marks ${report.source}`),
  ];
  yield `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}h3{font-size:14px;margin:16px 0 6px}
.meta{color:#59636e}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:16px 0}
.card{border:1px solid #d1d9e0;border-radius:6px;padding:8px 10px}.card b{display:block;font-size:16px}.card span{color:#59636e;font-size:12px}
svg{width:100%;height:auto;border:1px solid #d1d9e0;border-radius:6px}table{border-collapse:collapse;width:100%;font-size:12px}
th,td{border-bottom:1px solid #eaeef2;padding:4px 6px;text-align:right;white-space:nowrap}th{cursor:pointer;background:#f6f8fa;position:sticky;top:0}
td:first-child,th:first-child{text-align:left}code{font-size:12px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<div class="meta">${iso(summary.start)} → ${iso(summary.end)} · trade list hash <code>${escapeHtml(summary.tradeListHash)}</code></div>
<div class="meta" id="sources">Data: ${sources.map((source) => `<code>${escapeHtml(source)}</code>`).join(', ')}</div>
<div class="cards">${cards.map(([label, value]) => `<div class="card"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`).join('')}</div>
<h2>Equity</h2>`;
  yield* equityChart(result.equityCurve, trades(), summary.trades);
  yield `
<h2>Drawdown</h2>${drawdownChart(result.equityCurve)}
<h2>PnL breakdown</h2>
${breakdownTable('By entry reason', result.breakdowns.byReason)}
${breakdownTable('By exit reason', result.breakdowns.byExitReason)}
${breakdownTable('By regime', result.breakdowns.byRegime)}
${breakdownTable('By strategy', result.breakdowns.byStrategy)}
<h2>Trades (${summary.trades})</h2>
<p class="meta">Click a column to sort. Edge is price PnL before slippage; net = edge − slippage − fees + funding.</p>
`;
  yield* tradeTable(trades());
  yield `
<h2>Data</h2>
${dataTables(result)}
<script>
document.querySelectorAll('#trades th').forEach(function (header) {
  header.addEventListener('click', function () {
    var table = document.getElementById('trades');
    var body = table.tBodies[0];
    var column = Number(header.dataset.column);
    var ascending = header.dataset.order !== 'asc';
    header.dataset.order = ascending ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
      var nx = Number(x), ny = Number(y);
      var order = !isNaN(nx) && !isNaN(ny) && x !== '' && y !== '' ? nx - ny : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
</script>
</body></html>
`;
}

/** A self-contained HTML report: no network, no external files. */
export function renderHtmlReport(result: BacktestResult, title = 'perpkit backtest'): string {
  let html = '';
  for (const chunk of htmlReportChunks(result, title)) html += chunk;
  return html;
}

/** Writes the report to `file` chunk by chunk (see `htmlReportChunks`). */
export function writeHtmlReport(
  file: string,
  result: BacktestResult,
  title?: string,
  trades?: () => Iterable<TradeRecord>,
): void {
  const descriptor = openSync(file, 'w');
  try {
    for (const chunk of htmlReportChunks(result, title, trades)) writeSync(descriptor, chunk);
  } finally {
    closeSync(descriptor);
  }
}
