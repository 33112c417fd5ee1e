import path from 'node:path';
import {
  type AnyPlugin,
  type Clock,
  type ComponentSpec,
  ConfigError,
  type ConfigIssue,
  Engine,
  type EngineOptions,
  type Exchange,
  type ExitRule,
  isPerpkitError,
  type Logger,
  type Monitor,
  type PluginKind,
  PluginRegistry,
  type parsePluginOptions,
  RealClock,
  type RiskGate,
  type RunMode,
  type Store,
  type Strategy,
} from '@perpkit/core';
import { describeIssues, type LoadedConfig, type PluginEntry } from './config';
import { type ResolveOptions, resolvePlugins } from './resolve';

export interface LoadedPlugins {
  readonly registry: PluginRegistry;
  /** Plugins each specifier resolved to (for config entries that name a package or file). */
  readonly bySpecifier: Map<string, readonly AnyPlugin[]>;
  readonly resolveOptions: ResolveOptions;
}

/** Resolves `--plugins`, the config's `plugins:` list and every built-in, and registers them. */
export async function loadPlugins(
  specifiers: readonly string[],
  options: { builtins: ResolveOptions['builtins']; searchDirs: readonly string[] },
): Promise<LoadedPlugins> {
  const registry = new PluginRegistry();
  const bySpecifier = new Map<string, readonly AnyPlugin[]>();
  for (const plugins of options.builtins.values())
    for (const plugin of plugins) registry.register(plugin, 'built-in');
  const resolveOptions: ResolveOptions = { builtins: options.builtins, searchDirs: options.searchDirs };
  for (const specifier of specifiers) {
    if (bySpecifier.has(specifier)) continue;
    const resolved = await resolvePlugins(specifier, resolveOptions);
    for (const plugin of resolved.plugins) registry.register(plugin, resolved.source);
    bySpecifier.set(specifier, resolved.plugins);
  }
  return { registry, bySpecifier, resolveOptions };
}

/**
 * Finds the plugin of `kind` a config entry names: a loaded plugin of that name, else the name
 * resolved like `--plugins` (so a config can name a package or a file directly).
 */
async function pluginFor<Kind extends PluginKind>(
  kind: Kind,
  specifier: string,
  loaded: LoadedPlugins,
  where: { file: string; path: string; line: number | undefined },
): Promise<Extract<AnyPlugin, { meta: { kind: Kind } }>> {
  const direct = loaded.registry.get(kind, specifier);
  if (direct) return direct as unknown as Extract<AnyPlugin, { meta: { kind: Kind } }>;
  let plugins = loaded.bySpecifier.get(specifier);
  if (!plugins) {
    try {
      const resolved = await resolvePlugins(specifier, loaded.resolveOptions);
      for (const plugin of resolved.plugins) loaded.registry.register(plugin, resolved.source);
      plugins = resolved.plugins;
      loaded.bySpecifier.set(specifier, plugins);
    } catch (error) {
      const message = isPerpkitError(error) ? error.message : String(error);
      throw new ConfigError(
        `${where.file}: ${where.path}${where.line ? ` (line ${where.line})` : ''}: unknown ${kind} plugin "${specifier}"\n${message}`,
        {
          file: where.file,
          issues: [{ path: where.path, message: `unknown ${kind} plugin "${specifier}"` }],
          code: 'PLUGIN_NOT_FOUND',
        },
      );
    }
  }
  const match = plugins.find((plugin) => plugin.meta.kind === kind);
  if (!match) {
    const kinds = plugins.map((plugin) => `${plugin.meta.kind} "${plugin.meta.name}"`).join(', ');
    throw new ConfigError(`${where.file}: ${where.path}: "${specifier}" provides ${kinds}, not a ${kind}`, {
      file: where.file,
      issues: [{ path: where.path, message: `not a ${kind} plugin` }],
    });
  }
  return match as Extract<AnyPlugin, { meta: { kind: Kind } }>;
}

function validateOptions<Options>(
  plugin: Parameters<typeof parsePluginOptions<Options>>[0],
  input: unknown,
  loaded: LoadedConfig,
  prefix: (string | number)[],
  issues: ConfigIssue[],
): Options | undefined {
  const result = plugin.options.safeParse(input ?? {});
  if (result.success) return result.data;
  issues.push(
    ...describeIssues(result.error.issues as never, plugin.options, { prefix, lineOf: loaded.lineOf }),
  );
  return undefined;
}

export interface ExchangePlan {
  readonly id: string;
  readonly plugin: Extract<AnyPlugin, { meta: { kind: 'exchange' } }>;
  readonly options: unknown;
}

/** Every component of a config, resolved and validated, ready to build. */
export interface CompositionPlan {
  readonly exchanges: readonly ExchangePlan[];
  readonly strategies: readonly ComponentSpec<Strategy>[];
  readonly riskGates: readonly ComponentSpec<RiskGate>[];
  readonly exitRules: readonly ComponentSpec<ExitRule>[];
  readonly monitors: readonly ComponentSpec<Monitor>[];
}

/**
 * Resolves every plugin the config names and validates all their options first, so every problem
 * in the file is reported at once, before anything connects.
 */
export async function planComposition(
  loaded: LoadedConfig,
  plugins: LoadedPlugins,
): Promise<CompositionPlan> {
  const { config, file } = loaded;
  const issues: ConfigIssue[] = [];
  const at = (pathText: string) => ({ file, path: pathText, line: loaded.lineOf(pathText) });

  // A plugin that does not resolve is one problem among the others: collect them all.
  let missingPlugin = false;
  const resolveOrNote = async <Kind extends PluginKind>(
    kind: Kind,
    specifier: string,
    where: { file: string; path: string; line: number | undefined },
  ) => {
    try {
      return await pluginFor(kind, specifier, plugins, where);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (error.code === 'PLUGIN_NOT_FOUND') missingPlugin = true;
      // The candidates tried, indented under the problem they explain.
      const detail = error.message
        .split('\n')
        .slice(1)
        .map((line) => `    ${line}`)
        .join('\n');
      for (const issue of error.issues)
        issues.push({
          path: issue.path,
          message: `${issue.message}${where.line ? ` (line ${where.line})` : ''}${detail ? `\n${detail}` : ''}`,
        });
      return undefined;
    }
  };

  const exchanges: ExchangePlan[] = [];
  for (const [id, entry] of Object.entries(config.exchanges)) {
    const plugin = await resolveOrNote(
      'exchange',
      entry.plugin ?? id,
      at(entry.plugin ? `exchanges.${id}.plugin` : `exchanges.${id}`),
    );
    if (!plugin) continue;
    const parsed = validateOptions(plugin, entry.options, loaded, ['exchanges', id, 'options'], issues);
    exchanges.push({ id, plugin, options: parsed });
  }

  const planSection = async <Kind extends 'strategy' | 'risk-gate' | 'exit-rule' | 'monitor', Component>(
    kind: Kind,
    section: 'strategies' | 'riskGates' | 'exitRules' | 'monitors',
  ): Promise<{ specs: ComponentSpec<Component>[]; options: unknown[] }> => {
    const specs: ComponentSpec<Component>[] = [];
    const options: unknown[] = [];
    const entries: readonly PluginEntry[] = config[section];
    for (const [index, entry] of entries.entries()) {
      const plugin = await resolveOrNote(kind, entry.plugin, at(`${section}[${index}].plugin`));
      if (!plugin) continue;
      const parsed = validateOptions(plugin, entry.options, loaded, [section, index, 'options'], issues);
      options.push(parsed);
      const setup = (plugin as unknown as { setup(context: unknown, options: unknown): Component }).setup;
      specs.push({
        id: entry.id ?? plugin.meta.name,
        create: (context) => setup.call(plugin, context, parsed),
      });
    }
    return { specs, options };
  };
  const strategies = await planSection<'strategy', Strategy>('strategy', 'strategies');
  const riskGates = await planSection<'risk-gate', RiskGate>('risk-gate', 'riskGates');
  const exitRules = await planSection<'exit-rule', ExitRule>('exit-rule', 'exitRules');
  const monitors = await planSection<'monitor', Monitor>('monitor', 'monitors');

  strategies.options.forEach((parsed, index) => {
    const exchange = (parsed as { exchange?: unknown } | undefined)?.exchange;
    if (typeof exchange === 'string' && !(exchange in config.exchanges)) {
      const pathText = `strategies[${index}].options.exchange`;
      const line = loaded.lineOf(pathText);
      issues.push({
        path: pathText,
        message: `no exchange "${exchange}" is configured (configured: ${Object.keys(config.exchanges).join(', ')})${line ? ` (line ${line})` : ''}`,
      });
    }
  });
  if (issues.length > 0) {
    const lines = issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n');
    throw new ConfigError(`${file}: invalid configuration\n${lines}`, {
      file,
      issues,
      ...(missingPlugin ? { code: 'PLUGIN_NOT_FOUND' as const } : {}),
    });
  }
  return {
    exchanges,
    strategies: strategies.specs,
    riskGates: riskGates.specs,
    exitRules: exitRules.specs,
    monitors: monitors.specs,
  };
}

export interface ComposeOptions {
  readonly loaded: LoadedConfig;
  readonly plugins: LoadedPlugins;
  readonly mode: RunMode;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly store?: Store;
  /** Engine options the runner decides beyond the config (restart state, dry run). */
  readonly engine?: Pick<EngineOptions, 'restore' | 'memory' | 'dryRun' | 'runId'>;
  /** Wraps each exchange after creation (paper execution of a live venue's data). */
  readonly wrapExchange?: (exchange: Exchange, pluginName: string) => Exchange;
}

export interface Composition {
  readonly engine: Engine;
  readonly exchanges: readonly Exchange[];
}

/** Builds the engine a config describes (paper or live). */
export async function composeEngine(options: ComposeOptions): Promise<Composition> {
  const { loaded, plugins, mode, logger } = options;
  const { config } = loaded;
  const clock = options.clock ?? new RealClock();
  const plan = await planComposition(loaded, plugins);
  const exchanges: Exchange[] = plan.exchanges.map(({ id, plugin, options: parsed }) => {
    const created = plugin.create(
      { id, mode, clock, logger: logger.child({ exchange: id }) },
      parsed as never,
    );
    return options.wrapExchange ? options.wrapExchange(created, plugin.meta.name) : created;
  });
  const engine = new Engine({
    mode,
    clock,
    logger,
    exchanges,
    strategies: plan.strategies,
    riskGates: plan.riskGates,
    exitRules: plan.exitRules,
    monitors: plan.monitors,
    cycleIntervalMs: config.engine.cycleInterval,
    candleHistory: config.engine.candleHistory,
    accountRefreshMs: config.engine.accountRefresh,
    maxConsecutiveFailures: config.engine.maxConsecutiveFailures,
    minHoldMs: config.engine.minHold,
    configHash: loaded.hash,
    runId: options.engine?.runId ?? config.runId,
    store: options.store,
    restore: options.engine?.restore,
    memory: options.engine?.memory,
    dryRun: options.engine?.dryRun,
    shutdown: {
      cancelOpenOrders: config.shutdown.cancelOpenOrders,
      closePositions: config.shutdown.closePositions,
      timeoutMs: config.shutdown.timeout,
    },
  });
  return { engine, exchanges };
}

/** Directories plugins and relative paths resolve from: the config file's directory, then the cwd. */
export function searchDirsFor(configFile: string | undefined, cwd = process.cwd()): string[] {
  return configFile ? [...new Set([path.dirname(path.resolve(cwd, configFile)), cwd])] : [cwd];
}
