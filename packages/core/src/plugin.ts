import type { ApprovalRequester } from './approvals';
import type { Clock } from './clock';
import { ConfigError, type ConfigIssue, PluginError } from './errors';
import type { EngineEventSource } from './events';
import type { Exchange } from './exchange';
import type { ExitRule } from './exit';
import type { Logger } from './logger';
import type { PluginMemory } from './memory';
import type { Monitor } from './monitor';
import type { RiskGate } from './risk';
import { isValidRange, satisfies } from './semver';
import type { SharedServices } from './services';
import type { StateView } from './state';
import type { Strategy } from './strategy';
import type { RunMode } from './types';
import { CORE_VERSION } from './version';

export const PLUGIN_KINDS = ['exchange', 'strategy', 'risk-gate', 'exit-rule', 'monitor'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** Package-name prefix of each kind: `@perpkit/<prefix>-<name>`. */
export const PLUGIN_PACKAGE_PREFIX: Record<PluginKind, string> = {
  exchange: 'exchange',
  strategy: 'strategy',
  'risk-gate': 'risk',
  'exit-rule': 'exit',
  monitor: 'monitor',
};

export interface PluginMeta<Kind extends PluginKind = PluginKind> {
  /** kebab-case, unique per kind, e.g. `funding-arb`. */
  readonly name: string;
  readonly kind: Kind;
  /** semver range of `@perpkit/core` the plugin works with, e.g. `^0.1.0`. */
  readonly core: string;
  readonly version?: string;
  readonly description?: string;
}

/**
 * The options schema: any zod schema (core re-exports `z`; a plugin's own zod copy works too,
 * only `safeParse` is called). Strict on user input: use `.strict()` objects.
 */
export interface OptionsSchema<Options> {
  safeParse(
    input: unknown,
  ):
    | { success: true; data: Options }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/** What every plugin's setup receives. */
export interface SetupContext {
  /** Instance id from the config (defaults to the plugin name). */
  readonly id: string;
  readonly mode: RunMode;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Live, read-only view of engine state. Read it during cycles, not during setup. */
  readonly state: StateView;
  /** Subscribe to engine events (fills, orders, phase changes...). */
  readonly events: EngineEventSource;
  /** Ask a human to approve something (the runner's console or dashboard answers). */
  readonly approvals: ApprovalRequester;
  /** Durable key-value state that survives a restart when the host has a persistent store. */
  readonly memory: PluginMemory;
  /**
   * Adds a record of the plugin's own to the audit log (a `plugin:record` event): what a model was
   * asked and answered, an external call's outcome. `data` must be JSON-serializable and must not
   * hold secrets.
   */
  record(kind: string, data: Readonly<Record<string, unknown>>): void;
  /**
   * Services shared by every component of this engine (and only this engine): a feature pipeline
   * that is computed once per cycle whoever reads it. See `SharedServices`.
   */
  readonly services: SharedServices;
}

/** Exchanges are created before the engine exists, so they get a smaller context. */
export interface ExchangeContext {
  readonly id: string;
  readonly mode: RunMode;
  readonly clock: Clock;
  readonly logger: Logger;
}

interface PluginBase<Kind extends PluginKind, Options> {
  readonly meta: PluginMeta<Kind>;
  readonly options: OptionsSchema<Options>;
}

export interface ExchangePlugin<Options = unknown> extends PluginBase<'exchange', Options> {
  create(context: ExchangeContext, options: Options): Exchange;
}
export interface StrategyPlugin<Options = unknown> extends PluginBase<'strategy', Options> {
  setup(context: SetupContext, options: Options): Strategy;
}
export interface RiskGatePlugin<Options = unknown> extends PluginBase<'risk-gate', Options> {
  setup(context: SetupContext, options: Options): RiskGate;
}
export interface ExitRulePlugin<Options = unknown> extends PluginBase<'exit-rule', Options> {
  setup(context: SetupContext, options: Options): ExitRule;
}
export interface MonitorPlugin<Options = unknown> extends PluginBase<'monitor', Options> {
  setup(context: SetupContext, options: Options): Monitor;
}

export type AnyPlugin =
  | ExchangePlugin<never>
  | StrategyPlugin<never>
  | RiskGatePlugin<never>
  | ExitRulePlugin<never>
  | MonitorPlugin<never>;

export type PluginOfKind<Kind extends PluginKind> = Extract<AnyPlugin, { meta: PluginMeta<Kind> }>;

/*
 * Identity helpers: they only give the plugin object its type. Importing a plugin module must do
 * nothing else (no sockets, timers or env reads).
 */
export function defineExchange<Options>(plugin: ExchangePlugin<Options>): ExchangePlugin<Options> {
  return plugin;
}
export function defineStrategy<Options>(plugin: StrategyPlugin<Options>): StrategyPlugin<Options> {
  return plugin;
}
export function defineRiskGate<Options>(plugin: RiskGatePlugin<Options>): RiskGatePlugin<Options> {
  return plugin;
}
export function defineExitRule<Options>(plugin: ExitRulePlugin<Options>): ExitRulePlugin<Options> {
  return plugin;
}
export function defineMonitor<Options>(plugin: MonitorPlugin<Options>): MonitorPlugin<Options> {
  return plugin;
}

const NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

const FACTORY: Record<PluginKind, 'create' | 'setup'> = {
  exchange: 'create',
  strategy: 'setup',
  'risk-gate': 'setup',
  'exit-rule': 'setup',
  monitor: 'setup',
};

/**
 * Checks a plugin object before it is used: meta shape, kind, name, core range (against the running
 * core version), options schema and factory. Throws `PluginError` naming the source and the problem.
 */
export function validatePlugin(
  candidate: unknown,
  source = 'plugin',
  options: { coreVersion?: string; expectedKind?: PluginKind } = {},
): AnyPlugin {
  const fail = (problem: string, code: 'PLUGIN_INVALID' | 'PLUGIN_INCOMPATIBLE' = 'PLUGIN_INVALID') =>
    new PluginError(code, `${source}: ${problem}`, { details: { source } });
  if (typeof candidate !== 'object' || candidate === null)
    throw fail('is not a plugin object (expected a define* result)');
  const plugin = candidate as Record<string, unknown>;
  const meta = plugin.meta as Record<string, unknown> | undefined;
  if (typeof meta !== 'object' || meta === null) throw fail('has no `meta` object');
  const { name, kind, core } = meta;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw fail(`meta.name must be kebab-case (got ${JSON.stringify(name)})`);
  }
  if (typeof kind !== 'string' || !(PLUGIN_KINDS as readonly string[]).includes(kind)) {
    throw fail(`meta.kind must be one of ${PLUGIN_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  }
  if (options.expectedKind && kind !== options.expectedKind) {
    throw fail(`is a ${kind} plugin, expected a ${options.expectedKind}`);
  }
  if (typeof core !== 'string' || !isValidRange(core)) {
    throw fail(`meta.core must be a semver range of @perpkit/core (got ${JSON.stringify(core)})`);
  }
  const coreVersion = options.coreVersion ?? CORE_VERSION;
  if (!satisfies(coreVersion, core)) {
    throw fail(
      `requires @perpkit/core ${core}, but the running core is ${coreVersion}`,
      'PLUGIN_INCOMPATIBLE',
    );
  }
  const schema = plugin.options as { safeParse?: unknown } | undefined;
  if (typeof schema !== 'object' || schema === null || typeof schema.safeParse !== 'function') {
    throw fail('`options` must be a zod schema (an object with safeParse)');
  }
  const factory = FACTORY[kind as PluginKind];
  if (typeof plugin[factory] !== 'function') throw fail(`a ${kind} plugin needs a \`${factory}\` function`);
  return candidate as AnyPlugin;
}

/** Formats a path from zod issues: `['strategies', 0, 'fast']` → `strategies[0].fast`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Validates a plugin's options. Problems become a `ConfigError` whose issues carry the full path
 * (`pathPrefix` + the schema's path), so a user sees exactly what to fix.
 */
export function parsePluginOptions<Options>(
  plugin: { meta: PluginMeta; options: OptionsSchema<Options> },
  input: unknown,
  where: { file?: string; pathPrefix?: string } = {},
): Options {
  const result = plugin.options.safeParse(input ?? {});
  if (result.success) return result.data;
  const prefix = where.pathPrefix ?? '';
  const issues: ConfigIssue[] = result.error.issues.map((issue) => {
    const inner = formatPath(issue.path);
    const path =
      prefix && inner ? (inner.startsWith('[') ? prefix + inner : `${prefix}.${inner}`) : prefix || inner;
    return { path: path || '(root)', message: issue.message };
  });
  const location = where.file ? `${where.file}: ` : '';
  const lines = issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n');
  throw new ConfigError(
    `${location}invalid options for ${plugin.meta.kind} "${plugin.meta.name}":\n${lines}`,
    {
      ...(where.file === undefined ? {} : { file: where.file }),
      issues,
    },
  );
}

export interface RegisteredPlugin {
  readonly plugin: AnyPlugin;
  /** Where it came from: `built-in`, a package name or a file path. */
  readonly source: string;
}

/** Plugins by kind and name. Registration validates; a bad plugin stops the boot here. */
export class PluginRegistry {
  private readonly byKind = new Map<PluginKind, Map<string, RegisteredPlugin>>();

  constructor(private readonly coreVersion: string = CORE_VERSION) {}

  register(candidate: unknown, source = 'plugin'): AnyPlugin {
    const plugin = validatePlugin(candidate, source, { coreVersion: this.coreVersion });
    let named = this.byKind.get(plugin.meta.kind);
    if (!named) {
      named = new Map();
      this.byKind.set(plugin.meta.kind, named);
    }
    const existing = named.get(plugin.meta.name);
    if (existing && existing.plugin !== plugin) {
      throw new PluginError(
        'PLUGIN_DUPLICATE',
        `${plugin.meta.kind} "${plugin.meta.name}" from ${source} is already registered from ${existing.source}`,
      );
    }
    named.set(plugin.meta.name, { plugin, source });
    return plugin;
  }

  get<Kind extends PluginKind>(kind: Kind, name: string): PluginOfKind<Kind> | undefined {
    return this.byKind.get(kind)?.get(name)?.plugin as PluginOfKind<Kind> | undefined;
  }

  require<Kind extends PluginKind>(kind: Kind, name: string): PluginOfKind<Kind> {
    const plugin = this.get(kind, name);
    if (!plugin) {
      const known = [...(this.byKind.get(kind)?.keys() ?? [])];
      throw new PluginError(
        'PLUGIN_NOT_FOUND',
        `no ${kind} plugin named "${name}" is loaded${known.length ? ` (loaded: ${known.join(', ')})` : ''}`,
      );
    }
    return plugin;
  }

  list(): readonly (RegisteredPlugin & { kind: PluginKind; name: string })[] {
    const out: (RegisteredPlugin & { kind: PluginKind; name: string })[] = [];
    for (const [kind, named] of this.byKind) {
      for (const [name, entry] of named) out.push({ ...entry, kind, name });
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }
}
