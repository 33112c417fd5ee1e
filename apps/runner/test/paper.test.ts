import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, writeConfig } from './helpers';
import { count, readDb, startRunner, waitUntil } from './process';

const EXAMPLE = 'examples/sma-cross.paper.yaml';
/** Fast enough to trade within seconds, slow enough that the replay does not end first. */
const SPEED = '30000';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'perpkit-paper-'));
}

describe('paper trading on replayed data (the built CLI in a real process)', () => {
  it('runs the example: health, metrics, dashboard, audit rows; SIGTERM flushes everything and exits 0', async () => {
    const db = path.join(tempDir(), 'paper.db');
    const runner = startRunner(['--config', EXAMPLE, '--http', '127.0.0.1:0', '--db', db, '--speed', SPEED]);
    const listening = await runner.waitForLog('http server listening');
    const url = listening.url as string;
    await waitUntil(() => count(db, 'fills') >= 4, 60_000, 'four fills in the database');

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/perpkit_fills_total\{exchange="sim",liquidity="taker",run_id="[^"]+"\} [1-9]/);
    expect(metrics).toMatch(/perpkit_phase\{phase="active",run_id="[^"]+"\} 1/);
    const state = (await (await fetch(`${url}/api/state`)).json()) as {
      cycle: number;
      counters: { fills: number };
      replay: { bars: number };
      accounts: { equity: number }[];
    };
    expect(state.cycle).toBeGreaterThan(30);
    expect(state.counters.fills).toBeGreaterThanOrEqual(4);
    expect(state.replay.bars).toBeGreaterThan(30);
    expect(state.accounts[0]?.equity).toBeGreaterThan(0);
    expect(await (await fetch(`${url}/`)).text()).toContain('<title>perpkit runner</title>');

    runner.child.kill('SIGTERM');
    const started = Date.now();
    expect(await runner.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);

    const reportedFills = runner.logs().filter((line) => line.msg === 'fill').length;
    readDb(db, (database) => {
      const rows = (sql: string) => (database.prepare(sql).get() as { n: number }).n;
      expect(rows('SELECT COUNT(*) AS n FROM signals')).toBeGreaterThan(0);
      expect(rows("SELECT COUNT(*) AS n FROM order_requests WHERE outcome = 'submitted'")).toBeGreaterThan(0);
      expect(rows('SELECT COUNT(*) AS n FROM orders')).toBeGreaterThan(0);
      expect(rows("SELECT COUNT(*) AS n FROM risk_decisions WHERE gate = 'pacing'")).toBeGreaterThan(0);
      // Every fill the runner reported is in the database: the shutdown flushed the queue.
      expect(rows('SELECT COUNT(*) AS n FROM fills')).toBe(reportedFills);
      expect(rows("SELECT COUNT(*) AS n FROM events WHERE type = 'engine:stop'")).toBe(1);
      expect(rows('SELECT COUNT(*) AS n FROM checkpoints')).toBe(1);
      const run = database.prepare('SELECT * FROM runs').get() as {
        stop_reason: string;
        stopped_at: number;
        config: string;
      };
      expect(run.stop_reason).toBe('SIGTERM');
      expect(run.stopped_at).toBeGreaterThan(0);
      // The rules each trade was made under: the hash on every fill, the config in the run.
      expect(rows('SELECT COUNT(*) AS n FROM fills WHERE config_hash IS NULL')).toBe(0);
      expect(JSON.parse(run.config).strategies[0].plugin).toBe('sma-cross');
    });
  }, 90_000);

  it('after kill -9 keeps everything committed, and the restart resumes and reconciles', async () => {
    const db = path.join(tempDir(), 'crash.db');
    const first = startRunner(['--config', EXAMPLE, '--db', db, '--speed', SPEED]);
    await waitUntil(() => count(db, 'fills') >= 3, 60_000, 'three fills in the database');
    const committed = readDb(db, (database) => ({
      fills: (database.prepare('SELECT fill_id FROM fills').all() as { fill_id: string }[]).map(
        (row) => row.fill_id,
      ),
      signals: (database.prepare('SELECT id FROM signals').all() as { id: string }[]).map((row) => row.id),
    }));
    first.child.kill('SIGKILL');
    expect(await first.exited()).toBe(null);

    const after = readDb(db, (database) => ({
      integrity: database.pragma('integrity_check', { simple: true }),
      fills: new Set(
        (database.prepare('SELECT fill_id FROM fills').all() as { fill_id: string }[]).map(
          (row) => row.fill_id,
        ),
      ),
      signals: new Set(
        (database.prepare('SELECT id FROM signals').all() as { id: string }[]).map((row) => row.id),
      ),
      checkpoint: database.prepare('SELECT at FROM checkpoints').get() as { at: number } | undefined,
    }));
    expect(after.integrity).toBe('ok');
    expect(committed.fills.filter((id) => !after.fills.has(id))).toEqual([]);
    expect(committed.signals.filter((id) => !after.signals.has(id))).toEqual([]);
    expect(after.checkpoint?.at).toBeGreaterThan(0);

    const second = startRunner(['--config', EXAMPLE, '--db', db, '--speed', SPEED]);
    const resumed = await second.waitForLog('resuming from the last checkpoint');
    const replayFrom = await second.waitForLog('replaying recorded data');
    // The replay continues after the last bar the first run played, not from the start.
    expect(Date.parse(replayFrom.from as string)).toBeGreaterThan(after.checkpoint?.at as number);
    const fillsBefore = after.fills.size;
    await waitUntil(() => count(db, 'fills') > fillsBefore + 1, 60_000, 'new fills after the restart');
    second.child.kill('SIGTERM');
    expect(await second.exited()).toBe(0);

    readDb(db, (database) => {
      const runs = database.prepare('SELECT run_id, stop_reason FROM runs ORDER BY started_at').all() as {
        run_id: string;
        stop_reason: string | null;
      }[];
      expect(runs).toHaveLength(2);
      expect(runs[0]?.stop_reason).toBe(null); // killed: no orderly stop was recorded, honestly
      expect(runs[1]?.stop_reason).toBe('SIGTERM');
      // The paper venue resumed from the same checkpoint as the ledger: nothing to adopt.
      const adopted = database
        .prepare(
          "SELECT code FROM alerts WHERE run_id = ? AND code IN ('POSITION_ADOPTED', 'ORDER_ADOPTED', 'POSITION_RECONCILED')",
        )
        .all(runs[1]?.run_id) as { code: string }[];
      expect(adopted).toEqual([]);
    });
    expect(resumed.previousRun).toBeTypeOf('string');
  }, 120_000);

  it('keeps secrets out of the logs and the database', async () => {
    const directory = tempDir();
    const token = 'ctl-9f8e7d6c5b4a3210-secret';
    const stray = 'stray-venue-key-0123456789abcdef';
    const shared = path.resolve(REPO, '../shared/data');
    const config = writeConfig(
      readFileSync(path.join(REPO, EXAMPLE), 'utf8')
        .replaceAll('../../shared/data', shared)
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a config's ${NAME} reference, written literally
        .replace('# controlToken: ${PERPKIT_CONTROL_TOKEN}', 'controlToken: ${PERPKIT_CONTROL_TOKEN}')
        .replace(
          'plugins: [perpkit-strategy-sma-cross]',
          'plugins: [perpkit-strategy-sma-cross]\nlog: { dir: logs }',
        ),
      'secret.yaml',
    );
    const db = path.join(directory, 'secret.db');
    const runner = startRunner(
      ['--config', config, '--http', '127.0.0.1:0', '--db', db, '--speed', SPEED, '--log-level', 'debug'],
      {
        PERPKIT_CONTROL_TOKEN: token,
        VENUE_API_KEY: stray,
      },
    );
    const { url } = (await runner.waitForLog('http server listening')) as unknown as { url: string };
    await waitUntil(() => count(db, 'fills') >= 1, 60_000, 'a fill');
    const control = (authorization: string) =>
      fetch(`${url}/api/control`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'pause', reason: `operator typed ${token} by mistake` }),
      });
    expect((await control(`Bearer ${token}`)).status).toBe(200);
    expect((await control(`Bearer ${stray}`)).status).toBe(401);
    runner.child.kill('SIGTERM');
    expect(await runner.exited()).toBe(0);

    const logDir = path.join(path.dirname(config), 'logs');
    const files = readdirSync(logDir).map((name) => path.join(logDir, name));
    expect(files).toHaveLength(1);
    const dbFiles = readdirSync(directory).map((name) => path.join(directory, name));
    for (const file of [...files, ...dbFiles]) {
      const bytes = readFileSync(file);
      expect(bytes.includes(token), file).toBe(false);
      expect(bytes.includes(stray), file).toBe(false);
    }
    expect(runner.stderr()).not.toContain(token);
    expect(runner.stderr()).not.toContain(stray);
    // The pause's reason is kept, with the token blanked.
    const paused = readDb(db, (database) =>
      database.prepare("SELECT data FROM events WHERE type = 'engine:paused'").get(),
    ) as { data: string };
    expect(JSON.parse(paused.data).reason).toBe('operator typed [redacted] by mistake');
    // The run's config is stored as written: the reference, not the value.
    const stored = readDb(db, (database) => database.prepare('SELECT config FROM runs').get()) as {
      config: string;
    };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a config's ${NAME} reference, written literally
    expect(stored.config).toContain('${PERPKIT_CONTROL_TOKEN}');
  }, 90_000);
});
