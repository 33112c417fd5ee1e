import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BacktestProgress } from '@perpkit/backtest';
import { describe, expect, it } from 'vitest';
import { progressBar } from '../src/backtest-command';
import { FIXTURES, REPO, runCli, writeConfig } from './helpers';

const EXAMPLE = 'examples/strategy-sma-cross/backtest.yaml';
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Runs the built CLI in its own process; resolves with its exit code and output. */
function runProcess(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

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
    // The title names the data actually used, not the config's (which says BTCUSDT).
    expect(stdout).toContain('backtest of backtest.yaml on ETHUSDT_1m.csv (--data)');
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<title>backtest of backtest.yaml on ETHUSDT_1m.csv (--data)</title>');
    expect(html).not.toContain('Bybit BTCUSDT 1m');
    expect(html).toContain(
      `candles ${path.resolve(REPO, '../shared/data/cobra0506-bybit-linear/ETHUSDT_1m.csv')}`,
    );
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(existsSync(path.join(dir, 'summary.json'))).toBe(true);
  });

  it('two separate processes on the full example write the same trade list hash', async () => {
    const first = await runProcess(['backtest', '--config', EXAMPLE, '--json', '-']);
    const second = await runProcess(['backtest', '--config', EXAMPLE, '--json', '-']);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const [a, b] = [JSON.parse(first.stdout), JSON.parse(second.stdout)];
    expect(a.summary).toMatchObject({ bars: 43_200, trades: 867 });
    expect(a.trades).toHaveLength(867);
    expect(b.summary.tradeListHash).toBe(a.summary.tradeListHash);
    expect(b.trades).toEqual(a.trades);
  });

  it('draws a progress bar on a terminal, ending with one newline, and nothing otherwise', async () => {
    const plain = await runCli(['backtest', '--config', EXAMPLE]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');

    const terminal = await runCli(['backtest', '--config', EXAMPLE], { tty: true });
    expect(terminal.code).toBe(0);
    expect(terminal.stderr.endsWith(' \n')).toBe(true);
    expect(terminal.stderr.match(/\n/g)).toHaveLength(1);
    const frames = terminal.stderr.trim().split('\r').filter(Boolean);
    expect(frames.at(-1)).toMatch(/^\[#{30}\] 100% {2}43,200 bars {2}\d+\.\ds$/);
    const shares = frames.map((frame) => Number(/\] +(\d+)%/.exec(frame)?.[1]));
    expect([...shares].sort((a, b) => a - b)).toEqual(shares);
  });

  it('the progress bar counts bars fed against a converging estimate, redrawn at most every 100 ms', () => {
    let text = '';
    let clock = 0;
    const draw = progressBar(
      { stderr: { write: (chunk: string) => (text += chunk), isTTY: true } },
      () => clock,
    );
    const progress = (bars: number, fraction: number, done = false): BacktestProgress => ({
      bars,
      steps: bars,
      bytesConsumed: fraction * 1000,
      totalBytes: 1000,
      fraction,
      estimatedBars: done ? bars : Math.round(bars / fraction),
      done,
    });
    if (!draw) throw new Error('a terminal gets a progress bar');
    clock = 1000;
    draw(progress(24_600, 0.57));
    clock = 1050;
    draw(progress(30_000, 0.69)); // within 100 ms: not drawn
    clock = 2000;
    draw(progress(43_200, 1, true));
    draw(progress(43_200, 1, true)); // after done: nothing more
    expect(text).toBe(
      `\r[${'#'.repeat(17)}${'-'.repeat(13)}]  57%  24,600 of ~43,158 bars  1.0s  ETA 0.8s ` +
        `\r[${'#'.repeat(30)}] 100%  43,200 bars  2.0s \n`,
    );
    expect(progressBar({ stderr: { write: () => undefined } })).toBeUndefined();
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
