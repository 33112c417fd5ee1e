import {
  AMM_RESERVE_PRECISION,
  BASE_PRECISION,
  FUNDING_RATE_BUFFER_PRECISION,
  FUNDING_RATE_PRECISION,
  getDriftStateAccountPublicKey,
  getPerpMarketPublicKeySync,
  getSpotMarketPublicKeySync,
  getUserAccountPublicKeySync,
  getUserStatsAccountPublicKey,
  MARGIN_PRECISION,
  PERCENTAGE_PRECISION,
  PRICE_PRECISION,
  QUOTE_PRECISION,
  SPOT_MARKET_BALANCE_PRECISION,
  SPOT_MARKET_CUMULATIVE_INTEREST_PRECISION,
  TEN_THOUSAND,
} from '@drift-labs/sdk';
import { PublicKey } from '@solana/web3.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DRIFT_PROGRAM_ID,
  perpMarketAddress,
  spotMarketAddress,
  stateAccountAddress,
  userAccountAddress,
  userStatsAccountAddress,
} from '../src/address';
import { decodeUserAccount, decodeUserAccountRaw } from '../src/decode';
import { DRIFT_DECIMALS, decimalToScaled, scaledToDecimal } from '../src/precision';
import { USER_FIXTURES, userFixture } from './fixtures';

const PROGRAM = new PublicKey(DRIFT_PROGRAM_ID);

describe('recorded mainnet User accounts decode to the recorded values', () => {
  it('fixture 0: a USDC-only main account', () => {
    const decoded = decodeUserAccount(userFixture(0).dataBase64);
    expect(decoded.authority).toBe('qdaE9WK7Kso8xQVnsMWdcCBHBPUXcBLLAXKD8KLzqSR');
    expect(decoded.subAccountId).toBe(0);
    expect(decoded.name).toBe('Main Account');
    expect(decoded.nextOrderId).toBe(1);
    expect(decoded.lastActiveSlot).toBe('234014159');
    // recorded: totalDeposits 50000000, totalWithdraws 10000000, settledPerpPnl 0 (QUOTE 1e6)
    expect(decoded.totals).toMatchObject({ deposits: '50', withdraws: '10', settledPerpPnl: '0' });
    expect(decoded.perpPositions).toEqual([]);
    // recorded: scaledBalance 39371397985 (1e9), cumulativeDeposits 40000000
    expect(decoded.spotPositions).toEqual([
      {
        marketIndex: 0,
        balanceType: 'deposit',
        scaledBalance: '39.371397985',
        cumulativeDeposits: '40000000',
        openOrders: 0,
      },
    ]);
    expect(decoded.openOrders).toEqual([]);
  });

  it('fixture 1: a sub-account with a SOL-PERP short and two spot deposits', () => {
    const decoded = decodeUserAccount(userFixture(1).dataBase64);
    expect(decoded.authority).toBe('HEe2kyr4FGYekLKSK2XwoN3G4rELDchkcydAUwK2ra6v');
    expect(decoded.subAccountId).toBe(1);
    expect(decoded.name).toBe('Drift Liquidity Provider');
    expect(decoded.nextOrderId).toBe(4);
    // recorded: 25000001, 0, -2107572, cumulativePerpFunding 203484
    expect(decoded.totals).toMatchObject({
      deposits: '25.000001',
      withdraws: '0',
      settledPerpPnl: '-2.107572',
      cumulativePerpFunding: '0.203484',
    });
    // recorded: base -500000000 (1e9), quote 36450535, entry 19015735, lastCumulativeFundingRate 4894216743 (1e9)
    expect(decoded.perpPositions).toHaveLength(1);
    expect(decoded.perpPositions[0]).toMatchObject({
      marketIndex: 0,
      baseAssetAmount: '-0.5',
      quoteAssetAmount: '36.450535',
      quoteEntryAmount: '19.015735',
      lastCumulativeFundingRate: '4.894216743',
    });
    expect(decoded.spotPositions).toEqual([
      {
        marketIndex: 0,
        balanceType: 'deposit',
        scaledBalance: '5.391520104',
        cumulativeDeposits: '7554041',
        openOrders: 0,
      },
      {
        marketIndex: 1,
        balanceType: 'deposit',
        scaledBalance: '0.30851325',
        cumulativeDeposits: '316000000',
        openOrders: 0,
      },
    ]);
  });

  it('fixture 2: dust balances and negative cumulative deposits', () => {
    const decoded = decodeUserAccount(userFixture(2).dataBase64);
    expect(decoded.totals).toMatchObject({ deposits: '126.825964', withdraws: '126' });
    expect(decoded.spotPositions).toEqual([
      {
        marketIndex: 0,
        balanceType: 'deposit',
        scaledBalance: '0.206797784',
        cumulativeDeposits: '209678',
        openOrders: 0,
      },
      {
        marketIndex: 1,
        balanceType: 'deposit',
        scaledBalance: '0.000000044',
        cumulativeDeposits: '-6120',
        openOrders: 0,
      },
    ]);
  });

  it('every fixture agrees field by field with the recorded raw integers', () => {
    for (const fixture of USER_FIXTURES) {
      const raw = decodeUserAccountRaw(fixture.dataBase64);
      expect(raw.authority.toBase58()).toBe(fixture.authority);
      expect(raw.totalDeposits.toString()).toBe(fixture.totalDeposits);
      expect(raw.totalWithdraws.toString()).toBe(fixture.totalWithdraws);
      expect(raw.settledPerpPnl.toString()).toBe(fixture.settledPerpPnl);
      if (fixture.cumulativePerpFunding !== undefined)
        expect(raw.cumulativePerpFunding.toString()).toBe(fixture.cumulativePerpFunding);
      const perps = raw.perpPositions.filter((position) => !position.baseAssetAmount.isZero());
      expect(
        perps.map((position) => ({
          marketIndex: position.marketIndex,
          baseAssetAmount: position.baseAssetAmount.toString(),
          quoteAssetAmount: position.quoteAssetAmount.toString(),
          quoteEntryAmount: position.quoteEntryAmount.toString(),
          lastCumulativeFundingRate: position.lastCumulativeFundingRate.toString(),
        })),
      ).toEqual(fixture.perpPositions);
      const spots = raw.spotPositions.filter((position) => !position.scaledBalance.isZero());
      expect(
        spots.map((position) => ({
          marketIndex: position.marketIndex,
          balanceType: Object.keys(position.balanceType)[0],
          scaledBalance: position.scaledBalance.toString(),
          cumulativeDeposits: position.cumulativeDeposits.toString(),
        })),
      ).toEqual(fixture.spotPositions);
    }
  });

  it('refuses bytes that are not a User account, naming the problem', () => {
    const bytes = Buffer.from(userFixture(0).dataBase64, 'base64');
    expect(() => decodeUserAccount(bytes.subarray(0, 100))).toThrow(/4376 bytes/);
    const wrong = Buffer.from(bytes);
    wrong[0] = (wrong[0] as number) ^ 0xff;
    expect(() => decodeUserAccount(wrong)).toThrow(/discriminator/);
  });
});

describe('addresses match the SDK and the recorded PDAs', () => {
  it('user accounts of the fixtures', () => {
    for (const fixture of USER_FIXTURES) {
      const address = userAccountAddress(fixture.authority, fixture.subAccountId);
      expect(address).toBe(fixture.userAccountPda);
      expect(address).toBe(
        getUserAccountPublicKeySync(
          PROGRAM,
          new PublicKey(fixture.authority),
          fixture.subAccountId,
        ).toBase58(),
      );
    }
  });

  it('any authority and sub-account id (property, fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 65535 }),
        (bytes, sub) => {
          const authority = new PublicKey(bytes);
          expect(userAccountAddress(authority, sub)).toBe(
            getUserAccountPublicKeySync(PROGRAM, authority, sub).toBase58(),
          );
        },
      ),
      { seed: 13, numRuns: 40 },
    );
  });

  it('state, user stats and market accounts', async () => {
    const authority = new PublicKey(userFixture(1).authority);
    expect(stateAccountAddress()).toBe((await getDriftStateAccountPublicKey(PROGRAM)).toBase58());
    expect(stateAccountAddress()).toBe('5zpq7DvB6UdFFvpmBPspGPNfUGoBRRCE2HHg5u3gxcsN');
    expect(userStatsAccountAddress(authority)).toBe(
      getUserStatsAccountPublicKey(PROGRAM, authority).toBase58(),
    );
    for (const index of [0, 1, 2, 7])
      expect(perpMarketAddress(index)).toBe(getPerpMarketPublicKeySync(PROGRAM, index).toBase58());
    expect(spotMarketAddress(0)).toBe(getSpotMarketPublicKeySync(PROGRAM, 0).toBase58());
  });

  it('refuses a bad authority or sub-account id with the field named', () => {
    expect(() => userAccountAddress('not-a-key', 0)).toThrow(/authority/);
    expect(() => userAccountAddress(userFixture(0).authority, 70000)).toThrow(/subAccountId/);
    expect(() => userAccountAddress(userFixture(0).authority, -1)).toThrow(/subAccountId/);
  });
});

describe('precisions are the SDK constants', () => {
  it('each exponent matches the SDK BN', () => {
    const pow = (decimals: number) => (10n ** BigInt(decimals)).toString();
    expect(QUOTE_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.quote));
    expect(PRICE_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.price));
    expect(BASE_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.base));
    expect(AMM_RESERVE_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.base));
    expect(FUNDING_RATE_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.fundingRate));
    expect(FUNDING_RATE_BUFFER_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.fundingRateBuffer));
    expect(SPOT_MARKET_BALANCE_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.spotBalance));
    expect(SPOT_MARKET_CUMULATIVE_INTEREST_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.cumulativeInterest));
    expect(MARGIN_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.margin));
    expect(TEN_THOUSAND.toString()).toBe(pow(DRIFT_DECIMALS.tenThousand));
    expect(PERCENTAGE_PRECISION.toString()).toBe(pow(DRIFT_DECIMALS.percentage));
  });

  it('decimal ↔ scaled round-trips exactly and refuses hidden rounding', () => {
    expect(decimalToScaled('1.5', 'quote').toString()).toBe('1500000');
    expect(decimalToScaled('-0.000000001', 'base').toString()).toBe('-1');
    expect(scaledToDecimal('-500000000', 'base')).toBe('-0.5');
    expect(() => decimalToScaled('1.0000001', 'quote', 'exact', 'amount')).toThrow(/amount.*6 places/);
    expect(decimalToScaled('1.0000001', 'quote', 'floor').toString()).toBe('1000000');
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (integer) => {
        expect(decimalToScaled(scaledToDecimal(integer, 'base'), 'base').toString()).toBe(integer.toString());
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
