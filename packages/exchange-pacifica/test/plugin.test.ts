import { parsePluginOptions, validatePlugin } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { PacificaExchange } from '../src/exchange';
import pacifica from '../src/index';
import { PRIMARY, RFC8032_TEST2_SEED, SDK_EXAMPLE_PRIVATE_KEY, SECONDARY, startVenue } from './helpers';

describe('the pacifica plugin', () => {
  it('is a valid exchange plugin, and creating it opens nothing', () => {
    expect(validatePlugin(pacifica, 'pacifica', { expectedKind: 'exchange' })).toBe(pacifica);
    const exchange = pacifica.create(
      { id: 'pacifica', mode: 'paper', clock: { now: () => 0 } as never, logger: console as never },
      parsePluginOptions(pacifica, { accounts: [{ id: 'primary', secretKey: SDK_EXAMPLE_PRIVATE_KEY }] }),
    );
    expect(exchange).toBeInstanceOf(PacificaExchange);
    expect(exchange.accounts()).toEqual(['primary']);
  });

  it('runs from runner-style options pointing baseUrl and wsUrl at the simulator', async () => {
    const { simulator, restUrl, wsUrl, exchange: unused } = await startVenue();
    await unused.close();
    const options = parsePluginOptions(
      pacifica,
      {
        baseUrl: restUrl,
        wsUrl,
        accounts: [
          { id: 'primary', secretKey: SDK_EXAMPLE_PRIVATE_KEY },
          { id: 'secondary', secretKey: RFC8032_TEST2_SEED },
        ],
      },
      { pathPrefix: 'exchanges.pacifica.options' },
    );
    const exchange = pacifica.create(
      { id: 'pacifica', mode: 'paper', clock: { now: () => Date.now() } as never, logger: console as never },
      options,
    );
    try {
      await exchange.connect();
      expect(exchange.accounts()).toEqual(['primary', 'secondary']);
      expect((await exchange.fetchTicker('BTC')).mark).toBeGreaterThan(0);
      expect((await exchange.fetchAccount('secondary')).equity).toBe(100_000);
    } finally {
      await exchange.close();
      await simulator.stop();
    }
  });

  it('options are strict and name the field', () => {
    expect(() =>
      parsePluginOptions(pacifica, { accounts: [{ secretKey: SDK_EXAMPLE_PRIVATE_KEY }], apikey: 'x' }),
    ).toThrow(/apikey/);
    expect(() => parsePluginOptions(pacifica, { accounts: [] })).toThrow(/accounts/);
    expect(() =>
      parsePluginOptions(pacifica, {
        accounts: [
          { id: 'a', secretKey: SDK_EXAMPLE_PRIVATE_KEY },
          { id: 'a', secretKey: RFC8032_TEST2_SEED },
        ],
      }),
    ).toThrow(/duplicate account id a/);
  });

  it('never puts a key in an error message', () => {
    const secret = `${SDK_EXAMPLE_PRIVATE_KEY.slice(0, -3)}000`;
    try {
      new PacificaExchange({ accounts: [{ secretKey: secret }] });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(secret.slice(0, 20));
    }
  });
});

describe('several accounts at once', () => {
  it('a primary and a secondary trade opposite sides; fills, orders and positions stay with their account', async () => {
    const { simulator, exchange } = await startVenue();
    try {
      await exchange.connect();
      const fills: { account: string; side: string; quantity: number }[] = [];
      exchange.events.on('fill', (fill) =>
        fills.push({ account: fill.account, side: fill.side, quantity: fill.quantity }),
      );
      const [long, short] = await Promise.all([
        exchange.submitOrder({
          account: 'primary',
          symbol: 'ETH',
          side: 'buy',
          type: 'market',
          quantity: '0.5',
        }),
        exchange.submitOrder({
          account: 'secondary',
          symbol: 'ETH',
          side: 'sell',
          type: 'market',
          quantity: '0.5',
        }),
      ]);
      expect(long.account).toBe('primary');
      expect(short.account).toBe('secondary');
      const position = async (account: string) =>
        (await exchange.fetchPositions(account)).find((item) => item.symbol === 'ETH')?.quantity ?? 0;
      for (let attempt = 0; attempt < 100 && fills.length < 2; attempt += 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await position('primary')).toBe(0.5);
      expect(await position('secondary')).toBe(-0.5);
      expect(fills).toEqual(
        expect.arrayContaining([
          { account: 'primary', side: 'buy', quantity: 0.5 },
          { account: 'secondary', side: 'sell', quantity: 0.5 },
        ]),
      );
      // The venue side agrees: the simulator's own books by account address.
      expect(
        (await simulator.sim.fetchPositions(PRIMARY)).find((item) => item.symbol === 'ETH')?.quantity,
      ).toBe(0.5);
      expect(
        (await simulator.sim.fetchPositions(SECONDARY)).find((item) => item.symbol === 'ETH')?.quantity,
      ).toBe(-0.5);
      const [primary, secondary] = await Promise.all([
        exchange.fetchAccount('primary'),
        exchange.fetchAccount('secondary'),
      ]);
      expect(primary.positions).toHaveLength(1);
      expect(secondary.positions[0]?.quantity).toBe(-0.5);
      await exchange.setLeverage('secondary', 'ETH', 5);
      expect(simulator.leverageOf(SECONDARY, 'ETH')).toBe(5);
      await exchange.setPositionTpsl({
        account: 'primary',
        symbol: 'ETH',
        side: 'sell',
        stopLoss: { stopPrice: '3000' },
      });
      const stopId = await exchange.submitStopOrder({
        account: 'secondary',
        symbol: 'ETH',
        side: 'buy',
        quantity: '0.5',
        stopPrice: '4000',
      });
      expect(stopId).toMatch(/^\d+$/);
      expect(simulator.stops().map((stop) => [stop.account, stop.stopPrice])).toEqual([
        [PRIMARY, '3000'],
        [SECONDARY, '4000'],
      ]);
      const mark = (await exchange.fetchTicker('ETH')).mark;
      const results = await exchange.submitBatch(
        [0.9, 0.8].map((factor) => ({
          account: 'primary',
          symbol: 'ETH',
          side: 'buy' as const,
          type: 'limit' as const,
          price: (Math.floor(mark * factor * 10) / 10).toFixed(1),
          quantity: '0.01',
        })),
      );
      expect(results.map((result) => result.success)).toEqual([true, true]);
      expect(await exchange.cancelAllOrders({ account: 'primary', symbol: 'ETH' })).toBe(2);
    } finally {
      await exchange.close();
      await simulator.stop();
    }
  });
});
