import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type BacktestProgress,
  type BacktestResult,
  type FileInstrument,
  intervalMs,
  resultJsonChunks,
  runBacktest,
  type TradeRecord,
  TradeSpool,
  writeHtmlReport,
  writeResultJson,
} from '@perpkit/backtest';
import { ConfigError, type ConfigIssue, createConsoleLogger, type LogLevel, z } from '@perpkit/core';
import { builtinPlugins } from './builtins';
import { splitList, UsageError, usage } from './cli-support';
import { type CompositionPlan, loadPlugins, planComposition, searchDirsFor } from './compose';
import { describeIssues, type LoadedConfig, loadConfig } from './config';
import { type CliIo, EXIT } from './io';

export const BACKTEST_HELP = `runner backtest: run a config's strategies on historical data

Usage:
  runner backtest --config <file> [--data <path>] [--json <file|->] [--report <dir>]

The same engine, strategies, exit rules and risk gates as live run on simulated venues
(@perpkit/sim) driven by a simulated clock. Every exchange of the config must be a "sim" venue;
its options (fill model, fees, markets, accounts) are the simulated venue's.

Options:
  -c, --config <file>     YAML config with a "backtest:" section (required).
      --data <path>       Use this candle file instead of the one in the config; the config
                          must have exactly one instrument in backtest.data.
      --json <file|->     Write the full result (summary, trades, breakdowns, equity curve,
                          data reports) as JSON; "-" writes it to stdout.
      --report <dir>      Write a self-contained HTML report (report.html) and summary.json.
  -p, --plugins <list>    Extra plugins to load.
      --log-level <level> trace, debug, info, warn, error or silent (default: warn).
  -h, --help              Show this help.

A progress bar goes to stderr when stderr is a terminal.

Config section:
  backtest:
    data:                          one entry per instrument; paths are relative to the config file
      - exchange: sim              exchange id (default: the only exchange)
        symbol: BTC                a market of that exchange
        candles: path/to/file.csv  Binance klines, time/open/high/low/close/volume CSV (ISO or
                                   epoch times), or freqtrade JSON
        format: auto               auto, binance-kline, ohlcv-csv, freqtrade-json
        columns: { time: ts }      column names for other CSV layouts
        timeFormat: auto           auto, ms, s, iso
        timezoneOffsetHours: 0     naive times are in this UTC offset
        interval: 1m               bar length (default: inferred)
        resample: 1h               aggregate to this interval (5m, 1h, 4h, ...)
        dropLast: false            drop the file's last bar (captured before it closed); set it
                                   for the silertrades gravestone 1h files, whose last bar is
                                   unfinished
        funding: path | { path, format, symbol, intervalHours, timezoneOffsetHours }
                                   funding history; settlements happen at its times
        marks: path                mark-price candles; funding settles at the mark
    from: 2025-06-01T00:00:00Z     first bar (inclusive), ISO time or epoch ms
    to: 2025-06-30T00:00:00Z       last bar (exclusive)
    period: 1d                     return period for Sharpe and Sortino
    maxEquityPoints: 2000          points kept for the equity chart
    title: My backtest             report title

Result (JSON summary): bars, steps, trades (round trips), finalEquity, totalReturn, annualReturn,
maxDrawdown, sharpe, sortino, calmar, winRate, fees, slippage, fundingPnl, exposure, turnover,
engineMs (time inside the engine, excluding process start and file parsing), barsPerSecond and
tradeListHash (sha256 over the ordered trade list: equal hashes mean identical trades).
`;

const time = z.union([z.number(), z.string()]).transform((value, context) => {
  const parsed = typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(parsed)) {
    context.addIssue({
      code: 'custom',
      message: `not a time: ${JSON.stringify(value)} (use ISO 8601 or epoch ms)`,
    });
    return z.NEVER;
  }
  return parsed;
});

const interval = z.union([
  z.number().positive(),
  z.string().regex(/^\d+\s*(s|m|h|d|w)$/, 'an interval such as 1m, 5m, 1h, 4h, 1d'),
]);

const fundingSource = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1),
      format: z
        .enum(['auto', 'binance', 'gravestone', 'hyperliquid', 'supervik', 'freqtrade', 'csv'])
        .optional(),
      symbol: z.string().optional(),
      intervalHours: z.number().positive().optional(),
      timezoneOffsetHours: z.number().optional(),
      timeFormat: z.enum(['auto', 'ms', 's', 'iso']).optional(),
      columns: z
        .object({
          time: z.string(),
          rate: z.string(),
          symbol: z.string().optional(),
          intervalHours: z.string().optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
]);

const dataEntry = z
  .object({
    exchange: z.string().optional(),
    symbol: z.string().min(1),
    candles: z.string().min(1),
    format: z.enum(['auto', 'binance-kline', 'ohlcv-csv', 'freqtrade-json']).default('auto'),
    columns: z
      .object({
        time: z.string(),
        open: z.string(),
        high: z.string(),
        low: z.string(),
        close: z.string(),
        volume: z.string(),
      })
      .partial()
      .strict()
      .optional(),
    timeFormat: z.enum(['auto', 'ms', 's', 'iso']).default('auto'),
    timezoneOffsetHours: z.number().default(0),
    interval: interval.optional(),
    resample: interval.optional(),
    dropLast: z.boolean().default(false),
    funding: fundingSource.optional(),
    marks: z.string().min(1).optional(),
  })
  .strict();

export const backtestSectionSchema = z
  .object({
    data: z.array(dataEntry).min(1, 'list at least one instrument with candles'),
    from: time.optional(),
    to: time.optional(),
    period: interval.default('1d'),
    maxEquityPoints: z.number().int().min(16).default(2000),
    title: z.string().optional(),
  })
  .strict();

export type BacktestSection = z.output<typeof backtestSectionSchema>;

/** Reads and checks the config's `backtest:` section; paths become absolute (relative to the file). */
export function readBacktestSection(
  loaded: LoadedConfig,
  dataOverride?: string,
  cwd = process.cwd(),
): { section: BacktestSection; instruments: FileInstrument[] } {
  const { file } = loaded;
  if (!loaded.config.backtest) {
    throw new ConfigError(`${file}: no "backtest:" section; see "runner backtest --help"`, {
      file,
      issues: [{ path: 'backtest', message: 'required for runner backtest' }],
    });
  }
  const result = backtestSectionSchema.safeParse(loaded.config.backtest);
  if (!result.success) {
    const issues = describeIssues(result.error.issues as never, backtestSectionSchema, {
      prefix: ['backtest'],
      lineOf: loaded.lineOf,
    });
    throw new ConfigError(
      `${file}: invalid configuration\n${issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n')}`,
      { file, issues },
    );
  }
  const section = result.data;
  const base = path.dirname(path.resolve(cwd, file));
  const resolve = (relative: string) => path.resolve(base, relative);
  const exchanges = Object.keys(loaded.config.exchanges);
  const issues: ConfigIssue[] = [];
  if (dataOverride !== undefined && section.data.length !== 1) {
    throw new UsageError(
      `--data replaces the candles of a one-instrument config, but backtest.data has ${section.data.length} instruments`,
    );
  }
  const instruments = section.data.map((entry, index): FileInstrument => {
    let exchange = entry.exchange;
    if (exchange === undefined) {
      if (exchanges.length === 1) exchange = exchanges[0] as string;
      else
        issues.push({
          path: `backtest.data[${index}].exchange`,
          message: `required when several exchanges are configured (${exchanges.join(', ')})`,
        });
    } else if (!exchanges.includes(exchange)) {
      issues.push({
        path: `backtest.data[${index}].exchange`,
        message: `no exchange "${exchange}" is configured (configured: ${exchanges.join(', ')})`,
      });
    }
    const candlesPath =
      index === 0 && dataOverride !== undefined ? path.resolve(cwd, dataOverride) : resolve(entry.candles);
    const funding =
      entry.funding === undefined
        ? undefined
        : typeof entry.funding === 'string'
          ? { path: resolve(entry.funding) }
          : { ...entry.funding, path: resolve(entry.funding.path) };
    return {
      exchange: exchange ?? '',
      symbol: entry.symbol,
      candles: {
        path: candlesPath,
        format: entry.format,
        columns: entry.columns,
        timeFormat: entry.timeFormat,
        timezoneOffsetHours: entry.timezoneOffsetHours,
        interval: entry.interval === undefined ? undefined : intervalMs(entry.interval),
        dropLast: entry.dropLast,
        from: section.from,
        to: section.to,
      },
      resample: entry.resample,
      funding,
      marks: entry.marks === undefined ? undefined : { path: resolve(entry.marks) },
    };
  });
  if (issues.length > 0)
    throw new ConfigError(
      `${file}: invalid configuration\n${issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n')}`,
      { file, issues },
    );
  return { section, instruments };
}

/**
 * What a config's composition plan gives a backtest: its venues (every exchange must be a `sim`
 * venue), components and engine settings. `runner backtest` and optimizer trials share it.
 */
export function backtestComponents(loaded: LoadedConfig, plan: CompositionPlan) {
  const venues = plan.exchanges.map((exchange) => {
    if (exchange.plugin.meta.name !== 'sim') {
      throw new ConfigError(
        `${loaded.file}: backtests run on simulated venues, but exchanges.${exchange.id} uses plugin "${exchange.plugin.meta.name}"; use plugin: sim with the venue's markets and fees`,
        {
          file: loaded.file,
          issues: [{ path: `exchanges.${exchange.id}.plugin`, message: 'must be sim in a backtest' }],
        },
      );
    }
    return { id: exchange.id, sim: exchange.options as never };
  });
  return {
    venues,
    strategies: plan.strategies,
    riskGates: plan.riskGates,
    exitRules: plan.exitRules,
    monitors: plan.monitors,
    minHoldMs: loaded.config.engine.minHold,
    candleHistory: loaded.config.engine.candleHistory,
  };
}

/**
 * A progress bar on stderr when it is a terminal: bars fed to the engine against an estimate of
 * the total that converges as the files are consumed (by the engine, not merely read), redrawn at
 * most every 100 ms, ended by one newline when the run is done.
 */
export function progressBar(
  io: Pick<CliIo, 'stderr'>,
  now: () => number = Date.now,
): ((progress: BacktestProgress) => void) | undefined {
  if (!io.stderr.isTTY) return undefined;
  const started = now();
  let last = Number.NEGATIVE_INFINITY;
  let finished = false;
  return (progress) => {
    if (finished) return;
    const time = now();
    if (!progress.done && time - last < 100) return;
    last = time;
    const share = Math.min(1, Math.max(0, progress.fraction));
    const width = 30;
    const filled = Math.round(share * width);
    const elapsed = (time - started) / 1000;
    const eta = share > 0 ? elapsed / share - elapsed : 0;
    const estimate =
      progress.done || progress.estimatedBars === undefined
        ? ''
        : ` of ~${progress.estimatedBars.toLocaleString('en-US')}`;
    const tail = progress.done ? `${elapsed.toFixed(1)}s` : `${elapsed.toFixed(1)}s  ETA ${eta.toFixed(1)}s`;
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${progress.bars.toLocaleString('en-US')}${estimate} bars  ${tail} `,
    );
    if (progress.done) {
      finished = true;
      io.stderr.write('\n');
    }
  };
}

function summaryText(result: BacktestResult, title: string): string {
  const s = result.summary;
  const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
  const ratio = (value: number | null) => (value === null ? 'n/a' : value.toFixed(3));
  const lines: [string, string][] = [
    ['bars', s.bars.toLocaleString('en-US')],
    ['period', `${new Date(s.start ?? 0).toISOString()} → ${new Date(s.end ?? 0).toISOString()}`],
    ['trades', `${s.trades} (win rate ${percent(s.winRate)})`],
    ['final equity', `${s.finalEquity.toFixed(2)} (return ${percent(s.totalReturn)})`],
    ['max drawdown', percent(s.maxDrawdown)],
    ['sharpe / sortino / calmar', `${ratio(s.sharpe)} / ${ratio(s.sortino)} / ${ratio(s.calmar)}`],
    [
      'fees / slippage / funding',
      `${s.fees.toFixed(2)} / ${s.slippage.toFixed(2)} / ${s.fundingPnl.toFixed(2)}`,
    ],
    ['exposure / turnover', `${percent(s.exposure)} / ${s.turnover.toFixed(2)}×`],
    ['engine', `${s.engineMs.toFixed(1)} ms (${Math.round(s.barsPerSecond).toLocaleString('en-US')} bars/s)`],
    ['trade list hash', s.tradeListHash],
  ];
  const regimes = result.breakdowns.byRegime.filter((row) => row.key !== '(none)');
  if (regimes.length > 0) {
    lines.push([
      'by regime',
      regimes
        .map(
          (row) =>
            `${row.key}: ${row.trades} trades, net ${row.netPnl.toFixed(2)}, win ${percent(row.winRate)}`,
        )
        .join('; '),
    ]);
  }
  const width = Math.max(...lines.map(([label]) => label.length));
  return `${title}\n${lines.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n')}\n`;
}

export async function runBacktestCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = usage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        data: { type: 'string' },
        json: { type: 'string' },
        report: { type: 'string' },
        plugins: { type: 'string', short: 'p', multiple: true },
        'log-level': { type: 'string' },
      },
    }),
  );
  if (!values.config) throw new UsageError('--config <file> is required');
  const loaded = loadConfig(path.resolve(io.cwd, values.config), io.env);
  const { section, instruments } = readBacktestSection(loaded, values.data, io.cwd);
  const plugins = await loadPlugins([...splitList(values.plugins), ...loaded.config.plugins], {
    builtins: builtinPlugins(),
    searchDirs: searchDirsFor(path.resolve(io.cwd, values.config), io.cwd),
  });
  const plan = await planComposition(loaded, plugins);
  const level = (values['log-level'] ?? 'warn') as LogLevel;
  // The config's title describes the config's data; with --data, name the file actually used.
  const title =
    values.data !== undefined
      ? `backtest of ${path.basename(loaded.file)} on ${path.basename(values.data)} (--data)`
      : (section.title ?? `backtest of ${path.basename(loaded.file)}`);
  // Trades go to a spool file as they close, so memory stays flat however many there are; the
  // JSON and HTML outputs read them back from it.
  const spool = values.json !== undefined || values.report !== undefined ? new TradeSpool() : undefined;
  try {
    const result = await runBacktest({
      ...backtestComponents(loaded, plan),
      instruments,
      periodMs: intervalMs(section.period),
      maxEquityPoints: section.maxEquityPoints,
      runId: loaded.config.runId ?? 'backtest',
      configHash: loaded.hash,
      logger: createConsoleLogger(level, {}, (line) => io.stderr.write(line)),
      onProgress: progressBar(io),
      keepTrades: spool === undefined,
      ...(spool === undefined ? {} : { onTrade: spool.add }),
    });
    writeOutputs(io, { json: values.json, report: values.report }, result, {
      title,
      head: { title, config: { file: loaded.file, hash: loaded.hash } },
      trades: () => (spool ? spool.read() : result.trades),
    });
    return EXIT.ok;
  } finally {
    spool?.dispose();
  }
}

function writeOutputs(
  io: CliIo,
  targets: { json: string | undefined; report: string | undefined },
  result: BacktestResult,
  output: { title: string; head: Record<string, unknown>; trades: () => Iterable<TradeRecord> },
): void {
  const { title, head, trades } = output;
  if (targets.json === '-') {
    let pending = '';
    for (const chunk of resultJsonChunks(result, head, trades())) {
      pending += chunk;
      if (pending.length >= 1 << 16) {
        io.stdout.write(pending);
        pending = '';
      }
    }
    if (pending.length > 0) io.stdout.write(pending);
  } else {
    io.stdout.write(summaryText(result, title));
    if (targets.json !== undefined) {
      const target = path.resolve(io.cwd, targets.json);
      mkdirSync(path.dirname(target), { recursive: true });
      writeResultJson(target, result, head, trades());
      io.stdout.write(`  json: ${target}\n`);
    }
  }
  if (targets.report !== undefined) {
    const directory = path.resolve(io.cwd, targets.report);
    mkdirSync(directory, { recursive: true });
    writeHtmlReport(path.join(directory, 'report.html'), result, title, trades);
    writeFileSync(
      path.join(directory, 'summary.json'),
      `${JSON.stringify({ ...head, summary: result.summary }, null, 2)}\n`,
    );
    (targets.json === '-' ? io.stderr : io.stdout).write(
      `  report: ${path.join(directory, 'report.html')}\n`,
    );
  }
}
