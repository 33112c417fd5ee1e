import { PLUGIN_KINDS, PLUGIN_PACKAGE_PREFIX } from '@perpkit/core';

const prefixes = PLUGIN_KINDS.map((kind) => `@perpkit/${PLUGIN_PACKAGE_PREFIX[kind]}-<name>`).join(', ');

export const MAIN_HELP = `runner: compose perpkit plugins from YAML and run them

Usage:
  runner [run] --config <file> [--plugins a,b] [options]   trade (paper by default)
  runner backtest --config <file> [--data <path>] [--json <file>] [--report <dir>]
  runner optimize --config <file> [--workers <n>] [--queue redis://...]  parameter search
  runner worker --queue redis://host:port         run queued optimizer trials
  runner plugins [--plugins a,b] [--config <file>] [--json]  list what resolves
  runner --help | runner <command> --help | runner --version

Options for run:
  -c, --config <file>     YAML config (required). See "Config" below.
  -p, --plugins <list>    Comma-separated plugins to load, e.g. drift,funding-arb.
      --live              Trade live. Needs "live: true" in the config as well;
                          with only one of the two the runner refuses to start live.
      --dry-run           Compute decisions and costs and record them, place no orders
                          (each order that would go out is recorded with its estimated
                          fee and slippage). Works with --live for a live config.
      --log-level <level> trace, debug, info, warn, error or silent (default: the
                          LOG_LEVEL environment variable, else config log.level, else info).
      --http <host:port>  Serve /health, /metrics and the dashboard (overrides http.listen;
                          ":8080" means 127.0.0.1:8080; port 0 picks a free port).
      --db <file>         SQLite audit log and state (overrides store.path; default: the
                          config's name with .db, next to it).
      --fresh             Ignore the state saved by the last run in the database (its
                          history stays); without it the runner resumes and reconciles.
      --speed <n>         Replay speed (overrides replay.speed).
  -h, --help              Show help.

Modes:
  Paper is the default: orders are filled by the simulated venue (@perpkit/sim). An exchange
  other than sim is used read-only in paper mode (its market data feeds a simulated venue);
  its order methods are never called.
  Live trading needs both --live and "live: true"; secrets come only from the
  environment, through \${NAME} in the config.

Built-in plugins: the simulated venue (sim); risk gates pacing, loss-limits, exposure,
profitability, staleness, latency, native-reserve, confirmation, ai-gate; monitors health,
margin, exposure, liquidation-distance, hedge, funding-flip, stale-data, cycle-failures.

Operator console: while the runner trades, it reads commands on stdin:
  status, approvals, approve <id>, reject <id> [reason], phase <active|reducing|halted> [reason],
  emergency <reason>, stop, help. Confirmations (the confirmation gate) are answered here.

Plugin resolution (for --plugins, the config's "plugins:" list and every "plugin:" key),
in this fixed order; a miss lists every candidate tried:
  1. a built-in plugin of that name (runner plugins shows them);
  2. ${prefixes};
  3. the name as a package (e.g. perpkit-strategy-sma-cross, @acme/strategy-x);
  4. a file path, relative to the config file's directory, then the current directory.
  Packages and files export a plugin as default, or an array / a "plugins" array.

Config (YAML, strict: an unknown key is an error that names the file, path and line):
  plugins: [name, ...]          extra plugins to load
  live: false                   must be true for --live
  runId: <string>               run id stamped on every audit record (default: generated)
  engine:
    cycleInterval: 1s           time between cycles (ms, or 500ms, 5s, 1m, 2h, 1d)
    maxConsecutiveFailures: 5   failed cycles in a row before the engine halts itself
    candleHistory: 500          bars kept per instrument for strategies
    accountRefresh: 5s          account polling for exchanges without account streams
    minHold: 0                  exit rules other than layer 1 wait this long after entry
  exchanges:                    map of exchange id → { plugin: <name> (default: the id), options: {...} }
  strategies:  [{ plugin, id?, options }]
  riskGates:   [{ plugin, id?, options }]   evaluated in this order, after the phase gate
  exitRules:   [{ plugin, id?, options }]   layered, first hit wins
  monitors:    [{ plugin, id?, options }]
  shutdown:
    cancelOpenOrders: true      cancel open orders on SIGINT/SIGTERM
    closePositions: false       close positions on shutdown (reduce-only market orders)
    timeout: 30s                upper bound for the whole shutdown
  log:
    level: info                 also --log-level and LOG_LEVEL
    dir: logs                   daily log files <dir>/runner-YYYY-MM-DD.log (default: none)
    retainDays: 30              log files older than this are deleted
  store:
    path: bot.db                SQLite audit log and state (also --db)
    synchronous: normal         normal survives a crash of the process; full also a power loss
    flushInterval: 100ms        write-behind delay (orders, fills and funding are written at once)
  http:
    listen: 127.0.0.1:8080      also --http; off when neither is given
    controlToken: \${PERPKIT_CONTROL_TOKEN}   needed by the dashboard's controls (env only)
    readToken: \${PERPKIT_READ_TOKEN}         protects the read-only view too (env only)
    staleAfter: 60s             market data older than this makes /health fail
  replay:                       paper trading on recorded data (sim venues, next-open fills)
    speed: 60                   60× real time (also --speed)
    from: / to:                 time range (ISO or epoch ms)
    data: [...]                 instruments, exactly as backtest.data (see runner backtest --help)
  backtest: {...}               read by "runner backtest" (see runner backtest --help)
  optimize: {...}               read by "runner optimize" (see runner optimize --help)

  Environment variables are read only where the config asks: "\${NAME}" in a string
  value, or "\${NAME:-default}" to fall back to a default written in the file. "$NAME" is left as written; "$\${" writes a literal "\${". A missing variable is an
  error naming the path. Values that came from the environment are treated as secrets.

HTTP (with --http):
  GET /health      200 when healthy, 503 with the failing checks: the loop is stuck (last
                   cycle older than twice cycleInterval), market data is stale, a plugin's
                   health check fails, or the store cannot keep up.
  GET /metrics     Prometheus metrics (cycle durations, orders, fills, denials by reason,
                   equity, health ratio, funding PnL, phase, ...).
  GET /            the dashboard (live over a WebSocket); ?token=<read token> if one is set.
  POST /api/control  {"action": "pause"|"resume"|"phase"|"close"|"approve"|"reject", ...}
                   with "Authorization: Bearer <control token>".

Restarts:
  Every commit to the database saves a checkpoint (positions, open orders, phase holds, plugin
  memory, the paper venue's books). On start the runner resumes from it and reconciles with
  what the exchanges report: positions and orders it did not know are adopted and flagged,
  never ignored. A replay resumes after the last bar it played.

Shutdown:
  The first SIGINT/SIGTERM starts one orderly shutdown: stop cycles, cancel open orders,
  close positions if configured, flush the store, close sockets, exit 0 within
  shutdown.timeout. A second signal does not start another.

Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration.
`;

export const PLUGINS_HELP = `runner plugins: list the plugins that resolve

Usage:
  runner plugins [--plugins a,b] [--config <file>] [--json]

Shows the built-in plugins, those named with --plugins, and, with --config, those the
config loads or references. Each row has kind, name, version and where it came from.
A name that does not resolve is an error listing every candidate tried.

Options:
  -p, --plugins <list>   Comma-separated plugins to resolve.
  -c, --config <file>    Also resolve the plugins this config uses.
      --json             Print JSON instead of a table.
`;
