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
