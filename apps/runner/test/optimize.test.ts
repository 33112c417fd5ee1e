import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type RedisServer, redisAvailable, startRedis } from '@perpkit/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli, smaOptimizeConfig, writeConfig } from './helpers';
import { count, readDb, startRunner, waitUntil } from './process';

type Row = {
  segment: string;
  trial: number;
  params: string;
  score: number | null;
  worker: string | null;
  attempts: number | null;
};

function trials(db: string, segment = 'search'): Row[] {
  return readDb(
    db,
    (database) =>
      database
        .prepare(
          'SELECT segment, trial, params, score, worker, attempts FROM trials WHERE segment = ? ORDER BY trial',
        )
        .all(segment) as Row[],
  );
}

const GRID = `  space: { fast: { min: 5, max: 20, step: 5 }, slow: { min: 30, max: 60, step: 15 } }
  sampler: grid
  objective: sharpe
  minTrades: 5
  monteCarlo: { runs: 200 }`;

describe('runner optimize', () => {
  it('searches a grid on worker threads, ranks it, and writes a best config that reproduces the best trial', async () => {
    const config = writeConfig(smaOptimizeConfig(GRID));
    const result = await runCli(['optimize', '--config', config, '--workers', '2']);
    expect(result.stderr).toContain('study');
    expect(result.code).toBe(0);
    const directory = path.dirname(config);
    const db = path.join(directory, 'bot.optimize.db');
    const rows = trials(db);
    // 4 × 3 grid points, each once.
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((row) => row.params)).size).toBe(12);
    const feasible = rows.filter((row) => row.score !== null);
    expect(feasible.length).toBeGreaterThan(0);
    const best = feasible.reduce((a, b) => ((b.score as number) > (a.score as number) ? b : a));
    expect(result.stdout).toContain('rank');
    expect(result.stdout).toMatch(/peak resident memory \d+ MiB/);
    expect(result.stdout).toMatch(/monte carlo \(shuffle, 200 runs, 95%\)/);
    expect(result.stdout).toMatch(/monte carlo \(bootstrap, 200 runs, 95%\)/);

    const report = readFileSync(path.join(directory, 'bot.optimize', 'report.html'), 'utf8');
    expect(report.startsWith('<!doctype html>') || report.startsWith('<!DOCTYPE html>')).toBe(true);
    const results = JSON.parse(readFileSync(path.join(directory, 'bot.optimize', 'results.json'), 'utf8'));
    expect(results.ranked[0].params).toEqual(JSON.parse(best.params));

    // The best config runs as an ordinary backtest (candles read from the file, not from the
    // optimizer's shared columns) and gives the best trial's Sharpe exactly.
    const bestFile = path.join(directory, 'bot.best.yaml');
    expect(existsSync(bestFile)).toBe(true);
    const backtest = await runCli(['backtest', '--config', bestFile, '--json', '-']);
    expect(backtest.code).toBe(0);
    const summary = JSON.parse(backtest.stdout).summary;
    expect(summary.sharpe).toBe(best.score);
    expect(summary.trades).toBe(results.ranked[0].metrics.trades);
    const params = JSON.parse(best.params) as { fast: number; slow: number };
    expect(readFileSync(bestFile, 'utf8')).toMatch(new RegExp(`fast: ${params.fast}\\b`));
  });

  it('killed mid-study (SIGKILL) and run again, it completes the same set as an uninterrupted run', async () => {
    const optimize = `  space: { fast: { min: 3, max: 25, step: 1 }, slow: { min: 26, max: 120, step: 2 } }
  sampler: tpe
  batchSize: 6
  trials: 30
  seed: 11
  minTrades: 3
  monteCarlo: false`;
    // Each trial holds its thread for 100 ms, so the study cannot finish before the kill.
    const config = writeConfig(
      smaOptimizeConfig(optimize, {
        plugins: [`${FIXTURES}pause-gate.mjs`],
        riskGates: 'riskGates:\n  - plugin: pause\n    options: { pauseMs: 100 }',
      }),
    );
    const db = path.join(path.dirname(config), 'bot.optimize.db');
    const first = startRunner(['optimize', '--config', config, '--workers', '1']);
    await waitUntil(() => count(db, 'trials') >= 8, 60_000, `eight stored trials\n${first.stderr()}`);
    first.child.kill('SIGKILL');
    await first.exited();
    const stored = count(db, 'trials');
    expect(stored).toBeLessThan(30);

    const second = startRunner(['optimize', '--config', config, '--workers', '2']);
    expect(await second.exited()).toBe(0);
    expect(second.stderr()).toMatch(new RegExp(`resumed \\(${stored} trials stored\\)`));

    const whole = path.join(path.dirname(config), 'whole.db');
    const reference = await runCli(['optimize', '--config', config, '--workers', '2', '--db', whole]);
    expect(reference.code).toBe(0);
    const strip = (rows: Row[]) => rows.map(({ trial, params, score }) => ({ trial, params, score }));
    expect(trials(db)).toHaveLength(30);
    expect(strip(trials(db))).toEqual(strip(trials(whole)));
  });

  it('names the field of a search space that does not fit the strategy', async () => {
    const config = writeConfig(
      smaOptimizeConfig(
        `  space: { fats: { min: 5, max: 20, step: 5 }, slow: { min: 0, max: 60, step: 15 } }`,
      ),
    );
    const result = await runCli(['optimize', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('optimize.space.fats');
    expect(result.stderr).toContain('optimize.space.slow');

    // A walk-forward that does not fit in the data (one week) is refused before any trial runs.
    const long = writeConfig(
      smaOptimizeConfig(`  space: { fast: { min: 5, max: 20, step: 5 } }
  walkForward: { train: 30d, test: 10d }`),
    );
    const refused = await runCli(['optimize', '--config', long]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('optimize.walkForward');
    expect(existsSync(path.join(path.dirname(long), 'bot.optimize', 'results.json'))).toBe(false);
  });
});

describe.skipIf(!redisAvailable())('runner optimize --queue and runner worker (BullMQ on Redis)', () => {
  let redis: RedisServer | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('a queue worker killed mid-trial leaves the trial to another worker: no result lost or duplicated', async () => {
    redis = await startRedis();
    // Every trial holds its thread for 1.5 s (a risk gate that pauses at setup): long enough to
    // kill a worker in the middle of one.
    const config = writeConfig(
      smaOptimizeConfig(
        `  space: { fast: { min: 5, max: 10, step: 5 }, slow: { min: 30, max: 60, step: 30 } }
  sampler: grid
  minTrades: 1
  monteCarlo: false`,
        {
          plugins: [`${FIXTURES}pause-gate.mjs`],
          riskGates: 'riskGates:\n  - plugin: pause\n    options: { pauseMs: 1500 }',
        },
      ),
    );
    const directory = path.dirname(config);
    const db = path.join(directory, 'queue.db');
    const coordinator = startRunner(['optimize', '--config', config, '--queue', redis.url, '--db', db]);
    const doomed = startRunner([
      'worker',
      '--queue',
      redis.url,
      '--concurrency',
      '1',
      '--lock-duration',
      '2s',
    ]);
    let survivor: ReturnType<typeof startRunner> | undefined;
    try {
      const started = await doomed.waitForLog('trial started', 60_000);
      doomed.child.kill('SIGKILL');
      await doomed.exited();
      expect(doomed.logs().some((line) => line.msg === 'trial finished')).toBe(false);

      survivor = startRunner(['worker', '--queue', redis.url, '--concurrency', '2', '--lock-duration', '2s']);
      const ready = await survivor.waitForLog('queue worker ready', 30_000);
      expect(await coordinator.exited()).toBe(0);

      const rows = trials(db);
      expect(rows).toHaveLength(4);
      expect(new Set(rows.map((row) => row.params)).size).toBe(4);
      // The killed trial was taken again by the surviving worker.
      const killedTrial = Number(String(started.jobId).split('-').at(-1));
      const retried = rows.find((row) => row.trial === killedTrial);
      expect(retried?.worker).toBe(ready.worker);
      expect(retried?.attempts).toBeGreaterThanOrEqual(2);
      expect(rows.every((row) => row.worker === ready.worker)).toBe(true);

      // Same results as on local threads.
      const local = path.join(directory, 'local.db');
      expect((await runCli(['optimize', '--config', config, '--workers', '2', '--db', local])).code).toBe(0);
      const strip = (list: Row[]) => list.map(({ trial, params, score }) => ({ trial, params, score }));
      expect(strip(rows)).toEqual(strip(trials(local)));
    } finally {
      if (doomed.child.exitCode === null) doomed.child.kill('SIGKILL');
      if (coordinator.child.exitCode === null) coordinator.child.kill('SIGKILL');
      if (survivor) {
        survivor.child.kill('SIGTERM');
        await survivor.exited();
      }
    }
  });
});
