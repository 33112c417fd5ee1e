import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CandleColumns, intervalMs } from '@perpkit/backtest';
import { ConfigError, type ConfigIssue, z } from '@perpkit/core';
import {
  checkSpace,
  createSampler,
  gridSize,
  monteCarlo,
  OBJECTIVES,
  type ObjectiveName,
  QueueExecutor,
  redactUrl,
  renderOptimizeReport,
  runSearch,
  runWalkForward,
  type SearchOptions,
  type SearchSpace,
  StudyStore,
  searchSpaceSchema,
  type TrialExecutor,
  type TrialRecord,
  type TrialResult,
  type WalkForwardResult,
  WorkerPool,
  walkForwardWindows,
} from '@perpkit/optimizer';
import { parseDocument } from 'yaml';
import { readBacktestSection } from './backtest-command';
import { builtinPlugins } from './builtins';
import { splitList, UsageError, usage } from './cli-support';
import { loadPlugins, planComposition, searchDirsFor } from './compose';
import { canonicalJson, describeIssues, type LoadedConfig, loadConfig } from './config';
import { type CliIo, EXIT } from './io';
import { loadStudyColumns, type StudyDescriptor, type ThreadTask } from './optimize/trial';

export const OPTIMIZE_HELP = `runner optimize: search a strategy's parameters with backtests

Usage:
  runner optimize --config <file> [--workers <n>] [--queue redis://host:port] [--trials <n>]
                  [--seed <n>] [--sampler grid|random|tpe] [--db <file>] [--out <dir>] [--fresh]

Every trial is a backtest of the config (its "backtest:" section, simulated venues) with the
searched strategy's options replaced by one parameter set. Results go to SQLite as each trial
finishes: run the same command again after an interruption and the study continues where it
stopped (the same seed proposes the same sets, so it completes the same set of trials).

Options:
  -c, --config <file>     YAML config with "backtest:" and "optimize:" sections (required).
  -w, --workers <n>       Worker threads on this machine (default: optimize.workers, else the
                          number of cores). Candles are loaded once and shared by every thread.
      --queue <url>       Distribute the trials over BullMQ on Redis instead: start
                          "runner worker --queue <url>" on any number of machines.
      --queue-name <name> Queue name (default perpkit-optimize).
      --trials <n>        Override optimize.trials (a larger number extends a finished study).
      --seed <n>          Override optimize.seed.
      --sampler <kind>    Override optimize.sampler.
      --db <file>         Study store (default: <config name>.optimize.db next to the config).
      --out <dir>         Report directory (default: <config name>.optimize next to the config).
      --fresh             Forget the study's stored trials and start over.
  -p, --plugins <list>    Extra plugins to load.
  -h, --help              Show this help.

Config section:
  optimize:
    strategy: sma-cross            the strategy to tune: its id, plugin name or index
                                   (default: the only strategy)
    space:                         option paths of that strategy (dotted for nested options)
      fast: { min: 5, max: 30, step: 1 }        integers when min, max and step are integers
      slow: { min: 20, max: 200, step: 10 }
      multiple: { min: 0.5, max: 4 }            a float range (random and TPE only)
      threshold: { min: 0.0001, max: 0.01, log: true }   sampled on a log scale
      mode: [fast, slow]                        choices (or { choices: [...] })
    sampler: random                grid, random or tpe (Tree-structured Parzen Estimator)
    trials: 100                    trials to run (a grid runs whole if it is smaller)
    seed: 1                        same seed, same proposals, same results
    objective: sharpe              sharpe, sortino, calmar, netPnl or maxDrawdown (smaller is better)
    minTrades: 10                  trials with fewer round trips are infeasible (no score)
    batchSize: 16                  TPE proposals per batch (it learns between batches)
    workers: 2                     worker threads (the --workers default)
    top: 20                        rows of the ranked table
    walkForward:                   optional: out-of-sample check
      train: 90d                   training window
      test: 30d                    test window that follows it
      step: 30d                    how far windows move (default: test)
      anchored: false              true: training always starts at the first bar
      trials: 50                   trials per training window (default: trials)
      minEfficiency: 0.5           warn when out-of-sample < this share of in-sample
    monteCarlo:                    robustness of the best set (false to skip)
      runs: 1000                   shuffles and bootstrap resamples of its trade sequence
      confidence: 0.95             interval width

Outputs: a ranked table on stdout, <out>/report.html (ranked table, sensitivity plots, heatmaps,
walk-forward, Monte Carlo), <out>/results.json, and <config name>.best.yaml next to the config:
the config with the best parameters written in, ready for "runner backtest" or "runner run".
`;

const interval = z.union([
  z.number().positive(),
  z.string().regex(/^\d+\s*(s|m|h|d|w)$/, 'an interval such as 30d, 12h, 4w'),
]);

export const optimizeSectionSchema = z
  .object({
    strategy: z.union([z.string().min(1), z.number().int().min(0)]).optional(),
    space: searchSpaceSchema,
    sampler: z.enum(['grid', 'random', 'tpe']).default('random'),
    trials: z.number().int().min(1).default(100),
    seed: z.number().int().default(1),
    objective: z.enum(OBJECTIVES as unknown as [ObjectiveName, ...ObjectiveName[]]).default('sharpe'),
    minTrades: z.number().int().min(0).default(10),
    batchSize: z.number().int().min(1).optional(),
    workers: z.number().int().min(1).optional(),
    top: z.number().int().min(1).default(20),
    walkForward: z
      .object({
        train: interval,
        test: interval,
        step: interval.optional(),
        anchored: z.boolean().default(false),
        trials: z.number().int().min(1).optional(),
        minEfficiency: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .optional(),
    monteCarlo: z
      .union([
        z.literal(false),
        z
          .object({
            runs: z.number().int().min(10).default(1000),
            confidence: z.number().gt(0).lt(1).default(0.95),
          })
          .strict(),
      ])
      .default({ runs: 1000, confidence: 0.95 }),
  })
  .strict();

export type OptimizeSection = z.output<typeof optimizeSectionSchema>;

function invalid(file: string, issues: ConfigIssue[]): ConfigError {
  return new ConfigError(
    `${file}: invalid configuration\n${issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n')}`,
    { file, issues },
  );
}

export function readOptimizeSection(loaded: LoadedConfig): OptimizeSection {
  const raw = (loaded.config as { optimize?: unknown }).optimize;
  if (raw === undefined)
    throw invalid(loaded.file, [
      { path: 'optimize', message: 'required for runner optimize (see "runner optimize --help")' },
    ]);
  const result = optimizeSectionSchema.safeParse(raw);
  if (!result.success)
    throw invalid(
      loaded.file,
      describeIssues(result.error.issues as never, optimizeSectionSchema, {
        prefix: ['optimize'],
        lineOf: loaded.lineOf,
      }),
    );
  return result.data;
}

/** Which `strategies:` entry the space applies to. */
function strategyIndexOf(loaded: LoadedConfig, section: OptimizeSection): number {
  const entries = loaded.config.strategies;
  const names = entries.map((entry, index) => `${entry.id ?? entry.plugin} (${index})`).join(', ');
  if (entries.length === 0)
    throw invalid(loaded.file, [{ path: 'strategies', message: 'optimize needs a strategy' }]);
  if (section.strategy === undefined) {
    if (entries.length === 1) return 0;
    throw invalid(loaded.file, [
      { path: 'optimize.strategy', message: `required when several strategies are configured: ${names}` },
    ]);
  }
  const wanted = section.strategy;
  const index =
    typeof wanted === 'number'
      ? wanted < entries.length
        ? wanted
        : -1
      : entries.findIndex((entry) => (entry.id ?? entry.plugin) === wanted || entry.plugin === wanted);
  if (index < 0)
    throw invalid(loaded.file, [
      { path: 'optimize.strategy', message: `no strategy "${wanted}" (configured: ${names})` },
    ]);
  return index;
}

/** The worker-thread script: beside the bundled CLI, or in dist when running from source. */
export function threadScript(): URL {
  const sibling = new URL('./optimize-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  return new URL('../dist/optimize-thread.js', import.meta.url);
}

/**
 * Node flags for the trial threads: the process's own, without export conditions. The thread
 * script is built JavaScript and must load the built packages, even when this process resolves
 * workspace packages to their TypeScript sources (tests run with `--conditions @perpkit/source`).
 */
export function threadExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let index = 0; index < execArgv.length; index += 1) {
    const flag = execArgv[index] as string;
    if (flag === '--conditions' || flag === '-C') {
      index += 1;
      continue;
    }
    if (flag.startsWith('--conditions=') || (flag.startsWith('-C') && flag.length > 2)) continue;
    kept.push(flag);
  }
  return kept;
}

/** Samples the process's resident memory (threads included) to report its peak. */
function memoryWatch() {
  let peak = process.memoryUsage().rss;
  const samples: { done: number; rss: number }[] = [];
  let done = 0;
  const timer = setInterval(() => {
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    samples.push({ done, rss });
  }, 250);
  timer.unref();
  return {
    progress(trials: number) {
      done = trials;
    },
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { peakRss: peak, samples };
    },
  };
}

/** Trials done against the total, with an ETA: a bar on a terminal, a line per 10% otherwise. */
function progressReporter(io: Pick<CliIo, 'stderr'>, total: number, now: () => number = Date.now) {
  const started = now();
  let last = Number.NEGATIVE_INFINITY;
  let lastDecile = -1;
  let ran = 0;
  return (done: number, costless: boolean) => {
    if (!costless) ran += 1;
    const time = now();
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (time - started) / 1000;
    // The ETA counts backtests run in this process only: resumed and repeated trials cost nothing.
    const remaining = total - done;
    const eta = ran > 0 ? (elapsed / ran) * remaining : Number.NaN;
    const etaText = Number.isFinite(eta) ? `ETA ${eta.toFixed(0)}s` : 'ETA --';
    if (io.stderr.isTTY) {
      if (done < total && time - last < 100) return;
      last = time;
      const width = 30;
      const filled = Math.round(share * width);
      io.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} trials  ${elapsed.toFixed(0)}s  ${done >= total ? '' : etaText}  `,
      );
      if (done >= total) io.stderr.write('\n');
      return;
    }
    const decile = Math.floor(share * 10);
    if (decile > lastDecile) {
      lastDecile = decile;
      io.stderr.write(
        `optimize: ${done}/${total} trials (${Math.round(share * 100)}%), ${elapsed.toFixed(0)}s, ${etaText}\n`,
      );
    }
  };
}

/** The config with the best parameters written in, as YAML (comments and layout kept). */
export function bestConfigYaml(
  configText: string,
  strategyIndex: number,
  best: TrialRecord,
  note: string,
): string {
  const document = parseDocument(configText);
  for (const [key, value] of Object.entries(best.params))
    document.setIn(['strategies', strategyIndex, 'options', ...key.split('.')], value);
  document.commentBefore = ` ${note}${document.commentBefore ? `\n${document.commentBefore}` : ''}`;
  return document.toString();
}

function format(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

function rankedTable(ranked: readonly TrialRecord[], space: SearchSpace, objective: ObjectiveName): string {
  const keys = Object.keys(space);
  // The objective's own column is the score; Sharpe is shown beside other objectives.
  const sharpeColumn = objective !== 'sharpe';
  const header = [
    'rank',
    'trial',
    objective,
    'trades',
    'net PnL',
    'max DD',
    ...(sharpeColumn ? ['sharpe'] : []),
    ...keys,
  ];
  const rows = ranked.map((record, index) => [
    String(index + 1),
    String(record.trial),
    format(record.score, 4),
    String(record.metrics?.trades ?? ''),
    format(record.metrics?.netPnl, 2),
    `${format((record.metrics?.maxDrawdown ?? Number.NaN) * 100, 2)}%`,
    ...(sharpeColumn ? [format(record.metrics?.sharpe)] : []),
    ...keys.map((key) => String(record.params[key])),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `  ${cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ')}`;
  return [line(header), ...rows.map(line)].join('\n');
}

export async function runOptimizeCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = usage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        workers: { type: 'string', short: 'w' },
        queue: { type: 'string' },
        'queue-name': { type: 'string' },
        trials: { type: 'string' },
        seed: { type: 'string' },
        sampler: { type: 'string' },
        db: { type: 'string' },
        out: { type: 'string' },
        fresh: { type: 'boolean' },
        plugins: { type: 'string', short: 'p', multiple: true },
      },
    }),
  );
  if (!values.config) throw new UsageError('--config <file> is required');
  const integerFlag = (name: string, text: string | undefined, min: number) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min)
      throw new UsageError(`--${name} must be an integer ≥ ${min} (got "${text}")`);
    return value;
  };
  const configFile = path.resolve(io.cwd, values.config);
  const loaded = loadConfig(configFile, io.env);
  const parsedSection = readOptimizeSection(loaded);
  if (values.sampler !== undefined && !['grid', 'random', 'tpe'].includes(values.sampler))
    throw new UsageError(`--sampler must be grid, random or tpe (got "${values.sampler}")`);
  const section: OptimizeSection = {
    ...parsedSection,
    trials: integerFlag('trials', values.trials, 1) ?? parsedSection.trials,
    seed: integerFlag('seed', values.seed, 0) ?? parsedSection.seed,
    sampler: (values.sampler as OptimizeSection['sampler'] | undefined) ?? parsedSection.sampler,
  };
  const workers = integerFlag('workers', values.workers, 1) ?? section.workers ?? availableParallelism();
  const { instruments } = readBacktestSection(loaded, undefined, io.cwd);
  const pluginSpecifiers = splitList(values.plugins);
  const plugins = await loadPlugins([...pluginSpecifiers, ...loaded.config.plugins], {
    builtins: builtinPlugins(),
    searchDirs: searchDirsFor(configFile, io.cwd),
  });
  await planComposition(loaded, plugins);
  const strategyIndex = strategyIndexOf(loaded, section);
  const entry = loaded.config.strategies[strategyIndex] as LoadedConfig['config']['strategies'][number];
  const strategyPlugin = plugins.registry.get('strategy', entry.plugin);
  if (strategyPlugin) {
    const issues = checkSpace(
      section.space,
      strategyPlugin.options as never,
      (entry.options ?? {}) as Record<string, unknown>,
    );
    if (issues.length > 0) throw invalid(loaded.file, issues);
  }
  if (section.sampler === 'grid') {
    try {
      gridSize(section.space);
    } catch (error) {
      throw invalid(loaded.file, [{ path: 'optimize.space', message: (error as Error).message }]);
    }
  }

  // The study is this config's search: everything that changes the proposals or the results, but
  // not the trial count (a larger count extends a study) nor where it runs.
  const { trials: _trials, workers: _workers, top: _top, monteCarlo: _monteCarlo, ...identity } = section;
  const { optimize: _optimize, ...backtestConfig } = loaded.raw as Record<string, unknown>;
  const key = createHash('sha256')
    .update(canonicalJson({ config: backtestConfig, optimize: identity, plugins: pluginSpecifiers }))
    .digest('hex')
    .slice(0, 16);
  const baseName = path.basename(configFile).replace(/\.ya?ml$/i, '');
  const dbFile = path.resolve(
    io.cwd,
    values.db ?? path.join(path.dirname(configFile), `${baseName}.optimize.db`),
  );
  const outDir = path.resolve(
    io.cwd,
    values.out ?? path.join(path.dirname(configFile), `${baseName}.optimize`),
  );
  const store = new StudyStore(dbFile);
  const opened = store.openStudy(
    key,
    { configFile, configHash: loaded.hash, settings: { ...identity, trials: section.trials } },
    { fresh: values.fresh === true },
  );
  io.stderr.write(
    `optimize: study ${key} ${opened.resumed ? `resumed (${opened.trials} trials stored)` : 'started'} in ${dbFile}\n`,
  );

  const descriptor: StudyDescriptor = {
    key,
    configFile,
    configText: loaded.text,
    cwd: io.cwd,
    plugins: pluginSpecifiers,
    strategyIndex,
  };
  const columns: CandleColumns[] = await loadStudyColumns(instruments);
  const firstBar = Math.min(...columns.filter((c) => c.length > 0).map((c) => c.time[0] as number));
  const lastClose = Math.max(
    ...columns.filter((c) => c.length > 0).map((c) => (c.time[c.length - 1] as number) + (c.interval ?? 0)),
  );

  let pool: WorkerPool<ThreadTask, TrialResult> | undefined;
  let queue: QueueExecutor<{ study: StudyDescriptor; task: ThreadTask['task'] }, TrialResult> | undefined;
  let execute: TrialExecutor;
  if (values.queue !== undefined) {
    const executor = new QueueExecutor<{ study: StudyDescriptor; task: ThreadTask['task'] }, TrialResult>({
      url: values.queue,
      name: values['queue-name'],
    });
    queue = executor;
    execute = async (task) => {
      const { result, worker, attempts } = await executor.run(`${key}-${task.segment}-${task.trial}`, {
        study: descriptor,
        task,
      });
      return { result, worker, attempts };
    };
    io.stderr.write(
      `optimize: trials go to ${redactUrl(values.queue)}; start "runner worker --queue <url>" to run them\n`,
    );
  } else {
    const threads = new WorkerPool<ThreadTask, TrialResult>({
      script: threadScript(),
      size: workers,
      execArgv: threadExecArgv(),
    });
    pool = threads;
    execute = async (task) => ({
      result: await threads.run({ study: descriptor, columns, task }),
      worker: 'local',
    });
  }

  const walkForward = section.walkForward;
  // Walk-forward windows are laid out before anything runs: a span too short is a config error.
  const walkForwardSettings = walkForward && {
    train: intervalMs(walkForward.train),
    test: intervalMs(walkForward.test),
    step: walkForward.step === undefined ? undefined : intervalMs(walkForward.step),
    anchored: walkForward.anchored,
    minEfficiency: walkForward.minEfficiency,
  };
  let windowsPlanned = 0;
  if (walkForwardSettings) {
    try {
      windowsPlanned = walkForwardWindows(firstBar, lastClose, walkForwardSettings).length;
    } catch (error) {
      await pool?.close();
      await queue?.close();
      store.close();
      throw invalid(loaded.file, [{ path: 'optimize.walkForward', message: (error as Error).message }]);
    }
  }
  const searchTrials =
    section.sampler === 'grid' ? Math.min(section.trials, gridSize(section.space)) : section.trials;
  const windowTrials = walkForward?.trials ?? section.trials;
  const perWindow =
    section.sampler === 'grid' ? Math.min(windowTrials, gridSize(section.space)) : windowTrials;
  const total = searchTrials + windowsPlanned * (perWindow + 1);
  const memory = memoryWatch();
  const progress = progressReporter(io, total);
  let done = 0;
  let ran = 0;
  let repeats = 0;
  const onTrial = (_record: TrialRecord, how: 'ran' | 'stored' | 'repeat') => {
    done += 1;
    if (how === 'ran') ran += 1;
    if (how === 'repeat') repeats += 1;
    memory.progress(done);
    progress(done, how !== 'ran');
  };
  const started = performance.now();

  let interrupted = false;
  const removeSignal = io.onSignal(() => {
    if (interrupted) return;
    interrupted = true;
    io.stderr.write(
      '\noptimize: interrupted; finished trials are stored, run the same command to continue\n',
    );
    void pool?.close();
    void queue?.close();
  });

  const sampler = (seedOffset: number) =>
    createSampler({ kind: section.sampler, space: section.space, seed: section.seed + seedOffset });
  const searchOptions = (seedOffset: number, trials: number): SearchOptions => ({
    store,
    studyId: key,
    sampler: sampler(seedOffset),
    trials,
    batchSize: section.sampler === 'tpe' ? (section.batchSize ?? 16) : (section.batchSize ?? trials),
    objective: section.objective,
    minTrades: section.minTrades,
    execute,
    onTrial,
  });
  try {
    await runSearch(searchOptions(0, section.trials), 'search');
    let walkForwardResult: WalkForwardResult | undefined;
    if (walkForwardSettings) {
      walkForwardResult = await runWalkForward(
        searchOptions(1, windowTrials),
        { start: firstBar, end: lastClose },
        walkForwardSettings,
      );
    }
    const elapsedMs = performance.now() - started;
    const ranked = store.ranked(key, 'search', section.top);
    const best = ranked[0];
    let monteCarloResults: ReturnType<typeof monteCarlo>[] = [];
    if (best && section.monteCarlo !== false) {
      const { result } = await execute({
        segment: 'best',
        trial: 0,
        params: best.params,
        collectTrades: true,
      });
      const pnls = result.tradePnls ?? [];
      const startingEquity = (result.metrics?.finalEquity ?? 0) - (result.metrics?.netPnl ?? 0);
      if (pnls.length >= 2)
        monteCarloResults = (['shuffle', 'bootstrap'] as const).map((method) =>
          monteCarlo(pnls, startingEquity, {
            method,
            runs: section.monteCarlo === false ? 0 : section.monteCarlo.runs,
            confidence: section.monteCarlo === false ? 0.95 : section.monteCarlo.confidence,
            seed: section.seed,
          }),
        );
    }
    const { peakRss, samples } = memory.stop();
    const trialsRun = ran;
    const throughput = trialsRun > 0 ? trialsRun / (elapsedMs / 1000) : 0;
    const notes = [
      `peak resident memory ${(peakRss / 2 ** 20).toFixed(0)} MiB over ${done} trials (${trialsRun} run now, ${done - trialsRun - repeats} resumed, ${repeats} repeated sets reused)`,
      `${throughput.toFixed(2)} backtests/s on ${queue ? `the queue ${redactUrl(values.queue ?? '')}` : `${workers} worker thread${workers === 1 ? '' : 's'}`}`,
    ];

    mkdirSync(outDir, { recursive: true });
    let bestFile: string | undefined;
    let bestYaml: string | undefined;
    if (best) {
      bestYaml = bestConfigYaml(
        loaded.text,
        strategyIndex,
        best,
        `Best parameters from "runner optimize" (study ${key}, trial ${best.trial}, ${section.objective} ${format(best.score, 4)}).`,
      );
      bestFile = path.join(path.dirname(configFile), `${baseName}.best.yaml`);
      writeFileSync(bestFile, bestYaml);
    }
    const points = store
      .trials(key, 'search')
      .map((record) => ({ params: record.params, score: record.score }));
    const title = `optimize ${path.basename(configFile)}: ${section.sampler} search, ${section.objective}`;
    writeFileSync(
      path.join(outDir, 'report.html'),
      renderOptimizeReport({
        title,
        objective: section.objective,
        minTrades: section.minTrades,
        space: section.space,
        sampler: section.sampler,
        seed: section.seed,
        trialsDone: points.length,
        trialsTotal: searchTrials,
        ranked: ranked
          .filter((record) => record.metrics !== undefined)
          .map((record) => ({
            trial: record.trial,
            params: record.params,
            score: record.score,
            metrics: record.metrics as NonNullable<TrialRecord['metrics']>,
          })),
        points,
        ...(walkForwardResult
          ? { walkForward: { rows: [...walkForwardResult.rows], summary: walkForwardResult.summary } }
          : {}),
        ...(monteCarloResults.length > 0 ? { monteCarlo: monteCarloResults } : {}),
        ...(bestYaml ? { bestYaml } : {}),
        notes,
      }),
    );
    writeFileSync(
      path.join(outDir, 'results.json'),
      `${JSON.stringify(
        {
          study: key,
          config: configFile,
          settings: section,
          trials: { search: points.length, total: done, runNow: trialsRun, repeats },
          elapsedMs,
          trialsPerSecond: throughput,
          peakRss,
          memory: samples.filter((_, index) => index % 8 === 0),
          ranked,
          walkForward: walkForwardResult,
          monteCarlo: monteCarloResults,
          best: bestFile,
        },
        null,
        2,
      )}\n`,
    );
    store.finishStudy(key);

    const feasible = points.filter((point) => point.score !== null).length;
    const lines = [
      title,
      `  trials: ${points.length} searched (${feasible} feasible with ≥ ${section.minTrades} trades)${walkForwardResult ? `, ${walkForwardResult.windows.length} walk-forward windows` : ''}`,
      ...notes.map((note) => `  ${note}`),
      '',
      ranked.length > 0
        ? rankedTable(ranked.slice(0, 10), section.space, section.objective)
        : '  no feasible trial',
    ];
    if (walkForwardResult) {
      const summary = walkForwardResult.summary;
      lines.push(
        '',
        `  walk-forward: ${section.objective} in-sample ${format(summary.inSampleMean)}, out-of-sample ${format(summary.outOfSampleMean)}, efficiency ${format(summary.efficiency, 2)}, out-of-sample net PnL ${format(summary.outOfSampleNetPnl, 2)}`,
        ...summary.warnings.map((warning) => `  warning: ${warning}`),
      );
    }
    for (const result of monteCarloResults) {
      const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
      lines.push(
        `  monte carlo (${result.method}, ${result.runs} runs, ${Math.round(result.confidence * 100)}%): net PnL ${format(result.netPnl.lower, 2)} … ${format(result.netPnl.upper, 2)}, max drawdown ${percent(result.maxDrawdown.lower)} … ${percent(result.maxDrawdown.upper)}, P(loss) ${percent(result.probabilityOfLoss)}`,
      );
    }
    lines.push('', `  report: ${path.join(outDir, 'report.html')}`);
    if (bestFile) lines.push(`  best: ${bestFile}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } catch (error) {
    if (interrupted) return 130;
    throw error;
  } finally {
    removeSignal();
    memory.stop();
    await pool?.close();
    await queue?.close();
    store.close();
  }
}
