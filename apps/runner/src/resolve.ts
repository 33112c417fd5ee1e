import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type AnyPlugin,
  PLUGIN_KINDS,
  PLUGIN_PACKAGE_PREFIX,
  PluginError,
  validatePlugin,
} from '@perpkit/core';

export interface ResolvedPlugins {
  readonly specifier: string;
  readonly plugins: readonly AnyPlugin[];
  /** `built-in`, `package <name>` or `file <path>`. */
  readonly source: string;
}

export interface ResolveOptions {
  /** Directories to resolve packages and relative paths from, in order (config dir, cwd). */
  readonly searchDirs: readonly string[];
  readonly builtins: ReadonlyMap<string, readonly AnyPlugin[]>;
}

/** Plugins a module exports: its default (a plugin or an array) and a named `plugins` array. */
function pluginsOf(module: Record<string, unknown>, source: string): AnyPlugin[] {
  const found: unknown[] = [];
  const take = (value: unknown) => {
    if (Array.isArray(value)) found.push(...value);
    else if (value !== undefined) found.push(value);
  };
  let main = module.default;
  // CJS interop: `module.exports = { default: plugin }` arrives as default.default.
  if (main && typeof main === 'object' && !('meta' in main) && 'default' in main)
    main = (main as { default: unknown }).default;
  take(main);
  take(module.plugins);
  if (found.length === 0)
    throw new PluginError(
      'PLUGIN_INVALID',
      `${source}: exports no plugin (expected a default export or a "plugins" array)`,
    );
  return found.map((candidate) => validatePlugin(candidate, source));
}

/** Node's own pick of a conditional export, for an ESM importer: the first key that applies. */
function pickExport(target: unknown, conditions: readonly string[]): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const item of target) {
      const picked = pickExport(item, conditions);
      if (picked) return picked;
    }
    return undefined;
  }
  if (target && typeof target === 'object') {
    for (const [key, value] of Object.entries(target as Record<string, unknown>)) {
      if (!conditions.includes(key)) continue;
      const picked = pickExport(value, conditions);
      if (picked) return picked;
    }
  }
  return undefined;
}

/** The entry file an `import` of the package at `directory` loads. */
function packageEntry(directory: string): string | undefined {
  const manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as {
    exports?: unknown;
    module?: string;
    main?: string;
  };
  let entry: string | undefined;
  if (manifest.exports !== undefined) {
    const exportsField = manifest.exports;
    const root =
      exportsField && typeof exportsField === 'object' && !Array.isArray(exportsField) && '.' in exportsField
        ? (exportsField as Record<string, unknown>)['.']
        : exportsField;
    entry = pickExport(root, ['import', 'node', 'default']);
  } else {
    entry = manifest.main ?? 'index.js';
  }
  if (!entry) return undefined;
  const file = path.resolve(directory, entry);
  return existsSync(file) ? file : undefined;
}

/**
 * Finds a package the way Node's ESM loader does (node_modules from each search directory up to
 * the root, then the runner's own), and loads its `import` entry: ESM-only packages work, and a
 * dual package shares the runner's ESM copy of core instead of loading its CJS build.
 */
function tryResolvePackage(name: string, searchDirs: readonly string[]): string | undefined {
  const starts = [...searchDirs, path.dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    let directory = path.resolve(start);
    for (;;) {
      const candidate = path.join(directory, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) {
        const entry = packageEntry(candidate);
        if (entry) return entry;
      }
      const parent = path.dirname(directory);
      if (parent === directory) break;
      directory = parent;
    }
  }
  // Last resort for layouts without node_modules folders (Yarn PnP): CommonJS resolution.
  for (const dir of searchDirs) {
    try {
      return createRequire(path.join(dir, 'noop.js')).resolve(name);
    } catch {}
  }
  return undefined;
}

function looksLikePackageName(name: string): boolean {
  return /^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name) && !name.startsWith('.');
}

async function load(file: string, source: string): Promise<AnyPlugin[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new PluginError('PLUGIN_INVALID', `${source}: failed to load (${(error as Error).message})`, {
      cause: error,
    });
  }
  return pluginsOf(module, source);
}

/**
 * Resolves a plugin specifier in a fixed, documented order:
 * 1. a built-in plugin of that name;
 * 2. `@perpkit/<kind>-<name>` for each kind (exchange, strategy, risk, exit, monitor);
 * 3. the specifier as a package name;
 * 4. the specifier as a file path (relative to the config file's directory, then the cwd).
 * A miss throws `PLUGIN_NOT_FOUND` listing every candidate tried.
 */
export async function resolvePlugins(specifier: string, options: ResolveOptions): Promise<ResolvedPlugins> {
  const tried: string[] = [];
  const builtin = options.builtins.get(specifier);
  tried.push(`built-in "${specifier}"`);
  if (builtin) return { specifier, plugins: builtin, source: 'built-in' };

  const packageNames: string[] = [];
  if (/^[a-z][a-z0-9-]*$/.test(specifier)) {
    for (const kind of PLUGIN_KINDS)
      packageNames.push(`@perpkit/${PLUGIN_PACKAGE_PREFIX[kind]}-${specifier}`);
  }
  if (looksLikePackageName(specifier)) packageNames.push(specifier);
  for (const name of packageNames) {
    tried.push(`package ${name}`);
    const file = tryResolvePackage(name, options.searchDirs);
    if (file) return { specifier, plugins: await load(file, `package ${name}`), source: `package ${name}` };
  }

  const candidates = path.isAbsolute(specifier)
    ? [specifier]
    : options.searchDirs.map((dir) => path.resolve(dir, specifier));
  for (const candidate of [...new Set(candidates)]) {
    tried.push(`file ${candidate}`);
    if (existsSync(candidate) && statSync(candidate).isFile()) {
      return { specifier, plugins: await load(candidate, `file ${candidate}`), source: `file ${candidate}` };
    }
  }
  throw new PluginError(
    'PLUGIN_NOT_FOUND',
    `cannot resolve plugin "${specifier}". Tried, in order:\n${tried.map((entry) => `  - ${entry}`).join('\n')}`,
    {
      details: { specifier, tried },
    },
  );
}
