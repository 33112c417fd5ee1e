import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { AnyPlugin } from '@perpkit/core';
import { builtinPlugins } from './builtins';
import { report, splitList, usage } from './cli-support';
import { loadPlugins, searchDirsFor } from './compose';
import { loadConfig } from './config';
import { MAIN_HELP, PLUGINS_HELP } from './help';
import { type CliIo, EXIT, processIo } from './io';

const COMMANDS = ['run', 'plugins', 'backtest', 'optimize', 'worker', 'help'] as const;
type Command = (typeof COMMANDS)[number];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const args = [...argv];
  let command: Command = 'run';
  if (args[0] !== undefined && !args[0].startsWith('-')) {
    const first = args.shift() as string;
    if (!(COMMANDS as readonly string[]).includes(first)) {
      io.stderr.write(
        `runner: unknown command "${first}" (commands: run, backtest, optimize, worker, plugins)\nRun "runner --help" for usage.\n`,
      );
      return EXIT.usage;
    }
    command = first as Command;
  }
  if (command === 'help' || args.includes('--help') || args.includes('-h')) {
    io.stdout.write(
      command === 'plugins'
        ? PLUGINS_HELP
        : command === 'backtest'
          ? await backtestHelp()
          : command === 'optimize'
            ? (await import('./optimize-command')).OPTIMIZE_HELP
            : command === 'worker'
              ? (await import('./worker-command')).WORKER_HELP
              : MAIN_HELP,
    );
    return EXIT.ok;
  }
  if (args.includes('--version') || args.includes('-v')) {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  try {
    if (command === 'plugins') return await pluginsCommand(args, io);
    if (command === 'backtest') return await backtestCommand(args, io);
    if (command === 'optimize')
      return await (await import('./optimize-command')).runOptimizeCommand(args, io);
    if (command === 'worker') return await (await import('./worker-command')).runWorkerCommand(args, io);
    return await runCommand(args, io);
  } catch (error) {
    return report(io, error);
  }
}

async function backtestHelp(): Promise<string> {
  const { BACKTEST_HELP } = await import('./backtest-command');
  return BACKTEST_HELP;
}

async function backtestCommand(args: string[], io: CliIo): Promise<number> {
  const { runBacktestCommand } = await import('./backtest-command');
  return runBacktestCommand(args, io);
}

async function pluginsCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = usage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        plugins: { type: 'string', short: 'p', multiple: true },
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
      },
    }),
  );
  const specifiers = splitList(values.plugins);
  let referenced: { kind: string; specifier: string }[] = [];
  if (values.config) {
    const loaded = loadConfig(values.config, io.env);
    specifiers.push(...loaded.config.plugins);
    referenced = [
      ...Object.entries(loaded.config.exchanges).map(([id, entry]) => ({
        kind: 'exchange',
        specifier: entry.plugin ?? id,
      })),
      ...loaded.config.strategies.map((entry) => ({ kind: 'strategy', specifier: entry.plugin })),
      ...loaded.config.riskGates.map((entry) => ({ kind: 'risk-gate', specifier: entry.plugin })),
      ...loaded.config.exitRules.map((entry) => ({ kind: 'exit-rule', specifier: entry.plugin })),
      ...loaded.config.monitors.map((entry) => ({ kind: 'monitor', specifier: entry.plugin })),
    ];
  }
  const loaded = await loadPlugins(specifiers, {
    builtins: builtinPlugins(),
    searchDirs: searchDirsFor(values.config, io.cwd),
  });
  for (const { kind, specifier } of referenced) {
    if (loaded.registry.get(kind as AnyPlugin['meta']['kind'], specifier)) continue;
    if (!loaded.bySpecifier.has(specifier)) {
      const { resolvePlugins } = await import('./resolve');
      const resolved = await resolvePlugins(specifier, loaded.resolveOptions);
      for (const plugin of resolved.plugins) loaded.registry.register(plugin, resolved.source);
      loaded.bySpecifier.set(specifier, resolved.plugins);
    }
  }
  const rows = loaded.registry.list().map((entry) => ({
    kind: entry.kind,
    name: entry.name,
    version: entry.plugin.meta.version ?? '-',
    core: entry.plugin.meta.core,
    source: entry.source,
    description: entry.plugin.meta.description ?? '',
  }));
  if (values.json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  const headers = ['KIND', 'NAME', 'VERSION', 'CORE', 'SOURCE'] as const;
  const table = [
    headers.map(String),
    ...rows.map((row) => [row.kind, row.name, row.version, row.core, row.source]),
  ];
  const widths = headers.map((_, column) =>
    Math.max(...table.map((line) => (line[column] as string).length)),
  );
  for (const line of table)
    io.stdout.write(
      `${line
        .map((cell, column) => cell.padEnd(widths[column] as number))
        .join('  ')
        .trimEnd()}\n`,
    );
  return EXIT.ok;
}

async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { runCommand: run } = await import('./run-command');
  return run(args, io);
}
