import { randomInt } from 'node:crypto';
import {
  type AccountSnapshot,
  BoundedMap,
  BoundedSet,
  type CancelAllRequest,
  type CancelOrderRequest,
  type Clock,
  ConfigError,
  type ConnectionState,
  type Exchange,
  type ExchangeCapabilities,
  ExchangeError,
  type ExchangeEvents,
  type Fill,
  type FundingHistoryRequest,
  type FundingRate,
  fundingRate,
  type Market,
  type Order,
  type OrderBook,
  OrderRejectedError,
  type OrderRequest,
  type OrderStatus,
  type Position,
  RealClock,
  roundToStep,
  type Subscription,
  type Ticker,
  type TimeInForce,
} from '@perpkit/core';
import { EventEmitter } from 'eventemitter3';
import { fundingPaymentFromVenue } from './funding';
import {
  NETWORKS,
  type X10AccountOptions,
  type X10Options,
  type X10OptionsInput,
  x10OptionsSchema,
} from './options';
import { OrderBookState } from './order-book';
import { X10RestClient } from './rest-client';
import { createOrderRequest, type SigningMarket, type StarknetChainId, starkPublicKeyOf } from './signing';
import { StreamConnection } from './stream';
import {
  accountMessageSchema,
  bookMessageSchema,
  fundingMessageSchema,
  markPriceMessageSchema,
  type VenueBalance,
  type VenueFundingPayment,
  type VenueMarket,
  type VenueOrder,
  type VenuePosition,
} from './venue-schemas';

const FINAL_STATUSES: readonly OrderStatus[] = ['filled', 'cancelled', 'rejected', 'expired'];
const DEFAULT_FEE_RATE = '0.0005';
const NONCE_LIMIT = 2 ** 31;
const HOUR = 3_600_000;

interface AccountState {
  readonly options: X10AccountOptions;
  readonly starkPublicKey: string;
  /** Signed max fee rate per market (decimal string). */
  readonly feeRates: Map<string, string>;
  readonly makerRates: Map<string, number>;
  readonly takerRates: Map<string, number>;
  stream?: StreamConnection;
  streamSequence?: number;
  seeded: boolean;
  balance?: VenueBalance;
  positions: Map<string, VenuePosition>;
  /** Funding payments are read from this time on (ms, inclusive; repeats are skipped by id). */
  fundingSince: number;
}

interface FillProgress {
  quantity: number;
  fee: number;
  notional: number;
}

/**
 * The perpkit `Exchange` for Extended (formerly X10): REST for reads and orders, WebSocket streams
 * for books, funding, mark prices and the account, Stark-signed orders.
 */
export class X10Exchange implements Exchange {
  readonly id: string;
  readonly venue = 'x10';
  readonly events = new EventEmitter<ExchangeEvents>();
  readonly capabilities: ExchangeCapabilities;
  readonly options: X10Options;
  readonly rest: X10RestClient;
  private readonly clock: Clock;
  private readonly restUrl: string;
  private readonly streamUrl: string;
  private readonly chainId: StarknetChainId;
  private readonly accountStates = new Map<string, AccountState>();
  private venueMarkets = new Map<string, VenueMarket>();
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly books = new Map<string, { state: OrderBookState; stream: StreamConnection }>();
  private readonly publicStreams = new Map<string, StreamConnection>();
  /** Latest report of every order seen, by venue order id. */
  private readonly orders = new BoundedMap<string, Order>(10_000);
  private readonly fillProgress = new BoundedMap<string, FillProgress>(10_000);
  private readonly orderWaiters = new Map<string, Set<(order: Order) => void>>();
  private readonly clientOrderIds = new BoundedMap<string, string>(10_000);
  private readonly venueIdsByClientId = new BoundedMap<string, string>(10_000);
  /** Executions from TRADE messages not yet matched by an order report, per order id. */
  private readonly pendingTrades = new BoundedMap<
    string,
    { quantity: number; price: number; isTaker: boolean }[]
  >(10_000);
  /** Funding payments already reported, by id. */
  private readonly seenFunding = new BoundedSet<string>(10_000);
  private fundingTimer: ReturnType<typeof setInterval> | undefined;
  private fundingPolling = false;

  constructor(options: X10OptionsInput, context: { id?: string; clock?: Clock } = {}) {
    this.options = x10OptionsSchema.parse(options);
    this.id = context.id ?? 'x10';
    this.clock = context.clock ?? new RealClock();
    const network = NETWORKS[this.options.network];
    this.restUrl = this.options.restUrl ?? network.restUrl;
    this.streamUrl = (this.options.streamUrl ?? network.streamUrl).replace(/\/$/, '');
    this.chainId = this.options.chainId ?? network.chainId;
    this.rest = new X10RestClient({
      baseUrl: this.restUrl,
      userAgent: this.options.userAgent,
      exchangeId: this.id,
      timeoutMs: this.options.requestTimeoutMs,
      maxRetries: this.options.maxRetries,
      retryBaseDelayMs: this.options.retryBaseDelayMs,
    });
    this.capabilities = {
      orderTypes: ['market', 'limit'],
      timeInForce: ['gtc', 'ioc', 'post-only'],
      reduceOnly: true,
      clientOrderId: true,
      cancelAll: true,
      multipleAccounts: true,
      streams: {
        ticker: true,
        orderBook: true,
        candles: false,
        fundingRate: true,
        account: this.options.accountStream,
      },
      fundingHistory: true,
      deposit: false,
      withdraw: false,
      setLeverage: false,
    };
    this.options.accounts.forEach((account, index) => {
      const derived = starkPublicKeyOf(account.starkPrivateKey);
      // A public key that does not belong to the private key would sign orders the venue refuses.
      if (account.starkPublicKey !== undefined && BigInt(account.starkPublicKey) !== BigInt(derived))
        throw new ConfigError(`accounts[${index}].starkPublicKey is not the Stark key of starkPrivateKey`, {
          issues: [{ path: `accounts[${index}].starkPublicKey`, message: 'does not match starkPrivateKey' }],
        });
      this.accountStates.set(account.id, {
        options: account,
        starkPublicKey: derived,
        feeRates: new Map(),
        makerRates: new Map(),
        takerRates: new Map(),
        seeded: false,
        positions: new Map(),
        fundingSince: 0,
      });
    });
  }

  private error(code: ConstructorParameters<typeof ExchangeError>[0], message: string, retryable = false) {
    return new ExchangeError(code, message, { retryable, exchange: this.id });
  }

  private emitError(error: ExchangeError): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
  }

  private emitConnection(state: ConnectionState, reason?: string): void {
    this.events.emit('connection', state, reason);
  }

  // Lifecycle.

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(this.error('ENGINE_STATE', 'the exchange was closed'));
    if (!this.connecting) {
      this.connecting = this.doConnect().catch((error) => {
        this.connecting = undefined;
        throw error;
      });
    }
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    this.emitConnection('connecting');
    await this.loadMarkets();
    for (const state of this.accountStates.values()) {
      const info = await this.rest.getAccountInfo(state.options.apiKey);
      if (info.l2Vault !== undefined && info.l2Vault !== state.options.vault)
        throw this.error(
          'EXCHANGE_AUTH',
          `account ${state.options.id}: the API key belongs to vault ${info.l2Vault}, not the configured ${state.options.vault}`,
        );
      if (info.l2Key !== undefined && BigInt(info.l2Key) !== BigInt(state.starkPublicKey))
        throw this.error(
          'EXCHANGE_AUTH',
          `account ${state.options.id}: the Stark key does not match the account's l2Key`,
        );
      await this.loadFees(state);
      if (this.options.accountStream) await this.openAccountStream(state);
    }
    // Payments of the last hour count as new: a restart right after a settlement must not lose it.
    const since = this.clock.now() - HOUR;
    for (const state of this.accountStates.values()) state.fundingSince = since;
    if (this.options.fundingPollMs > 0 && !this.fundingTimer) {
      this.fundingTimer = setInterval(() => void this.pollFunding(), this.options.fundingPollMs);
      this.fundingTimer.unref?.();
    }
    this.emitConnection('connected');
  }

  private async loadMarkets(): Promise<void> {
    const markets = await this.rest.getMarkets(this.options.markets);
    this.venueMarkets = new Map(
      markets
        .filter(
          (market) =>
            market.active &&
            (market.status === undefined || market.status === 'ACTIVE' || market.status === 'REDUCE_ONLY'),
        )
        .map((market) => [market.name, market]),
    );
  }

  private async loadFees(state: AccountState): Promise<void> {
    const fees = await this.rest.getFees(state.options.apiKey).catch(() => []);
    for (const fee of fees) {
      state.makerRates.set(fee.market, Number(fee.makerFeeRate));
      state.takerRates.set(fee.market, Number(fee.takerFeeRate));
      // The signed fee is a maximum: the larger rate covers both a maker and a taker fill.
      state.feeRates.set(
        fee.market,
        Number(fee.makerFeeRate) > Number(fee.takerFeeRate) ? fee.makerFeeRate : fee.takerFeeRate,
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.fundingTimer) clearInterval(this.fundingTimer);
    this.fundingTimer = undefined;
    const streams: StreamConnection[] = [
      ...this.publicStreams.values(),
      ...[...this.books.values()].map((book) => book.stream),
    ];
    for (const state of this.accountStates.values()) if (state.stream) streams.push(state.stream);
    this.publicStreams.clear();
    this.books.clear();
    await Promise.all(streams.map((stream) => stream.close()));
    for (const waiters of this.orderWaiters.values()) waiters.clear();
    this.emitConnection('disconnected', 'closed');
  }

  accounts(): readonly string[] {
    return [...this.accountStates.keys()];
  }

  private requireAccount(accountId: string): AccountState {
    const state = this.accountStates.get(accountId);
    if (!state) throw this.error('ACCOUNT_NOT_FOUND', `no account "${accountId}" on ${this.id}`);
    return state;
  }

  private async requireMarket(symbol: string): Promise<VenueMarket> {
    if (this.venueMarkets.size === 0) await this.loadMarkets();
    const market = this.venueMarkets.get(symbol);
    if (!market) throw this.error('MARKET_NOT_FOUND', `no market "${symbol}" on ${this.id}`);
    return market;
  }

  // Reads.

  async fetchMarkets(): Promise<readonly Market[]> {
    if (this.venueMarkets.size === 0) await this.loadMarkets();
    const first = this.accountStates.values().next().value as AccountState | undefined;
    return [...this.venueMarkets.values()].map((market) => ({
      exchange: this.id,
      venue: this.venue,
      symbol: market.name,
      base: market.assetName || market.name.split('-')[0] || market.name,
      quote: market.collateralAssetName,
      tickSize: roundToStep(
        market.tradingConfig.minPriceChange,
        market.tradingConfig.minPriceChange,
        'nearest',
      ),
      lotSize: roundToStep(
        market.tradingConfig.minOrderSizeChange,
        market.tradingConfig.minOrderSizeChange,
        'nearest',
      ),
      minQuantity: roundToStep(
        market.tradingConfig.minOrderSize,
        market.tradingConfig.minOrderSizeChange,
        'ceil',
      ),
      minNotional: 0,
      maxLeverage: Number(market.tradingConfig.maxLeverage),
      fundingIntervalHours: 1,
      ...(first?.makerRates.has(market.name) ? { makerFeeRate: first.makerRates.get(market.name) } : {}),
      ...(first?.takerRates.has(market.name) ? { takerFeeRate: first.takerRates.get(market.name) } : {}),
    }));
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    await this.requireMarket(symbol);
    const stats = await this.rest.getMarketStats(symbol);
    return {
      exchange: this.id,
      symbol,
      timestamp: this.clock.now(),
      mark: Number(stats.markPrice),
      ...(stats.indexPrice ? { index: Number(stats.indexPrice) } : {}),
      ...(stats.lastPrice ? { last: Number(stats.lastPrice) } : {}),
      ...(stats.bidPrice && Number(stats.bidPrice) > 0 ? { bid: Number(stats.bidPrice) } : {}),
      ...(stats.askPrice && Number(stats.askPrice) > 0 ? { ask: Number(stats.askPrice) } : {}),
    };
  }

  async fetchOrderBook(symbol: string, depth = 50): Promise<OrderBook> {
    await this.requireMarket(symbol);
    const book = await this.rest.getOrderbook(symbol);
    const bids = book.bid
      .map((level) => [Number(level.price), Number(level.qty)] as const)
      .filter((level) => level[1] > 0)
      .sort((a, b) => b[0] - a[0])
      .slice(0, depth);
    const asks = book.ask
      .map((level) => [Number(level.price), Number(level.qty)] as const)
      .filter((level) => level[1] > 0)
      .sort((a, b) => a[0] - b[0])
      .slice(0, depth);
    return { exchange: this.id, symbol, timestamp: this.clock.now(), bids, asks };
  }

  async fetchFundingRate(symbol: string): Promise<FundingRate> {
    await this.requireMarket(symbol);
    const stats = await this.rest.getMarketStats(symbol);
    return fundingRate({
      exchange: this.id,
      symbol,
      timestamp: this.clock.now(),
      // Extended reports (and charges) a 1-hour rate.
      rate: Number(stats.fundingRate ?? 0),
      intervalHours: 1,
      ...(stats.nextFundingRate ? { nextFundingTime: stats.nextFundingRate } : {}),
      predicted: true,
    });
  }

  async fetchFundingHistory(request: FundingHistoryRequest): Promise<readonly FundingRate[]> {
    await this.requireMarket(request.symbol);
    const to = request.to ?? this.clock.now();
    const from = request.from ?? to - 7 * 24 * 3_600_000;
    const points = await this.rest.getFundingHistory(request.symbol, {
      startTime: from,
      endTime: to,
      ...(request.limit ? { limit: request.limit } : {}),
    });
    return points
      .filter((point) => point.T >= from && point.T <= to)
      .sort((a, b) => a.T - b.T)
      .map((point) =>
        fundingRate({
          exchange: this.id,
          symbol: request.symbol,
          timestamp: point.T,
          rate: Number(point.f),
          intervalHours: 1,
        }),
      );
  }

  async fetchAccount(accountId: string): Promise<AccountSnapshot> {
    const state = this.requireAccount(accountId);
    const [balance, positions] = await Promise.all([
      this.rest.getBalance(state.options.apiKey),
      this.rest.getPositions(state.options.apiKey),
    ]);
    return this.snapshotFrom(accountId, balance, positions);
  }

  private snapshotFrom(
    accountId: string,
    balance: VenueBalance | undefined,
    venuePositions: readonly VenuePosition[],
  ): AccountSnapshot {
    const positions = venuePositions.map((position) => this.position(accountId, position));
    const equity = Number(balance?.equity ?? 0);
    const marginRatio = Number(balance?.marginRatio ?? 0);
    const maintenanceMargin = marginRatio * equity;
    const notional = positions.reduce(
      (sum, position) => sum + Math.abs(position.quantity) * position.markPrice,
      0,
    );
    return {
      exchange: this.id,
      account: accountId,
      timestamp: balance?.updatedTime ?? this.clock.now(),
      equity,
      collateral: Number(balance?.balance ?? 0),
      freeCollateral: Math.min(Number(balance?.availableForTrade ?? 0), equity),
      marginUsed: Number(balance?.initialMargin ?? 0),
      maintenanceMargin,
      healthRatio: positions.length === 0 ? 1 : Math.min(1, Math.max(0, 1 - marginRatio)),
      leverage: equity > 0 ? notional / equity : 0,
      unsettledPnl: 0,
      balances: [
        { asset: 'USD', total: Number(balance?.balance ?? 0), free: Number(balance?.availableForTrade ?? 0) },
      ],
      positions,
    };
  }

  private position(accountId: string, position: VenuePosition): Position {
    const size = Number(position.size);
    return {
      exchange: this.id,
      account: accountId,
      symbol: position.market,
      quantity: position.side === 'SHORT' ? -Math.abs(size) : Math.abs(size),
      entryPrice: Number(position.openPrice),
      markPrice: Number(position.markPrice),
      unrealizedPnl: Number(position.unrealisedPnl),
      realizedPnl: Number(position.realisedPnl),
      ...(position.liquidationPrice ? { liquidationPrice: Number(position.liquidationPrice) } : {}),
      ...(position.margin ? { marginUsed: Number(position.margin) } : {}),
      ...(position.leverage ? { leverage: Number(position.leverage) } : {}),
      ...(position.createdAt ? { openedAt: position.createdAt } : {}),
      updatedAt: position.updatedAt ?? this.clock.now(),
    };
  }

  async fetchPositions(accountId: string): Promise<readonly Position[]> {
    const state = this.requireAccount(accountId);
    const positions = await this.rest.getPositions(state.options.apiKey);
    return positions
      .map((position) => this.position(accountId, position))
      .filter((position) => position.quantity !== 0);
  }

  async fetchOpenOrders(accountId: string, symbol?: string): Promise<readonly Order[]> {
    const state = this.requireAccount(accountId);
    if (symbol !== undefined) await this.requireMarket(symbol);
    const orders = await this.rest.getOpenOrders(state.options.apiKey, symbol);
    return orders
      .map((order) => this.order(accountId, order))
      .filter((order) => !FINAL_STATUSES.includes(order.status));
  }

  async fetchOrder(accountId: string, orderId: string): Promise<Order | undefined> {
    const state = this.requireAccount(accountId);
    const order = await this.rest.getOrder(state.options.apiKey, orderId);
    return order ? this.order(accountId, order) : undefined;
  }

  private order(accountId: string, order: VenueOrder): Order {
    const status = mapStatus(order.status);
    const timeInForce: TimeInForce = order.postOnly
      ? 'post-only'
      : order.timeInForce === 'IOC' || order.type === 'MARKET'
        ? 'ioc'
        : order.timeInForce === 'FOK'
          ? 'fok'
          : 'gtc';
    const clientOrderId =
      this.clientOrderIds.get(order.id) ??
      (order.externalId && !/^\d{40,}$/.test(order.externalId) ? order.externalId : undefined);
    const reason = order.statusReason && order.statusReason !== 'NONE' ? order.statusReason : undefined;
    const expiresAt = order.expireTime ?? order.expiryTime ?? undefined;
    return {
      id: order.id,
      ...(clientOrderId ? { clientOrderId } : {}),
      exchange: this.id,
      account: accountId,
      symbol: order.market,
      side: order.side === 'BUY' ? 'buy' : 'sell',
      type: order.type === 'MARKET' ? 'market' : 'limit',
      timeInForce,
      reduceOnly: order.reduceOnly,
      quantity: Number(order.qty),
      ...(order.price && order.type !== 'MARKET' ? { price: Number(order.price) } : {}),
      status,
      filledQuantity: Number(order.filledQty ?? 0),
      averagePrice: Number(order.averagePrice ?? 0),
      fee: Number(order.payedFee ?? 0),
      ...(reason ? { reason } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      createdAt: order.createdTime ?? this.clock.now(),
      updatedAt: order.updatedTime ?? this.clock.now(),
    };
  }

  // Orders.

  private signingMarket(market: VenueMarket): SigningMarket {
    return {
      name: market.name,
      syntheticAssetId: market.l2Config.syntheticId,
      syntheticResolution: market.l2Config.syntheticResolution,
      collateralAssetId: market.l2Config.collateralId,
      collateralResolution: market.l2Config.collateralResolution,
    };
  }

  /** Worst acceptable price of a market order: through the best opposite price by the slippage. */
  private async marketOrderPrice(market: VenueMarket, side: 'buy' | 'sell'): Promise<string> {
    const streamed = this.books.get(market.name)?.state;
    let reference: number | undefined;
    if (streamed?.ready) {
      const levels = streamed.levels(1);
      reference = side === 'buy' ? levels.asks[0]?.[0] : levels.bids[0]?.[0];
    }
    if (reference === undefined) {
      const book = await this.fetchOrderBook(market.name, 1);
      reference = side === 'buy' ? book.asks[0]?.[0] : book.bids[0]?.[0];
    }
    if (reference === undefined) reference = (await this.fetchTicker(market.name)).mark;
    const slip = this.options.marketSlippage;
    const raw = side === 'buy' ? reference * (1 + slip) : reference * (1 - slip);
    return roundToStep(raw, market.tradingConfig.minPriceChange, side === 'buy' ? 'ceil' : 'floor');
  }

  async submitOrder(request: OrderRequest): Promise<Order> {
    const state = this.requireAccount(request.account);
    const market = await this.requireMarket(request.symbol);
    const timeInForce = request.timeInForce ?? (request.type === 'market' ? 'ioc' : 'gtc');
    if (timeInForce === 'fok')
      throw this.error('EXCHANGE_NOT_SUPPORTED', 'Extended has deprecated fill-or-kill; use ioc');
    if (request.type === 'market' && timeInForce !== 'ioc')
      throw new OrderRejectedError('MarketOrderMustBeIOC', 'a market order is immediate-or-cancel', {
        exchange: this.id,
      });
    let price: string;
    if (request.type === 'limit') {
      if (request.price === undefined)
        throw new OrderRejectedError('MissingOrderPrice', 'a limit order needs a price', {
          exchange: this.id,
        });
      price = request.price;
    } else {
      price = request.priceLimit ?? (await this.marketOrderPrice(market, request.side));
    }
    if (
      request.clientOrderId !== undefined &&
      /^\d+$/.test(request.clientOrderId) &&
      request.clientOrderId.length > 30
    )
      throw new OrderRejectedError(
        'InvalidOrderParameters',
        'clientOrderId must not look like an order hash',
        { exchange: this.id },
      );
    const now = this.clock.now();
    const ioc = timeInForce === 'ioc';
    const expiry = request.expiresAt ?? now + (ioc ? this.options.iocExpiryMs : this.options.gtcExpiryMs);
    let body: ReturnType<typeof createOrderRequest>;
    try {
      body = createOrderRequest({
        market: this.signingMarket(market),
        account: {
          vault: state.options.vault,
          starkPrivateKey: state.options.starkPrivateKey,
          starkPublicKey: state.starkPublicKey,
        },
        side: request.side === 'buy' ? 'BUY' : 'SELL',
        type: request.type === 'market' ? 'MARKET' : 'LIMIT',
        qty: request.quantity,
        price,
        timeInForce: ioc ? 'IOC' : 'GTT',
        feeRate: this.options.feeRate ?? state.feeRates.get(market.name) ?? DEFAULT_FEE_RATE,
        nonce: randomInt(1, NONCE_LIMIT),
        expiryEpochMillis: Math.ceil(expiry),
        chainId: this.chainId,
        reduceOnly: request.reduceOnly ?? false,
        postOnly: timeInForce === 'post-only',
        ...(request.clientOrderId !== undefined ? { externalId: request.clientOrderId } : {}),
      });
    } catch (error) {
      throw new OrderRejectedError('InvalidOrderParameters', (error as Error).message, { exchange: this.id });
    }
    const placed = await this.rest.placeOrder(state.options.apiKey, body);
    if (request.clientOrderId !== undefined) {
      this.clientOrderIds.set(placed.id, request.clientOrderId);
      this.venueIdsByClientId.set(request.clientOrderId, placed.id);
    }
    const order = await this.awaitOrder(
      request.account,
      placed.id,
      (candidate) => candidate.status !== 'pending',
    );
    if (order.status === 'rejected')
      throw new OrderRejectedError(
        order.reason ?? 'REJECTED',
        `order ${order.id} rejected by the venue: ${order.reason ?? 'no reason'}`,
        {
          exchange: this.id,
        },
      );
    return order;
  }

  /**
   * Waits until the venue reports the order in a state `accept` takes: from the account stream when
   * it runs, else by polling `GET /user/orders/{id}`. Resolves with the latest report on timeout
   * (status `pending` when the venue has not reported it yet).
   */
  private async awaitOrder(
    accountId: string,
    orderId: string,
    accept: (order: Order) => boolean,
  ): Promise<Order> {
    const state = this.requireAccount(accountId);
    const deadline = Date.now() + this.options.orderAckTimeoutMs;
    const known = this.orders.get(orderId);
    if (known && accept(known)) return known;
    const streaming = state.stream?.connected === true;
    if (streaming) {
      const fromStream = await new Promise<Order | undefined>((resolve) => {
        const waiters = this.orderWaiters.get(orderId) ?? new Set();
        this.orderWaiters.set(orderId, waiters);
        const timer = setTimeout(() => {
          waiters.delete(listener);
          resolve(undefined);
        }, this.options.orderAckTimeoutMs);
        const listener = (order: Order) => {
          if (!accept(order)) return;
          clearTimeout(timer);
          waiters.delete(listener);
          if (waiters.size === 0) this.orderWaiters.delete(orderId);
          resolve(order);
        };
        waiters.add(listener);
      });
      if (fromStream) return fromStream;
    }
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const order = await this.fetchOrder(accountId, orderId);
      if (order) this.recordOrder(order);
      if (order && accept(order)) return order;
      if (Date.now() >= deadline) {
        if (order) return order;
        throw this.error(
          'EXCHANGE_TIMEOUT',
          `order ${orderId} was not reported within ${this.options.orderAckTimeoutMs} ms`,
          false,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  private recordOrder(order: Order): void {
    const previous = this.orders.get(order.id);
    if (previous && previous.updatedAt > order.updatedAt) return;
    this.orders.set(order.id, order);
    const waiters = this.orderWaiters.get(order.id);
    if (waiters) for (const waiter of [...waiters]) waiter(order);
  }

  async cancelOrder(request: CancelOrderRequest): Promise<Order> {
    const state = this.requireAccount(request.account);
    await this.requireMarket(request.symbol);
    let orderId = request.orderId;
    if (orderId === undefined && request.clientOrderId !== undefined)
      orderId = this.venueIdsByClientId.get(request.clientOrderId);
    if (orderId === undefined) {
      if (request.clientOrderId === undefined)
        throw this.error('INVALID_ARGUMENT', 'cancelOrder needs orderId or clientOrderId');
      // Placed by another process: the venue lists it with the client id as its external id.
      const open = await this.fetchOpenOrders(request.account, request.symbol);
      orderId = open.find((order) => order.clientOrderId === request.clientOrderId)?.id;
      if (orderId === undefined)
        throw this.error('ORDER_NOT_FOUND', `no open order with client id ${request.clientOrderId}`);
    }
    const current = await this.fetchOrder(request.account, orderId);
    if (!current || FINAL_STATUSES.includes(current.status))
      throw this.error('ORDER_NOT_FOUND', `order ${orderId} is unknown or already final`);
    await this.rest.cancelOrder(state.options.apiKey, orderId);
    const order = await this.awaitOrder(request.account, orderId, (candidate) =>
      FINAL_STATUSES.includes(candidate.status),
    );
    return order;
  }

  async cancelAllOrders(request: CancelAllRequest): Promise<number> {
    const state = this.requireAccount(request.account);
    if (request.symbol !== undefined) await this.requireMarket(request.symbol);
    const open = await this.fetchOpenOrders(request.account, request.symbol);
    if (open.length === 0) return 0;
    await this.rest.massCancel(
      state.options.apiKey,
      request.symbol === undefined ? { cancelAll: true } : { markets: [request.symbol] },
    );
    return open.length;
  }

  // Streams.

  private openStream(
    path: string,
    apiKey: string | undefined,
    onMessage: (message: unknown, stream: StreamConnection) => void,
    onConnected?: () => void,
  ): StreamConnection {
    const stream: StreamConnection = new StreamConnection({
      url: `${this.streamUrl}${path}`,
      headers: { 'User-Agent': this.options.userAgent, ...(apiKey ? { 'X-Api-Key': apiKey } : {}) },
      reconnectDelayMs: this.options.reconnectDelayMs,
      maxReconnectDelayMs: this.options.maxReconnectDelayMs,
      staleAfterMs: this.options.staleStreamMs,
      onMessage: (message) => {
        try {
          onMessage(message, stream);
        } catch (error) {
          this.emitError(this.error('EXCHANGE_PROTOCOL', `${path}: ${(error as Error).message}`, true));
        }
      },
      onProtocolError: (message) =>
        this.emitError(this.error('EXCHANGE_PROTOCOL', `${path}: ${message}`, true)),
      onState: (connected, reason) => {
        if (connected) onConnected?.();
        if (!this.closed)
          this.emitConnection(
            connected ? 'connected' : 'reconnecting',
            `${path}${reason ? `: ${reason}` : ''}`,
          );
      },
    });
    return stream;
  }

  async subscribe(subscription: Subscription): Promise<void> {
    const market = await this.requireMarket(subscription.symbol);
    const key = `${subscription.channel}:${market.name}`;
    if (subscription.channel === 'candles')
      throw this.error('EXCHANGE_NOT_SUPPORTED', 'candle streams are not implemented for Extended');
    if (subscription.channel === 'orderBook') {
      if (this.books.has(market.name)) return;
      const state = new OrderBookState();
      const stream = this.openStream(
        `/orderbooks/${encodeURIComponent(market.name)}`,
        undefined,
        (message, connection) => this.onBookMessage(market.name, state, message, connection),
        () => state.reset(),
      );
      this.books.set(market.name, { state, stream });
      await stream.start();
      return;
    }
    if (this.publicStreams.has(key)) return;
    const path =
      subscription.channel === 'ticker'
        ? `/prices/mark/${encodeURIComponent(market.name)}`
        : `/funding/${encodeURIComponent(market.name)}`;
    let lastSequence: number | undefined;
    const stream = this.openStream(
      path,
      undefined,
      (message, connection) => {
        const parsed = (
          subscription.channel === 'ticker' ? markPriceMessageSchema : fundingMessageSchema
        ).safeParse(message);
        if (!parsed.success) {
          this.emitError(this.error('EXCHANGE_PROTOCOL', `${path}: malformed message ignored`, true));
          return;
        }
        if (lastSequence !== undefined && parsed.data.seq !== lastSequence + 1) {
          lastSequence = undefined;
          this.emitError(this.error('EXCHANGE_PROTOCOL', `${path}: sequence gap, reconnecting`, true));
          connection.restart('sequence gap');
          return;
        }
        lastSequence = parsed.data.seq;
        if (subscription.channel === 'ticker') {
          const data = (parsed.data as { data: { m: string; p: string; ts?: number } }).data;
          const book = this.books.get(market.name)?.state;
          const top = book?.ready ? book.levels(1) : undefined;
          this.events.emit('ticker', {
            exchange: this.id,
            symbol: data.m,
            timestamp: data.ts ?? parsed.data.ts,
            mark: Number(data.p),
            ...(top?.bids[0] ? { bid: top.bids[0][0] } : {}),
            ...(top?.asks[0] ? { ask: top.asks[0][0] } : {}),
          });
        } else {
          const data = (parsed.data as { data: { m: string; T: number; f: string } }).data;
          this.events.emit(
            'fundingRate',
            fundingRate({
              exchange: this.id,
              symbol: data.m,
              timestamp: data.T,
              rate: Number(data.f),
              intervalHours: 1,
            }),
          );
        }
      },
      () => {
        lastSequence = undefined;
      },
    );
    this.publicStreams.set(key, stream);
    await stream.start();
    // The stream carries only applied rates: start from the venue's predicted rate, kept fresh by
    // the funding poll.
    if (subscription.channel === 'fundingRate') await this.emitPredictedRate(market.name);
  }

  private async emitPredictedRate(symbol: string): Promise<void> {
    try {
      this.events.emit('fundingRate', await this.fetchFundingRate(symbol));
    } catch (error) {
      this.emitError(
        error instanceof ExchangeError
          ? error
          : this.error(
              'EXCHANGE_UNAVAILABLE',
              `funding rate of ${symbol}: ${(error as Error).message}`,
              true,
            ),
      );
    }
  }

  /**
   * One round of the funding poll: each account's new funding payments (oldest first, each once)
   * and the predicted rate of every subscribed market. Rounds never overlap.
   */
  async pollFunding(): Promise<void> {
    if (this.fundingPolling || this.closed) return;
    this.fundingPolling = true;
    try {
      for (const state of this.accountStates.values()) {
        let payments: VenueFundingPayment[];
        try {
          payments = await this.rest.getFundingPayments(state.options.apiKey, {
            fromTime: state.fundingSince,
          });
        } catch (error) {
          this.emitError(
            error instanceof ExchangeError
              ? error
              : this.error('EXCHANGE_UNAVAILABLE', `funding payments: ${(error as Error).message}`, true),
          );
          continue;
        }
        for (const venuePayment of [...payments].sort((a, b) => a.paidTime - b.paidTime)) {
          if (this.closed) return;
          const payment = this.venueMarkets.has(venuePayment.market)
            ? fundingPaymentFromVenue(this.id, state.options.id, venuePayment)
            : undefined;
          state.fundingSince = Math.max(state.fundingSince, venuePayment.paidTime);
          if (!payment || this.seenFunding.has(payment.id)) continue;
          this.seenFunding.add(payment.id);
          this.events.emit('funding', payment);
        }
      }
      for (const key of this.publicStreams.keys()) {
        if (!key.startsWith('fundingRate:') || this.closed) continue;
        await this.emitPredictedRate(key.slice('fundingRate:'.length));
      }
    } finally {
      this.fundingPolling = false;
    }
  }

  private onBookMessage(
    symbol: string,
    state: OrderBookState,
    message: unknown,
    stream: StreamConnection,
  ): void {
    const parsed = bookMessageSchema.safeParse(message);
    if (!parsed.success) {
      this.emitError(
        this.error('EXCHANGE_PROTOCOL', `/orderbooks/${symbol}: malformed message ignored`, true),
      );
      return;
    }
    if (state.apply(parsed.data) === 'gap') {
      const expected = (state.sequence ?? 0) + 1;
      state.reset();
      this.emitError(
        this.error(
          'EXCHANGE_PROTOCOL',
          `/orderbooks/${symbol}: sequence gap (expected ${expected}, got ${parsed.data.seq}); resynchronizing`,
          true,
        ),
      );
      stream.restart('sequence gap');
      return;
    }
    const levels = state.levels();
    this.events.emit('orderBook', {
      exchange: this.id,
      symbol,
      timestamp: parsed.data.ts,
      bids: levels.bids,
      asks: levels.asks,
      sequence: parsed.data.seq,
    });
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    if (subscription.channel === 'orderBook') {
      const book = this.books.get(subscription.symbol);
      this.books.delete(subscription.symbol);
      await book?.stream.close();
      return;
    }
    const key = `${subscription.channel}:${subscription.symbol}`;
    const stream = this.publicStreams.get(key);
    this.publicStreams.delete(key);
    await stream?.close();
  }

  private async openAccountStream(state: AccountState): Promise<void> {
    const stream = this.openStream(
      '/account',
      state.options.apiKey,
      (message, connection) => this.onAccountMessage(state, message, connection),
      () => {
        state.streamSequence = undefined;
      },
    );
    state.stream = stream;
    await stream.start();
  }

  private onAccountMessage(state: AccountState, message: unknown, stream: StreamConnection): void {
    const parsed = accountMessageSchema.safeParse(message);
    if (!parsed.success) {
      this.emitError(this.error('EXCHANGE_PROTOCOL', '/account: malformed message ignored', true));
      return;
    }
    const { seq, type, data } = parsed.data;
    if (state.streamSequence !== undefined && seq !== state.streamSequence + 1) {
      state.streamSequence = undefined;
      this.emitError(
        this.error('EXCHANGE_PROTOCOL', '/account: sequence gap; reconnecting for a fresh snapshot', true),
      );
      stream.restart('sequence gap');
      return;
    }
    state.streamSequence = seq;
    const accountId = state.options.id;
    for (const trade of data?.trades ?? []) {
      const list = this.pendingTrades.get(trade.orderId) ?? [];
      list.push({ quantity: Number(trade.qty), price: Number(trade.price), isTaker: trade.isTaker });
      this.pendingTrades.set(trade.orderId, list);
    }
    // The first snapshot describes the past: it seeds cumulative fills without reporting them.
    const seeding = type === 'SNAPSHOT' && !state.seeded;
    for (const venueOrder of data?.orders ?? []) {
      const order = this.order(accountId, venueOrder);
      this.recordOrder(order);
      if (seeding) {
        this.fillProgress.set(order.id, {
          quantity: order.filledQuantity,
          fee: order.fee,
          notional: order.filledQuantity * order.averagePrice,
        });
        continue;
      }
      this.events.emit('order', order);
      this.emitFillDelta(order);
    }
    if (data?.positions) {
      if (type === 'SNAPSHOT') state.positions.clear();
      for (const position of data.positions) {
        state.positions.set(position.market, position);
        if (!seeding) this.events.emit('position', this.position(accountId, position));
      }
    }
    if (data?.balance) state.balance = data.balance;
    if (data?.balance || data?.positions) {
      const open = [...state.positions.values()].filter((position) => Number(position.size) !== 0);
      this.events.emit('account', this.snapshotFrom(accountId, state.balance, open));
    }
    if (type === 'SNAPSHOT') state.seeded = true;
  }

  /**
   * Turns the cumulative `filledQty` / `payedFee` of an order report into a fill event: the
   * difference from the last report of the same order. A repeated report adds nothing. The price is
   * the executions' own price when TRADE messages account for the difference, else the VWAP delta.
   */
  private emitFillDelta(order: Order): void {
    const previous = this.fillProgress.get(order.id) ?? { quantity: 0, fee: 0, notional: 0 };
    const quantity = order.filledQuantity - previous.quantity;
    if (!(quantity > 1e-12)) return;
    const notional = order.filledQuantity * order.averagePrice;
    const fee = order.fee - previous.fee;
    const trades = this.pendingTrades.get(order.id) ?? [];
    const traded = trades.reduce((sum, trade) => sum + trade.quantity, 0);
    const matched = trades.length > 0 && Math.abs(traded - quantity) <= 1e-9 * Math.max(1, quantity);
    let price = (notional - previous.notional) / quantity;
    if (matched) {
      price =
        trades.length === 1
          ? (trades[0] as { price: number }).price
          : trades.reduce((sum, trade) => sum + trade.price * trade.quantity, 0) / traded;
      this.pendingTrades.set(order.id, []);
    }
    const taker = matched
      ? trades.some((trade) => trade.isTaker)
      : order.type === 'market' || order.timeInForce === 'ioc' || trades.some((trade) => trade.isTaker);
    this.fillProgress.set(order.id, { quantity: order.filledQuantity, fee: order.fee, notional });
    const fill: Fill = {
      // One report can cover several executions; its id is the order and its cumulative size.
      id: `${order.id}:${order.filledQuantity}`,
      orderId: order.id,
      ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
      exchange: this.id,
      account: order.account,
      symbol: order.symbol,
      side: order.side,
      price,
      quantity,
      fee,
      liquidity: taker ? 'taker' : 'maker',
      timestamp: order.updatedAt,
      cumulativeQuantity: order.filledQuantity,
      cumulativeFee: order.fee,
      averagePrice: order.averagePrice,
      reduceOnly: order.reduceOnly,
    };
    this.events.emit('fill', fill);
  }
}

function mapStatus(status: string): OrderStatus {
  switch (status) {
    case 'NEW':
      return 'open';
    case 'PARTIALLY_FILLED':
      return 'partially-filled';
    case 'FILLED':
      return 'filled';
    case 'CANCELLED':
      return 'cancelled';
    case 'EXPIRED':
      return 'expired';
    case 'REJECTED':
      return 'rejected';
    default:
      return 'pending';
  }
}
