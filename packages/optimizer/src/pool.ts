import { parentPort, threadId, Worker } from 'node:worker_threads';

/** What a task's failure looks like when it crosses the thread boundary. */
export interface TaskFailure {
  readonly message: string;
  readonly code?: string | undefined;
}

type FromWorker<Result> =
  | { readonly id: number; readonly ok: true; readonly result: Result }
  | { readonly id: number; readonly ok: false; readonly error: TaskFailure };

/** A task that failed inside a worker thread (its error), or whose worker died. */
export class TaskError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'TaskError';
    this.code = code;
  }
}

interface Slot<Result> {
  worker: Worker;
  busy: { id: number; resolve: (result: Result) => void; reject: (error: Error) => void } | undefined;
}

export interface WorkerPoolOptions {
  /** The worker script (a file path or `file:` URL); it calls `serveTasks`. */
  readonly script: string | URL;
  /** Threads (at least 1). */
  readonly size: number;
  /** Passed to every thread as `workerData`. */
  readonly workerData?: unknown;
  /** Node flags of the threads (default: the process's own, as Node does). */
  readonly execArgv?: readonly string[];
  /** Per-thread heap limits, so one runaway trial cannot take the machine's memory. */
  readonly resourceLimits?: import('node:worker_threads').ResourceLimits;
}

/**
 * A bounded pool of worker threads: at most `size` tasks run at once, the others wait in order.
 * Tasks are structured-cloned to the thread, except `SharedArrayBuffer`s, which every thread shares
 * (candle columns are loaded once and never copied). A thread that dies fails its task with a
 * `TaskError` and is replaced.
 */
export class WorkerPool<Task, Result> {
  private readonly slots: Slot<Result>[] = [];
  private readonly waiting: {
    task: Task;
    resolve: (result: Result) => void;
    reject: (error: Error) => void;
  }[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1)
      throw new RangeError(`a worker pool needs at least one thread (size: ${options.size})`);
    for (let index = 0; index < options.size; index += 1) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Runs a task on the next free thread. */
  run(task: Task): Promise<Result> {
    if (this.closed) return Promise.reject(new TaskError('the worker pool is closed'));
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every thread; tasks still waiting are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiting of this.waiting.splice(0)) waiting.reject(new TaskError('the worker pool was closed'));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private spawn(): Slot<Result> {
    const worker = new Worker(this.options.script, {
      workerData: this.options.workerData,
      ...(this.options.execArgv ? { execArgv: [...this.options.execArgv] } : {}),
      resourceLimits: this.options.resourceLimits,
    });
    const slot: Slot<Result> = { worker, busy: undefined };
    worker.on('message', (message: FromWorker<Result>) => {
      const busy = slot.busy;
      if (!busy || busy.id !== message.id) return;
      slot.busy = undefined;
      if (message.ok) busy.resolve(message.result);
      else busy.reject(new TaskError(message.error.message, message.error.code));
      this.dispatch();
    });
    const replace = (error: Error) => {
      const busy = slot.busy;
      slot.busy = undefined;
      busy?.reject(new TaskError(`worker thread died: ${error.message}`, 'WORKER_DIED'));
      if (this.closed) return;
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots[index] = this.spawn();
      this.dispatch();
    };
    worker.on('error', replace);
    worker.on('exit', (code) => {
      if (!this.closed && this.slots.includes(slot)) replace(new Error(`exit code ${code}`));
    });
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.waiting.shift();
      if (!next) return;
      const id = this.nextId++;
      slot.busy = { id, resolve: next.resolve, reject: next.reject };
      slot.worker.postMessage({ id, task: next.task });
    }
  }
}

/**
 * The thread side of a `WorkerPool`: runs `handler` for each task, one at a time, and posts its
 * result or its error back. Call it once at the top of the worker script.
 */
export function serveTasks<Task, Result>(
  handler: (task: Task, context: { threadId: number }) => Promise<Result>,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks must run inside a worker thread');
  port.on('message', async (message: { id: number; task: Task }) => {
    try {
      const result = await handler(message.task, { threadId });
      port.postMessage({ id: message.id, ok: true, result });
    } catch (error) {
      const failure = error as { message?: string; code?: unknown };
      port.postMessage({
        id: message.id,
        ok: false,
        error: {
          message: failure?.message ?? String(error),
          code: typeof failure?.code === 'string' ? failure.code : undefined,
        },
      });
    }
  });
}
