import { getStarkKey, keccak, poseidonHashMany, Signature, verify } from '@scure/starknet';
import {
  divideFloor,
  type ExactDecimal,
  floorToDecimals,
  isZero,
  multiply,
  multiplyInteger,
  parseDecimal,
  roundToInteger,
} from './amounts';
import { signFast } from './fast-ecdsa';
import { absorb, EMPTY_SPONGE, finish, type SpongeState } from './fast-poseidon';

/**
 * Extended order signing: the SNIP-12 (revision 1) typed-data hash of a perpetual `Order`, signed
 * with Stark-curve ECDSA (RFC 6979 deterministic nonce). Every number here is exact; the only
 * roundings are the venue's: BUY amounts round up, SELL amounts round down, the fee always up.
 */

/** Starknet chain ids of the two Extended instances. */
export type StarknetChainId = 'SN_MAIN' | 'SN_SEPOLIA';
export type OrderSide = 'BUY' | 'SELL';
export type VenueOrderType = 'LIMIT' | 'MARKET' | 'TPSL';
export type VenueTimeInForce = 'GTT' | 'IOC';
export type SelfTradeProtectionLevel = 'DISABLED' | 'ACCOUNT' | 'CLIENT';
export type TpSlType = 'ORDER' | 'POSITION';

/** The field prime of Starknet: 2^251 + 17·2^192 + 1. Negative amounts are encoded as P − |x|. */
export const STARK_PRIME = 2n ** 251n + 17n * 2n ** 192n + 1n;
/** Settlement expiration = the order's expiry (seconds, rounded up) plus this buffer. */
export const SETTLEMENT_EXPIRATION_BUFFER_SECONDS = 14 * 24 * 60 * 60;

const ORDER_TYPE =
  '"Order"("position_id":"felt","base_asset_id":"AssetId","base_amount":"i64","quote_asset_id":"AssetId","quote_amount":"i64","fee_asset_id":"AssetId","fee_amount":"u64","expiration":"Timestamp","salt":"felt")"PositionId"("value":"u32")"AssetId"("value":"felt")"Timestamp"("seconds":"u64")';
const DOMAIN_TYPE =
  '"StarknetDomain"("name":"shortstring","version":"shortstring","chainId":"shortstring","revision":"shortstring")';

const encoder = new TextEncoder();

/** Cairo short string: the ASCII bytes read as one big-endian integer (at most 31 characters). */
export function shortString(text: string): bigint {
  if (text.length > 31 || !/^[\x20-\x7e]*$/.test(text))
    throw new RangeError(`"${text}" is not a Cairo short string (printable ASCII, at most 31 characters)`);
  let value = 0n;
  for (const byte of encoder.encode(text)) value = (value << 8n) | BigInt(byte);
  return value;
}

/** sn_keccak of a SNIP-12 type string: the struct's type hash (selector). */
export function typeSelector(typeString: string): bigint {
  return keccak(encoder.encode(typeString));
}

export const ORDER_SELECTOR = typeSelector(ORDER_TYPE);
export const DOMAIN_SELECTOR = typeSelector(DOMAIN_TYPE);
const STARKNET_MESSAGE = shortString('StarkNet Message');

const domainHashes = new Map<string, bigint>();

/** Poseidon hash of the `Perpetuals`/`v0` revision-1 domain for a chain id (cached). */
export function domainHash(chainId: string): bigint {
  let hash = domainHashes.get(chainId);
  if (hash === undefined) {
    hash = poseidonHashMany([
      DOMAIN_SELECTOR,
      shortString('Perpetuals'),
      shortString('v0'),
      shortString(chainId),
      1n,
    ]);
    domainHashes.set(chainId, hash);
  }
  return hash;
}

/** A signed i64 (or u64) as a field element. */
export function toFelt(value: bigint): bigint {
  return value >= 0n ? value : STARK_PRIME + value;
}

/** The `Order` struct, already scaled to the venue's integer units. */
export interface StarkOrderFields {
  /** The collateral position (vault) id. */
  readonly positionId: bigint;
  readonly baseAssetId: bigint;
  /** Signed synthetic amount: positive buys, negative sells. */
  readonly baseAmount: bigint;
  readonly quoteAssetId: bigint;
  /** Signed collateral amount: negative buys (pays), positive sells (receives). */
  readonly quoteAmount: bigint;
  readonly feeAssetId: bigint;
  readonly feeAmount: bigint;
  /** Settlement expiration in seconds. */
  readonly expiration: bigint;
  readonly salt: bigint;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

function checkRange(value: bigint, min: bigint, max: bigint, field: string): void {
  if (value < min || value > max) throw new RangeError(`${field} ${value} is outside [${min}, ${max}]`);
}

// Sponge states after the constant head of each message: the order selector and position id (per
// account), the "StarkNet Message" prefix and domain hash (per chain). Bounded: a handful of keys.
const structPrefixes = new Map<bigint, SpongeState>();
const messagePrefixes = new Map<string, SpongeState>();
const sizedPrefixes = new Map<string, SpongeState>();

function cached<K, V>(map: Map<K, V>, key: K, build: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    if (map.size >= 1024) map.clear();
    value = build();
    map.set(key, value);
  }
  return value;
}

/** Poseidon hash of the `Order` struct (its SNIP-12 struct hash). */
export function orderStructHash(fields: StarkOrderFields): bigint {
  checkRange(fields.positionId, 0n, 2n ** 32n - 1n, 'position id');
  checkRange(fields.baseAmount, I64_MIN, I64_MAX, 'base amount');
  checkRange(fields.quoteAmount, I64_MIN, I64_MAX, 'quote amount');
  checkRange(fields.feeAmount, 0n, U64_MAX, 'fee amount');
  checkRange(fields.expiration, 0n, U64_MAX, 'expiration');
  for (const [value, field] of [
    [fields.baseAssetId, 'base asset id'],
    [fields.quoteAssetId, 'quote asset id'],
    [fields.feeAssetId, 'fee asset id'],
    [fields.salt, 'salt'],
  ] as const)
    checkRange(value, 0n, STARK_PRIME - 1n, field);
  const prefix = cached(structPrefixes, fields.positionId, () =>
    absorb(EMPTY_SPONGE, [ORDER_SELECTOR, fields.positionId]),
  );
  // Bots repeat order sizes: the state after (market, signed size) is reused when it recurs.
  const sized = cached(sizedPrefixes, `${fields.positionId}:${fields.baseAssetId}:${fields.baseAmount}`, () =>
    absorb(prefix, [fields.baseAssetId, toFelt(fields.baseAmount)]),
  );
  return finish(sized, [
    fields.quoteAssetId,
    toFelt(fields.quoteAmount),
    fields.feeAssetId,
    fields.feeAmount,
    fields.expiration,
    fields.salt,
  ]);
}

/** The SNIP-12 message hash the account signs: domain, signer's public key and the order. */
export function starkOrderMessageHash(
  fields: StarkOrderFields,
  starkPublicKey: bigint,
  chainId: string,
): bigint {
  checkRange(starkPublicKey, 0n, STARK_PRIME - 1n, 'stark public key');
  const prefix = cached(messagePrefixes, chainId, () =>
    absorb(EMPTY_SPONGE, [STARKNET_MESSAGE, domainHash(chainId)]),
  );
  return finish(prefix, [starkPublicKey, orderStructHash(fields)]);
}

/** Settlement expiration (seconds) for an order expiring at `expiryEpochMillis`. */
export function settlementExpiration(expiryEpochMillis: number): bigint {
  if (!Number.isSafeInteger(expiryEpochMillis) || expiryEpochMillis <= 0)
    throw new RangeError(
      `expiryEpochMillis must be a positive integer of milliseconds (got ${expiryEpochMillis})`,
    );
  const millis = BigInt(expiryEpochMillis);
  const seconds = (millis + 999n) / 1000n;
  return seconds + BigInt(SETTLEMENT_EXPIRATION_BUFFER_SECONDS);
}

/** The market facts a signature needs, as `GET /info/markets` reports them in `l2Config`. */
export interface SigningMarket {
  /** Market name, e.g. `BTC-USD`. */
  readonly name: string;
  /** `l2Config.syntheticId` (hex felt). */
  readonly syntheticAssetId: string;
  /** `l2Config.syntheticResolution` (e.g. 1e6 or 1e10). */
  readonly syntheticResolution: number | string | bigint;
  /** `l2Config.collateralId` (hex felt). */
  readonly collateralAssetId: string;
  /** `l2Config.collateralResolution` (1e6 for USD). */
  readonly collateralResolution: number | string | bigint;
  /** `tradingConfig.maxPositionValue`; needed only for whole-position TP/SL legs. */
  readonly maxPositionValue?: string;
  /** `tradingConfig.minOrderSizeChange`; needed only for whole-position TP/SL legs. */
  readonly minOrderSizeChange?: string;
}

export interface SigningAccount {
  /** The collateral position id (`l2Vault`). */
  readonly vault: number | string | bigint;
  readonly starkPrivateKey: string;
  readonly starkPublicKey: string;
}

export interface SettlementAmounts {
  /** Signed synthetic amount in synthetic resolution units. */
  readonly synthetic: bigint;
  /** Signed collateral amount in collateral resolution units. */
  readonly collateral: bigint;
  /** Maximum fee in collateral resolution units (never negative). */
  readonly fee: bigint;
}

function toBigInt(value: number | string | bigint, field: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${field} must be an integer (got ${value})`);
    return BigInt(value);
  }
  if (!/^(?:0x[0-9a-fA-F]+|\d+)$/.test(value))
    throw new RangeError(`${field} must be an integer (got "${value}")`);
  return BigInt(value);
}

function positiveResolution(value: number | string | bigint, field: string): bigint {
  const resolution = toBigInt(value, field);
  if (resolution <= 0n) throw new RangeError(`${field} must be positive`);
  return resolution;
}

/**
 * The venue's settlement amounts for an order of `qty` at `price`: synthetic = qty × synthetic
 * resolution, collateral = qty × price × collateral resolution (both up for BUY, down for SELL),
 * fee = feeRate × qty × price × collateral resolution, always up. BUY has +synthetic/−collateral,
 * SELL −synthetic/+collateral.
 */
export function settlementAmounts(input: {
  readonly side: OrderSide;
  readonly qty: ExactDecimal;
  readonly price: ExactDecimal;
  readonly feeRate: ExactDecimal;
  readonly syntheticResolution: bigint;
  readonly collateralResolution: bigint;
}): SettlementAmounts {
  const direction = input.side === 'BUY' ? 'up' : 'down';
  const synthetic = roundToInteger(multiplyInteger(input.qty, input.syntheticResolution), direction);
  const notional = multiply(input.qty, input.price);
  const collateral = roundToInteger(multiplyInteger(notional, input.collateralResolution), direction);
  const fee = roundToInteger(
    multiplyInteger(multiply(notional, input.feeRate), input.collateralResolution),
    'up',
  );
  return input.side === 'BUY'
    ? { synthetic, collateral: -collateral, fee }
    : { synthetic: -synthetic, collateral, fee };
}

/** What one settlement (the main order or a TP/SL leg) signs over. */
export interface SettlementInput {
  readonly market: SigningMarket;
  readonly account: Pick<SigningAccount, 'vault' | 'starkPublicKey'>;
  readonly side: OrderSide;
  /** Decimal string, in the synthetic asset. */
  readonly qty: string;
  /** Decimal string, in the collateral asset. */
  readonly price: string;
  /** Maximum fee rate as a decimal string, e.g. `"0.00025"`. */
  readonly feeRate: string;
  /** The order's salt: 1 ≤ nonce < 2^31 on Extended. */
  readonly nonce: number | string | bigint;
  readonly expiryEpochMillis: number;
  readonly chainId: StarknetChainId | (string & {});
}

interface PreparedSettlement {
  readonly amounts: SettlementAmounts;
  readonly fields: StarkOrderFields;
  readonly publicKey: bigint;
}

function prepareSettlement(input: SettlementInput): PreparedSettlement {
  const amounts = settlementAmounts({
    side: input.side,
    qty: parseDecimal(input.qty, 'qty'),
    price: parseDecimal(input.price, 'price'),
    feeRate: parseDecimal(input.feeRate, 'feeRate'),
    syntheticResolution: positiveResolution(input.market.syntheticResolution, 'market.syntheticResolution'),
    collateralResolution: positiveResolution(
      input.market.collateralResolution,
      'market.collateralResolution',
    ),
  });
  const collateralAssetId = toBigInt(input.market.collateralAssetId, 'market.collateralAssetId');
  const fields: StarkOrderFields = {
    positionId: toBigInt(input.account.vault, 'account.vault'),
    baseAssetId: toBigInt(input.market.syntheticAssetId, 'market.syntheticAssetId'),
    baseAmount: amounts.synthetic,
    quoteAssetId: collateralAssetId,
    quoteAmount: amounts.collateral,
    feeAssetId: collateralAssetId,
    feeAmount: amounts.fee,
    expiration: settlementExpiration(input.expiryEpochMillis),
    salt: toBigInt(input.nonce, 'nonce'),
  };
  return { amounts, fields, publicKey: toBigInt(input.account.starkPublicKey, 'account.starkPublicKey') };
}

/** The message hash of an order's settlement (the order `id` the venue derives, as a bigint). */
export function orderMessageHash(input: SettlementInput): bigint {
  const prepared = prepareSettlement(input);
  return starkOrderMessageHash(prepared.fields, prepared.publicKey, input.chainId);
}

export interface StarkSignature {
  readonly r: bigint;
  readonly s: bigint;
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/** Signs a message hash with a Stark private key (RFC 6979 deterministic k). */
export function signMessageHash(messageHash: bigint, starkPrivateKey: string): StarkSignature {
  return signFast(messageHash, BigInt(`0x${normalizeKey(starkPrivateKey, 'starkPrivateKey')}`));
}

/** Verifies a Stark signature of a message hash against a Stark public key (the x coordinate). */
export function verifyMessageSignature(
  messageHash: bigint,
  signature: StarkSignature,
  starkPublicKey: string | bigint,
): boolean {
  const x = typeof starkPublicKey === 'bigint' ? starkPublicKey : BigInt(starkPublicKey);
  // The venue identifies accounts by the x coordinate only; either y with that x verifies the same
  // message, so try the compressed point of each parity.
  const xHex = x.toString(16).padStart(64, '0');
  for (const prefix of ['02', '03']) {
    try {
      if (verify(new Signature(signature.r, signature.s), hex(messageHash), `${prefix}${xHex}`)) return true;
    } catch {
      // Not a point on the curve with this parity, or a malformed signature.
    }
  }
  return false;
}

function normalizeKey(key: string, field: string): string {
  if (!/^(?:0x)?[0-9a-fA-F]{1,64}$/.test(key)) throw new RangeError(`${field} must be a hex string`);
  return key.startsWith('0x') ? key.slice(2) : key;
}

/** The Stark public key (x coordinate, `0x` hex, not padded) of a private key. */
export function starkPublicKeyOf(starkPrivateKey: string): string {
  return hex(BigInt(getStarkKey(normalizeKey(starkPrivateKey, 'starkPrivateKey'))));
}

/** The settlement block of a request body. */
export interface SettlementJson {
  readonly signature: { readonly r: string; readonly s: string };
  readonly starkKey: string;
  readonly collateralPosition: string;
}

export interface DebuggingAmountsJson {
  readonly collateralAmount: string;
  readonly feeAmount: string;
  readonly syntheticAmount: string;
}

export interface TpSlTriggerInput {
  /** Decimal string. */
  readonly triggerPrice: string;
  readonly triggerPriceType?: 'LAST' | 'MARK' | 'INDEX';
  /** Limit price of the leg, a decimal string. */
  readonly price: string;
  readonly priceType?: 'LIMIT';
}

export interface TpSlTriggerJson {
  readonly triggerPrice: string;
  readonly triggerPriceType: 'LAST' | 'MARK' | 'INDEX';
  readonly price: string;
  readonly priceType: 'LIMIT';
  readonly settlement: SettlementJson;
  readonly debuggingAmounts: DebuggingAmountsJson;
}

export interface CreateOrderRequestInput {
  readonly market: SigningMarket;
  readonly account: SigningAccount;
  readonly side: OrderSide;
  /** `TPSL` is a stand-alone take-profit/stop-loss order (reduce-only, price "0"). */
  readonly type: VenueOrderType;
  readonly qty: string;
  readonly price: string;
  readonly timeInForce: VenueTimeInForce;
  readonly feeRate: string;
  readonly nonce: number | string | bigint;
  readonly expiryEpochMillis: number;
  readonly chainId: StarknetChainId | (string & {});
  readonly selfTradeProtectionLevel?: SelfTradeProtectionLevel;
  readonly reduceOnly?: boolean;
  readonly postOnly?: boolean;
  /** Your own order id instead of the message hash. */
  readonly externalId?: string;
  /** External id of an order this one replaces (edit). */
  readonly cancelId?: string;
  readonly tpSlType?: TpSlType;
  readonly takeProfit?: TpSlTriggerInput;
  readonly stopLoss?: TpSlTriggerInput;
}

/** The JSON body of `POST /user/order`, field for field as the venue expects it. */
export interface OrderRequestBody {
  readonly id: string;
  readonly market: string;
  readonly type: VenueOrderType;
  readonly side: OrderSide;
  readonly qty: string;
  readonly price: string;
  readonly reduceOnly: boolean;
  readonly postOnly: boolean;
  readonly timeInForce: VenueTimeInForce;
  readonly expiryEpochMillis: number;
  readonly fee: string;
  readonly nonce: string;
  readonly selfTradeProtectionLevel: SelfTradeProtectionLevel;
  readonly cancelId: string | null;
  readonly settlement: SettlementJson | null;
  readonly trigger: null;
  readonly tpSlType: TpSlType | null;
  readonly takeProfit: TpSlTriggerJson | null;
  readonly stopLoss: TpSlTriggerJson | null;
  readonly debuggingAmounts: DebuggingAmountsJson;
  readonly builderFee: null;
  readonly builderId: null;
}

function settle(
  input: SettlementInput,
  starkPrivateKey: string,
): { hash: bigint; settlement: SettlementJson; debuggingAmounts: DebuggingAmountsJson } {
  const prepared = prepareSettlement(input);
  const hash = starkOrderMessageHash(prepared.fields, prepared.publicKey, input.chainId);
  const signature = signMessageHash(hash, starkPrivateKey);
  return {
    hash,
    settlement: {
      signature: { r: hex(signature.r), s: hex(signature.s) },
      starkKey: hex(prepared.publicKey),
      collateralPosition: prepared.fields.positionId.toString(),
    },
    debuggingAmounts: {
      collateralAmount: prepared.amounts.collateral.toString(),
      feeAmount: prepared.amounts.fee.toString(),
      syntheticAmount: prepared.amounts.synthetic.toString(),
    },
  };
}

/**
 * Size a whole-position TP/SL leg signs for: 50 × the market's max position value at the leg's
 * price, floored to the quantity step, so the signed size always covers the position.
 */
export function entirePositionSize(market: SigningMarket, price: ExactDecimal): ExactDecimal {
  if (market.maxPositionValue === undefined || market.minOrderSizeChange === undefined)
    throw new RangeError(
      'a whole-position TP/SL needs market.maxPositionValue and market.minOrderSizeChange',
    );
  if (isZero(price)) throw new RangeError('a TP/SL leg price must be positive');
  const step = parseDecimal(market.minOrderSizeChange, 'market.minOrderSizeChange');
  const value = multiplyInteger(parseDecimal(market.maxPositionValue, 'market.maxPositionValue'), 50n);
  return floorToDecimals(divideFloor(value, price, step.scale), step.scale);
}

function formatExact(value: ExactDecimal): string {
  const digits = value.numerator.toString().padStart(value.scale + 1, '0');
  return value.scale === 0 ? digits : `${digits.slice(0, -value.scale)}.${digits.slice(-value.scale)}`;
}

const NONCE_MAX = 2n ** 31n;

/**
 * Builds the exact JSON body of `POST /user/order`: amounts scaled and rounded as the venue does,
 * the SNIP-12 message hash as the order `id` (decimal), and the Stark signature in `settlement`.
 */
export function createOrderRequest(input: CreateOrderRequestInput): OrderRequestBody {
  const nonce = toBigInt(input.nonce, 'nonce');
  if (nonce < 1n || nonce >= NONCE_MAX) throw new RangeError(`nonce must be in [1, 2^31) (got ${nonce})`);
  if (input.side !== 'BUY' && input.side !== 'SELL') throw new RangeError(`side must be BUY or SELL`);
  if (input.timeInForce !== 'GTT' && input.timeInForce !== 'IOC')
    throw new RangeError(`timeInForce must be GTT or IOC (got ${String(input.timeInForce)})`);
  if (input.type === 'MARKET' && input.timeInForce !== 'IOC')
    throw new RangeError('a MARKET order must be IOC (a limit at the worst acceptable price)');
  if (input.type === 'TPSL') {
    if (!input.reduceOnly) throw new RangeError('a TPSL order must be reduce-only');
    if (input.postOnly) throw new RangeError('a TPSL order cannot be post-only');
    if (input.price !== '0') throw new RangeError('a TPSL order has price "0"');
    if (input.tpSlType === undefined) throw new RangeError('a TPSL order needs tpSlType');
  }
  if ((input.takeProfit || input.stopLoss) && input.tpSlType === undefined)
    throw new RangeError('tpSlType is required with takeProfit or stopLoss');
  if (input.tpSlType === 'POSITION' && input.type === 'TPSL' && !isZero(parseDecimal(input.qty, 'qty')))
    throw new RangeError('a whole-position TPSL order has qty "0"');

  const base = {
    market: input.market,
    account: input.account,
    feeRate: input.feeRate,
    nonce,
    expiryEpochMillis: input.expiryEpochMillis,
    chainId: input.chainId,
  };
  const main = settle(
    { ...base, side: input.side, qty: input.qty, price: input.price },
    input.account.starkPrivateKey,
  );

  // Legs of a stand-alone TPSL order close with its own side; legs attached to an entry close it,
  // so they take the opposite side.
  const legSide: OrderSide = input.type === 'TPSL' ? input.side : input.side === 'BUY' ? 'SELL' : 'BUY';
  const leg = (trigger: TpSlTriggerInput | undefined): TpSlTriggerJson | null => {
    if (!trigger) return null;
    const legPrice = parseDecimal(trigger.price, 'price');
    parseDecimal(trigger.triggerPrice, 'triggerPrice');
    const qty =
      input.tpSlType === 'POSITION' ? formatExact(entirePositionSize(input.market, legPrice)) : input.qty;
    const signed = settle(
      { ...base, side: legSide, qty, price: trigger.price },
      input.account.starkPrivateKey,
    );
    return {
      triggerPrice: trigger.triggerPrice,
      triggerPriceType: trigger.triggerPriceType ?? 'MARK',
      price: trigger.price,
      priceType: trigger.priceType ?? 'LIMIT',
      settlement: signed.settlement,
      debuggingAmounts: signed.debuggingAmounts,
    };
  };

  return {
    id: input.externalId ?? main.hash.toString(),
    market: input.market.name,
    type: input.type,
    side: input.side,
    qty: input.qty,
    price: input.price,
    reduceOnly: input.reduceOnly ?? false,
    postOnly: input.postOnly ?? false,
    timeInForce: input.timeInForce,
    expiryEpochMillis: input.expiryEpochMillis,
    fee: input.feeRate,
    nonce: nonce.toString(),
    selfTradeProtectionLevel: input.selfTradeProtectionLevel ?? 'ACCOUNT',
    cancelId: input.cancelId ?? null,
    settlement: input.type === 'TPSL' ? null : main.settlement,
    trigger: null,
    tpSlType: input.tpSlType ?? null,
    takeProfit: leg(input.takeProfit),
    stopLoss: leg(input.stopLoss),
    debuggingAmounts: main.debuggingAmounts,
    builderFee: null,
    builderId: null,
  };
}
