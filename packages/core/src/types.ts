/**
 * Domain types shared by every package. Adapters convert venue formats into these at their edge;
 * core never sees a venue format.
 *
 * Conventions:
 * - Times are milliseconds since the Unix epoch (UTC).
 * - Prices are in the quote asset, quantities in the base asset, money in the quote asset.
 * - `exchange` is the exchange *instance* id from the config (two Pacifica accounts may be two
 *   instances); `venue` is the venue's name.
 * - Messages are immutable: every field is readonly; derive new objects, never mutate.
 */

import { EngineError } from './errors';

export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';
/** `post-only` rests or is rejected; `ioc` fills what it can now; `fok` fills fully now or not at all. */
export type TimeInForce = 'gtc' | 'ioc' | 'fok' | 'post-only';
export type OrderStatus =
  | 'pending'
  | 'open'
  | 'partially-filled'
  | 'filled'
  | 'cancelled'
  | 'rejected'
  | 'expired';
export type Liquidity = 'maker' | 'taker';
export type TradingPhase = 'active' | 'reducing' | 'halted';
export type RunMode = 'backtest' | 'paper' | 'live';

export interface Market {
  readonly exchange: string;
  readonly venue: string;
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Exact decimal string; every price must be a multiple of it. */
  readonly tickSize: string;
  /** Exact decimal string; every quantity must be a multiple of it. */
  readonly lotSize: string;
  /** Smallest order quantity (exact decimal string); defaults to the lot size. */
  readonly minQuantity?: string;
  /** Smallest order notional in the quote asset. */
  readonly minNotional: number;
  readonly maxLeverage: number;
  /** Hours between funding settlements on this venue (1 or 8 for the venues perpkit ships). */
  readonly fundingIntervalHours: number;
  readonly makerFeeRate?: number;
  readonly takerFeeRate?: number;
}

export interface Instrument {
  readonly exchange: string;
  readonly symbol: string;
}

/** `exchange:symbol`, the key engine maps use. */
export function instrumentKey(exchange: string, symbol: string): string {
  return `${exchange}:${symbol}`;
}

export interface OrderRequest {
  readonly account: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  /** Exact decimal string, a multiple of the lot size. */
  readonly quantity: string;
  /** Exact decimal string, a multiple of the tick size. Required for limit orders. */
  readonly price?: string;
  /** Defaults to `gtc` for limit orders and `ioc` for market orders. */
  readonly timeInForce?: TimeInForce;
  readonly reduceOnly?: boolean;
  /** Caller-chosen id; venues reject a duplicate while the first is known. */
  readonly clientOrderId?: string;
  /** Cancel the resting remainder at this time (epoch ms). */
  readonly expiresAt?: number;
  /** For market orders: the worst acceptable price, as an exact decimal string. */
  readonly priceLimit?: string;
}

/**
 * An order as the venue reports it.
 *
 * Cumulative semantics: `filledQuantity`, `averagePrice` and `fee` cover every fill of the order so
 * far. A later report replaces an earlier one; never add two reports together.
 */
export interface Order {
  readonly id: string;
  readonly clientOrderId?: string;
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly reduceOnly: boolean;
  readonly quantity: number;
  readonly price?: number;
  readonly status: OrderStatus;
  /** Cumulative filled quantity. */
  readonly filledQuantity: number;
  /** Volume-weighted average price of all fills so far (0 when nothing filled). */
  readonly averagePrice: number;
  /** Cumulative fees paid in the quote asset (negative for a rebate). */
  readonly fee: number;
  /** Venue-style reason when rejected, cancelled by the venue, or expired. */
  readonly reason?: string;
  readonly expiresAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * One execution. Carries both the per-fill fields (`quantity`, `price`, `fee`) and the order's
 * cumulative fields after this fill. Consumers that must survive duplicated or re-sent fills (the
 * ledger does) take deltas of the cumulative fields per order id.
 */
export interface Fill {
  readonly id: string;
  readonly orderId: string;
  readonly clientOrderId?: string;
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: number;
  readonly quantity: number;
  readonly fee: number;
  readonly liquidity: Liquidity;
  readonly timestamp: number;
  /** Order's cumulative filled quantity including this fill. */
  readonly cumulativeQuantity: number;
  /** Order's cumulative fee including this fill. */
  readonly cumulativeFee: number;
  /** Order's VWAP including this fill. */
  readonly averagePrice: number;
  /**
   * Cost of this fill against the reference price when the order was placed (quote asset, positive
   * = worse than reference). Venues that cannot know it leave it out.
   */
  readonly slippage?: number;
  readonly reduceOnly?: boolean;
}

export interface Position {
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  /** Signed: positive long, negative short. */
  readonly quantity: number;
  readonly entryPrice: number;
  readonly markPrice: number;
  readonly unrealizedPnl: number;
  /** Price PnL realized by reductions since the position opened (fees and funding excluded). */
  readonly realizedPnl: number;
  readonly liquidationPrice?: number;
  readonly marginUsed?: number;
  readonly leverage?: number;
  /** Funding estimated for the current, unsettled period (not yet in the balance). */
  readonly fundingAccrued?: number;
  /** Funding settled into the balance since the position opened (positive received). */
  readonly fundingSettled?: number;
  readonly openedAt?: number;
  readonly updatedAt: number;
}

export interface Balance {
  readonly asset: string;
  readonly total: number;
  readonly free: number;
}

export interface AccountSnapshot {
  readonly exchange: string;
  readonly account: string;
  readonly timestamp: number;
  /** Collateral + unrealized PnL (+ unsettled PnL where the venue keeps it apart). */
  readonly equity: number;
  /** Deposited collateral plus settled PnL, in the quote asset. */
  readonly collateral: number;
  /** Equity not used by initial margin of positions and resting orders. */
  readonly freeCollateral: number;
  /** Initial margin used by positions and resting orders. */
  readonly marginUsed: number;
  /** Maintenance margin required by the open positions. */
  readonly maintenanceMargin: number;
  /** 1 − maintenanceMargin / equity, clamped to [0, 1]; 1 with no positions, 0 at liquidation. */
  readonly healthRatio: number;
  /** Total position notional / equity. */
  readonly leverage: number;
  /** PnL realized on the venue but not yet settled into collateral. */
  readonly unsettledPnl: number;
  readonly balances: readonly Balance[];
  readonly positions: readonly Position[];
}

/** A price level: [price, quantity]. */
export type BookLevel = readonly [price: number, quantity: number];

export interface OrderBook {
  readonly exchange: string;
  readonly symbol: string;
  readonly timestamp: number;
  /** Best (highest) first. */
  readonly bids: readonly BookLevel[];
  /** Best (lowest) first. */
  readonly asks: readonly BookLevel[];
  readonly sequence?: number;
}

export interface Ticker {
  readonly exchange: string;
  readonly symbol: string;
  readonly timestamp: number;
  readonly mark: number;
  readonly index?: number;
  readonly last?: number;
  readonly bid?: number;
  readonly ask?: number;
  /** Open interest in base units (contracts of the symbol), when the venue reports it. */
  readonly openInterest?: number;
}

/**
 * A funding rate. `rate` is per the venue's own settlement interval; `ratePerHour` is the same rate
 * normalized to one hour. Compare venues only on `ratePerHour`. Positive: longs pay shorts.
 */
export interface FundingRate {
  readonly exchange: string;
  readonly symbol: string;
  /** Settlement (or observation) time. */
  readonly timestamp: number;
  readonly rate: number;
  readonly intervalHours: number;
  readonly ratePerHour: number;
  readonly nextFundingTime?: number;
  /** True for a predicted rate that has not settled yet. */
  readonly predicted?: boolean;
}

/** Builds a `FundingRate` from a venue-interval rate, normalizing once. */
export function fundingRate(input: Omit<FundingRate, 'ratePerHour'>): FundingRate {
  if (!(input.intervalHours > 0))
    throw new EngineError('INVALID_ARGUMENT', `intervalHours must be positive (got ${input.intervalHours})`);
  return { ...input, ratePerHour: input.rate / input.intervalHours };
}

/** A funding settlement or accrual on one position. `amount` is positive when received. */
export interface FundingPayment {
  readonly id: string;
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  readonly timestamp: number;
  /** The funding time this payment belongs to; with exchange/account/symbol it identifies the payment. */
  readonly fundingTime: number;
  readonly rate: number;
  readonly intervalHours: number;
  readonly positionQuantity: number;
  readonly markPrice: number;
  readonly amount: number;
  /** True when it moved into the balance, false for an accrual estimate. */
  readonly settled: boolean;
}

export interface Candle {
  /** Bar open time. */
  readonly timestamp: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

export interface CandleEvent {
  readonly exchange: string;
  readonly symbol: string;
  /** Bar length in ms. */
  readonly interval: number;
  readonly candle: Candle;
}

export interface Liquidation {
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  readonly timestamp: number;
  readonly quantity: number;
  readonly price: number;
  readonly fee: number;
  readonly reason: string;
}

export interface BalanceChange {
  readonly exchange: string;
  readonly account: string;
  readonly timestamp: number;
  readonly asset: string;
  readonly amount: number;
  readonly kind: 'deposit' | 'withdrawal' | 'transfer' | 'fee' | 'funding' | 'realized-pnl' | 'liquidation';
  readonly balance: number;
}

export type AlertLevel = 'info' | 'warning' | 'critical';

/** What a component's optional `health()` check reports; `/health` fails when one is not ok. */
export interface HealthStatus {
  readonly ok: boolean;
  readonly message?: string;
}

export interface Alert {
  readonly id: string;
  readonly source: string;
  readonly level: AlertLevel;
  /** Stable SCREAMING_SNAKE code. */
  readonly code: string;
  readonly message: string;
  readonly timestamp: number;
  readonly data?: Readonly<Record<string, unknown>>;
}
