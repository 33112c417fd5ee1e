import { hostname } from 'node:os';
import { type Job, Queue, QueueEvents, Worker } from 'bullmq';

/** Where the trial queue lives. */
export interface QueueSettings {
  /** `redis://host:port[/db]`. */
  readonly url: string;
  /** Queue name (default `perpkit-optimize`); coordinator and workers must agree. */
  readonly name?: string;
  /** Key prefix in Redis (default `perpkit`). */
  readonly prefix?: string;
}

export const DEFAULT_QUEUE_NAME = 'perpkit-optimize';

/** The URL with its password hidden, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

function connectionFor(url: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`--queue: not a URL: ${url} (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new RangeError(`--queue: ${url} is not a redis:// URL`);
  // Workers block on Redis; BullMQ requires ioredis to retry forever rather than fail a command.
  return { url, maxRetriesPerRequest: null };
}

/** What a queue worker adds to a trial's result: who ran it and how often it was started. */
export interface QueuedResult<Result> {
  readonly result: Result;
  readonly worker: string;
  readonly attempts: number;
}

/**
 * The coordinator's side: adds each trial as a job with a deterministic id (a resumed coordinator
 * re-adding a trial finds the job that is already there, finished or not) and waits for its result.
 * Jobs stay in Redis for a week after they finish, so a coordinator that restarts collects results
 * that landed while it was down.
 */
export class QueueExecutor<Task, Result> {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly ready: Promise<unknown>;

  constructor(settings: QueueSettings) {
    const connection = connectionFor(settings.url);
    const name = settings.name ?? DEFAULT_QUEUE_NAME;
    const prefix = settings.prefix ?? 'perpkit';
    this.queue = new Queue(name, { connection, prefix });
    this.events = new QueueEvents(name, { connection, prefix });
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  async run(jobId: string, task: Task): Promise<QueuedResult<Result>> {
    await this.ready;
    const week = 7 * 24 * 3600;
    const job = await this.queue.add('trial', task, {
      jobId,
      // A trial that throws returns its error as a result; only a worker's death (stalled job) or a
      // Redis failure lands here, and is worth retrying.
      attempts: 5,
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: { age: week },
      removeOnFail: { age: week },
    });
    const value = (await job.waitUntilFinished(this.events)) as QueuedResult<Result>;
    return value;
  }

  /** Jobs waiting and running (for progress lines). */
  async counts(): Promise<{ waiting: number; active: number }> {
    const counts = await this.queue.getJobCounts('waiting', 'active');
    return { waiting: counts.waiting ?? 0, active: counts.active ?? 0 };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}

export interface QueueWorkerOptions<Task, Result> extends QueueSettings {
  /** Trials run at once in this process (default 1). */
  readonly concurrency?: number;
  /**
   * How long a started trial stays locked without a heartbeat (default 30 s). A worker that dies
   * stops the heartbeat; after this time another worker takes the trial again.
   */
  readonly lockDurationMs?: number;
  /** This worker's name in results (default host:pid). */
  readonly id?: string;
  readonly process: (task: Task, job: { id: string; attempts: number }) => Promise<Result>;
  readonly onEvent?: (event: {
    type: 'started' | 'finished' | 'failed';
    jobId: string;
    attempts: number;
    error?: string;
  }) => void;
}

/**
 * A queue worker: takes trials from Redis and returns their results. The lock heartbeat runs on this
 * thread's event loop, so `process` should hand CPU work to worker threads (the runner does).
 */
export function startQueueWorker<Task, Result>(
  options: QueueWorkerOptions<Task, Result>,
): {
  readonly id: string;
  ready(): Promise<void>;
  close(): Promise<void>;
} {
  const id = options.id ?? `${hostname()}:${process.pid}`;
  const lockDuration = options.lockDurationMs ?? 30_000;
  const worker = new Worker(
    options.name ?? DEFAULT_QUEUE_NAME,
    async (job: Job) => {
      const jobId = job.id ?? '';
      const attempts = job.attemptsStarted;
      options.onEvent?.({ type: 'started', jobId, attempts });
      const result = await options.process(job.data as Task, { id: jobId, attempts });
      options.onEvent?.({ type: 'finished', jobId, attempts });
      return { result, worker: id, attempts } satisfies QueuedResult<Result>;
    },
    {
      connection: connectionFor(options.url),
      prefix: options.prefix ?? 'perpkit',
      concurrency: options.concurrency ?? 1,
      lockDuration,
      stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
      // A trial whose worker died is taken again, up to three times, before it counts as failed.
      maxStalledCount: 3,
    },
  );
  worker.on('failed', (job, error) => {
    options.onEvent?.({
      type: 'failed',
      jobId: job?.id ?? '',
      attempts: job?.attemptsStarted ?? 0,
      error: error.message,
    });
  });
  return {
    id,
    ready: async () => {
      await worker.waitUntilReady();
    },
    close: () => worker.close(),
  };
}
