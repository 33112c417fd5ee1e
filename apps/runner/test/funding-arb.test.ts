import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDb, startRunner, waitUntil } from './process';

/*
 * The funding-arb example in paper mode through the built CLI: two simulated venues fed by replay
 * with Binance's 8h and Hyperliquid's 1h BTC funding. After a kill -9 while a pair is open, the
 * restarted runner finds the pair in plugin memory and finishes it (it never opens it twice).
 */
const EXAMPLE = 'examples/funding-arb.paper.yaml';
const SPEED = '20000';

type Line = { msg: string; pair?: string; code?: string; layer?: number };

describe('funding-arb in paper mode on replayed data (the built CLI in a real process)', () => {
  it('opens a pair, survives a kill -9 with it open, and the restarted runner closes it', async () => {
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-arb-')), 'arb.db');
    const first = startRunner(['--config', EXAMPLE, '--db', db, '--speed', SPEED]);
    const opened = (await first.waitForLog('pair open', 60_000)) as Line;
    // Long enough for the store's write-behind to commit, far shorter than the 8 h minimum hold.
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.child.kill('SIGKILL');
    await first.exited();
    expect(first.logs().some((line) => line.msg === 'pair closed')).toBe(false);

    const second = startRunner(['--config', EXAMPLE, '--db', db, '--speed', SPEED]);
    const closed = (await waitUntil(
      () => second.logs().find((line) => line.msg === 'pair closed' && (line as Line).pair === opened.pair),
      90_000,
      `pair ${opened.pair} closed after the restart`,
    )) as Line;
    expect(closed.code).toMatch(/^[A-Z_]+$/);
    expect([1, 2, 3]).toContain(closed.layer);
    // The restarted runner never opened that pair again: it resumed it.
    const reopened = second
      .logs()
      .filter((line) => line.msg === 'pair opening' && (line as Line).pair === opened.pair);
    expect(reopened).toHaveLength(0);
    second.child.kill('SIGTERM');
    expect(await second.exited()).toBe(0);

    readDb(db, (database) => {
      const fills = database.prepare('SELECT exchange, COUNT(*) AS n FROM fills GROUP BY exchange').all() as {
        exchange: string;
        n: number;
      }[];
      expect(fills.map((row) => row.exchange).sort()).toEqual(['binance', 'hyperliquid']);
      const book = database
        .prepare("SELECT value FROM memory WHERE component = 'funding-arb' AND key = 'book'")
        .get() as { value: string };
      const saved = JSON.parse(book.value) as {
        history: { id: string; status: string; exit?: { code: string } }[];
      };
      expect(saved.history.find((pair) => pair.id === opened.pair)).toMatchObject({
        status: 'CLOSED',
        exit: { code: closed.code },
      });
      // Both legs' round trips are in the audit log.
      const legs = database
        .prepare(
          "SELECT DISTINCT exchange FROM trades WHERE strategy_id = 'funding-arb' OR strategy_id IS NULL",
        )
        .all() as { exchange: string }[];
      expect(legs.map((row) => row.exchange).sort()).toEqual(['binance', 'hyperliquid']);
    });
  }, 180_000);
});
