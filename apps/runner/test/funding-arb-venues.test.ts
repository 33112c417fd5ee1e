import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Fill, FundingPayment } from '@perpkit/core';
import { lighterPublicKey } from '@perpkit/exchange-lighter';
import { LighterSimulator } from '@perpkit/exchange-lighter/sim';
import { X10Simulator } from '@perpkit/exchange-x10/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { builtinPlugins } from '../src/builtins';
import { loadPlugins, planComposition, searchDirsFor } from '../src/compose';
import { loadConfig } from '../src/config';
import { REPO } from './helpers';
import { count, type RunnerProcess, readDb, startRunner, waitUntil } from './process';

/*
 * The funding-arb strategy end to end, in live mode, through the built runner, against the Lighter
 * and Extended simulators on loopback: the real adapters sign every order (Schnorr for Lighter,
 * Stark for Extended), the simulators verify the signatures and fill the orders in `@perpkit/sim`,
 * and the runner's audit log must agree with the simulators' ledgers to the cent.
 *
 * Clocks. The runner, the adapters and both simulators run on the one real clock (the runner has
 * no other clock in live mode, and the venues check order expiries and auth-token deadlines against
 * theirs). Only the funding schedule is compressed: instead of settling on the hour, each simulator
 * settles the funding times this test schedules (`SimExchange.setFundingSeries`), a few seconds
 * apart, each with one real hourly rate. Every timestamp stays consistent; what the strategy sees
 * is "an hour of funding" every few seconds, and it books each settlement as the venue reports it.
 *
 * Rates. Neither venue's history is in ../shared/data, so each simulator replays a real hourly
 * series of an hourly venue: Lighter plays Hyperliquid's BTC rates from 2026-04-26 18:00 (small and
 * positive), Extended plays dYdX v3's BTC rates from 2022-11-09 20:00 (the FTX week: about −2 bps an
 * hour). The pairing is synthetic (different dates); each rate is real. The strategy goes long
 * Extended and short Lighter and collects about 1.3–2.8 bps of the notional per settlement.
 *
 * The flow. Entry: post-only makers on both legs; the Lighter one fills when the test moves the
 * Lighter mark through it, the Extended one rests until the maker window ends, is cancelled, and
 * an IOC completes that leg. The close is the strategy's own rule: take-profit at 2 bps of net PnL
 * after the estimated exit costs, which the collected funding reaches after a handful of
 * settlements; it closes with makers on both legs (they rest, are cancelled) and then IOCs. The
 * test schedules one settlement at a time, only after the runner has booked the previous one on
 * both venues and the pair has not started closing; a settlement that still meets the close finds
 * the legs held while the close makers rest, so every payment lands on a leg the runner holds.
 *
 * PERPKIT_E2E_SUMMARY=1 prints the venues' ledgers, fills, payments and the pair's money;
 * PERPKIT_E2E_STDERR=<file> keeps the runner's log.
 */

// Published test vectors, never real keys.
/** elliottech/poseidon_crypto's Schnorr test scalar sks[0] as a 40-byte Lighter API key. */
const LIGHTER_TEST_KEY_POSEIDON_CRYPTO_SKS0 =
  '4980df1a5a76cba9fef4d80446e951108e16a5b21f497976475c950bd2588c5a58771d5b06498d28';
/** The x10xchange python_sdk's test account (tests/fixtures): vault and Stark key pair. */
const EXTENDED_TEST_ACCOUNT_PYTHON_SDK = {
  vault: 10002,
  starkPrivateKey: '0x7a7ff6fd3cab02ccdcd4a572563f5976f8976899b03a39773795a3c486d4986',
  starkPublicKey: '0x61c5e7e8339b7d56f197f54ea91b776776690e3232313de0f2ecbd0ef76f466',
};
const EXTENDED_TEST_API_KEY = 'test-api-key-not-secret';

const LIGHTER_ACCOUNT = 7;
const LIGHTER_SYMBOL = 'BTC';
const EXTENDED_SYMBOL = 'BTC-USD';
const DATA = path.join(REPO, '../shared/data');
const FAR = () => Date.now() + 30 * 24 * 3_600_000;
const MAX_SETTLEMENTS = 14;

/** Hyperliquid's hourly BTC funding (fraction per hour), oldest first. */
function hyperliquidBtcRates(): number[] {
  return readFileSync(path.join(DATA, 'rishisidhu-hyperliquid-funding/funding_history.csv'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('BTC,'))
    .map((line) => Number(line.split(',')[2]));
}

/** dYdX v3's hourly BTC funding (fraction per hour, `Date` in UTC) from `from` on. */
function dydxBtcRates(from: string): number[] {
  const lines = readFileSync(
    path.join(DATA, 'supervik-historical-funding/BTC-USDT_dydx_2022-01-01_2024-01-01_funding_history.csv'),
    'utf8',
  ).split('\n');
  const start = lines.findIndex((line) => line.includes(`,${from},`));
  return lines.slice(start).map((line) => Number(line.split(',')[2]));
}

/** Binance BTCUSDT's 1h open at `openTime`: the price both venues start at. */
function binanceOpen(openTime: number): number {
  const line = readFileSync(path.join(DATA, 'gg-cmk-binance-quant/BTCUSDT-1h-futures.csv'), 'utf8')
    .split('\n')
    .find((row) => row.startsWith(`${openTime},`));
  return Number(line?.split(',')[1]);
}

const EXAMPLE = 'examples/funding-arb.lighter-extended.yaml';

/**
 * The example config pointed at the simulators, as its header says: their URLs, the Extended
 * simulator's chain (testnet), the simulated accounts; and, because an hour of funding settles every
 * few seconds here, the options measured in hours or minutes shortened to match. Everything else
 * (plugins, secrets through `${NAME}`, markets, the exit stack) is the example's.
 */
function configFromExample(
  lighterUrls: { baseUrl: string; streamUrl: string },
  extended: X10Simulator,
): string {
  const config = parse(readFileSync(path.join(REPO, EXAMPLE), 'utf8'));
  config.engine = { cycleInterval: '250ms', accountRefresh: '1s' };
  const lighterOptions = config.exchanges.lighter.options;
  Object.assign(lighterOptions, { ...lighterUrls, accountRefreshMs: 1_000 });
  lighterOptions.accounts[0].index = LIGHTER_ACCOUNT;
  Object.assign(config.exchanges.extended.options, {
    network: 'testnet',
    restUrl: extended.restUrl,
    streamUrl: extended.streamUrl,
    fundingPollMs: 250,
  });
  const strategy = config.strategies[0].options;
  Object.assign(strategy.entry, { maxNotional: 20_000, lookbackHours: 1, minSamples: 1, minNetEvBps: 2 });
  // Makers rest 6 s: long enough for a settlement scheduled just before a close to be booked while
  // the close makers still rest (the position is still held), short enough for a quick test.
  Object.assign(strategy.execution, { makerTimeout: '6s', iocSlippageBps: 20 });
  // Exits on money only: the hourly-sample rules (velocity, z-score, funding flip) need hours of
  // real time, and take-profit is the close this test waits for.
  strategy.exits = { minHold: 0, takeProfit: { netPnlBps: 2 } };
  config.shutdown.timeout = '20s';
  return stringify(config);
}

type Line = { msg: string; pair?: string; code?: string; layer?: number };

interface OrderTotal {
  side: string;
  liquidity: string;
  quantity: number;
  notional: number;
  fee: number;
}

/** Fills summed per order (a venue report may cover several executions), in a stable order. */
function perOrder(
  fills: readonly {
    orderId: string;
    side: string;
    liquidity: string;
    quantity: number;
    price: number;
    fee: number;
  }[],
) {
  const orders = new Map<string, OrderTotal>();
  for (const fill of fills) {
    const total = orders.get(fill.orderId) ?? {
      side: fill.side,
      liquidity: fill.liquidity,
      quantity: 0,
      notional: 0,
      fee: 0,
    };
    total.quantity += fill.quantity;
    total.notional += fill.quantity * fill.price;
    total.fee += fill.fee;
    orders.set(fill.orderId, total);
  }
  return [...orders.values()]
    .map((order) => ({ ...order, vwap: order.notional / order.quantity }))
    .sort((a, b) => a.side.localeCompare(b.side) || a.quantity - b.quantity || a.vwap - b.vwap);
}

describe('the Lighter + Extended funding-arb example', () => {
  it('resolves both venue plugins and the strategy, and its options validate (secrets from the environment)', async () => {
    const file = path.join(REPO, EXAMPLE);
    const loaded = loadConfig(file, {
      LIGHTER_API_PRIVATE_KEY: LIGHTER_TEST_KEY_POSEIDON_CRYPTO_SKS0,
      EXTENDED_API_KEY: EXTENDED_TEST_API_KEY,
      EXTENDED_STARK_PRIVATE_KEY: EXTENDED_TEST_ACCOUNT_PYTHON_SDK.starkPrivateKey,
      EXTENDED_VAULT: String(EXTENDED_TEST_ACCOUNT_PYTHON_SDK.vault),
    });
    expect(loaded.config.live).toBe(true);
    // The keys came from the environment: they are secrets, never part of the config hash.
    expect(loaded.secretPaths).toEqual(
      expect.arrayContaining([
        'exchanges.lighter.options.accounts[0].apiKeys[0].privateKey',
        'exchanges.extended.options.accounts[0].starkPrivateKey',
      ]),
    );
    const plugins = await loadPlugins(loaded.config.plugins, {
      builtins: builtinPlugins(),
      searchDirs: searchDirsFor(file, REPO),
    });
    const plan = await planComposition(loaded, plugins);
    expect(plan.exchanges.map((exchange) => exchange.id)).toEqual(['lighter', 'extended']);
    expect(plan.strategies.map((strategy) => strategy.id)).toEqual(['funding-arb']);
    // Without its secrets the example does not start: the missing variables are named.
    expect(() => loadConfig(file, {})).toThrow(/LIGHTER_API_PRIVATE_KEY/);
  });
});

describe('funding-arb live through the runner against the Lighter and Extended simulators', () => {
  let lighter: LighterSimulator;
  let extended: X10Simulator;
  let runner: RunnerProcess | undefined;
  let db = '';
  let ticking: ReturnType<typeof setInterval> | undefined;
  const simFills: { lighter: Fill[]; extended: Fill[] } = { lighter: [], extended: [] };
  const simFunding: { lighter: FundingPayment[]; extended: FundingPayment[] } = { lighter: [], extended: [] };
  const lighterRates = hyperliquidBtcRates().slice(0, MAX_SETTLEMENTS + 1);
  const extendedRates = dydxBtcRates('2022-11-09 20:00:00').slice(0, MAX_SETTLEMENTS + 1);
  const price = binanceOpen(Date.UTC(2026, 3, 26, 18));

  /** The next settlement is `k`: both venues show its rate as the predicted one until it settles. */
  function schedule(k: number, at: number): void {
    lighter.exchange.setFundingSeries(LIGHTER_SYMBOL, [
      ...(Number.isFinite(at) ? [{ time: at, rate: lighterRates[k] as number }] : []),
      { time: FAR(), rate: lighterRates[Number.isFinite(at) ? k + 1 : k] as number },
    ]);
    extended.sim.setFundingSeries(EXTENDED_SYMBOL, [
      ...(Number.isFinite(at) ? [{ time: at, rate: extendedRates[k] as number }] : []),
      { time: FAR(), rate: extendedRates[Number.isFinite(at) ? k + 1 : k] as number },
    ]);
  }

  beforeAll(async () => {
    expect(price).toBeGreaterThan(10_000);
    lighter = new LighterSimulator({
      markets: [
        {
          index: 1,
          symbol: LIGHTER_SYMBOL,
          priceDecimals: 1,
          sizeDecimals: 5,
          minBaseAmount: '0.00020',
          minQuoteAmount: '10',
          minInitialMarginFraction: 200,
          maintenanceMarginFraction: 120,
          mark: price,
        },
      ],
      accounts: [
        {
          index: LIGHTER_ACCOUNT,
          balance: 100_000,
          apiKeys: [{ index: 4, publicKey: lighterPublicKey(LIGHTER_TEST_KEY_POSEIDON_CRYPTO_SKS0) }],
        },
      ],
      // Takers fill at the mark, makers at their limit: every price is on the tick.
      slippage: 0,
    });
    extended = await X10Simulator.start({
      markets: [
        {
          name: EXTENDED_SYMBOL,
          tickSize: '0.1',
          lotSize: '0.0001',
          minOrderSize: '0.001',
          syntheticId: '0x4254432d3600000000000000000000',
          syntheticResolution: 1_000_000,
          collateralId: '0x31857064564ed0ff978e687456963cba09c2c6985d8f9300a1de4962fafa054',
          price,
          maxLeverage: 50,
        },
      ],
      accounts: [
        {
          apiKey: EXTENDED_TEST_API_KEY,
          vault: EXTENDED_TEST_ACCOUNT_PYTHON_SDK.vault,
          starkPublicKey: EXTENDED_TEST_ACCOUNT_PYTHON_SDK.starkPublicKey,
          balance: 100_000,
        },
      ],
      // 0.5 BTC per level, ten levels a dollar apart: the whole pair fits in the first level.
      levelLots: 5_000,
    });
    lighter.exchange.events.on('fill', (fill) => simFills.lighter.push(fill));
    extended.sim.events.on('fill', (fill) => simFills.extended.push(fill));
    lighter.exchange.events.on('funding', (payment) => simFunding.lighter.push(payment));
    extended.sim.events.on('funding', (payment) => simFunding.extended.push(payment));
    // No settlement until the test schedules one; both venues predict their first real rate.
    schedule(0, Number.POSITIVE_INFINITY);
    const urls = await lighter.start();
    // The venues' clocks run: marks restated, due settlements applied, stats streamed.
    ticking = setInterval(() => {
      lighter.advanceTo(Date.now());
      extended.sim.advanceTime();
    }, 100);
    const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-arb-venues-'));
    const file = path.join(directory, 'arb.yaml');
    writeFileSync(file, configFromExample(urls, extended));
    db = path.join(directory, 'arb.db');
    runner = startRunner(['--config', file, '--live', '--db', db], {
      LIGHTER_API_PRIVATE_KEY: LIGHTER_TEST_KEY_POSEIDON_CRYPTO_SKS0,
      EXTENDED_API_KEY: EXTENDED_TEST_API_KEY,
      EXTENDED_STARK_PRIVATE_KEY: EXTENDED_TEST_ACCOUNT_PYTHON_SDK.starkPrivateKey,
      EXTENDED_VAULT: String(EXTENDED_TEST_ACCOUNT_PYTHON_SDK.vault),
    });
  });

  afterAll(async () => {
    if (process.env.PERPKIT_E2E_STDERR) writeFileSync(process.env.PERPKIT_E2E_STDERR, runner?.stderr() ?? '');
    if (ticking) clearInterval(ticking);
    if (runner && runner.child.exitCode === null) {
      runner.child.kill('SIGKILL');
      await runner.exited();
    }
    await lighter?.close();
    await extended?.close();
  });

  it('opens a pair, collects funding over several settlements, closes it, and its books match the venues', async () => {
    const run = runner as RunnerProcess;
    const logs = () => run.logs() as Line[];
    /** Polls `probe`; fails at once if the runner died, with its last words. */
    const until = <T>(probe: () => T | undefined | false, timeoutMs: number, what: string) =>
      waitUntil(
        () => {
          if (run.child.exitCode !== null)
            throw new Error(
              `the runner exited (${run.child.exitCode}) waiting for ${what}:\n${run.stderr().slice(-4_000)}`,
            );
          return probe();
        },
        timeoutMs,
        `${what}\n${run.stderr().slice(-4_000)}`,
      );
    const log = (message: string, timeoutMs: number) =>
      until(() => logs().find((line) => line.msg === message), timeoutMs, `log "${message}"`);
    const opening = await log('pair opening', 60_000);

    // The Lighter maker (a post-only sell at the ask) fills when the mark moves through it; the
    // Extended maker rests until the maker timeout, and an IOC completes that leg.
    for (const deadline = Date.now() + 10_000; ; ) {
      if ((await lighter.exchange.fetchOpenOrders(String(LIGHTER_ACCOUNT))).length > 0) break;
      if (Date.now() > deadline) throw new Error('the Lighter entry maker never rested');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    lighter.setMark(LIGHTER_SYMBOL, price + 0.3);
    const opened = await log('pair open', 30_000);
    expect(opened.pair).toBe(opening.pair);

    let settled = 0;
    for (; settled < MAX_SETTLEMENTS; settled += 1) {
      if (logs().some((line) => line.msg === 'pair exit')) break;
      const at = Math.ceil((Date.now() + 1_000) / 1_000) * 1_000;
      schedule(settled, at);
      const booked = settled + 1;
      await until(
        () =>
          count(db, 'funding', "exchange = 'lighter'") >= booked &&
          count(db, 'funding', "exchange = 'extended'") >= booked,
        15_000,
        `settlement ${booked} booked by the runner on both venues`,
      );
      // A few cycles for the exit rules to see the new money before the next settlement.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    const exit = logs().find((line) => line.msg === 'pair exit');
    expect(exit).toMatchObject({ pair: opened.pair, code: 'TAKE_PROFIT', layer: 3 });
    expect(settled).toBeGreaterThanOrEqual(3);
    await log('pair closed', 60_000);

    run.child.kill('SIGTERM');
    expect(await run.exited()).toBe(0);
    // A clean run: no warning and no error from any component, and no secret in the output.
    const levels = run.logs() as { level?: string; msg: string }[];
    expect(levels.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
    expect(run.stderr()).not.toContain(LIGHTER_TEST_KEY_POSEIDON_CRYPTO_SKS0);
    expect(run.stderr()).not.toContain(EXTENDED_TEST_ACCOUNT_PYTHON_SDK.starkPrivateKey);
    const stored = readDb(db, (database) =>
      database
        .prepare('SELECT config FROM runs')
        .all()
        .map((row) => (row as { config: string }).config),
    );
    // The run's config is stored as written: the references, never the keys.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a config's ${NAME} reference, written literally
    expect(stored.join('\n')).toContain('${LIGHTER_API_PRIVATE_KEY}');
    expect(stored.join('\n')).not.toContain(LIGHTER_TEST_KEY_POSEIDON_CRYPTO_SKS0);

    // ---------------------------------------------------------------- the venues' side
    const venues = {
      lighter: { account: String(LIGHTER_ACCOUNT), sim: lighter.exchange, symbol: LIGHTER_SYMBOL },
      extended: {
        account: String(EXTENDED_TEST_ACCOUNT_PYTHON_SDK.vault),
        sim: extended.sim,
        symbol: EXTENDED_SYMBOL,
      },
    } as const;
    for (const venue of Object.values(venues)) {
      const snapshot = await venue.sim.fetchAccount(venue.account);
      expect(snapshot.positions.filter((position) => position.quantity !== 0)).toEqual([]);
      expect(await venue.sim.fetchOpenOrders(venue.account)).toEqual([]);
    }
    expect(simFunding.lighter).toHaveLength(settled);
    expect(simFunding.extended).toHaveLength(settled);

    readDb(db, (database) => {
      for (const [exchange, venue] of Object.entries(venues) as [
        keyof typeof venues,
        (typeof venues)[keyof typeof venues],
      ][]) {
        const totals = venue.sim.totals(venue.account);
        // Fills: the runner's audit log against the simulator's own executions, order by order.
        const fills = database
          .prepare(
            'SELECT order_id AS orderId, side, liquidity, quantity, price, fee FROM fills WHERE exchange = ?',
          )
          .all(exchange) as Parameters<typeof perOrder>[0][number][];
        const ours = perOrder(fills);
        const theirs = perOrder(simFills[exchange]);
        // One entry and one exit per leg (an entry filled twice would show a third order), and the
        // flow: Lighter entered with its maker, Extended with the IOC after its maker was cancelled;
        // both closed by IOC after their close makers were cancelled.
        expect(theirs.map((order) => `${order.side} ${order.liquidity}`)).toEqual(
          exchange === 'lighter' ? ['buy taker', 'sell maker'] : ['buy taker', 'sell taker'],
        );
        expect(ours.length).toBe(theirs.length);
        ours.forEach((order, index) => {
          const venueOrder = theirs[index] as (typeof theirs)[number];
          expect(order.side).toBe(venueOrder.side);
          expect(order.liquidity).toBe(venueOrder.liquidity);
          expect(order.quantity).toBeCloseTo(venueOrder.quantity, 9);
          expect(order.vwap).toBeCloseTo(venueOrder.vwap, 6);
          expect(order.fee).toBeCloseTo(venueOrder.fee, 8);
        });

        // Funding: every settlement once, the amounts the venue credited.
        const funding = database
          .prepare(
            'SELECT funding_time AS time, amount FROM funding WHERE exchange = ? AND settled = 1 ORDER BY funding_time',
          )
          .all(exchange) as { time: number; amount: number }[];
        expect(funding.map((row) => row.time)).toEqual(
          simFunding[exchange].map((payment) => payment.fundingTime),
        );
        funding.forEach((row, index) => {
          expect(row.amount).toBeCloseTo((simFunding[exchange][index] as FundingPayment).amount, 6);
        });

        // The closed trade of each leg: price PnL, fees and funding as the venue's ledger has them.
        const trades = database
          .prepare(
            'SELECT price_pnl AS pricePnl, fees, funding, net_pnl AS netPnl FROM trades WHERE exchange = ?',
          )
          .all(exchange) as { pricePnl: number; fees: number; funding: number; netPnl: number }[];
        expect(trades).toHaveLength(1);
        const trade = trades[0] as (typeof trades)[number];
        expect(Math.abs(trade.pricePnl - totals.realizedPnl)).toBeLessThan(0.01);
        expect(Math.abs(trade.fees - totals.fees)).toBeLessThan(0.01);
        expect(Math.abs(trade.funding - totals.funding)).toBeLessThan(0.01);
        expect(totals.funding).not.toBe(0);

        const position = database
          .prepare('SELECT quantity FROM positions WHERE exchange = ?')
          .get(exchange) as { quantity: number };
        expect(position.quantity).toBe(0);
      }

      // The strategy's pair book: each leg's money equals its venue's ledger.
      const book = database
        .prepare("SELECT value FROM memory WHERE component = 'funding-arb' AND key = 'book'")
        .get() as { value: string };
      const saved = JSON.parse(book.value) as {
        pairs: unknown[];
        history: {
          id: string;
          status: string;
          long: { exchange: string };
          short: { exchange: string };
          exit?: { code: string };
          result: {
            pnl: {
              long: { pricePnl: number; fees: number; fundingCollected: number; fundingAccrued: number };
              short: { pricePnl: number; fees: number; fundingCollected: number; fundingAccrued: number };
              pricePnl: number;
              fundingCollected: number;
              fundingAccrued: number;
              totalPnl: number;
              fees: number;
              netPnl: number;
            };
          };
        }[];
      };
      expect(saved.pairs).toEqual([]);
      const pair = saved.history.find((entry) => entry.id === opened.pair);
      expect(pair).toMatchObject({
        status: 'CLOSED',
        long: { exchange: 'extended' },
        short: { exchange: 'lighter' },
        exit: { code: 'TAKE_PROFIT' },
      });
      const pnl = pair?.result.pnl as NonNullable<typeof pair>['result']['pnl'];
      for (const [leg, exchange] of [
        ['long', 'extended'],
        ['short', 'lighter'],
      ] as const) {
        const venue = venues[exchange];
        const totals = venue.sim.totals(venue.account);
        expect(Math.abs(pnl[leg].pricePnl - totals.realizedPnl)).toBeLessThan(0.01);
        expect(Math.abs(pnl[leg].fees - totals.fees)).toBeLessThan(0.01);
        expect(Math.abs(pnl[leg].fundingCollected - totals.funding)).toBeLessThan(0.01);
        expect(pnl[leg].fundingAccrued).toBe(0);
      }
      expect(pnl.totalPnl).toBeCloseTo(pnl.pricePnl + pnl.fundingCollected + pnl.fundingAccrued, 9);
      expect(pnl.netPnl).toBeCloseTo(pnl.totalPnl - pnl.fees, 9);
      if (process.env.PERPKIT_E2E_SUMMARY)
        process.stdout.write(
          `${JSON.stringify(
            {
              settled,
              venues: Object.fromEntries(
                Object.entries(venues).map(([name, venue]) => [name, venue.sim.totals(venue.account)]),
              ),
              runnerTrades: database
                .prepare('SELECT exchange, price_pnl, fees, funding, net_pnl FROM trades')
                .all(),
              runnerFills: database
                .prepare('SELECT exchange, side, liquidity, quantity, price, fee FROM fills ORDER BY at')
                .all(),
              fills: simFills,
              funding: simFunding,
              pnl,
            },
            null,
            2,
          )}\n`,
        );
    });
  }, 240_000);
});
