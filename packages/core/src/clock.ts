import { EngineError } from './errors';

/**
 * The one time source. Strategies, gates, rules and monitors read time from the engine's clock and
 * never call `Date.now()` or `setTimeout` themselves, so the same code runs in backtests (simulated
 * clock), paper and live (real clock).
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` of this clock's time, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        signal?.removeEventListener('abort', done);
        clearTimeout(timer);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * A real clock whose time runs `speed` times faster, starting at `start`. Used to replay
 * historical data in paper mode at N× speed: timers shrink by the same factor.
 */
export class ScaledClock implements Clock {
  private readonly realStart: number;

  constructor(
    private readonly start: number,
    private readonly speed: number,
  ) {
    if (!(speed > 0)) throw new EngineError('INVALID_ARGUMENT', `speed must be positive (got ${speed})`);
    this.realStart = Date.now();
  }

  now(): number {
    return Math.floor(this.start + (Date.now() - this.realStart) * this.speed);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new RealClock().sleep(ms / this.speed, signal);
  }
}

interface Sleeper {
  readonly wakeAt: number;
  readonly resolve: () => void;
}

/**
 * Time moves only when told to. `advanceTo`/`advance` wake every sleeper whose time has come, in
 * time order. Backtests and replays drive it; tests use it for exact timing.
 */
export class SimulatedClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward (never backward) and wakes due sleepers. */
  advanceTo(time: number): void {
    if (time < this.current) return;
    this.current = time;
    if (this.sleepers.length === 0) return;
    const due = this.sleepers.filter((sleeper) => sleeper.wakeAt <= time).sort((a, b) => a.wakeAt - b.wakeAt);
    if (due.length === 0) return;
    this.sleepers = this.sleepers.filter((sleeper) => sleeper.wakeAt > time);
    for (const sleeper of due) sleeper.resolve();
  }

  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** The earliest time a sleeper waits for, if any; lets drivers jump straight to it. */
  nextWakeTime(): number | undefined {
    let earliest: number | undefined;
    for (const sleeper of this.sleepers)
      if (earliest === undefined || sleeper.wakeAt < earliest) earliest = sleeper.wakeAt;
    return earliest;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        wakeAt: this.current + ms,
        resolve: () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = () => {
        this.sleepers = this.sleepers.filter((entry) => entry !== sleeper);
        resolve();
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.sleepers.push(sleeper);
    });
  }
}
