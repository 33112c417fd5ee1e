import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { LogFields, Logger, LogLevel } from '@perpkit/core';
import pino from 'pino';

/** Field names whose values are secrets wherever they appear in a log line. */
const SECRET_KEY =
  /(secret|private[-_]?key|api[-_]?key|password|passphrase|mnemonic|seed|token|signature|authorization)/i;
const REDACTED = '[redacted]';

/** Environment variables whose names say they hold a secret. */
export function secretsFromEnvironment(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([name, value]) => value !== undefined && SECRET_KEY.test(name))
    .map(([, value]) => value as string);
}

/**
 * Replaces every occurrence of a known secret value in `text`. Short values are skipped: they
 * would blank out ordinary words and numbers (and are not worth much as secrets anyway).
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets)
    if (secret.length >= 6 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** Deep copy with the values of secret-looking keys replaced. */
function redactKeys(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactKeys(item, depth + 1));
  if (value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value))
    out[key] =
      SECRET_KEY.test(key) && item !== undefined && item !== null ? REDACTED : redactKeys(item, depth + 1);
  return out;
}

/**
 * Log files named `<prefix>-YYYY-MM-DD.log` (UTC), a new one each day; files older than
 * `retainDays` are deleted when a new day starts and at startup. Writes are synchronous, so a line
 * that was logged is in the file even if the process is killed right after.
 */
export class DailyLogFile {
  private descriptor: number | undefined;
  private day: string | undefined;

  constructor(
    private readonly directory: string,
    private readonly retainDays = 30,
    private readonly now: () => number = Date.now,
    private readonly prefix = 'runner',
  ) {
    mkdirSync(directory, { recursive: true });
  }

  /** The file lines go to today. */
  get currentFile(): string {
    return path.join(this.directory, `${this.prefix}-${this.dayOf(this.now())}.log`);
  }

  write(line: string): void {
    const day = this.dayOf(this.now());
    if (day !== this.day) this.rotate(day);
    writeSync(this.descriptor as number, line);
  }

  close(): void {
    if (this.descriptor !== undefined) closeSync(this.descriptor);
    this.descriptor = undefined;
    this.day = undefined;
  }

  private dayOf(time: number): string {
    return new Date(time).toISOString().slice(0, 10);
  }

  private rotate(day: string): void {
    this.close();
    this.descriptor = openSync(path.join(this.directory, `${this.prefix}-${day}.log`), 'a');
    this.day = day;
    this.prune();
  }

  private prune(): void {
    const oldest = this.now() - this.retainDays * 86_400_000;
    const pattern = new RegExp(`^${this.prefix}-(\\d{4}-\\d{2}-\\d{2})\\.log$`);
    for (const name of readdirSync(this.directory)) {
      const match = pattern.exec(name);
      // A file is kept while its day ends inside the retention window.
      if (match && Date.parse(`${match[1]}T00:00:00Z`) + 86_400_000 <= oldest)
        rmSync(path.join(this.directory, name), { force: true });
    }
  }
}

export interface RunnerLoggerOptions {
  readonly level: LogLevel;
  readonly bindings?: LogFields;
  /** Where lines go besides the files (stderr). */
  readonly console?: { write(text: string): unknown };
  /** Directory for daily log files; none when left out. */
  readonly directory?: string;
  readonly retainDays?: number;
  /** Secret values to scrub from every line (config values from the environment, key material). */
  readonly secrets?: readonly string[];
  /** Clock for file rotation (tests). */
  readonly now?: () => number;
}

export interface RunnerLogger {
  readonly logger: Logger;
  /** The underlying pino logger. */
  readonly pino: pino.Logger;
  readonly file: DailyLogFile | undefined;
  close(): void;
}

/**
 * The runner's logger: pino JSON lines to stderr and to daily files, with secrets redacted twice:
 * values of secret-looking keys, and every known secret value wherever it appears in a line
 * (messages, error texts, nested fields).
 */
export function createRunnerLogger(options: RunnerLoggerOptions): RunnerLogger {
  const secrets = [...new Set(options.secrets ?? [])].filter((secret) => secret.length >= 6);
  const file = options.directory
    ? new DailyLogFile(options.directory, options.retainDays, options.now)
    : undefined;
  const destination = {
    write(line: string) {
      const clean = scrub(line, secrets);
      options.console?.write(clean);
      file?.write(clean);
    },
  };
  const instance = pino(
    {
      level: options.level === 'silent' ? 'silent' : options.level,
      base: { ...(options.bindings ?? {}) },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactKeys(object) as Record<string, unknown>,
      },
    },
    destination,
  );
  return { logger: wrap(instance), pino: instance, file, close: () => file?.close() };
}

function wrap(instance: pino.Logger): Logger {
  return {
    debug: (message, fields) => instance.debug(fields ?? {}, message),
    info: (message, fields) => instance.info(fields ?? {}, message),
    warn: (message, fields) => instance.warn(fields ?? {}, message),
    error: (message, fields) => instance.error(fields ?? {}, message),
    child: (bindings) => wrap(instance.child(redactKeys(bindings) as Record<string, unknown>)),
  };
}
