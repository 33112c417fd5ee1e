import type Database from 'better-sqlite3';

/**
 * Versioned schema migrations. A migration is never edited once released: a change is a new
 * version. `PRAGMA user_version` holds the current version, and `schema_migrations` records when
 * each one was applied.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit log, trading projections, memory and checkpoints',
    sql: `
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        started_at INTEGER NOT NULL,
        mode TEXT NOT NULL,
        config_hash TEXT,
        config TEXT,
        stopped_at INTEGER,
        stop_reason TEXT
      );

      -- The whole audit trail: every record as the engine emitted it.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        config_hash TEXT,
        data TEXT NOT NULL
      );
      CREATE INDEX events_type ON events (type, seq);

      CREATE TABLE signals (
        run_id TEXT NOT NULL,
        id TEXT NOT NULL,
        at INTEGER NOT NULL,
        strategy_id TEXT NOT NULL,
        intent TEXT NOT NULL,
        exchange TEXT NOT NULL,
        account TEXT,
        symbol TEXT NOT NULL,
        side TEXT,
        urgency TEXT NOT NULL,
        reasons TEXT NOT NULL,
        regime TEXT,
        config_hash TEXT,
        PRIMARY KEY (run_id, id)
      );

      -- Every order the planner formed, and what became of it.
      CREATE TABLE order_requests (
        run_id TEXT NOT NULL,
        proposal_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        signal_id TEXT NOT NULL,
        exchange TEXT NOT NULL,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        type TEXT NOT NULL,
        quantity TEXT NOT NULL,
        price TEXT,
        reduce_only INTEGER NOT NULL,
        client_order_id TEXT,
        notional REAL NOT NULL,
        outcome TEXT NOT NULL,
        order_id TEXT,
        code TEXT,
        message TEXT,
        config_hash TEXT,
        PRIMARY KEY (run_id, proposal_id)
      );

      CREATE TABLE risk_decisions (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        proposal_id TEXT NOT NULL,
        signal_id TEXT NOT NULL,
        gate TEXT NOT NULL,
        action TEXT NOT NULL,
        code TEXT,
        message TEXT,
        quantity REAL,
        config_hash TEXT
      );
      CREATE INDEX risk_decisions_action ON risk_decisions (action, seq);

      CREATE TABLE orders (
        exchange TEXT NOT NULL,
        order_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        client_order_id TEXT,
        side TEXT NOT NULL,
        type TEXT NOT NULL,
        time_in_force TEXT NOT NULL,
        reduce_only INTEGER NOT NULL,
        quantity REAL NOT NULL,
        price REAL,
        status TEXT NOT NULL,
        filled_quantity REAL NOT NULL,
        average_price REAL NOT NULL,
        fee REAL NOT NULL,
        reason TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        config_hash TEXT,
        PRIMARY KEY (exchange, order_id)
      );

      -- One row per execution; the cumulative fields make a re-sent report a duplicate key.
      CREATE TABLE fills (
        exchange TEXT NOT NULL,
        order_id TEXT NOT NULL,
        cumulative_quantity REAL NOT NULL,
        fill_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        price REAL NOT NULL,
        quantity REAL NOT NULL,
        fee REAL NOT NULL,
        liquidity TEXT NOT NULL,
        slippage REAL,
        cumulative_fee REAL NOT NULL,
        average_price REAL NOT NULL,
        at INTEGER NOT NULL,
        config_hash TEXT,
        PRIMARY KEY (exchange, order_id, cumulative_quantity)
      );

      CREATE TABLE funding (
        exchange TEXT NOT NULL,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        funding_time INTEGER NOT NULL,
        settled INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        rate REAL NOT NULL,
        interval_hours REAL NOT NULL,
        position_quantity REAL NOT NULL,
        mark_price REAL NOT NULL,
        amount REAL NOT NULL,
        at INTEGER NOT NULL,
        config_hash TEXT,
        PRIMARY KEY (exchange, account, symbol, funding_time, settled)
      );

      -- The ledger's current view of each position (quantity 0 once closed).
      CREATE TABLE positions (
        exchange TEXT NOT NULL,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        run_id TEXT NOT NULL,
        quantity REAL NOT NULL,
        entry_price REAL NOT NULL,
        mark_price REAL NOT NULL,
        unrealized_pnl REAL NOT NULL,
        realized_pnl REAL NOT NULL,
        fees REAL NOT NULL,
        funding_settled REAL NOT NULL,
        funding_accrued REAL,
        strategy_id TEXT,
        opened_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (exchange, account, symbol)
      );

      CREATE TABLE pnl_snapshots (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        exchange TEXT NOT NULL,
        account TEXT NOT NULL,
        equity REAL NOT NULL,
        collateral REAL NOT NULL,
        free_collateral REAL NOT NULL,
        margin_used REAL NOT NULL,
        maintenance_margin REAL NOT NULL,
        health_ratio REAL NOT NULL,
        leverage REAL NOT NULL,
        unsettled_pnl REAL NOT NULL,
        unrealized_pnl REAL NOT NULL
      );
      CREATE INDEX pnl_snapshots_account ON pnl_snapshots (exchange, account, at);

      CREATE TABLE trades (
        run_id TEXT NOT NULL,
        id TEXT NOT NULL,
        exchange TEXT NOT NULL,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        direction TEXT NOT NULL,
        strategy_id TEXT,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER NOT NULL,
        quantity REAL NOT NULL,
        entry_price REAL NOT NULL,
        exit_price REAL NOT NULL,
        price_pnl REAL NOT NULL,
        fees REAL NOT NULL,
        slippage REAL NOT NULL,
        funding REAL NOT NULL,
        net_pnl REAL NOT NULL,
        entry_reasons TEXT NOT NULL,
        exit_reasons TEXT NOT NULL,
        regime TEXT,
        config_hash TEXT,
        PRIMARY KEY (run_id, id)
      );

      CREATE TABLE phase_changes (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        from_phase TEXT NOT NULL,
        to_phase TEXT NOT NULL,
        reason TEXT NOT NULL,
        source TEXT NOT NULL
      );

      CREATE TABLE alerts (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        id TEXT NOT NULL,
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        level TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT
      );

      -- Plugin memory (PluginMemory): the latest value per component and key.
      CREATE TABLE memory (
        component TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (component, key)
      );

      -- The latest engine checkpoint, written in the same transaction as the records it follows.
      CREATE TABLE checkpoints (
        slot INTEGER PRIMARY KEY CHECK (slot = 1),
        run_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        last_seq INTEGER,
        state TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "plugins' own audit records",
    sql: `
      CREATE TABLE plugin_records (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        component TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        config_hash TEXT
      );
      CREATE INDEX plugin_records_kind ON plugin_records (component, kind, seq);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Brings a database up to the newest schema, one migration per transaction. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > newest)
    throw new Error(
      `the database is at schema version ${current}, newer than this store understands (${newest}): upgrade @perpkit/store-sqlite`,
    );
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Date.now(),
      );
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
  return db.pragma('user_version', { simple: true }) as number;
}
