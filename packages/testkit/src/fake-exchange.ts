import {
  type AccountSnapshot,
  type CancelAllRequest,
  type CancelOrderRequest,
  type Candle,
  type Exchange,
  type ExchangeCapabilities,
  ExchangeError,
  type ExchangeEvents,
  type Fill,
  type FundingRate,
  fundingRate,
  isMultipleOf,
  type Market,
  type Order,
  type OrderBook,
  OrderRejectedError,
  type OrderRequest,
  type Position,
  type Subscription,
  type Ticker,
} from '@perpkit/core';
import { EventEmitter } from 'eventemitter3';

export interface FakeExchangeOptions {
  readonly id?: string;
  readonly venue?: string;
  /** Markets; fields left out get BTC-like defaults (tick 0.1, lot 0.001, 8h funding). */
  readonly markets?: readonly (Partial<Market> & { symbol: string })[];
  readonly accounts?: readonly string[];
  /** Starting collateral per account. Default 10 000. */
  readonly balance?: number;
  readonly takerFeeRate?: number;
  readonly makerFeeRate?: number;
  /** Starting mark per symbol. Default 100. */
  readonly prices?: Readonly<Record<string, number>>;
  readonly capabilities?: Partial<ExchangeCapabilities>;
  /** Market orders fill at once at the mark (default). With false, call `fillOrder`. */
  readonly autoFill?: boolean;
  /** Maintenance margin rate for health. Default 0.05. */
  readonly maintenanceMarginRate?: number;
}

interface FakePosition {
  quantity: number;
  entryPrice: number;
}

interface FakeAccount {
  balance: number;
  readonly positions: Map<string, FakePosition>;
}

type FailableMethod = 'submitOrder' | 'cancelOrder' | 'cancelAllOrders' | 'fetchAccount' | 'connect';

const FINAL = new Set(['filled', 'cancelled', 'rejected', 'expired']);

/**
 * An in-memory exchange for unit tests: instant, deterministic and fully controllable. Market
 * orders fill at the current mark; resting limit orders fill when `setPrice` crosses them; any
 * call can be made to fail once with `failNext`. It is not a venue model (that is `@perpkit/sim`).
 */
export class FakeExchange implements Exchange {
  readonly id: string;
  readonly venue: string;
  readonly capabilities: ExchangeCapabilities;
  readonly events = new EventEmitter<ExchangeEvents>();
  /** Every order request received, in order. */
  readonly requests: OrderRequest[] = [];
  connected = false;
  closed = false;

  private readonly marketList: Market[];
  private readonly markets = new Map<string, Market>();
  private readonly accountsById = new Map<string, FakeAccount>();
  private readonly marks = new Map<string, number>();
  private readonly funding = new Map<string, FundingRate>();
  private readonly orders = new Map<string, Order>();
  private readonly clientIds = new Set<string>();
  private readonly failures = new Map<FailableMethod, Error>();
  private readonly subscriptions = new Set<string>();
  private readonly takerFeeRate: number;
  private readonly makerFeeRate: number;
  private readonly autoFill: boolean;
  private readonly maintenanceMarginRate: number;
  private sequence = 0;
  private time = 1_700_000_000_000;

  constructor(options: FakeExchangeOptions = {}) {
    this.id = options.id ?? 'fake';
    this.venue = options.venue ?? 'fake';
    this.takerFeeRate = options.takerFeeRate ?? 0;
    this.makerFeeRate = options.makerFeeRate ?? 0;
    this.autoFill = options.autoFill ?? true;
    this.maintenanceMarginRate = options.maintenanceMarginRate ?? 0.05;
    this.capabilities = {
      orderTypes: ['market', 'limit'],
      timeInForce: ['gtc', 'ioc', 'fok', 'post-only'],
      reduceOnly: true,
      clientOrderId: true,
      cancelAll: true,
      multipleAccounts: true,
      streams: { ticker: true, orderBook: true, candles: true, fundingRate: true, account: true },
      fundingHistory: false,
      deposit: false,
      withdraw: false,
      setLeverage: false,
      ...options.capabilities,
    };
    this.marketList = (options.markets ?? [{ symbol: 'BTC' }]).map((partial) => ({
      exchange: this.id,
      venue: this.venue,
      base: partial.symbol,
      quote: 'USD',
      tickSize: '0.1',
      lotSize: '0.001',
      minNotional: 1,
      maxLeverage: 20,
      fundingIntervalHours: 8,
      takerFeeRate: this.takerFeeRate,
      makerFeeRate: this.makerFeeRate,
      ...partial,
    }));
    for (const market of this.marketList) {
      this.markets.set(market.symbol, market);
      this.marks.set(market.symbol, options.prices?.[market.symbol] ?? 100);
      this.funding.set(
        market.symbol,
        fundingRate({
          exchange: this.id,
          symbol: market.symbol,
          timestamp: this.time,
          rate: 0.0001,
          intervalHours: market.fundingIntervalHours,
        }),
      );
    }
    for (const account of options.accounts ?? ['main']) {
      this.accountsById.set(account, { balance: options.balance ?? 10_000, positions: new Map() });
    }
  }

  // ------------------------------------------------------------ test controls

  /** Makes the next call of `method` reject with `error`. */
  failNext(method: FailableMethod, error: Error): void {
    this.failures.set(method, error);
  }

  private maybeFail(method: FailableMethod): void {
    const error = this.failures.get(method);
    if (error) {
      this.failures.delete(method);
      throw error;
    }
  }

  /** Sets the exchange's notion of time (used for event timestamps). */
  setTime(time: number): void {
    this.time = time;
  }

  /** Moves the mark, emits a ticker, and fills resting limit orders the move crosses. */
  setPrice(symbol: string, price: number): void {
    this.requireMarket(symbol);
    this.marks.set(symbol, price);
    this.events.emit('ticker', this.ticker(symbol));
    for (const order of [...this.orders.values()]) {
      if (
        order.symbol !== symbol ||
        FINAL.has(order.status) ||
        order.type !== 'limit' ||
        order.price === undefined
      )
        continue;
      const crosses = order.side === 'buy' ? price <= order.price : price >= order.price;
      if (crosses) this.fillOrder(order.id, order.quantity - order.filledQuantity, order.price, 'maker');
    }
    this.emitAccounts();
  }

  /** Emits a ticker for every market at its current mark. */
  publishPrices(): void {
    for (const market of this.marketList) this.events.emit('ticker', this.ticker(market.symbol));
  }

  pushCandle(symbol: string, candle: Candle, interval = 60_000): void {
    this.events.emit('candle', { exchange: this.id, symbol, interval, candle });
    this.setPrice(symbol, candle.close);
  }

  setFundingRate(symbol: string, rate: number): void {
    const market = this.requireMarket(symbol);
    const next = fundingRate({
      exchange: this.id,
      symbol,
      timestamp: this.time,
      rate,
      intervalHours: market.fundingIntervalHours,
    });
    this.funding.set(symbol, next);
    this.events.emit('fundingRate', next);
  }

  /** Sets a position directly (as if it had been opened elsewhere). */
  setPosition(account: string, symbol: string, quantity: number, entryPrice: number): void {
    const state = this.requireAccount(account);
    if (quantity === 0) state.positions.delete(symbol);
    else state.positions.set(symbol, { quantity, entryPrice });
  }

  /** Fills `quantity` of a resting order at `price` (default: the mark). */
  fillOrder(orderId: string, quantity: number, price?: number, liquidity: 'maker' | 'taker' = 'taker'): Fill {
    const order = this.orders.get(orderId);
    if (!order || FINAL.has(order.status)) throw new Error(`fake: order ${orderId} cannot fill`);
    const fillPrice = price ?? (this.marks.get(order.symbol) as number);
    const fillQuantity = Math.min(quantity, order.quantity - order.filledQuantity);
    const fee = fillPrice * fillQuantity * (liquidity === 'maker' ? this.makerFeeRate : this.takerFeeRate);
    const filledQuantity = order.filledQuantity + fillQuantity;
    const averagePrice =
      (order.averagePrice * order.filledQuantity + fillPrice * fillQuantity) / filledQuantity;
    const done = filledQuantity >= order.quantity - 1e-12;
    const updated: Order = {
      ...order,
      filledQuantity,
      averagePrice,
      fee: order.fee + fee,
      status: done ? 'filled' : 'partially-filled',
      updatedAt: this.time,
    };
    this.orders.set(orderId, updated);
    this.applyToAccount(order.account, order.symbol, order.side, fillQuantity, fillPrice, fee);
    this.sequence += 1;
    const fill: Fill = {
      id: `${this.id}-fill-${this.sequence}`,
      orderId,
      ...(order.clientOrderId === undefined ? {} : { clientOrderId: order.clientOrderId }),
      exchange: this.id,
      account: order.account,
      symbol: order.symbol,
      side: order.side,
      price: fillPrice,
      quantity: fillQuantity,
      fee,
      liquidity,
      timestamp: this.time,
      cumulativeQuantity: filledQuantity,
      cumulativeFee: updated.fee,
      averagePrice,
      reduceOnly: order.reduceOnly,
    };
    this.events.emit('fill', fill);
    this.events.emit('order', updated);
    this.emitPosition(order.account, order.symbol);
    this.emitAccounts();
    return fill;
  }

  private applyToAccount(
    accountId: string,
    symbol: string,
    side: 'buy' | 'sell',
    quantity: number,
    price: number,
    fee: number,
  ) {
    const account = this.requireAccount(accountId);
    const signed = side === 'buy' ? quantity : -quantity;
    const position = account.positions.get(symbol) ?? { quantity: 0, entryPrice: 0 };
    account.balance -= fee;
    if (position.quantity === 0 || Math.sign(position.quantity) === Math.sign(signed)) {
      const size = Math.abs(position.quantity);
      position.entryPrice = (position.entryPrice * size + price * quantity) / (size + quantity);
      position.quantity += signed;
    } else {
      const closing = Math.min(quantity, Math.abs(position.quantity));
      account.balance += (price - position.entryPrice) * closing * Math.sign(position.quantity);
      position.quantity += signed;
      if (Math.abs(position.quantity) < 1e-12) position.quantity = 0;
      if (Math.sign(position.quantity) === Math.sign(signed) && position.quantity !== 0)
        position.entryPrice = price;
    }
    if (position.quantity === 0) account.positions.delete(symbol);
    else account.positions.set(symbol, position);
  }

  private emitPosition(account: string, symbol: string): void {
    this.events.emit('position', this.position(account, symbol));
  }

  private emitAccounts(): void {
    if (!this.capabilities.streams.account) return;
    for (const account of this.accountsById.keys()) this.events.emit('account', this.snapshot(account));
  }

  // ------------------------------------------------------------ Exchange

  async connect(): Promise<void> {
    this.maybeFail('connect');
    this.connected = true;
  }

  async close(): Promise<void> {
    this.connected = false;
    this.closed = true;
    this.subscriptions.clear();
  }

  accounts(): readonly string[] {
    return [...this.accountsById.keys()];
  }

  async fetchMarkets(): Promise<readonly Market[]> {
    return this.marketList;
  }

  private requireMarket(symbol: string): Market {
    const market = this.markets.get(symbol);
    if (!market)
      throw new ExchangeError('MARKET_NOT_FOUND', `${this.id} has no market ${symbol}`, {
        exchange: this.id,
      });
    return market;
  }

  private requireAccount(account: string): FakeAccount {
    const state = this.accountsById.get(account);
    if (!state)
      throw new ExchangeError('ACCOUNT_NOT_FOUND', `${this.id} has no account ${account}`, {
        exchange: this.id,
      });
    return state;
  }

  private ticker(symbol: string): Ticker {
    const mark = this.marks.get(symbol) as number;
    return {
      exchange: this.id,
      symbol,
      timestamp: this.time,
      mark,
      last: mark,
      bid: mark - 0.5,
      ask: mark + 0.5,
    };
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    this.requireMarket(symbol);
    return this.ticker(symbol);
  }

  async fetchOrderBook(symbol: string, depth = 5): Promise<OrderBook> {
    this.requireMarket(symbol);
    const mark = this.marks.get(symbol) as number;
    const bids = Array.from({ length: depth }, (_, level) => [mark - 0.5 - level, 10] as const);
    const asks = Array.from({ length: depth }, (_, level) => [mark + 0.5 + level, 10] as const);
    return { exchange: this.id, symbol, timestamp: this.time, bids, asks };
  }

  async fetchFundingRate(symbol: string): Promise<FundingRate> {
    this.requireMarket(symbol);
    return this.funding.get(symbol) as FundingRate;
  }

  async fetchFundingHistory(): Promise<readonly FundingRate[]> {
    throw new ExchangeError('EXCHANGE_NOT_SUPPORTED', `${this.id} keeps no funding history`, {
      exchange: this.id,
    });
  }

  private position(account: string, symbol: string): Position {
    const state = this.requireAccount(account).positions.get(symbol);
    const mark = this.marks.get(symbol) as number;
    const quantity = state?.quantity ?? 0;
    const entryPrice = state?.entryPrice ?? 0;
    return {
      exchange: this.id,
      account,
      symbol,
      quantity,
      entryPrice,
      markPrice: mark,
      unrealizedPnl: (mark - entryPrice) * quantity,
      realizedPnl: 0,
      updatedAt: this.time,
    };
  }

  private snapshot(account: string): AccountSnapshot {
    const state = this.requireAccount(account);
    const positions = [...state.positions.keys()].map((symbol) => this.position(account, symbol));
    const unrealized = positions.reduce((sum, position) => sum + position.unrealizedPnl, 0);
    const notional = positions.reduce(
      (sum, position) => sum + Math.abs(position.quantity * position.markPrice),
      0,
    );
    const marginUsed = positions.reduce(
      (sum, position) =>
        sum +
        Math.abs(position.quantity * position.markPrice) /
          (this.markets.get(position.symbol) as Market).maxLeverage,
      0,
    );
    const equity = state.balance + unrealized;
    const maintenanceMargin = notional * this.maintenanceMarginRate;
    return {
      exchange: this.id,
      account,
      timestamp: this.time,
      equity,
      collateral: state.balance,
      freeCollateral: Math.max(0, equity - marginUsed),
      marginUsed,
      maintenanceMargin,
      healthRatio: maintenanceMargin === 0 ? 1 : Math.min(1, Math.max(0, 1 - maintenanceMargin / equity)),
      leverage: equity > 0 ? notional / equity : 0,
      unsettledPnl: 0,
      balances: [{ asset: 'USD', total: state.balance, free: Math.max(0, equity - marginUsed) }],
      positions,
    };
  }

  async fetchAccount(account: string): Promise<AccountSnapshot> {
    this.maybeFail('fetchAccount');
    return this.snapshot(account);
  }

  async fetchPositions(account: string): Promise<readonly Position[]> {
    return this.snapshot(account).positions;
  }

  async fetchOpenOrders(account: string, symbol?: string): Promise<readonly Order[]> {
    this.requireAccount(account);
    return [...this.orders.values()].filter(
      (order) =>
        order.account === account &&
        !FINAL.has(order.status) &&
        (symbol === undefined || order.symbol === symbol),
    );
  }

  async fetchOrder(account: string, orderId: string): Promise<Order | undefined> {
    const order = this.orders.get(orderId);
    return order && order.account === account ? order : undefined;
  }

  async subscribe(subscription: Subscription): Promise<void> {
    this.requireMarket(subscription.symbol);
    this.subscriptions.add(`${subscription.channel}:${subscription.symbol}`);
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    this.subscriptions.delete(`${subscription.channel}:${subscription.symbol}`);
  }

  isSubscribed(subscription: Subscription): boolean {
    return this.subscriptions.has(`${subscription.channel}:${subscription.symbol}`);
  }

  private reject(reason: string, message: string): never {
    throw new OrderRejectedError(reason, message, { exchange: this.id });
  }

  async submitOrder(request: OrderRequest): Promise<Order> {
    this.maybeFail('submitOrder');
    this.requests.push(request);
    const market = this.requireMarket(request.symbol);
    const account = this.requireAccount(request.account);
    if (!isMultipleOf(request.quantity, market.lotSize) || Number(request.quantity) <= 0) {
      this.reject(
        'INVALID_QUANTITY',
        `quantity ${request.quantity} is not a positive multiple of lot ${market.lotSize}`,
      );
    }
    if (request.type === 'limit') {
      if (request.price === undefined) this.reject('PRICE_REQUIRED', 'a limit order needs a price');
      if (!isMultipleOf(request.price, market.tickSize)) {
        this.reject('INVALID_PRICE', `price ${request.price} is not a multiple of tick ${market.tickSize}`);
      }
    }
    if (request.clientOrderId !== undefined) {
      if (this.clientIds.has(request.clientOrderId))
        this.reject('DUPLICATE_CLIENT_ORDER_ID', `client order id ${request.clientOrderId} was used`);
      this.clientIds.add(request.clientOrderId);
    }
    const quantity = Number(request.quantity);
    const current = account.positions.get(request.symbol)?.quantity ?? 0;
    if (request.reduceOnly) {
      const reduces =
        current !== 0 && (request.side === 'sell') === current > 0 && quantity <= Math.abs(current) + 1e-12;
      if (!reduces)
        this.reject('REDUCE_ONLY_WOULD_INCREASE', 'reduce-only order would increase the position');
    }
    const mark = this.marks.get(request.symbol) as number;
    const price = request.price === undefined ? undefined : Number(request.price);
    const crosses = price !== undefined && (request.side === 'buy' ? price >= mark : price <= mark);
    const timeInForce = request.timeInForce ?? (request.type === 'market' ? 'ioc' : 'gtc');
    if (timeInForce === 'post-only' && crosses)
      this.reject('POST_ONLY_WOULD_CROSS', 'post-only order would take liquidity');

    this.sequence += 1;
    const order: Order = {
      id: `${this.id}-${this.sequence}`,
      ...(request.clientOrderId === undefined ? {} : { clientOrderId: request.clientOrderId }),
      exchange: this.id,
      account: request.account,
      symbol: request.symbol,
      side: request.side,
      type: request.type,
      timeInForce,
      reduceOnly: request.reduceOnly ?? false,
      quantity,
      ...(price === undefined ? {} : { price }),
      status: 'open',
      filledQuantity: 0,
      averagePrice: 0,
      fee: 0,
      createdAt: this.time,
      updatedAt: this.time,
    };
    this.orders.set(order.id, order);
    this.events.emit('order', order);
    const takes = request.type === 'market' || crosses;
    if (takes && this.autoFill) {
      this.fillOrder(order.id, quantity, request.type === 'market' ? mark : (price as number), 'taker');
    } else if (timeInForce === 'ioc' || timeInForce === 'fok') {
      if (!takes || !this.autoFill) return this.finish(order.id, 'cancelled', 'IOC_NOT_FILLED');
    }
    return this.orders.get(order.id) as Order;
  }

  private finish(orderId: string, status: 'cancelled' | 'expired', reason: string): Order {
    const order = this.orders.get(orderId) as Order;
    const updated: Order = { ...order, status, reason, updatedAt: this.time };
    this.orders.set(orderId, updated);
    this.events.emit('order', updated);
    return updated;
  }

  async cancelOrder(request: CancelOrderRequest): Promise<Order> {
    this.maybeFail('cancelOrder');
    const order = [...this.orders.values()].find(
      (candidate) =>
        candidate.account === request.account &&
        (candidate.id === request.orderId ||
          (request.clientOrderId !== undefined && candidate.clientOrderId === request.clientOrderId)),
    );
    if (!order || FINAL.has(order.status)) {
      throw new ExchangeError(
        'ORDER_NOT_FOUND',
        `no open order ${request.orderId ?? request.clientOrderId}`,
        { exchange: this.id },
      );
    }
    return this.finish(order.id, 'cancelled', 'CANCELLED_BY_USER');
  }

  async cancelAllOrders(request: CancelAllRequest): Promise<number> {
    this.maybeFail('cancelAllOrders');
    const open = await this.fetchOpenOrders(request.account, request.symbol);
    for (const order of open) this.finish(order.id, 'cancelled', 'CANCELLED_BY_USER');
    return open.length;
  }
}
