import { describe, expect, it } from 'vitest';
import { FIXTURES, runCli, SIM_EXCHANGE, writeConfig } from './helpers';

describe('runner --help', () => {
  it('documents every command, flag, mode, config key and the resolution order', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const text of [
      'runner backtest',
      'runner plugins',
      '--config',
      '--plugins',
      '--live',
      '--dry-run',
      '--log-level',
      'live: true',
      '@perpkit/exchange-<name>',
      '@perpkit/strategy-<name>',
      'a file path',
      'cycleInterval',
      'maxConsecutiveFailures',
      'riskGates',
      'exitRules',
      'monitors',
      'closePositions',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the help text shows the config syntax
      '${NAME}',
      'A second signal does not start another',
      'Exit codes',
    ]) {
      expect(stdout, text).toContain(text);
    }
  });

  it('has help per command and refuses unknown commands and flags', async () => {
    expect((await runCli(['plugins', '--help'])).stdout).toContain(
      'runner plugins: list the plugins that resolve',
    );
    expect((await runCli(['backtest', '--help'])).stdout).toContain('--report <dir>');
    const unknownCommand = await runCli(['trade']);
    expect(unknownCommand).toMatchObject({ code: 2 });
    expect(unknownCommand.stderr).toContain('unknown command "trade"');
    const unknownFlag = await runCli(['--config', 'x.yaml', '--lvie']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/Unknown option '--lvie'/);
  });
});

describe('runner plugins', () => {
  it('lists the built-ins with kind, version, core range and source', async () => {
    const { code, stdout } = await runCli(['plugins']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^KIND\s+NAME\s+VERSION\s+CORE\s+SOURCE/);
    expect(stdout).toMatch(/exchange\s+sim\s+0\.1\.0\s+\^0\.1\.0\s+built-in/);
  });

  it('resolves a file plugin and a workspace package', async () => {
    const { code, stdout } = await runCli([
      'plugins',
      '--json',
      '--plugins',
      `${FIXTURES}probe-strategy.mjs,perpkit-strategy-sma-cross`,
    ]);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { kind: string; name: string; source: string }[];
    expect(rows).toContainEqual(
      expect.objectContaining({
        kind: 'strategy',
        name: 'probe',
        source: `file ${FIXTURES}probe-strategy.mjs`,
      }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({
        kind: 'strategy',
        name: 'sma-cross',
        source: 'package perpkit-strategy-sma-cross',
      }),
    );
  });

  it('a miss lists every candidate tried, in order', async () => {
    const { code, stderr } = await runCli(['plugins', '--plugins', 'drfit']);
    expect(code).toBe(2);
    expect(stderr).toContain('cannot resolve plugin "drfit". Tried, in order:');
    const tried = stderr
      .split('\n')
      .filter((line) => line.startsWith('  - '))
      .map((line) => line.slice(4));
    expect(tried.slice(0, 7)).toEqual([
      'built-in "drfit"',
      'package @perpkit/exchange-drfit',
      'package @perpkit/strategy-drfit',
      'package @perpkit/risk-drfit',
      'package @perpkit/exit-drfit',
      'package @perpkit/monitor-drfit',
      'package drfit',
    ]);
    expect(tried.at(-1)).toMatch(/^file \/.*drfit$/);
    expect(stderr).toContain('[PLUGIN_NOT_FOUND]');
  });

  it('refuses a plugin built for another core, at boot', async () => {
    const { code, stderr } = await runCli(['plugins', '--plugins', `${FIXTURES}old-core.mjs`]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/requires @perpkit\/core \^9\.0\.0, but the running core is 0\.1\.0/);
    expect(stderr).toContain('[PLUGIN_INCOMPATIBLE]');
  });
});

describe('config errors name the file, the path and the problem', () => {
  const probe = `plugins: ['${FIXTURES}probe-strategy.mjs']\n`;

  it('an unknown top-level key, with a suggestion', async () => {
    const file = writeConfig(`${probe}${SIM_EXCHANGE}strategis:\n  - plugin: probe\n`);
    const { code, stderr } = await runCli(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: invalid configuration`);
    expect(stderr).toMatch(/strategis: unknown key "strategis"; did you mean "strategies"\? \(line 6\)/);
  });

  it("an unknown key in a plugin's options", async () => {
    const file = writeConfig(
      `${probe}${SIM_EXCHANGE}strategies:\n  - plugin: probe\n    options: { exchange: sim, lable: x }\n`,
    );
    const { code, stderr } = await runCli(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /strategies\[0\]\.options\.lable: unknown key "lable"; did you mean "label"\? \(line 8\)/,
    );
  });

  it('a wrong type, deep in the sim options', async () => {
    const file = writeConfig(
      `exchanges:\n  sim:\n    options:\n      fillModel: next-open\n      markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001', maxLeverage: ten }]\n`,
    );
    const { code, stderr } = await runCli(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /exchanges\.sim\.options\.markets\[0\]\.maxLeverage: .*expected number.*\(line 5\)/i,
    );
  });

  it('an unknown plugin, with every candidate tried', async () => {
    const file = writeConfig(`${SIM_EXCHANGE}strategies:\n  - plugin: sma-crosss\n`);
    const { code, stderr } = await runCli(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: invalid configuration`);
    expect(stderr).toContain('  - strategies[0].plugin: unknown strategy plugin "sma-crosss" (line 6)');
    expect(stderr).toContain('package @perpkit/strategy-sma-crosss');
    expect(stderr).toContain('[PLUGIN_NOT_FOUND]');
  });

  it('every plugin problem of the file at once: an unknown plugin, a wrong type, an unknown option', async () => {
    const file = writeConfig(
      [
        'exchanges:',
        '  sim:',
        '    options:',
        "      markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001', maxLeverage: high }]",
        'strategies:',
        '  - plugin: sma-crosss',
        'riskGates:',
        '  - plugin: pacing',
        '    options: { maxTradesPerHour: 5, maxTradesPerHuor: 6 }',
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runCli(['--config', file]);
    expect(code).toBe(2);
    const problems = stderr.split('\n').filter((line) => line.startsWith('  - '));
    expect(problems.map((line) => line.slice(4).split(':')[0])).toEqual([
      'exchanges.sim.options.markets[0].maxLeverage',
      'strategies[0].plugin',
      'riskGates[0].options.maxTradesPerHuor',
    ]);
    expect(stderr).toContain('      - package @perpkit/strategy-sma-crosss');
    expect(stderr).toMatch(/maxTradesPerHuor/);
  });

  it('a strategy pointing at an exchange that is not configured', async () => {
    const file = writeConfig(
      `${probe}${SIM_EXCHANGE}strategies:\n  - plugin: probe\n    options: { exchange: drift }\n`,
    );
    const { stderr } = await runCli(['--config', file]);
    expect(stderr).toMatch(
      /strategies\[0\]\.options\.exchange: no exchange "drift" is configured \(configured: sim\)/,
    );
  });

  it('a missing file and broken YAML', async () => {
    expect((await runCli(['--config', '/nope/bot.yaml'])).stderr).toMatch(
      /\/nope\/bot\.yaml: cannot read the config file.*\n.*\[CONFIG_NOT_FOUND\]/,
    );
    const broken = await runCli(['--config', writeConfig('exchanges:\n  sim: [\n')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/\(yaml\): .*\(line \d+\)/);
  });
});

describe('environment variables', () => {
  it('are read only where the config asks, and a missing one names its path', async () => {
    const file = writeConfig(`${SIM_EXCHANGE}runId: "\${RUN_NAME}"\n`);
    const { code, stderr } = await runCli(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/runId: environment variable RUN_NAME is not set \(line 5\)/);
    expect(stderr).toContain('[CONFIG_ENV_MISSING]');
  });
});

describe('live needs two keys', () => {
  it('--live without live: true refuses to start', async () => {
    const file = writeConfig(SIM_EXCHANGE);
    const { code, stderr } = await runCli(['--config', file, '--live']);
    expect(code).toBe(2);
    expect(stderr).toContain('Live trading needs both; refusing to start');
    expect(stderr).toContain('[LIVE_NOT_CONFIRMED]');
  });

  it('live: true without --live runs in paper mode', async () => {
    type Probe = { modes: string[]; cycles: number; stops: number };
    const probe = globalThis as unknown as { __probe?: Probe };
    delete probe.__probe;
    const file = writeConfig(
      `plugins: ['${FIXTURES}probe-strategy.mjs']\nlive: true\nengine: { cycleInterval: 10ms }\n${SIM_EXCHANGE}strategies:\n  - plugin: probe\n`,
    );
    const { code, stderr } = await runCli(['--config', file, '--log-level', 'warn'], {
      signal: (send) => setTimeout(() => send('SIGINT'), 200),
    });
    expect(code).toBe(0);
    const seen = probe.__probe as Probe | undefined;
    expect(seen?.modes).toEqual(['paper']);
    expect(seen?.cycles).toBeGreaterThan(0);
    expect(seen?.stops).toBe(1);
    expect(stderr).toContain('the config says live: true but --live was not given: running in paper mode');
  });
});
