import { parsePluginOptions, validatePlugin } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import drift, { DriftExchange } from '../src/index';
import { startVenue, TEST1_SECRET_KEY } from './helpers';

describe('the drift plugin', () => {
  it('is a valid exchange plugin, and creating it opens nothing', () => {
    expect(validatePlugin(drift, 'drift', { expectedKind: 'exchange' })).toBe(drift);
    const exchange = drift.create(
      { id: 'drift', mode: 'paper', clock: { now: () => 0 } as never, logger: console as never },
      parsePluginOptions(drift, { rpcUrl: 'http://127.0.0.1:1', secretKey: TEST1_SECRET_KEY }),
    );
    expect(exchange).toBeInstanceOf(DriftExchange);
    expect(exchange.accounts()).toEqual(['main']);
  });

  it('runs from runner-style options pointing rpcUrl at the fake RPC', async () => {
    const venue = await startVenue();
    await venue.exchange.close();
    const options = parsePluginOptions(
      drift,
      {
        rpcUrl: venue.rpc.url,
        secretKey: TEST1_SECRET_KEY,
        pollIntervalMs: 200,
        accounts: [{ id: 'primary', subAccountId: 0 }],
      },
      { pathPrefix: 'exchanges.drift.options' },
    );
    const exchange = drift.create(
      { id: 'drift', mode: 'live', clock: { now: () => Date.now() } as never, logger: console as never },
      options,
    );
    try {
      await exchange.connect();
      expect(exchange.accounts()).toEqual(['primary']);
      expect((await exchange.fetchTicker('SOL')).mark).toBe(150);
      expect((await exchange.fetchAccount('primary')).equity).toBe(10_000);
    } finally {
      await exchange.close();
      await venue.rpc.stop();
    }
  });

  it('options are strict and name the field', () => {
    expect(() => parsePluginOptions(drift, { rpcUrl: 'http://127.0.0.1:1', rpcurl: 'x' })).toThrow(/rpcurl/);
    expect(() => parsePluginOptions(drift, { rpcUrl: 'not a url' })).toThrow(/rpcUrl/);
    expect(() =>
      parsePluginOptions(drift, {
        rpcUrl: 'http://127.0.0.1:1',
        accounts: [{ subAccountId: 0 }, { id: 'main', subAccountId: 1 }],
      }),
    ).toThrow(/duplicate account id main/);
    expect(() => parsePluginOptions(drift, { rpcUrl: 'http://127.0.0.1:1', readOnly: true })).toThrow(
      /authority/,
    );
    expect(() =>
      parsePluginOptions(drift, { rpcUrl: 'http://127.0.0.1:1', sender: { type: 'jito' } }),
    ).toThrow(/url/);
  });
});
