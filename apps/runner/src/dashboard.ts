/**
 * The dashboard: one self-contained page (no external scripts, styles or fonts), fed by the
 * runner's WebSocket. Controls post to `/api/control` with the operator's token.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>perpkit runner</title>
<style>
  :root { --bg:#0f1419; --panel:#171c22; --line:#2a323c; --text:#d8dee6; --dim:#8b96a3; --up:#3fb950; --down:#f85149; --warn:#d29922; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:13px/1.45 system-ui, -apple-system, Segoe UI, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; flex-wrap:wrap; gap:16px; align-items:center; padding:10px 16px; border-bottom:1px solid var(--line); }
  header h1 { font-size:15px; margin:0 8px 0 0; }
  .badge { padding:2px 8px; border-radius:10px; font-weight:600; text-transform:uppercase; font-size:11px; }
  .phase-active { background:#123d1f; color:var(--up); } .phase-reducing { background:#3d300f; color:var(--warn); } .phase-halted { background:#3d1212; color:var(--down); }
  .dim { color:var(--dim); } .up { color:var(--up); } .down { color:var(--down); }
  main { display:grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap:12px; padding:12px 16px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:10px 12px; min-width:0; overflow:hidden; }
  section h2 { font-size:12px; text-transform:uppercase; letter-spacing:.05em; color:var(--dim); margin:0 0 8px; }
  table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; table-layout:fixed; }
  th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:360px; }
  th { color:var(--dim); font-weight:500; }
  td.num, th.num { text-align:right; }
  .kv { display:grid; grid-template-columns:auto 1fr; gap:2px 12px; }
  .kv span:nth-child(odd) { color:var(--dim); }
  button, select, input { background:#21262d; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:4px 8px; font:inherit; }
  button:hover { border-color:var(--accent); cursor:pointer; }
  .controls { display:flex; flex-wrap:wrap; gap:6px; align-items:center; }
  #status { min-height:1.4em; margin-top:6px; }
  svg { width:100%; height:160px; display:block; }
  .connection { font-size:11px; }
</style>
</head>
<body>
<header>
  <h1>perpkit</h1>
  <span>run <b id="run">-</b></span>
  <span>mode <b id="mode">-</b></span>
  <span>phase <span id="phase" class="badge">-</span></span>
  <span id="paused" class="badge phase-reducing" hidden>paused</span>
  <span>cycle <b id="cycle">0</b></span>
  <span>time <b id="time">-</b></span>
  <span id="replay" class="dim"></span>
  <span id="connection" class="connection dim">connecting…</span>
</header>
<main>
  <section>
    <h2>Controls</h2>
    <div class="controls">
      <input id="token" type="password" placeholder="control token" autocomplete="off" size="18">
      <button id="pause">Pause</button>
      <button id="resume">Resume</button>
      <select id="phase-select"><option>active</option><option>reducing</option><option>halted</option></select>
      <button id="set-phase">Set phase</button>
    </div>
    <div id="status" class="dim"></div>
    <div id="holds" class="dim"></div>
    <h2 style="margin-top:10px">Pending confirmations</h2>
    <table><tbody id="approvals"><tr><td class="dim">none</td></tr></tbody></table>
  </section>
  <section>
    <h2>PnL</h2>
    <div class="kv">
      <span>net</span><b id="pnl-net">0</b>
      <span>price (realized + unrealized)</span><span id="pnl-price">0</span>
      <span>fees</span><span id="pnl-fees">0</span>
      <span>funding settled</span><span id="pnl-funding">0</span>
      <span>funding accrued</span><span id="pnl-accrued">0</span>
      <span>orders / fills / denials</span><span id="counters">0 / 0 / 0</span>
    </div>
  </section>
  <section>
    <h2>Equity <span id="equity-value" class="dim"></span></h2>
    <svg id="equity" viewBox="0 0 600 160" preserveAspectRatio="none"></svg>
  </section>
  <section>
    <h2>Accounts</h2>
    <table><thead><tr><th>account</th><th class="num">equity</th><th class="num">free</th><th class="num">health</th><th class="num">leverage</th></tr></thead><tbody id="accounts"></tbody></table>
  </section>
  <section>
    <h2>Positions</h2>
    <table><thead><tr><th>instrument</th><th class="num">qty</th><th class="num">entry</th><th class="num">mark</th><th class="num">unrealized</th><th class="num">fees</th><th class="num">funding</th><th></th></tr></thead><tbody id="positions"></tbody></table>
  </section>
  <section>
    <h2>Recent signals</h2>
    <table><thead><tr><th>time</th><th>source</th><th>intent</th><th>instrument</th><th>reasons</th></tr></thead><tbody id="signals"></tbody></table>
  </section>
  <section>
    <h2>Risk denials</h2>
    <table><thead><tr><th>time</th><th>gate</th><th>code</th><th>instrument</th><th>message</th></tr></thead><tbody id="denials"></tbody></table>
  </section>
  <section>
    <h2>Alerts</h2>
    <table><thead><tr><th>time</th><th>level</th><th>code</th><th>message</th></tr></thead><tbody id="alerts"></tbody></table>
  </section>
  <section>
    <h2>Closed trades</h2>
    <table><thead><tr><th>closed</th><th>instrument</th><th>side</th><th class="num">net</th><th class="num">price</th><th class="num">fees</th><th class="num">funding</th></tr></thead><tbody id="trades"></tbody></table>
  </section>
</main>
<script>
(() => {
  const params = new URLSearchParams(location.search);
  const readToken = params.get('token') || '';
  const $ = (id) => document.getElementById(id);
  const tokenInput = $('token');
  tokenInput.value = sessionStorage.getItem('perpkit-control-token') || '';
  tokenInput.addEventListener('change', () => sessionStorage.setItem('perpkit-control-token', tokenInput.value));
  const money = (value) => (value >= 0 ? '' : '−') + Math.abs(value).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const signed = (value) => '<span class="' + (value > 0 ? 'up' : value < 0 ? 'down' : '') + '">' + money(value) + '</span>';
  const time = (ms) => ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-';
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const rows = (id, items, render, empty) => { $(id).innerHTML = items.length ? items.map(render).join('') : '<tr><td class="dim" colspan="8">' + empty + '</td></tr>'; };

  function chart(points) {
    const svg = $('equity');
    if (points.length < 2) { svg.innerHTML = ''; return; }
    const xs = points.map((p) => p[0]); const ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const sx = (x) => ((x - x0) / (x1 - x0 || 1)) * 596 + 2;
    const sy = (y) => 156 - ((y - y0) / (y1 - y0 || 1)) * 152;
    const path = points.map((p, i) => (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1)).join(' ');
    svg.innerHTML = '<path d="' + path + '" fill="none" stroke="#58a6ff" stroke-width="1.5" vector-effect="non-scaling-stroke"/>';
  }

  function render(state) {
    $('run').textContent = state.runId;
    $('mode').textContent = state.mode + (state.dryRun ? ' (dry run)' : '');
    const phase = $('phase'); phase.textContent = state.phase; phase.className = 'badge phase-' + state.phase;
    $('paused').hidden = !state.paused;
    $('cycle').textContent = String(state.cycle);
    $('time').textContent = time(state.at);
    $('replay').textContent = state.replay ? 'replay ' + state.replay.bars.toLocaleString('en-US') + ' bars' + (state.replay.finished ? ' (finished)' : '') : '';
    $('holds').textContent = state.holds.length ? 'held by ' + state.holds.map((h) => h.source + ' (' + h.phase + ': ' + h.reason + ')').join('; ') : '';
    $('pnl-net').innerHTML = signed(state.pnl.net);
    $('pnl-price').innerHTML = signed(state.pnl.price);
    $('pnl-fees').innerHTML = signed(-state.pnl.fees);
    $('pnl-funding').innerHTML = signed(state.pnl.fundingSettled);
    $('pnl-accrued').innerHTML = signed(state.pnl.fundingAccrued);
    $('counters').textContent = state.counters.orders + ' / ' + state.counters.fills + ' / ' + state.counters.denials;
    const equity = state.accounts.reduce((sum, a) => sum + a.equity, 0);
    $('equity-value').textContent = state.accounts.length ? money(equity) : '';
    chart(state.equity);
    rows('accounts', state.accounts, (a) => '<tr><td>' + escape(a.exchange + '/' + a.account) + '</td><td class="num">' + money(a.equity) + '</td><td class="num">' + money(a.freeCollateral) + '</td><td class="num">' + (a.healthRatio * 100).toFixed(1) + '%</td><td class="num">' + a.leverage.toFixed(2) + '×</td></tr>', 'no accounts yet');
    rows('positions', state.positions, (p) => '<tr data-symbol="' + escape(p.symbol) + '"><td>' + escape(p.exchange + '/' + p.account + ' ' + p.symbol) + '</td><td class="num">' + p.quantity + '</td><td class="num">' + money(p.entryPrice) + '</td><td class="num">' + money(p.markPrice) + '</td><td class="num">' + signed(p.unrealizedPnl) + '</td><td class="num">' + money(p.fees) + '</td><td class="num">' + signed(p.fundingSettled + p.fundingAccrued) + '</td><td><button data-close="' + escape(p.exchange) + '" data-symbol="' + escape(p.symbol) + '" data-account="' + escape(p.account) + '">Close</button></td></tr>', 'flat');
    rows('signals', state.signals.slice(0, 20), (s) => '<tr><td>' + time(s.at) + '</td><td>' + escape(s.strategy) + '</td><td>' + escape(s.intent + (s.side ? ' ' + s.side : '')) + '</td><td>' + escape(s.symbol) + '</td><td title="' + escape(s.reasons) + '">' + escape(s.reasons) + '</td></tr>', 'none yet');
    rows('denials', state.denials.slice(0, 20), (d) => '<tr><td>' + time(d.at) + '</td><td>' + escape(d.gate) + '</td><td>' + escape(d.code) + '</td><td>' + escape(d.symbol) + '</td><td title="' + escape(d.message) + '">' + escape(d.message) + '</td></tr>', 'none');
    rows('alerts', state.alerts.slice(0, 20), (a) => '<tr><td>' + time(a.at) + '</td><td class="' + (a.level === 'critical' ? 'down' : a.level === 'warning' ? '' : 'dim') + '">' + escape(a.level) + '</td><td>' + escape(a.code) + '</td><td title="' + escape(a.message) + '">' + escape(a.message) + '</td></tr>', 'none');
    rows('trades', state.trades.slice(0, 20), (t) => '<tr><td>' + time(t.closedAt) + '</td><td>' + escape(t.symbol) + '</td><td>' + escape(t.direction) + '</td><td class="num">' + signed(t.netPnl) + '</td><td class="num">' + signed(t.pricePnl) + '</td><td class="num">' + money(t.fees) + '</td><td class="num">' + signed(t.funding) + '</td></tr>', 'none yet');
    rows('approvals', state.approvals, (r) => '<tr><td>' + escape(r.summary) + '</td><td class="dim">expires ' + time(r.expiresAt) + '</td><td><button data-approve="' + escape(r.id) + '">Approve</button> <button data-reject="' + escape(r.id) + '">Reject</button></td></tr>', 'none');
  }

  async function control(body) {
    const status = $('status');
    status.className = 'dim'; status.textContent = body.action + '…';
    try {
      const response = await fetch('/api/control', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + tokenInput.value }, body: JSON.stringify(body) });
      const result = await response.json();
      status.className = response.ok ? 'up' : 'down';
      status.textContent = response.ok ? body.action + ': done' : body.action + ' refused (' + response.status + '): ' + result.error;
    } catch (error) {
      status.className = 'down'; status.textContent = body.action + ' failed: ' + error;
    }
  }
  $('pause').addEventListener('click', () => control({ action: 'pause', reason: 'paused from the dashboard' }));
  $('resume').addEventListener('click', () => control({ action: 'resume', reason: 'resumed from the dashboard' }));
  $('set-phase').addEventListener('click', () => control({ action: 'phase', phase: $('phase-select').value, reason: 'set from the dashboard' }));
  document.addEventListener('click', (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement)) return;
    if (target.dataset.close) control({ action: 'close', exchange: target.dataset.close, symbol: target.dataset.symbol, account: target.dataset.account, reason: 'closed from the dashboard' });
    if (target.dataset.approve) control({ action: 'approve', id: target.dataset.approve });
    if (target.dataset.reject) control({ action: 'reject', id: target.dataset.reject, reason: 'rejected from the dashboard' });
  });

  let retry = 250;
  function connect() {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws' + (readToken ? '?token=' + encodeURIComponent(readToken) : '');
    const socket = new WebSocket(url);
    socket.onopen = () => { retry = 250; $('connection').textContent = 'live'; $('connection').className = 'connection up'; };
    socket.onmessage = (message) => { const data = JSON.parse(message.data); if (data.type === 'state') render(data.state); };
    socket.onclose = () => { $('connection').textContent = 'reconnecting…'; $('connection').className = 'connection down'; setTimeout(connect, retry); retry = Math.min(retry * 2, 5000); };
  }
  connect();
})();
</script>
</body>
</html>
`;
