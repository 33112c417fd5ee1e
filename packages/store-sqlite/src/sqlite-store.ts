import {
  type AuditEventName,
  type AuditRecord,
  type EngineCheckpoint,
  type MemorySnapshot,
  PerpkitError,
  type RunMode,
  type Store,
} from '@perpkit/core';
import Database from 'better-sqlite3';
import { migrate } from './schema';

export interface SqliteStoreOptions {
  /** Database file (created if missing). `:memory:` for tests. */
  readonly path: string;
  /** Write-behind delay for ordinary records, in ms. Default 100. */
  readonly flushIntervalMs?: number;
  /** A batch this large is written at once, without waiting. Default 1000. */
  readonly maxBatch?: number;
  /**
   * Records that force the batch out right after the current event (orders, fills, funding,
   * trades, liquidations, balance changes by default), so money is on disk within a tick.
   */
  readonly urgentTypes?: readonly AuditEventName[];
  /**
   * `normal` (default) survives a crash of the process (kill -9) but not of the machine; `full`
   * syncs every commit to the disk and survives a power loss too, at a cost per commit.
   */
  readonly synchronous?: 'normal' | 'full';
  /** Called with write errors that happen outside `flush()` (the timer); records stay queued. */
  readonly onError?: (error: PerpkitError) => void;
  /**
   * Secret values (keys, tokens) that must never reach the file: every text written is scrubbed
   * of them, wherever they appear (an operator's note, a venue's error message).
   */
  readonly secrets?: readonly string[];
}

export const DEFAULT_URGENT_TYPES: readonly AuditEventName[] = [
  'order:submitted',
  'order:failed',
  'order:update',
  'order:cancel',
  'fill',
  'funding',
  'trade:closed',
  'liquidation',
  'balance',
];

export interface RunInfo {
  readonly runId: string;
  readonly startedAt: number;
  readonly mode: RunMode;
  readonly configHash?: string;
  /** The effective config with secrets already removed by the caller. */
  readonly config?: unknown;
}

type Row = Record<string, unknown>;

/** Statements for each projection, prepared once. */
interface Statements {
  event: Database.Statement;
  order: Database.Statement;
  funding: Database.Statement;
  position: Database.Statement;
  memorySet: Database.Statement;
  memoryDelete: Database.Statement;
  checkpoint: Database.Statement;
}

/**
 * The embedded audit log and state store: SQLite in WAL mode behind a batched write-behind queue.
 *
 * `append` only queues. A batch is written in one transaction after `flushIntervalMs`, at once
 * when it holds an urgent (money) record, or when it reaches `maxBatch`; `flush()` writes it now.
 * A record is acknowledged once committed: a crash of the process afterwards loses nothing
 * (WAL). A failed write keeps the records queued and retries with the next batch.
 *
 * With a checkpoint source (`engine.checkpoint`), every commit also saves the engine checkpoint in
 * the same transaction, so the state a restart resumes from always matches the audit log.
 */
export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly statements: Statements;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly urgent: ReadonlySet<string>;
  private readonly onError: ((error: PerpkitError) => void) | undefined;
  private pending: AuditRecord[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private checkpointSource: (() => EngineCheckpoint) | undefined;
  private closed = false;
  private readonly secrets: readonly string[];
  private committedRecords = 0;
  private lastCommitAt: number | undefined;

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.maxBatch = options.maxBatch ?? 1000;
    this.urgent = new Set(options.urgentTypes ?? DEFAULT_URGENT_TYPES);
    this.onError = options.onError;
    // Short values would blank out ordinary words and numbers.
    this.secrets = [...new Set(options.secrets ?? [])].filter((secret) => secret.length >= 6);
    try {
      this.db = new Database(options.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.pragma('busy_timeout = 5000');
      migrate(this.db);
    } catch (error) {
      throw storeError(`cannot open the store at ${options.path}`, error);
    }
    this.statements = this.secrets.length > 0 ? this.scrubbing(this.prepare()) : this.prepare();
  }

  /** Wraps every statement so that no text parameter carries a secret. */
  private scrubbing(statements: Statements): Statements {
    const clean = (value: unknown) => (typeof value === 'string' ? this.scrub(value) : value);
    const wrapped: Record<string, Database.Statement> = {};
    for (const [name, statement] of Object.entries(statements)) {
      wrapped[name] = {
        run: (...params: unknown[]) => statement.run(...params.map(clean)),
      } as Database.Statement;
    }
    return wrapped as unknown as Statements;
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** Schema version of the open database. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Records committed by this instance, and when the last commit happened (wall clock). */
  get durability(): { readonly committed: number; readonly pending: number; readonly lastCommitAt?: number } {
    return {
      committed: this.committedRecords,
      pending: this.pending.length,
      lastCommitAt: this.lastCommitAt,
    };
  }

  /** Saves `source()` with every commit (the runner passes `() => engine.checkpoint()`). */
  setCheckpointSource(source: (() => EngineCheckpoint) | undefined): void {
    this.checkpointSource = source;
  }

  /** Records a run's start (pass the config as written, with `${NAME}` references, not values). */
  beginRun(run: RunInfo): void {
    const config = run.config === undefined ? null : this.scrub(JSON.stringify(run.config));
    this.db
      .prepare(
        'INSERT OR REPLACE INTO runs (run_id, started_at, mode, config_hash, config) VALUES (?, ?, ?, ?, ?)',
      )
      .run(run.runId, run.startedAt, run.mode, run.configHash ?? null, config);
  }

  endRun(runId: string, at: number, reason: string): void {
    this.db
      .prepare('UPDATE runs SET stopped_at = ?, stop_reason = ? WHERE run_id = ?')
      .run(at, this.scrub(reason), runId);
  }

  append(record: AuditRecord): void {
    if (this.closed) throw storeError('the store is closed', undefined);
    this.pending.push(record);
    if (this.pending.length >= this.maxBatch) {
      this.writeInBackground();
      return;
    }
    if (this.urgent.has(record.type)) {
      // After the current event has reached every listener (and the venue finished updating
      // itself), so the checkpoint written alongside sees a consistent state.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.writeInBackground();
      });
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.writeInBackground();
      }, this.flushIntervalMs);
      this.timer.unref?.();
    }
  }

  async flush(): Promise<void> {
    this.write();
  }

  /** Writes what is queued and closes the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.write();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.db.close();
  }

  private writeInBackground(): void {
    try {
      this.write();
    } catch (error) {
      this.onError?.(error as PerpkitError);
    }
  }

  /** Commits the queue (and a checkpoint) in one transaction. On failure the queue is kept. */
  private write(): void {
    if (this.closed) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      this.db.transaction(() => {
        let lastSeq = 0;
        for (const record of batch) lastSeq = this.insert(record);
        if (this.checkpointSource) {
          const checkpoint = this.checkpointSource();
          this.statements.checkpoint.run(
            checkpoint.runId,
            checkpoint.at,
            lastSeq,
            JSON.stringify(checkpoint),
          );
        }
      })();
    } catch (error) {
      this.pending = batch.concat(this.pending);
      throw storeError(`could not write ${batch.length} records to ${this.path}`, error);
    }
    this.committedRecords += batch.length;
    this.lastCommitAt = Date.now();
  }

  private insert(record: AuditRecord): number {
    const s = this.statements;
    const hash = record.configHash ?? null;
    const run = record.runId;
    const seq = Number(
      s.event.run(run, record.at, record.type, hash, JSON.stringify(record.data)).lastInsertRowid,
    );
    // Append-only projections are views over `events`; only state that changes in place is
    // written a second time.
    switch (record.type) {
      case 'order:submitted':
        this.order(run, record.data.order, hash);
        break;
      case 'order:update':
        this.order(run, record.data, hash);
        break;
      case 'funding': {
        const payment = record.data;
        s.funding.run(
          payment.exchange,
          payment.account,
          payment.symbol,
          payment.fundingTime,
          payment.settled ? 1 : 0,
          run,
          payment.rate,
          payment.intervalHours,
          payment.positionQuantity,
          payment.markPrice,
          payment.amount,
          payment.timestamp,
          hash,
        );
        break;
      }
      case 'position': {
        const position = record.data;
        s.position.run(
          position.exchange,
          position.account,
          position.symbol,
          run,
          position.quantity,
          position.entryPrice,
          position.markPrice,
          position.unrealizedPnl,
          position.realizedPnl,
          position.fees,
          position.fundingSettled,
          position.fundingAccrued ?? null,
          position.strategyId ?? null,
          position.openedAt,
          position.updatedAt,
        );
        break;
      }
      case 'memory': {
        const change = record.data;
        if (change.value === undefined) s.memoryDelete.run(change.component, change.key);
        else s.memorySet.run(change.component, change.key, JSON.stringify(change.value), change.at);
        break;
      }
      default:
        break;
    }
    return seq;
  }

  private order(run: string, order: AuditRecordData<'order:update'>, hash: string | null): void {
    this.statements.order.run(
      order.exchange,
      order.id,
      run,
      order.account,
      order.symbol,
      order.clientOrderId ?? null,
      order.side,
      order.type,
      order.timeInForce,
      order.reduceOnly ? 1 : 0,
      order.quantity,
      order.price ?? null,
      order.status,
      order.filledQuantity,
      order.averagePrice,
      order.fee,
      order.reason ?? null,
      order.createdAt,
      order.updatedAt,
      hash,
    );
  }

  private prepare(): Statements {
    const db = this.db;
    return {
      event: db.prepare('INSERT INTO events (run_id, at, type, config_hash, data) VALUES (?, ?, ?, ?, ?)'),
      // A late or repeated report never moves an order backwards in time.
      order: db.prepare(
        `INSERT INTO orders (exchange, order_id, run_id, account, symbol, client_order_id, side, type,
         time_in_force, reduce_only, quantity, price, status, filled_quantity, average_price, fee, reason,
         created_at, updated_at, config_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (exchange, order_id) DO UPDATE SET status = excluded.status,
           filled_quantity = excluded.filled_quantity, average_price = excluded.average_price,
           fee = excluded.fee, reason = excluded.reason, updated_at = excluded.updated_at
         WHERE excluded.updated_at >= orders.updated_at AND excluded.filled_quantity >= orders.filled_quantity`,
      ),
      funding: db.prepare(
        `INSERT OR REPLACE INTO funding (exchange, account, symbol, funding_time, settled, run_id, rate,
         interval_hours, position_quantity, mark_price, amount, at, config_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      position: db.prepare(
        `INSERT OR REPLACE INTO positions (exchange, account, symbol, run_id, quantity, entry_price, mark_price,
         unrealized_pnl, realized_pnl, fees, funding_settled, funding_accrued, strategy_id, opened_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      memorySet: db.prepare(
        'INSERT OR REPLACE INTO memory (component, key, value, updated_at) VALUES (?, ?, ?, ?)',
      ),
      memoryDelete: db.prepare('DELETE FROM memory WHERE component = ? AND key = ?'),
      checkpoint: db.prepare(
        'INSERT OR REPLACE INTO checkpoints (slot, run_id, at, last_seq, state) VALUES (1, ?, ?, ?, ?)',
      ),
    };
  }

  // ------------------------------------------------------------------ reads

  /** The checkpoint saved with the latest commit, if any. */
  loadCheckpoint(): EngineCheckpoint | undefined {
    const row = this.db.prepare('SELECT state FROM checkpoints WHERE slot = 1').get() as
      | { state: string }
      | undefined;
    return row ? (JSON.parse(row.state) as EngineCheckpoint) : undefined;
  }

  /** Plugin memory as kept by `memory` records. */
  loadMemory(): MemorySnapshot {
    const out: Record<string, Record<string, unknown>> = {};
    for (const row of this.db.prepare('SELECT component, key, value FROM memory').all() as {
      component: string;
      key: string;
      value: string;
    }[]) {
      out[row.component] ??= {};
      (out[row.component] as Record<string, unknown>)[row.key] = JSON.parse(row.value);
    }
    return out;
  }

  /** Rows of a table, newest first (for dashboards and reports). */
  recent(
    table:
      | 'signals'
      | 'order_requests'
      | 'risk_decisions'
      | 'orders'
      | 'fills'
      | 'trades'
      | 'alerts'
      | 'phase_changes'
      | 'funding'
      | 'plugin_records',
    options: { limit?: number; where?: string; params?: readonly unknown[] } = {},
  ): Row[] {
    const order: Record<string, string> = {
      signals: 'at DESC',
      order_requests: 'at DESC',
      risk_decisions: 'seq DESC',
      orders: 'updated_at DESC',
      fills: 'at DESC',
      trades: 'closed_at DESC',
      alerts: 'seq DESC',
      phase_changes: 'seq DESC',
      funding: 'funding_time DESC',
      plugin_records: 'seq DESC',
    };
    const where = options.where ? ` WHERE ${options.where}` : '';
    return this.db
      .prepare(`SELECT * FROM ${table}${where} ORDER BY ${order[table]} LIMIT ?`)
      .all(...(options.params ?? []), options.limit ?? 100) as Row[];
  }

  /** Audit records of one type (or all), in order. */
  events(options: { type?: AuditEventName; runId?: string; afterSeq?: number; limit?: number } = {}): {
    seq: number;
    runId: string;
    at: number;
    type: AuditEventName;
    configHash: string | null;
    data: unknown;
  }[] {
    const conditions = ['seq > ?'];
    const params: unknown[] = [options.afterSeq ?? 0];
    if (options.type) {
      conditions.push('type = ?');
      params.push(options.type);
    }
    if (options.runId) {
      conditions.push('run_id = ?');
      params.push(options.runId);
    }
    const rows = this.db
      .prepare(
        `SELECT seq, run_id, at, type, config_hash, data FROM events WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT ?`,
      )
      .all(...params, options.limit ?? 10_000) as {
      seq: number;
      run_id: string;
      at: number;
      type: AuditEventName;
      config_hash: string | null;
      data: string;
    }[];
    return rows.map((row) => ({
      seq: row.seq,
      runId: row.run_id,
      at: row.at,
      type: row.type,
      configHash: row.config_hash,
      data: JSON.parse(row.data),
    }));
  }

  /** Equity over time per account, oldest first. */
  equityCurve(options: { since?: number; limit?: number } = {}): {
    at: number;
    exchange: string;
    account: string;
    equity: number;
  }[] {
    return this.db
      .prepare(
        `SELECT at, exchange, account, equity FROM (SELECT * FROM pnl_snapshots WHERE at >= ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
      )
      .all(options.since ?? 0, options.limit ?? 5000) as {
      at: number;
      exchange: string;
      account: string;
      equity: number;
    }[];
  }

  /** Row counts of the main tables. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const table of [
      'runs',
      'events',
      'signals',
      'order_requests',
      'risk_decisions',
      'orders',
      'fills',
      'funding',
      'trades',
      'alerts',
      'phase_changes',
    ]) {
      out[table] = (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    }
    return out;
  }

  /** Runs, newest first. */
  runs(): {
    runId: string;
    startedAt: number;
    mode: string;
    configHash: string | null;
    stoppedAt: number | null;
    stopReason: string | null;
  }[] {
    return (
      this.db.prepare('SELECT * FROM runs ORDER BY started_at DESC').all() as {
        run_id: string;
        started_at: number;
        mode: string;
        config_hash: string | null;
        stopped_at: number | null;
        stop_reason: string | null;
      }[]
    ).map((row) => ({
      runId: row.run_id,
      startedAt: row.started_at,
      mode: row.mode,
      configHash: row.config_hash,
      stoppedAt: row.stopped_at,
      stopReason: row.stop_reason,
    }));
  }

  /** The config a run traded under (as recorded, secrets removed). */
  runConfig(runId: string): unknown {
    const row = this.db.prepare('SELECT config FROM runs WHERE run_id = ?').get(runId) as
      | { config: string | null }
      | undefined;
    return row?.config ? JSON.parse(row.config) : undefined;
  }

  /** Raw read access for reports (read-only statements only). */
  query(sql: string, ...params: unknown[]): Row[] {
    const statement = this.db.prepare(sql);
    if (!statement.reader) throw storeError('query() only runs statements that return rows', undefined);
    return statement.all(...params) as Row[];
  }
}

type AuditRecordData<Name extends AuditEventName> = Extract<AuditRecord, { type: Name }>['data'];

function storeError(message: string, cause: unknown): PerpkitError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new PerpkitError('STORE_FAILED', `${message}${detail}`, { cause, retryable: true });
}
