import { createHash, randomUUID } from 'node:crypto';
import {
  type AccountSnapshot,
  BoundedMap,
  BoundedSet,
  type CancelAllRequest,
  type CancelOrderRequest,
  type Exchange,
  type ExchangeCapabilities,
  ExchangeError,
  type ExchangeEvents,
  type Fill,
  type FundingHistoryRequest,
  type FundingRate,
  fundingRate,
  isMultipleOf,
  type Logger,
  type Market,
  type Order,
  type OrderBook,
  OrderRejectedError,
  type OrderRequest,
  type OrderStatus,
  type Position,
  roundPrice,
  roundQuantity,
  type Side,
  type Subscription,
  silentLogger,
  type Ticker,
  toDecimalString,
} from '@perpkit/core';
import { EventEmitter } from 'eventemitter3';
import { type PacificaOptions, type PacificaOptionsInput, pacificaOptionsSchema } from './options';
import {
  type BatchActionResult,
  createCredentials,
  MAINNET_REST_URL,
  MAX_BATCH_ACTIONS,
  type PacificaCredentials,
  PacificaRestClient,
  type PacificaSide,
  type StopLegPayload,
  TESTNET_REST_URL,
} from './rest-client';
import {
  type Book,
  type MarketInfo,
  type OpenOrderInfo,
  type OrderHistoryInfo,
  type PositionInfo,
  type PriceInfo,
  parseBook,
  priceInfoSchema,
  type WsAccountTrade,
  type WsOrderUpdate,
  type WsPosition,
  wsAccountInfoSchema,
  wsAccountTradeSchema,
  wsOrderUpdateSchema,
  wsPositionSchema,
} from './schemas';
import { MAINNET_WS_URL, PacificaWebSocket, TESTNET_WS_URL, type WebSocketState } from './ws-client';

const HOUR = 3_600_000;
const RETAINED_ORDERS = 20_000;
const FINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected', 'expired']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Pacifica order events (`oe`) that end an order, as perpkit reasons. */
const EVENT_REASONS: Readonly<Record<string, string>> = {
  cancel: 'CANCELLED_BY_USER',
  force_cancel: 'CANCELLED_BY_VENUE',
  expired: 'TTL_EXPIRED',
  post_only_rejected: 'POST_ONLY_WOULD_CROSS',
  self_trade_prevented: 'SELF_TRADE_PREVENTED',
};

const STATUSES: Readonly<Record<string, OrderStatus>> = {
  open: 'open',
  partially_filled: 'partially-filled',
  filled: 'filled',
  cancelled: 'cancelled',
  rejected: 'rejected',
};

interface AccountState {
  readonly id: string;
  readonly credentials: PacificaCredentials;
  socket: PacificaWebSocket | undefined;
  snapshot: AccountSnapshot | undefined;
  positions: Map<string, Position>;
}

/** Per order: what its fills added up to, so fill events carry cumulative fields. */
interface FillTotals {
  quantity: number;
  fee: number;
  notional: number;
}

export interface StopOrderRequest {
  readonly account: string;
  readonly symbol: string;
  /** The side of the order placed when the stop triggers. */
  readonly side: Side;
  readonly quantity: string;
  readonly stopPrice: string;
  /** Omit for a market order at the trigger. */
  readonly limitPrice?: string;
  readonly reduceOnly?: boolean;
  readonly clientOrderId?: string;
}

export interface PositionTpslRequest {
  readonly account: string;
  readonly symbol: string;
  /** The closing side: `sell` for a long. */
  readonly side: Side;
  readonly takeProfit?: {
    readonly stopPrice: string;
    readonly limitPrice?: string;
    readonly quantity?: string;
  };
  readonly stopLoss?: {
    readonly stopPrice: string;
    readonly limitPrice?: string;
    readonly quantity?: string;
  };
}

/**
 * The Pacifica adapter: the core `Exchange` contract over Pacifica's REST API (reads, signed
 * orders) and WebSocket (prices, books, account events), for one or several accounts.
 *
 * Units: prices in USD, quantities in the base token, funding per hour (Pacifica settles hourly).
 * Prices and quantities are checked (or rounded, `offGrid: round`) against tick and lot before
 * anything is signed.
 */
export class PacificaExchange implements Exchange {
  readonly id: string;
  readonly venue = 'pacifica';
  readonly events = new EventEmitter<ExchangeEvents>();
  readonly capabilities: ExchangeCapabilities;
  readonly options: PacificaOptions;
  readonly rest: PacificaRestClient;

  private readonly logger: Logger;
  private readonly accountStates = new Map<string, AccountState>();
  /** Account address → account id (venue messages name addresses). */
  private readonly idsByAddress = new Map<string, string>();
  private readonly wsUrl: string;
  private marketSocket: PacificaWebSocket | undefined;
  private markets = new Map<string, Market>();
  /** Orders seen, newest last; the oldest are forgotten beyond `RETAINED_ORDERS`. */
  private readonly orders = new Map<string, Order>();
  /** Venue client order id (a UUID) → the caller's id, per account. */
  private readonly clientIds = new BoundedMap<string, string>(20_000);
  private readonly fillTotals = new BoundedMap<string, FillTotals>(20_000);
  private readonly seenTrades = new BoundedSet<string>(50_000);
  private readonly marks = new Map<string, number>();
  private readonly tickerSymbols = new Set<string>();
  private readonly fundingSymbols = new Set<string>();
  private readonly bookSymbols = new Set<string>();
  private readonly expiryTimers = new Set<NodeJS.Timeout>();
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(input: PacificaOptionsInput, context: { id?: string; logger?: Logger } = {}) {
    const parsed = pacificaOptionsSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new ExchangeError('INVALID_ARGUMENT', `invalid pacifica options: ${problems}`);
    }
    this.options = parsed.data;
    this.id = context.id ?? 'pacifica';
    this.logger = context.logger ?? silentLogger;
    const testnet = this.options.network === 'testnet';
    this.rest = new PacificaRestClient({
      baseUrl: this.options.baseUrl ?? (testnet ? TESTNET_REST_URL : MAINNET_REST_URL),
      ...(this.options.apiKey ? { apiKey: this.options.apiKey } : {}),
      timeoutMs: this.options.requestTimeoutMs,
      maxRetries: this.options.maxRetries,
      expiryWindowMs: this.options.expiryWindowMs,
      exchangeId: this.id,
      onRateLimited: ({ path, attempt, delayMs }) =>
        this.logger.warn('pacifica rate limited', { path, attempt, delayMs }),
    });
    this.wsUrl = this.options.wsUrl ?? (testnet ? TESTNET_WS_URL : MAINNET_WS_URL);
    for (const account of this.options.accounts) {
      const credentials = createCredentials({
        secretKey: account.secretKey,
        ...(account.account ? { account: account.account } : {}),
      });
      const id = account.id ?? credentials.account;
      this.accountStates.set(id, {
        id,
        credentials,
        socket: undefined,
        snapshot: undefined,
        positions: new Map(),
      });
      this.idsByAddress.set(credentials.account, id);
    }
    const streaming = this.options.websocket;
    this.capabilities = {
      orderTypes: ['market', 'limit'],
      timeInForce: ['gtc', 'ioc', 'post-only'],
      reduceOnly: true,
      clientOrderId: true,
      cancelAll: true,
      multipleAccounts: true,
      streams: {
        ticker: streaming,
        orderBook: streaming,
        candles: false,
        fundingRate: streaming,
        account: streaming,
      },
      fundingHistory: true,
      deposit: false,
      withdraw: false,
      setLeverage: true,
    };
  }

  // ---------------------------------------------------------------- lifecycle

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is closed`));
    this.connecting ??= this.openConnections().catch((error) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  private async openConnections(): Promise<void> {
    this.events.emit('connection', 'connecting');
    await this.loadMarkets();
    for (const state of this.accountStates.values()) await this.syncOrders(state);
    if (this.options.websocket) {
      this.marketSocket = this.createSocket(undefined);
      const sockets = [this.marketSocket.connect()];
      for (const state of this.accountStates.values()) {
        state.socket = this.createSocket(state);
        for (const source of ['account_trades', 'account_order_updates', 'account_positions', 'account_info'])
          state.socket.subscribe({ source, account: state.credentials.account });
        sockets.push(state.socket.connect());
      }
      await Promise.all(sockets);
    }
    this.events.emit('connection', 'connected');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.expiryTimers) clearTimeout(timer);
    this.expiryTimers.clear();
    await this.marketSocket?.close();
    for (const state of this.accountStates.values()) await state.socket?.close();
    this.events.emit('connection', 'disconnected', 'closed');
  }

  accounts(): readonly string[] {
    return [...this.accountStates.keys()];
  }

  /** Sockets, for monitoring and fault tests: the market-data socket and one per account. */
  sockets(): {
    market: PacificaWebSocket | undefined;
    accounts: ReadonlyMap<string, PacificaWebSocket | undefined>;
  } {
    return {
      market: this.marketSocket,
      accounts: new Map([...this.accountStates].map(([id, state]) => [id, state.socket])),
    };
  }

  private createSocket(account: AccountState | undefined): PacificaWebSocket {
    const socket = new PacificaWebSocket({
      url: this.wsUrl,
      ...(this.options.apiKey ? { apiKey: this.options.apiKey } : {}),
      pingIntervalMs: this.options.pingIntervalMs,
      // Account channels are quiet by nature: only market data can be stale.
      staleAfterMs: account ? 0 : this.options.staleAfterMs,
      reconnect: {
        baseDelayMs: this.options.reconnectBaseDelayMs,
        maxDelayMs: this.options.reconnectMaxDelayMs,
      },
      circuitBreaker: {
        failureThreshold: this.options.circuitBreakerFailures,
        cooldownMs: this.options.circuitBreakerCooldownMs,
      },
      exchangeId: this.id,
    });
    socket.events.on('message', (channel, data) => {
      try {
        this.onMessage(account, channel, data);
      } catch (error) {
        this.emitError(error, `${channel} message`);
      }
    });
    socket.events.on('error', (error) => this.events.emit('error', error));
    socket.events.on('state', (state, reason) => {
      if (!account) this.events.emit('connection', connectionState(state), reason);
    });
    socket.events.on('open', (reconnect) => {
      // Events may have been missed while the socket was down: catch up from REST.
      if (reconnect && account)
        void this.syncOrders(account).catch((error) => this.emitError(error, 'resync'));
    });
    return socket;
  }

  private emitError(error: unknown, where: string): void {
    const wrapped =
      error instanceof ExchangeError
        ? error
        : new ExchangeError(
            'EXCHANGE_PROTOCOL',
            `Pacifica ${where}: ${error instanceof Error ? error.message : String(error)}`,
            {
              exchange: this.id,
            },
          );
    this.events.emit('error', wrapped);
  }

  // ---------------------------------------------------------------- reads

  private async loadMarkets(): Promise<Map<string, Market>> {
    const infos = await this.rest.getMarketInfo();
    this.markets = new Map(infos.map((info) => [info.symbol, this.toMarket(info)]));
    return this.markets;
  }

  private toMarket(info: MarketInfo): Market {
    return {
      exchange: this.id,
      venue: this.venue,
      symbol: info.symbol,
      base: info.symbol,
      quote: 'USD',
      tickSize: info.tick_size,
      lotSize: info.lot_size,
      minNotional: info.min_order_size ?? 0,
      maxLeverage: info.max_leverage !== undefined && info.max_leverage > 0 ? info.max_leverage : 1,
      fundingIntervalHours: 1,
      makerFeeRate: this.options.makerFeeRate,
      takerFeeRate: this.options.takerFeeRate,
    };
  }

  async fetchMarkets(): Promise<readonly Market[]> {
    return [...(await this.loadMarkets()).values()];
  }

  private async market(symbol: string): Promise<Market> {
    let market = this.markets.get(symbol);
    if (!market) market = (await this.loadMarkets()).get(symbol);
    if (!market)
      throw new ExchangeError('MARKET_NOT_FOUND', `Pacifica has no market ${symbol}`, { exchange: this.id });
    return market;
  }

  private async price(symbol: string): Promise<PriceInfo> {
    const prices = await this.rest.getPrices();
    for (const price of prices) this.marks.set(price.symbol, price.mark);
    const price = prices.find((candidate) => candidate.symbol === symbol);
    if (!price)
      throw new ExchangeError('MARKET_NOT_FOUND', `Pacifica has no market ${symbol}`, { exchange: this.id });
    return price;
  }

  private toTicker(price: PriceInfo): Ticker {
    return {
      exchange: this.id,
      symbol: price.symbol,
      timestamp: price.timestamp ?? Date.now(),
      mark: price.mark,
      ...(price.oracle === undefined ? {} : { index: price.oracle }),
      ...(price.mid === undefined ? {} : { last: price.mid }),
      // Pacifica reports open interest in USD; the ticker carries base units.
      ...(price.open_interest === undefined || !(price.mark > 0)
        ? {}
        : { openInterest: price.open_interest / price.mark }),
    };
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    return this.toTicker(await this.price(symbol));
  }

  private toOrderBook(book: Book, depth = 10): OrderBook {
    const level = (entry: { p: number; a: number }) => [entry.p, entry.a] as const;
    return {
      exchange: this.id,
      symbol: book.s,
      timestamp: book.t ?? Date.now(),
      bids: book.l[0]
        .filter((entry) => entry.p > 0 && entry.a > 0)
        .slice(0, depth)
        .map(level),
      asks: book.l[1]
        .filter((entry) => entry.p > 0 && entry.a > 0)
        .slice(0, depth)
        .map(level),
    };
  }

  async fetchOrderBook(symbol: string, depth = 10): Promise<OrderBook> {
    await this.market(symbol);
    return this.toOrderBook(await this.rest.getOrderbook(symbol), depth);
  }

  private toFundingRate(price: PriceInfo): FundingRate {
    const timestamp = price.timestamp ?? Date.now();
    return fundingRate({
      exchange: this.id,
      symbol: price.symbol,
      timestamp,
      // The estimate for the hour in progress; `funding` is the last settled hour.
      rate: price.next_funding ?? price.funding ?? 0,
      intervalHours: 1,
      nextFundingTime: Math.floor(timestamp / HOUR) * HOUR + HOUR,
      predicted: true,
    });
  }

  async fetchFundingRate(symbol: string): Promise<FundingRate> {
    return this.toFundingRate(await this.price(symbol));
  }

  async fetchFundingHistory(request: FundingHistoryRequest): Promise<readonly FundingRate[]> {
    await this.market(request.symbol);
    const out: FundingRate[] = [];
    let cursor: string | undefined;
    const limit = request.limit ?? 1_000;
    for (let page = 0; page < 100; page += 1) {
      const result = await this.rest.getHistoricalFunding(request.symbol, {
        limit: Math.min(4_000, limit),
        ...(cursor ? { cursor } : {}),
      });
      let older = false;
      for (const item of result.items) {
        const time = item.created_at ?? 0;
        if (request.to !== undefined && time > request.to) continue;
        if (request.from !== undefined && time < request.from) {
          older = true;
          continue;
        }
        out.push(
          fundingRate({
            exchange: this.id,
            symbol: request.symbol,
            timestamp: time,
            rate: item.funding_rate,
            intervalHours: 1,
          }),
        );
      }
      cursor = result.nextCursor;
      if (!result.hasMore || !cursor || older || out.length >= limit) break;
    }
    out.sort((left, right) => left.timestamp - right.timestamp);
    return out.slice(-limit);
  }

  private requireAccount(accountId: string): AccountState {
    const state =
      this.accountStates.get(accountId) ?? this.accountStates.get(this.idsByAddress.get(accountId) ?? '');
    if (!state)
      throw new ExchangeError('ACCOUNT_NOT_FOUND', `${this.id} has no account ${accountId}`, {
        exchange: this.id,
      });
    return state;
  }

  private toPosition(state: AccountState, info: PositionInfo | WsPosition): Position {
    const isRest = 'symbol' in info;
    const symbol = isRest ? info.symbol : info.s;
    const amount = isRest ? info.amount : info.a;
    const side = isRest ? info.side : info.d;
    const entryPrice = isRest ? info.entry_price : info.p;
    const quantity = side === 'ask' || side === 'short' ? -amount : amount;
    const mark = this.marks.get(symbol) ?? entryPrice;
    const margin = isRest ? info.margin : info.m;
    const funding = isRest ? info.funding : info.f;
    const liquidation = isRest ? undefined : info.l;
    const updatedAt = (isRest ? info.updated_at : info.t) ?? Date.now();
    const market = this.markets.get(symbol);
    return {
      exchange: this.id,
      account: state.id,
      symbol,
      quantity,
      entryPrice,
      markPrice: mark,
      unrealizedPnl: (mark - entryPrice) * quantity,
      realizedPnl: 0,
      ...(liquidation !== undefined && liquidation > 0 ? { liquidationPrice: liquidation } : {}),
      marginUsed:
        margin !== undefined && margin > 0
          ? margin
          : (Math.abs(quantity) * mark) / (market?.maxLeverage ?? 1),
      // The venue's funding of the position since it opened, as the venue reports it.
      ...(funding === undefined ? {} : { fundingSettled: funding }),
      ...(isRest && info.created_at !== undefined ? { openedAt: info.created_at } : {}),
      updatedAt,
    };
  }

  async fetchPositions(accountId: string): Promise<readonly Position[]> {
    const state = this.requireAccount(accountId);
    const [positions] = await Promise.all([
      this.rest.getPositions(state.credentials.account),
      this.refreshMarks(),
    ]);
    return positions.filter((info) => info.amount !== 0).map((info) => this.toPosition(state, info));
  }

  private async refreshMarks(): Promise<void> {
    try {
      for (const price of await this.rest.getPrices()) this.marks.set(price.symbol, price.mark);
    } catch (error) {
      // Marks only value positions; a failed refresh keeps the last ones.
      this.emitError(error, 'prices');
    }
  }

  async fetchAccount(accountId: string): Promise<AccountSnapshot> {
    const state = this.requireAccount(accountId);
    const [info, positions] = await Promise.all([
      this.rest.getAccountInfo(state.credentials.account),
      this.fetchPositions(state.id),
    ]);
    const equity = info.account_equity;
    const maintenance = info.cross_mmr ?? 0;
    const notional = positions.reduce(
      (sum, position) => sum + Math.abs(position.quantity) * position.markPrice,
      0,
    );
    const free = Math.min(
      equity,
      Math.max(0, info.available_to_spend ?? equity - (info.total_margin_used ?? 0)),
    );
    const snapshot: AccountSnapshot = {
      exchange: this.id,
      account: state.id,
      timestamp: info.updated_at ?? Date.now(),
      equity,
      collateral: info.balance,
      freeCollateral: free,
      marginUsed: info.total_margin_used ?? 0,
      maintenanceMargin: maintenance,
      healthRatio: healthRatio(maintenance, equity),
      leverage: equity > 0 ? notional / equity : 0,
      unsettledPnl: 0,
      balances: [{ asset: 'USDC', total: info.balance, free: info.available_to_withdraw ?? free }],
      positions,
    };
    state.snapshot = snapshot;
    return snapshot;
  }

  snapshotAccount(accountId: string): AccountSnapshot | undefined {
    return this.accountStates.get(accountId)?.snapshot;
  }

  async fetchOpenOrders(accountId: string, symbol?: string): Promise<readonly Order[]> {
    const state = this.requireAccount(accountId);
    const open = await this.rest.getOpenOrders(state.credentials.account);
    return open
      .filter((info) => symbol === undefined || info.symbol === symbol)
      .map((info) => this.remember(this.fromOpenOrder(state, info)));
  }

  async fetchOrder(accountId: string, orderId: string): Promise<Order | undefined> {
    const state = this.requireAccount(accountId);
    const known = this.orders.get(orderId);
    if (known && known.account === state.id && FINAL.has(known.status)) return known;
    const history = await this.rest.getOrderHistoryById(orderId);
    const latest = history.reduce<OrderHistoryInfo | undefined>(
      (best, item) => (best === undefined || (item.history_id ?? 0) > (best.history_id ?? 0) ? item : best),
      undefined,
    );
    if (!latest) return known;
    const order = this.fromHistory(state, latest, known);
    // A WebSocket update may be newer than the history endpoint: keep the more advanced report.
    if (known && !FINAL.has(order.status) && known.filledQuantity > order.filledQuantity) return known;
    return this.remember(order);
  }

  // ---------------------------------------------------------------- subscriptions

  async subscribe(subscription: Subscription): Promise<void> {
    await this.market(subscription.symbol);
    const socket = this.requireStreams(subscription.channel);
    if (subscription.channel === 'orderBook') {
      this.bookSymbols.add(subscription.symbol);
      socket.subscribe({ source: 'book', symbol: subscription.symbol, agg_level: 1 });
      return;
    }
    (subscription.channel === 'ticker' ? this.tickerSymbols : this.fundingSymbols).add(subscription.symbol);
    socket.subscribe({ source: 'prices' });
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    await this.market(subscription.symbol);
    const socket = this.requireStreams(subscription.channel);
    if (subscription.channel === 'orderBook') {
      this.bookSymbols.delete(subscription.symbol);
      socket.unsubscribe({ source: 'book', symbol: subscription.symbol, agg_level: 1 });
      return;
    }
    (subscription.channel === 'ticker' ? this.tickerSymbols : this.fundingSymbols).delete(
      subscription.symbol,
    );
    if (this.tickerSymbols.size === 0 && this.fundingSymbols.size === 0)
      socket.unsubscribe({ source: 'prices' });
  }

  private requireStreams(channel: Subscription['channel']): PacificaWebSocket {
    if (channel === 'candles' || !this.options.websocket)
      throw new ExchangeError('EXCHANGE_NOT_SUPPORTED', `${this.id} does not stream ${channel}`, {
        exchange: this.id,
      });
    if (!this.marketSocket)
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is not connected`, {
        exchange: this.id,
        retryable: true,
      });
    return this.marketSocket;
  }

  private onMessage(account: AccountState | undefined, channel: string, data: unknown): void {
    switch (channel) {
      case 'prices':
        this.onPrices(data);
        return;
      case 'book': {
        const book = parseBook(data);
        if (typeof book === 'string') throw protocol('book', book);
        if (this.bookSymbols.has(book.s)) this.events.emit('orderBook', this.toOrderBook(book));
        return;
      }
      case 'account_trades':
        if (account) for (const item of asList(data)) this.onAccountTrade(account, item);
        return;
      case 'account_order_updates':
        if (account) for (const item of asList(data)) this.onOrderUpdate(account, item);
        return;
      case 'account_positions':
        if (account) this.onPositions(account, asList(data));
        return;
      case 'account_info':
        if (account) this.onAccountInfo(account, data);
        return;
      default:
        return;
    }
  }

  private onPrices(data: unknown): void {
    for (const item of asList(data)) {
      const parsed = priceInfoSchema.safeParse(item);
      if (!parsed.success) {
        this.emitError(protocol('prices', parsed.error.issues[0]?.message), 'prices');
        continue;
      }
      const price = parsed.data;
      this.marks.set(price.symbol, price.mark);
      if (this.tickerSymbols.has(price.symbol)) this.events.emit('ticker', this.toTicker(price));
      if (this.fundingSymbols.has(price.symbol)) this.events.emit('fundingRate', this.toFundingRate(price));
    }
  }

  private onAccountTrade(state: AccountState, item: unknown): void {
    const parsed = wsAccountTradeSchema.safeParse(item);
    if (!parsed.success) throw protocol('account_trades', parsed.error.issues[0]?.message);
    const trade: WsAccountTrade = parsed.data;
    // A reconnect or a rollover may deliver a trade twice: count each history id once.
    if (this.seenTrades.has(trade.h)) return;
    this.seenTrades.add(trade.h);
    const totals = this.fillTotals.get(trade.i) ?? { quantity: 0, fee: 0, notional: 0 };
    totals.quantity += trade.a;
    totals.fee += trade.f ?? 0;
    totals.notional += trade.a * trade.p;
    this.fillTotals.set(trade.i, totals);
    const known = this.orders.get(trade.i);
    if (known) this.orders.set(trade.i, { ...known, fee: totals.fee });
    const side: Side = trade.ts?.endsWith('long')
      ? trade.ts.startsWith('open')
        ? 'buy'
        : 'sell'
      : trade.ts?.startsWith('open')
        ? 'sell'
        : trade.ts?.startsWith('close')
          ? 'buy'
          : (known?.side ?? 'buy');
    const clientOrderId = this.callerClientId(state, trade.I) ?? known?.clientOrderId;
    const fill: Fill = {
      id: trade.h,
      orderId: trade.i,
      ...(clientOrderId === undefined ? {} : { clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: trade.s,
      side,
      price: trade.p,
      quantity: trade.a,
      fee: trade.f ?? 0,
      liquidity: trade.te === 'fulfill_maker' ? 'maker' : 'taker',
      timestamp: trade.t ?? Date.now(),
      cumulativeQuantity: totals.quantity,
      cumulativeFee: totals.fee,
      averagePrice: totals.quantity > 0 ? totals.notional / totals.quantity : 0,
      ...(known?.reduceOnly === undefined ? {} : { reduceOnly: known.reduceOnly }),
    };
    this.events.emit('fill', fill);
  }

  private onOrderUpdate(state: AccountState, item: unknown): void {
    const parsed = wsOrderUpdateSchema.safeParse(item);
    if (!parsed.success) throw protocol('account_order_updates', parsed.error.issues[0]?.message);
    const update: WsOrderUpdate = parsed.data;
    const known = this.orders.get(update.i);
    const status = STATUSES[update.os ?? ''] ?? known?.status ?? 'open';
    const reason = update.oe ? EVENT_REASONS[update.oe] : undefined;
    const clientOrderId = this.callerClientId(state, update.I) ?? known?.clientOrderId;
    const order: Order = {
      id: update.i,
      ...(clientOrderId === undefined ? {} : { clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: update.s,
      side: update.d === 'ask' ? 'sell' : 'buy',
      type: update.ot === 'market' ? 'market' : 'limit',
      timeInForce: known?.timeInForce ?? (update.ot === 'market' ? 'ioc' : 'gtc'),
      reduceOnly: update.r ?? known?.reduceOnly ?? false,
      quantity: update.a,
      ...(update.ip !== undefined && update.ot !== 'market' ? { price: update.ip } : {}),
      status: status === 'cancelled' && reason === 'POST_ONLY_WOULD_CROSS' ? 'rejected' : status,
      filledQuantity: update.f ?? 0,
      averagePrice: update.p ?? 0,
      fee: this.fillTotals.get(update.i)?.fee ?? known?.fee ?? 0,
      ...(reason === undefined ? {} : { reason }),
      ...(known?.expiresAt === undefined ? {} : { expiresAt: known.expiresAt }),
      createdAt: update.ct ?? known?.createdAt ?? Date.now(),
      updatedAt: update.ut ?? Date.now(),
    };
    this.remember(order);
    this.events.emit('order', order);
  }

  private onPositions(state: AccountState, items: unknown[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const parsed = wsPositionSchema.safeParse(item);
      if (!parsed.success) throw protocol('account_positions', parsed.error.issues[0]?.message);
      const position = this.toPosition(state, parsed.data);
      seen.add(position.symbol);
      state.positions.set(position.symbol, position);
      this.events.emit('position', position);
    }
    // The channel sends the full list: a symbol missing from it is closed.
    for (const [symbol, previous] of state.positions) {
      if (seen.has(symbol)) continue;
      state.positions.delete(symbol);
      this.events.emit('position', {
        ...previous,
        quantity: 0,
        unrealizedPnl: 0,
        marginUsed: 0,
        updatedAt: Date.now(),
      });
    }
  }

  private onAccountInfo(state: AccountState, data: unknown): void {
    const parsed = wsAccountInfoSchema.safeParse(data);
    if (!parsed.success) throw protocol('account_info', parsed.error.issues[0]?.message);
    const info = parsed.data;
    const positions = [...state.positions.values()];
    const equity = info.ae;
    const maintenance = info.cm ?? 0;
    const notional = positions.reduce(
      (sum, position) => sum + Math.abs(position.quantity) * position.markPrice,
      0,
    );
    const free = Math.min(equity, Math.max(0, info.as ?? equity - (info.mu ?? 0)));
    state.snapshot = {
      exchange: this.id,
      account: state.id,
      timestamp: info.t ?? Date.now(),
      equity,
      collateral: info.b,
      freeCollateral: free,
      marginUsed: info.mu ?? 0,
      maintenanceMargin: maintenance,
      healthRatio: healthRatio(maintenance, equity),
      leverage: equity > 0 ? notional / equity : 0,
      unsettledPnl: 0,
      balances: [{ asset: 'USDC', total: info.b, free: info.aw ?? free }],
      positions,
    };
    this.events.emit('account', state.snapshot);
  }

  /** Catches up after a gap: open orders from REST, and the final state of orders that left the book. */
  private async syncOrders(state: AccountState): Promise<void> {
    const open = await this.rest.getOpenOrders(state.credentials.account);
    const openIds = new Set(open.map((info) => info.order_id));
    for (const info of open) {
      const order = this.fromOpenOrder(state, info);
      const known = this.orders.get(order.id);
      this.remember(order);
      if (!known || known.filledQuantity !== order.filledQuantity || known.status !== order.status)
        this.events.emit('order', order);
    }
    for (const order of [...this.orders.values()]) {
      if (order.account !== state.id || FINAL.has(order.status) || openIds.has(order.id)) continue;
      const latest = await this.fetchOrder(state.id, order.id);
      if (latest && latest !== order) this.events.emit('order', latest);
    }
  }

  // ---------------------------------------------------------------- conversions

  private remember(order: Order): Order {
    this.orders.set(order.id, order);
    if (this.orders.size > RETAINED_ORDERS) {
      for (const [id, old] of this.orders) {
        if (this.orders.size <= RETAINED_ORDERS) break;
        if (FINAL.has(old.status)) this.orders.delete(id);
      }
    }
    return order;
  }

  private callerClientId(state: AccountState, venueId: string | undefined): string | undefined {
    if (venueId === undefined) return undefined;
    return this.clientIds.get(`${state.credentials.account}:${venueId}`) ?? venueId;
  }

  private fromOpenOrder(state: AccountState, info: OpenOrderInfo): Order {
    const known = this.orders.get(info.order_id);
    const filled = info.filled_amount ?? 0;
    const clientOrderId = this.callerClientId(state, info.client_order_id) ?? known?.clientOrderId;
    return {
      id: info.order_id,
      ...(clientOrderId === undefined ? {} : { clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: info.symbol,
      side: info.side === 'ask' ? 'sell' : 'buy',
      type: info.order_type === 'market' ? 'market' : 'limit',
      timeInForce: known?.timeInForce ?? 'gtc',
      reduceOnly: info.reduce_only ?? false,
      quantity: info.initial_amount,
      ...(info.price === undefined ? {} : { price: info.price }),
      status: filled > 0 ? 'partially-filled' : 'open',
      filledQuantity: filled,
      averagePrice: known?.averagePrice ?? (filled > 0 ? (info.price ?? 0) : 0),
      fee: this.fillTotals.get(info.order_id)?.fee ?? known?.fee ?? 0,
      ...(known?.expiresAt === undefined ? {} : { expiresAt: known.expiresAt }),
      createdAt: info.created_at ?? known?.createdAt ?? Date.now(),
      updatedAt: info.updated_at ?? Date.now(),
    };
  }

  private fromHistory(state: AccountState, info: OrderHistoryInfo, known: Order | undefined): Order {
    const quantity = info.initial_amount ?? info.amount ?? known?.quantity ?? 0;
    const filled = info.filled_amount ?? 0;
    const status = STATUSES[info.order_status ?? ''] ?? known?.status ?? 'open';
    const reason =
      (info.reason && EVENT_REASONS[info.reason]) || (info.event_type && EVENT_REASONS[info.event_type]);
    const clientOrderId = this.callerClientId(state, info.client_order_id) ?? known?.clientOrderId;
    const price = info.initial_price ?? info.price;
    return {
      id: info.order_id,
      ...(clientOrderId === undefined ? {} : { clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: info.symbol,
      side: info.side === 'ask' ? 'sell' : 'buy',
      type: info.order_type === 'market' ? 'market' : 'limit',
      timeInForce: known?.timeInForce ?? (info.order_type === 'market' ? 'ioc' : 'gtc'),
      reduceOnly: info.reduce_only ?? known?.reduceOnly ?? false,
      quantity,
      ...(price === undefined || info.order_type === 'market' ? {} : { price }),
      status: status === 'cancelled' && reason === 'POST_ONLY_WOULD_CROSS' ? 'rejected' : status,
      filledQuantity: filled,
      averagePrice: info.average_filled_price ?? known?.averagePrice ?? 0,
      fee: this.fillTotals.get(info.order_id)?.fee ?? known?.fee ?? 0,
      ...(reason ? { reason } : {}),
      createdAt: info.created_at ?? known?.createdAt ?? Date.now(),
      updatedAt: info.updated_at ?? info.created_at ?? Date.now(),
    };
  }

  // ---------------------------------------------------------------- orders

  /**
   * The venue client order id: Pacifica wants a full UUID. A caller id that is one is used as is;
   * any other id maps to a UUID derived from the account and the id (so a reused id is still a
   * duplicate at the venue), and events report the caller's id.
   */
  private venueClientOrderId(state: AccountState, clientOrderId: string | undefined): string {
    if (clientOrderId === undefined) return randomUUID();
    if (UUID.test(clientOrderId)) return clientOrderId.toLowerCase();
    const hash = createHash('sha256').update(`${state.credentials.account}:${clientOrderId}`).digest('hex');
    const variant = ((Number.parseInt(hash[16] as string, 16) & 0x3) | 0x8).toString(16);
    const uuid = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-${variant}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
    this.clientIds.set(`${state.credentials.account}:${uuid}`, clientOrderId);
    return uuid;
  }

  /** An exact decimal on the grid, or a rejection (`offGrid: reject`) / rounding (`offGrid: round`). */
  private onGrid(
    value: string,
    step: string,
    round: (value: string) => string,
    reason: 'INVALID_PRICE' | 'INVALID_QUANTITY',
    field: string,
  ): string {
    let exact: string;
    try {
      exact = toDecimalString(value);
    } catch {
      throw new OrderRejectedError(reason, `${field} ${JSON.stringify(value)} is not a decimal`, {
        exchange: this.id,
      });
    }
    const rounded = this.options.offGrid === 'round' ? round(exact) : exact;
    if (!(Number(rounded) > 0) || !isMultipleOf(rounded, step))
      throw new OrderRejectedError(
        reason,
        `${field} ${value} is not a positive multiple of ${step} (Pacifica answers such a request with a 500)`,
        { exchange: this.id },
      );
    return toDecimalString(rounded);
  }

  /** Price and amount exactly on the market's grid, before anything is signed. */
  async prepareOrder(
    request: OrderRequest,
  ): Promise<{ market: Market; price: string | undefined; amount: string }> {
    const market = await this.market(request.symbol);
    const amount = this.onGrid(
      request.quantity,
      market.lotSize,
      (value) => roundQuantity(value, market.lotSize),
      'INVALID_QUANTITY',
      'quantity',
    );
    const price =
      request.price === undefined
        ? undefined
        : this.onGrid(
            request.price,
            market.tickSize,
            (value) => roundPrice(value, market.tickSize, request.side),
            'INVALID_PRICE',
            'price',
          );
    return { market, price, amount };
  }

  async submitOrder(request: OrderRequest): Promise<Order> {
    const state = this.requireAccount(request.account);
    const { price, amount } = await this.prepareOrder(request);
    const side: PacificaSide = request.side === 'buy' ? 'bid' : 'ask';
    const clientOrderId = this.venueClientOrderId(state, request.clientOrderId);
    const reduceOnly = request.reduceOnly ?? false;
    const timeInForce = request.timeInForce ?? (request.type === 'market' ? 'ioc' : 'gtc');
    let orderId: string;
    if (request.type === 'market') {
      if (timeInForce !== 'ioc')
        throw new OrderRejectedError('INVALID_TIME_IN_FORCE', `a market order cannot be ${timeInForce}`, {
          exchange: this.id,
        });
      const slippage = await this.slippagePercent(request);
      ({ orderId } = await this.rest.createMarketOrder(state.credentials, {
        symbol: request.symbol,
        amount,
        side,
        slippage_percent: slippage,
        reduce_only: reduceOnly,
        client_order_id: clientOrderId,
      }));
    } else if (request.type === 'limit') {
      if (price === undefined)
        throw new OrderRejectedError('INVALID_PRICE', 'a limit order needs a price', { exchange: this.id });
      const tif = { gtc: 'GTC', ioc: 'IOC', 'post-only': 'ALO' } as const;
      if (!(timeInForce in tif))
        throw new OrderRejectedError('INVALID_TIME_IN_FORCE', `Pacifica has no ${timeInForce} orders`, {
          exchange: this.id,
        });
      ({ orderId } = await this.rest.createOrder(state.credentials, {
        symbol: request.symbol,
        price,
        amount,
        side,
        tif: tif[timeInForce as keyof typeof tif],
        reduce_only: reduceOnly,
        client_order_id: clientOrderId,
      }));
    } else {
      throw new OrderRejectedError(
        'INVALID_ORDER_TYPE',
        `order type ${String(request.type)} is not supported`,
        {
          exchange: this.id,
        },
      );
    }
    const now = Date.now();
    const known = this.orders.get(orderId);
    const order: Order = known ?? {
      id: orderId,
      ...(request.clientOrderId === undefined ? {} : { clientOrderId: request.clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: request.symbol,
      side: request.side,
      type: request.type,
      timeInForce,
      reduceOnly,
      quantity: Number(amount),
      ...(price === undefined ? {} : { price: Number(price) }),
      // Takers wait out the venue's speed bump; an ALO order is on the book when acknowledged.
      status: timeInForce === 'post-only' ? 'open' : 'pending',
      filledQuantity: 0,
      averagePrice: 0,
      fee: 0,
      ...(request.expiresAt === undefined ? {} : { expiresAt: request.expiresAt }),
      createdAt: now,
      updatedAt: now,
    };
    this.remember(order);
    if (request.expiresAt !== undefined) this.scheduleExpiry(state, order, request.expiresAt);
    return order;
  }

  /** `priceLimit` as Pacifica's slippage percentage against the mark, else the configured default. */
  private async slippagePercent(request: OrderRequest): Promise<string> {
    if (request.priceLimit === undefined) return this.options.marketSlippagePercent;
    const mark = this.marks.get(request.symbol) ?? (await this.price(request.symbol)).mark;
    const limit = Number(request.priceLimit);
    const percent = request.side === 'buy' ? (limit / mark - 1) * 100 : (1 - limit / mark) * 100;
    if (!(percent > 0))
      throw new OrderRejectedError(
        'PRICE_LIMIT_CROSSED',
        `priceLimit ${request.priceLimit} is already worse than the mark ${mark}`,
        { exchange: this.id },
      );
    return roundQuantity(percent, '0.001');
  }

  /** Pacifica has no order expiry: the adapter cancels the order itself at `expiresAt`. */
  private scheduleExpiry(state: AccountState, order: Order, expiresAt: number): void {
    const timer = setTimeout(
      () => {
        this.expiryTimers.delete(timer);
        const current = this.orders.get(order.id);
        if (this.closed || (current && FINAL.has(current.status))) return;
        this.cancelOrder({ account: state.id, symbol: order.symbol, orderId: order.id }).catch((error) => {
          if (!(error instanceof ExchangeError && error.code === 'ORDER_NOT_FOUND'))
            this.emitError(error, 'expiry');
        });
      },
      Math.max(0, expiresAt - Date.now()),
    );
    timer.unref?.();
    this.expiryTimers.add(timer);
  }

  async cancelOrder(request: CancelOrderRequest): Promise<Order> {
    const state = this.requireAccount(request.account);
    await this.market(request.symbol);
    let known = request.orderId === undefined ? undefined : this.orders.get(request.orderId);
    if (request.orderId !== undefined) {
      const numeric = Number(request.orderId);
      if (!Number.isSafeInteger(numeric))
        throw new ExchangeError(
          'ORDER_NOT_FOUND',
          `Pacifica order ids are integers (got ${request.orderId})`,
          {
            exchange: this.id,
          },
        );
      await this.rest.cancelOrder(state.credentials, { symbol: request.symbol, order_id: numeric });
    } else if (request.clientOrderId !== undefined) {
      const venueId = this.venueClientOrderId(state, request.clientOrderId);
      await this.rest.cancelOrder(state.credentials, { symbol: request.symbol, client_order_id: venueId });
      known = [...this.orders.values()].find(
        (order) => order.account === state.id && order.clientOrderId === request.clientOrderId,
      );
    } else {
      throw new ExchangeError('INVALID_ARGUMENT', 'cancelOrder needs orderId or clientOrderId', {
        exchange: this.id,
      });
    }
    const now = Date.now();
    const base: Order = known ?? {
      id: request.orderId ?? '',
      ...(request.clientOrderId === undefined ? {} : { clientOrderId: request.clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: request.symbol,
      side: 'buy',
      type: 'limit',
      timeInForce: 'gtc',
      reduceOnly: false,
      quantity: 0,
      status: 'open',
      filledQuantity: 0,
      averagePrice: 0,
      fee: 0,
      createdAt: now,
      updatedAt: now,
    };
    const cancelled: Order = { ...base, status: 'cancelled', reason: 'CANCELLED_BY_USER', updatedAt: now };
    if (known) this.remember(cancelled);
    return cancelled;
  }

  async cancelAllOrders(request: CancelAllRequest): Promise<number> {
    const state = this.requireAccount(request.account);
    if (request.symbol !== undefined) await this.market(request.symbol);
    return this.rest.cancelAllOrders(state.credentials, {
      all_symbols: request.symbol === undefined,
      exclude_reduce_only: false,
      ...(request.symbol === undefined ? {} : { symbol: request.symbol }),
    });
  }

  // ---------------------------------------------------------------- Pacifica extras

  /** Sets the leverage of a market for an account (`update_leverage`). */
  async setLeverage(accountId: string, symbol: string, leverage: number): Promise<void> {
    const state = this.requireAccount(accountId);
    const market = await this.market(symbol);
    if (!Number.isInteger(leverage) || leverage < 1 || leverage > market.maxLeverage)
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `leverage must be an integer from 1 to ${market.maxLeverage} on ${symbol} (got ${leverage})`,
        { exchange: this.id },
      );
    await this.rest.updateLeverage(state.credentials, { symbol, leverage });
  }

  /**
   * Up to 10 limit orders in one signed batch (each action signed on its own). Resolves with one
   * result per order, in order: a rejected action does not stop the others.
   */
  async submitBatch(requests: readonly OrderRequest[]): Promise<BatchActionResult[]> {
    if (requests.length === 0 || requests.length > MAX_BATCH_ACTIONS)
      throw new ExchangeError('INVALID_ARGUMENT', `a batch holds 1 to ${MAX_BATCH_ACTIONS} orders`, {
        exchange: this.id,
      });
    const account = requests[0]?.account as string;
    if (requests.some((request) => request.account !== account || request.type !== 'limit'))
      throw new ExchangeError('INVALID_ARGUMENT', 'a batch is limit orders of one account', {
        exchange: this.id,
      });
    const state = this.requireAccount(account);
    const actions = [];
    for (const request of requests) {
      const { price, amount } = await this.prepareOrder(request);
      const tif = request.timeInForce === 'post-only' ? 'ALO' : request.timeInForce === 'ioc' ? 'IOC' : 'GTC';
      actions.push({
        type: 'Create' as const,
        payload: {
          symbol: request.symbol,
          price: price as string,
          amount,
          side: (request.side === 'buy' ? 'bid' : 'ask') as PacificaSide,
          tif: tif as 'GTC' | 'IOC' | 'ALO',
          reduce_only: request.reduceOnly ?? false,
          client_order_id: this.venueClientOrderId(state, request.clientOrderId),
        },
      });
    }
    return this.rest.batchOrders(state.credentials, actions);
  }

  /** A stop order (`create_stop_order`): market or limit at the trigger. */
  async submitStopOrder(request: StopOrderRequest): Promise<string> {
    const state = this.requireAccount(request.account);
    const market = await this.market(request.symbol);
    const grid = (value: string, field: string) =>
      this.onGrid(
        value,
        market.tickSize,
        (text) => roundPrice(text, market.tickSize, request.side),
        'INVALID_PRICE',
        field,
      );
    const amount = this.onGrid(
      request.quantity,
      market.lotSize,
      (text) => roundQuantity(text, market.lotSize),
      'INVALID_QUANTITY',
      'quantity',
    );
    const { orderId } = await this.rest.createStopOrder(state.credentials, {
      symbol: request.symbol,
      side: request.side === 'buy' ? 'bid' : 'ask',
      reduce_only: request.reduceOnly ?? true,
      stop_order: {
        stop_price: grid(request.stopPrice, 'stopPrice'),
        ...(request.limitPrice === undefined ? {} : { limit_price: grid(request.limitPrice, 'limitPrice') }),
        amount,
        client_order_id: this.venueClientOrderId(state, request.clientOrderId),
      },
    });
    return orderId;
  }

  /** Take profit and/or stop loss on an open position (`set_position_tpsl`). */
  async setPositionTpsl(request: PositionTpslRequest): Promise<void> {
    const state = this.requireAccount(request.account);
    const market = await this.market(request.symbol);
    const leg = (input: PositionTpslRequest['takeProfit'], name: string): StopLegPayload | undefined => {
      if (!input) return undefined;
      const grid = (value: string, field: string) =>
        this.onGrid(
          value,
          market.tickSize,
          (text) => roundPrice(text, market.tickSize, request.side),
          'INVALID_PRICE',
          `${name}.${field}`,
        );
      return {
        stop_price: grid(input.stopPrice, 'stopPrice'),
        ...(input.limitPrice === undefined ? {} : { limit_price: grid(input.limitPrice, 'limitPrice') }),
        ...(input.quantity === undefined
          ? {}
          : {
              amount: this.onGrid(
                input.quantity,
                market.lotSize,
                (text) => roundQuantity(text, market.lotSize),
                'INVALID_QUANTITY',
                `${name}.quantity`,
              ),
            }),
      };
    };
    const takeProfit = leg(request.takeProfit, 'takeProfit');
    const stopLoss = leg(request.stopLoss, 'stopLoss');
    if (!takeProfit && !stopLoss)
      throw new ExchangeError('INVALID_ARGUMENT', 'setPositionTpsl needs takeProfit or stopLoss', {
        exchange: this.id,
      });
    await this.rest.setPositionTpsl(state.credentials, {
      symbol: request.symbol,
      side: request.side === 'buy' ? 'bid' : 'ask',
      ...(takeProfit ? { take_profit: takeProfit } : {}),
      ...(stopLoss ? { stop_loss: stopLoss } : {}),
    });
  }
}

function healthRatio(maintenance: number, equity: number): number {
  if (maintenance <= 0) return 1;
  if (equity <= 0) return 0;
  return Math.min(1, Math.max(0, 1 - maintenance / equity));
}

function asList(data: unknown): unknown[] {
  if (Array.isArray(data)) return data;
  if (data === null || data === undefined) return [];
  return [data];
}

function protocol(channel: string, detail: string | undefined): ExchangeError {
  return new ExchangeError(
    'EXCHANGE_PROTOCOL',
    `Pacifica ${channel} message does not match the protocol: ${detail ?? 'invalid'}`,
  );
}

function connectionState(
  state: WebSocketState,
): 'connecting' | 'connected' | 'reconnecting' | 'disconnected' {
  if (state === 'connected') return 'connected';
  if (state === 'connecting' || state === 'idle') return 'connecting';
  if (state === 'closed') return 'disconnected';
  return 'reconnecting';
}
