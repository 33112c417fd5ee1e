import { describe, expect, it } from 'vitest';
import { PriceLevelBook } from '../src/order-book';
import {
  fromVenueInteger,
  fundingHistoryRowToHourly,
  fundingRatesEndpointToHourly,
  percentPerHourToHourly,
  stepOf,
  toVenueInteger,
  tradeFee,
} from '../src/units';
import { accountAllMessageSchema } from '../src/wire';

describe('scaled integers', () => {
  it('prices and sizes become the venue integers exactly, and off-grid values are refused', () => {
    expect(stepOf(0)).toBe('1');
    expect(stepOf(2)).toBe('0.01');
    expect(toVenueInteger('3000.01', 2)).toBe(300_001n);
    expect(toVenueInteger('0.1', 4)).toBe(1_000n);
    // 0.1 + 0.2 as a double is not on the 0.01 grid of a 2-decimal market: no silent rounding.
    expect(toVenueInteger(String(0.1 + 0.2), 2)).toBeUndefined();
    expect(toVenueInteger('3000.005', 2)).toBeUndefined();
    expect(fromVenueInteger(300_001n, 2)).toBe(3000.01);
  });
});

describe('funding units (the README states the reading)', () => {
  it('/funding-rates: a fraction per 8 hours, divided by 8', () => {
    expect(fundingRatesEndpointToHourly('0.0008')).toBeCloseTo(0.0001, 15);
    expect(fundingRatesEndpointToHourly(-0.0004)).toBeCloseTo(-0.00005, 15);
  });

  it('/fundings: an unsigned percent per hour, signed by the paying side', () => {
    expect(fundingHistoryRowToHourly('0.0012', 'long')).toBeCloseTo(0.000012, 15);
    expect(fundingHistoryRowToHourly('0.0012', 'short')).toBeCloseTo(-0.000012, 15);
    expect(fundingHistoryRowToHourly('-0.0012', 'short')).toBeCloseTo(-0.000012, 15);
    expect(() => fundingHistoryRowToHourly('0.0012', 'sideways')).toThrow(/direction/);
  });

  it('market_stats and position funding: a signed percent per hour', () => {
    expect(percentPerHourToHourly('0.0057')).toBeCloseTo(0.000057, 15);
    expect(percentPerHourToHourly('-0.01')).toBeCloseTo(-0.0001, 15);
  });

  it('the three readings agree on one hourly rate', () => {
    const hourly = 0.0000125;
    expect(fundingRatesEndpointToHourly(hourly * 8)).toBeCloseTo(hourly, 15);
    expect(fundingHistoryRowToHourly(hourly * 100, 'long')).toBeCloseTo(hourly, 15);
    expect(percentPerHourToHourly(hourly * 100)).toBeCloseTo(hourly, 15);
  });

  it('trade fees: millionths of the notional', () => {
    expect(tradeFee(25, 40)).toBeCloseTo(0.001, 15);
    expect(tradeFee(10.113861, 280)).toBeCloseTo(0.00283188108, 14);
    expect(tradeFee(100, undefined)).toBe(0);
  });
});

describe('order book from absolute-size updates', () => {
  it('applies a snapshot, then absolute sizes per level, and size 0 removes the level', () => {
    const book = new PriceLevelBook();
    book.apply('bids', [
      { price: '2999.90', size: '1.5' },
      { price: '2999.80', size: '2' },
    ]);
    book.apply('asks', [
      { price: '3000.10', size: '1' },
      { price: '3000.20', size: '3' },
    ]);
    // An update gives the new size (not a change), 0 deletes, a new price adds.
    book.apply('bids', [
      { price: '2999.9', size: '0.5' },
      { price: '2999.80', size: '0' },
      { price: '2999.70', size: '4' },
    ]);
    book.apply('asks', [{ price: '3000.10', size: '0' }]);
    expect(book.levels()).toEqual({
      bids: [
        [2999.9, 0.5],
        [2999.7, 4],
      ],
      asks: [[3000.2, 3]],
    });
    expect(() => book.apply('asks', [{ price: 'x', size: '1' }])).toThrow(/not numeric/);
    book.reset();
    expect(book.levels()).toEqual({ bids: [], asks: [] });
  });
});

describe('account_all payloads', () => {
  const trade = {
    trade_id: 5,
    market_id: 1,
    size: '0.0002',
    price: '90000',
    usd_amount: '18',
    ask_account_id: 5,
    bid_account_id: 9,
    is_maker_ask: true,
    ask_client_id: 101,
    maker_fee: 0,
    timestamp: 1_700_000_000_000,
  };

  it('reads lists keyed by market index and flat lists alike', () => {
    const keyed = accountAllMessageSchema.parse({
      type: 'update/account_all',
      channel: 'account_all:5',
      trades: { '1': [trade, { ...trade, trade_id: 6 }] },
      positions: { '1': { market_id: 1, sign: -1, position: '0.0002' } },
    });
    const flat = accountAllMessageSchema.parse({
      type: 'update/account_all',
      channel: 'account_all:5',
      trades: [trade, { ...trade, trade_id: 6 }],
      positions: [{ market_id: 1, sign: -1, position: '0.0002' }],
    });
    expect(keyed.trades?.map((item) => item.trade_id)).toEqual([5, 6]);
    expect(flat.trades).toEqual(keyed.trades);
    expect(keyed.positions).toEqual(flat.positions);
  });

  it('keeps only the fields it reads and refuses a malformed trade', () => {
    const parsed = accountAllMessageSchema.parse({
      type: 'update/account_all',
      channel: 'account_all:5',
      trades: { '1': [{ ...trade, mystery: 'field' }] },
    });
    expect(parsed.trades?.[0]).not.toHaveProperty('mystery');
    expect(
      accountAllMessageSchema.safeParse({
        type: 'update/account_all',
        channel: 'account_all:5',
        trades: { '1': [{ ...trade, size: undefined }] },
      }).success,
    ).toBe(false);
  });
});
