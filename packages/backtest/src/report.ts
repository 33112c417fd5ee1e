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
const MAX_MARKERS = 200;

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

function equityAt(points: readonly (readonly [number, number])[], time: number): number {
  let found = points[0]?.[1] ?? 0;
  for (const [at, equity] of points) {
    if (at > time) break;
    found = equity;
  }
  return found;
}

function equityChart(points: readonly (readonly [number, number])[], trades: readonly TradeRecord[]): string {
  if (points.length < 2) return '<p>Not enough data for a chart.</p>';
  const height = 280;
  const s = scale(points, height);
  const path = points
    .map(
      ([time, equity], index) =>
        `${index === 0 ? 'M' : 'L'}${s.x(time).toFixed(1)},${s.y(equity).toFixed(1)}`,
    )
    .join('');
  // Markers help only while they stay readable.
  const markers = (trades.length <= MAX_MARKERS ? trades : [])
    .map((trade) => {
      const entryX = s.x(trade.openedAt);
      const entryY = s.y(equityAt(points, trade.openedAt));
      const exitX = s.x(trade.closedAt);
      const exitY = s.y(equityAt(points, trade.closedAt));
      const color = trade.netPnl >= 0 ? '#1a7f37' : '#cf222e';
      return `<g><title>${escapeHtml(`${trade.id} ${trade.direction} ${trade.symbol}: ${money(trade.netPnl)}`)}</title><path d="M${entryX.toFixed(1)},${(entryY + 7).toFixed(1)}l-4,7h8z" fill="#0969da"/><path d="M${exitX.toFixed(1)},${(exitY - 7).toFixed(1)}l-4,-7h8z" fill="${color}"/></g>`;
    })
    .join('');
  const note =
    trades.length > MAX_MARKERS
      ? `<p class="meta">${trades.length} trades: markers are drawn for up to ${MAX_MARKERS}; see the trade table.</p>`
      : '<p class="meta">▲ entry, ▼ exit (green: won, red: lost).</p>';
  return `<svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Equity curve with trade markers"><path d="${path}" fill="none" stroke="#0969da" stroke-width="1.5"/>${markers}</svg>${note}`;
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

function tradeTable(trades: readonly TradeRecord[]): string {
  const columns: [string, (trade: TradeRecord) => string | number][] = [
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
  const head = columns.map(([name], index) => `<th data-column="${index}">${escapeHtml(name)}</th>`).join('');
  const body = trades
    .map(
      (trade) =>
        `<tr>${columns
          .map(([, value]) => {
            const raw = value(trade);
            const shown =
              typeof raw === 'number'
                ? Math.abs(raw) >= 1000 || Number.isInteger(raw)
                  ? money(raw)
                  : raw.toPrecision(6)
                : escapeHtml(raw);
            return `<td data-value="${escapeHtml(raw)}">${shown}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  return `<table id="trades"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A self-contained HTML report: no network, no external files. */
export function renderHtmlReport(result: BacktestResult, title = 'perpkit backtest'): string {
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
  const quality = result.data.candles
    .map(
      (report) =>
        `<tr><td>${escapeHtml(report.source)}</td><td>${report.bars}</td><td>${iso(report.first)}</td><td>${iso(report.last)}</td><td>${report.gaps} (${report.missingBars} bars)</td><td>${report.duplicates}</td><td>${report.outOfOrder}</td><td>${report.invalid}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
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
<div class="cards">${cards.map(([label, value]) => `<div class="card"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`).join('')}</div>
<h2>Equity</h2>${equityChart(result.equityCurve, result.trades)}
<h2>Drawdown</h2>${drawdownChart(result.equityCurve)}
<h2>PnL breakdown</h2>
${breakdownTable('By entry reason', result.breakdowns.byReason)}
${breakdownTable('By exit reason', result.breakdowns.byExitReason)}
${breakdownTable('By regime', result.breakdowns.byRegime)}
${breakdownTable('By strategy', result.breakdowns.byStrategy)}
<h2>Trades (${result.trades.length})</h2>
<p class="meta">Click a column to sort. Edge is price PnL before slippage; net = edge − slippage − fees + funding.</p>
${tradeTable(result.trades)}
<h2>Data</h2>
<table><thead><tr><th>file</th><th>bars</th><th>first</th><th>last</th><th>gaps</th><th>duplicates</th><th>out of order</th><th>invalid</th></tr></thead><tbody>${quality}</tbody></table>
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
