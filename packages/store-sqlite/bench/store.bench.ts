/**
 * Store write throughput: a batch of 100 closed trades committed in one transaction (the target
 * is under 1 ms), and single money records committed one by one.
 * Run: pnpm --filter @perpkit/store-sqlite bench
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuditRecord, ClosedTrade } from '@perpkit/core';
import { SqliteStore } from '../src/index';

const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-store-bench-'));
const T0 = Date.UTC(2025, 0, 1);
let sequence = 0;

function trade(): AuditRecord {
  sequence += 1;
  const data: ClosedTrade = {
    id: `T${sequence}`,
    exchange: 'sim',
    account: 'main',
    symbol: 'BTC',
    direction: 'long',
    strategyId: 'sma-cross',
    openedAt: T0 + sequence * 60_000,
    closedAt: T0 + sequence * 60_000 + 30_000,
    quantity: 0.5,
    entryPrice: 60_000,
    exitPrice: 60_120,
    pricePnl: 60,
    fees: 30.03,
    slippage: 1.2,
    funding: -0.4,
    netPnl: 29.57,
    entryReasons: ['CROSS_UP'],
    exitReasons: ['CROSS_DOWN'],
  };
  return { type: 'trade:closed', at: data.closedAt, runId: 'bench', configHash: 'abc123', data };
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] as number;
}

async function batches(synchronous: 'normal' | 'full', rounds: number) {
  const store = new SqliteStore({
    path: path.join(dir, `batch-${synchronous}.db`),
    synchronous,
    flushIntervalMs: 1e9,
  });
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let round = 0; round < rounds + 20; round += 1) {
    const records = Array.from({ length: 100 }, trade);
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    for (const record of records) store.append(record);
    await store.flush();
    const spent = process.cpuUsage(cpu);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // The first rounds warm up the JIT and the page cache.
    if (round >= 20) {
      times.push(ms);
      cpuTimes.push((spent.user + spent.system) / 1000);
    }
  }
  await store.close();
  console.log(
    `100 trades in one batch (synchronous=${synchronous}): median ${percentile(times, 0.5).toFixed(3)} ms wall, ${percentile(cpuTimes, 0.5).toFixed(3)} ms CPU; p95 ${percentile(times, 0.95).toFixed(3)} ms wall  (${rounds} batches)`,
  );
}

async function oneByOne(count: number) {
  const store = new SqliteStore({ path: path.join(dir, 'single.db'), flushIntervalMs: 1e9 });
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) {
    store.append(trade());
    await store.flush();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await store.close();
  console.log(
    `one trade per commit (synchronous=normal):         ${Math.round(count / seconds).toLocaleString('en-US')} commits/s (${((seconds * 1e6) / count).toFixed(1)} µs each)`,
  );
}

await batches('normal', 200);
await batches('full', 50);
await oneByOne(5_000);
rmSync(dir, { recursive: true, force: true });
