import { ConfigError, parsePluginOptions, RealClock, silentLogger, validatePlugin } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import plugin from '../src/index';
import { OrderBookState } from '../src/order-book';
import { X10Exchange } from '../src/x10-exchange';
import { ACCOUNT } from './helpers';

const account = {
  id: 'main',
  apiKey: ACCOUNT.apiKey,
  starkPrivateKey: ACCOUNT.starkPrivateKey,
  vault: ACCOUNT.vault,
};
const options = { accounts: [account] };

describe('plugin', () => {
  it('is a valid exchange plugin whose factory builds an X10Exchange without I/O', () => {
    expect(validatePlugin(plugin, '@perpkit/exchange-x10', { expectedKind: 'exchange' })).toBe(plugin);
    const parsed = parsePluginOptions(plugin, options);
    const exchange = plugin.create(
      { id: 'extended', mode: 'paper', clock: new RealClock(), logger: silentLogger },
      parsed,
    );
    expect(exchange).toBeInstanceOf(X10Exchange);
    expect(exchange.id).toBe('extended');
    expect(exchange.accounts()).toEqual(['main']);
  });

  it("a Stark public key that is not the private key's is refused up front, naming the field", () => {
    const wrong = { accounts: [{ ...account, starkPublicKey: '0x1234' }] };
    expect(() => new X10Exchange(wrong)).toThrow(/accounts\[0\]\.starkPublicKey/);
    expect(
      () => new X10Exchange({ accounts: [{ ...account, starkPublicKey: ACCOUNT.starkPublicKey }] }),
    ).not.toThrow();
  });

  it('options are strict and name the bad field', () => {
    expect(() => parsePluginOptions(plugin, { ...options, apiSecret: 'x' })).toThrow(ConfigError);
    try {
      parsePluginOptions(plugin, { accounts: [{ ...account, starkPrivateKey: 'not-hex' }] });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).issues?.[0]?.path).toContain('accounts');
    }
  });
});

describe('OrderBookState', () => {
  const snapshot = {
    type: 'SNAPSHOT' as const,
    seq: 1,
    ts: 1,
    data: { b: [{ p: '100.0', q: '2' }], a: [{ p: '101', q: '1.5' }] },
  };

  it('a delta quantity is a change of the level size, and a level at zero disappears', () => {
    const book = new OrderBookState();
    expect(book.apply(snapshot)).toBe('ok');
    expect(
      book.apply({
        type: 'DELTA',
        seq: 2,
        ts: 2,
        data: { b: [{ p: '100', q: '0.5' }], a: [{ p: '101', q: '-1.5' }] },
      }),
    ).toBe('ok');
    expect(book.levels()).toEqual({ bids: [[100, 2.5]], asks: [] });
    expect(
      book.apply({
        type: 'DELTA',
        seq: 3,
        ts: 3,
        data: {
          b: [
            { p: '99.9', q: '0.1' },
            { p: '100', q: '-0.3' },
          ],
          a: [],
        },
      }),
    ).toBe('ok');
    expect(book.levels()).toEqual({
      bids: [
        [100, 2.2],
        [99.9, 0.1],
      ],
      asks: [],
    });
  });

  it('sums exactly: 0.1 + 0.2 − 0.3 leaves nothing', () => {
    const book = new OrderBookState();
    book.apply({ ...snapshot, data: { b: [{ p: '100', q: '0.1' }], a: [] } });
    book.apply({ type: 'DELTA', seq: 2, ts: 2, data: { b: [{ p: '100', q: '0.2' }], a: [] } });
    book.apply({ type: 'DELTA', seq: 3, ts: 3, data: { b: [{ p: '100', q: '-0.3' }], a: [] } });
    expect(book.levels().bids).toEqual([]);
  });

  it('a skipped sequence number, or a delta before any snapshot, is a gap and changes nothing', () => {
    const book = new OrderBookState();
    expect(book.apply({ type: 'DELTA', seq: 1, ts: 1, data: { b: [{ p: '1', q: '1' }], a: [] } })).toBe(
      'gap',
    );
    book.apply(snapshot);
    expect(book.apply({ type: 'DELTA', seq: 3, ts: 3, data: { b: [{ p: '100', q: '5' }], a: [] } })).toBe(
      'gap',
    );
    expect(book.levels().bids).toEqual([[100, 2]]);
    expect(book.sequence).toBe(1);
  });
});
