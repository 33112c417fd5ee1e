import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunnerLogger, DailyLogFile, scrub, secretsFromEnvironment } from '../src/logging';

const DAY = 86_400_000;

describe('runner logger', () => {
  it('redacts secret values wherever they appear and secret-looking keys, in the console and the file', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-logs-'));
    let consoleText = '';
    const secret = '5Jz9rPacificaAgentSecretKey0123456789';
    const { logger, file, close } = createRunnerLogger({
      level: 'debug',
      console: { write: (text: string) => (consoleText += text) },
      directory,
      secrets: [secret],
    });
    logger.info(`connecting with ${secret}`, {
      options: { baseUrl: 'http://127.0.0.1', secretKey: 'abc', nested: { apiKey: 'k-1' } },
    });
    logger.child({ privateKey: 'child-binding-key' }).error('signing failed', { error: `bad key ${secret}` });
    logger.debug('plain', { quantity: 0.5 });
    close();
    const fileText = readFileSync(file?.currentFile as string, 'utf8');
    for (const text of [consoleText, fileText]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain('child-binding-key');
      expect(text).not.toContain('"abc"');
      expect(text).not.toContain('k-1');
      const lines = text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatchObject({ level: 'info', msg: 'connecting with [redacted]' });
      expect(lines[0].options).toEqual({
        baseUrl: 'http://127.0.0.1',
        secretKey: '[redacted]',
        nested: { apiKey: '[redacted]' },
      });
      expect(lines[1]).toMatchObject({
        level: 'error',
        privateKey: '[redacted]',
        error: 'bad key [redacted]',
      });
      expect(lines[2]).toMatchObject({ level: 'debug', quantity: 0.5 });
    }
  });

  it('respects the level', () => {
    let text = '';
    const { logger } = createRunnerLogger({
      level: 'warn',
      console: { write: (line: string) => (text += line) },
    });
    logger.info('hidden');
    logger.warn('shown');
    expect(text).toContain('shown');
    expect(text).not.toContain('hidden');
  });

  it('takes secrets from variables named like secrets, and never blanks short values', () => {
    expect(
      secretsFromEnvironment({
        PACIFICA_SECRET_KEY: 'aaaa-bbbb-cccc',
        HOME: '/root',
        PERPKIT_CONTROL_TOKEN: 't0k3n-long-enough',
      }),
    ).toEqual(['aaaa-bbbb-cccc', 't0k3n-long-enough']);
    expect(scrub('qty 12345', ['12345'])).toBe('qty 12345');
  });
});

describe('daily log files', () => {
  it('starts a new file each UTC day and deletes files older than the retention', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'perpkit-rotate-'));
    const start = Date.UTC(2026, 0, 31, 23, 59);
    // Files left by earlier runs: one 31 days old (goes), one 29 days old (stays), and a stranger.
    writeFileSync(path.join(directory, 'runner-2025-12-31.log'), 'old\n');
    writeFileSync(path.join(directory, 'runner-2026-01-02.log'), 'recent\n');
    writeFileSync(path.join(directory, 'notes.txt'), 'mine\n');
    let now = start;
    const file = new DailyLogFile(directory, 30, () => now);
    file.write('before midnight\n');
    now = start + 2 * 60_000;
    file.write('after midnight\n');
    file.close();
    expect(readdirSync(directory).sort()).toEqual([
      'notes.txt',
      'runner-2026-01-02.log',
      'runner-2026-01-31.log',
      'runner-2026-02-01.log',
    ]);
    expect(readFileSync(path.join(directory, 'runner-2026-01-31.log'), 'utf8')).toBe('before midnight\n');
    expect(readFileSync(path.join(directory, 'runner-2026-02-01.log'), 'utf8')).toBe('after midnight\n');

    // Thirty days after the last write, the 2026-01-02 file is past its retention too.
    now = Date.UTC(2026, 1, 2) + 30 * DAY;
    const later = new DailyLogFile(directory, 30, () => now);
    later.write('a month later\n');
    later.close();
    expect(existsSync(path.join(directory, 'runner-2026-01-02.log'))).toBe(false);
    expect(existsSync(path.join(directory, 'runner-2026-02-01.log'))).toBe(false);
    expect(existsSync(path.join(directory, 'runner-2026-01-31.log'))).toBe(false);
  });
});
