import {
  type BacktestInstrument,
  type CandleColumns,
  type FileInstrument,
  intervalMs,
  loadCandleColumns,
  runBacktest,
} from '@perpkit/backtest';
import { silentLogger } from '@perpkit/core';
import { applyParameters, type TrialMetrics, type TrialResult, type TrialTask } from '@perpkit/optimizer';
import { backtestComponents, readBacktestSection } from '../backtest-command';
import { builtinPlugins } from '../builtins';
import { type LoadedPlugins, loadPlugins, planComposition, searchDirsFor } from '../compose';
import { type LoadedConfig, parseConfig } from '../config';

/**
 * Everything a worker needs to run a study's trials, as plain data: it travels to worker threads
 * and, through Redis, to queue workers on other machines (which read the data files at the same
 * paths). Secrets never travel: each process interpolates `${VAR}` from its own environment.
 */
export interface StudyDescriptor {
  /** Identifies the study (its hash): workers cache what they prepared per key. */
  readonly key: string;
  readonly configFile: string;
  readonly configText: string;
  readonly cwd: string;
  /** `--plugins` given to the coordinator. */
  readonly plugins: readonly string[];
  /** Which entry of `strategies:` the search space applies to. */
  readonly strategyIndex: number;
}

/** A trial as a worker thread receives it: the task, its study, and the study's shared candles. */
export interface ThreadTask {
  readonly study: StudyDescriptor;
  /** One per `backtest.data` instrument, in SharedArrayBuffers (shared, never copied). */
  readonly columns: readonly CandleColumns[];
  readonly task: TrialTask;
}

export interface PreparedStudy {
  readonly descriptor: StudyDescriptor;
  readonly loaded: LoadedConfig;
  readonly instruments: readonly FileInstrument[];
  readonly periodMs: number;
  readonly plugins: LoadedPlugins;
}

/** Parses the config and loads its plugins once per study. */
export async function prepareStudy(descriptor: StudyDescriptor): Promise<PreparedStudy> {
  const loaded = parseConfig(descriptor.configText, descriptor.configFile, process.env);
  const { section, instruments } = readBacktestSection(loaded, undefined, descriptor.cwd);
  const plugins = await loadPlugins([...descriptor.plugins, ...loaded.config.plugins], {
    builtins: builtinPlugins(),
    searchDirs: searchDirsFor(descriptor.configFile, descriptor.cwd),
  });
  return { descriptor, loaded, instruments, periodMs: intervalMs(section.period), plugins };
}

/** Reads every instrument's candles once into shared memory (resampled as configured). */
export async function loadStudyColumns(instruments: readonly FileInstrument[]): Promise<CandleColumns[]> {
  const columns: CandleColumns[] = [];
  for (const instrument of instruments)
    columns.push(await loadCandleColumns(instrument.candles, { resample: instrument.resample }));
  return columns;
}

/** The config with the trial's parameters written into the searched strategy's options. */
export function configWithParameters(
  loaded: LoadedConfig,
  strategyIndex: number,
  params: TrialTask['params'],
): LoadedConfig {
  const strategies = loaded.config.strategies.map((entry, index) =>
    index === strategyIndex
      ? { ...entry, options: applyParameters((entry.options ?? {}) as Record<string, unknown>, params) }
      : entry,
  );
  return { ...loaded, config: { ...loaded.config, strategies } };
}

/**
 * Runs one trial's backtest. A trial that cannot run (its parameters break the strategy's schema,
 * for example) returns its error as the result: it is recorded with its reason, not retried.
 */
export async function evaluateTrial(
  prepared: PreparedStudy,
  columns: readonly CandleColumns[],
  task: TrialTask,
): Promise<TrialResult> {
  const started = performance.now();
  try {
    const loaded = configWithParameters(prepared.loaded, prepared.descriptor.strategyIndex, task.params);
    const plan = await planComposition(loaded, prepared.plugins);
    const instruments = prepared.instruments.map((instrument, index): BacktestInstrument => {
      const fileRange = instrument.candles;
      const from = Math.max(
        fileRange.from ?? Number.NEGATIVE_INFINITY,
        task.from ?? Number.NEGATIVE_INFINITY,
      );
      const to = Math.min(fileRange.to ?? Number.POSITIVE_INFINITY, task.to ?? Number.POSITIVE_INFINITY);
      return {
        ...instrument,
        // Already resampled when the columns were loaded.
        resample: undefined,
        candles: {
          memory: columns[index] as CandleColumns,
          from: Number.isFinite(from) ? from : undefined,
          to: Number.isFinite(to) ? to : undefined,
        },
      };
    });
    const tradePnls: number[] = [];
    const result = await runBacktest({
      ...backtestComponents(loaded, plan),
      instruments,
      periodMs: prepared.periodMs,
      maxEquityPoints: 16,
      runId: `optimize-${task.segment}-${task.trial}`,
      logger: silentLogger,
      keepTrades: false,
      ...(task.collectTrades ? { onTrade: (trade: { netPnl: number }) => tradePnls.push(trade.netPnl) } : {}),
    });
    const summary = result.summary;
    const metrics: TrialMetrics = {
      trades: summary.trades,
      netPnl: summary.finalEquity - summary.startingEquity,
      totalReturn: summary.totalReturn,
      maxDrawdown: summary.maxDrawdown,
      sharpe: summary.sharpe,
      sortino: summary.sortino,
      calmar: summary.calmar,
      winRate: summary.winRate,
      fees: summary.fees,
      fundingPnl: summary.fundingPnl,
      finalEquity: summary.finalEquity,
    };
    return {
      metrics,
      ...(task.collectTrades ? { tradePnls } : {}),
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return { error: (error as Error).message ?? String(error), durationMs: performance.now() - started };
  }
}

/** Keeps the last few prepared studies of a long-lived worker (one at a time, in practice). */
export class PreparedStudies {
  private readonly cache = new Map<string, Promise<PreparedStudy>>();

  get(descriptor: StudyDescriptor): Promise<PreparedStudy> {
    let prepared = this.cache.get(descriptor.key);
    if (!prepared) {
      prepared = prepareStudy(descriptor);
      this.cache.set(descriptor.key, prepared);
      prepared.catch(() => this.cache.delete(descriptor.key));
      while (this.cache.size > 2) this.cache.delete(this.cache.keys().next().value as string);
    }
    return prepared;
  }
}
