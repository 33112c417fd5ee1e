import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

describe('crash safety', () => {
  it('after kill -9, every record the writer saw committed is in the database, intact', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-crash-')), 'audit.db');
    const child = spawn(process.execPath, ['-C', '@perpkit/source', '--import', 'tsx', WRITER, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = 0;
    let buffer = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${acked} acks within 30 s`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          const match = /^acked (\d+)$/.exec(line);
          if (match) acked = Number(match[1]);
        }
        if (acked >= 300) {
          clearTimeout(timer);
          // Kill while it is still writing: no flush, no close, no exit handlers.
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));

    const db = new Database(file);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const ids = new Set(
      (db.prepare('SELECT fill_id FROM fills').all() as { fill_id: string }[]).map((row) => row.fill_id),
    );
    const missing: number[] = [];
    for (let index = 1; index <= acked; index += 1) if (!ids.has(`F${index}`)) missing.push(index);
    expect(missing).toEqual([]);
    // Nothing half-written: each batch is one transaction, so every fill has its signal.
    const signals = (db.prepare('SELECT COUNT(*) AS n FROM signals').get() as { n: number }).n;
    expect(signals).toBe(ids.size);
    db.close();
  }, 60_000);
});
