import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../src/io';
import { main } from '../src/main';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the CLI in-process with captured output. */
export async function runCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    signal?: (send: (signal: NodeJS.Signals) => void) => void;
    /** Make stderr look like a terminal. */
    tty?: boolean;
  } = {},
) {
  let stdout = '';
  let stderr = '';
  let handler: ((signal: NodeJS.Signals) => void) | undefined;
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), ...(options.tty ? { isTTY: true } : {}) },
    env: { ...options.env },
    cwd: options.cwd ?? REPO,
    onSignal(listener) {
      handler = listener;
      options.signal?.((signal) => handler?.(signal));
      return () => {
        handler = undefined;
      };
    },
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Writes a config file into a fresh temp dir and returns its path. */
export function writeConfig(text: string, name = 'bot.yaml'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-runner-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

export const SIM_EXCHANGE = `exchanges:
  sim:
    options:
      markets: [{ symbol: BTC, tickSize: '0.1', lotSize: '0.001' }]
`;

export const BYBIT_BTC_1M = path.resolve(REPO, '../shared/data/cobra0506-bybit-linear/BTCUSDT_1m.csv');

/**
 * The SMA example's venue and strategy on the Bybit 1m file (one week by default, `range: null` for
 * all of it) with an `optimize:` section: the config the optimizer tests and benchmark search.
 */
export function smaOptimizeConfig(
  optimize: string,
  extra: { plugins?: string[]; riskGates?: string; range?: { from: string; to: string } | null } = {},
): string {
  const range =
    extra.range === null
      ? undefined
      : (extra.range ?? { from: '2025-06-01T00:00:00Z', to: '2025-06-08T00:00:00Z' });
  return `plugins: [${['perpkit-strategy-sma-cross', ...(extra.plugins ?? [])].map((name) => `'${name}'`).join(', ')}]
exchanges:
  sim:
    options:
      fillModel: next-open
      slippage: 0
      fees: { maker: 0.0005, taker: 0.0005 }
      defaultFundingRatePerHour: 0
      markets: [{ symbol: BTC, tickSize: "0.1", lotSize: "0.001", minNotional: 0, maxLeverage: 100, fundingIntervalHours: 8 }]
      accounts: [{ id: main, balance: 1000000 }]
strategies:
  - plugin: sma-cross
    options: { exchange: sim, symbol: BTC, fast: 10, slow: 30, quantity: 1 }
${extra.riskGates ?? ''}
backtest:
  data:
    - symbol: BTC
      candles: ${BYBIT_BTC_1M}
${range ? `  from: ${range.from}\n  to: ${range.to}\n` : ''}optimize:
${optimize}
`;
}
