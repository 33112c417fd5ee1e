import { ethSigToPrivate, grindKey, sign } from '@scure/starknet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDecimal } from '../src/amounts';
import { deriveStarkKeyFromEthereumKey, deriveStarkKeyFromEthSignature } from '../src/key-derivation';
import {
  type CreateOrderRequestInput,
  createOrderRequest,
  DOMAIN_SELECTOR,
  domainHash,
  ORDER_SELECTOR,
  orderMessageHash,
  orderStructHash,
  settlementAmounts,
  settlementExpiration,
  signMessageHash,
  starkOrderMessageHash,
  starkPublicKeyOf,
  verifyMessageSignature,
} from '../src/signing';
import {
  ETH_SIGNATURE_TO_KEY,
  EXPIRY_14_DAYS,
  EXPIRY_DEFAULT,
  FROZEN_NONCE,
  KEY_DERIVATION,
  LIMIT_BUY_CLIENT_STP,
  LIMIT_BUY_WITH_ORDER_TPSL,
  LIMIT_BUY_WITH_POSITION_TPSL,
  LIMIT_SELL,
  LIMIT_SELL_DEFAULT_EXPIRY,
  MARKET_BUY,
  MARKET_SELL,
  RUST_VECTORS,
  TEST_ACCOUNT,
  TEST_BTC_MARKET,
  TPSL_PARTIAL,
  TPSL_POSITION,
} from './fixtures/official-vectors';

const base: CreateOrderRequestInput = {
  market: TEST_BTC_MARKET,
  account: TEST_ACCOUNT,
  side: 'SELL',
  type: 'LIMIT',
  qty: '0.00100000',
  price: '43445.11680000',
  timeInForce: 'GTT',
  feeRate: '0.0005',
  nonce: FROZEN_NONCE,
  expiryEpochMillis: EXPIRY_14_DAYS,
  chainId: 'SN_SEPOLIA',
};

// Byte for byte: the serialized body must equal the SDK's expected JSON, key order included.
function expectSameJson(actual: unknown, expected: unknown): void {
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

describe('golden vectors: rust-crypto-lib-base', () => {
  it('type selectors match', () => {
    expect(ORDER_SELECTOR).toBe(RUST_VECTORS.orderSelector);
    expect(DOMAIN_SELECTOR).toBe(RUST_VECTORS.domainSelector);
  });

  it('the Perpetuals/v0/SN_SEPOLIA/1 domain hash matches', () => {
    expect(domainHash('SN_SEPOLIA')).toBe(RUST_VECTORS.sepoliaDomainHash);
  });

  it('the order struct hash and message hash match', () => {
    const fields = {
      positionId: 1n,
      baseAssetId: 2n,
      baseAmount: 3n,
      quoteAssetId: 4n,
      quoteAmount: 5n,
      feeAssetId: 6n,
      feeAmount: 7n,
      expiration: 8n,
      salt: 9n,
    };
    expect(orderStructHash(fields)).toBe(RUST_VECTORS.orderStructHash);
    expect(starkOrderMessageHash(fields, RUST_VECTORS.orderUserKey, 'SN_SEPOLIA')).toBe(
      RUST_VECTORS.orderMessageHash,
    );
  });

  it('a negative quote amount is encoded as P − |x|', () => {
    const vector = RUST_VECTORS.negativeQuote;
    expect(starkOrderMessageHash(vector, vector.userKey, 'SN_SEPOLIA')).toBe(vector.messageHash);
  });

  it('an Ethereum signature grinds to the published Stark private key', () => {
    const keys = deriveStarkKeyFromEthSignature(ETH_SIGNATURE_TO_KEY.signature);
    expect(BigInt(keys.starkPrivateKey)).toBe(ETH_SIGNATURE_TO_KEY.starkPrivateKey);
  });
});

describe('golden vectors: python_sdk order objects', () => {
  it('limit SELL with the default (1 h) expiry', () => {
    expectSameJson(
      createOrderRequest({ ...base, expiryEpochMillis: EXPIRY_DEFAULT }),
      LIMIT_SELL_DEFAULT_EXPIRY,
    );
  });

  it('limit SELL, 14-day expiry', () => {
    expectSameJson(createOrderRequest(base), LIMIT_SELL);
  });

  it('the older SDK expiry (ms truncated) signs the same settlement: seconds round up', () => {
    const order = createOrderRequest({ ...base, expiryEpochMillis: EXPIRY_14_DAYS - 1 });
    expect(order.id).toBe(LIMIT_SELL.id);
    expect(order.settlement).toEqual(LIMIT_SELL.settlement);
  });

  it('limit BUY with CLIENT self-trade protection rounds the collateral up', () => {
    expectSameJson(
      createOrderRequest({ ...base, side: 'BUY', selfTradeProtectionLevel: 'CLIENT' }),
      LIMIT_BUY_CLIENT_STP,
    );
  });

  it('market SELL and BUY (IOC at the slipped price)', () => {
    const market = { ...base, type: 'MARKET', timeInForce: 'IOC' } as const;
    expectSameJson(createOrderRequest({ ...market, side: 'SELL', price: '49625.0' }), MARKET_SELL);
    expectSameJson(createOrderRequest({ ...market, side: 'BUY', price: '50375.0' }), MARKET_BUY);
  });

  const takeProfit = {
    triggerPrice: '49000',
    triggerPriceType: 'MARK',
    price: '50000',
    priceType: 'LIMIT',
  } as const;
  const stopLoss = {
    triggerPrice: '40000',
    triggerPriceType: 'MARK',
    price: '39000',
    priceType: 'LIMIT',
  } as const;

  it('limit BUY with order TP/SL legs (signed as SELL at the leg prices)', () => {
    expectSameJson(
      createOrderRequest({
        ...base,
        side: 'BUY',
        selfTradeProtectionLevel: 'CLIENT',
        tpSlType: 'ORDER',
        takeProfit,
        stopLoss,
      }),
      LIMIT_BUY_WITH_ORDER_TPSL,
    );
  });

  it('limit BUY with whole-position TP/SL legs', () => {
    expectSameJson(
      createOrderRequest({
        ...base,
        side: 'BUY',
        selfTradeProtectionLevel: 'CLIENT',
        tpSlType: 'POSITION',
        takeProfit,
        stopLoss,
      }),
      LIMIT_BUY_WITH_POSITION_TPSL,
    );
  });

  it('stand-alone TPSL orders, partial and whole position', () => {
    const tpsl = {
      ...base,
      type: 'TPSL',
      side: 'SELL',
      price: '0',
      reduceOnly: true,
      selfTradeProtectionLevel: 'CLIENT',
      takeProfit,
      stopLoss,
    } as const;
    expectSameJson(createOrderRequest({ ...tpsl, qty: '0.0001', tpSlType: 'ORDER' }), TPSL_PARTIAL);
    expectSameJson(createOrderRequest({ ...tpsl, qty: '0', tpSlType: 'POSITION' }), TPSL_POSITION);
  });

  it('@scure/starknet sign (RFC 6979 k) reproduces the fixture signatures too', () => {
    const marketBuy: CreateOrderRequestInput = {
      ...base,
      type: 'MARKET',
      timeInForce: 'IOC',
      side: 'BUY',
      price: '50375.0',
    };
    const cases: [CreateOrderRequestInput, { settlement: { signature: { r: string; s: string } } }][] = [
      [base, LIMIT_SELL],
      [marketBuy, MARKET_BUY],
    ];
    for (const [input, expected] of cases) {
      const hash = orderMessageHash(input);
      const signature = sign(`0x${hash.toString(16)}`, TEST_ACCOUNT.starkPrivateKey.slice(2));
      expect(`0x${signature.r.toString(16)}`).toBe(expected.settlement.signature.r);
      expect(`0x${signature.s.toString(16)}`).toBe(expected.settlement.signature.s);
    }
  });

  it('orderMessageHash is the order id', () => {
    expect(orderMessageHash(base).toString()).toBe(LIMIT_SELL.id);
  });

  it('an external id replaces the hash as id, the signature stays', () => {
    const order = createOrderRequest({ ...base, externalId: 'custom_id', cancelId: 'previous_custom_id' });
    expect(order.id).toBe('custom_id');
    expect(order.cancelId).toBe('previous_custom_id');
    expect(order.settlement).toEqual(LIMIT_SELL.settlement);
  });
});

describe('golden vectors: key derivation', () => {
  it('derives the published Stark keys from the published Ethereum test key', async () => {
    const keys = await deriveStarkKeyFromEthereumKey(KEY_DERIVATION.ethereumPrivateKey, {
      accountIndex: KEY_DERIVATION.accountIndex,
      signingDomain: KEY_DERIVATION.signingDomain,
    });
    expect(keys.starkPrivateKey).toBe(KEY_DERIVATION.starkPrivateKey);
    expect(keys.starkPublicKey).toBe(KEY_DERIVATION.starkPublicKey);
  });

  it('an r with a leading zero byte is ground as minimal bytes, like the venue library (not as 32 bytes)', () => {
    const r = `00${'ab'.repeat(31)}`;
    const signature = `0x${r}${'11'.repeat(32)}1b`;
    const keys = deriveStarkKeyFromEthSignature(signature);
    // Oracle: @scure/starknet's grinding of the seed bytes without the zero byte (what Rust's
    // BigUint::to_bytes_be feeds SHA-256); its ethSigToPrivate keeps the zero byte and differs.
    expect(BigInt(keys.starkPrivateKey)).toBe(BigInt(`0x${grindKey(r.slice(2))}`));
    expect(BigInt(keys.starkPrivateKey)).not.toBe(BigInt(`0x${ethSigToPrivate(signature)}`));
    // Without a leading zero both agree.
    const plain = `0x${'ab'.repeat(32)}${'11'.repeat(32)}1b`;
    expect(BigInt(deriveStarkKeyFromEthSignature(plain).starkPrivateKey)).toBe(
      BigInt(`0x${ethSigToPrivate(plain)}`),
    );
  });

  it('the fixture account public key is the Stark key of its private key', () => {
    expect(starkPublicKeyOf(TEST_ACCOUNT.starkPrivateKey)).toBe(TEST_ACCOUNT.starkPublicKey);
  });
});

describe('amounts and rounding', () => {
  const amounts = (side: 'BUY' | 'SELL', qty: string, price: string, feeRate = '0.0005') =>
    settlementAmounts({
      side,
      qty: parseDecimal(qty, 'qty'),
      price: parseDecimal(price, 'price'),
      feeRate: parseDecimal(feeRate, 'feeRate'),
      syntheticResolution: 1_000_000n,
      collateralResolution: 1_000_000n,
    });

  it('BUY rounds up, SELL down, the fee always up', () => {
    // 0.0000015 × 1e6 = 1.5 synthetic units; 0.0000015 × 3 × 1e6 = 4.5 collateral units.
    expect(amounts('BUY', '0.0000015', '3', '0.1')).toEqual({ synthetic: 2n, collateral: -5n, fee: 1n });
    expect(amounts('SELL', '0.0000015', '3', '0.1')).toEqual({ synthetic: -1n, collateral: 4n, fee: 1n });
  });

  it('property: signs and directions hold for every side, exact for on-grid amounts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 100_000_000 }),
        fc.constantFrom<'BUY' | 'SELL'>('BUY', 'SELL'),
        (qtyUnits, priceTicks, side) => {
          const qty = (qtyUnits / 1e5).toFixed(5);
          const price = (priceTicks / 10).toFixed(1);
          const result = amounts(side, qty, price);
          const exactSynthetic = BigInt(qtyUnits) * 10n; // 1e6 / 1e5
          const exactCollateralTimes100 = BigInt(qtyUnits) * BigInt(priceTicks); // × 1e6 / 1e6
          // collateral units = qtyUnits × priceTicks × 1e6 / (1e5 × 10) = qtyUnits × priceTicks
          expect(result.synthetic).toBe(side === 'BUY' ? exactSynthetic : -exactSynthetic);
          expect(result.collateral).toBe(side === 'BUY' ? -exactCollateralTimes100 : exactCollateralTimes100);
          // fee = ceil(0.0005 × collateral)
          expect(result.fee).toBe((exactCollateralTimes100 * 5n + 9_999n) / 10_000n);
        },
      ),
      { seed: 1106, numRuns: 200 },
    );
  });

  it('settlement expiration rounds the seconds up and adds 14 days', () => {
    expect(settlementExpiration(1_000)).toBe(1n + 1_209_600n);
    expect(settlementExpiration(1_001)).toBe(2n + 1_209_600n);
  });

  it('bad inputs name the field', () => {
    expect(() => createOrderRequest({ ...base, qty: '1e-3' })).toThrow(/qty/);
    expect(() => createOrderRequest({ ...base, price: '-1' })).toThrow(/price/);
    expect(() => createOrderRequest({ ...base, nonce: 0 })).toThrow(/nonce/);
    expect(() => createOrderRequest({ ...base, nonce: 2 ** 31 })).toThrow(/nonce/);
    expect(() => createOrderRequest({ ...base, type: 'MARKET' })).toThrow(/IOC/);
  });
});

describe('signatures', () => {
  it('signatures are deterministic and verify against the Stark key; a changed hash does not', () => {
    const hash = orderMessageHash(base);
    const signature = signMessageHash(hash, TEST_ACCOUNT.starkPrivateKey);
    expect(signMessageHash(hash, TEST_ACCOUNT.starkPrivateKey)).toEqual(signature);
    expect(verifyMessageSignature(hash, signature, TEST_ACCOUNT.starkPublicKey)).toBe(true);
    expect(verifyMessageSignature(hash + 1n, signature, TEST_ACCOUNT.starkPublicKey)).toBe(false);
    expect(verifyMessageSignature(hash, signature, KEY_DERIVATION.starkPublicKey)).toBe(false);
  });
});
