import {
  BN,
  calculateFormattedLiveFundingRate,
  calculateLongShortFundingRateAndLiveTwaps,
  calculateUnsettledFundingPnl,
  type PerpPosition,
} from '@drift-labs/sdk';
import type { FundingPayment } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DriftCoder } from '../src/coder';
import { buildPerpMarket, DEFAULT_PERP_MARKETS } from '../src/fake-rpc';
import { estimatedFundingRateFraction, fundingPayment, settledFundingRateFraction } from '../src/precision';
import { collect, startVenue, type Venue } from './helpers';

let venue: Venue | undefined;
afterEach(async () => {
  await venue?.stop();
  venue = undefined;
});

const coder = new DriftCoder();

function position(base: BN, lastCumulativeFundingRate: BN): PerpPosition {
  return { baseAssetAmount: base, lastCumulativeFundingRate } as PerpPosition;
}

describe('funding units against the SDK helpers', () => {
  it('a settled hourly rate: one funding period on one base unit pays rate × oracle TWAP (SDK calculateUnsettledFundingPnl)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2_000_000, max: 2_000_000 }), // lastFundingRate, FUNDING_RATE_PRECISION
        fc.integer({ min: 1_000_000, max: 200_000_000_000 }), // oracle TWAP, PRICE_PRECISION
        (lastFundingRate, twap) => {
          const market = buildPerpMarket(coder, DEFAULT_PERP_MARKETS[0] as never, 1_700_000_000);
          market.amm.cumulativeFundingRateLong = new BN(lastFundingRate);
          market.amm.cumulativeFundingRateShort = new BN(lastFundingRate);
          // A 1 000-unit long over the period: the SDK's own PnL of it.
          const base = new BN(1000).mul(new BN(1_000_000_000));
          const sdk = calculateUnsettledFundingPnl(market, position(base, new BN(0)));
          const ours = fundingPayment(0n, BigInt(lastFundingRate), BigInt(base.toString()));
          expect(ours.toString()).toBe(sdk.toString());
          // As a fraction of the notional at the TWAP: 1 000 × rate × twap / 10^6 (QUOTE) = sdk amount.
          const fraction = Number(settledFundingRateFraction(String(lastFundingRate), String(twap)));
          const expected = -Number(sdk.toString()) / 1e6 / (1000 * (twap / 1e6));
          expect(fraction).toBeCloseTo(expected, 12);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });

  it('the live estimate: raw / 10^8 is the SDK formatted hourly percentage / 100 (the long side: what longs pay)', () => {
    const market = buildPerpMarket(coder, DEFAULT_PERP_MARKETS[0] as never, Math.floor(Date.now() / 1000));
    // Mark TWAP 0.3 % above the oracle TWAP: longs pay. The AMM is pegged at the same mark, so the
    // live TWAP barely drifts between the two helpers' clock reads.
    market.amm.pegMultiplier = new BN(150_450_000);
    market.amm.baseSpread = 0;
    market.amm.longSpread = 0;
    market.amm.shortSpread = 0;
    market.amm.lastMarkPriceTwap = new BN(150_450_000);
    market.amm.lastBidPriceTwap = new BN(150_450_000);
    market.amm.lastAskPriceTwap = new BN(150_450_000);
    const oracle = {
      price: new BN(150_000_000),
      slot: new BN(1),
      confidence: new BN(1),
      hasSufficientNumberOfDataPoints: true,
    };
    const mmOracle = { ...oracle, isMMOracleActive: false };
    const [, , long] = calculateLongShortFundingRateAndLiveTwaps(market, mmOracle, oracle);
    const formatted = calculateFormattedLiveFundingRate(market, mmOracle, oracle, 'hour');
    const ours = Number(estimatedFundingRateFraction(long));
    expect(ours).toBeGreaterThan(0);
    // The SDK's longRate is negative when longs pay; its unit is percent. The two helpers read the
    // clock a moment apart and the live mark TWAP moves with it: equal within 0.1 %, while a wrong
    // unit would be off by a power of ten.
    const expected = -formatted.longRate / 100;
    expect(Math.abs(ours - expected) / expected).toBeLessThan(0.001);
  });

  it('decimal strings are exact', () => {
    // 0.015 USDC per SOL-hour (FUNDING_RATE_PRECISION) at a TWAP of 150: 0.01 % per hour.
    expect(settledFundingRateFraction('15000000', '150000000')).toBe('0.0001');
    expect(estimatedFundingRateFraction('-833')).toBe('-0.00000833');
    expect(fundingPayment('4894216743', '4904216743', '-500000000')).toBe(5000n);
  });
});

describe('funding on positions', () => {
  it('accrues hourly and settles exactly as the program does when the position is touched', async () => {
    venue = await startVenue();
    const v = venue;
    await v.exchange.connect();
    const funding = collect<FundingPayment>(v, 'funding');
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '4',
    });
    // Two hourly periods at 0.01 % and 0.02 %: a short receives 4 × 150 × 0.0003 = 0.18.
    v.rpc.updateFunding('SOL', '0.0001');
    await waitFor(
      () => funding.some((payment) => !payment.settled && payment.amount === 0.06),
      5_000,
      'the first accrual',
    );
    v.rpc.updateFunding('SOL', '0.0002');
    await waitFor(
      () => funding.some((payment) => !payment.settled && payment.amount === 0.18),
      5_000,
      'the second accrual',
    );
    expect(funding.filter((payment) => !payment.settled).map((payment) => payment.rate)).toEqual([
      0.0001, 0.0002,
    ]);
    // Touching the position settles it: exactly the accrued amount moves into the position.
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
      reduceOnly: true,
    });
    await waitFor(() => funding.some((payment) => payment.settled), 5_000, 'the settlement');
    expect(funding.find((payment) => payment.settled)).toMatchObject({
      symbol: 'SOL',
      amount: 0.18,
      positionQuantity: -4,
      intervalHours: 1,
      settled: true,
    });
    expect(v.rpc.user(v.userAddress)?.cumulativePerpFunding.toString()).toBe('180000');
  });

  it('fetchFundingRate is the live hourly estimate; fetchLastFundingRate the settled one', async () => {
    venue = await startVenue();
    const v = venue;
    await v.exchange.connect();
    v.rpc.updateFunding('SOL', '-0.000125');
    // Reads reuse a load younger than 250 ms: let one pass.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const last = await v.exchange.fetchLastFundingRate('SOL');
    expect(last).toMatchObject({
      rate: -0.000125,
      ratePerHour: -0.000125,
      intervalHours: 1,
      predicted: false,
    });
    const live = await v.exchange.fetchFundingRate('SOL');
    expect(live).toMatchObject({ intervalHours: 1, predicted: true });
    expect(live.nextFundingTime).toBe(last.timestamp + 3_600_000);
    await expect(v.exchange.fetchFundingHistory({ symbol: 'SOL' })).rejects.toMatchObject({
      code: 'EXCHANGE_NOT_SUPPORTED',
    });
  });
});
