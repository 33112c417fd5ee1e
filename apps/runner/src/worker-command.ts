import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { type CandleColumns, intervalMs } from '@perpkit/backtest';
import {
  redactUrl,
  startQueueWorker,
  type TrialResult,
  type TrialTask,
  WorkerPool,
} from '@perpkit/optimizer';
import { UsageError, usage } from './cli-support';
import { type CliIo, EXIT } from './io';
import { loadStudyColumns, prepareStudy, type StudyDescriptor, type ThreadTask } from './optimize/trial';
import { threadExecArgv, threadScript } from './optimize-command';

export const WORKER_HELP = `runner worker: run optimizer trials from a BullMQ queue on Redis

Usage:
  runner worker --queue redis://host:port [--concurrency <n>] [--lock-duration <time>]

Takes the trials that "runner optimize --queue <url>" enqueues and runs them in worker threads
(candles are loaded once per study and shared by the threads). Start any number of workers on any
number of machines: results go back through Redis to the coordinator's store. A worker that dies
mid-trial leaves the trial to be taken again by another worker once its lock expires.

Workers read the study's config and data files at the paths the coordinator uses (a shared
checkout or file system); secrets, if any, come from each worker's own environment. A worker
loads the plugins a queued config names: only let trusted coordinators reach the Redis server.

Options:
      --queue <url>          Redis URL (required).
      --queue-name <name>    Queue name (default perpkit-optimize).
      --concurrency <n>      Trials at once, one worker thread each (default: the number of cores).
      --lock-duration <time> How long a silent worker keeps its trial (default 30s; e.g. 5s, 1m).
  -h, --help                 Show this help.

Stop it with SIGINT or SIGTERM: it finishes the trials it holds, then exits.
Log lines (JSON on stderr): "queue worker ready", "trial started", "trial finished".
`;

export async function runWorkerCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = usage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        queue: { type: 'string' },
        'queue-name': { type: 'string' },
        concurrency: { type: 'string' },
        'lock-duration': { type: 'string' },
      },
    }),
  );
  if (!values.queue) throw new UsageError('--queue <redis://host:port> is required');
  const concurrency = values.concurrency === undefined ? availableParallelism() : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError(`--concurrency must be an integer ≥ 1 (got "${values.concurrency}")`);
  let lockDurationMs = 30_000;
  if (values['lock-duration'] !== undefined) {
    if (!/^\d+\s*(s|m|h)$/.test(values['lock-duration']))
      throw new UsageError(
        `--lock-duration must be a duration such as 5s or 1m (got "${values['lock-duration']}")`,
      );
    lockDurationMs = intervalMs(values['lock-duration']);
  }
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    io.stderr.write(`${JSON.stringify({ time: Date.now(), msg, ...fields })}\n`);

  const pool = new WorkerPool<ThreadTask, TrialResult>({
    script: threadScript(),
    size: concurrency,
    execArgv: threadExecArgv(),
  });
  // One study's candles at a time (two while a new study starts): loaded once, shared by threads.
  const columnsByStudy = new Map<string, Promise<CandleColumns[]>>();
  const columnsFor = (study: StudyDescriptor) => {
    let columns = columnsByStudy.get(study.key);
    if (!columns) {
      columns = prepareStudy(study).then((prepared) => loadStudyColumns(prepared.instruments));
      columnsByStudy.set(study.key, columns);
      columns.catch(() => columnsByStudy.delete(study.key));
      while (columnsByStudy.size > 2) columnsByStudy.delete(columnsByStudy.keys().next().value as string);
    }
    return columns;
  };

  const worker = startQueueWorker<{ study: StudyDescriptor; task: TrialTask }, TrialResult>({
    url: values.queue,
    name: values['queue-name'],
    concurrency,
    lockDurationMs,
    process: async ({ study, task }) => pool.run({ study, columns: await columnsFor(study), task }),
    onEvent: (event) =>
      log(event.type === 'failed' ? 'trial failed' : `trial ${event.type}`, {
        jobId: event.jobId,
        attempts: event.attempts,
        ...(event.error ? { error: event.error } : {}),
      }),
  });
  await worker.ready();
  log('queue worker ready', {
    worker: worker.id,
    queue: redactUrl(values.queue),
    concurrency,
    lockDurationMs,
  });

  await new Promise<void>((resolve) => {
    const remove = io.onSignal((signal) => {
      remove();
      log('queue worker stopping', { signal });
      resolve();
    });
  });
  await worker.close();
  await pool.close();
  log('queue worker stopped');
  return EXIT.ok;
}
