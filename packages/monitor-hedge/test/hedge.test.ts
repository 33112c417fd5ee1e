import { parsePluginOptions } from '@perpkit/core';
import { createTestEngine, describeMonitorContract, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import hedge from '../src/index';

const pair = {
  name: 'btc-pair',
  legs: [
    { exchange: 'fake', symbol: 'BTC' },
    { exchange: 'fake', symbol: 'ETH' },
  ],
  tolerance: 0.02,
};
describeMonitorContract('hedge', { plugin: hedge, options: { pairs: [pair] } });

/** Two "venues" are two markets of one fake exchange, both priced 100: notional = quantity × 100. */
async function harness(options: Record<string, unknown> = {}) {
  const test = await createTestEngine({
    exchange: {
      markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }],
      prices: { BTC: 100, ETH: 100 },
      balance: 1e6,
    },
  });
  const monitor = hedge.setup(
    setupContextFor(test.engine, 'hedge'),
    parsePluginOptions(hedge, { pairs: [pair], ...options }),
  );
  const hold = async (symbol: string, quantity: number) =>
    test.exchange.submitOrder({
      account: 'main',
      symbol,
      side: quantity > 0 ? 'buy' : 'sell',
      type: 'market',
      quantity: String(Math.abs(quantity)),
    });
  const check = async () => (await monitor.check(test.engine.state)) ?? {};
  return { ...test, hold, check };
}

describe('hedge monitor', () => {
  it('balanced within tolerance: just under and at it are quiet, just over rebalances the larger leg', async () => {
    const { hold, check } = await harness();
    await hold('BTC', 10);
    await hold('ETH', -9.61); // net 0.39 / gross 19.61 = 1.99 %
    expect((await check()).alerts).toEqual([]);
    await hold('ETH', 0.01); // ETH −9.60: net 0.40 / 19.60 = 2.04 %
    const over = await check();
    expect(over.alerts?.map((alert) => alert.code)).toEqual(['DELTA_IMBALANCE']);
    expect(over.signals).toEqual([
      expect.objectContaining({ intent: 'reduce', symbol: 'BTC', quantity: expect.closeTo(0.4, 10) }),
    ]);
  });

  it('exactly at the tolerance is balanced', async () => {
    const { hold, check } = await harness({ pairs: [{ ...pair, tolerance: 0.25 }] });
    await hold('BTC', 10);
    await hold('ETH', -6); // net 4 / gross 16 = 25 %
    expect((await check()).alerts).toEqual([]);
  });

  it('a missing leg is a broken hedge: a critical alert once, and the orphan closed', async () => {
    const { hold, check } = await harness();
    await hold('BTC', 3);
    const broken = await check();
    expect(broken.alerts).toEqual([expect.objectContaining({ level: 'critical', code: 'BROKEN_HEDGE' })]);
    expect(broken.signals).toEqual([
      expect.objectContaining({ intent: 'close', symbol: 'BTC', urgency: 'emergency' }),
    ]);
    expect((await check()).alerts).toEqual([]); // not repeated
    await hold('ETH', -3);
    expect((await check()).alerts?.map((alert) => alert.code)).toEqual(['HEDGE_RECOVERED']);
  });

  it('alert-only modes send no signals', async () => {
    const { hold, check } = await harness({ onBroken: 'alert', onImbalance: 'alert' });
    await hold('ETH', -2);
    expect((await check()).signals).toEqual([]);
  });
});
