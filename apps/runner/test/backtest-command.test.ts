import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REPO, runCli, writeConfig } from './helpers';

const EXAMPLE = 'examples/strategy-sma-cross/backtest.yaml';

describe('runner backtest', () => {
  it('runs the SMA example from the repo root and writes JSON; a second run has the same hash', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'perpkit-bt-')), 'out.json');
    const first = await runCli(['backtest', '--config', EXAMPLE, '--json', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('SMA(10/30) cross, Bybit BTCUSDT 1m');
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.summary).toMatchObject({
      bars: 43_200,
      trades: expect.any(Number),
      slippage: 0,
      fundingPnl: 0,
    });
    expect(result.summary.trades).toBeGreaterThan(800);
    expect(result.trades).toHaveLength(result.summary.trades);
    expect(result.config.hash).toMatch(/^[0-9a-f]{64}$/);
    const second = await runCli(['backtest', '--config', EXAMPLE, '--json', '-']);
    expect(JSON.parse(second.stdout).summary.tradeListHash).toBe(result.summary.tradeListHash);
  });

  it('--data swaps the candle file of a one-instrument config; --report writes a self-contained page', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-report-'));
    const { code, stdout } = await runCli([
      'backtest',
      '--config',
      EXAMPLE,
      '--data',
      '../shared/data/cobra0506-bybit-linear/ETHUSDT_1m.csv',
      '--report',
      dir,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('43,200');
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(existsSync(path.join(dir, 'summary.json'))).toBe(true);
  });

  it('refuses configs it cannot backtest, saying why', async () => {
    const noSection = await runCli([
      'backtest',
      '--config',
      writeConfig(
        `exchanges:\n  sim:\n    options:\n      markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001' }]\n`,
      ),
    ]);
    expect(noSection.code).toBe(2);
    expect(noSection.stderr).toContain('no "backtest:" section');

    const notSim = await runCli([
      'backtest',
      '--config',
      writeConfig(
        `plugins: ['${FIXTURES}fake-venue.mjs']\nexchanges:\n  fake:\n    plugin: fake-venue\nbacktest:\n  data: [{ symbol: BTC, candles: ${REPO}../shared/data/cobra0506-bybit-linear/BTCUSDT_1m.csv }]\n`,
      ),
    ]);
    expect(notSim.code).toBe(2);
    expect(notSim.stderr).toContain(
      'backtests run on simulated venues, but exchanges.fake uses plugin "fake-venue"',
    );

    const missing = await runCli(['backtest', '--config', EXAMPLE, '--data', 'no-such-file.csv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`candle file not found for sim:BTC: ${REPO}no-such-file.csv`);

    const candles = `${REPO}../shared/data/cobra0506-bybit-linear/BTCUSDT_1m.csv`;
    const twoInstruments = await runCli([
      'backtest',
      '--config',
      writeConfig(
        `exchanges:\n  sim:\n    options:\n      markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001' }, { symbol: ETH, tickSize: '0.01', lotSize: '0.01' }]\nbacktest:\n  data: [{ symbol: BTC, candles: ${candles} }, { symbol: ETH, candles: ${candles} }]\n`,
      ),
      '--data',
      'x.csv',
    ]);
    expect(twoInstruments.code).toBe(2);
    expect(twoInstruments.stderr).toContain(
      '--data replaces the candles of a one-instrument config, but backtest.data has 2 instruments',
    );

    const typo = await runCli([
      'backtest',
      '--config',
      writeConfig(
        `exchanges:\n  sim:\n    options:\n      markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001' }]\nbacktest:\n  data: [{ symbol: BTC, candels: x.csv }]\n`,
      ),
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(
      /backtest\.data\[0\]\.candels: unknown key "candels"; did you mean "candles"\?/,
    );
  });
});
