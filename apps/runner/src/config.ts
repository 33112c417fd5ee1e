import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigIssue, duration, formatPath, type RunMode, z } from '@perpkit/core';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';

const pluginEntry = z
  .object({
    /** Plugin name (`sma-cross`), package (`@acme/strategy-x`) or file path. */
    plugin: z.string().min(1),
    /** Instance id; defaults to the plugin name. Must be unique within its section. */
    id: z.string().min(1).optional(),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const runnerConfigSchema = z
  .object({
    /** Extra plugins to load, resolved like `--plugins`. */
    plugins: z.array(z.string().min(1)).default([]),
    /** Live trading also needs the `--live` flag. */
    live: z.boolean().default(false),
    runId: z.string().min(1).optional(),
    engine: z
      .object({
        cycleInterval: duration.default(1000),
        maxConsecutiveFailures: z.number().int().positive().default(5),
        candleHistory: z.number().int().positive().default(500),
        accountRefresh: duration.default(5000),
        minHold: duration.default(0),
      })
      .strict()
      .default({
        cycleInterval: 1000,
        maxConsecutiveFailures: 5,
        candleHistory: 500,
        accountRefresh: 5000,
        minHold: 0,
      }),
    exchanges: z
      .record(
        z.string().regex(/^[a-z][a-z0-9-]*$/, 'exchange ids are lower-case kebab-case'),
        z
          .object({
            /** Plugin name; defaults to the exchange id. */
            plugin: z.string().min(1).optional(),
            options: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .refine((exchanges) => Object.keys(exchanges).length > 0, 'configure at least one exchange'),
    strategies: z.array(pluginEntry).default([]),
    riskGates: z.array(pluginEntry).default([]),
    exitRules: z.array(pluginEntry).default([]),
    monitors: z.array(pluginEntry).default([]),
    shutdown: z
      .object({
        cancelOpenOrders: z.boolean().default(true),
        closePositions: z.boolean().default(false),
        timeout: duration.default(30_000),
      })
      .strict()
      .default({ cancelOpenOrders: true, closePositions: false, timeout: 30_000 }),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
        /** Directory for daily log files (relative to the config file); none when left out. */
        dir: z.string().min(1).optional(),
        retainDays: z.number().int().positive().default(30),
      })
      .strict()
      .default({ level: 'info', retainDays: 30 }),
    store: z
      .object({
        /** SQLite file (relative to the config file); `--db` overrides it. */
        path: z.string().min(1).optional(),
        synchronous: z.enum(['normal', 'full']).default('normal'),
        flushInterval: duration.default(100),
      })
      .strict()
      .default({ synchronous: 'normal', flushInterval: 100 }),
    http: z
      .object({
        /** host:port; `--http` overrides it. Off when neither is given. */
        listen: z.string().min(1).optional(),
        /** Token the dashboard's controls need; from the environment only (`${NAME}`). */
        controlToken: z.string().min(12, 'use at least 12 characters').optional(),
        /** Token the read-only view needs, when set; from the environment only. */
        readToken: z.string().min(12, 'use at least 12 characters').optional(),
        /** Market data older than this makes /health fail. */
        staleAfter: duration.default(60_000),
      })
      .strict()
      .default({ staleAfter: 60_000 }),
    /** Paper trading on recorded data, read by `runner run` (see `runner --help`). */
    replay: z.record(z.string(), z.unknown()).optional(),
    /** Backtest settings, read by `runner backtest`. */
    backtest: z.record(z.string(), z.unknown()).optional(),
    /** Parameter search settings, read by `runner optimize`. */
    optimize: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type RunnerConfig = z.output<typeof runnerConfigSchema>;
export type PluginEntry = z.output<typeof pluginEntry>;

export interface LoadedConfig {
  readonly file: string;
  readonly config: RunnerConfig;
  /** sha256 of the config as written (before `${ENV}` interpolation): secrets never enter it. */
  readonly hash: string;
  /** Dotted paths whose values came from the environment (treated as secrets). */
  readonly secretPaths: readonly string[];
  /** The config as written, before `${ENV}` interpolation: safe to store, it holds no secrets. */
  readonly raw: Readonly<Record<string, unknown>>;
  /** The file's text as written (before interpolation): what optimizer workers parse again. */
  readonly text: string;
  /** Line of a dotted path in the file, for error messages. */
  lineOf(path: string): number | undefined;
}

const ENV_PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` in string values with the environment variable NAME, and `${NAME:-default}`
 * with the default when NAME is unset. Only where the config asks for it: `$NAME` and other text
 * stay as written, `$${` writes a literal `${`. A value taken from the environment makes its path
 * a secret; a default written in the file does not.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: (string | number)[] = [],
  found: { missing: ConfigIssue[]; secretPaths: string[] } = { missing: [], secretPaths: [] },
): unknown {
  if (typeof value === 'string') {
    let usedEnv = false;
    const replaced = value.replace(ENV_PATTERN, (match, name: string | undefined, fallback?: string) => {
      if (match === '$${') return '${';
      const resolved = env[name as string];
      if (resolved === undefined && fallback !== undefined) return fallback;
      usedEnv = true;
      if (resolved === undefined) {
        found.missing.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
        return '';
      }
      return resolved;
    });
    if (usedEnv) found.secretPaths.push(formatPath(path));
    return replaced;
  }
  if (Array.isArray(value))
    return value.map((item, index) => interpolateEnv(item, env, [...path, index], found));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, [...path, key], found)]),
    );
  }
  return value;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] as number;
}

/** The closest known name, when it is close enough to be a typo. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = levenshtein(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Keys a zod object schema accepts at `path`, if it is an object there. */
export function knownKeys(schema: unknown, path: readonly PropertyKey[]): string[] | undefined {
  let current = unwrap(schema);
  for (const part of path) {
    const shape = shapeOf(current);
    if (shape && typeof part === 'string' && part in shape) current = unwrap(shape[part]);
    else if (typeof part === 'number') current = unwrap(elementOf(current));
    else {
      const record = valueOfRecord(current);
      if (record === undefined) return undefined;
      current = unwrap(record);
    }
  }
  const shape = shapeOf(current);
  return shape ? Object.keys(shape) : undefined;
}

type AnyDef = {
  def?: Record<string, unknown>;
  _def?: Record<string, unknown>;
  shape?: Record<string, unknown>;
};

function definition(schema: unknown): Record<string, unknown> | undefined {
  const candidate = schema as AnyDef | undefined;
  return candidate?.def ?? candidate?._def;
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let depth = 0; depth < 10; depth += 1) {
    const def = definition(current);
    if (!def) return current;
    const inner = def.innerType ?? def.in ?? def.schema;
    if (inner === undefined) return current;
    current = inner;
  }
  return current;
}

function shapeOf(schema: unknown): Record<string, unknown> | undefined {
  const shape = (schema as AnyDef | undefined)?.shape ?? definition(schema)?.shape;
  return shape && typeof shape === 'object' ? (shape as Record<string, unknown>) : undefined;
}

function elementOf(schema: unknown): unknown {
  return definition(schema)?.element;
}

function valueOfRecord(schema: unknown): unknown {
  return definition(schema)?.valueType;
}

/** Turns zod issues into config issues with paths, lines and "did you mean" hints. */
export function describeIssues(
  issues: readonly {
    path: readonly PropertyKey[];
    message: string;
    code?: string;
    keys?: readonly string[];
  }[],
  schema: unknown,
  options: { prefix?: readonly PropertyKey[]; lineOf?: (path: string) => number | undefined } = {},
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const fullPath = [...(options.prefix ?? []), ...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      const known = knownKeys(schema, issue.path) ?? [];
      for (const key of issue.keys) {
        const keyPath = formatPath([...fullPath, key]);
        const hint = suggest(key, known);
        const line = options.lineOf?.(keyPath);
        out.push({
          path: keyPath,
          message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : known.length ? ` (known: ${known.join(', ')})` : ''}${line ? ` (line ${line})` : ''}`,
        });
      }
      continue;
    }
    const path = formatPath(fullPath) || '(root)';
    const line = options.lineOf?.(path);
    out.push({ path, message: `${issue.message}${line ? ` (line ${line})` : ''}` });
  }
  return out;
}

export function configError(
  file: string,
  issues: readonly ConfigIssue[],
  code: 'CONFIG_INVALID' | 'CONFIG_ENV_MISSING' = 'CONFIG_INVALID',
) {
  const lines = issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n');
  return new ConfigError(`${file}: invalid configuration\n${lines}`, { file, issues, code });
}

function collectLines(
  node: YamlNode | null | undefined,
  path: (string | number)[],
  counter: LineCounter,
  lines: Map<string, number>,
) {
  if (!node) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyPath = [...path, key];
      const range = (pair.key as YamlNode | null)?.range;
      if (range) lines.set(formatPath(keyPath), counter.linePos(range[0]).line);
      collectLines(pair.value as YamlNode, keyPath, counter, lines);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      const itemPath = [...path, index];
      const range = (item as YamlNode | null)?.range;
      if (range) lines.set(formatPath(itemPath), counter.linePos(range[0]).line);
      collectLines(item as YamlNode, itemPath, counter, lines);
    });
  }
}

/** Reads, interpolates and validates a runner config. Every problem names the file, path and line. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the config file (${(error as Error).message})`, {
      file,
      code: 'CONFIG_NOT_FOUND',
    });
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const counter = new LineCounter();
  const document = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (document.errors.length > 0) {
    throw configError(
      file,
      document.errors.map((error) => ({
        path: '(yaml)',
        message: `${error.message.split('\n')[0]} (line ${error.linePos?.[0]?.line ?? counter.linePos(error.pos[0]).line})`,
      })),
    );
  }
  const lines = new Map<string, number>();
  collectLines(document.contents as YamlNode, [], counter, lines);
  const lineOf = (path: string) => lines.get(path);
  const raw = document.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw configError(file, [{ path: '(root)', message: 'the config must be a YAML mapping' }]);

  const found = { missing: [] as ConfigIssue[], secretPaths: [] as string[] };
  const interpolated = interpolateEnv(raw, env, [], found);
  if (found.missing.length > 0) {
    throw configError(
      file,
      found.missing.map((issue) => ({
        ...issue,
        message: `${issue.message}${lineOf(issue.path) ? ` (line ${lineOf(issue.path)})` : ''}`,
      })),
      'CONFIG_ENV_MISSING',
    );
  }
  const result = runnerConfigSchema.safeParse(interpolated);
  if (!result.success) {
    throw configError(file, describeIssues(result.error.issues as never, runnerConfigSchema, { lineOf }));
  }
  const config = result.data;
  const duplicates: ConfigIssue[] = [];
  for (const section of ['strategies', 'riskGates', 'exitRules', 'monitors'] as const) {
    const seen = new Set<string>();
    config[section].forEach((entry, index) => {
      const id = entry.id ?? entry.plugin;
      if (seen.has(id))
        duplicates.push({
          path: `${section}[${index}].id`,
          message: `duplicate id "${id}"; give each entry its own id`,
        });
      seen.add(id);
    });
  }
  if (duplicates.length > 0) throw configError(file, duplicates);
  const hash = createHash('sha256').update(canonicalJson(raw)).digest('hex');
  const tokens = ['http.controlToken', 'http.readToken'].filter(
    (path) => lineOf(path) !== undefined && !found.secretPaths.includes(path),
  );
  if (tokens.length > 0)
    throw configError(
      file,
      tokens.map((path) => ({
        path,
        message: `a token must come from the environment, e.g. \${PERPKIT_${path === 'http.controlToken' ? 'CONTROL' : 'READ'}_TOKEN} (line ${lineOf(path)})`,
      })),
    );
  return { file, config, hash, secretPaths: found.secretPaths, raw, text, lineOf };
}

/** JSON with sorted keys, so equal configs hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface ModeDecision {
  readonly mode: RunMode;
  readonly dryRun: boolean;
}

/** Paper is the default. Live needs both `--live` and `live: true`; either alone refuses or stays paper. */
export function decideMode(flags: { live: boolean; dryRun: boolean }, loaded: LoadedConfig): ModeDecision {
  if (flags.live && !loaded.config.live) {
    throw new ConfigError(
      `${loaded.file}: --live was given but the config does not say "live: true". Live trading needs both; refusing to start.`,
      {
        file: loaded.file,
        code: 'LIVE_NOT_CONFIRMED',
        issues: [{ path: 'live', message: 'must be true for --live' }],
      },
    );
  }
  if (flags.live) return { mode: 'live', dryRun: flags.dryRun };
  return { mode: 'paper', dryRun: flags.dryRun };
}
