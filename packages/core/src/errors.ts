/**
 * Every error perpkit throws is a `PerpkitError` with a stable SCREAMING_SNAKE `code`.
 * Codes are part of the public API: they are listed in `ERROR_CODES` (and in docs/errors.md,
 * which a test keeps in step with this table). Never rename a code; add a new one instead.
 *
 * Risk denials are not errors: they are data (see `RiskDecision`).
 */

export const ERROR_CODES = {
  // configuration and input
  CONFIG_INVALID:
    'A configuration file or object failed validation; the message names the file, path and problem.',
  CONFIG_NOT_FOUND: 'The configuration file does not exist or cannot be read.',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the config syntax
  CONFIG_ENV_MISSING: 'The configuration asks for an environment variable (`${NAME}`) that is not set.',
  INVALID_ARGUMENT: 'A function or command received an argument it cannot use; the message names the field.',
  DECIMAL_INVALID:
    'A value could not be read as an exact decimal (NaN, Infinity, empty or malformed string).',
  // plugins
  PLUGIN_INVALID: 'A plugin object is malformed: missing or wrong `meta`, options schema or factory.',
  PLUGIN_INCOMPATIBLE: "A plugin's declared core version range does not include the running core version.",
  PLUGIN_NOT_FOUND: 'No candidate resolved for a plugin name; the message lists every candidate tried.',
  PLUGIN_DUPLICATE: 'Two plugins of the same kind were registered under one name.',
  PLUGIN_SETUP_FAILED: "A plugin's setup/create function threw while the engine was being assembled.",
  // engine
  ENGINE_STATE: 'An engine method was called in a state that does not allow it (for example start twice).',
  LIVE_NOT_CONFIRMED:
    'Live trading was requested without both the `--live` flag and `live: true` in the config.',
  SHUTDOWN_TIMEOUT: 'An orderly shutdown did not finish within its time limit.',
  // exchanges
  EXCHANGE_UNAVAILABLE: 'The venue could not be reached or answered with a server error (retryable).',
  EXCHANGE_TIMEOUT: 'A venue request timed out; its outcome is unknown (retryable only when idempotent).',
  EXCHANGE_RATE_LIMITED:
    'The venue rate-limited the request (HTTP 429 or equivalent; retryable after backoff).',
  EXCHANGE_AUTH: 'The venue rejected the credentials or the signature.',
  EXCHANGE_PROTOCOL: 'The venue sent a message that does not match its documented protocol.',
  EXCHANGE_NOT_SUPPORTED: 'The exchange does not declare the capability the call needs.',
  MARKET_NOT_FOUND: 'The symbol is not a market of this exchange.',
  ACCOUNT_NOT_FOUND: 'The account id is not known to this exchange.',
  ORDER_REJECTED: 'The venue rejected an order; `reason` carries the venue-style reason code.',
  ORDER_NOT_FOUND: 'A cancel or lookup named an order the venue does not know.',
  INSUFFICIENT_FUNDS: 'A withdrawal or transfer exceeds what the account can release.',
  TRANSACTION_FAILED:
    'A transaction failed in simulation or on chain, or expired unsent; the message names the error.',
  // storage
  STORE_FAILED: 'The audit store could not write or read; records not yet flushed are kept in memory.',
  // anything else
  UNEXPECTED: 'A non-perpkit error (a bug or a library failure) reached a boundary; the message is kept.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface PerpkitErrorOptions {
  /** True when repeating the same call may succeed (timeouts, 429, 5xx). */
  readonly retryable?: boolean;
  readonly cause?: unknown;
  /** Structured context for logs and the audit store. Must never hold secrets. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class PerpkitError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: PerpkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      details: this.details,
    };
  }
}

/** Bad user input: configuration, CLI arguments, plugin options. */
export class ConfigError extends PerpkitError {
  /** Where the problem is: a file path, if any. */
  readonly file: string | undefined;
  /** The problems found, each with the dotted path inside the config. */
  readonly issues: readonly ConfigIssue[];

  constructor(
    message: string,
    options: PerpkitErrorOptions & { file?: string; issues?: readonly ConfigIssue[]; code?: ErrorCode } = {},
  ) {
    super(options.code ?? 'CONFIG_INVALID', message, options);
    this.file = options.file;
    this.issues = options.issues ?? [];
  }
}

export interface ConfigIssue {
  /** Dotted path inside the config, e.g. `strategies[0].options.fast`. */
  readonly path: string;
  readonly message: string;
}

export class PluginError extends PerpkitError {}

export class EngineError extends PerpkitError {}

/**
 * Errors raised by exchange adapters. `retryable` tells the caller whether the same request may be
 * sent again; adapters must set it deliberately.
 */
export class ExchangeError extends PerpkitError {
  /** The exchange instance id that raised it. */
  readonly exchange: string | undefined;
  /** Venue-style reason (for example `POST_ONLY_WOULD_CROSS`), when the venue gave one. */
  readonly reason: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: PerpkitErrorOptions & { exchange?: string; reason?: string } = {},
  ) {
    super(code, message, options);
    this.exchange = options.exchange;
    this.reason = options.reason;
  }
}

export class OrderRejectedError extends ExchangeError {
  constructor(reason: string, message: string, options: PerpkitErrorOptions & { exchange?: string } = {}) {
    super('ORDER_REJECTED', message, { ...options, reason });
  }
}

export function isPerpkitError(value: unknown): value is PerpkitError {
  return value instanceof PerpkitError;
}

/** Normalizes anything thrown into a message and a code, for logs and the audit store. */
export function describeError(error: unknown): { code: string; message: string; retryable: boolean } {
  if (error instanceof PerpkitError)
    return { code: error.code, message: error.message, retryable: error.retryable };
  if (error instanceof Error) return { code: 'UNEXPECTED', message: error.message, retryable: false };
  return { code: 'UNEXPECTED', message: String(error), retryable: false };
}
