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

const J = (path: string) => `json_extract(data, '$.${path}')`;

/**
 * Append-only projections are views over `events`: a record is written once, and each view reads
 * its fields out of the record's JSON. Only state that changes in place (orders, positions, the
 * latest funding accrual, memory, the checkpoint) has tables of its own.
 */
const VIEWS = `
  CREATE VIEW signals AS SELECT seq, run_id, at,
    ${J('id')} AS id, ${J('strategyId')} AS strategy_id, ${J('intent')} AS intent,
    ${J('exchange')} AS exchange, ${J('account')} AS account, ${J('symbol')} AS symbol,
    ${J('side')} AS side, ${J('quantity')} AS quantity, ${J('urgency')} AS urgency,
    ${J('reasons')} AS reasons, ${J('regime')} AS regime, config_hash
    FROM events WHERE type = 'signal';

  -- Every order the planner formed, and what became of it.
  CREATE VIEW order_requests AS SELECT seq, run_id, at,
    ${J('proposal.id')} AS proposal_id, ${J('proposal.signal.id')} AS signal_id,
    ${J('proposal.exchange')} AS exchange, ${J('proposal.request.account')} AS account,
    ${J('proposal.request.symbol')} AS symbol, ${J('proposal.request.side')} AS side,
    ${J('proposal.request.type')} AS type, ${J('proposal.request.quantity')} AS quantity,
    ${J('proposal.request.price')} AS price, coalesce(${J('proposal.request.reduceOnly')}, 0) AS reduce_only,
    ${J('proposal.request.clientOrderId')} AS client_order_id, ${J('proposal.notional')} AS notional,
    CASE type WHEN 'order:submitted' THEN 'submitted' WHEN 'order:failed' THEN 'failed'
      WHEN 'order:denied' THEN 'denied' ELSE 'dry-run' END AS outcome,
    ${J('order.id')} AS order_id, ${J('code')} AS code, ${J('message')} AS message, config_hash
    FROM events
    WHERE type IN ('order:submitted', 'order:failed', 'order:denied', 'order:dry-run')
      AND ${J('proposal')} IS NOT NULL;

  CREATE VIEW risk_decisions AS SELECT seq, run_id, at,
    ${J('proposal.id')} AS proposal_id, ${J('proposal.signal.id')} AS signal_id, ${J('gate')} AS gate,
    ${J('decision.action')} AS action, ${J('decision.code')} AS code,
    ${J('decision.message')} AS message, ${J('decision.quantity')} AS quantity, config_hash
    FROM events WHERE type = 'risk:decision';

  CREATE VIEW fills AS SELECT seq, run_id, ${J('timestamp')} AS at,
    ${J('id')} AS fill_id, ${J('orderId')} AS order_id, ${J('exchange')} AS exchange,
    ${J('account')} AS account, ${J('symbol')} AS symbol, ${J('side')} AS side,
    ${J('price')} AS price, ${J('quantity')} AS quantity, ${J('fee')} AS fee,
    ${J('liquidity')} AS liquidity, ${J('slippage')} AS slippage,
    ${J('cumulativeQuantity')} AS cumulative_quantity, ${J('cumulativeFee')} AS cumulative_fee,
    ${J('averagePrice')} AS average_price, config_hash
    FROM events WHERE type = 'fill';

  CREATE VIEW pnl_snapshots AS SELECT seq, run_id, ${J('timestamp')} AS at,
    ${J('exchange')} AS exchange, ${J('account')} AS account, ${J('equity')} AS equity,
    ${J('collateral')} AS collateral, ${J('freeCollateral')} AS free_collateral,
    ${J('marginUsed')} AS margin_used, ${J('maintenanceMargin')} AS maintenance_margin,
    ${J('healthRatio')} AS health_ratio, ${J('leverage')} AS leverage,
    ${J('unsettledPnl')} AS unsettled_pnl,
    (SELECT coalesce(sum(json_extract(value, '$.unrealizedPnl')), 0) FROM json_each(events.data, '$.positions'))
      AS unrealized_pnl
    FROM events WHERE type = 'account';

  CREATE VIEW trades AS SELECT seq, run_id,
    ${J('id')} AS id, ${J('exchange')} AS exchange, ${J('account')} AS account, ${J('symbol')} AS symbol,
    ${J('direction')} AS direction, ${J('strategyId')} AS strategy_id, ${J('openedAt')} AS opened_at,
    ${J('closedAt')} AS closed_at, ${J('quantity')} AS quantity, ${J('entryPrice')} AS entry_price,
    ${J('exitPrice')} AS exit_price, ${J('pricePnl')} AS price_pnl, ${J('fees')} AS fees,
    ${J('slippage')} AS slippage, ${J('funding')} AS funding, ${J('netPnl')} AS net_pnl,
    ${J('entryReasons')} AS entry_reasons, ${J('exitReasons')} AS exit_reasons, ${J('regime')} AS regime,
    config_hash
    FROM events WHERE type = 'trade:closed';

  CREATE VIEW phase_changes AS SELECT seq, run_id, at,
    ${J('from')} AS from_phase, ${J('to')} AS to_phase, ${J('reason')} AS reason, ${J('source')} AS source
    FROM events WHERE type = 'phase';

  CREATE VIEW alerts AS SELECT seq, run_id, ${J('timestamp')} AS at,
    ${J('id')} AS id, ${J('source')} AS source, ${J('level')} AS level, ${J('code')} AS code,
    ${J('message')} AS message, ${J('data')} AS data
    FROM events WHERE type = 'alert';

  CREATE VIEW plugin_records AS SELECT seq, run_id, at,
    ${J('component')} AS component, ${J('kind')} AS kind, ${J('data')} AS data, config_hash
    FROM events WHERE type = 'plugin:record';
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit log with its views, orders, positions, funding, memory and checkpoints',
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

      -- The whole audit trail: every record as the engine emitted it, written once.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        config_hash TEXT,
        data TEXT NOT NULL
      );
      CREATE INDEX events_type ON events (type, seq);
      ${VIEWS}

      -- The latest state of each order (a late report never moves it backwards).
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

      -- Settled payments, and the latest accrual, per position and funding time.
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
