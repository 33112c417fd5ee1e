import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AuditRecord, deny, Engine, isPerpkitError, SimulatedClock } from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, SCHEMA_VERSION, SqliteStore } from '../src';

const T0 = Date.UTC(2025, 5, 1, 7, 0);

function tempDb(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-store-')), 'audit.db');
}

/** A short real trading session on the simulated venue, recorded by `store`. */
async function tradeSession(store: SqliteStore) {
  const clock = new SimulatedClock(T0);
  const sim = new SimExchange(
    {
      fillModel: 'mark',
      slippage: 0,
      fees: { maker: 0.0002, taker: 0.0005 },
      markets: [
        { symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', fundingIntervalHours: 1, fundingRate: 0.0001 },
        { symbol: 'ETH', tickSize: '0.01', lotSize: '0.01' },
      ],
      accounts: [{ id: 'main', balance: 10_000 }],
    },
    { id: 'sim', clock },
  );
  sim.processTicker({ symbol: 'BTC', mark: 60_000, timestamp: T0 });
  sim.processTicker({ symbol: 'ETH', mark: 3_000, timestamp: T0 });
  const engine = new Engine({
    mode: 'paper',
    clock,
    exchanges: [sim],
    store,
    configHash: 'c0ffee',
    runId: 'run-1',
    strategies: [
      {
        id: 'trend',
        create: () => ({
          instruments: [
            { exchange: 'sim', symbol: 'BTC', channels: ['ticker', 'fundingRate'] },
            { exchange: 'sim', symbol: 'ETH', channels: ['ticker'] },
          ],
          onCycle: (state) => {
            if (state.cycle === 1)
              return [
                {
                  intent: 'open',
                  exchange: 'sim',
                  symbol: 'BTC',
                  side: 'buy',
                  quantity: 0.05,
                  reasons: [{ code: 'BREAKOUT', message: 'close above the 20-bar high' }],
                  regime: 'trend',
                },
                {
                  intent: 'open',
                  exchange: 'sim',
                  symbol: 'ETH',
                  side: 'buy',
                  quantity: 1,
                  reasons: [{ code: 'ETH_TOO', message: 'follow' }],
                },
              ];
            if (state.cycle === 3)
              return [
                {
                  intent: 'close',
                  exchange: 'sim',
                  symbol: 'BTC',
                  reasons: [{ code: 'TARGET', message: 'hit' }],
                },
              ];
            return undefined;
          },
        }),
      },
    ],
    riskGates: [
      {
        id: 'no-eth',
        create: () => ({
          name: 'no-eth',
          evaluate: (proposal) =>
            proposal.request.symbol === 'ETH' ? deny('ETH_BLOCKED', 'no ETH today') : { action: 'allow' },
        }),
      },
    ],
  });
  store.setCheckpointSource(() => engine.checkpoint());
  await engine.init();
  await engine.runCycle();
  clock.advanceTo(T0 + 3_600_000);
  sim.processTicker({ symbol: 'BTC', mark: 61_000, timestamp: clock.now() });
  await engine.runCycle();
  await engine.runCycle();
  await engine.stop('done');
  return { engine, sim };
}

describe('SqliteStore', () => {
  it('keeps signals, requests, risk decisions, orders, fills, funding, positions, trades and the config hash', async () => {
    const store = new SqliteStore({ path: tempDb() });
    await tradeSession(store);
    const counts = store.counts();
    expect(counts).toMatchObject({ fills: 2, funding: 1, trades: 1 });

    const signals = store.recent('signals');
    expect(signals.map((row) => row.intent).sort()).toEqual(['close', 'open', 'open']);
    const breakout = signals.find((row) => row.symbol === 'BTC' && row.intent === 'open');
    expect(JSON.parse(breakout?.reasons as string)).toEqual([
      { code: 'BREAKOUT', message: 'close above the 20-bar high' },
    ]);
    expect(breakout).toMatchObject({ strategy_id: 'trend', regime: 'trend', config_hash: 'c0ffee' });

    const denied = store.recent('risk_decisions', { where: "action = 'deny'" });
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ gate: 'no-eth', code: 'ETH_BLOCKED', message: 'no ETH today' });
    const requests = store.recent('order_requests');
    expect(requests.map((row) => `${row.symbol} ${row.outcome}`).sort()).toEqual([
      'BTC submitted',
      'BTC submitted',
      'ETH denied',
    ]);

    const trade = store.recent('trades')[0];
    expect(trade).toMatchObject({
      symbol: 'BTC',
      entry_price: 60_000,
      exit_price: 61_000,
      config_hash: 'c0ffee',
    });
    expect(trade?.price_pnl).toBeCloseTo(50, 9);
    // Fees and funding are kept apart from price PnL: 0.05 × (60 000 + 61 000) × 0.0005 in fees.
    expect(trade?.fees).toBeCloseTo(3.025, 9);
    const funding = store.recent('funding')[0];
    expect(funding?.amount).toBeCloseTo(-0.05 * 61_000 * 0.0001, 9);
    expect(trade?.funding).toBeCloseTo(funding?.amount as number, 9);
    expect(trade?.net_pnl).toBeCloseTo(50 - 3.025 + (funding?.amount as number), 9);

    const fills = store.recent('fills');
    expect(fills.every((row) => row.config_hash === 'c0ffee')).toBe(true);
    expect(store.recent('orders').every((row) => row.status === 'filled')).toBe(true);
    expect(store.query('SELECT quantity FROM positions WHERE symbol = ?', 'BTC')).toEqual([{ quantity: 0 }]);
    await store.close();
  });

  it('saves the engine checkpoint with every commit, matching what was committed', async () => {
    const file = tempDb();
    const store = new SqliteStore({ path: file });
    const { engine } = await tradeSession(store);
    await store.close();

    const reopened = new SqliteStore({ path: file });
    const checkpoint = reopened.loadCheckpoint();
    expect(checkpoint?.runId).toBe('run-1');
    expect(checkpoint).toEqual(JSON.parse(JSON.stringify(engine.checkpoint())));
    await reopened.close();
  });

  it('holds ordinary records until the write-behind delay, but writes money records within a tick', async () => {
    const file = tempDb();
    const store = new SqliteStore({ path: file, flushIntervalMs: 60_000 });
    const reader = new Database(file, { readonly: true });
    const committed = () => (reader.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    const record = (type: AuditRecord['type'], data: unknown) =>
      ({ type, at: T0, runId: 'r', data }) as AuditRecord;

    store.append(
      record('cycle:error', {
        cycle: 1,
        at: T0,
        stage: 'x',
        code: 'E',
        message: 'm',
        consecutiveFailures: 1,
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(committed()).toBe(0);
    store.append(
      record('balance', {
        exchange: 'sim',
        account: 'main',
        timestamp: T0,
        asset: 'USD',
        amount: 5,
        kind: 'deposit',
        balance: 10_005,
      }),
    );
    expect(committed()).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    // The urgent record took the queued one with it, in order.
    expect(committed()).toBe(2);
    expect(store.durability).toMatchObject({ committed: 2, pending: 0 });
    reader.close();
    await store.close();
  });

  it('a failed write keeps every record queued, and the next write stores each exactly once', async () => {
    const file = tempDb();
    const store = new SqliteStore({ path: file, flushIntervalMs: 60_000 });
    const sabotage = new Database(file);
    sabotage.exec(
      `CREATE TRIGGER full_disk BEFORE INSERT ON events WHEN NEW.type = 'alert' BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    const alert = (id: string) =>
      ({
        type: 'alert',
        at: T0,
        runId: 'r',
        data: { id, source: 'engine', level: 'warning', code: 'TEST', message: id, timestamp: T0 },
      }) as AuditRecord;
    store.append(alert('A1'));
    store.append(alert('A2'));
    const failure = await store.flush().catch((error: unknown) => error);
    expect(isPerpkitError(failure) && failure.code).toBe('STORE_FAILED');
    expect(String((failure as Error).message)).toMatch(/disk full/);
    expect(store.durability.pending).toBe(2);

    sabotage.exec('DROP TRIGGER full_disk');
    sabotage.close();
    store.append(alert('A3'));
    await store.flush();
    expect(store.recent('alerts').map((row) => row.id)).toEqual(['A3', 'A2', 'A1']);
    expect(store.counts().events).toBe(3);
    await store.close();
  });

  it('keeps plugin memory as its latest values', async () => {
    const store = new SqliteStore({ path: tempDb() });
    const change = (key: string, value?: unknown) =>
      ({
        type: 'memory',
        at: T0,
        runId: 'r',
        data:
          value === undefined
            ? { at: T0, component: 'breaker', key }
            : { at: T0, component: 'breaker', key, value },
      }) as AuditRecord;
    store.append(change('peak', 100));
    store.append(change('peak', 120));
    store.append(change('tripped', true));
    store.append(change('tripped'));
    await store.flush();
    expect(store.loadMemory()).toEqual({ breaker: { peak: 120 } });
    await store.close();
  });
});

describe('migrations', () => {
  it('creates the newest schema once and records it', async () => {
    const file = tempDb();
    const first = new SqliteStore({ path: file });
    expect(first.schemaVersion).toBe(SCHEMA_VERSION);
    await first.close();
    const again = new SqliteStore({ path: file });
    expect(again.query('SELECT version FROM schema_migrations')).toEqual(
      MIGRATIONS.map((migration) => ({ version: migration.version })),
    );
    await again.close();
  });

  it('applies only the migrations a database has not seen, in order', () => {
    const db = new Database(':memory:');
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    const next = {
      version: SCHEMA_VERSION + 1,
      name: 'notes on orders',
      sql: 'ALTER TABLE orders ADD COLUMN note TEXT',
    };
    expect(migrate(db, [...MIGRATIONS, next])).toBe(SCHEMA_VERSION + 1);
    expect(
      (db.prepare('PRAGMA table_info(orders)').all() as { name: string }[]).map((c) => c.name),
    ).toContain('note');
    // Running again changes nothing.
    expect(migrate(db, [...MIGRATIONS, next])).toBe(SCHEMA_VERSION + 1);
    db.close();
  });

  it('refuses a database written by a newer store', async () => {
    const file = tempDb();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    expect(() => new SqliteStore({ path: file })).toThrow(/newer than this store understands/);
  });
});

describe('secrets', () => {
  it('scrubs known secret values from everything it writes', async () => {
    const file = tempDb();
    const secret = 'sk-live-0123456789abcdef';
    const store = new SqliteStore({ path: file, secrets: [secret] });
    store.beginRun({ runId: 'r', startedAt: T0, mode: 'paper', config: { note: `key ${secret}` } });
    store.append({
      type: 'alert',
      at: T0,
      runId: 'r',
      data: {
        id: 'A1',
        source: 'exchange:x',
        level: 'critical',
        code: 'AUTH',
        message: `venue said: bad key ${secret}`,
        timestamp: T0,
      },
    } as AuditRecord);
    store.append({
      type: 'engine:paused',
      at: T0,
      runId: 'r',
      data: { at: T0, paused: true, reason: secret, source: 'dashboard' },
    } as AuditRecord);
    await store.close();
    const { readFileSync, readdirSync } = await import('node:fs');
    for (const name of readdirSync(path.dirname(file)))
      expect(readFileSync(path.join(path.dirname(file), name)).includes(secret), name).toBe(false);
    const reopened = new SqliteStore({ path: file });
    expect(reopened.recent('alerts')[0]?.message).toBe('venue said: bad key [redacted]');
    await reopened.close();
  });
});

describe('plugin records', () => {
  it("keeps a plugin's own records, readable by component and kind", async () => {
    const store = new SqliteStore({ path: tempDb() });
    const clock = new SimulatedClock(T0);
    const sim = new SimExchange(
      { markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001' }] },
      { id: 'sim', clock },
    );
    const engine = new Engine({
      mode: 'paper',
      clock,
      exchanges: [sim],
      store,
      strategies: [
        {
          id: 'asker',
          create: (context) => {
            context.record('model:call', { prompt: 'long BTC?', answer: 'yes', latencyMs: 12 });
            return { onCycle: () => undefined };
          },
        },
      ],
    });
    await engine.init();
    await engine.stop('done');
    const rows = store.recent('plugin_records');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ component: 'asker', kind: 'model:call' });
    expect(JSON.parse(rows[0]?.data as string)).toEqual({
      prompt: 'long BTC?',
      answer: 'yes',
      latencyMs: 12,
    });
    await store.close();
  });
});
