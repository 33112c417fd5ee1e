import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Fill } from '@perpkit/core';
import { publicKeyOf } from '@perpkit/exchange-pacifica';
import { PacificaSimulator } from '@perpkit/exchange-pacifica/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { count, readDb, startRunner, waitUntil } from './process';

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

/** Base58 (Bitcoin alphabet), for handing the test seeds to the runner as Pacifica keys are written. */
function base58(bytes: Uint8Array): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let value = 0n;
  for (const byte of bytes) value = value * 256n + BigInt(byte);
  let text = '';
  while (value > 0n) {
    text = alphabet[Number(value % 58n)] + text;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    text = `1${text}`;
  }
  return text;
}

/** Published test vectors only: the ed25519 secret seeds of RFC 8032 section 7.1, TEST 1 and TEST 2. */
const RFC8032_TEST1_SEED = base58(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
const RFC8032_TEST2_SEED = base58(hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'));
const PRIMARY = publicKeyOf(RFC8032_TEST1_SEED);
const SECONDARY = publicKeyOf(RFC8032_TEST2_SEED);
const ACCOUNT_OF: Record<string, string> = { [PRIMARY]: 'primary', [SECONDARY]: 'secondary' };

let simulator: PacificaSimulator | undefined;
afterEach(async () => {
  await simulator?.stop();
  simulator = undefined;
});

describe('end to end: the runner trades the paired delta-neutral strategy live against the Pacifica simulator', () => {
  it('orders, fills and positions agree between the runner and the venue, for both accounts', async () => {
    simulator = new PacificaSimulator({
      accounts: [
        { address: PRIMARY, balance: 50_000 },
        { address: SECONDARY, balance: 50_000 },
      ],
      markets: [{ symbol: 'BTC', tickSize: '1', lotSize: '0.00001', price: 100_000 }],
      tickIntervalMs: 50,
      volatility: 0.0001,
    });
    // The venue's own ledger: every fill it executed, by account.
    const venueFills: Fill[] = [];
    simulator.sim.events.on('fill', (fill) => venueFills.push(fill));
    const { restUrl, wsUrl } = await simulator.start();

    const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-pacifica-e2e-'));
    const config = path.join(directory, 'bot.yaml');
    writeFileSync(
      config,
      `live: true
engine: { cycleInterval: 200ms }
exchanges:
  pacifica:
    plugin: pacifica
    options:
      baseUrl: ${restUrl}
      wsUrl: ${wsUrl}
      accounts:
        - { id: primary, secretKey: "\${PACIFICA_TEST_PRIMARY_KEY}" }
        - { id: secondary, secretKey: "\${PACIFICA_TEST_SECONDARY_KEY}" }
strategies:
  - plugin: delta-neutral
    options:
      mode: paired
      exchange: pacifica
      symbol: BTC
      accounts: [primary, secondary]
      legNotional: 2000
      interval: 500ms
      holdTime: 2s
      unwind: flip
      book: { maxSpread: 0.001, maxAge: 5s }
monitors:
  - plugin: hedge
    options:
      pairs:
        - name: btc-pair
          legs:
            - { exchange: pacifica, symbol: BTC, account: primary }
            - { exchange: pacifica, symbol: BTC, account: secondary }
      grace: 5s
http: { controlToken: "\${PERPKIT_CONTROL_TOKEN}" }
shutdown: { cancelOpenOrders: true, closePositions: false, timeout: 10s }
`,
    );
    const db = path.join(directory, 'bot.db');
    const control = 'e2e-control-token-0123456789';
    const runner = startRunner(['--config', config, '--live', '--db', db, '--http', '127.0.0.1:0'], {
      PACIFICA_TEST_PRIMARY_KEY: RFC8032_TEST1_SEED,
      PACIFICA_TEST_SECONDARY_KEY: RFC8032_TEST2_SEED,
      PERPKIT_CONTROL_TOKEN: control,
    });
    type EngineView = {
      positions: { account: string; symbol: string; quantity: number; entryPrice: number }[];
    };
    let engineView: EngineView = { positions: [] };
    try {
      const url = (await runner.waitForLog('http server listening', 30_000)).url as string;
      // An open and at least two flips: six fills or more on each account.
      await waitUntil(
        () =>
          count(db, 'fills', "account = 'primary'") >= 6 && count(db, 'fills', "account = 'secondary'") >= 6,
        60_000,
        `six fills on each account\n${runner.stderr().slice(-3000)}`,
      );
      // Pause the strategy, then let what is in flight land: the runner has recorded every fill
      // the venue executed.
      const paused = await fetch(`${url}/api/control`, {
        method: 'POST',
        headers: { authorization: `Bearer ${control}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'pause', reason: 'e2e comparison' }),
      });
      expect(paused.status).toBe(200);
      await waitUntil(
        () => count(db, 'fills') === venueFills.length,
        10_000,
        'the runner to record every venue fill',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(count(db, 'fills')).toBe(venueFills.length);
      engineView = (await (await fetch(`${url}/api/state`)).json()) as EngineView;
    } finally {
      runner.child.kill('SIGTERM');
    }
    expect(await runner.exited()).toBe(0);
    expect(runner.stderr()).toContain('"mode":"live"');
    // Secrets never reach the logs.
    expect(runner.stderr()).not.toContain(RFC8032_TEST1_SEED);

    const runnerView = readDb(db, (database) => ({
      fills: database
        .prepare('SELECT account, order_id, side, quantity, price, fee FROM fills ORDER BY seq')
        .all() as {
        account: string;
        order_id: string;
        side: string;
        quantity: number;
        price: number;
        fee: number;
      }[],
      orders: database.prepare('SELECT account, order_id, status, filled_quantity FROM orders').all() as {
        account: string;
        order_id: string;
        status: string;
        filled_quantity: number;
      }[],
      positions: database
        .prepare("SELECT account, quantity, entry_price FROM positions WHERE exchange = 'pacifica'")
        .all() as {
        account: string;
        quantity: number;
        entry_price: number;
      }[],
    }));

    for (const [address, account] of Object.entries(ACCOUNT_OF)) {
      // Fills: the same count, quantities, prices and fees on both sides.
      const ours = runnerView.fills.filter((fill) => fill.account === account);
      const theirs = venueFills.filter((fill) => fill.account === address);
      expect(ours.length).toBeGreaterThanOrEqual(6);
      expect(ours.length).toBe(theirs.length);
      const summary = (rows: { side: string; quantity: number; price: number; fee: number }[]) => ({
        bought: rows.filter((row) => row.side === 'buy').reduce((sum, row) => sum + row.quantity, 0),
        sold: rows.filter((row) => row.side === 'sell').reduce((sum, row) => sum + row.quantity, 0),
        notional: rows.reduce((sum, row) => sum + row.quantity * row.price, 0),
        fees: rows.reduce((sum, row) => sum + row.fee, 0),
      });
      const mine = summary(ours);
      const venue = summary(theirs);
      expect(mine.bought).toBeCloseTo(venue.bought, 9);
      expect(mine.sold).toBeCloseTo(venue.sold, 9);
      expect(mine.notional).toBeCloseTo(venue.notional, 4);
      expect(mine.fees).toBeCloseTo(venue.fees, 6);

      // Orders: every order the runner recorded has ended, and the venue holds none open.
      const orders = runnerView.orders.filter((order) => order.account === account);
      expect(orders.length).toBeGreaterThanOrEqual(3);
      for (const order of orders) expect(['filled', 'cancelled', 'expired']).toContain(order.status);
      expect(await simulator.sim.fetchOpenOrders(address)).toEqual([]);
      const filledOrders = new Set(ours.map((fill) => fill.order_id));
      expect(orders.filter((order) => order.filled_quantity > 0).length).toBe(filledOrders.size);

      // Positions: the engine's live view (before the shutdown) and the stored ledger equal the venue's.
      const venuePosition = (await simulator.sim.fetchPositions(address)).find(
        (position) => position.symbol === 'BTC',
      );
      const ledger = runnerView.positions.find((position) => position.account === account);
      const live = engineView.positions.find(
        (position) => position.account === account && position.symbol === 'BTC',
      );
      expect(ledger?.quantity ?? 0).toBeCloseTo(venuePosition?.quantity ?? 0, 9);
      expect(live?.quantity ?? 0).toBeCloseTo(venuePosition?.quantity ?? 0, 9);
      if (venuePosition) {
        expect(ledger?.entry_price).toBeCloseTo(venuePosition.entryPrice, 4);
        expect(live?.entryPrice).toBeCloseTo(venuePosition.entryPrice, 4);
      }
    }
    console.info(
      'pacifica e2e',
      JSON.stringify({
        fills: Object.values(ACCOUNT_OF).map(
          (account) => runnerView.fills.filter((fill) => fill.account === account).length,
        ),
        orders: runnerView.orders.length,
        positions: runnerView.positions.map((position) => [position.account, position.quantity]),
      }),
    );
    // And the pair is hedged at the venue: equal and opposite.
    const [primaryPosition, secondaryPosition] = await Promise.all(
      [PRIMARY, SECONDARY].map(
        async (address) => (await simulator?.sim.fetchPositions(address))?.[0]?.quantity ?? 0,
      ),
    );
    expect(primaryPosition).not.toBe(0);
    expect((primaryPosition ?? 0) + (secondaryPosition ?? 0)).toBeCloseTo(0, 9);
  }, 120_000);
});
