import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { REPO } from './helpers';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The built runner in a child process, with its stderr lines parsed as they come. */
export interface RunnerProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** JSON log lines so far. */
  logs(): { msg: string; [key: string]: unknown }[];
  /** Resolves with the first log line with this message. */
  waitForLog(message: string, timeoutMs?: number): Promise<{ msg: string; [key: string]: unknown }>;
  /** Resolves with the exit code. */
  exited(): Promise<number | null>;
}

export function startRunner(args: string[], env: NodeJS.ProcessEnv = {}): RunnerProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs = () =>
    text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string });
  return {
    child,
    stderr: () => text,
    logs,
    waitForLog: (message, timeoutMs = 30_000) =>
      waitUntil(() => logs().find((line) => line.msg === message), timeoutMs, `log "${message}"\n${text}`),
    exited: () => exit,
  };
}

/** Polls `probe` every 20 ms until it returns something; rejects after `timeoutMs`. */
export async function waitUntil<T>(
  probe: () => T | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads the runner's database from outside, as another process would. */
export function readDb<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export function count(file: string, table: string, where = '1 = 1'): number {
  try {
    return readDb(
      file,
      (db) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n,
    );
  } catch {
    return 0;
  }
}
