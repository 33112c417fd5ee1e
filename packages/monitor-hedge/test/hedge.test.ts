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
async function harness(
  options: Record<string, unknown> = {},
  exchange: { autoFill?: boolean; prices?: Record<string, number> } = {},
) {
  const test = await createTestEngine({
    exchange: {
      markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }],
      prices: { BTC: 100, ETH: 100 },
      balance: 1e6,
      ...exchange,
    },
  });
  // Most cases judge at once; the grace cases set their own.
  const monitor = hedge.setup(
    setupContextFor(test.engine, 'hedge'),
    parsePluginOptions(hedge, { pairs: [pair], grace: 0, pendingGrace: 0, ...options }),
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
  /** Checks at `ms` after the start, on the engine clock. */
  const checkAt = async (ms: number) => {
    test.clock.advanceTo(1_700_000_000_000 + ms);
    (test.engine.state as { now: number }).now = test.clock.now();
    return check();
  };
  return { ...test, hold, check, checkAt };
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

const codes = (report: { alerts?: readonly { code: string }[] }) =>
  (report.alerts ?? []).map((alert) => alert.code);

describe('hedge monitor: broken pairs, grace, and never a zero-size signal', () => {
  it('two legs on the same side are a broken hedge: both are closed, no imbalance, no zero reduce', async () => {
    const { hold, check } = await harness();
    await hold('BTC', 3);
    await hold('ETH', 3); // both long: the "hedge" doubles the delta
    const report = await check();
    expect(codes(report)).toEqual(['BROKEN_HEDGE']);
    expect(report.alerts?.[0]?.message).toBe('btc-pair: both legs are long (fake:BTC 3, fake:ETH 3)');
    expect(report.signals).toEqual([
      expect.objectContaining({ intent: 'close', symbol: 'BTC', urgency: 'emergency' }),
      expect.objectContaining({ intent: 'close', symbol: 'ETH', urgency: 'emergency' }),
    ]);
    expect(report.signals?.some((signal) => signal.quantity === 0)).toBe(false);
  });

  it('same-side legs of different sizes are broken too (short and short)', async () => {
    const { hold, check } = await harness({ onBroken: 'alert' });
    await hold('BTC', -1);
    await hold('ETH', -4);
    const report = await check();
    expect(codes(report)).toEqual(['BROKEN_HEDGE']);
    expect(report.signals).toEqual([]);
  });

  it('grace: a broken pair waits `grace` on the engine clock (1 ms before: quiet; at it: acts)', async () => {
    const { hold, checkAt } = await harness({ grace: '10s' });
    await hold('BTC', 3);
    expect(await checkAt(0)).toEqual({ alerts: [], signals: [] });
    expect(await checkAt(9_999)).toEqual({ alerts: [], signals: [] });
    const broken = await checkAt(10_000);
    expect(codes(broken)).toEqual(['BROKEN_HEDGE']);
    expect(broken.signals).toEqual([expect.objectContaining({ intent: 'close', symbol: 'BTC' })]);
  });

  it('a pair restored within the grace never alerts', async () => {
    const { hold, checkAt } = await harness({ grace: '10s' });
    await hold('BTC', 3);
    expect(codes(await checkAt(0))).toEqual([]);
    await hold('ETH', -3);
    expect(await checkAt(5_000)).toEqual({ alerts: [], signals: [] });
    await hold('ETH', 3);
    expect(codes(await checkAt(10_000))).toEqual([]); // broken again from 10 000: the timer starts over
    expect(codes(await checkAt(20_000))).toEqual(['BROKEN_HEDGE']);
  });

  it('an order in flight on the missing leg holds the judgement up to pendingGrace, not longer', async () => {
    const { checkAt, engine, exchange } = await harness(
      { grace: '10s', pendingGrace: '1m' },
      { autoFill: false },
    );
    // The first leg of an entry filled; the second rests on the book.
    const first = await exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'limit',
      price: '100',
      quantity: '3',
    });
    exchange.fillOrder(first.id, 3);
    await exchange.submitOrder({
      account: 'main',
      symbol: 'ETH',
      side: 'sell',
      type: 'limit',
      price: '100.5',
      quantity: '3',
    });
    expect(engine.state.position('fake', 'BTC')?.quantity).toBe(3);
    expect(engine.state.hasPendingOrder('fake', 'ETH')).toBe(true);
    expect(await checkAt(0)).toEqual({ alerts: [], signals: [] });
    expect(await checkAt(30_000)).toEqual({ alerts: [], signals: [] }); // past grace, inside pendingGrace
    expect(await checkAt(59_999)).toEqual({ alerts: [], signals: [] });
    const late = await checkAt(60_000); // the second leg never came: the first is an orphan
    expect(codes(late)).toEqual(['BROKEN_HEDGE']);
    expect(late.signals).toEqual([expect.objectContaining({ intent: 'close', symbol: 'BTC' })]);
  });

  it('onImbalance: alert warns without a signal', async () => {
    const { hold, check } = await harness({ onImbalance: 'alert' });
    await hold('BTC', 10);
    await hold('ETH', -9);
    const report = await check();
    expect(codes(report)).toEqual(['DELTA_IMBALANCE']);
    expect(report.signals).toEqual([]);
  });

  it('an imbalance smaller than one lot alerts but sends no reduce', async () => {
    const { hold, check } = await harness(
      { pairs: [{ ...pair, tolerance: 0 }] },
      { prices: { BTC: 100, ETH: 100.001 } },
    );
    await hold('BTC', 10);
    await hold('ETH', -10); // net −0.01: 0.0001 ETH of excess, under the 0.001 lot
    const report = await check();
    expect(codes(report)).toEqual(['DELTA_IMBALANCE']);
    expect(report.signals).toEqual([]);
  });
});
