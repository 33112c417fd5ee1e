import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '@perpkit/runner';
import { SqliteStore } from '@perpkit/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeDriftRpc, startFakeDriftRpc } from '../src/fake-rpc';
import { TEST1_AUTHORITY, TEST1_SECRET_KEY } from './helpers';

const PACKAGE = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

let rpc: FakeDriftRpc | undefined;
afterEach(async () => {
  await rpc?.stop();
  rpc = undefined;
});

/**
 * A bot directory as a user would have it: the config, and `@perpkit/exchange-drift` installed
 * next to it, so `plugin: drift` resolves by name. The installed package's entry is this
 * package's source (not a build that could be stale).
 */
function botDirectory(config: string): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-drift-bot-'));
  const installed = path.join(directory, 'node_modules', '@perpkit', 'exchange-drift');
  mkdirSync(installed, { recursive: true });
  writeFileSync(
    path.join(installed, 'package.json'),
    JSON.stringify({
      name: '@perpkit/exchange-drift',
      type: 'module',
      exports: { '.': { import: path.join(PACKAGE, 'src', 'index.ts') } },
    }),
  );
  writeFileSync(path.join(directory, 'bot.yaml'), config);
  return directory;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the runner trades on Drift through the adapter (live mode, fake RPC)', () => {
  it('a funding-collection strategy opens a short while funding pays shorts, collects funding, and closes when it stops', async () => {
    rpc = await startFakeDriftRpc();
    const fake = rpc;
    const user = fake.addUser({ authority: TEST1_AUTHORITY, usdc: '5000' });
    // Mark 0.3 % over the oracle: the live estimate pays shorts about 0.013 % an hour.
    fake.setMarkPremium('SOL', 0.003);
    const directory = botDirectory(`plugins: ['${FIXTURES}funding-collector.mjs']
live: true
engine: { cycleInterval: 100ms }
exchanges:
  drift:
    plugin: drift
    options:
      rpcUrl: \${DRIFT_RPC_URL}
      secretKey: \${DRIFT_SECRET_KEY}
      pollIntervalMs: 100
      confirmTimeoutMs: 2000
      statusPollMs: 20
strategies:
  - plugin: funding-collector
    options: { exchange: drift, symbol: SOL, quantity: 2, enterRatePerHour: 0.0001, exitRatePerHour: 0 }
monitors:
  - plugin: health
shutdown: { cancelOpenOrders: true, closePositions: false, timeout: 10s }
`);
    const base = () =>
      fake
        .user(user)
        ?.perpPositions.find((position) => position.marketIndex === 0)
        ?.baseAssetAmount.toString() ?? '0';
    const seen: string[] = [];
    let stderr = '';
    const code = await main(
      [
        '--config',
        path.join(directory, 'bot.yaml'),
        '--live',
        '--db',
        path.join(directory, 'bot.db'),
        '--log-level',
        'info',
      ],
      {
        stdout: { write: () => undefined },
        stderr: { write: (text: string) => (stderr += text) },
        env: { DRIFT_RPC_URL: fake.url, DRIFT_SECRET_KEY: TEST1_SECRET_KEY },
        cwd: directory,
        onSignal(listener) {
          void (async () => {
            const until = async (predicate: () => boolean, what: string) => {
              for (let waited = 0; !predicate(); waited += 50) {
                if (waited > 20_000) throw new Error(`timed out waiting for ${what}`);
                await sleep(50);
              }
            };
            try {
              await until(() => base() === '-2000000000', 'the short');
              seen.push('short');
              // An hour of funding at 0.01 %: the short receives 2 × 150 × 0.0001 = 0.03 USDC.
              fake.updateFunding('SOL', '0.0001');
              // A few polls (100 ms each) pass with the funding accrued before it turns.
              await sleep(1_000);
              seen.push('funding');
              // Funding turns: shorts would pay. The strategy closes.
              fake.setMarkPremium('SOL', -0.003);
              await until(() => base() === '0', 'the close');
              seen.push('closed');
            } finally {
              listener('SIGINT');
            }
          })();
          return () => undefined;
        },
      },
    );
    expect(code, stderr).toBe(0);
    expect(seen).toEqual(['short', 'funding', 'closed']);
    // The close settled the position's funding into it: 0.03 USDC received.
    expect(fake.user(user)?.cumulativePerpFunding.toString()).toBe('30000');
    expect(stderr).not.toContain(TEST1_SECRET_KEY);
    // The audit trail: the round trip with its reasons, and the funding accrued then settled.
    const store = new SqliteStore({ path: path.join(directory, 'bot.db') });
    try {
      expect(store.query('SELECT side, quantity FROM fills ORDER BY at')).toEqual([
        { side: 'sell', quantity: 2 },
        { side: 'buy', quantity: 2 },
      ]);
      expect(
        store.query('SELECT settled, amount, rate, position_quantity FROM funding ORDER BY settled'),
      ).toEqual([
        { settled: 0, amount: 0.03, rate: 0.0001, position_quantity: -2 },
        { settled: 1, amount: 0.03, rate: 0.0001, position_quantity: -2 },
      ]);
      const signals = JSON.stringify(store.query('SELECT * FROM signals'));
      expect(signals).toContain('FUNDING_PAYS_SHORTS');
      expect(signals).toContain('FUNDING_STOPPED');
    } finally {
      store.close();
    }
  }, 90_000);
});
