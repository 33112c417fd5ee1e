export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Readonly<Record<string, unknown>>;

/** The logging surface core and plugins use. The runner backs it with pino. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

const LEVEL_ORDER: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  silent: 100,
};

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/**
 * A dependency-free logger that writes JSON lines (to stderr unless told otherwise). Handy for
 * scripts and tests.
 */
export function createConsoleLogger(
  level: LogLevel = 'info',
  bindings: LogFields = {},
  output: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = LEVEL_ORDER[level];
  const write = (at: Exclude<LogLevel, 'silent' | 'trace'>, message: string, fields?: LogFields) => {
    if (LEVEL_ORDER[at] < threshold) return;
    output(`${JSON.stringify({ level: at, time: Date.now(), msg: message, ...bindings, ...fields })}\n`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (more) => createConsoleLogger(level, { ...bindings, ...more }, output),
  };
}
