import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parsePluginOptions, SimulatedClock, silentLogger, validatePlugin } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import lighter, { LighterExchange } from '../src/index';
import { POSEIDON_CRYPTO_TEST_KEY_0 } from './helpers';

const options = { accounts: [{ index: 7, apiKeys: [{ index: 4, privateKey: POSEIDON_CRYPTO_TEST_KEY_0 }] }] };

describe('the lighter plugin', () => {
  it('is a valid exchange plugin for the running core', () => {
    expect(() => validatePlugin(lighter, 'lighter', { expectedKind: 'exchange' })).not.toThrow();
    expect(lighter.meta.name).toBe('lighter');
  });

  it('options are strict: defaults fill in, unknown keys and bad values are refused naming the field', () => {
    const parsed = parsePluginOptions(lighter, options);
    expect(parsed).toMatchObject({ network: 'mainnet', stream: true, txExpiryMs: 599_000 });
    expect(() => parsePluginOptions(lighter, { ...options, definitelyNotAnOption: 1 })).toThrow(ConfigError);
    try {
      parsePluginOptions(lighter, {
        accounts: [{ index: 7, apiKeys: [{ index: 255, privateKey: POSEIDON_CRYPTO_TEST_KEY_0 }] }],
      });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).issues.map((issue) => issue.path)).toContain(
        'accounts[0].apiKeys[0].index',
      );
    }
  });

  it('refuses two accounts with one id or one index', () => {
    const key = { index: 4, privateKey: POSEIDON_CRYPTO_TEST_KEY_0 };
    expect(() =>
      parsePluginOptions(lighter, {
        accounts: [
          { index: 7, id: 'a', apiKeys: [key] },
          { index: 8, id: 'a', apiKeys: [key] },
        ],
      }),
    ).toThrow(/duplicate account id/);
    expect(() =>
      parsePluginOptions(lighter, {
        accounts: [
          { index: 7, apiKeys: [key] },
          { index: 7, id: 'b', apiKeys: [key] },
        ],
      }),
    ).toThrow(/duplicate account index/);
  });

  it('never echoes a private key in an options error', () => {
    const almostAKey = `${POSEIDON_CRYPTO_TEST_KEY_0.slice(0, 78)}zz`;
    const input = { accounts: [{ index: 7, apiKeys: [{ index: 4, privateKey: almostAKey }] }] };
    let message = '';
    try {
      parsePluginOptions(lighter, input);
    } catch (error) {
      message = `${(error as Error).message} ${JSON.stringify((error as ConfigError).issues)}`;
    }
    expect(message).toMatch(/privateKey/);
    expect(message).not.toContain(almostAKey.slice(0, 20));
    let direct = '';
    try {
      new LighterExchange(input);
    } catch (error) {
      direct = (error as Error).message;
    }
    expect(direct).toMatch(/INVALID|privateKey/);
    expect(direct).not.toContain(almostAKey.slice(0, 20));
  });

  it('create() builds an adapter with the host context and opens nothing', async () => {
    const clock = new SimulatedClock(1);
    const exchange = lighter.create(
      { id: 'lighter-main', mode: 'paper', clock, logger: silentLogger },
      parsePluginOptions(lighter, options),
    );
    expect(exchange).toBeInstanceOf(LighterExchange);
    expect(exchange.id).toBe('lighter-main');
    expect(exchange.accounts()).toEqual(['7']);
    expect(exchange.capabilities.streams.account).toBe(true);
    await exchange.close();
  });

  it('reads no environment variables: secrets come only through options', () => {
    const files = (directory: string): string[] =>
      readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? files(join(directory, entry.name)) : [join(directory, entry.name)],
      );
    for (const file of files(join(__dirname, '..', 'src'))) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/process\.env/);
    }
  });
});
