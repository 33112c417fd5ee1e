import { describe, expect, it } from 'vitest';
import { candleReplay, randomWalk, readCandleCsv } from '../src/sim/price-feed';
import { PacificaSimulator } from '../src/sim/server';
import { PRIMARY } from './helpers';

const CANDLES = new URL('../../../../shared/data/silertrades-gravestone-data/BTCUSDT-1h.csv', import.meta.url)
  .pathname;

describe('the simulator', () => {
  it('replays real candles: open, the nearer extreme, the other extreme, close', () => {
    const rows = readCandleCsv(CANDLES);
    expect(rows.length).toBe(4_500);
    const first = rows[0] as { open: number; high: number; low: number; close: number };
    expect(first).toMatchObject({ open: 115_715.5, high: 116_011, low: 115_715.5, close: 115_913.3 });
    const feed = candleReplay(rows);
    expect([feed.next(), feed.next(), feed.next(), feed.next()]).toEqual([
      115_715.5, 115_715.5, 116_011, 115_913.3,
    ]);
  });

  it('streams books on the tick from a replayed file', async () => {
    const simulator = new PacificaSimulator({
      accounts: [{ address: PRIMARY, balance: 1_000 }],
      markets: [{ symbol: 'BTC', tickSize: '1', lotSize: '0.00001', price: 100_000, candles: CANDLES }],
      tickIntervalMs: 1_000,
    });
    const { restUrl } = await simulator.start();
    try {
      const response = await fetch(`${restUrl}/book?symbol=BTC`);
      const body = (await response.json()) as { data: { l: { p: string; a: string }[][] } };
      const [bids, asks] = body.data.l as [{ p: string; a: string }[], { p: string; a: string }[]];
      expect(bids).toHaveLength(10);
      expect(Number(bids[0]?.p)).toBeLessThan(Number(asks[0]?.p));
      for (const level of [...bids, ...asks]) expect(level.p).toMatch(/^\d+$/);
      // Scaled so that the first open is the configured price.
      expect(Math.abs(Number(bids[0]?.p) - 100_000)).toBeLessThan(100);
      const unknown = await fetch(`${restUrl}/account?account=nobody`);
      expect(unknown.status).toBe(422);
      expect(await unknown.json()).toEqual({
        success: false,
        data: null,
        error: 'Account not found',
        code: 1,
      });
    } finally {
      await simulator.stop();
    }
  });
});

describe('price feeds moved on purpose', () => {
  it('a random walk goes on from the price it was moved to', () => {
    const feed = randomWalk(100, 0.0002, 7);
    for (let step = 0; step < 50; step += 1) feed.next();
    feed.moveTo(150);
    const after = Array.from({ length: 20 }, () => feed.next());
    for (const price of after) expect(Math.abs(price / 150 - 1)).toBeLessThan(0.01);
  });

  it('a candle replay keeps its shape, rescaled to the new level', () => {
    const rows = [
      { time: 0, open: 100, high: 104, low: 99, close: 102 },
      { time: 60_000, open: 102, high: 103, low: 98, close: 100 },
    ];
    const plain = candleReplay(rows);
    const moved = candleReplay(rows);
    const first = [plain.next(), plain.next()];
    expect([moved.next(), moved.next()]).toEqual(first);
    moved.moveTo((first[1] as number) * 2);
    for (let step = 0; step < 6; step += 1) expect(moved.next()).toBeCloseTo(plain.next() * 2, 9);
  });
});
