import type { LedgerState, OrderOwner } from './engine/ledger';
import type { EngineEventName, EngineEvents } from './events';
import type { MemorySnapshot } from './memory';
import type { PhaseState } from './phase';
import type { Order } from './types';

/**
 * What the engine needs to resume after a restart (`engine.checkpoint()`, `EngineOptions.restore`).
 * JSON-serializable.
 */
export interface EngineCheckpoint {
  readonly at: number;
  readonly runId: string;
  readonly ledger: LedgerState;
  readonly openOrders: readonly { readonly order: Order; readonly owner?: OrderOwner }[];
  readonly phase: PhaseState;
  readonly memory: MemorySnapshot;
  /** State of venues that keep it in process (paper venues), by exchange id. */
  readonly venues: Readonly<Record<string, unknown>>;
}

/** Engine events the audit log keeps. `cycle` reports are metrics, not audit, and are left out. */
export const AUDIT_EVENTS = [
  'engine:start',
  'engine:stop',
  'engine:paused',
  'cycle:error',
  'signal',
  'exit',
  'risk:decision',
  'order:denied',
  'order:submitted',
  'order:failed',
  'order:cancel',
  'order:dry-run',
  'order:update',
  'fill',
  'funding',
  'position',
  'trade:closed',
  'account',
  'liquidation',
  'balance',
  'phase',
  'alert',
  'approval:requested',
  'approval:resolved',
  'memory',
  'plugin:record',
] as const satisfies readonly EngineEventName[];

export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** One audit-log entry: an engine event, stamped with the run and the config hash in force. */
export type AuditRecord = {
  [Name in AuditEventName]: {
    readonly type: Name;
    /** Engine-clock time of the event. */
    readonly at: number;
    readonly runId: string;
    /** sha256 of the effective config: "what were the rules when we made this trade?" */
    readonly configHash?: string;
    readonly data: Parameters<EngineEvents[Name]>[0];
  };
}[AuditEventName];

/**
 * The audit log and state store. `append` is synchronous and cheap (stores batch behind it);
 * `flush` makes everything appended so far durable. A store never persists secrets: records are
 * engine events, which carry none.
 */
export interface Store {
  append(record: AuditRecord): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Keeps records in memory. For tests, backtests and as a reference implementation. */
export class MemoryStore implements Store {
  readonly records: AuditRecord[] = [];
  closed = false;

  append(record: AuditRecord): void {
    this.records.push(record);
  }

  ofType<Name extends AuditEventName>(type: Name): Extract<AuditRecord, { type: Name }>[] {
    return this.records.filter(
      (record): record is Extract<AuditRecord, { type: Name }> => record.type === type,
    );
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}
