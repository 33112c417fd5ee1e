import { type RedisServer, redisAvailable, startRedis } from '@perpkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueExecutor, redactUrl, startQueueWorker } from '../src/queue';

const available = redisAvailable();

describe.skipIf(!available)('trials on BullMQ (Redis on 127.0.0.1)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('two workers run every job once; each result says who ran it', async () => {
    const name = 'queue-test-basic';
    const seen: string[] = [];
    const workers = ['w1', 'w2'].map((id) =>
      startQueueWorker<{ value: number }, number>({
        url: redis.url,
        name,
        id,
        concurrency: 2,
        process: async ({ value }, job) => {
          seen.push(job.id);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return value * 10;
        },
      }),
    );
    const executor = new QueueExecutor<{ value: number }, number>({ url: redis.url, name });
    try {
      await Promise.all(workers.map((worker) => worker.ready()));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, value) => executor.run(`study-search-${value}`, { value })),
      );
      expect(results.map((result) => result.result)).toEqual(
        Array.from({ length: 20 }, (_, value) => value * 10),
      );
      for (const result of results) expect(['w1', 'w2']).toContain(result.worker);
      expect(results.every((result) => result.attempts === 1)).toBe(true);
      expect(seen.length).toBe(20);
      expect(new Set(seen).size).toBe(20);

      // The same job id again (a resumed coordinator): the finished job's result, not a new run.
      const again = await executor.run('study-search-3', { value: 3 });
      expect(again.result).toBe(30);
      expect(seen.length).toBe(20);
    } finally {
      await executor.close();
      await Promise.all(workers.map((worker) => worker.close()));
    }
  });

  it('refuses a URL that is not redis://, and hides passwords in logs', () => {
    expect(() => new QueueExecutor({ url: 'http://127.0.0.1:6379' })).toThrow(/redis:\/\//);
    expect(redactUrl('redis://user:hunter2@127.0.0.1:6379/0')).toBe('redis://user:***@127.0.0.1:6379/0');
  });
});
