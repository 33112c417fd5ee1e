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

describe('funding-against', () => {
  const hold = (exchange: Awaited<ReturnType<typeof harness>>['exchange'], side: 'buy' | 'sell') =>
    exchange.submitOrder({ account: 'main', symbol: 'BTC', side, type: 'market', quantity: '1' });

  it('a position paying at or above againstRatePerHour alerts once per episode (under, at, over)', async () => {
    const { exchange, check } = await harness({ againstRatePerHour: 0.0001 });
    await hold(exchange, 'buy'); // the long pays a positive rate
    exchange.setFundingRate('BTC', 0.0008 - 0.00000001); // just under 0.0001/h (8 h interval)
    expect((await check()).alerts).toEqual([]);
    exchange.setFundingRate('BTC', 0.0008); // exactly at it
    const at = await check();
    expect(at.alerts?.map((alert) => alert.code)).toEqual(['FUNDING_AGAINST']); // it never earned: no flip
    expect(at.alerts?.[0]?.message).toBe('fake:BTC long pays 1.00e-2%/h, at or above 1.00e-2%/h');
    expect(at.signals).toEqual([]); // alert only by default
    exchange.setFundingRate('BTC', 0.0016); // further over: the same episode
    expect((await check()).alerts).toEqual([]);
    exchange.setFundingRate('BTC', 0.0004); // back under: the episode ends
    expect((await check()).alerts).toEqual([]);
    exchange.setFundingRate('BTC', 0.0009); // a new episode
    expect((await check()).alerts?.map((alert) => alert.code)).toEqual(['FUNDING_AGAINST']);
  });

  it('a short pays a negative rate; againstAction: close closes it (one close even when it also flips)', async () => {
    const { exchange, check } = await harness({
      againstRatePerHour: 0.0001,
      againstAction: 'close',
      action: 'close',
    });
    await hold(exchange, 'sell');
    exchange.setFundingRate('BTC', 0.0008); // the short earns
    expect((await check()).alerts).toEqual([]);
    exchange.setFundingRate('BTC', -0.0016); // now it pays 0.0002/h: a flip and funding against
    const report = await check();
    expect(report.alerts?.map((alert) => alert.code)).toEqual(['FUNDING_AGAINST', 'FUNDING_FLIP']);
    expect(report.signals).toEqual([
      expect.objectContaining({
        intent: 'close',
        symbol: 'BTC',
        reasons: [expect.objectContaining({ code: 'FUNDING_AGAINST' })],
      }),
    ]);
  });

  it('off when againstRatePerHour is left out', async () => {
    const { exchange, check } = await harness({});
    await hold(exchange, 'buy');
    exchange.setFundingRate('BTC', 0.08);
    expect((await check()).alerts).toEqual([]);
  });
});

describe('funding-flip exchanges', () => {
  it('only positions on the listed exchanges are watched', async () => {
    for (const [exchanges, expected] of [
      [['other'], []],
      [['other', 'fake'], ['FUNDING_FLIP']],
    ] as const) {
      const { exchange, check } = await harness({ exchanges });
      await exchange.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'sell',
        type: 'market',
        quantity: '1',
      });
      exchange.setFundingRate('BTC', 0.0008);
      await check();
      exchange.setFundingRate('BTC', -0.0008);
      expect((await check()).alerts?.map((alert) => alert.code)).toEqual(expected);
    }
  });
});
