/**
 * Lighter L2 transactions: the Poseidon2 hash that gets signed, the Schnorr signature, and the
 * tx_info JSON `sendTx` takes. Field names, order, ranges and hash layout follow lighter-go
 * (`types/txtypes/create_order.go`, `cancel_order.go`, `tx_attributes.go`).
 */
import { limbsToBytes } from './gfp5';
import { bytesToGoldilocks } from './goldilocks';
import { privateKeyToLimbs } from './keys';
import { hashToQuinticExtension } from './poseidon2';
import { bytesToHex, schnorrSign, signatureToBytes } from './schnorr';

export const TX_TYPE_CREATE_ORDER = 14;
export const TX_TYPE_CANCEL_ORDER = 15;
export const TX_TYPE_CANCEL_ALL_ORDERS = 16;

export const ORDER_TYPE = {
  limit: 0,
  market: 1,
  stopLoss: 2,
  stopLossLimit: 3,
  takeProfit: 4,
  takeProfitLimit: 5,
  twap: 6,
} as const;
export const TIME_IN_FORCE = { immediateOrCancel: 0, goodTillTime: 1, postOnly: 2 } as const;

/** Chain ids the signature commits to. */
export const CHAIN_ID = { mainnet: 304, testnet: 300 } as const;

type Integer = number | bigint;

/** Optional tx attributes (type → value), e.g. `{ 4: 1 }` to skip the nonce. */
export type L2TxAttributes = Readonly<Record<number, number>>;

export interface CreateOrderTx {
  readonly AccountIndex: Integer;
  readonly ApiKeyIndex: Integer;
  readonly MarketIndex: Integer;
  readonly ClientOrderIndex: Integer;
  readonly BaseAmount: Integer;
  readonly Price: Integer;
  readonly IsAsk: Integer;
  readonly Type: Integer;
  readonly TimeInForce: Integer;
  readonly ReduceOnly: Integer;
  readonly TriggerPrice: Integer;
  readonly OrderExpiry: Integer;
  readonly ExpiredAt: Integer;
  readonly Nonce: Integer;
  readonly L2TxAttributes?: L2TxAttributes | null;
}

export interface CancelOrderTx {
  readonly AccountIndex: Integer;
  readonly ApiKeyIndex: Integer;
  readonly MarketIndex: Integer;
  /** A client order index (1..2^48−1) or an order index (2^48..2^60−1). */
  readonly Index: Integer;
  readonly ExpiredAt: Integer;
  readonly Nonce: Integer;
  readonly L2TxAttributes?: L2TxAttributes | null;
}

/** What `sendTx` takes: the tx type and the tx_info JSON; `txHash` is the signed hash (hex). */
export interface SignedTx {
  readonly txType: number;
  readonly txInfo: string;
  readonly txHash: string;
}

const MAX_ACCOUNT_INDEX = (1n << 48n) - 2n;
const MAX_API_KEY_INDEX = 254n;
const MAX_48 = (1n << 48n) - 1n;
const MAX_60 = (1n << 60n) - 1n;
const MAX_U32 = (1n << 32n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;

/** A transaction field that does not satisfy the venue's rules. Names the field, never a secret. */
export class LighterTxFieldError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'LighterTxFieldError';
  }
}

function integer(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new LighterTxFieldError(field, 'must be an integer (a safe-integer number or a bigint)');
}

function inRange(value: unknown, field: string, minimum: bigint, maximum: bigint): bigint {
  const parsed = integer(value, field);
  if (parsed < minimum || parsed > maximum) {
    throw new LighterTxFieldError(field, `must be between ${minimum} and ${maximum} (got ${parsed})`);
  }
  return parsed;
}

function marketIndex(value: unknown): bigint {
  const parsed = integer(value, 'MarketIndex');
  const perps = parsed >= 0n && parsed <= 254n;
  const spot = parsed >= 2048n && parsed <= 4094n;
  if (!perps && !spot)
    throw new LighterTxFieldError('MarketIndex', 'must be 0..254 (perps) or 2048..4094 (spot)');
  return parsed;
}

interface AttributeRule {
  readonly minimum: number;
  readonly maximum: number;
  readonly nil: number;
}

// lighter-go AttributeTypeToConfig: 1 integrator account, 2/3 integrator taker/maker fee,
// 4 skip nonce, 5 cancel-all market index, 6/7 self-trade behaviour/equality mode.
const ATTRIBUTE_RULES: Readonly<Record<number, AttributeRule>> = {
  1: { minimum: 0, maximum: Number(MAX_ACCOUNT_INDEX), nil: 0 },
  2: { minimum: 0, maximum: 1_000_000, nil: 0 },
  3: { minimum: 0, maximum: 1_000_000, nil: 0 },
  4: { minimum: 1, maximum: 1, nil: 0 },
  5: { minimum: 0, maximum: 255, nil: 255 },
  6: { minimum: 0, maximum: 3, nil: 0 },
  7: { minimum: 0, maximum: 1, nil: 0 },
};
const ATTRIBUTES_PER_TX = 4;

function attributeEntries(attributes: L2TxAttributes | null | undefined): [number, number][] {
  if (!attributes) return [];
  const entries = Object.entries(attributes).map(([key, value]) => [Number(key), value] as [number, number]);
  if (entries.length > ATTRIBUTES_PER_TX) {
    throw new LighterTxFieldError('L2TxAttributes', `at most ${ATTRIBUTES_PER_TX} attributes`);
  }
  for (const [type, value] of entries) {
    const rule = ATTRIBUTE_RULES[type];
    if (!rule) throw new LighterTxFieldError('L2TxAttributes', `unknown attribute type ${type}`);
    if (!Number.isSafeInteger(value) || value < rule.minimum || value > rule.maximum) {
      throw new LighterTxFieldError(
        `L2TxAttributes.${type}`,
        `must be between ${rule.minimum} and ${rule.maximum}`,
      );
    }
  }
  return entries.sort((left, right) => left[0] - right[0]);
}

/**
 * Folds non-nil attributes into the hash: H(txHash ‖ H(sorted (type, value) pairs, zero-padded to
 * four)). Without any non-nil attribute the tx hash is unchanged.
 */
function aggregateAttributes(txHash: bigint[], attributes: L2TxAttributes | null | undefined): bigint[] {
  const present = attributeEntries(attributes).filter(
    ([type, value]) => value !== ATTRIBUTE_RULES[type]?.nil,
  );
  if (present.length === 0) return txHash;
  const pairs: bigint[] = [];
  for (let slot = 0; slot < ATTRIBUTES_PER_TX; slot += 1) {
    const [type, value] = present[slot] ?? [0, 0];
    pairs.push(BigInt(type), BigInt(value));
  }
  return hashToQuinticExtension([...txHash, ...hashToQuinticExtension(pairs)]);
}

function chain(chainId: unknown): bigint {
  return inRange(chainId, 'chainId', 0n, MAX_U32);
}

function commonFields(tx: {
  AccountIndex: unknown;
  ApiKeyIndex: unknown;
  ExpiredAt: unknown;
  Nonce: unknown;
}) {
  return {
    accountIndex: inRange(tx.AccountIndex, 'AccountIndex', 0n, MAX_ACCOUNT_INDEX),
    apiKeyIndex: inRange(tx.ApiKeyIndex, 'ApiKeyIndex', 0n, MAX_API_KEY_INDEX),
    expiredAt: inRange(tx.ExpiredAt, 'ExpiredAt', 0n, MAX_48),
    nonce: inRange(tx.Nonce, 'Nonce', 0n, MAX_I64),
  };
}

/** Validates a create-order tx by lighter-go's rules and returns its fields as bigints. */
function createOrderFields(tx: CreateOrderTx) {
  const common = commonFields(tx);
  const market = marketIndex(tx.MarketIndex);
  const spot = market >= 2048n;
  const clientOrderIndex = inRange(tx.ClientOrderIndex, 'ClientOrderIndex', 0n, MAX_48);
  const reduceOnly = inRange(tx.ReduceOnly, 'ReduceOnly', 0n, 1n);
  if (spot && reduceOnly === 1n)
    throw new LighterTxFieldError('ReduceOnly', 'is not allowed on spot markets');
  const baseAmount = inRange(tx.BaseAmount, 'BaseAmount', reduceOnly === 1n ? 0n : 1n, MAX_48);
  const price = inRange(tx.Price, 'Price', 1n, MAX_U32);
  const isAsk = inRange(tx.IsAsk, 'IsAsk', 0n, 1n);
  const type = inRange(tx.Type, 'Type', 0n, 6n);
  const timeInForce = inRange(tx.TimeInForce, 'TimeInForce', 0n, 2n);
  const triggerPrice = inRange(tx.TriggerPrice, 'TriggerPrice', 0n, MAX_U32);
  const orderExpiry = inRange(tx.OrderExpiry, 'OrderExpiry', 0n, MAX_I64);
  const ioc = timeInForce === BigInt(TIME_IN_FORCE.immediateOrCancel);
  switch (Number(type)) {
    case ORDER_TYPE.market:
      if (!ioc) throw new LighterTxFieldError('TimeInForce', 'a market order is immediate-or-cancel (0)');
      if (orderExpiry !== 0n)
        throw new LighterTxFieldError('OrderExpiry', 'a market order has no expiry (0)');
      if (triggerPrice !== 0n)
        throw new LighterTxFieldError('TriggerPrice', 'a market order has no trigger (0)');
      break;
    case ORDER_TYPE.limit:
      if (triggerPrice !== 0n)
        throw new LighterTxFieldError('TriggerPrice', 'a limit order has no trigger (0)');
      if (ioc && orderExpiry !== 0n)
        throw new LighterTxFieldError('OrderExpiry', 'an IOC limit order has no expiry (0)');
      if (!ioc && orderExpiry === 0n)
        throw new LighterTxFieldError('OrderExpiry', 'a resting limit order needs an expiry');
      break;
    case ORDER_TYPE.stopLoss:
    case ORDER_TYPE.takeProfit:
      if (spot) throw new LighterTxFieldError('Type', 'trigger orders are perps only');
      if (!ioc) throw new LighterTxFieldError('TimeInForce', 'a stop-loss / take-profit order is IOC (0)');
      if (triggerPrice === 0n) throw new LighterTxFieldError('TriggerPrice', 'is required');
      if (orderExpiry === 0n) throw new LighterTxFieldError('OrderExpiry', 'is required');
      break;
    case ORDER_TYPE.stopLossLimit:
    case ORDER_TYPE.takeProfitLimit:
      if (spot) throw new LighterTxFieldError('Type', 'trigger orders are perps only');
      if (triggerPrice === 0n) throw new LighterTxFieldError('TriggerPrice', 'is required');
      if (orderExpiry === 0n) throw new LighterTxFieldError('OrderExpiry', 'is required');
      break;
    default: // TWAP
      if (timeInForce !== BigInt(TIME_IN_FORCE.goodTillTime)) {
        throw new LighterTxFieldError('TimeInForce', 'a TWAP order is good-till-time (1)');
      }
      if (triggerPrice !== 0n)
        throw new LighterTxFieldError('TriggerPrice', 'a TWAP order has no trigger (0)');
      if (orderExpiry === 0n) throw new LighterTxFieldError('OrderExpiry', 'is required');
  }
  return {
    ...common,
    market,
    clientOrderIndex,
    baseAmount,
    price,
    isAsk,
    type,
    timeInForce,
    reduceOnly,
    triggerPrice,
    orderExpiry,
  };
}

function cancelOrderFields(tx: CancelOrderTx) {
  return {
    ...commonFields(tx),
    market: marketIndex(tx.MarketIndex),
    index: inRange(tx.Index, 'Index', 1n, MAX_60),
  };
}

function hashHex(limbs: readonly bigint[]): string {
  return bytesToHex(limbsToBytes(limbs));
}

function createOrderHashLimbs(tx: CreateOrderTx, chainId: number): bigint[] {
  const fields = createOrderFields(tx);
  const elements = [
    chain(chainId),
    BigInt(TX_TYPE_CREATE_ORDER),
    fields.nonce,
    fields.expiredAt,
    fields.accountIndex,
    fields.apiKeyIndex,
    fields.market,
    fields.clientOrderIndex,
    fields.baseAmount,
    fields.price,
    fields.isAsk,
    fields.type,
    fields.timeInForce,
    fields.reduceOnly,
    fields.triggerPrice,
    fields.orderExpiry,
  ];
  return aggregateAttributes(hashToQuinticExtension(elements), tx.L2TxAttributes);
}

function cancelOrderHashLimbs(tx: CancelOrderTx, chainId: number): bigint[] {
  const fields = cancelOrderFields(tx);
  const elements = [
    chain(chainId),
    BigInt(TX_TYPE_CANCEL_ORDER),
    fields.nonce,
    fields.expiredAt,
    fields.accountIndex,
    fields.apiKeyIndex,
    fields.market,
    fields.index,
  ];
  return aggregateAttributes(hashToQuinticExtension(elements), tx.L2TxAttributes);
}

/** The hash a create-order tx signs (and the tx hash the venue reports), 40 bytes as hex. */
export function createOrderTxHash(tx: CreateOrderTx, chainId: number): string {
  return hashHex(createOrderHashLimbs(tx, chainId));
}

export function cancelOrderTxHash(tx: CancelOrderTx, chainId: number): string {
  return hashHex(cancelOrderHashLimbs(tx, chainId));
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function attributesJson(attributes: L2TxAttributes | null | undefined): string {
  const entries = attributeEntries(attributes);
  if (!attributes) return 'null';
  return `{${entries.map(([type, value]) => `"${type}":${value}`).join(',')}}`;
}

/** Go's json.Marshal of the tx struct: fields in declaration order, integers as JSON numbers. */
function goJson(fields: readonly (readonly [string, string])[]): string {
  return `{${fields.map(([name, value]) => `"${name}":${value}`).join(',')}}`;
}

/** Signs a create-order tx with a fresh random nonce; returns what `sendTx` takes. */
export function signCreateOrder(tx: CreateOrderTx, privateKeyHex: string, chainId: number): SignedTx {
  const fields = createOrderFields(tx);
  const hash = createOrderHashLimbs(tx, chainId);
  const signature = signatureToBytes(schnorrSign(hash, privateKeyToLimbs(privateKeyHex)));
  const txInfo = goJson([
    ['AccountIndex', String(fields.accountIndex)],
    ['ApiKeyIndex', String(fields.apiKeyIndex)],
    ['MarketIndex', String(fields.market)],
    ['ClientOrderIndex', String(fields.clientOrderIndex)],
    ['BaseAmount', String(fields.baseAmount)],
    ['Price', String(fields.price)],
    ['IsAsk', String(fields.isAsk)],
    ['Type', String(fields.type)],
    ['TimeInForce', String(fields.timeInForce)],
    ['ReduceOnly', String(fields.reduceOnly)],
    ['TriggerPrice', String(fields.triggerPrice)],
    ['OrderExpiry', String(fields.orderExpiry)],
    ['ExpiredAt', String(fields.expiredAt)],
    ['Nonce', String(fields.nonce)],
    ['Sig', `"${base64(signature)}"`],
    ['L2TxAttributes', attributesJson(tx.L2TxAttributes)],
  ]);
  return { txType: TX_TYPE_CREATE_ORDER, txInfo, txHash: hashHex(hash) };
}

export function signCancelOrder(tx: CancelOrderTx, privateKeyHex: string, chainId: number): SignedTx {
  const fields = cancelOrderFields(tx);
  const hash = cancelOrderHashLimbs(tx, chainId);
  const signature = signatureToBytes(schnorrSign(hash, privateKeyToLimbs(privateKeyHex)));
  const txInfo = goJson([
    ['AccountIndex', String(fields.accountIndex)],
    ['ApiKeyIndex', String(fields.apiKeyIndex)],
    ['MarketIndex', String(fields.market)],
    ['Index', String(fields.index)],
    ['ExpiredAt', String(fields.expiredAt)],
    ['Nonce', String(fields.nonce)],
    ['Sig', `"${base64(signature)}"`],
    ['L2TxAttributes', attributesJson(tx.L2TxAttributes)],
  ]);
  return { txType: TX_TYPE_CANCEL_ORDER, txInfo, txHash: hashHex(hash) };
}

export interface AuthTokenRequest {
  /** Unix time in seconds when the token stops being valid (the venue allows at most 8 hours ahead). */
  readonly deadline: number;
  readonly accountIndex: Integer;
  readonly apiKeyIndex: Integer;
}

/** The message an auth token signs: `deadline:account:apiKey`, as Goldilocks words, hashed to GF(p^5). */
export function authTokenMessageHash(message: string): bigint[] {
  return hashToQuinticExtension(bytesToGoldilocks(new TextEncoder().encode(message)));
}

/**
 * An auth token for authenticated reads and account streams:
 * `{deadline}:{accountIndex}:{apiKeyIndex}:{hex(signature)}`.
 */
export function createAuthToken(request: AuthTokenRequest, privateKeyHex: string): string {
  const deadline = inRange(request.deadline, 'deadline', 1n, 99_999_999_999n);
  const accountIndex = inRange(request.accountIndex, 'accountIndex', 0n, MAX_ACCOUNT_INDEX);
  const apiKeyIndex = inRange(request.apiKeyIndex, 'apiKeyIndex', 0n, MAX_API_KEY_INDEX);
  const message = `${deadline}:${accountIndex}:${apiKeyIndex}`;
  const signature = signatureToBytes(
    schnorrSign(authTokenMessageHash(message), privateKeyToLimbs(privateKeyHex)),
  );
  return `${message}:${bytesToHex(signature)}`;
}

/** Splits a token into its message and signature; undefined when it is not token-shaped. */
export function parseAuthToken(
  token: string,
):
  | { deadline: number; accountIndex: bigint; apiKeyIndex: number; message: string; signature: string }
  | undefined {
  const match = /^(\d+):(\d+):(\d+):([0-9a-f]{160})$/.exec(token);
  if (!match) return undefined;
  const [, deadline, accountIndex, apiKeyIndex, signature] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    deadline: Number(deadline),
    accountIndex: BigInt(accountIndex),
    apiKeyIndex: Number(apiKeyIndex),
    message: `${deadline}:${accountIndex}:${apiKeyIndex}`,
    signature,
  };
}
