import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config';
import { FIXTURES, runCli, writeConfig } from './helpers';
import { count, readDb, startRunner, waitUntil } from './process';

/** A venue with prices (through the paper venue), and a strategy that enters and rests a bid. */
const VENUE_AND_TRADER = `exchanges:
  venue: { plugin: live-venue }
strategies:
  - plugin: trader
    options: { exchange: venue, symbol: BTC, quantity: 0.1, bid: 90 }
`;
const PLUGINS = `plugins: ['${FIXTURES}live-venue.mjs', '${FIXTURES}trader-strategy.mjs']\n`;
const TICKING_SIM = `exchanges:
  sim:
    options:
      fillModel: mark
      markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001' }]
`;

describe('environment interpolation', () => {
  it('substitutes env references, leaves $NAME alone, writes a literal for the escape, and marks values as secrets', () => {
    const loaded = parseConfig(
      `runId: "\${RUN}-$HOME-$\${NOT_A_VAR}"\nexchanges: { sim: { options: { markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001' }] } } }\n`,
      'bot.yaml',
      { RUN: 'night', HOME: '/root' },
    );
    expect(loaded.config.runId).toBe('night-$HOME-$' + '{NOT_A_VAR}');
    expect(loaded.secretPaths).toEqual(['runId']);
    // The hash is of the file as written: changing the secret's value does not change it.
    const again = parseConfig(
      `runId: "\${RUN}-$HOME-$\${NOT_A_VAR}"\nexchanges: { sim: { options: { markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001' }] } } }\n`,
      'bot.yaml',
      { RUN: 'day' },
    );
    expect(again.hash).toBe(loaded.hash);
  });

  it('takes ${NAME:-default} from the file when NAME is unset, and only an environment value is a secret', () => {
    const text = `runId: "\${RUN:-nightly}"\n${TICKING_SIM}`;
    const unset = parseConfig(text, 'bot.yaml', {});
    expect(unset.config.runId).toBe('nightly');
    expect(unset.secretPaths).toEqual([]);
    const set = parseConfig(text, 'bot.yaml', { RUN: 'from-env' });
    expect(set.config.runId).toBe('from-env');
    expect(set.secretPaths).toEqual(['runId']);
  });

  it('refuses a control token written into the file', () => {
    expect(() =>
      parseConfig(`http: { controlToken: "written-into-the-file" }\n${TICKING_SIM}`, 'bot.yaml', {}),
    ).toThrow(/http.controlToken: a token must come from the environment/);
  });
});

describe('modes', () => {
  it('--live with live: true runs live', async () => {
    const probe = globalThis as unknown as { __probe?: { modes: string[] } };
    delete probe.__probe;
    const file = writeConfig(
      `plugins: ['${FIXTURES}probe-strategy.mjs']\nlive: true\nengine: { cycleInterval: 10ms }\n${TICKING_SIM}strategies:\n  - plugin: probe\n`,
    );
    const { code } = await runCli(['--config', file, '--live', '--log-level', 'warn'], {
      signal: (send) => setTimeout(() => send('SIGINT'), 200),
    });
    expect(code).toBe(0);
    expect((globalThis as unknown as { __probe?: { modes: string[] } }).__probe?.modes).toEqual(['live']);
  });

  it("paper mode never calls a live venue's order methods: its data feeds a simulated venue", async () => {
    const state = globalThis as unknown as { __liveVenue?: { orderCalls: number } };
    delete state.__liveVenue;
    const file = writeConfig(
      `plugins: ['${FIXTURES}live-venue.mjs', '${FIXTURES}trader-strategy.mjs']
engine: { cycleInterval: 10ms }
exchanges:
  venue: { plugin: live-venue }
strategies:
  - plugin: trader
    options: { exchange: venue, symbol: BTC, quantity: 0.1, bid: 90 }
shutdown: { closePositions: true, timeout: 2s }
`,
    );
    const db = path.join(path.dirname(file), 'paper.db');
    const { code, stderr } = await runCli(['--config', file, '--db', db, '--log-level', 'info'], {
      signal: (send) => setTimeout(() => send('SIGINT'), 400),
    });
    expect(code).toBe(0);
    expect(stderr).toContain('paper venue ready');
    expect((globalThis as unknown as { __liveVenue?: { orderCalls: number } }).__liveVenue?.orderCalls).toBe(
      0,
    );
    readDb(db, (database) => {
      // The entry filled on the paper venue and was closed on shutdown; the bid was cancelled.
      const fills = database.prepare('SELECT side, quantity FROM fills ORDER BY at').all();
      expect(fills).toEqual([
        { side: 'buy', quantity: 0.1 },
        { side: 'sell', quantity: 0.1 },
      ]);
      expect(
        (
          database.prepare("SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'").get() as {
            n: number;
          }
        ).n,
      ).toBe(1);
    });
  });

  it('--dry-run records each order with its costs and sends none', async () => {
    const file = writeConfig(`${PLUGINS}engine: { cycleInterval: 10ms }\n${VENUE_AND_TRADER}`);
    const db = path.join(path.dirname(file), 'dry.db');
    const { code } = await runCli(['--config', file, '--db', db, '--dry-run', '--log-level', 'warn'], {
      signal: (send) => setTimeout(() => send('SIGINT'), 300),
    });
    expect(code).toBe(0);
    readDb(db, (database) => {
      const requests = database.prepare('SELECT outcome, type FROM order_requests ORDER BY type').all();
      expect(requests).toEqual([
        { outcome: 'dry-run', type: 'limit' },
        { outcome: 'dry-run', type: 'market' },
      ]);
      expect((database.prepare('SELECT COUNT(*) AS n FROM fills').get() as { n: number }).n).toBe(0);
      const events = database.prepare("SELECT data FROM events WHERE type = 'order:dry-run'").all() as {
        data: string;
      }[];
      const market = events
        .map((row) => JSON.parse(row.data))
        .find((event) => event.proposal.request.type === 'market');
      // 0.1 BTC at the reference price 100, taker fee 0.05%.
      expect(market.estimatedFee).toBeCloseTo(0.1 * 100 * 0.0005, 12);
    });
  });
});

describe('shutdown through the runner', () => {
  it('SIGINT cancels open orders and closes positions when configured, then exits 0', async () => {
    const file = writeConfig(
      `${PLUGINS}engine: { cycleInterval: 20ms }\n${VENUE_AND_TRADER}shutdown: { cancelOpenOrders: true, closePositions: true, timeout: 3s }\n`,
    );
    const db = path.join(path.dirname(file), 'stop.db');
    const runner = startRunner(['--config', file, '--db', db, '--log-level', 'info']);
    await waitUntil(() => count(db, 'fills') >= 1, 20_000, 'the entry');
    runner.child.kill('SIGINT');
    expect(await runner.exited()).toBe(0);
    const stopped = runner.logs().find((line) => line.msg === 'stopped');
    expect(stopped).toMatchObject({ reason: 'SIGINT', cancelledOrders: 1, closedPositions: 1 });
  }, 30_000);

  it('a signal while the venue is still connecting ends the run cleanly instead of hanging', async () => {
    const file = writeConfig(
      `plugins: ['${FIXTURES}live-venue.mjs']\nexchanges:\n  venue: { plugin: live-venue, options: { connectDelayMs: 1500 } }\n`,
    );
    const runner = startRunner(['--config', file, '--db', path.join(path.dirname(file), 'boot.db')]);
    await waitUntil(() => runner.stderr().includes('live venue connecting'), 20_000, 'the slow connect');
    runner.child.kill('SIGINT');
    const started = Date.now();
    expect(await runner.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(runner.logs().some((line) => line.msg === 'stopped')).toBe(true);
  }, 30_000);
});

describe('plugin resolution order', () => {
  it('a built-in wins over a package of the same name; @perpkit/<kind>-<name> and ESM-only packages load', async () => {
    const root = path.dirname(writeConfig(''));
    const modules = path.join(root, 'node_modules');
    const plugin = (name: string, kind: string) =>
      `export default { meta: { name: '${name}', kind: '${kind}', core: '^0.1.0', version: '9.9.9' }, options: { safeParse: (value) => ({ success: true, data: value }) }, setup: () => ({ name: '${name}', check: () => undefined, onCycle: () => undefined }) };\n`;
    const esmPackage = (name: string, source: string) => {
      const directory = path.join(modules, name);
      mkdirSync(directory, { recursive: true });
      // ESM only: no "require" condition, no "main".
      writeFileSync(
        path.join(directory, 'package.json'),
        JSON.stringify({ name, type: 'module', exports: { '.': { import: './index.js' } } }),
      );
      writeFileSync(path.join(directory, 'index.js'), source);
    };
    esmPackage('@perpkit/monitor-health', plugin('health', 'monitor'));
    esmPackage('@perpkit/strategy-momo', plugin('momo', 'strategy'));
    esmPackage('esm-only-strategy', plugin('esm-only', 'strategy'));
    const config = path.join(root, 'bot.yaml');
    writeFileSync(config, TICKING_SIM);
    const { code, stdout, stderr } = await runCli(
      ['plugins', '--json', '--config', config, '--plugins', 'health,momo,esm-only-strategy'],
      {
        cwd: root,
      },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { kind: string; name: string; version: string; source: string }[];
    const find = (kind: string, name: string) => rows.find((row) => row.kind === kind && row.name === name);
    expect(find('monitor', 'health')?.source).toBe('built-in');
    expect(find('monitor', 'health')?.version).not.toBe('9.9.9');
    expect(find('strategy', 'momo')?.source).toBe('package @perpkit/strategy-momo');
    expect(find('strategy', 'esm-only')?.source).toBe('package esm-only-strategy');
  });
});
