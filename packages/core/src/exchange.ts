import type { EventEmitter } from 'eventemitter3';
import type { ExchangeError } from './errors';
import type {
  AccountSnapshot,
  BalanceChange,
  CandleEvent,
  Fill,
  FundingPayment,
  FundingRate,
  HealthStatus,
  Liquidation,
  Market,
  Order,
  OrderBook,
  OrderRequest,
  OrderType,
  Position,
  Ticker,
  TimeInForce,
} from './types';

/**
 * What an exchange can do. The engine and the testkit consult it instead of calling and failing;
 * a method whose capability is false throws `EXCHANGE_NOT_SUPPORTED`.
 */
export interface ExchangeCapabilities {
  readonly orderTypes: readonly OrderType[];
  readonly timeInForce: readonly TimeInForce[];
  readonly reduceOnly: boolean;
  readonly clientOrderId: boolean;
  readonly cancelAll: boolean;
  /** Several accounts (or sub-accounts) behind one instance. */
  readonly multipleAccounts: boolean;
  readonly streams: {
    readonly ticker: boolean;
    readonly orderBook: boolean;
    readonly candles: boolean;
    readonly fundingRate: boolean;
    /** Order, fill, funding and account events for the instance's own accounts. */
    readonly account: boolean;
  };
  readonly fundingHistory: boolean;
  readonly deposit: boolean;
  readonly withdraw: boolean;
  readonly setLeverage: boolean;
}

export type MarketDataChannel = 'ticker' | 'orderBook' | 'candles' | 'fundingRate';

export interface Subscription {
  readonly channel: MarketDataChannel;
  readonly symbol: string;
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** Events every exchange emits. Listeners must not throw; emit order is the venue's order. */
export interface ExchangeEvents {
  ticker: (ticker: Ticker) => void;
  orderBook: (book: OrderBook) => void;
  candle: (candle: CandleEvent) => void;
  fundingRate: (rate: FundingRate) => void;
  /** Every change of an order of one of the instance's accounts. */
  order: (order: Order) => void;
  fill: (fill: Fill) => void;
  funding: (payment: FundingPayment) => void;
  position: (position: Position) => void;
  account: (snapshot: AccountSnapshot) => void;
  liquidation: (liquidation: Liquidation) => void;
  balance: (change: BalanceChange) => void;
  connection: (state: ConnectionState, reason?: string) => void;
  /** Asynchronous problems (a dropped stream, a malformed message). Never thrown from a listener. */
  error: (error: ExchangeError) => void;
}

export interface CancelOrderRequest {
  readonly account: string;
  readonly symbol: string;
  readonly orderId?: string;
  readonly clientOrderId?: string;
}

export interface CancelAllRequest {
  readonly account: string;
  readonly symbol?: string;
}

export interface FundingHistoryRequest {
  readonly symbol: string;
  readonly from?: number;
  readonly to?: number;
  readonly limit?: number;
}

/**
 * The contract every venue adapter (and the simulated venue) implements.
 *
 * `fetch*` methods read, `submit*` and `cancel*` act, streams arrive as `events`. Units are
 * normalized at the adapter's edge (see `types.ts`). Errors are `ExchangeError`s whose `retryable`
 * says whether the same call may be repeated.
 */
export interface Exchange {
  /** Instance id (the config key). */
  readonly id: string;
  /** Venue name, e.g. `pacifica`. */
  readonly venue: string;
  readonly capabilities: ExchangeCapabilities;
  readonly events: EventEmitter<ExchangeEvents>;

  /** Opens connections and loads markets. Idempotent. */
  connect(): Promise<void>;
  /** Closes sockets and timers. Idempotent; the instance may not be reused. */
  close(): Promise<void>;

  /** Account ids this instance trades for. */
  accounts(): readonly string[];

  fetchMarkets(): Promise<readonly Market[]>;
  fetchTicker(symbol: string): Promise<Ticker>;
  fetchOrderBook(symbol: string, depth?: number): Promise<OrderBook>;
  fetchFundingRate(symbol: string): Promise<FundingRate>;
  fetchFundingHistory(request: FundingHistoryRequest): Promise<readonly FundingRate[]>;
  fetchAccount(account: string): Promise<AccountSnapshot>;
  fetchPositions(account: string): Promise<readonly Position[]>;
  fetchOpenOrders(account: string, symbol?: string): Promise<readonly Order[]>;
  fetchOrder(account: string, orderId: string): Promise<Order | undefined>;
  /**
   * Optional: the account as the adapter knows it locally right now, without I/O (a simulator
   * computes it at current marks; a streaming adapter returns its latest snapshot). The engine
   * prefers it over the last `account` event when present.
   */
  snapshotAccount?(account: string): AccountSnapshot | undefined;

  /** Starts streaming a channel as events. Idempotent per (channel, symbol). */
  subscribe(subscription: Subscription): Promise<void>;
  unsubscribe(subscription: Subscription): Promise<void>;

  /**
   * Sends an order. Resolves with the order as acknowledged (status `open`, `filled`, ...). A
   * venue rejection rejects with `OrderRejectedError` whose `reason` is the venue-style reason.
   */
  submitOrder(request: OrderRequest): Promise<Order>;
  /** Resolves with the cancelled order; rejects with `ORDER_NOT_FOUND` when unknown or final. */
  cancelOrder(request: CancelOrderRequest): Promise<Order>;
  /** Resolves with the number of orders cancelled. */
  cancelAllOrders(request: CancelAllRequest): Promise<number>;

  /** Optional: connection and stream health, for the runner's `/health`. */
  health?(): HealthStatus | Promise<HealthStatus>;
  /**
   * Optional, for venues that keep their own books in process (the paper venue): a
   * JSON-serializable copy of their state, saved with engine checkpoints ...
   */
  exportState?(): unknown;
  /** ... and restored, before `connect()`, when the engine resumes from a checkpoint. */
  importState?(state: unknown): void;
}

/** Exchanges with capital management (deposit/withdraw) implement this too. */
export interface CapitalExchange extends Exchange {
  deposit(account: string, asset: string, amount: number): Promise<void>;
  withdraw(account: string, asset: string, amount: number): Promise<void>;
}

export function hasCapital(exchange: Exchange): exchange is CapitalExchange {
  return (
    exchange.capabilities.deposit && typeof (exchange as Partial<CapitalExchange>).deposit === 'function'
  );
}
