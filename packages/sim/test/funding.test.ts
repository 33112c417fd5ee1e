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

describe('funding goes to whoever holds the position at the funding time', () => {
  const market = {
    symbol: 'BTC',
    tickSize: '0.1',
    lotSize: '0.001',
    maxLeverage: 10,
    fundingIntervalHours: 8,
    fundingRate: 0.001,
  };
  const accounts = [
    { id: 'main', balance: 10_000 },
    { id: 'late', balance: 10_000 },
  ];
  const bookAt = (timestamp: number) => ({
    symbol: 'BTC',
    timestamp,
    bids: [[99.9, 50] as const],
    asks: [[100.1, 50] as const],
  });

  it.each(['mark', 'book'] as const)(
    '%s model: orders at 08:30 settle the 08:00 funding first, with no market data since 07:59',
    async (fillModel) => {
      const { sim, clock, funding } = createSim({
        fillModel,
        fees: { maker: 0, taker: 0 },
        markets: [market],
        accounts,
      });
      const feed = (timestamp: number) =>
        fillModel === 'book'
          ? sim.processOrderBook(bookAt(timestamp))
          : sim.processTicker({ symbol: 'BTC', mark: 100, timestamp });
      feed(T0 + 1000);
      await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'sell', type: 'market', quantity: '2' });
      feed(T0 + 7 * HOUR + 59 * 60_000);
      clock.advanceTo(T0 + 8.5 * HOUR);
      // `main` held its short through 08:00 and closes at 08:30; `late` opens at 08:30.
      await sim.submitOrder({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'market',
        quantity: '2',
        reduceOnly: true,
      });
      await sim.submitOrder({ account: 'late', symbol: 'BTC', side: 'buy', type: 'market', quantity: '3' });
      feed(T0 + 8.5 * HOUR + 60_000);
      expect(
        funding.map((payment) => [payment.account, payment.fundingTime, payment.positionQuantity]),
      ).toEqual([['main', T0 + 8 * HOUR, -2]]);
      expect(funding[0]?.amount).toBeCloseTo(2 * 100 * 0.001, 12); // the short receives
      expect(sim.totals('late').funding).toBe(0);
    },
  );

  it('next-open model: the settlement at a bar open is paid by the position held into it, before that open fills', async () => {
    const { sim, funding } = createSim({
      fillModel: 'next-open',
      fees: { maker: 0, taker: 0 },
      markets: [market],
      accounts,
    });
    const hourly = (hour: number) => ({
      timestamp: T0 + hour * HOUR,
      open: 100,
      high: 101,
      low: 99,
      close: 100,
      volume: 1,
    });
    sim.processCandle('BTC', hourly(0), HOUR);
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'sell', type: 'market', quantity: '2' });
    for (let hour = 1; hour <= 7; hour += 1) sim.processCandle('BTC', hourly(hour), HOUR);
    // Decided after the 07:00 bar: both execute at the 08:00 open, after the 08:00 settlement.
    await sim.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '2',
      reduceOnly: true,
    });
    await sim.submitOrder({ account: 'late', symbol: 'BTC', side: 'buy', type: 'market', quantity: '3' });
    sim.processCandle('BTC', hourly(8), HOUR);
    sim.processCandle('BTC', hourly(9), HOUR);
    expect(
      funding.map((payment) => [payment.account, payment.fundingTime, payment.positionQuantity]),
    ).toEqual([['main', T0 + 8 * HOUR, -2]]);
  });
});

describe('funding idempotency, history and inputs', () => {
  const hourly = {
    symbol: 'BTC',
    tickSize: '0.1',
    lotSize: '0.001',
    maxLeverage: 10,
    fundingIntervalHours: 1,
    fundingRate: 0.0001,
  };

  it('applies funding times out of order once each: 16:00 then 08:00 both apply, neither twice', async () => {
    const { sim, funding } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '1' });
    expect(sim.applyFunding('BTC', T0 + 16 * HOUR, 0.001, 100)).toBe(true);
    expect(sim.applyFunding('BTC', T0 + 8 * HOUR, 0.002, 100)).toBe(true);
    expect(sim.applyFunding('BTC', T0 + 8 * HOUR, 0.002, 100)).toBe(false);
    expect(sim.applyFunding('BTC', T0 + 16 * HOUR, 0.001, 100)).toBe(false);
    // The grid reaching 08:00 and 16:00 finds both applied.
    for (let hour = 1; hour <= 17; hour += 1)
      sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + hour * HOUR });
    expect(funding.map((payment) => (payment.fundingTime - T0) / HOUR)).toEqual([16, 8]);
    expect(sim.totals('main').funding).toBeCloseTo(-0.1 - 0.2, 12);
    expect(new Set(funding.map((payment) => payment.id)).size).toBe(2);
  });

  it('keeps a bounded set of applied keys: recent gaps still apply, times older than the window count as applied', async () => {
    const { sim, funding } = createSim({ markets: [hourly] });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '1' });
    for (let hour = 1; hour <= 2000; hour += 1)
      if (hour !== 1990) expect(sim.applyFunding('BTC', T0 + hour * HOUR, 0.0001, 100)).toBe(true);
    expect(sim.applyFunding('BTC', T0 + 1990 * HOUR, 0.0001, 100)).toBe(true); // a recent gap
    expect(sim.applyFunding('BTC', T0 + 1990 * HOUR, 0.0001, 100)).toBe(false);
    expect(sim.applyFunding('BTC', T0 + 5 * HOUR, 0.0001, 100)).toBe(false); // pruned: counts as applied
    expect(sim.applyFunding('BTC', T0 + 5.5 * HOUR, 0.0001, 100)).toBe(false); // before the window
    expect(funding).toHaveLength(2000);
    const history = await sim.fetchFundingHistory({ symbol: 'BTC' });
    expect(history.length).toBeLessThanOrEqual(1024);
    expect(history.at(-1)?.timestamp).toBe(T0 + 2000 * HOUR);
  });

  it('fetchFundingHistory returns the settlements of a constant rate, filtered and limited', async () => {
    const { sim } = createSim({
      markets: [{ ...hourly, fundingIntervalHours: 8, fundingRate: 0.0008 }],
    });
    for (let hour = 0; hour <= 24; hour += 1)
      sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + hour * HOUR });
    const history = await sim.fetchFundingHistory({ symbol: 'BTC' });
    expect(history.map((rate) => [(rate.timestamp - T0) / HOUR, rate.rate, rate.intervalHours])).toEqual([
      [0, 0.0008, 8],
      [8, 0.0008, 8],
      [16, 0.0008, 8],
      [24, 0.0008, 8],
    ]);
    expect(history[1]?.ratePerHour).toBeCloseTo(0.0001, 15);
    const window = await sim.fetchFundingHistory({ symbol: 'BTC', from: T0 + HOUR, to: T0 + 20 * HOUR });
    expect(window.map((rate) => rate.timestamp)).toEqual([T0 + 8 * HOUR, T0 + 16 * HOUR]);
    expect(
      (await sim.fetchFundingHistory({ symbol: 'BTC', limit: 1 })).map((rate) => rate.timestamp),
    ).toEqual([T0 + 24 * HOUR]);
  });

  it('setFundingMarks: settlements use the mark at the funding time, not the traded price', async () => {
    const { sim, funding } = createSim({ markets: [hourly] });
    sim.setFundingMarks('BTC', [
      { time: T0 + 2 * HOUR, price: 120 },
      { time: T0, price: 110 },
    ]);
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '2' });
    for (let hour = 1; hour <= 3; hour += 1)
      sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + hour * HOUR });
    expect(funding.map((payment) => [(payment.fundingTime - T0) / HOUR, payment.markPrice])).toEqual([
      [1, 110], // the last mark at or before 01:00 is the 00:00 one
      [2, 120],
      [3, 120],
    ]);
    expect(funding[0]?.amount).toBeCloseTo(-2 * 110 * 0.0001, 12);
    expect(funding[1]?.amount).toBeCloseTo(-2 * 120 * 0.0001, 12);
  });

  it('processFundingRate sets the rate of the next settlements and announces it; a loaded series wins', async () => {
    const { sim, funding } = createSim({ markets: [hourly] });
    const announced: number[] = [];
    sim.events.on('fundingRate', (rate) => {
      if (rate.predicted) announced.push(rate.rate);
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'sell', type: 'market', quantity: '1' });
    sim.processFundingRate('BTC', -0.0005, T0 + 2000);
    expect(announced).toEqual([-0.0005]);
    expect((await sim.fetchFundingRate('BTC')).rate).toBe(-0.0005);
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + HOUR });
    expect(funding.at(-1)).toMatchObject({ rate: -0.0005 });
    expect(funding.at(-1)?.amount).toBeCloseTo(-100 * 0.0005, 12); // a negative rate: the short pays
    sim.setFundingSeries('BTC', [{ time: T0 + 2 * HOUR, rate: 0.0003 }]);
    sim.processFundingRate('BTC', 0.009);
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 2 * HOUR });
    expect(funding.at(-1)).toMatchObject({ rate: 0.0003, fundingTime: T0 + 2 * HOUR });
  });

  it('a funding payment that pushes an account under maintenance liquidates it at the mark', async () => {
    const { sim, liquidations } = createSim({
      fees: { maker: 0, taker: 0 },
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '90' });
    // Equity 1000, maintenance 450: a 6 % payment (540) leaves 460 and 1.8 more leaves 458.2, both
    // above; 18 more leaves 440.2, below.
    expect(sim.applyFunding('BTC', T0 + 8 * HOUR, 0.06, 100)).toBe(true);
    expect(liquidations).toHaveLength(0);
    expect(sim.applyFunding('BTC', T0 + 16 * HOUR, 0.0002, 100)).toBe(true);
    expect(liquidations).toHaveLength(0);
    expect(sim.applyFunding('BTC', T0 + 24 * HOUR, 0.002, 100)).toBe(true);
    expect(liquidations.map((entry) => [entry.price, entry.quantity])).toEqual([[100, 90]]);
  });
});

describe('funding over a long gap', () => {
  it('a clock far ahead of the data, with nobody holding, settles in bounded work and marks the gap applied', async () => {
    const { sim, clock, funding } = createSim({
      markets: [
        { symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', fundingIntervalHours: 1, fundingRate: 0.0001 },
      ],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const later = T0 + 10 * 365 * 24 * HOUR + 30 * 60_000; // ten years on, at half past the hour
    clock.advanceTo(later);
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '1' });
    const history = await sim.fetchFundingHistory({ symbol: 'BTC' });
    expect(history.length).toBeLessThanOrEqual(1024);
    expect(history.at(-1)?.timestamp).toBe(later - 30 * 60_000);
    expect(sim.applyFunding('BTC', T0 + 5 * HOUR, 0.0001, 100)).toBe(false); // inside the skipped gap
    // The position opened after all of it pays only what falls due while it is held.
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: later + HOUR });
    expect(funding.map((payment) => payment.fundingTime)).toEqual([later + 30 * 60_000]);
  });
});

describe('funding before capital moves', () => {
  it('a withdrawal counts funding already due by the clock', async () => {
    const { sim, clock } = createSim({
      fees: { maker: 0, taker: 0 },
      markets: [
        {
          symbol: 'BTC',
          tickSize: '0.1',
          lotSize: '0.001',
          maxLeverage: 10,
          fundingIntervalHours: 8,
          fundingRate: 0.01,
        },
      ],
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '50' });
    clock.advanceTo(T0 + 8 * HOUR + 1);
    // Free collateral was 500 before 08:00; the 08:00 payment (50 × 100 × 1 % = 50) leaves 450.
    await expect(sim.withdraw('main', 'USD', 460)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(sim.totals('main').funding).toBeCloseTo(-50, 9);
    await sim.withdraw('main', 'USD', 440);
  });
});
