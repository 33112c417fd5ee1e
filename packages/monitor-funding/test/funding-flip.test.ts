import { parsePluginOptions } from '@perpkit/core';
import { createTestEngine, describeMonitorContract, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import fundingFlip from '../src/index';

describeMonitorContract('funding-flip', { plugin: fundingFlip, options: {} });

async function harness(options: Record<string, unknown> = {}) {
  const test = await createTestEngine({ exchange: { prices: { BTC: 100 } } });
  const monitor = fundingFlip.setup(
    setupContextFor(test.engine, 'funding-flip'),
    parsePluginOptions(fundingFlip, options),
  );
  const check = async () => (await monitor.check(test.engine.state)) ?? {};
  return { ...test, check };
}

describe('funding-flip monitor', () => {
  it('a short earning a positive rate flips when the rate turns negative', async () => {
    const { exchange, check } = await harness({ action: 'close' });
    await exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'sell',
      type: 'market',
      quantity: '1',
    });
    exchange.setFundingRate('BTC', 0.0008); // per 8h: the short earns
    expect((await check()).alerts).toEqual([]);
    exchange.setFundingRate('BTC', -0.0008);
    const flipped = await check();
    expect(flipped.alerts?.map((alert) => alert.code)).toEqual(['FUNDING_FLIP']);
    expect(flipped.signals).toEqual([expect.objectContaining({ intent: 'close', symbol: 'BTC' })]);
    expect((await check()).alerts).toEqual([]); // once per flip
  });

  it('rates under the threshold are noise; a position that never earned does not "flip"', async () => {
    const { exchange, check } = await harness({ minRatePerHour: 0.0001 });
    await exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    exchange.setFundingRate('BTC', -0.0008 + 0.00000001); // 0.0001/h − ε: under the threshold (8h interval)
    expect((await check()).alerts).toEqual([]);
    exchange.setFundingRate('BTC', 0.0016); // the long pays from the start: no flip
    expect((await check()).alerts).toEqual([]);
    exchange.setFundingRate('BTC', -0.0016); // now it earns...
    await check();
    exchange.setFundingRate('BTC', 0.0008); // exactly at the threshold (0.0001/h) counts, and it pays again
    expect((await check()).alerts?.map((alert) => alert.code)).toEqual(['FUNDING_FLIP']);
  });
});
