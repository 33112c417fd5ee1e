import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { DriftExchange } from '../src/exchange';
import { FakeJitoBlockEngine } from '../src/fake-rpc';
import { rejection, startVenue, type Venue } from './helpers';

let venue: Venue | undefined;
let engine: FakeJitoBlockEngine | undefined;
afterEach(async () => {
  await venue?.stop();
  await engine?.stop();
  venue = undefined;
  engine = undefined;
});

async function withJito(fallbackToRpc = true): Promise<{ v: Venue; jito: FakeJitoBlockEngine }> {
  const v = await startVenue();
  venue = v;
  engine = await new FakeJitoBlockEngine(v.rpc).start();
  const jito = engine;
  // The same adapter options, sending through the block engine (which forwards to the fake RPC).
  const exchange = new DriftExchange({
    ...v.exchange.options,
    sender: { type: 'jito', url: jito.url, tipLamports: 5_000, fallbackToRpc },
  });
  venue = {
    ...v,
    exchange,
    async stop() {
      await exchange.close();
      await v.rpc.stop();
    },
  };
  await exchange.connect();
  return { v: venue, jito };
}

describe('Jito bundle sender', () => {
  it('sends the transaction with a tip transaction to a block-engine tip account', async () => {
    const { v, jito } = await withJito();
    const order = await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(order.status).toBe('filled');
    expect(jito.bundles).toHaveLength(1);
    expect(jito.bundles[0]?.tipLamports).toBe(5_000n);
    expect(jito.bundles[0]?.signatures).toHaveLength(2);
    // Neither transaction went through the RPC's sendTransaction: the block engine forwarded both.
    expect(v.rpc.calls.filter((method) => method === 'sendTransaction')).toHaveLength(0);
  });

  it('falls back to the RPC when the block engine refuses the bundle', async () => {
    const { v, jito } = await withJito(true);
    jito.refuseNextBundles(1);
    const order = await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '1',
    });
    expect(order.status).toBe('filled');
    expect(jito.bundles).toHaveLength(0);
    expect(v.rpc.calls.filter((method) => method === 'sendTransaction')).toHaveLength(1);
    await waitFor(
      async () => (await v.exchange.fetchPositions('main'))[0]?.quantity === -1,
      5_000,
      'the position',
    );
  });

  it('without fallback, a refused bundle fails the order (retryable: nothing was sent)', async () => {
    const { v, jito } = await withJito(false);
    jito.refuseNextBundles(1);
    const error = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    expect(error.code).toBe('TRANSACTION_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/block engine sendBundle: HTTP 503/);
    expect(await v.exchange.fetchPositions('main')).toEqual([]);
  });
});
