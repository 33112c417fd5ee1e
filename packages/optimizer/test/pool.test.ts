import { describe, expect, it } from 'vitest';
import { TaskError, WorkerPool } from '../src/pool';

// Worker scripts written out in plain JavaScript speak the pool's message protocol directly:
// { id, task } in, { id, ok, result | error } out.
function script(body: string): URL {
  const source = `import { parentPort } from 'node:worker_threads';
parentPort.on('message', async ({ id, task }) => {
  try {
    const result = await (async (task) => { ${body} })(task);
    parentPort.postMessage({ id, ok: true, result });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: { message: error.message, code: error.code } });
  }
});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

describe('WorkerPool', () => {
  it('runs at most `size` tasks at once and returns every result to its caller', async () => {
    // A shared counter of tasks in flight; each task records the highest value it saw.
    const shared = new Int32Array(new SharedArrayBuffer(12));
    const pool = new WorkerPool<{ value: number; counter: Int32Array }, { square: number; seen: number }>({
      // Each task waits (up to 10 s) until three tasks are in flight, so the pool is seen at its
      // bound however slowly threads start; a fourth concurrent task would push the maximum to 4.
      script: script(`
        const now = Atomics.add(task.counter, 0, 1) + 1;
        const deadline = Date.now() + 10000;
        while (Atomics.load(task.counter, 0) < 3 && Date.now() < deadline) Atomics.wait(task.counter, 2, 0, 5);
        Atomics.store(task.counter, 1, Math.max(Atomics.load(task.counter, 1), Atomics.load(task.counter, 0)));
        await new Promise((resolve) => setTimeout(resolve, 5));
        Atomics.sub(task.counter, 0, 1);
        return { square: task.value * task.value, seen: now };`),
      size: 3,
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, value) => pool.run({ value, counter: shared })),
      );
      expect(results.map((result) => result.square)).toEqual(
        Array.from({ length: 12 }, (_, value) => value * value),
      );
      expect(Atomics.load(shared, 1)).toBe(3);
      expect(Atomics.load(shared, 0)).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it("a task's error reaches its caller with its code, and the thread goes on", async () => {
    const pool = new WorkerPool<number, number>({
      script: script(
        `if (task < 0) { const error = new Error('negative'); error.code = 'BAD_INPUT'; throw error; } return task * 2;`,
      ),
      size: 1,
    });
    try {
      await expect(pool.run(-1)).rejects.toMatchObject({ message: 'negative', code: 'BAD_INPUT' });
      expect(await pool.run(4)).toBe(8);
    } finally {
      await pool.close();
    }
  });

  it('a thread that dies fails its task as WORKER_DIED and is replaced', async () => {
    const pool = new WorkerPool<string, string>({
      script: script(`if (task === 'die') process.exit(3); return task.toUpperCase();`),
      size: 1,
    });
    try {
      const dead = pool.run('die');
      await expect(dead).rejects.toBeInstanceOf(TaskError);
      await expect(dead).rejects.toMatchObject({ code: 'WORKER_DIED' });
      expect(await pool.run('still here')).toBe('STILL HERE');
      expect(pool.size).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('shares SharedArrayBuffer columns with its threads instead of copying them', async () => {
    const column = new Float64Array(new SharedArrayBuffer(8 * 4));
    const pool = new WorkerPool<Float64Array, number>({
      script: script(`task[2] = 42; return task.length;`),
      size: 2,
    });
    try {
      expect(await pool.run(column)).toBe(4);
      expect(column[2]).toBe(42);
    } finally {
      await pool.close();
    }
  });

  it('refuses work after close, and refuses a pool without threads', async () => {
    const pool = new WorkerPool<number, number>({ script: script('return task;'), size: 1 });
    await pool.close();
    await expect(pool.run(1)).rejects.toThrow(/closed/);
    expect(() => new WorkerPool({ script: script('return task;'), size: 0 })).toThrow(RangeError);
  });
});
