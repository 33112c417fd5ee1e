/*
 * The E3 and funding-fade example configs through the runner, on the real candles and funding of
 * ../shared/data: backtests with PnL broken down by entry reason and regime, and paper trading on
 * a replay with the regime labels and reasons in the audit log.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers';
import { count, readDb, startRunner, waitUntil } from './process';

interface Breakdown {
  key: string;
  trades: number;
  netPnl: number;
}

async function backtest(config: string) {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-strategy-bt-')), 'out.json');
  const run = await runCli(['backtest', '--config', config, '--json', out]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as {
    summary: { bars: number; trades: number; fundingPnl: number; tradeListHash: string };
    trades: { entryReasons: string[]; regime?: string; strategyId: string }[];
    breakdowns: { byReason: Breakdown[]; byRegime: Breakdown[]; byExitReason: Breakdown[] };
  };
}

const total = (rows: readonly Breakdown[]) => rows.reduce((sum, row) => sum + row.trades, 0);

describe('funding-arb example: Binance 8h vs Hyperliquid 1h funding through the runner', () => {
  it("opens pairs across the two venues, and every trade's PnL adds up from its parts", {
    timeout: 180_000,
  }, async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-arb-bt-')), 'out.json');
    const run = await runCli(['backtest', '--config', 'examples/funding-arb.backtest.yaml', '--json', out]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      summary: {
        trades: number;
        fees: number;
        slippage: number;
        fundingPnl: number;
        finalEquity: number;
        startingEquity: number;
      };
      trades: {
        exchange: string;
        edge: number;
        slippage: number;
        fees: number;
        funding: number;
        netPnl: number;
      }[];
      data: { funding: { source: string }[] };
    };
    expect(result.data.funding.map((report) => path.basename(report.source)).sort()).toEqual([
      'BTCUSDT-funding.csv',
      'funding_history.csv',
    ]);
    expect(result.summary.trades).toBeGreaterThan(0);
    expect(new Set(result.trades.map((trade) => trade.exchange))).toEqual(
      new Set(['binance', 'hyperliquid']),
    );
    // Funding, fees and slippage are kept apart, and each trade's net is exactly their sum with its edge.
    expect(result.summary.fees).toBeGreaterThan(0);
    expect(result.summary.slippage).toBeGreaterThan(0);
    expect(result.summary.fundingPnl).not.toBe(0);
    for (const trade of result.trades)
      expect(trade.netPnl).toBeCloseTo(trade.edge - trade.slippage - trade.fees + trade.funding, 6);
    const fees = result.trades.reduce((sum, trade) => sum + trade.fees, 0);
    expect(fees).toBeLessThanOrEqual(result.summary.fees + 1e-6);
  });
});

describe('strategy examples: backtests on real Binance BTC candles and funding', () => {
  it('E3: trades, PnL by reason (side) and by regime, bear left out by the policy, deterministic', {
    timeout: 180_000,
  }, async () => {
    const result = await backtest('examples/e3.backtest.yaml');
    expect(result.summary.bars).toBe(13_848);
    expect(result.summary.trades).toBeGreaterThan(50);
    expect(result.summary.fundingPnl).not.toBe(0);
    const { byReason, byRegime, byExitReason } = result.breakdowns;
    expect(byReason.map((row) => row.key).sort()).toEqual(['E3_LONG', 'E3_SHORT']);
    expect(total(byReason)).toBe(result.summary.trades);
    // The policy allows nothing in bear: every trade was opened in trend or chop.
    expect(byRegime.map((row) => row.key).sort()).toEqual(['chop', 'trend']);
    expect(total(byRegime)).toBe(result.summary.trades);
    for (const key of byExitReason.map((row) => row.key))
      expect(['ATR_STOP', 'ATR_TAKE_PROFIT', 'TIME_STOP']).toContain(key);
    for (const trade of result.trades) {
      expect(trade.strategyId).toBe('e3');
      expect(trade.entryReasons).toEqual(
        expect.arrayContaining(['E3_BODY_ATR', 'E3_VOLUME_Z', 'E3_FUNDING', 'E3_REALIZED_VOL']),
      );
    }
    const again = await backtest('examples/e3.backtest.yaml');
    expect(again.summary.tradeListHash).toBe(result.summary.tradeListHash);
  });

  it('funding fade: fades both funding extremes, collects funding, PnL by reason and regime', {
    timeout: 120_000,
  }, async () => {
    const result = await backtest('examples/funding-fade.backtest.yaml');
    expect(result.summary.trades).toBeGreaterThan(50);
    const { byReason, byRegime } = result.breakdowns;
    expect(byReason.map((row) => row.key).sort()).toEqual(['FADE_FUNDING_HIGH', 'FADE_FUNDING_LOW']);
    expect(total(byReason)).toBe(result.summary.trades);
    expect(byRegime.every((row) => row.key === 'chop' || row.key === 'trend')).toBe(true);
    // Fading funding means being paid it, on balance.
    expect(result.summary.fundingPnl).toBeGreaterThan(0);
  });
});

describe('strategy examples: paper trading on replayed data', () => {
  for (const [config, strategy, skipped] of [
    ['examples/e3.paper.yaml', 'e3', 'E3_SPREAD_SKIPPED'],
    ['examples/funding-fade.paper.yaml', 'funding-fade', 'FADE_SPREAD_SKIPPED'],
  ] as const) {
    it(`${strategy}: trades through the runner, regime labels and reasons in the audit log`, {
      timeout: 150_000,
    }, async () => {
      const db = path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-strategy-paper-')), 'paper.db');
      const runner = startRunner(['--config', config, '--db', db, '--speed', '200000']);
      await waitUntil(
        () => count(db, 'trades') >= 2 || runner.logs().some((line) => line.msg === 'replay finished'),
        90_000,
        'two closed trades',
      );
      runner.child.kill('SIGTERM');
      expect(await runner.exited()).toBe(0);
      readDb(db, (database) => {
        const entries = database
          .prepare("SELECT regime, reasons FROM signals WHERE strategy_id = ? AND intent = 'open'")
          .all(strategy) as { regime: string; reasons: string }[];
        expect(entries.length).toBeGreaterThanOrEqual(2);
        for (const entry of entries) {
          expect(['trend', 'chop']).toContain(entry.regime);
          const codes = (JSON.parse(entry.reasons) as { code: string }[]).map((item) => item.code);
          expect(codes).toContain(skipped);
          expect(codes).toContain(`REGIME_${entry.regime.toUpperCase()}`);
        }
        const trades = database.prepare('SELECT regime FROM trades').all() as { regime: string }[];
        expect(trades.length).toBeGreaterThanOrEqual(2);
        for (const trade of trades) expect(['trend', 'chop']).toContain(trade.regime);
      });
    });
  }
});
