import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Fill } from '@perpkit/core';
import { PacificaSimulator } from '@perpkit/exchange-pacifica/sim';
import { SqliteStore } from '@perpkit/store-sqlite';
import { base58 } from '@scure/base';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type FakeDriftRpc, startFakeDriftRpc } from '../src/fake-rpc';
import { RFC8032_TEST2_SEED, TEST1_AUTHORITY, TEST1_SECRET_KEY, TEST2_KEYPAIR } from './helpers';

const require = createRequire(import.meta.url);
const PACKAGE = fileURLToPath(new URL('../', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../examples/drift-funding.live.yaml', import.meta.url));
/** The built runner CLI (the `runner` bin of @perpkit/runner), run as a process of its own. */
const RUNNER_CLI = path.join(path.dirname(require.resolve('@perpkit/runner/package.json')), 'dist', 'cli.js');

/** The Pacifica hedge account: RFC 8032 TEST 2's seed (a published test vector), base58. */
const PACIFICA_HEDGE_KEY = base58.encode(Buffer.from(RFC8032_TEST2_SEED, 'hex'));
const PACIFICA_HEDGE_ADDRESS = TEST2_KEYPAIR.publicKey.toBase58();

/** The test's shorter cooldown (the example's is 30 minutes). */
const COOLDOWN_MS = 6_000;

let rpc: FakeDriftRpc | undefined;
let pacifica: PacificaSimulator | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  await rpc?.stop();
  await pacifica?.stop();
  rpc = undefined;
  pacifica = undefined;
});

interface StrategyOptions {
  driftThreshold: number;
  size: { quantity: number };
  [key: string]: unknown;
}

/**
 * `examples/drift-funding.live.yaml` as written (venues, accounts, environment variables, the
 * strategy's sizes and thresholds, gates, monitors), with only its timings shortened so that a
 * test runs in seconds: cycles, Drift polling and confirmation, the strategy's interval and cooldown.
 */
function exampleConfig(): { text: string; strategy: StrategyOptions } {
  const config = parse(readFileSync(EXAMPLE, 'utf8'));
  config.engine = { ...config.engine, cycleInterval: '100ms', accountRefresh: '1s' };
  Object.assign(config.exchanges.drift.options, {
    pollIntervalMs: 100,
    confirmTimeoutMs: 2000,
    statusPollMs: 20,
  });
  const strategy = config.strategies[0].options as StrategyOptions;
  Object.assign(strategy, { interval: '200ms', cooldown: `${COOLDOWN_MS}ms` });
  config.shutdown = { ...config.shutdown, timeout: '10s' };
  return { text: stringify(config), strategy };
}

/**
 * A bot directory as a user would have it: the config, and the three plugin packages installed
 * next to it, so `plugin: drift`, `pacifica` and `delta-neutral` resolve there by name. Each
 * installed entry is the package's source (never a stale build): the runner itself is the built
 * CLI, and it loads the sources through tsx.
 */
function botDirectory(config: string): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-drift-dn-'));
  const install = (name: string, root: string) => {
    const installed = path.join(directory, 'node_modules', '@perpkit', name);
    mkdirSync(installed, { recursive: true });
    writeFileSync(
      path.join(installed, 'package.json'),
      JSON.stringify({
        name: `@perpkit/${name}`,
        type: 'module',
        exports: { '.': { import: path.join(root, 'src', 'index.ts') } },
      }),
    );
  };
  install('exchange-drift', PACKAGE);
  for (const name of ['exchange-pacifica', 'strategy-delta-neutral'])
    install(name, path.dirname(require.resolve(`@perpkit/${name}/package.json`)));
  writeFileSync(path.join(directory, 'bot.yaml'), config);
  return directory;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: () => string,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(50);
  }
}

/** The part of the runner's `/api/state` this test reads. */
interface EngineView {
  readonly positions: readonly {
    exchange: string;
    account: string;
    symbol: string;
    quantity: number;
    entryPrice: number;
    markPrice: number;
    fundingSettled: number;
    fundingAccrued: number;
  }[];
}

/** Net delta / gross exposure over every leg the engine holds, at the engine's marks. */
function engineDrift(view: EngineView): number {
  let net = 0;
  let gross = 0;
  for (const position of view.positions) {
    net += position.quantity * position.markPrice;
    gross += Math.abs(position.quantity * position.markPrice);
  }
  return gross === 0 ? 0 : net / gross;
}

describe('the delta-neutral funding shape through the built runner: a Drift short hedged on Pacifica (live mode)', () => {
  it('opens the short on Drift and the long on Pacifica, collects Drift funding, rebalances past the threshold, honouring the cooldown', async () => {
    const { text, strategy } = exampleConfig();
    const threshold = strategy.driftThreshold;
    const size = strategy.size.quantity;
    expect([threshold, size]).toEqual([0.01, 10]);

    rpc = await startFakeDriftRpc();
    const fake = rpc;
    const user = fake.addUser({ authority: TEST1_AUTHORITY, usdc: '10000' });
    // Mark 0.3 % over the oracle: the live estimate pays shorts about 0.013 % an hour, above the
    // example's entry rate (0.001 %).
    fake.setMarkPremium('SOL', 0.003);
    pacifica = new PacificaSimulator({
      accounts: [{ address: PACIFICA_HEDGE_ADDRESS, balance: 10_000 }],
      markets: [
        {
          symbol: 'SOL',
          tickSize: '0.01',
          lotSize: '0.01',
          maxLeverage: 20,
          minOrderSize: 10,
          price: 150,
          fundingRatePerHour: 0.0000125,
        },
      ],
      tickIntervalMs: 50,
      // No random walk: the test moves the hedge's price itself.
      volatility: 0,
    });
    const venue = pacifica;
    const venueFills: Fill[] = [];
    venue.sim.events.on('fill', (fill) => venueFills.push(fill));
    const { restUrl, wsUrl } = await venue.start();

    const directory = botDirectory(text);
    const db = path.join(directory, 'bot.db');
    const runner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        RUNNER_CLI,
        '--config',
        path.join(directory, 'bot.yaml'),
        '--live',
        '--db',
        db,
        '--http',
        '127.0.0.1:0',
      ],
      {
        cwd: PACKAGE,
        env: {
          PATH: process.env.PATH,
          DRIFT_RPC_URL: fake.url,
          DRIFT_SECRET_KEY: TEST1_SECRET_KEY,
          PACIFICA_REST_URL: restUrl,
          PACIFICA_WS_URL: wsUrl,
          PACIFICA_HEDGE_KEY,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = runner;
    let stderr = '';
    runner.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => runner.on('exit', (code) => resolve(code)));
    const logs = () =>
      stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; [key: string]: unknown });
    const tail = () => stderr.slice(-3000);

    const driftPosition = () => fake.user(user)?.perpPositions.find((position) => position.marketIndex === 0);
    const driftBase = () => driftPosition()?.baseAssetAmount.toString() ?? '0';
    const pacificaPosition = async () =>
      (await venue.sim.fetchPositions(PACIFICA_HEDGE_ADDRESS)).find((position) => position.symbol === 'SOL');
    let url = '';
    const engineView = async () => (await (await fetch(`${url}/api/state`)).json()) as EngineView;
    const leg = (view: EngineView, exchange: string) =>
      view.positions.find((position) => position.exchange === exchange && position.symbol === 'SOL');
    /** The engine's view once it holds these legs at this hedge mark. */
    const engineHolds = async (short: number, hedge: number, hedgeMark: number) => {
      const view = await engineView();
      return leg(view, 'drift')?.quantity === short &&
        leg(view, 'pacifica')?.quantity === hedge &&
        leg(view, 'pacifica')?.markPrice === hedgeMark
        ? view
        : undefined;
    };
    const views: Record<'opened' | 'expanded' | 'reduced' | 'final', EngineView | undefined> = {
      opened: undefined,
      expanded: undefined,
      reduced: undefined,
      final: undefined,
    };

    try {
      const listening = await waitUntil(
        () => logs().find((line) => line.msg === 'http server listening'),
        () => `the runner's http server\n${tail()}`,
      );
      url = listening.url as string;

      // 1. Entry, one group: 10 SOL short on Drift, 10 SOL long on Pacifica.
      await waitUntil(
        async () => driftBase() === '-10000000000' && (await pacificaPosition())?.quantity === 10,
        () => `the short and its hedge\n${tail()}`,
      );
      views.opened = await waitUntil(
        () => engineHolds(-10, 10, 150),
        () => 'the engine to see both legs',
      );

      // 2. An hour of funding at 0.01 %: the short accrues 10 × 150 × 0.0001 = 0.15 USDC.
      fake.updateFunding('SOL', '0.0001');
      await waitUntil(
        async () => (leg(await engineView(), 'drift')?.fundingAccrued ?? 0) > 0,
        () => 'the accrued funding',
      );

      // 3. The hedge's venue moves 4 % (basis): net long 10 × 156 − 10 × 150 = 60 USD, drift
      // 60 / 3060 = 1.96 % > 1 %: EXPAND_SHORT sells 60 / 150 = 0.4 SOL on Drift. The trade
      // settles the accrued funding into the short.
      venue.pauseMarket('SOL');
      venue.setPrice('SOL', 156);
      await waitUntil(
        () => driftBase() === '-10400000000',
        () => `the EXPAND_SHORT\n${tail()}`,
      );
      views.expanded = await waitUntil(
        () => engineHolds(-10.4, 10, 156),
        () => 'the engine to see the expanded short',
      );

      // 4. Another hour of funding on the larger short: 10.4 × 150 × 0.0001 = 0.156 USDC.
      fake.updateFunding('SOL', '0.0001');
      // 5. The basis closes at once: net short 60 USD, past the threshold again, but inside the
      // cooldown. The strategy records COOLDOWN and buys back only once the cooldown has passed.
      venue.setPrice('SOL', 150);
      await waitUntil(
        () => driftBase() === '-10000000000',
        () => `the REDUCE_SHORT\n${tail()}`,
      );
      views.reduced = await waitUntil(
        () => engineHolds(-10, 10, 150),
        () => 'the engine to see the reduced short',
      );
      // A few more evaluations: nothing else trades.
      await sleep(1_000);
      views.final = await engineView();
    } finally {
      runner.kill('SIGTERM');
    }
    expect(await exited, tail()).toBe(0);
    expect(stderr).toContain('"mode":"live"');
    expect(stderr).toContain('received SIGTERM');
    for (const secret of [TEST1_SECRET_KEY, PACIFICA_HEDGE_KEY]) expect(stderr).not.toContain(secret);

    // The net delta is within the threshold after the entry and after each completed rebalance
    // (1.96 % before each of them).
    const drifts = Object.fromEntries(
      Object.entries(views).map(([name, view]) => [name, engineDrift(view as EngineView)]),
    );
    for (const [name, drift] of Object.entries(drifts))
      expect(Math.abs(drift), name).toBeLessThanOrEqual(threshold);

    // Positions: the venues' own state, the engine's live view and the stored ledger agree.
    const final = views.final as EngineView;
    const drift = driftPosition();
    const driftQuantity = Number(drift?.baseAssetAmount.toString()) / 1e9;
    const driftEntry = Math.abs(Number(drift?.quoteEntryAmount.toString()) / 1e6 / driftQuantity);
    const hedge = await pacificaPosition();
    expect([driftQuantity, hedge?.quantity]).toEqual([-size, size]);
    expect(leg(final, 'drift')?.quantity).toBe(driftQuantity);
    expect(leg(final, 'drift')?.entryPrice).toBeCloseTo(driftEntry, 9);
    expect(leg(final, 'pacifica')?.quantity).toBe(hedge?.quantity);
    expect(leg(final, 'pacifica')?.entryPrice).toBeCloseTo(hedge?.entryPrice ?? 0, 9);
    // Drift's settled funding: 0.15 + 0.156 USDC received, in the account and in the engine.
    expect(fake.user(user)?.cumulativePerpFunding.toString()).toBe('306000');
    expect(leg(final, 'drift')?.fundingSettled).toBeCloseTo(0.306, 9);
    // Three Drift orders, one Pacifica fill, no order left resting.
    expect(fake.user(user)?.nextOrderId).toBe(4);
    expect(venueFills.map((fill) => [fill.side, fill.quantity])).toEqual([['buy', 10]]);
    expect(await venue.sim.fetchOpenOrders(PACIFICA_HEDGE_ADDRESS)).toEqual([]);

    const store = new SqliteStore({ path: db });
    try {
      const stored = store.query(
        "SELECT exchange, account, quantity, entry_price, funding_settled FROM positions WHERE symbol = 'SOL' ORDER BY exchange",
      ) as {
        exchange: string;
        account: string;
        quantity: number;
        entry_price: number;
        funding_settled: number;
      }[];
      expect(stored.map((row) => [row.exchange, row.account, row.quantity])).toEqual([
        ['drift', 'collector', driftQuantity],
        ['pacifica', 'hedge', hedge?.quantity],
      ]);
      expect(stored[0]?.entry_price).toBeCloseTo(driftEntry, 9);
      expect(stored[0]?.funding_settled).toBeCloseTo(0.306, 9);
      expect(stored[1]?.entry_price).toBeCloseTo(hedge?.entryPrice ?? 0, 9);

      // Fills: the Drift short's three trades and the Pacifica hedge, as the venues executed them.
      expect(
        store.query('SELECT exchange, account, side, quantity FROM fills ORDER BY exchange, seq'),
      ).toEqual([
        { exchange: 'drift', account: 'collector', side: 'sell', quantity: 10 },
        { exchange: 'drift', account: 'collector', side: 'sell', quantity: 0.4 },
        { exchange: 'drift', account: 'collector', side: 'buy', quantity: 0.4 },
        { exchange: 'pacifica', account: 'hedge', side: 'buy', quantity: 10 },
      ]);

      // Funding on the Drift short: each hour accrued, then settled into the position by the next
      // trade, with the position it was paid on.
      expect(
        store.query(
          "SELECT settled, amount, rate, position_quantity FROM funding WHERE exchange = 'drift' ORDER BY funding_time, settled",
        ),
      ).toEqual([
        { settled: 0, amount: 0.15, rate: 0.0001, position_quantity: -10 },
        { settled: 1, amount: 0.15, rate: 0.0001, position_quantity: -10 },
        { settled: 0, amount: 0.156, rate: 0.0001, position_quantity: -10.4 },
        { settled: 1, amount: 0.156, rate: 0.0001, position_quantity: -10.4 },
      ]);

      // The signals with their reasons: the entry as one group, then EXPAND_SHORT (net long) and
      // REDUCE_SHORT (net short), no sooner than the cooldown after it.
      const signals = (
        store.query(
          'SELECT at, strategy_id, intent, exchange, side, quantity, reasons FROM signals ORDER BY seq',
        ) as {
          at: number;
          strategy_id: string;
          intent: string;
          exchange: string;
          side: string | null;
          quantity: number;
          reasons: string;
        }[]
      ).map((signal) => ({ ...signal, reasons: JSON.parse(signal.reasons) as { code: string }[] }));
      expect(
        signals.map((signal) => [
          signal.strategy_id,
          signal.reasons.map((reason) => reason.code).join(','),
          signal.intent,
          signal.exchange,
          signal.side,
          signal.quantity,
        ]),
      ).toEqual([
        ['sol-funding', 'FUNDING_SHORT_OPEN', 'open', 'drift', 'sell', 10],
        ['sol-funding', 'HEDGE_OPEN', 'open', 'pacifica', 'buy', 10],
        ['sol-funding', 'EXPAND_SHORT', 'open', 'drift', 'sell', 0.4],
        ['sol-funding', 'REDUCE_SHORT', 'reduce', 'drift', null, 0.4],
      ]);
      // The cooldown runs on the strategy's clock: the cycle time each signal was created at
      // (`createdAt`), not the moment its record was written (`at`, later on a loaded machine).
      const created = (
        store.query(
          "SELECT json_extract(data, '$.createdAt') AS created FROM events WHERE type = 'signal' ORDER BY seq",
        ) as { created: number }[]
      ).map((row) => row.created);
      const [expandAt, reduceAt] = created.slice(2);
      const [expand, reduce] = signals.slice(2);
      expect((reduceAt ?? 0) - (expandAt ?? 0)).toBeGreaterThanOrEqual(COOLDOWN_MS);
      // What each rebalance saw: ±60 USD net, ±1.96 % drift (past the 1 % threshold).
      const features = store.query(
        "SELECT json_extract(data, '$.features.netDelta') AS net, json_extract(data, '$.features.drift') AS drift FROM events WHERE type = 'signal' AND json_extract(data, '$.features.drift') IS NOT NULL ORDER BY seq",
      ) as { net: number; drift: number }[];
      expect(features.map((row) => row.net)).toEqual([expect.closeTo(60, 9), expect.closeTo(-60, 9)]);
      expect(features.map((row) => row.drift)).toEqual([
        expect.closeTo(60 / 3060, 9),
        expect.closeTo(-60 / 3060, 9),
      ]);

      // Why the strategy did not trade: no funding rate yet at the first cycle, then the
      // REDUCE_SHORT deferred by the cooldown, between the two rebalances.
      const skips = (
        store.query(
          "SELECT at, data FROM plugin_records WHERE component = 'sol-funding' AND kind = 'skip'",
        ) as {
          at: number;
          data: string;
        }[]
      ).map((record) => ({
        at: record.at,
        ...(JSON.parse(record.data) as { code: string; message: string }),
      }));
      const cooldown = skips.filter((skip) => skip.code === 'COOLDOWN');
      expect(cooldown).toHaveLength(1);
      expect(cooldown[0]?.message).toMatch(/^REDUCE_SHORT of 0\.4 waits \d+ ms for the cooldown$/);
      expect(cooldown[0]?.at).toBeGreaterThan(expand?.at ?? 0);
      expect(cooldown[0]?.at).toBeLessThan(reduce?.at ?? 0);

      // Every order passed the example's exposure gate; the hedge and health monitors stayed quiet.
      expect(store.query("SELECT gate, action FROM risk_decisions WHERE action != 'allow'")).toEqual([]);
      expect(store.query('SELECT code FROM alerts')).toEqual([]);
      expect(store.query('SELECT stop_reason FROM runs')).toEqual([{ stop_reason: 'SIGTERM' }]);

      console.info(
        'drift delta-neutral e2e',
        JSON.stringify({
          positions: stored.map((row) => [row.exchange, row.quantity, row.entry_price]),
          funding: store.query(
            "SELECT settled, amount, position_quantity FROM funding WHERE exchange = 'drift' ORDER BY funding_time, settled",
          ),
          rebalances: signals.slice(2).map((signal) => [signal.reasons[0]?.code, signal.quantity]),
          cooldownSkip: cooldown[0]?.message,
          drifts,
        }),
      );
    } finally {
      store.close();
    }
  }, 120_000);
});
