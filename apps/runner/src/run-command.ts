import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type Clock,
  ConfigError,
  type EngineCheckpoint,
  type LogLevel,
  type MemorySnapshot,
  RealClock,
  ScaledClock,
  z,
} from '@perpkit/core';
import { SqliteStore } from '@perpkit/store-sqlite';
import { readBacktestSection } from './backtest-command';
import { builtinPlugins } from './builtins';
import { splitList, UsageError, usage } from './cli-support';
import { composeEngine, loadPlugins, searchDirsFor } from './compose';
import { decideMode, describeIssues, type LoadedConfig, loadConfig } from './config';
import { attachConsole, logOrderFlow } from './console';
import { parseListen, type RunnerHttpServer, startHttpServer } from './http';
import type { CliIo } from './io';
import { EXIT } from './io';
import { LiveState } from './live-state';
import { createRunnerLogger, secretsFromEnvironment } from './logging';
import { createMetrics } from './metrics';
import { wrapForPaper } from './paper';
import { CandleReplay, simulatedVenues } from './replay';

const replaySectionSchema = z
  .object({
    /** Replay speed: 1 is real time, 60 plays an hour of data in a minute. */
    speed: z.number().positive().default(1),
    data: z.array(z.unknown()).min(1, 'list at least one instrument with candles'),
    from: z.union([z.number(), z.string()]).optional(),
    to: z.union([z.number(), z.string()]).optional(),
  })
  .strict();

function readReplay(loaded: LoadedConfig, cwd: string) {
  const section = loaded.config.replay;
  if (!section) return undefined;
  const result = replaySectionSchema.safeParse(section);
  if (!result.success) {
    const issues = describeIssues(result.error.issues as never, replaySectionSchema, {
      prefix: ['replay'],
      lineOf: loaded.lineOf,
    });
    throw new ConfigError(
      `${loaded.file}: invalid configuration\n${issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n')}`,
      { file: loaded.file, issues },
    );
  }
  // The data entries are the backtest's: read them with the same rules and messages.
  const { instruments } = readBacktestSection(
    {
      ...loaded,
      config: {
        ...loaded.config,
        backtest: { data: result.data.data, from: result.data.from, to: result.data.to },
      },
    },
    undefined,
    cwd,
  );
  return { speed: result.data.speed as number, instruments };
}

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = usage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        plugins: { type: 'string', short: 'p', multiple: true },
        live: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        http: { type: 'string' },
        db: { type: 'string' },
        fresh: { type: 'boolean', default: false },
        speed: { type: 'string' },
      },
    }),
  );
  if (!values.config) throw new UsageError('--config <file> is required');
  const configFile = path.resolve(io.cwd, values.config);
  const loaded = loadConfig(configFile, io.env);
  const { config } = loaded;
  const decision = decideMode({ live: values.live === true, dryRun: values['dry-run'] === true }, loaded);
  const level = (values['log-level'] ?? io.env.LOG_LEVEL ?? config.log.level) as LogLevel;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'silent'].includes(level))
    throw new UsageError(
      `--log-level must be one of trace, debug, info, warn, error, silent (got "${level}")`,
    );
  const listen = values.http ?? config.http.listen;
  let address: { host: string; port: number } | undefined;
  try {
    address = listen === undefined ? undefined : parseListen(listen);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const configDir = path.dirname(configFile);
  const replay = readReplay(loaded, io.cwd);
  if (values.speed !== undefined) {
    const speed = Number(values.speed);
    if (!(speed > 0)) throw new UsageError(`--speed must be a positive number (got "${values.speed}")`);
    if (!replay) throw new UsageError('--speed needs a "replay:" section in the config');
    replay.speed = speed;
  }

  // Secrets: what the config took from the environment, and any variable named like a secret.
  const secrets = [
    ...loaded.secretPaths
      .map((dotted) => valueAt(config, dotted))
      .filter((value): value is string => typeof value === 'string'),
    ...secretsFromEnvironment(io.env),
  ];
  const runnerLogger = createRunnerLogger({
    level,
    bindings: { runner: config.runId ?? path.basename(configFile) },
    console: io.stderr,
    directory: config.log.dir === undefined ? undefined : path.resolve(configDir, config.log.dir),
    retainDays: config.log.retainDays,
    secrets,
  });
  const logger = runnerLogger.logger;
  if (config.live && decision.mode !== 'live')
    logger.warn('the config says live: true but --live was not given: running in paper mode');

  const storePath =
    values.db !== undefined
      ? path.resolve(io.cwd, values.db)
      : path.resolve(
          configDir,
          config.store.path ?? `${path.basename(configFile).replace(/\.[^.]+$/, '')}.db`,
        );
  const store = new SqliteStore({
    path: storePath,
    synchronous: config.store.synchronous,
    flushIntervalMs: config.store.flushInterval,
    secrets,
    onError: (error) => logger.error('store write failed; records stay queued', { error: error.message }),
  });
  let http: RunnerHttpServer | undefined;
  try {
    let restore: EngineCheckpoint | undefined;
    let memory: MemorySnapshot | undefined;
    if (!values.fresh) {
      restore = store.loadCheckpoint();
      if (!restore) memory = store.loadMemory();
    }
    if (restore)
      logger.warn('resuming from the last checkpoint', {
        previousRun: restore.runId,
        at: new Date(restore.at).toISOString(),
        positions: restore.ledger.records.length,
        openOrders: restore.openOrders.length,
      });

    const plugins = await loadPlugins([...splitList(values.plugins), ...config.plugins], {
      builtins: builtinPlugins(),
      searchDirs: searchDirsFor(configFile, io.cwd),
    });

    let clock: Clock = new RealClock();
    let candleReplay: CandleReplay | undefined;
    if (replay) {
      candleReplay = new CandleReplay(replay.instruments, logger.child({ component: 'replay' }));
      const start = await candleReplay.prepare(restore?.at);
      clock = new ScaledClock(start, replay.speed);
      logger.info('replaying recorded data', {
        speed: replay.speed,
        from: new Date(start).toISOString(),
        instruments: replay.instruments.map((instrument) => `${instrument.exchange}:${instrument.symbol}`),
      });
    }
    const runId = config.runId ?? `run-${Date.now().toString(36)}`;
    const { engine, exchanges } = await composeEngine({
      loaded,
      plugins,
      mode: decision.mode,
      logger,
      clock,
      store,
      engine: { restore, memory, dryRun: decision.dryRun, runId },
      wrapExchange:
        decision.mode === 'paper' ? (exchange) => wrapForPaper(exchange, clock, logger) : undefined,
    });
    store.setCheckpointSource(() => engine.checkpoint());
    store.beginRun({
      runId: engine.runId,
      startedAt: Date.now(),
      mode: decision.mode,
      configHash: loaded.hash,
      // As written: `${NAME}` references, never the values they stand for.
      config: loaded.raw,
    });
    const fed = new Set(replay?.instruments.map((instrument) => instrument.exchange) ?? []);
    for (const id of simulatedVenues(exchanges).keys())
      if (!fed.has(id))
        logger.warn(
          `exchange "${id}" is a simulated venue with no market data (no replay: data for it): it has no prices and fills nothing`,
        );
    if (candleReplay) {
      await candleReplay.attach(simulatedVenues(exchanges));
      await candleReplay.feedDue(clock.now());
    }
    logOrderFlow(engine, logger);

    const live = new LiveState(engine, {
      dryRun: decision.dryRun,
      replay: candleReplay ? () => candleReplay.progress : undefined,
      store: () => store.durability,
      equityEveryMs: config.engine.cycleInterval,
    });
    if (address) {
      http = await startHttpServer({
        ...address,
        engine,
        live,
        metrics: createMetrics(engine, {
          storePending: () => store.durability.pending,
          replayBars: candleReplay ? () => candleReplay.progress.bars : undefined,
        }),
        logger: logger.child({ component: 'http' }),
        controlToken: config.http.controlToken,
        readToken: config.http.readToken,
        staleAfterMs: config.http.staleAfter,
        cycleIntervalMs: config.engine.cycleInterval,
        clockSpeed: replay?.speed ?? 1,
        checks: () => {
          const durability = store.durability;
          return [
            {
              name: 'store',
              ok: durability.pending < 10_000,
              message: `${durability.committed} records committed, ${durability.pending} queued`,
            },
          ];
        },
      });
      logger.info('http server listening', {
        url: http.url,
        dashboard: `${http.url}/`,
        controls: config.http.controlToken ? 'enabled' : 'disabled (no control token)',
      });
    }

    // Listen for the end before anything can end it: a signal during boot must not be missed.
    const stopped = new Promise<Awaited<ReturnType<typeof engine.stop>>>((resolve) => {
      engine.events.once('engine:stop', resolve);
    });
    let signals = 0;
    const removeHandler = io.onSignal((signal) => {
      signals += 1;
      if (signals === 1) {
        logger.info(`received ${signal}: shutting down`);
        void engine.stop(signal);
      } else {
        logger.warn(`received ${signal} again: the shutdown already in progress continues`);
      }
    });
    const detachConsole = io.stdin
      ? attachConsole(engine, io.stdin, io.stdout, logger, () => void engine.stop('stop from the console'))
      : undefined;
    const replayAbort = new AbortController();
    try {
      logger.info('starting', {
        mode: decision.mode,
        dryRun: decision.dryRun,
        config: loaded.file,
        configHash: loaded.hash,
        runId: engine.runId,
        store: storePath,
      });
      await engine.start();
      if (candleReplay && !engine.isStopping) {
        void candleReplay.run(clock, replayAbort.signal).then((finished) => {
          if (finished) void engine.stop('replay finished');
        });
      }
      const stop = await stopped;
      replayAbort.abort();
      logger.info('stopped', { ...stop });
      store.endRun(engine.runId, Date.now(), stop.reason);
      return EXIT.ok;
    } catch (error) {
      replayAbort.abort();
      if (!engine.isStopping) await engine.stop('startup failed').catch(() => undefined);
      throw error;
    } finally {
      removeHandler();
      detachConsole?.();
    }
  } finally {
    await http?.close();
    await store
      .close()
      .catch((error: unknown) =>
        logger.error('store close failed', { error: error instanceof Error ? error.message : String(error) }),
      );
    runnerLogger.close();
  }
}

function valueAt(root: unknown, dotted: string): unknown {
  let current = root;
  for (const part of dotted.match(/[^.[\]]+/g) ?? []) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
