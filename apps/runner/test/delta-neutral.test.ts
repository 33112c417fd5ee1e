import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers';
import { count, readDb, startRunner, waitUntil } from './process';

const PAIRED = 'examples/delta-neutral-paired.paper.yaml';
const FUNDING = 'examples/delta-neutral-funding.paper.yaml';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'perpkit-dn-'));
}

interface Summary {
  signals: number;
  denials: number;
  fundingPnl: number;
  fees: number;
  trades: number;
  tradeListHash: string;
}
interface Result {
  summary: Summary;
  openPositions: { exchange: string; symbol: string; quantity: number; markPrice: number }[];
  breakdowns: { signalsByReason: Record<string, number> };
}

describe('delta-neutral examples: runner backtest', () => {
  it('paired accounts: opens, flips every 8 hours, ends hedged, and a second run has the same hash', async () => {
    const out = path.join(tempDir(), 'paired.json');
    const first = await runCli(['backtest', '--config', PAIRED, '--json', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Delta-neutral paired accounts');
    const result = JSON.parse(readFileSync(out, 'utf8')) as Result;
    expect(result.summary.denials).toBe(0);
    // A month of 1-minute bars, flips every 8 hours: about 90 flips of both legs.
    expect(result.breakdowns.signalsByReason.PAIR_OPEN).toBe(2);
    expect(result.breakdowns.signalsByReason.PAIR_FLIP).toBeGreaterThanOrEqual(170);
    // Long and short pay each other's funding: the pair's net funding is zero.
    expect(result.summary.fundingPnl).toBeCloseTo(0, 6);
    // Open at the end: one long and one short of the same size.
    expect(result.openPositions).toHaveLength(2);
    const [a, b] = result.openPositions as [Result['openPositions'][0], Result['openPositions'][0]];
    expect(a.quantity + b.quantity).toBeCloseTo(0, 9);
    expect(a.quantity).not.toBe(0);
    const second = await runCli(['backtest', '--config', PAIRED, '--json', '-']);
    expect((JSON.parse(second.stdout) as Result).summary.tradeListHash).toBe(result.summary.tradeListHash);
  }, 180_000);

  it('funding with a hedge: the short collects funding and the legs stay within the drift threshold', async () => {
    const out = path.join(tempDir(), 'funding.json');
    const { code, stderr } = await runCli(['backtest', '--config', FUNDING, '--json', out]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as Result;
    expect(result.summary.denials).toBe(0);
    expect(result.breakdowns.signalsByReason.FUNDING_SHORT_OPEN).toBe(1);
    expect(result.summary.fundingPnl).toBeGreaterThan(0);
    const short = result.openPositions.find((position) => position.exchange === 'drift');
    const hedge = result.openPositions.find((position) => position.exchange === 'hedge');
    expect(short?.quantity).toBeLessThan(0);
    expect(hedge?.quantity).toBeGreaterThan(0);
    const net =
      (short?.quantity ?? 0) * (short?.markPrice ?? 0) + (hedge?.quantity ?? 0) * (hedge?.markPrice ?? 0);
    const gross =
      Math.abs((short?.quantity ?? 0) * (short?.markPrice ?? 0)) +
      Math.abs((hedge?.quantity ?? 0) * (hedge?.markPrice ?? 0));
    expect(Math.abs(net) / gross).toBeLessThanOrEqual(0.01);
  }, 120_000);
});

/** The latest position per account in the runner's database. */
function positionsIn(db: string): Record<string, number> {
  return readDb(db, (database) =>
    Object.fromEntries(
      (
        database.prepare('SELECT exchange, account, quantity FROM positions').all() as {
          exchange: string;
          account: string;
          quantity: number;
        }[]
      ).map((row) => [`${row.exchange}/${row.account}`, row.quantity]),
    ),
  );
}

describe('delta-neutral examples: paper trading on replayed data (the built CLI)', () => {
  for (const [example, speed, legs] of [
    [PAIRED, '30000', ['sim/primary', 'sim/secondary']],
    [FUNDING, '1800000', ['drift/collector', 'hedge/main']],
  ] as const) {
    it(`${path.basename(example)}: both legs fill, SIGTERM leaves them hedged and exits 0`, async () => {
      const db = path.join(tempDir(), 'paper.db');
      const runner = startRunner(['--config', example, '--db', db, '--speed', speed]);
      await waitUntil(
        () => legs.every((leg) => count(db, 'fills', `exchange || '/' || account = '${leg}'`) >= 1),
        60_000,
        `fills on ${legs.join(' and ')}`,
      );
      runner.child.kill('SIGTERM');
      expect(await runner.exited()).toBe(0);
      const positions = positionsIn(db);
      const [first, second] = legs.map((leg) => positions[leg] ?? 0) as [number, number];
      expect(first).not.toBe(0);
      expect(Math.sign(first)).toBe(-Math.sign(second));
      expect(count(db, 'order_requests', "outcome = 'submitted'")).toBeGreaterThanOrEqual(2);
      expect(count(db, 'events', "type = 'engine:stop'")).toBe(1);
    }, 90_000);
  }
});
