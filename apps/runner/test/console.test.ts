import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REPO, writeConfig } from './helpers';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('operator console (the built CLI in a real process)', () => {
  it('a large order waits for confirmation; "approve" at the console sends it; "stop" shuts down', async () => {
    const file = writeConfig(
      [
        `plugins: ['${FIXTURES}once-strategy.mjs', '${FIXTURES}fake-venue.mjs']`,
        'engine: { cycleInterval: 20ms }',
        'exchanges:',
        '  fake: { plugin: fake-venue }',
        'strategies:',
        '  - plugin: once',
        '    options: { exchange: fake, symbol: BTC, side: buy, quantity: 2, price: 101 }',
        'riskGates:',
        '  - plugin: confirmation',
        '    options: { aboveNotional: 100, timeout: 1m }',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI, '--config', file], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const waitFor = (read: () => string, text: string | RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${text}\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
          15_000,
        );
        const poll = setInterval(() => {
          if (typeof text === 'string' ? read().includes(text) : text.test(read())) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 5);
      });
    await waitFor(
      () => stdout,
      /approval AP1 requested: buy 2 BTC on fake\/main \(limit, notional 202\.00\) for once: ONCE/,
    );
    expect(stderr).not.toContain('"msg":"fill"');
    child.stdin.write('approvals\n');
    await waitFor(() => stdout, /^AP1 buy 2 BTC/m);
    child.stdin.write('approve AP1\n');
    await waitFor(() => stderr, '"msg":"fill"');
    expect(stdout).toContain('AP1 approved');
    const approved = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; by?: string })
      .find((line) => line.msg.startsWith('approval AP1 approved'));
    expect(approved?.by).toBe('cli');
    child.stdin.write('status\n');
    // The paper venue filled the marketable bid at the mark plus slippage, within its 101 limit.
    await waitFor(() => stdout, /position fake\/main BTC 2 @ 100\.\d/);
    child.stdin.write('stop\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
  }, 30_000);
});
