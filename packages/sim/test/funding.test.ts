import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSim, HOUR, T0 } from './helpers';

const DATA = new URL('../../../../shared/data/', import.meta.url);

/** Binance BTC funding (8h): times floored to the second to drop the millisecond jitter. */
function binanceFunding(from: number, to: number) {
  return readFileSync(new URL('gg-cmk-binance-quant/BTCUSDT-funding.csv', DATA), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','))
    .map(([time, , rate]) => ({ time: Math.floor(Number(time) / 1000) * 1000, rate: Number(rate) }))
    .filter((point) => point.time >= from && point.time <= to);
}

/** Hyperliquid BTC funding (1h). */
function hyperliquidFunding(from: number, to: number) {
  return readFileSync(new URL('rishisidhu-hyperliquid-funding/funding_history.csv', DATA), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','))
    .filter(([coin]) => coin === 'BTC')
    .map(([, time, rate]) => ({
      time: Math.floor(Date.parse((time as string).replace(' ', 'T')) / 1000) * 1000,
      rate: Number(rate),
    }))
    .filter((point) => point.time >= from && point.time <= to);
}

describe('funding', () => {
  it('settles hourly on a 1h venue, at the mark, longs paying a positive rate', async () => {
    const { sim, funding } = createSim({
      markets: [
        {
          symbol: 'BTC',
          tickSize: '0.1',
          lotSize: '0.001',
          maxLeverage: 10,
          fundingIntervalHours: 1,
          fundingRate: 0.0001,
        },
      ],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '2' });
    for (let minute = 1; minute <= 5 * 60; minute += 1)
      sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + minute * 60_000 });
    expect(funding.map((payment) => payment.fundingTime)).toEqual(
      [1, 2, 3, 4, 5].map((hour) => T0 + hour * HOUR),
    );
    for (const payment of funding)
      expect(payment).toMatchObject({ amount: -0.02, settled: true, intervalHours: 1, rate: 0.0001 });
    expect(sim.totals('main').funding).toBeCloseTo(-0.1, 12);
  });

  it('settles every 8 hours on an 8h venue and keeps accrued apart from settled', async () => {
    const { sim, funding } = createSim({
      markets: [
        {
          symbol: 'BTC',
          tickSize: '0.1',
          lotSize: '0.001',
          maxLeverage: 10,
          fundingIntervalHours: 8,
          fundingRate: 0.0008,
        },
      ],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'sell', type: 'market', quantity: '1' });
    for (let hour = 1; hour <= 28; hour += 1)
      sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + hour * HOUR });
    expect(funding.map((payment) => (payment.fundingTime - T0) / HOUR)).toEqual([8, 16, 24]);
    expect(funding.every((payment) => payment.amount === 0.08)).toBe(true); // the short receives
    const position = (await sim.fetchPositions('main'))[0];
    expect(position?.fundingSettled).toBeCloseTo(0.24, 12);
    expect(position?.fundingAccrued).toBeCloseTo(0.08 * (4 / 8), 12); // 4 of 8 hours into the period
  });

  it('is idempotent by instrument and funding time: nothing is applied twice', async () => {
    const { sim, funding } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '1' });
    expect(sim.applyFunding('BTC', T0 + 8 * HOUR, 0.001, 100)).toBe(true);
    expect(sim.applyFunding('BTC', T0 + 8 * HOUR, 0.001, 100)).toBe(false);
    expect(sim.applyFunding('BTC', T0 + 7 * HOUR, 0.001, 100)).toBe(false);
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 9 * HOUR }); // the grid's 8h settlement was already applied
    expect(funding).toHaveLength(1);
    expect(sim.totals('main').funding).toBeCloseTo(-0.1, 12);
  });

  it("applies a real venue's series at its own cadence: Binance 8h and Hyperliquid 1h BTC", async () => {
    const from = Date.UTC(2026, 4, 1);
    const to = Date.UTC(2026, 4, 8);
    const runs = [
      { name: 'binance', interval: 8, series: binanceFunding(from + 1, to) },
      { name: 'hyperliquid', interval: 1, series: hyperliquidFunding(from + 1, to) },
    ];
    for (const run of runs) {
      const { sim, funding } = createSim(
        {
          markets: [
            {
              symbol: 'BTC',
              tickSize: '0.1',
              lotSize: '0.001',
              maxLeverage: 10,
              fundingIntervalHours: run.interval,
            },
          ],
        },
        from,
      );
      sim.setFundingSeries('BTC', run.series);
      sim.processTicker({ symbol: 'BTC', mark: 80_000, timestamp: from });
      await sim.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'sell',
        type: 'market',
        quantity: '0.1',
      });
      for (let time = from; time <= to; time += HOUR)
        sim.processTicker({ symbol: 'BTC', mark: 80_000, timestamp: time });
      expect(funding).toHaveLength(run.series.length);
      expect(funding.length).toBe(run.interval === 8 ? 21 : 168);
      const expected = run.series.reduce((sum, point) => sum + 0.1 * 80_000 * point.rate, 0);
      expect(sim.totals('main').funding).toBeCloseTo(expected, 9);
      expect(funding.every((payment) => payment.intervalHours === run.interval)).toBe(true);
    }
  });
});

describe('accounts, margin and liquidation', () => {
  it('liquidates when equity falls below maintenance, at the liquidation price, with a fee', async () => {
    const { sim, liquidations, fills } = createSim({
      fees: { maker: 0, taker: 0 },
      markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 10, fundingRate: 0 }],
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100_000, timestamp: T0 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '0.09' });
    // equity = 1000 + (p − 100 000)·0.09 = maintenance 0.05·0.09·p  →  p = 8000 / 0.0855
    const expected = 8000 / 0.0855;
    expect(sim.liquidationPrice('main', 'BTC')).toBeCloseTo(expected, 6);
    expect((await sim.fetchPositions('main'))[0]?.liquidationPrice).toBeCloseTo(expected, 6);
    sim.processTicker({ symbol: 'BTC', mark: 93_600, timestamp: T0 + 1 }); // above it: nothing happens
    expect(liquidations).toHaveLength(0);
    sim.processTicker({ symbol: 'BTC', mark: 93_500, timestamp: T0 + 2 });
    expect(liquidations).toHaveLength(1);
    expect(liquidations[0]?.price).toBeCloseTo(93_500, 6); // the mark jumped through: executes at the mark
    expect(fills.at(-1)).toMatchObject({ side: 'sell', quantity: 0.09, reduceOnly: true });
    const account = await sim.fetchAccount('main');
    expect(account.positions).toEqual([]);
    expect(account.collateral).toBeCloseTo(1000 + (93_500 - 100_000) * 0.09 - 0.09 * 93_500 * 0.01, 9);
  });

  it('reports health, leverage and free collateral from cross margin', async () => {
    const { sim } = createSim({ fees: { maker: 0, taker: 0 } });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '20' });
    await sim.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'limit',
      price: '50',
      quantity: '10',
    });
    const account = await sim.fetchAccount('main');
    expect(account).toMatchObject({
      equity: 10_000,
      marginUsed: 200 + 50,
      maintenanceMargin: 100,
      leverage: 0.2,
    });
    expect(account.healthRatio).toBeCloseTo(0.99, 12);
    expect(account.freeCollateral).toBe(10_000 - 250);
  });

  it('keeps unsettled PnL apart until settled, and moves capital between sub-accounts', async () => {
    const { sim } = createSim({
      fees: { maker: 0, taker: 0 },
      pnlSettlement: 'manual',
      accounts: [
        { id: 'main', balance: 10_000 },
        { id: 'hedge', parent: 'main', balance: 0 },
      ],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '10' });
    sim.processTicker({ symbol: 'BTC', mark: 110, timestamp: T0 + 1 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'sell', type: 'market', quantity: '10' });
    expect(await sim.fetchAccount('main')).toMatchObject({
      collateral: 10_000,
      unsettledPnl: 100,
      equity: 10_100,
    });
    expect(sim.settlePnl('main')).toBe(100);
    expect(await sim.fetchAccount('main')).toMatchObject({ collateral: 10_100, unsettledPnl: 0 });
    await sim.transfer('main', 'hedge', 2_500);
    expect((await sim.fetchAccount('hedge')).collateral).toBe(2_500);
    await expect(sim.withdraw('hedge', 'USD', 2_500.01)).rejects.toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
    });
    await expect(sim.deposit('hedge', 'USD', -5)).rejects.toThrow(/must be positive/);
  });
});
