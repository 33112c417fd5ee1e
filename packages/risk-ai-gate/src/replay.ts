import { ConfigError } from '@perpkit/core';
import Database from 'better-sqlite3';
import { type ModelReply, modelReplySchema } from './reply';

/** The kind of the gate's records in the audit log (`plugin_records.kind`). */
export const RECORD_KIND = 'ai-gate:decision';

export interface ReplaySource {
  /** A SQLite audit log written by `@perpkit/store-sqlite` (a paper or live run with this gate). */
  readonly database: string;
  /** Only this run's records; all runs in the file when left out. */
  readonly runId?: string;
  /** The gate's component id in that run. */
  readonly component: string;
}

/**
 * Recorded model answers by prompt hash, replayed in the order they were given: the n-th time a
 * backtest asks a question it gets the n-th answer recorded for it, and the last one once they run
 * out. Cached answers were recorded too, so the sequence follows the recorded run's evaluations.
 */
export class RecordedAnswers {
  private readonly used = new Map<string, number>();

  constructor(private readonly answers: ReadonlyMap<string, readonly ModelReply[]>) {}

  get size(): number {
    return this.answers.size;
  }

  next(hash: string): ModelReply | undefined {
    const list = this.answers.get(hash);
    if (!list || list.length === 0) return undefined;
    const index = this.used.get(hash) ?? 0;
    this.used.set(hash, index + 1);
    return list[Math.min(index, list.length - 1)];
  }
}

/**
 * Reads the answers a previous run recorded, read-only. A file that cannot be read stops the boot
 * with a `ConfigError`: a backtest that meant to replay must not quietly run without answers.
 */
export function loadRecordedAnswers(source: ReplaySource): RecordedAnswers {
  let database: Database.Database;
  try {
    database = new Database(source.database, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new ConfigError(
      `ai-gate: cannot open the replay database ${source.database}: ${(error as Error).message}`,
      { issues: [{ path: 'replay.database', message: (error as Error).message }] },
    );
  }
  try {
    const where = source.runId === undefined ? '' : ' AND run_id = ?';
    const parameters = source.runId === undefined ? [] : [source.runId];
    let rows: { data: string }[];
    try {
      rows = database
        .prepare(`SELECT data FROM plugin_records WHERE component = ? AND kind = ?${where} ORDER BY seq`)
        .all(source.component, RECORD_KIND, ...parameters) as { data: string }[];
    } catch (error) {
      throw new ConfigError(
        `ai-gate: ${source.database} has no readable plugin_records table (${(error as Error).message}); is it a perpkit audit log?`,
        { issues: [{ path: 'replay.database', message: (error as Error).message }] },
      );
    }
    const answers = new Map<string, ModelReply[]>();
    for (const row of rows) {
      let data: { promptHash?: unknown; reply?: unknown };
      try {
        data = JSON.parse(row.data) as typeof data;
      } catch {
        continue;
      }
      if (typeof data.promptHash !== 'string') continue;
      const reply = modelReplySchema.safeParse(data.reply);
      if (!reply.success) continue; // a failed call has no answer to replay
      const list = answers.get(data.promptHash) ?? [];
      list.push(reply.data);
      answers.set(data.promptHash, list);
    }
    return new RecordedAnswers(answers);
  } finally {
    database.close();
  }
}
