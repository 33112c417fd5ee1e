import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REPO, SIM_EXCHANGE, writeConfig } from './helpers';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('signals (the built CLI in a real process)', () => {
  it('SIGTERM twice: one orderly shutdown, strategies stopped once, exit 0', async () => {
    const file = writeConfig(
      `plugins: ['${FIXTURES}probe-strategy.mjs']\nengine: { cycleInterval: 20ms }\nshutdown: { timeout: 5s }\n${SIM_EXCHANGE}strategies:\n  - plugin: probe\n    options: { label: only }\n`,
    );
    const child = spawn(process.execPath, [CLI, '--config', file, '--log-level', 'info'], {
      cwd: REPO,
      env: { ...process.env, PROBE_LOG_CYCLES: '1', PROBE_STOP_DELAY_MS: '500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const waitFor = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" within 15 s:\n${stderr}`)), 15_000);
        const poll = setInterval(() => {
          if (stderr.includes(text)) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 5);
      });
    await waitFor('probe cycle 3');
    child.kill('SIGTERM');
    await waitFor('probe stopping (only)');
    child.kill('SIGTERM'); // while the strategy is still stopping
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const messages = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.filter((message) => message === 'received SIGTERM: shutting down')).toHaveLength(1);
    expect(messages.filter((message) => message === 'shutting down')).toHaveLength(1);
    expect(stderr).toContain('received SIGTERM again: the shutdown already in progress continues');
    expect(stderr.match(/probe stopped \(only\)/g)).toHaveLength(1);
    const stopped = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; reason?: string })
      .find((line) => line.msg === 'stopped');
    expect(stopped).toMatchObject({ reason: 'SIGTERM', cancelledOrders: 0 });
  }, 30_000);
});
