import { describe, expect, it } from 'vitest';
import { commonQuantity, evaluateEntry, fundingArbOptions, quantityWithin, walkBook } from '../src/index';
import { market, stubState } from './stub-state';

const ALPHA_BOOK = {
  bids: [
    [99.9, 5],
    [99.5, 10],
  ],
  asks: [
    [100.0, 1],
    [100.2, 2],
    [100.5, 10],
  ],
} as const;
const BETA_BOOK = {
  bids: [
    [100.4, 1.5],
    [100.2, 3],
  ],
  asks: [
    [100.6, 5],
    [101.0, 10],
  ],
} as const;

function entryOptions(overrides: Record<string, unknown> = {}) {
  return fundingArbOptions.parse({
    markets: [
      {
        asset: 'BTC',
        venues: [
          { exchange: 'alpha', symbol: 'BTC' },
          { exchange: 'beta', symbol: 'BTC' },
        ],
      },
    ],
    entry: { maxNotional: 1000, maxSlippageBps: 10, holdHours: 72, minNetEvBps: 1, ...overrides },
  }).entry;
}

const legs = {
  long: {
    ref: { exchange: 'alpha', symbol: 'BTC', account: 'main' },
    market: market('alpha', { lotSize: '0.1', takerFeeRate: 0.0005, makerFeeRate: 0.0002 }),
  },
  short: {
    ref: { exchange: 'beta', symbol: 'BTC', account: 'main' },
    market: market('beta', {
      lotSize: '0.1',
      takerFeeRate: 0.0004,
      makerFeeRate: 0.0001,
      fundingIntervalHours: 1,
    }),
  },
};

describe('depth walk', () => {
  it('prices a walk against a reference, and refuses size beyond the visible book', () => {
    const walk = walkBook(ALPHA_BOOK.asks, 2.5, 99.95);
    // 1 @ 100 + 1.5 @ 100.2 = 250.3 → 100.12 average, 0.425 worse than 2.5 @ 99.95.
    expect(walk?.average).toBeCloseTo(100.12, 12);
    expect(walk?.cost).toBeCloseTo(0.425, 12);
    expect(walkBook(ALPHA_BOOK.asks, 13.5, 99.95)).toBeUndefined();
  });

  it('sizes from liquidity: the largest quantity within the slippage budget, on either side', () => {
    // Buy: limit 99.95 × 1.001 = 100.04995; all of 1 @ 100, then x @ 100.2 with
    // (100 + 100.2 x) / (1 + x) = 100.04995 → x = 0.04995 / 0.15005.
    expect(quantityWithin(ALPHA_BOOK.asks, 99.95, 10, 'buy')).toBeCloseTo(1 + 0.04995 / 0.15005, 10);
    // Sell: limit 100.5 × 0.999 = 100.3995; all of 1.5 @ 100.4, then x = 0.00075 / 0.1995 @ 100.2.
    expect(quantityWithin(BETA_BOOK.bids, 100.5, 10, 'sell')).toBeCloseTo(1.5 + 0.00075 / 0.1995, 10);
    expect(quantityWithin([], 100, 10, 'buy')).toBe(0);
  });

  it('finds a size both venues accept, toward zero', () => {
    expect(commonQuantity(1.23456, ['0.001', '0.00001'])).toBe(1.234);
    expect(commonQuantity(0.7, ['0.3', '0.2'])).toBe(0.6);
    expect(commonQuantity(0.5, ['0.3', '0.2'])).toBe(0);
  });
});

describe('net expected value of an entry', () => {
  const state = stubState({
    markets: [legs.long.market, legs.short.market],
    books: { 'alpha:BTC': ALPHA_BOOK, 'beta:BTC': BETA_BOOK },
  });

  it('is expected funding over the hold minus fees on both legs minus the walked slippage of both books', () => {
    const result = evaluateEntry(state, legs, 0.0002, entryOptions());
    expect(result.ok).toBe(true);
    const estimate = result.estimate;
    // Liquidity caps the size at 1.3328…, floored to the 0.1 lot: 1.3 (maxNotional allows 9.95).
    expect(estimate?.quantity).toBe(1.3);
    // Notional at the mids: 1.3 × (99.95 + 100.5) / 2.
    expect(estimate?.notional).toBeCloseTo(130.2925, 9);
    // Taker fees, entry and exit: 2 × (0.0005 × 1.3 × 99.95 + 0.0004 × 1.3 × 100.5).
    expect(estimate?.fees).toBeCloseTo(0.234455, 9);
    // Walks against each mid: alpha buy 0.125 + alpha sell 0.065 + beta sell 0.13 + beta buy 0.13.
    expect(estimate?.slippage).toBeCloseTo(0.45, 9);
    // 0.0002 per hour × 130.2925 × 72 h.
    expect(estimate?.expectedFunding).toBeCloseTo(1.876212, 9);
    expect(estimate?.netEv).toBeCloseTo(1.876212 - 0.234455 - 0.45, 9);
  });

  it('does not enter below the threshold', () => {
    const thin = evaluateEntry(state, legs, 0.00005, entryOptions());
    expect(thin).toMatchObject({ ok: false, reason: 'EV_BELOW_THRESHOLD' });
    const demanding = evaluateEntry(state, legs, 0.0002, entryOptions({ minNetEvBps: 100 }));
    expect(demanding).toMatchObject({ ok: false, reason: 'EV_BELOW_THRESHOLD' });
    const apy = evaluateEntry(state, legs, 0.0002, entryOptions({ minSpreadApy: 2 }));
    expect(apy).toMatchObject({ ok: false, reason: 'SPREAD_BELOW_MINIMUM' });
  });

  it('caps the size by free collateral × maxLeverage, and skips what is too small to trade', () => {
    const poor = stubState({
      markets: [legs.long.market, legs.short.market],
      books: { 'alpha:BTC': ALPHA_BOOK, 'beta:BTC': BETA_BOOK },
      accounts: { 'alpha/main': { freeCollateral: 50 } },
    });
    // 50 × 2 / 99.95 = 1.0005 → 1.0.
    expect(evaluateEntry(poor, legs, 0.0002, entryOptions({ maxLeverage: 2 })).estimate?.quantity).toBe(1);
    expect(evaluateEntry(state, legs, 0.0002, entryOptions({ minNotional: 200 }))).toMatchObject({
      ok: false,
      reason: 'TOO_SMALL',
    });
  });

  it('costs a venue without a book at the fallback slippage', () => {
    const bookless = stubState({
      markets: [legs.long.market, legs.short.market],
      prices: { 'alpha:BTC': 100, 'beta:BTC': 100 },
    });
    const result = evaluateEntry(
      bookless,
      legs,
      0.0002,
      entryOptions({ fallbackSlippageBps: 5, maxNotional: 1000 }),
    );
    // 10 BTC (maxNotional / 100); 4 sides × 5 bps × 1000.
    expect(result.estimate?.quantity).toBe(10);
    expect(result.estimate?.slippage).toBeCloseTo(2, 9);
  });
});
