/**
 * The Lighter adapter: REST for reads and `sendTx` writes, the `/stream` WebSocket for account,
 * order book and market-stats events, and the TypeScript signer for every transaction.
 */
import { createHash } from 'node:crypto';
import {
  type AccountSnapshot,
  addDecimals,
  BoundedSet,
  type CancelAllRequest,
  type CancelOrderRequest,
  type Clock,
  type ConnectionState,
  type Exchange,
  type ExchangeCapabilities,
  ExchangeError,
  type ExchangeEvents,
  type FundingHistoryRequest,
  type FundingPayment,
  type FundingRate,
  fundingRate,
  type Logger,
  type Market,
  type Order,
  type OrderBook,
  OrderRejectedError,
  type OrderRequest,
  type Position,
  RealClock,
  roundToStep,
  type Subscription,
  silentLogger,
  type Ticker,
  type TimeInForce,
  z,
} from '@perpkit/core';
import { EventEmitter } from 'eventemitter3';
import { NonceManager } from './nonces';
import {
  LIGHTER_HOSTS,
  type LighterOptions,
  type LighterOptionsInput,
  lighterOptionsSchema,
} from './options';
import { PriceLevelBook } from './order-book';
import { isFinal, type OrderRecord, OrderTracker, toMillis } from './order-tracker';
import { LighterApiError, LighterRestClient } from './rest-client';
import {
  type CancelOrderTx,
  type CreateOrderTx,
  createAuthToken,
  ORDER_TYPE,
  type SignedTx,
  signCancelOrder,
  signCreateOrder,
  TIME_IN_FORCE,
} from './signer/index';
import { LighterStream } from './stream';
import {
  fromVenueInteger,
  fundingHistoryRowToHourly,
  fundingRatesEndpointToHourly,
  percentPerHourToHourly,
  stepOf,
  toVenueInteger,
} from './units';
import {
  accountAllMessageSchema,
  marketStatsMessageSchema,
  type OrderBookDetail,
  orderBookMessageSchema,
  type WireAccount,
  type WireOrder,
  type WirePosition,
  type WirePositionFunding,
} from './wire';

const HOUR = 3_600_000;
const MAX_48 = 2 ** 48 - 1;
const BATCH_LIMIT = 15;

interface MarketInfo {
  readonly market: Market;
  readonly index: number;
  readonly priceDecimals: number;
  readonly sizeDecimals: number;
  readonly minBase: string;
  readonly minQuote: number;
  /** Initial and maintenance margin fractions (1 = 100%). */
  readonly initialMarginFraction: number;
  readonly maintenanceMarginFraction: number;
}

interface AccountConfig {
  readonly index: number;
  readonly id?: string | undefined;
  readonly apiKeys: readonly { readonly index: number; readonly privateKey: string }[];
}

interface Waiter {
  readonly accept: (record: OrderRecord) => boolean;
  readonly resolve: (record: OrderRecord) => void;
}

export interface LighterExchangeContext {
  readonly id?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Stable 47-bit client order index for a caller's client order id (non-numeric ids are hashed). */
export function clientIndexFor(clientOrderId: string): number {
  if (/^\d+$/.test(clientOrderId)) {
    const value = Number(clientOrderId);
    if (Number.isSafeInteger(value) && value >= 1 && value <= MAX_48) return value;
  }
  const digest = createHash('sha256').update(clientOrderId).digest();
  // 47 bits: below the range generated ids use, never 0.
  const value = digest.readUIntBE(0, 6) % 2 ** 47;
  return value === 0 ? 1 : value;
}

export class LighterExchange implements Exchange {
  readonly id: string;
  readonly venue = 'lighter';
  readonly events = new EventEmitter<ExchangeEvents>();
  readonly capabilities: ExchangeCapabilities;
  readonly options: LighterOptions;

  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly rest: LighterRestClient;
  private readonly chainId: number;
  private readonly streamUrl: string;
  private readonly accountConfigs = new Map<number, AccountConfig>();
  private readonly nonces: NonceManager;
  private readonly tracker: OrderTracker;
  private readonly keyCursor = new Map<number, number>();
  private readonly authTokens = new Map<number, { token: string; renewAt: number }>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly books = new Map<number, PriceLevelBook>();
  private readonly marks = new Map<number, { mark: number; at: number }>();
  private readonly subscriptions = new Map<string, number>();
  private readonly streamChannels = new Map<string, number>();
  private readonly accountTimers = new Map<number, NodeJS.Timeout>();
  private accountInterval: NodeJS.Timeout | undefined;
  private readonly seenFunding = new BoundedSet<string>(20_000);
  /** Trades and funding older than this are history when an account snapshot repeats them. */
  private connectedAt = Number.POSITIVE_INFINITY;
  private markets: Map<string, MarketInfo> | undefined;
  private marketsByIndex = new Map<number, MarketInfo>();
  private loadingMarkets: Promise<Map<string, MarketInfo>> | undefined;
  private stream: LighterStream | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private generatedIndex = 0;

  constructor(options: LighterOptionsInput, context: LighterExchangeContext = {}) {
    const parsed = lighterOptionsSchema.safeParse(options);
    if (!parsed.success) {
      // Issues name paths and rules, never values: a private key must not reach a log.
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new ExchangeError('INVALID_ARGUMENT', `invalid lighter options: ${problems}`);
    }
    this.options = parsed.data;
    this.id = context.id ?? 'lighter';
    this.clock = context.clock ?? new RealClock();
    this.logger = (context.logger ?? silentLogger).child({ exchange: this.id });
    const hosts = LIGHTER_HOSTS[this.options.network];
    this.chainId = this.options.chainId ?? hosts.chainId;
    this.streamUrl = this.options.streamUrl ?? hosts.stream;
    this.rest = new LighterRestClient({
      baseUrl: this.options.baseUrl ?? hosts.rest,
      exchangeId: this.id,
      timeoutMs: this.options.requestTimeoutMs,
    });
    for (const account of this.options.accounts) this.accountConfigs.set(account.index, account);
    this.nonces = new NonceManager(async (accountIndex, apiKeyIndex) => {
      const response = await this.rest.nextNonce({ account_index: accountIndex, api_key_index: apiKeyIndex });
      return response.nonce;
    });
    this.tracker = new OrderTracker(this.id, (index) => this.accountId(index));
    this.capabilities = {
      orderTypes: ['market', 'limit'],
      timeInForce: ['gtc', 'ioc', 'post-only'],
      reduceOnly: true,
      clientOrderId: true,
      cancelAll: true,
      multipleAccounts: true,
      streams: {
        ticker: this.options.stream,
        orderBook: this.options.stream,
        candles: false,
        fundingRate: this.options.stream,
        account: this.options.stream,
      },
      fundingHistory: true,
      deposit: false,
      withdraw: false,
      setLeverage: false,
    };
  }

  // ------------------------------------------------------------------ lifecycle

  connect(): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is closed`, {
          exchange: this.id,
          retryable: false,
        }),
      );
    }
    this.connecting ??= this.doConnect().catch((error: unknown) => {
      this.connecting = undefined;
      this.stream?.close();
      this.stream = undefined;
      throw error;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    this.connectedAt = this.clock.now();
    await this.loadMarkets();
    if (!this.options.stream) return;
    const stream = new LighterStream({
      url: this.streamUrl,
      exchangeId: this.id,
      pingIntervalMs: this.options.pingIntervalMs,
      reconnect: this.options.reconnect,
      connectTimeoutMs: this.options.requestTimeoutMs,
      onMessage: (message) => this.onStreamMessage(message),
      onState: (state, reason) => this.onStreamState(state, reason),
      onError: (error) => this.emitError(error),
    });
    this.stream = stream;
    for (const account of this.accountConfigs.keys()) this.retainChannel(`account_all/${account}`);
    await stream.start();
    if (this.options.accountRefreshMs > 0) {
      this.accountInterval = setInterval(() => {
        for (const account of this.accountConfigs.keys()) this.scheduleAccountEvent(account, 0);
      }, this.options.accountRefreshMs);
      this.accountInterval.unref?.();
    }
  }

  /**
   * Account snapshots are REST reads (the stream carries positions but not collateral): after
   * account activity on the stream, and every `accountRefreshMs`, the adapter reads the account and
   * emits an `account` event. Bursts of activity coalesce into one read.
   */
  private scheduleAccountEvent(accountIndex: number, delayMs = 200): void {
    if (this.closed || this.accountTimers.has(accountIndex)) return;
    const timer = setTimeout(() => {
      this.accountTimers.delete(accountIndex);
      this.fetchAccount(this.accountId(accountIndex)).then(
        (snapshot) => {
          if (!this.closed) this.events.emit('account', snapshot);
        },
        (error: unknown) => this.emitError(error),
      );
    }, delayMs);
    timer.unref?.();
    this.accountTimers.set(accountIndex, timer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream?.close();
    this.stream = undefined;
    clearInterval(this.accountInterval);
    for (const timer of this.accountTimers.values()) clearTimeout(timer);
    this.accountTimers.clear();
    for (const waiters of this.waiters.values()) waiters.clear();
    this.waiters.clear();
    this.events.emit('connection', 'disconnected', 'closed');
  }

  accounts(): readonly string[] {
    return [...this.accountConfigs.keys()].map((index) => this.accountId(index));
  }

  /** The id an account index goes by in events and calls (its configured `id`, else the index). */
  private accountId(index: number): string {
    return this.accountConfigs.get(index)?.id ?? String(index);
  }

  // ------------------------------------------------------------------ markets

  private loadMarkets(): Promise<Map<string, MarketInfo>> {
    if (this.markets) return Promise.resolve(this.markets);
    this.loadingMarkets ??= this.rest
      .orderBookDetails({ filter: 'perp' })
      .then((response) => {
        const markets = new Map<string, MarketInfo>();
        const wanted = this.options.symbols ? new Set(this.options.symbols) : undefined;
        for (const detail of response.order_book_details) {
          if (detail.market_type !== undefined && detail.market_type !== 'perp') continue;
          if (detail.status !== 'active') continue;
          if (wanted && !wanted.has(detail.symbol)) continue;
          const info = this.marketInfo(detail);
          markets.set(info.market.symbol, info);
          this.marketsByIndex.set(info.index, info);
        }
        for (const symbol of wanted ?? []) {
          if (!markets.has(symbol)) {
            throw new ExchangeError('MARKET_NOT_FOUND', `${symbol} is not an active Lighter perp market`, {
              exchange: this.id,
            });
          }
        }
        this.markets = markets;
        return markets;
      })
      .finally(() => {
        this.loadingMarkets = undefined;
      });
    return this.loadingMarkets;
  }

  private marketInfo(detail: OrderBookDetail): MarketInfo {
    const initialMarginFraction = (detail.min_initial_margin_fraction ?? 500) / 10_000;
    const market: Market = {
      exchange: this.id,
      venue: this.venue,
      symbol: detail.symbol,
      base: detail.symbol,
      quote: 'USDC',
      tickSize: stepOf(detail.price_decimals),
      lotSize: stepOf(detail.size_decimals),
      minQuantity: roundToStep(detail.min_base_amount, stepOf(detail.size_decimals), 'ceil'),
      minNotional: Number(detail.min_quote_amount),
      maxLeverage: initialMarginFraction > 0 ? Math.floor(1 / initialMarginFraction) : 1,
      fundingIntervalHours: 1,
    };
    return {
      market,
      index: detail.market_id,
      priceDecimals: detail.price_decimals,
      sizeDecimals: detail.size_decimals,
      minBase: detail.min_base_amount,
      minQuote: Number(detail.min_quote_amount),
      initialMarginFraction,
      maintenanceMarginFraction: (detail.maintenance_margin_fraction ?? 0) / 10_000,
    };
  }

  private async requireMarket(symbol: string): Promise<MarketInfo> {
    const info = (await this.loadMarkets()).get(symbol);
    if (!info) {
      throw new ExchangeError('MARKET_NOT_FOUND', `${symbol} is not a market of ${this.id}`, {
        exchange: this.id,
      });
    }
    return info;
  }

  /** A market already loaded (the adapter's own records only name loaded markets). */
  private marketOfSymbol(symbol: string): MarketInfo {
    const info = this.markets?.get(symbol);
    if (!info)
      throw new ExchangeError('MARKET_NOT_FOUND', `${symbol} is not a market of ${this.id}`, {
        exchange: this.id,
      });
    return info;
  }

  private requireAccount(account: string): AccountConfig {
    const config =
      [...this.accountConfigs.values()].find((candidate) => candidate.id === account) ??
      (/^\d+$/.test(account) ? this.accountConfigs.get(Number(account)) : undefined);
    if (!config) {
      throw new ExchangeError('ACCOUNT_NOT_FOUND', `account ${account} is not configured on ${this.id}`, {
        exchange: this.id,
      });
    }
    return config;
  }

  async fetchMarkets(): Promise<readonly Market[]> {
    return [...(await this.loadMarkets()).values()].map((info) => info.market);
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    const info = await this.requireMarket(symbol);
    const response = await this.rest.orderBookDetails({ market_id: info.index });
    const detail = response.order_book_details.find((candidate) => candidate.market_id === info.index);
    const mark = Number(detail?.mark_price ?? detail?.last_trade_price ?? Number.NaN);
    if (!detail || !(mark > 0)) {
      throw new ExchangeError('EXCHANGE_PROTOCOL', `no mark price for ${symbol}`, {
        exchange: this.id,
        retryable: true,
      });
    }
    const now = this.clock.now();
    this.marks.set(info.index, { mark, at: now });
    return {
      exchange: this.id,
      symbol,
      timestamp: now,
      mark,
      ...(detail.index_price === undefined ? {} : { index: Number(detail.index_price) }),
      ...(detail.last_trade_price === undefined ? {} : { last: Number(detail.last_trade_price) }),
    };
  }

  async fetchOrderBook(symbol: string, depth = 10): Promise<OrderBook> {
    const info = await this.requireMarket(symbol);
    const response = await this.rest.orderBookOrders({
      market_id: info.index,
      limit: Math.max(depth * 5, 20),
    });
    const aggregate = (orders: readonly { price: string; remaining_base_amount: string }[]) => {
      const levels = new Map<string, string>();
      for (const order of orders) {
        const price = String(Number(order.price));
        levels.set(price, addDecimals(levels.get(price) ?? '0', order.remaining_base_amount));
      }
      return [...levels]
        .map(([price, size]) => [Number(price), Number(size)] as const)
        .filter(([, size]) => size > 0);
    };
    const bids = aggregate(response.bids)
      .sort((left, right) => right[0] - left[0])
      .slice(0, depth);
    const asks = aggregate(response.asks)
      .sort((left, right) => left[0] - right[0])
      .slice(0, depth);
    return { exchange: this.id, symbol, timestamp: this.clock.now(), bids, asks };
  }

  // ------------------------------------------------------------------ funding

  async fetchFundingRate(symbol: string): Promise<FundingRate> {
    const info = await this.requireMarket(symbol);
    const response = await this.rest.fundingRates();
    const entry = response.funding_rates.find(
      (candidate) =>
        candidate.exchange.toLowerCase() === 'lighter' &&
        (candidate.market_id === info.index || candidate.symbol === symbol),
    );
    if (!entry) {
      throw new ExchangeError('EXCHANGE_PROTOCOL', `the venue lists no Lighter funding rate for ${symbol}`, {
        exchange: this.id,
        retryable: true,
      });
    }
    const now = this.clock.now();
    return fundingRate({
      exchange: this.id,
      symbol,
      timestamp: now,
      rate: fundingRatesEndpointToHourly(entry.rate),
      intervalHours: 1,
      nextFundingTime: Math.floor(now / HOUR) * HOUR + HOUR,
      predicted: true,
    });
  }

  async fetchFundingHistory(request: FundingHistoryRequest): Promise<readonly FundingRate[]> {
    const info = await this.requireMarket(request.symbol);
    const to = request.to ?? this.clock.now();
    const limit = Math.min(request.limit ?? 500, 750);
    const from = request.from ?? to - limit * HOUR;
    const response = await this.rest.fundings({
      market_id: info.index,
      resolution: '1h',
      start_timestamp: Math.floor(from / 1000),
      end_timestamp: Math.ceil(to / 1000),
      count_back: limit,
    });
    const rates = response.fundings
      .map((row) =>
        fundingRate({
          exchange: this.id,
          symbol: request.symbol,
          timestamp: toMillis(row.timestamp, 0),
          rate: fundingHistoryRowToHourly(row.rate, row.direction),
          intervalHours: 1,
        }),
      )
      .filter((rate) => rate.timestamp >= from && rate.timestamp <= to)
      .sort((left, right) => left.timestamp - right.timestamp);
    return rates.slice(-limit);
  }

  // ------------------------------------------------------------------ accounts

  async fetchAccount(account: string): Promise<AccountSnapshot> {
    const config = this.requireAccount(account);
    await this.loadMarkets();
    const wire = await this.fetchWireAccount(config.index);
    return this.toSnapshot(wire);
  }

  private async fetchWireAccount(index: number): Promise<WireAccount> {
    const response = await this.rest.account({ by: 'index', value: index });
    const wire = response.accounts.find((candidate) => candidate.index === index);
    if (!wire) {
      throw new ExchangeError('ACCOUNT_NOT_FOUND', `the venue knows no account ${index}`, {
        exchange: this.id,
      });
    }
    return wire;
  }

  async fetchPositions(account: string): Promise<readonly Position[]> {
    return (await this.fetchAccount(account)).positions;
  }

  private toPosition(accountIndex: number, wire: WirePosition, now: number): Position | undefined {
    const info = this.marketsByIndex.get(wire.market_id);
    if (!info) return undefined;
    const size = Number(wire.position);
    const quantity = size === 0 ? 0 : (wire.sign < 0 ? -1 : 1) * Math.abs(size);
    const value = Math.abs(Number(wire.position_value));
    const liquidation = wire.liquidation_price === undefined ? 0 : Number(wire.liquidation_price);
    return {
      exchange: this.id,
      account: this.accountId(accountIndex),
      symbol: info.market.symbol,
      quantity,
      entryPrice: Number(wire.avg_entry_price),
      markPrice: quantity === 0 ? (this.marks.get(info.index)?.mark ?? 0) : value / Math.abs(quantity),
      unrealizedPnl: Number(wire.unrealized_pnl),
      realizedPnl: Number(wire.realized_pnl),
      ...(liquidation > 0 ? { liquidationPrice: liquidation } : {}),
      marginUsed: value * info.initialMarginFraction,
      updatedAt: now,
    };
  }

  private toSnapshot(wire: WireAccount): AccountSnapshot {
    const now = this.clock.now();
    const positions = wire.positions
      .map((position) => this.toPosition(wire.index, position, now))
      .filter((position): position is Position => position !== undefined && position.quantity !== 0);
    let marginUsed = 0;
    let maintenanceMargin = 0;
    let notional = 0;
    let unrealized = 0;
    for (const position of positions) {
      const info = this.markets?.get(position.symbol) as MarketInfo;
      const value = Math.abs(position.quantity) * position.markPrice;
      notional += value;
      marginUsed += value * info.initialMarginFraction;
      maintenanceMargin += value * info.maintenanceMarginFraction;
      unrealized += position.unrealizedPnl;
    }
    const collateral = Number(wire.collateral);
    const equity =
      wire.total_asset_value === undefined ? collateral + unrealized : Number(wire.total_asset_value);
    const free = Math.min(Number(wire.available_balance), equity);
    return {
      exchange: this.id,
      account: this.accountId(wire.index),
      timestamp: now,
      equity,
      collateral,
      freeCollateral: free,
      marginUsed,
      maintenanceMargin,
      healthRatio:
        positions.length === 0
          ? 1
          : equity > 0
            ? Math.min(1, Math.max(0, 1 - maintenanceMargin / equity))
            : 0,
      leverage: equity > 0 ? notional / equity : 0,
      unsettledPnl: 0,
      balances: [{ asset: 'USDC', total: collateral, free }],
      positions,
    };
  }

  // ------------------------------------------------------------------ orders: reads

  private async authToken(accountIndex: number): Promise<string> {
    const cached = this.authTokens.get(accountIndex);
    const now = this.clock.now();
    if (cached && cached.renewAt > now) return cached.token;
    const config = this.accountConfigs.get(accountIndex) as AccountConfig;
    const key = config.apiKeys[0] as { index: number; privateKey: string };
    const lifetime = this.options.authTokenLifetimeMs;
    const token = createAuthToken(
      { deadline: Math.floor((now + lifetime) / 1000), accountIndex, apiKeyIndex: key.index },
      key.privateKey,
    );
    this.authTokens.set(accountIndex, { token, renewAt: now + lifetime / 2 });
    return token;
  }

  private async activeOrders(accountIndex: number, info: MarketInfo): Promise<WireOrder[]> {
    const response = await this.rest.accountActiveOrders({
      account_index: accountIndex,
      market_id: info.index,
      auth: await this.authToken(accountIndex),
    });
    return response.orders;
  }

  /** Applies a venue order report; emits the order when it changed and wakes whoever waits on it. */
  private applyOrderReport(accountIndex: number, wire: WireOrder): OrderRecord | undefined {
    const info = this.marketsByIndex.get(wire.market_index);
    if (!info) return undefined;
    const record = this.tracker.applyOrder(accountIndex, info.market.symbol, wire, this.clock.now());
    if (!record) return this.tracker.get(accountIndex, wire.client_order_index);
    this.events.emit('order', this.tracker.toOrder(record));
    const waiters = this.waiters.get(record.key);
    if (waiters) {
      for (const waiter of [...waiters]) {
        if (waiter.accept(record)) {
          waiters.delete(waiter);
          waiter.resolve(record);
        }
      }
      if (waiters.size === 0) this.waiters.delete(record.key);
    }
    return record;
  }

  async fetchOpenOrders(account: string, symbol?: string): Promise<readonly Order[]> {
    const config = this.requireAccount(account);
    let markets: MarketInfo[];
    if (symbol !== undefined) {
      markets = [await this.requireMarket(symbol)];
    } else {
      // Only markets where the account holds orders: the account lists open order counts per market,
      // and the adapter knows where its own orders went.
      await this.loadMarkets();
      const wire = await this.fetchWireAccount(config.index);
      const indexes = new Set<number>();
      for (const position of wire.positions) {
        if ((position.open_order_count ?? 0) > 0) indexes.add(position.market_id);
      }
      for (const record of this.tracker.open(config.index)) {
        const info = this.markets?.get(record.symbol);
        if (info) indexes.add(info.index);
      }
      markets = [...indexes]
        .map((index) => this.marketsByIndex.get(index))
        .filter((info) => info !== undefined);
    }
    const orders: Order[] = [];
    for (const info of markets) {
      const listed = new Set<string>();
      for (const wire of await this.activeOrders(config.index, info)) {
        const record = this.applyOrderReport(config.index, wire);
        if (record && !isFinal(record.status)) {
          orders.push(this.tracker.toOrder(record));
          listed.add(record.key);
        }
      }
      // Our records the venue no longer lists as active are resolved by the inactive list.
      const missing = this.tracker
        .open(config.index, info.market.symbol)
        .filter((record) => !listed.has(record.key));
      if (missing.some((record) => record.reported)) await this.refreshInactive(config.index, info);
    }
    return orders;
  }

  private async refreshInactive(accountIndex: number, info?: MarketInfo): Promise<void> {
    const response = await this.rest.accountInactiveOrders({
      account_index: accountIndex,
      limit: 100,
      ...(info ? { market_id: info.index } : {}),
      auth: await this.authToken(accountIndex),
    });
    for (const wire of response.orders) this.applyOrderReport(accountIndex, wire);
  }

  async fetchOrder(account: string, orderId: string): Promise<Order | undefined> {
    const config = this.requireAccount(account);
    await this.loadMarkets();
    const known = this.tracker.get(config.index, orderId);
    if (known?.reported && isFinal(known.status)) return this.tracker.toOrder(known);
    if (known) {
      await this.refreshRecord(known);
      return this.tracker.toOrder(this.tracker.get(config.index, orderId) ?? known);
    }
    await this.refreshInactive(config.index);
    const found = this.tracker.get(config.index, orderId);
    return found ? this.tracker.toOrder(found) : undefined;
  }

  // ------------------------------------------------------------------ orders: writes

  private pickKey(config: AccountConfig): { index: number; privateKey: string } {
    const cursor = this.keyCursor.get(config.index) ?? 0;
    this.keyCursor.set(config.index, cursor + 1);
    return config.apiKeys[cursor % config.apiKeys.length] as { index: number; privateKey: string };
  }

  /**
   * Signs and sends transactions with consecutive nonces of one API key. A nonce the venue calls
   * invalid (another client used the key, a restart) is re-read and the send tried once more; any
   * other rejection also drops the local counter so the next send starts from the venue's.
   */
  private async sendSigned(
    config: AccountConfig,
    count: number,
    build: (apiKey: { index: number; privateKey: string }, nonces: readonly number[]) => SignedTx[],
  ): Promise<readonly SignedTx[]> {
    const apiKey = this.pickKey(config);
    const attempt = () =>
      this.nonces.withNonces(config.index, apiKey.index, count, async (nonces) => {
        const txs = build(apiKey, nonces);
        if (txs.length === 1) {
          const tx = txs[0] as SignedTx;
          await this.rest.sendTx(tx.txType, tx.txInfo);
        } else {
          await this.rest.sendTxBatch(txs);
        }
        return txs;
      });
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof LighterApiError && error.isInvalidNonce) {
        this.logger.warn('nonce rejected by the venue; resynced and retrying once', {
          account: config.index,
          apiKey: apiKey.index,
        });
        return attempt();
      }
      throw error;
    }
  }

  private waitFor(
    record: OrderRecord,
    accept: (record: OrderRecord) => boolean,
    timeoutMs: number,
  ): Promise<OrderRecord | undefined> {
    if (accept(record)) return Promise.resolve(record);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (value: OrderRecord | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.get(record.key)?.delete(waiter);
        resolve(value);
      };
      const waiter: Waiter = { accept, resolve: finish };
      let set = this.waiters.get(record.key);
      if (!set) {
        set = new Set();
        this.waiters.set(record.key, set);
      }
      set.add(waiter);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      // The stream normally answers first; the venue is asked too, every 200 ms while the stream
      // is down and every second while it is up (a lost message must not strand the caller).
      let ticks = 0;
      const poll = setInterval(() => {
        if (this.closed) return finish(undefined);
        ticks += 1;
        if (this.stream?.isConnected && ticks % 5 !== 0) return;
        void this.refreshRecord(record).catch((error: unknown) => this.emitError(error));
      }, 200);
      poll.unref?.();
    });
  }

  private async refreshRecord(record: OrderRecord): Promise<void> {
    const info = this.markets?.get(record.symbol);
    if (!info) return;
    const active = await this.activeOrders(record.accountIndex, info);
    for (const wire of active) this.applyOrderReport(record.accountIndex, wire);
    if (!active.some((wire) => String(wire.client_order_index) === record.id)) {
      await this.refreshInactive(record.accountIndex, info);
    }
  }

  private reject(reason: string, message: string): never {
    throw new OrderRejectedError(reason, message, { exchange: this.id });
  }

  private nextClientIndex(): number {
    // Generated ids live in [2^47, 2^48), above the hashed range of caller ids.
    const candidate = 2 ** 47 + ((this.clock.now() * 64) % 2 ** 47);
    this.generatedIndex = candidate > this.generatedIndex ? candidate : this.generatedIndex + 1;
    if (this.generatedIndex > MAX_48) this.generatedIndex = 2 ** 47;
    return this.generatedIndex;
  }

  private async markFor(info: MarketInfo): Promise<number> {
    const cached = this.marks.get(info.index);
    if (cached && this.clock.now() - cached.at < 5_000) return cached.mark;
    return (await this.fetchTicker(info.market.symbol)).mark;
  }

  async submitOrder(request: OrderRequest): Promise<Order> {
    if (this.closed)
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is closed`, { exchange: this.id });
    const config = this.requireAccount(request.account);
    const info = await this.requireMarket(request.symbol);
    if (request.type !== 'market' && request.type !== 'limit') {
      this.reject('INVALID_ORDER_TYPE', `order type ${String(request.type)} is not supported`);
    }
    const timeInForce: TimeInForce = request.timeInForce ?? (request.type === 'market' ? 'ioc' : 'gtc');
    if (timeInForce === 'fok') this.reject('UNSUPPORTED_TIME_IN_FORCE', 'Lighter has no fill-or-kill orders');
    if (request.type === 'market' && timeInForce !== 'ioc') {
      this.reject('INVALID_TIME_IN_FORCE', `a market order cannot be ${timeInForce}`);
    }
    const baseAmount = toVenueInteger(request.quantity, info.sizeDecimals);
    if (baseAmount === undefined || baseAmount <= 0n || baseAmount > BigInt(MAX_48)) {
      this.reject(
        'INVALID_QUANTITY',
        `quantity ${request.quantity} is not a positive multiple of the lot size ${info.market.lotSize}`,
      );
    }
    const quantity = Number(request.quantity);
    if (!request.reduceOnly && quantity < Number(info.minBase)) {
      this.reject('BELOW_MIN_QUANTITY', `quantity ${request.quantity} is below the minimum ${info.minBase}`);
    }
    let price: bigint | undefined;
    if (request.type === 'limit') {
      if (request.price === undefined) this.reject('INVALID_PRICE', 'a limit order needs a price');
      price = toVenueInteger(request.price, info.priceDecimals);
      if (price === undefined || price <= 0n) {
        this.reject(
          'INVALID_PRICE',
          `price ${request.price} is not a positive multiple of the tick size ${info.market.tickSize}`,
        );
      }
    } else if (request.priceLimit !== undefined) {
      price = toVenueInteger(request.priceLimit, info.priceDecimals);
      if (price === undefined || price <= 0n) {
        this.reject(
          'INVALID_PRICE',
          `price limit ${request.priceLimit} is not a multiple of the tick size ${info.market.tickSize}`,
        );
      }
    } else {
      const mark = await this.markFor(info);
      const worst =
        mark *
        (request.side === 'buy'
          ? 1 + this.options.marketOrderSlippage
          : 1 - this.options.marketOrderSlippage);
      price = toVenueInteger(
        roundToStep(worst, info.market.tickSize, request.side === 'buy' ? 'ceil' : 'floor'),
        info.priceDecimals,
      ) as bigint;
    }
    if ((price as bigint) > 2n ** 32n - 1n)
      this.reject('INVALID_PRICE', 'the price is above what the venue can carry');
    const reference =
      request.type === 'limit'
        ? fromVenueInteger(price as bigint, info.priceDecimals)
        : await this.markFor(info);
    if (!request.reduceOnly && quantity * reference < info.minQuote) {
      this.reject(
        'BELOW_MIN_NOTIONAL',
        `notional ${(quantity * reference).toFixed(2)} is below the minimum ${info.minQuote}`,
      );
    }
    const clientIndex =
      request.clientOrderId === undefined ? this.nextClientIndex() : clientIndexFor(request.clientOrderId);
    const existing = this.tracker.get(config.index, clientIndex);
    if (existing && !isFinal(existing.status)) {
      this.reject(
        'DUPLICATE_CLIENT_ORDER_ID',
        `client order id ${request.clientOrderId ?? clientIndex} is in use`,
      );
    }
    const now = this.clock.now();
    const resting = timeInForce === 'gtc' || timeInForce === 'post-only';
    const orderExpiry = resting ? (request.expiresAt ?? now + this.options.orderExpiryMs) : 0;
    const record = this.tracker.create({
      accountIndex: config.index,
      clientIndex,
      clientOrderId: request.clientOrderId,
      symbol: info.market.symbol,
      side: request.side,
      type: request.type,
      timeInForce,
      reduceOnly: request.reduceOnly ?? false,
      quantity,
      price: request.type === 'limit' ? fromVenueInteger(price as bigint, info.priceDecimals) : undefined,
      expiresAt: resting ? orderExpiry : undefined,
      now,
    });
    const tx = (apiKeyIndex: number, nonce: number): CreateOrderTx => ({
      AccountIndex: config.index,
      ApiKeyIndex: apiKeyIndex,
      MarketIndex: info.index,
      ClientOrderIndex: clientIndex,
      BaseAmount: baseAmount as bigint,
      Price: price as bigint,
      IsAsk: request.side === 'sell' ? 1 : 0,
      Type: request.type === 'market' ? ORDER_TYPE.market : ORDER_TYPE.limit,
      TimeInForce:
        timeInForce === 'ioc'
          ? TIME_IN_FORCE.immediateOrCancel
          : timeInForce === 'post-only'
            ? TIME_IN_FORCE.postOnly
            : TIME_IN_FORCE.goodTillTime,
      ReduceOnly: request.reduceOnly ? 1 : 0,
      TriggerPrice: 0,
      OrderExpiry: orderExpiry,
      ExpiredAt: this.clock.now() + this.options.txExpiryMs,
      Nonce: nonce,
    });
    try {
      await this.sendSigned(config, 1, (apiKey, [nonce]) => [
        signCreateOrder(tx(apiKey.index, nonce as number), apiKey.privateKey, this.chainId),
      ]);
    } catch (error) {
      this.tracker.remove(record);
      throw error;
    }
    const reported = await this.waitFor(
      record,
      (candidate) => candidate.reported && candidate.status !== 'pending',
      this.options.orderAckTimeoutMs,
    );
    const order = this.tracker.toOrder(reported ?? record);
    if (order.status === 'rejected') {
      throw new OrderRejectedError(
        order.reason ?? 'REJECTED',
        `the venue refused order ${order.id}: ${order.reason ?? 'rejected'}`,
        {
          exchange: this.id,
          details: { orderId: order.id },
        },
      );
    }
    return order;
  }

  private clientIndexOf(request: CancelOrderRequest): string {
    if (request.orderId !== undefined) return request.orderId;
    if (request.clientOrderId !== undefined) return String(clientIndexFor(request.clientOrderId));
    throw new ExchangeError('INVALID_ARGUMENT', 'cancelOrder needs orderId or clientOrderId', {
      exchange: this.id,
    });
  }

  async cancelOrder(request: CancelOrderRequest): Promise<Order> {
    const config = this.requireAccount(request.account);
    const info = await this.requireMarket(request.symbol);
    const id = this.clientIndexOf(request);
    const notFound = () =>
      new ExchangeError(
        'ORDER_NOT_FOUND',
        `no open order ${id} on account ${config.index} in ${request.symbol}`,
        {
          exchange: this.id,
        },
      );
    if (!/^\d+$/.test(id) || Number(id) < 1 || Number(id) > MAX_48) throw notFound();
    // Sending a cancel for an order the venue does not hold would only burn a nonce.
    for (const wire of await this.activeOrders(config.index, info)) this.applyOrderReport(config.index, wire);
    const record = this.tracker.get(config.index, id);
    if (!record || isFinal(record.status) || record.symbol !== info.market.symbol) throw notFound();
    await this.sendSigned(config, 1, (apiKey, [nonce]) => [
      signCancelOrder(
        this.cancelTx(config.index, apiKey.index, info.index, Number(id), nonce as number),
        apiKey.privateKey,
        this.chainId,
      ),
    ]);
    const final = await this.waitFor(
      record,
      (candidate) => isFinal(candidate.status),
      this.options.orderAckTimeoutMs,
    );
    if (!final) {
      throw new ExchangeError('EXCHANGE_TIMEOUT', `the venue did not confirm the cancel of ${id} in time`, {
        exchange: this.id,
        retryable: true,
      });
    }
    if (final.status === 'filled') throw notFound();
    return this.tracker.toOrder(final);
  }

  private cancelTx(
    accountIndex: number,
    apiKeyIndex: number,
    marketIndex: number,
    index: number,
    nonce: number,
  ): CancelOrderTx {
    return {
      AccountIndex: accountIndex,
      ApiKeyIndex: apiKeyIndex,
      MarketIndex: marketIndex,
      Index: index,
      ExpiredAt: this.clock.now() + this.options.txExpiryMs,
      Nonce: nonce,
    };
  }

  /** Cancels the open orders (of one market, or all) in batches of signed cancels. */
  async cancelAllOrders(request: CancelAllRequest): Promise<number> {
    const config = this.requireAccount(request.account);
    const open = await this.fetchOpenOrders(request.account, request.symbol);
    const targets = open
      .map((order) => this.tracker.get(config.index, order.id))
      .filter((record): record is OrderRecord => record !== undefined && /^\d+$/.test(record.id));
    for (let start = 0; start < targets.length; start += BATCH_LIMIT) {
      const chunk = targets.slice(start, start + BATCH_LIMIT);
      await this.sendSigned(config, chunk.length, (apiKey, nonces) =>
        chunk.map((record, position) =>
          signCancelOrder(
            this.cancelTx(
              config.index,
              apiKey.index,
              this.marketOfSymbol(record.symbol).index,
              Number(record.id),
              nonces[position] as number,
            ),
            apiKey.privateKey,
            this.chainId,
          ),
        ),
      );
    }
    const results = await Promise.all(
      targets.map((record) =>
        this.waitFor(record, (candidate) => isFinal(candidate.status), this.options.orderAckTimeoutMs),
      ),
    );
    return results.filter((record) => record?.status === 'cancelled' || record?.status === 'expired').length;
  }

  // ------------------------------------------------------------------ streams

  private retainChannel(channel: string, auth?: () => string): void {
    const count = this.streamChannels.get(channel) ?? 0;
    this.streamChannels.set(channel, count + 1);
    if (count === 0) this.stream?.subscribe(channel, auth);
  }

  private releaseChannel(channel: string): void {
    const count = this.streamChannels.get(channel) ?? 0;
    if (count <= 1) {
      this.streamChannels.delete(channel);
      this.stream?.unsubscribe(channel);
    } else {
      this.streamChannels.set(channel, count - 1);
    }
  }

  private channelFor(subscription: Subscription, info: MarketInfo): string {
    switch (subscription.channel) {
      case 'orderBook':
        return `order_book/${info.index}`;
      case 'ticker':
      case 'fundingRate':
        return `market_stats/${info.index}`;
      default:
        throw new ExchangeError(
          'EXCHANGE_NOT_SUPPORTED',
          `${this.id} does not stream ${subscription.channel}`,
          {
            exchange: this.id,
          },
        );
    }
  }

  async subscribe(subscription: Subscription): Promise<void> {
    const info = await this.requireMarket(subscription.symbol);
    const channel = this.channelFor(subscription, info);
    if (!this.options.stream) {
      throw new ExchangeError('EXCHANGE_NOT_SUPPORTED', `${this.id} runs without a stream (stream: false)`, {
        exchange: this.id,
      });
    }
    await this.connect();
    const key = `${subscription.channel}:${subscription.symbol}`;
    if (this.subscriptions.has(key)) return;
    this.subscriptions.set(key, info.index);
    this.retainChannel(channel);
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    const info = await this.requireMarket(subscription.symbol);
    const key = `${subscription.channel}:${subscription.symbol}`;
    if (!this.subscriptions.delete(key)) return;
    this.releaseChannel(this.channelFor(subscription, info));
    if (subscription.channel === 'orderBook') this.books.delete(info.index);
  }

  private onStreamState(state: ConnectionState, reason?: string): void {
    if (state === 'reconnecting') {
      // Books restart from the snapshot the resubscription brings.
      for (const book of this.books.values()) book.reset();
    }
    this.events.emit('connection', state, reason);
  }

  private emitError(error: unknown): void {
    const wrapped =
      error instanceof ExchangeError
        ? error
        : new ExchangeError('UNEXPECTED', error instanceof Error ? error.message : String(error), {
            exchange: this.id,
            cause: error,
          });
    if (this.events.listenerCount('error') > 0) this.events.emit('error', wrapped);
    else this.logger.warn('lighter stream problem', { code: wrapped.code, message: wrapped.message });
  }

  private protocolError(message: string, detail: unknown): void {
    const issues =
      detail instanceof z.ZodError
        ? detail.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')
        : String(detail);
    this.emitError(new ExchangeError('EXCHANGE_PROTOCOL', `${message}: ${issues}`, { exchange: this.id }));
  }

  private onStreamMessage(message: Record<string, unknown>): void {
    try {
      const type = String(message.type);
      const kind = type.slice(type.indexOf('/') + 1);
      if (kind === 'account_all') this.onAccountAll(message);
      else if (kind === 'order_book') this.onOrderBook(message, type.startsWith('subscribed'));
      else if (kind === 'market_stats') this.onMarketStats(message);
    } catch (error) {
      this.protocolError(`stream message ${String(message.type)} could not be applied`, error);
    }
  }

  private onAccountAll(message: Record<string, unknown>): void {
    const parsed = accountAllMessageSchema.safeParse(message);
    if (!parsed.success) {
      this.protocolError('malformed account_all message', parsed.error);
      return;
    }
    const accountIndex = Number(parsed.data.channel.split(':')[1]);
    if (!this.accountConfigs.has(accountIndex)) return;
    const now = this.clock.now();
    // Account messages repeat history (every snapshot, after each reconnect). A trade is a new fill
    // when it belongs to an order this adapter placed, or happened after it connected; the rest is
    // history, remembered so it is never reported. Trade ids make repeats harmless either way.
    for (const trade of parsed.data.trades ?? []) {
      const info = this.marketsByIndex.get(trade.market_id);
      if (!info) continue;
      if (
        !this.tracker.knowsOrderOf(accountIndex, trade) &&
        toMillis(trade.timestamp, now) < this.connectedAt
      ) {
        this.tracker.markSeen(accountIndex, trade);
        continue;
      }
      for (const fill of this.tracker.applyTrade(accountIndex, info.market.symbol, trade, now)) {
        this.events.emit('fill', fill);
      }
    }
    for (const order of parsed.data.orders ?? []) this.applyOrderReport(accountIndex, order);
    if (
      (parsed.data.trades?.length ?? 0) +
        (parsed.data.positions?.length ?? 0) +
        (parsed.data.funding_histories?.length ?? 0) >
      0
    ) {
      this.scheduleAccountEvent(accountIndex);
    }
    for (const wire of parsed.data.positions ?? []) {
      const position = this.toPosition(accountIndex, wire, now);
      if (position) this.events.emit('position', position);
    }
    for (const funding of parsed.data.funding_histories ?? []) {
      const payment = this.toFundingPayment(accountIndex, funding);
      if (!payment || this.seenFunding.has(payment.id)) continue;
      this.seenFunding.add(payment.id);
      if (payment.fundingTime >= this.connectedAt - HOUR) this.events.emit('funding', payment);
    }
  }

  private toFundingPayment(accountIndex: number, wire: WirePositionFunding): FundingPayment | undefined {
    const info = this.marketsByIndex.get(wire.market_id);
    if (!info) return undefined;
    const time = toMillis(wire.timestamp, 0);
    const size = Math.abs(Number(wire.position_size));
    const quantity = wire.position_side === 'short' ? -size : size;
    const rate = percentPerHourToHourly(wire.rate);
    const amount = Number(wire.change);
    return {
      id: `lighter:${info.market.symbol}:${time}:${accountIndex}`,
      exchange: this.id,
      account: this.accountId(accountIndex),
      symbol: info.market.symbol,
      timestamp: time,
      fundingTime: time,
      rate,
      intervalHours: 1,
      positionQuantity: quantity,
      markPrice: rate !== 0 && size > 0 ? Math.abs(amount / (size * rate)) : 0,
      amount,
      settled: true,
    };
  }

  private onOrderBook(message: Record<string, unknown>, snapshot: boolean): void {
    const parsed = orderBookMessageSchema.safeParse(message);
    if (!parsed.success) {
      this.protocolError('malformed order_book message', parsed.error);
      return;
    }
    const marketIndex = Number(parsed.data.channel.split(':')[1]);
    const info = this.marketsByIndex.get(marketIndex);
    if (!info || !this.subscriptions.has(`orderBook:${info.market.symbol}`)) return;
    let book = this.books.get(marketIndex);
    if (!book) {
      book = new PriceLevelBook();
      this.books.set(marketIndex, book);
    }
    if (snapshot) book.reset();
    book.apply('bids', parsed.data.order_book.bids);
    book.apply('asks', parsed.data.order_book.asks);
    book.offset = parsed.data.order_book.offset;
    const { bids, asks } = book.levels();
    this.events.emit('orderBook', {
      exchange: this.id,
      symbol: info.market.symbol,
      timestamp: this.clock.now(),
      bids,
      asks,
      ...(book.offset === undefined ? {} : { sequence: book.offset }),
    });
  }

  private onMarketStats(message: Record<string, unknown>): void {
    const parsed = marketStatsMessageSchema.safeParse(message);
    if (!parsed.success) {
      this.protocolError('malformed market_stats message', parsed.error);
      return;
    }
    const stats = parsed.data.market_stats;
    const info = this.marketsByIndex.get(stats.market_id);
    if (!info) return;
    const now = this.clock.now();
    const mark = Number(stats.mark_price);
    if (mark > 0) this.marks.set(info.index, { mark, at: now });
    const symbol = info.market.symbol;
    if (this.subscriptions.has(`ticker:${symbol}`) && mark > 0) {
      this.events.emit('ticker', {
        exchange: this.id,
        symbol,
        timestamp: now,
        mark,
        ...(stats.index_price === undefined ? {} : { index: Number(stats.index_price) }),
        ...(stats.last_trade_price === undefined ? {} : { last: Number(stats.last_trade_price) }),
      });
    }
    const current = stats.current_funding_rate ?? stats.funding_rate;
    if (this.subscriptions.has(`fundingRate:${symbol}`) && current !== undefined) {
      this.events.emit(
        'fundingRate',
        fundingRate({
          exchange: this.id,
          symbol,
          timestamp: now,
          rate: percentPerHourToHourly(current),
          intervalHours: 1,
          nextFundingTime: Math.floor(now / HOUR) * HOUR + HOUR,
          predicted: stats.current_funding_rate !== undefined,
        }),
      );
    }
  }
}
