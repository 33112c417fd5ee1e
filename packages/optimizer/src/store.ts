import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { TrialMetrics } from './objective';
import type { ParameterSet } from './space';
import { parameterKey } from './space';

/** One finished trial as the store keeps it. */
export interface TrialRecord {
  /** `search` for a plain study; `wf-3-train` / `wf-3-test` for walk-forward window 3. */
  readonly segment: string;
  /** The trial's index within its segment (proposal order, not completion order). */
  readonly trial: number;
  readonly params: ParameterSet;
  /** Higher is better; null when infeasible (too few trades) or failed. */
  readonly score: number | null;
  /** Why the score is null. */
  readonly reason?: string | undefined;
  readonly metrics?: TrialMetrics | undefined;
  /** The error, when the trial's backtest threw (bad parameters, missing data). */
  readonly error?: string | undefined;
  /** Which worker ran it (thread or queue worker id). */
  readonly worker?: string | undefined;
  /** How many times a queue worker started it (more than one: it was retried). */
  readonly attempts?: number | undefined;
  readonly durationMs?: number | undefined;
}

export interface StudyInfo {
  readonly configFile: string;
  readonly configHash: string;
  /** The study's settings (space, sampler, seed, objective...) as JSON. */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface StudyRow extends StudyInfo {
  readonly id: string;
  readonly createdAt: number;
  readonly status: string;
  readonly finishedAt: number | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS studies (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    config_file TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    settings TEXT NOT NULL,
    status TEXT NOT NULL,
    finished_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS trials (
    study_id TEXT NOT NULL REFERENCES studies(id),
    segment TEXT NOT NULL,
    trial INTEGER NOT NULL,
    params TEXT NOT NULL,
    params_key TEXT NOT NULL,
    score REAL,
    reason TEXT,
    metrics TEXT,
    error TEXT,
    worker TEXT,
    attempts INTEGER,
    duration_ms REAL,
    finished_at INTEGER NOT NULL,
    PRIMARY KEY (study_id, segment, trial)
  );
  CREATE INDEX IF NOT EXISTS trials_by_score ON trials (study_id, segment, score DESC);
`;

interface TrialRow {
  segment: string;
  trial: number;
  params: string;
  score: number | null;
  reason: string | null;
  metrics: string | null;
  error: string | null;
  worker: string | null;
  attempts: number | null;
  duration_ms: number | null;
}

function fromRow(row: TrialRow): TrialRecord {
  return {
    segment: row.segment,
    trial: row.trial,
    params: JSON.parse(row.params) as ParameterSet,
    score: row.score,
    reason: row.reason ?? undefined,
    metrics: row.metrics === null ? undefined : (JSON.parse(row.metrics) as TrialMetrics),
    error: row.error ?? undefined,
    worker: row.worker ?? undefined,
    attempts: row.attempts ?? undefined,
    durationMs: row.duration_ms ?? undefined,
  };
}

/**
 * Optimizer results in SQLite, written as each trial completes (one small transaction per trial,
 * WAL), so an interrupted study loses at most the trials that were running. A trial is stored once:
 * a second result for the same (study, segment, trial), such as a queue job that ran twice, is
 * ignored.
 */
export class StudyStore {
  readonly file: string;
  private readonly database: Database.Database;
  private readonly insertTrial: Database.Statement;
  private readonly selectTrial: Database.Statement;

  constructor(file: string) {
    this.file = file;
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.database = new Database(file);
    this.database.pragma('journal_mode = WAL');
    this.database.pragma('synchronous = NORMAL');
    this.database.exec(SCHEMA);
    this.insertTrial = this.database.prepare(
      `INSERT OR IGNORE INTO trials (study_id, segment, trial, params, params_key, score, reason, metrics,
         error, worker, attempts, duration_ms, finished_at)
       VALUES (@study, @segment, @trial, @params, @key, @score, @reason, @metrics, @error, @worker,
         @attempts, @duration, @finished)`,
    );
    this.selectTrial = this.database.prepare(
      'SELECT * FROM trials WHERE study_id = ? AND segment = ? AND trial = ?',
    );
  }

  /**
   * Opens a study: created when new, resumed when it exists (its settings must then be the same),
   * emptied first with `fresh`. Returns how many trials it already holds.
   */
  openStudy(
    id: string,
    info: StudyInfo,
    options: { fresh?: boolean } = {},
  ): { resumed: boolean; trials: number } {
    const existing = this.study(id);
    if (existing && options.fresh) {
      this.database.prepare('DELETE FROM trials WHERE study_id = ?').run(id);
      this.database.prepare('DELETE FROM studies WHERE id = ?').run(id);
    } else if (existing) {
      this.database.prepare("UPDATE studies SET status = 'running' WHERE id = ?").run(id);
      return { resumed: true, trials: this.count(id) };
    }
    this.database
      .prepare(
        `INSERT INTO studies (id, created_at, config_file, config_hash, settings, status)
         VALUES (?, ?, ?, ?, ?, 'running')`,
      )
      .run(id, Date.now(), info.configFile, info.configHash, JSON.stringify(info.settings));
    return { resumed: false, trials: 0 };
  }

  study(id: string): StudyRow | undefined {
    const row = this.database.prepare('SELECT * FROM studies WHERE id = ?').get(id) as
      | {
          id: string;
          created_at: number;
          config_file: string;
          config_hash: string;
          settings: string;
          status: string;
          finished_at: number | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      id: row.id,
      createdAt: row.created_at,
      configFile: row.config_file,
      configHash: row.config_hash,
      settings: JSON.parse(row.settings) as Record<string, unknown>,
      status: row.status,
      finishedAt: row.finished_at,
    };
  }

  finishStudy(id: string): void {
    this.database
      .prepare("UPDATE studies SET status = 'done', finished_at = ? WHERE id = ?")
      .run(Date.now(), id);
  }

  /** Stores a finished trial; false when that trial was already stored (the first result stays). */
  save(studyId: string, record: TrialRecord): boolean {
    const result = this.insertTrial.run({
      study: studyId,
      segment: record.segment,
      trial: record.trial,
      params: JSON.stringify(record.params),
      key: parameterKey(record.params),
      score: record.score,
      reason: record.reason ?? null,
      metrics: record.metrics === undefined ? null : JSON.stringify(record.metrics),
      error: record.error ?? null,
      worker: record.worker ?? null,
      attempts: record.attempts ?? null,
      duration: record.durationMs ?? null,
      finished: Date.now(),
    });
    return result.changes === 1;
  }

  get(studyId: string, segment: string, trial: number): TrialRecord | undefined {
    const row = this.selectTrial.get(studyId, segment, trial) as TrialRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Every trial of a segment, in trial order. */
  trials(studyId: string, segment: string): TrialRecord[] {
    return (
      this.database
        .prepare('SELECT * FROM trials WHERE study_id = ? AND segment = ? ORDER BY trial')
        .all(studyId, segment) as TrialRow[]
    ).map(fromRow);
  }

  /**
   * The best distinct parameter sets of a segment (feasible ones, best score first; ties by trial
   * order). A set proposed twice is listed once, as its first trial.
   */
  ranked(studyId: string, segment: string, limit: number): TrialRecord[] {
    return (
      this.database
        .prepare(
          `SELECT * FROM trials WHERE study_id = @study AND segment = @segment AND score IS NOT NULL
             AND trial IN (SELECT min(trial) FROM trials WHERE study_id = @study AND segment = @segment
                           GROUP BY params_key)
           ORDER BY score DESC, trial LIMIT @limit`,
        )
        .all({ study: studyId, segment, limit }) as TrialRow[]
    ).map(fromRow);
  }

  count(studyId: string, segment?: string): number {
    const row = (
      segment === undefined
        ? this.database.prepare('SELECT count(*) AS n FROM trials WHERE study_id = ?').get(studyId)
        : this.database
            .prepare('SELECT count(*) AS n FROM trials WHERE study_id = ? AND segment = ?')
            .get(studyId, segment)
    ) as { n: number };
    return row.n;
  }

  close(): void {
    this.database.close();
  }
}
