import { createHash } from 'node:crypto';
import {
  type BN,
  type Order as DriftOrder,
  decodeName,
  decodeUser,
  getVariant,
  type UserAccount,
} from '@drift-labs/sdk';
import { ExchangeError } from '@perpkit/core';
import { scaledToDecimal } from './precision';

/** Bytes of a Drift User account: 8 perp positions, 8 spot positions, 32 order slots. */
export const USER_ACCOUNT_SIZE = 4376;

/** Anchor's account discriminator: sha256("account:<Name>")[0..8]. */
export function accountDiscriminator(name: string): Buffer {
  return createHash('sha256').update(`account:${name}`).digest().subarray(0, 8);
}

/** `UserStatus` bit flags (`user.status`). */
const USER_STATUS_FLAGS: readonly (readonly [number, string])[] = [
  [1, 'being-liquidated'],
  [2, 'bankrupt'],
  [4, 'reduce-only'],
  [8, 'advanced-lp'],
  [16, 'protected-maker'],
];

export interface DecodedPerpPosition {
  readonly marketIndex: number;
  /** Signed base amount (BASE_PRECISION): positive long, negative short. */
  readonly baseAssetAmount: string;
  /** Quote amount including realized PnL, fees and settled funding (QUOTE_PRECISION). */
  readonly quoteAssetAmount: string;
  /** Cost basis of the current base, without fees and funding. */
  readonly quoteEntryAmount: string;
  /** Cost basis including fees and funding. */
  readonly quoteBreakEvenAmount: string;
  /** Cumulative funding rate at the last settlement (FUNDING_RATE_PRECISION). */
  readonly lastCumulativeFundingRate: string;
  /** PnL settled into the USDC balance from this position. */
  readonly settledPnl: string;
  readonly openOrders: number;
  readonly openBids: string;
  readonly openAsks: string;
}

export interface DecodedSpotPosition {
  readonly marketIndex: number;
  readonly balanceType: 'deposit' | 'borrow';
  /** Scaled balance (SPOT_MARKET_BALANCE_PRECISION); token amount = scaled × cumulative interest. */
  readonly scaledBalance: string;
  /** Net deposits in the market's token units (integer: the mint's decimals are the market's). */
  readonly cumulativeDeposits: string;
  readonly openOrders: number;
}

export interface DecodedOrder {
  readonly orderId: number;
  readonly userOrderId: number;
  readonly marketIndex: number;
  readonly marketType: string;
  readonly orderType: string;
  readonly status: string;
  readonly direction: 'long' | 'short';
  /** Limit price (PRICE_PRECISION); "0" for a market order without a limit. */
  readonly price: string;
  /** Size (BASE_PRECISION for perps). */
  readonly baseAssetAmount: string;
  /** Cumulative filled base. */
  readonly baseAssetAmountFilled: string;
  /** Cumulative filled quote (QUOTE_PRECISION): VWAP = quote / base. */
  readonly quoteAssetAmountFilled: string;
  readonly reduceOnly: boolean;
  readonly postOnly: boolean;
  readonly immediateOrCancel: boolean;
  readonly slot: string;
  readonly maxTs: string;
}

export interface DecodedUserAccount {
  readonly authority: string;
  readonly delegate: string;
  readonly subAccountId: number;
  readonly name: string;
  readonly status: readonly string[];
  readonly nextOrderId: number;
  readonly lastActiveSlot: string;
  readonly isMarginTradingEnabled: boolean;
  readonly totals: {
    /** USDC deposited over the account's life (QUOTE_PRECISION), as decimals. */
    readonly deposits: string;
    readonly withdraws: string;
    readonly settledPerpPnl: string;
    readonly cumulativePerpFunding: string;
    readonly cumulativeSpotFees: string;
    readonly socialLoss: string;
  };
  /** Positions with a base amount, a quote amount or open orders (empty slots left out). */
  readonly perpPositions: readonly DecodedPerpPosition[];
  readonly spotPositions: readonly DecodedSpotPosition[];
  /** Orders whose status is `open`. */
  readonly openOrders: readonly DecodedOrder[];
}

function asBuffer(data: Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The SDK's own decoder over raw account bytes (after checking size and discriminator): the same
 * `UserAccount` the SDK's subscribers produce.
 */
export function decodeUserAccountRaw(data: Uint8Array | string): UserAccount {
  const buffer = asBuffer(data);
  if (buffer.length !== USER_ACCOUNT_SIZE)
    throw new ExchangeError(
      'EXCHANGE_PROTOCOL',
      `a Drift User account is ${USER_ACCOUNT_SIZE} bytes (got ${buffer.length})`,
    );
  if (!buffer.subarray(0, 8).equals(accountDiscriminator('User')))
    throw new ExchangeError(
      'EXCHANGE_PROTOCOL',
      'the account is not a Drift User account (wrong discriminator)',
    );
  return decodeUser(buffer);
}

function integer(value: BN): string {
  return value.toString();
}

/** An order as exact decimals. */
export function normalizeOrder(order: DriftOrder): DecodedOrder {
  return {
    orderId: order.orderId,
    userOrderId: order.userOrderId,
    marketIndex: order.marketIndex,
    marketType: getVariant(order.marketType),
    orderType: getVariant(order.orderType),
    status: getVariant(order.status),
    direction: getVariant(order.direction) === 'long' ? 'long' : 'short',
    price: scaledToDecimal(order.price, 'price'),
    baseAssetAmount: scaledToDecimal(order.baseAssetAmount, 'base'),
    baseAssetAmountFilled: scaledToDecimal(order.baseAssetAmountFilled, 'base'),
    quoteAssetAmountFilled: scaledToDecimal(order.quoteAssetAmountFilled, 'quote'),
    reduceOnly: order.reduceOnly,
    postOnly: order.postOnly,
    immediateOrCancel: order.immediateOrCancel,
    slot: integer(order.slot),
    maxTs: integer(order.maxTs),
  };
}

/** A decoded `UserAccount` as exact decimal strings. */
export function normalizeUserAccount(user: UserAccount): DecodedUserAccount {
  return {
    authority: user.authority.toBase58(),
    delegate: user.delegate.toBase58(),
    subAccountId: user.subAccountId,
    name: decodeName(user.name).trim(),
    status: USER_STATUS_FLAGS.filter(([bit]) => (user.status & bit) !== 0).map(([, name]) => name),
    nextOrderId: user.nextOrderId,
    lastActiveSlot: integer(user.lastActiveSlot),
    isMarginTradingEnabled: user.isMarginTradingEnabled,
    totals: {
      deposits: scaledToDecimal(user.totalDeposits, 'quote'),
      withdraws: scaledToDecimal(user.totalWithdraws, 'quote'),
      settledPerpPnl: scaledToDecimal(user.settledPerpPnl, 'quote'),
      cumulativePerpFunding: scaledToDecimal(user.cumulativePerpFunding, 'quote'),
      cumulativeSpotFees: scaledToDecimal(user.cumulativeSpotFees, 'quote'),
      socialLoss: scaledToDecimal(user.totalSocialLoss, 'quote'),
    },
    perpPositions: user.perpPositions
      .filter(
        (position) =>
          !position.baseAssetAmount.isZero() ||
          !position.quoteAssetAmount.isZero() ||
          position.openOrders > 0,
      )
      .map((position) => ({
        marketIndex: position.marketIndex,
        baseAssetAmount: scaledToDecimal(position.baseAssetAmount, 'base'),
        quoteAssetAmount: scaledToDecimal(position.quoteAssetAmount, 'quote'),
        quoteEntryAmount: scaledToDecimal(position.quoteEntryAmount, 'quote'),
        quoteBreakEvenAmount: scaledToDecimal(position.quoteBreakEvenAmount, 'quote'),
        lastCumulativeFundingRate: scaledToDecimal(position.lastCumulativeFundingRate, 'fundingRate'),
        settledPnl: scaledToDecimal(position.settledPnl, 'quote'),
        openOrders: position.openOrders,
        openBids: scaledToDecimal(position.openBids, 'base'),
        openAsks: scaledToDecimal(position.openAsks, 'base'),
      })),
    spotPositions: user.spotPositions
      .filter((position) => !position.scaledBalance.isZero() || position.openOrders > 0)
      .map((position) => ({
        marketIndex: position.marketIndex,
        balanceType: getVariant(position.balanceType) === 'borrow' ? 'borrow' : 'deposit',
        scaledBalance: scaledToDecimal(position.scaledBalance, 'spotBalance'),
        cumulativeDeposits: integer(position.cumulativeDeposits),
        openOrders: position.openOrders,
      })),
    openOrders: user.orders.filter((order) => getVariant(order.status) === 'open').map(normalizeOrder),
  };
}

/**
 * Decodes a Drift User account (raw bytes or base64) into exact decimals: positions, balances,
 * open orders and lifetime totals. Throws `EXCHANGE_PROTOCOL` for bytes that are not a User.
 */
export function decodeUserAccount(data: Uint8Array | string): DecodedUserAccount {
  return normalizeUserAccount(decodeUserAccountRaw(data));
}
