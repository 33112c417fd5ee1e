import type {
  AccountSnapshot,
  CancelAllRequest,
  CancelOrderRequest,
  Clock,
  Exchange,
  ExchangeCapabilities,
  ExchangeEvents,
  FundingHistoryRequest,
  FundingRate,
  HealthStatus,
  Logger,
  Market,
  Order,
  OrderBook,
  OrderRequest,
  Position,
  Subscription,
  Ticker,
} from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { EventEmitter } from 'eventemitter3';

/** Account events that come from the paper venue, never from the live one. */
const ACCOUNT_EVENTS = ['order', 'fill', 'funding', 'position', 'account', 'liquidation', 'balance'] as const;
/** Market data that comes from the live venue (the engine sees it as is). */
const MARKET_EVENTS = ['ticker', 'orderBook', 'candle', 'fundingRate', 'connection', 'error'] as const;

export interface PaperOptions {
  /** Starting collateral of each paper account. Default 10 000. */
  readonly balance?: number;
}

/**
 * Paper trading on a live venue: market data comes from the venue's adapter (read-only), and
 * orders fill on a `SimExchange` fed by that data, with the same fee, slippage, margin and funding
 * models as backtests. The adapter's `submitOrder`, `cancelOrder` and `cancelAllOrders` are never
 * called, so paper mode cannot place a real order whatever keys are configured.
 */
export class PaperExchange implements Exchange {
  readonly id: string;
  readonly venue: string;
  readonly capabilities: ExchangeCapabilities;
  readonly events = new EventEmitter<ExchangeEvents>();
  private sim: SimExchange | undefined;
  private savedState: unknown;
  private readonly seenMarkets = new Set<string>();
  /** Symbols the paper venue has a price for. */
  private readonly priced = new Set<string>();

  constructor(
    private readonly live: Exchange,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: PaperOptions = {},
  ) {
    this.id = live.id;
    this.venue = live.venue;
    this.capabilities = {
      ...live.capabilities,
      orderTypes: ['market', 'limit'],
      timeInForce: ['gtc', 'ioc', 'fok', 'post-only'],
      reduceOnly: true,
      clientOrderId: true,
      cancelAll: true,
      multipleAccounts: true,
      streams: { ...live.capabilities.streams, account: true },
      deposit: false,
      withdraw: false,
      setLeverage: false,
    };
    for (const name of MARKET_EVENTS) {
      const forward = (...payload: unknown[]) => {
        this.feed(name, payload[0]);
        (this.events.emit as (event: string, ...payload: unknown[]) => boolean)(name, ...payload);
      };
      this.live.events.on(name, forward as never);
    }
  }

  private requireSim(): SimExchange {
    if (!this.sim) throw new Error(`paper venue ${this.id}: connect() first`);
    return this.sim;
  }

  /** Live market data drives the paper venue's marks and funding. */
  private feed(name: (typeof MARKET_EVENTS)[number], payload: unknown): void {
    const sim = this.sim;
    if (!sim) return;
    if (name === 'ticker') {
      const ticker = payload as Ticker;
      if (this.seenMarkets.has(ticker.symbol)) {
        sim.processTicker(ticker);
        this.priced.add(ticker.symbol);
      }
    } else if (name === 'fundingRate') {
      const rate = payload as FundingRate;
      if (this.seenMarkets.has(rate.symbol) && !rate.predicted)
        sim.processFundingRate(rate.symbol, rate.rate, rate.timestamp);
    }
  }

  async connect(): Promise<void> {
    await this.live.connect();
    if (this.sim) return;
    const markets = await this.live.fetchMarkets();
    for (const market of markets) this.seenMarkets.add(market.symbol);
    const sim = new SimExchange(
      {
        venue: this.live.venue,
        fillModel: 'mark',
        markets: markets.map((market) => ({
          symbol: market.symbol,
          base: market.base,
          quote: market.quote,
          tickSize: market.tickSize,
          lotSize: market.lotSize,
          minNotional: market.minNotional ?? 0,
          maxLeverage: market.maxLeverage ?? 20,
          fundingIntervalHours: market.fundingIntervalHours,
          makerFeeRate: market.makerFeeRate,
          takerFeeRate: market.takerFeeRate,
        })),
        accounts: this.live.accounts().map((id) => ({ id, balance: this.options.balance ?? 10_000 })),
      },
      { id: this.id, clock: this.clock },
    );
    for (const name of ACCOUNT_EVENTS) {
      const forward = (payload: unknown) =>
        (this.events.emit as (event: string, payload: unknown) => boolean)(name, payload);
      sim.events.on(name, forward as never);
    }
    const venue: Exchange = sim;
    if (this.savedState !== undefined) venue.importState?.(this.savedState);
    this.sim = sim;
    this.logger.info('paper venue ready: market data from the live venue, orders fill on the simulator', {
      exchange: this.id,
      venue: this.venue,
      markets: markets.length,
    });
  }

  async close(): Promise<void> {
    await this.live.close();
  }

  accounts(): readonly string[] {
    return this.live.accounts();
  }

  fetchMarkets(): Promise<readonly Market[]> {
    return this.live.fetchMarkets();
  }
  async fetchTicker(symbol: string): Promise<Ticker> {
    const ticker = await this.live.fetchTicker(symbol);
    this.feed('ticker', ticker);
    return ticker;
  }
  fetchOrderBook(symbol: string, depth?: number): Promise<OrderBook> {
    return this.live.fetchOrderBook(symbol, depth);
  }
  fetchFundingRate(symbol: string): Promise<FundingRate> {
    return this.live.fetchFundingRate(symbol);
  }
  fetchFundingHistory(request: FundingHistoryRequest): Promise<readonly FundingRate[]> {
    return this.live.fetchFundingHistory(request);
  }
  subscribe(subscription: Subscription): Promise<void> {
    return this.live.subscribe(subscription);
  }
  unsubscribe(subscription: Subscription): Promise<void> {
    return this.live.unsubscribe(subscription);
  }
  async health(): Promise<HealthStatus> {
    return this.live.health ? this.live.health() : { ok: true };
  }

  fetchAccount(account: string): Promise<AccountSnapshot> {
    return this.requireSim().fetchAccount(account);
  }
  snapshotAccount(account: string): AccountSnapshot | undefined {
    return this.sim?.snapshotAccount(account);
  }
  fetchPositions(account: string): Promise<readonly Position[]> {
    return this.requireSim().fetchPositions(account);
  }
  fetchOpenOrders(account: string, symbol?: string): Promise<readonly Order[]> {
    return this.requireSim().fetchOpenOrders(account, symbol);
  }
  fetchOrder(account: string, orderId: string): Promise<Order | undefined> {
    return this.requireSim().fetchOrder(account, orderId);
  }
  async submitOrder(request: OrderRequest): Promise<Order> {
    const sim = this.requireSim();
    // An order on a market nobody subscribed to: price it from the live venue first.
    if (!this.priced.has(request.symbol)) await this.fetchTicker(request.symbol);
    return sim.submitOrder(request);
  }
  cancelOrder(request: CancelOrderRequest): Promise<Order> {
    return this.requireSim().cancelOrder(request);
  }
  cancelAllOrders(request: CancelAllRequest): Promise<number> {
    return this.requireSim().cancelAllOrders(request);
  }

  exportState(): unknown {
    const venue: Exchange | undefined = this.sim;
    return venue?.exportState ? venue.exportState() : this.savedState;
  }
  importState(state: unknown): void {
    this.savedState = state;
  }
}

/** In paper mode every exchange but the simulator itself becomes a paper venue. */
export function wrapForPaper(
  exchange: Exchange,
  clock: Clock,
  logger: Logger,
  options?: PaperOptions,
): Exchange {
  if (exchange instanceof SimExchange) return exchange;
  return new PaperExchange(exchange, clock, logger.child({ exchange: exchange.id, paper: true }), options);
}
