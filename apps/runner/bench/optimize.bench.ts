/**
 * Optimizer throughput: trials per second of the SMA example on the whole Bybit BTCUSDT 1m file
 * (43,200 bars a trial) with 1 and 2 worker threads, and with 2 queue workers on Redis (one thread
 * each), through the built runner. Also reports each run's peak resident memory.
 * Run: pnpm --filter @perpkit/runner bench (after pnpm build); TRIALS=200 to change the count.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisAvailable, startRedis } from '@perpkit/testkit';
import { smaOptimizeConfig } from '../test/helpers';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TRIALS = Number(process.env.TRIALS ?? 120);

const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-optimize-bench-'));
const config = path.join(directory, 'sma.yaml');
writeFileSync(
  config,
  smaOptimizeConfig(
    `  space: { fast: { min: 3, max: 60, step: 1 }, slow: { min: 20, max: 400, step: 5 } }
  sampler: random
  trials: ${TRIALS}
  seed: 3
  objective: sharpe
  minTrades: 10
  monteCarlo: false`,
    { range: null },
  ),
);

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

async function optimize(label: string, extra: string[]) {
  const out = path.join(directory, label);
  const result = await run([
    'optimize',
    '--config',
    config,
    '--fresh',
    '--db',
    `${out}.db`,
    '--out',
    out,
    ...extra,
  ]);
  if (result.code !== 0) throw new Error(`${label} failed:\n${result.stderr}`);
  const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
  return { label, trialsPerSecond: results.trialsPerSecond as number, peakRss: results.peakRss as number };
}

const rows = [
  await optimize('1 worker thread', ['--workers', '1']),
  await optimize('2 worker threads', ['--workers', '2']),
];
if (redisAvailable()) {
  const redis = await startRedis();
  const workers = [0, 1].map(() =>
    spawn(process.execPath, [CLI, 'worker', '--queue', redis.url, '--concurrency', '1'], {
      cwd: REPO,
      stdio: 'ignore',
    }),
  );
  try {
    rows.push(await optimize('2 queue workers (Redis)', ['--queue', redis.url]));
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await redis.stop();
  }
} else {
  console.log('redis-server is not installed: the queue row is skipped (npm run setup installs it)');
}
console.log(`node ${process.version}, ${TRIALS} trials of SMA cross on 43,200 1m bars each`);
for (const row of rows)
  console.log(
    `${row.label.padEnd(28)} ${row.trialsPerSecond.toFixed(2).padStart(8)} trials/s   peak RSS ${(row.peakRss / 2 ** 20).toFixed(0)} MiB (coordinator)`,
  );
