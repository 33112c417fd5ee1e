import {
  type AccountSnapshot,
  type BalanceChange,
  type CancelAllRequest,
  type CancelOrderRequest,
  type Candle,
  type Clock,
  type Exchange,
  type ExchangeCapabilities,
  ExchangeError,
  type ExchangeEvents,
  type Fill,
  type FundingHistoryRequest,
  type FundingPayment,
  type FundingRate,
  fundingRate,
  isMultipleOf,
  type Liquidation,
  type Liquidity,
  type Market,
  type Order,
  type OrderBook,
  OrderRejectedError,
  type OrderRequest,
  type OrderStatus,
  type Position,
  RealClock,
  RetiringMap,
  roundToStepNumber,
  type Side,
  type Subscription,
  type Ticker,
  type TimeInForce,
} from '@perpkit/core';
import { EventEmitter } from 'eventemitter3';
import { type SimOptions, type SimOptionsInput, simOptionsSchema } from './options';
import { createRandom } from './random';
import { slippageFraction } from './slippage';

const HOUR = 3_600_000;
const EPSILON = 1e-12;

interface FundingPoint {
  readonly time: number;
  /** Rate per the venue's settlement interval. */
  readonly rate: number;
}

interface SimMarket {
  readonly market: Market;
  readonly maintenanceMarginRate: number;
  readonly makerFeeRate: number | undefined;
  readonly takerFeeRate: number | undefined;
  readonly intervalMs: number;
  mark: number;
  index: number | undefined;
  time: number;
  book: OrderBook | undefined;
  /** Quantity our own taker orders took from each level of the current book, keyed by price. */
  consumed: Map<number, number>;
  /** Current rate per interval (constant mode) and the series, if any. */
  fundingRate: number;
  series: FundingPoint[] | undefined;
  seriesIndex: number;
  nextFundingTime: number;
  lastFundingTime: number;
  /** Last settled funding time: a settlement at or before it is never applied again. */
  lastAppliedFunding: number;
  /** Accounts holding a position in this market. */
  holders: number;
  /** False until the first market data arrives; the funding grid starts from that time. */
  started: boolean;
  /** Mark prices (time-ordered) that funding settlements use instead of the traded price. */
  fundingMarks: { readonly time: number; readonly price: number }[] | undefined;
  fundingMarkIndex: number;
}

interface SimPosition {
  quantity: number;
  entryPrice: number;
  realizedPnl: number;
  fundingSettled: number;
  openedAt: number;
}

interface SimAccount {
  readonly id: string;
  readonly parent: string | undefined;
  readonly makerFeeRate: number | undefined;
  readonly takerFeeRate: number | undefined;
  readonly maxLeverage: number | undefined;
  collateral: number;
  unsettledPnl: number;
  readonly positions: Map<string, SimPosition>;
  /** Client ids in use: kept while the order lives, then in a window of recent ids. */
  readonly clientOrderIds: RetiringMap<string, true>;
  /** Running totals; equity = deposits − withdrawals + realized + unrealized − fees + funding. */
  readonly totals: {
    deposits: number;
    withdrawals: number;
    realizedPnl: number;
    fees: number;
    funding: number;
    liquidations: number;
  };
}

interface SimOrder {
  order: Order;
  readonly accountId: string;
  readonly market: SimMarket;
  /** Sim time the order becomes live (ack latency). */
  activeAt: number;
  active: boolean;
  /** Crossed the market when it went live: fills as taker. */
  marketable: boolean;
  notional: number;
  fills: number;
}

export interface AccountTotals {
  readonly deposits: number;
  readonly withdrawals: number;
  readonly realizedPnl: number;
  readonly fees: number;
  readonly funding: number;
  readonly liquidations: number;
}

const FINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected', 'expired']);
/** Memory stays flat over long runs: older final orders and client ids are forgotten. */
const RETAINED_FINAL_ORDERS = 10_000;
const RETAINED_CLIENT_IDS = 20_000;

/**
 * The one simulated venue, used by backtests, paper trading and the venue wire-protocol simulators.
 *
 * It is fed market data (`processCandle`, `processOrderBook`, `processTicker`) and fills orders with
 * the run's fill model: `next-open` (candles), `book` (L2 depth) or `mark` (mark price with
 * size-based slippage). Accounts are cross-margined with initial and maintenance margin, funding is
 * settled at each market's own cadence, and an account whose equity falls below maintenance is
 * liquidated. Everything random is drawn from a seeded generator.
 */
export class SimExchange implements Exchange {
  readonly id: string;
  readonly venue: string;
  readonly events = new EventEmitter<ExchangeEvents>();
  readonly capabilities: ExchangeCapabilities = {
    orderTypes: ['market', 'limit'],
    timeInForce: ['gtc', 'ioc', 'fok', 'post-only'],
    reduceOnly: true,
    clientOrderId: true,
    cancelAll: true,
    multipleAccounts: true,
    streams: { ticker: true, orderBook: true, candles: true, fundingRate: true, account: true },
    fundingHistory: true,
    deposit: true,
    withdraw: true,
    setLeverage: false,
  };
  readonly options: SimOptions;
  readonly clock: Clock;

  private readonly markets = new Map<string, SimMarket>();
  private readonly marketList: Market[] = [];
  private readonly accountsById = new Map<string, SimAccount>();
  private readonly orders = new Map<string, SimOrder>();
  /** Live and pending (not yet acknowledged) orders, per symbol. */
  private readonly working = new Map<string, SimOrder[]>();
  /** Final orders, oldest first; only the newest `RETAINED_FINAL_ORDERS` stay queryable. */
  private readonly finalized: string[] = [];
  private finalizedHead = 0;
  private readonly random: () => number;
  private sequence = 0;
  private fillSequence = 0;
  private workingCount = 0;
  /** Open positions over all accounts and markets. */
  private openPositions = 0;
  private readonly accountList: SimAccount[] = [];
  private closed = false;

  constructor(options: SimOptionsInput, context: { id?: string; clock?: Clock } = {}) {
    const parsed = simOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new ExchangeError('INVALID_ARGUMENT', `invalid sim options: ${problems}`);
    }
    this.options = parsed.data;
    this.id = context.id ?? 'sim';
    this.venue = this.options.venue;
    this.clock = context.clock ?? new RealClock();
    this.random = createRandom(this.options.seed);
    const now = this.clock.now();
    for (const input of this.options.markets) {
      const market: Market = {
        exchange: this.id,
        venue: this.venue,
        symbol: input.symbol,
        base: input.base ?? input.symbol,
        quote: input.quote,
        tickSize: input.tickSize,
        lotSize: input.lotSize,
        ...(input.minQuantity === undefined ? {} : { minQuantity: input.minQuantity }),
        minNotional: input.minNotional,
        maxLeverage: input.maxLeverage,
        fundingIntervalHours: input.fundingIntervalHours,
        makerFeeRate: input.makerFeeRate ?? this.options.fees.maker,
        takerFeeRate: input.takerFeeRate ?? this.options.fees.taker,
      };
      const intervalMs = input.fundingIntervalHours * HOUR;
      this.markets.set(input.symbol, {
        market,
        maintenanceMarginRate: input.maintenanceMarginRate ?? this.options.maintenanceMarginRate,
        makerFeeRate: input.makerFeeRate,
        takerFeeRate: input.takerFeeRate,
        intervalMs,
        mark: 0,
        index: undefined,
        time: now,
        book: undefined,
        consumed: new Map(),
        fundingRate: input.fundingRate ?? this.options.defaultFundingRatePerHour * input.fundingIntervalHours,
        series: undefined,
        seriesIndex: 0,
        nextFundingTime: Math.floor(now / intervalMs) * intervalMs + intervalMs,
        lastFundingTime: Math.floor(now / intervalMs) * intervalMs,
        lastAppliedFunding: Number.NEGATIVE_INFINITY,
        holders: 0,
        started: false,
        fundingMarks: undefined,
        fundingMarkIndex: 0,
      });
      this.marketList.push(market);
      this.working.set(input.symbol, []);
    }
    for (const input of this.options.accounts) {
      const account: SimAccount = {
        id: input.id,
        parent: input.parent,
        makerFeeRate: input.makerFeeRate,
        takerFeeRate: input.takerFeeRate,
        maxLeverage: input.maxLeverage,
        collateral: input.balance,
        unsettledPnl: 0,
        positions: new Map(),
        clientOrderIds: new RetiringMap(RETAINED_CLIENT_IDS),
        totals: {
          deposits: input.balance,
          withdrawals: 0,
          realizedPnl: 0,
          fees: 0,
          funding: 0,
          liquidations: 0,
        },
      };
      this.accountsById.set(input.id, account);
      this.accountList.push(account);
    }
  }

  // ---------------------------------------------------------------- market data in

  /**
   * Processes one bar (open time `candle.timestamp`, length `intervalMs`): at the open it settles
   * funding due by then and fills orders waiting for the next open; within the bar it fills resting
   * limits the bar trades through and liquidates at the adverse extreme; at the close the mark
   * becomes the close. Emits the candle (no ticker: the close is the mark).
   */
  processCandle(symbol: string, candle: Candle, intervalMs: number): void {
    const state = this.requireMarket(symbol);
    const open = candle.timestamp;
    if (state.mark === 0) state.mark = candle.open;
    this.settleFunding(state, open, candle.open);
    state.time = open;
    if (this.workingCount > 0) this.processBarOrders(state, candle, open);
    if (state.holders > 0) this.checkLiquidations(state, candle);
    state.mark = candle.close;
    state.time = open + intervalMs;
    const events = this.events;
    events.emit('candle', { exchange: this.id, symbol, interval: intervalMs, candle });
    events.emit('ticker', {
      exchange: this.id,
      symbol,
      timestamp: open + intervalMs,
      mark: candle.close,
      last: candle.close,
    });
  }

  /** Processes a mark (and optional index) update: resting limits the move crosses fill as makers. */
  processTicker(ticker: Pick<Ticker, 'symbol' | 'mark' | 'timestamp'> & Partial<Ticker>): void {
    const state = this.requireMarket(ticker.symbol);
    this.settleFunding(state, ticker.timestamp, ticker.mark);
    state.mark = ticker.mark;
    if (ticker.index !== undefined) state.index = ticker.index;
    state.time = ticker.timestamp;
    if (this.workingCount > 0) this.processWorking(state, ticker.timestamp);
    if (state.holders > 0) this.checkLiquidations(state, undefined);
    this.events.emit('ticker', {
      exchange: this.id,
      symbol: ticker.symbol,
      timestamp: ticker.timestamp,
      mark: ticker.mark,
      index: ticker.index,
      last: ticker.last,
      bid: ticker.bid,
      ask: ticker.ask,
    });
  }

  /** Processes an L2 snapshot: it replaces the book, and resting orders it crosses fill. */
  processOrderBook(book: Omit<OrderBook, 'exchange'>): void {
    const state = this.requireMarket(book.symbol);
    const bestBid = book.bids[0]?.[0];
    const bestAsk = book.asks[0]?.[0];
    const mid =
      bestBid !== undefined && bestAsk !== undefined
        ? (bestBid + bestAsk) / 2
        : (bestBid ?? bestAsk ?? state.mark);
    this.settleFunding(state, book.timestamp, mid);
    state.book = {
      exchange: this.id,
      symbol: book.symbol,
      timestamp: book.timestamp,
      bids: book.bids,
      asks: book.asks,
      sequence: book.sequence,
    };
    state.consumed.clear();
    if (mid > 0) state.mark = mid;
    state.time = book.timestamp;
    if (this.workingCount > 0) this.processWorking(state, book.timestamp);
    if (state.holders > 0) this.checkLiquidations(state, undefined);
    this.events.emit('orderBook', state.book);
    this.events.emit('ticker', this.tickerOf(state));
  }

  /** Sets the rate (per the market's interval) the next settlement uses, when no series is loaded. */
  processFundingRate(symbol: string, rate: number, timestamp = this.clock.now()): void {
    const state = this.requireMarket(symbol);
    state.fundingRate = rate;
    this.events.emit('fundingRate', this.currentFundingRate(state, timestamp));
  }

  /**
   * Loads a funding series (rates per the market's interval, times of settlement). Settlements then
   * happen exactly at the series' times, with the series' rates.
   */
  setFundingSeries(symbol: string, points: readonly FundingPoint[]): void {
    const state = this.requireMarket(symbol);
    state.series = [...points].sort((a, b) => a.time - b.time);
    state.seriesIndex = state.series.findIndex(
      (point) => point.time > state.lastAppliedFunding && point.time > state.time - 1,
    );
    if (state.seriesIndex < 0) state.seriesIndex = state.series.length;
    state.nextFundingTime = state.series[state.seriesIndex]?.time ?? Number.POSITIVE_INFINITY;
  }

  /** Moves sim time: acknowledges orders whose latency has passed and expires TTLs. */
  advanceTime(now = this.clock.now()): void {
    if (this.workingCount === 0) return;
    for (const state of this.markets.values()) this.processWorking(state, now);
  }

  // ---------------------------------------------------------------- funding

  private currentFundingRate(state: SimMarket, timestamp: number): FundingRate {
    const rate = state.series
      ? (state.series[state.seriesIndex]?.rate ?? state.series.at(-1)?.rate ?? 0)
      : state.fundingRate;
    return fundingRate({
      exchange: this.id,
      symbol: state.market.symbol,
      timestamp,
      rate,
      intervalHours: state.market.fundingIntervalHours,
      nextFundingTime: state.nextFundingTime,
      predicted: true,
    });
  }

  private settleFunding(state: SimMarket, now: number, price: number): void {
    if (!state.started) {
      state.started = true;
      if (!state.series) {
        state.lastFundingTime = Math.floor(now / state.intervalMs) * state.intervalMs;
        // A bar opening exactly on a funding time settles it (positions held into it pay).
        state.nextFundingTime = now % state.intervalMs === 0 ? now : state.lastFundingTime + state.intervalMs;
      }
    }
    while (state.nextFundingTime <= now) {
      const time = state.nextFundingTime;
      let rate = state.fundingRate;
      if (state.series) {
        rate = (state.series[state.seriesIndex] as FundingPoint).rate;
        state.seriesIndex += 1;
        state.nextFundingTime = state.series[state.seriesIndex]?.time ?? Number.POSITIVE_INFINITY;
      } else {
        state.nextFundingTime = time + state.intervalMs;
      }
      this.applyFunding(
        state.market.symbol,
        time,
        rate,
        this.fundingPrice(state, time) ?? (price > 0 ? price : state.mark),
      );
    }
  }

  /** The mark at `time` from a loaded mark series: the last mark at or before it. */
  private fundingPrice(state: SimMarket, time: number): number | undefined {
    const marks = state.fundingMarks;
    if (!marks) return undefined;
    while (
      state.fundingMarkIndex + 1 < marks.length &&
      (marks[state.fundingMarkIndex + 1] as { time: number }).time <= time
    )
      state.fundingMarkIndex += 1;
    const point = marks[state.fundingMarkIndex];
    return point && point.time <= time ? point.price : undefined;
  }

  /** Funding settles at these mark prices (time-ordered) instead of the traded price. */
  setFundingMarks(symbol: string, marks: readonly { time: number; price: number }[]): void {
    const state = this.requireMarket(symbol);
    state.fundingMarks = [...marks].sort((a, b) => a.time - b.time);
    state.fundingMarkIndex = 0;
  }

  /**
   * Settles one funding event on every position in the market: payment = −quantity × price × rate
   * (longs pay a positive rate). Idempotent by (venue, instrument, funding time): a time at or
   * before the last applied one is ignored. Returns whether it applied.
   */
  applyFunding(symbol: string, fundingTime: number, rate: number, price: number): boolean {
    const state = this.requireMarket(symbol);
    if (fundingTime <= state.lastAppliedFunding) return false;
    state.lastAppliedFunding = fundingTime;
    state.lastFundingTime = fundingTime;
    this.events.emit(
      'fundingRate',
      fundingRate({
        exchange: this.id,
        symbol,
        timestamp: fundingTime,
        rate,
        intervalHours: state.market.fundingIntervalHours,
      }),
    );
    if (state.holders === 0 || rate === 0) return true;
    for (const account of this.accountsById.values()) {
      const position = account.positions.get(symbol);
      if (!position || position.quantity === 0) continue;
      const amount = -position.quantity * price * rate;
      account.collateral += amount;
      account.totals.funding += amount;
      position.fundingSettled += amount;
      const payment: FundingPayment = {
        id: `${this.venue}:${symbol}:${fundingTime}:${account.id}`,
        exchange: this.id,
        account: account.id,
        symbol,
        timestamp: fundingTime,
        fundingTime,
        rate,
        intervalHours: state.market.fundingIntervalHours,
        positionQuantity: position.quantity,
        markPrice: price,
        amount,
        settled: true,
      };
      this.events.emit('funding', payment);
      this.emitBalance(account, fundingTime, amount, 'funding');
      this.emitAccount(account.id);
    }
    return true;
  }

  // ---------------------------------------------------------------- orders: validation

  private reject(reason: string, message: string): never {
    throw new OrderRejectedError(reason, message, { exchange: this.id });
  }

  private feeRate(account: SimAccount, state: SimMarket, liquidity: Liquidity): number {
    if (liquidity === 'maker') return account.makerFeeRate ?? state.makerFeeRate ?? this.options.fees.maker;
    return account.takerFeeRate ?? state.takerFeeRate ?? this.options.fees.taker;
  }

  /** Price a taker order would get now, before fill-time checks; used for margin estimates. */
  private estimatePrice(state: SimMarket, side: Side, quantity: number, limit: number | undefined): number {
    const base = limit ?? state.mark;
    if (this.options.fillModel === 'book' || limit !== undefined) return base;
    const fraction = slippageFraction(this.options.slippage, base * quantity);
    return side === 'buy' ? base * (1 + fraction) : base * (1 - fraction);
  }

  async submitOrder(request: OrderRequest): Promise<Order> {
    return this.submitOrderSync(request);
  }

  /** `submitOrder` without the promise, for simulators and benchmarks. */
  submitOrderSync(request: OrderRequest): Order {
    if (this.closed)
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is closed`, {
        exchange: this.id,
        retryable: false,
      });
    const state = this.requireMarket(request.symbol);
    const account = this.requireAccount(request.account);
    const market = state.market;
    if (request.type !== 'market' && request.type !== 'limit')
      this.reject('INVALID_ORDER_TYPE', `order type ${String(request.type)} is not supported`);
    let quantity: number;
    try {
      quantity = Number(request.quantity);
      if (!(quantity > 0) || !isMultipleOf(request.quantity, market.lotSize)) throw new Error('misaligned');
    } catch {
      this.reject(
        'INVALID_QUANTITY',
        `quantity ${request.quantity} is not a positive multiple of the lot size ${market.lotSize}`,
      );
    }
    if (market.minQuantity !== undefined && quantity < Number(market.minQuantity) && !request.reduceOnly) {
      this.reject(
        'BELOW_MIN_QUANTITY',
        `quantity ${request.quantity} is below the minimum ${market.minQuantity}`,
      );
    }
    let price: number | undefined;
    if (request.type === 'limit') {
      if (request.price === undefined) this.reject('INVALID_PRICE', 'a limit order needs a price');
      try {
        price = Number(request.price);
        if (!(price > 0) || !isMultipleOf(request.price, market.tickSize)) throw new Error('misaligned');
      } catch {
        this.reject(
          'INVALID_PRICE',
          `price ${request.price} is not a positive multiple of the tick size ${market.tickSize}`,
        );
      }
    }
    if (state.mark <= 0 && state.book === undefined)
      this.reject('NO_MARKET_DATA', `no price for ${market.symbol} yet`);
    if (request.clientOrderId !== undefined && account.clientOrderIds.get(request.clientOrderId)) {
      this.reject(
        'DUPLICATE_CLIENT_ORDER_ID',
        `client order id ${request.clientOrderId} is already used on ${account.id}`,
      );
    }
    const timeInForce: TimeInForce = request.timeInForce ?? (request.type === 'market' ? 'ioc' : 'gtc');
    if (request.type === 'market' && (timeInForce === 'post-only' || timeInForce === 'gtc')) {
      this.reject('INVALID_TIME_IN_FORCE', `a market order cannot be ${timeInForce}`);
    }
    const position = account.positions.get(market.symbol)?.quantity ?? 0;
    const direction = request.side === 'buy' ? 1 : -1;
    if (request.reduceOnly) {
      const reduces =
        position !== 0 && Math.sign(position) === -direction && quantity <= Math.abs(position) + EPSILON;
      if (!reduces)
        this.reject(
          'REDUCE_ONLY_WOULD_INCREASE',
          `reduce-only ${request.side} ${request.quantity} would not reduce the position ${position}`,
        );
    }
    const reference = price ?? state.mark;
    if (!request.reduceOnly && quantity * reference < market.minNotional) {
      this.reject(
        'BELOW_MIN_NOTIONAL',
        `notional ${(quantity * reference).toFixed(2)} is below the minimum ${market.minNotional}`,
      );
    }
    const crosses = price !== undefined && this.crosses(state, request.side, price);
    if (timeInForce === 'post-only' && crosses)
      this.reject(
        'POST_ONLY_WOULD_CROSS',
        `post-only ${request.side} at ${request.price} would take liquidity`,
      );
    if (!request.reduceOnly) {
      const problem = this.marginProblem(
        account,
        state,
        direction * quantity,
        this.estimatePrice(state, request.side, quantity, price),
      );
      if (problem) this.reject(problem.reason, problem.message);
    }

    this.sequence += 1;
    const now = this.clock.now();
    const latency =
      this.options.ackLatencyMs +
      (this.options.latencyJitterMs > 0 ? this.random() * this.options.latencyJitterMs : 0);
    const order: Order = {
      id: `${this.id}-${this.sequence}`,
      clientOrderId: request.clientOrderId,
      exchange: this.id,
      account: account.id,
      symbol: market.symbol,
      side: request.side,
      type: request.type,
      timeInForce,
      reduceOnly: request.reduceOnly ?? false,
      quantity,
      price,
      status: 'pending',
      filledQuantity: 0,
      averagePrice: 0,
      fee: 0,
      reason: undefined,
      expiresAt: request.expiresAt,
      createdAt: now,
      updatedAt: now,
    };
    if (request.clientOrderId !== undefined) {
      account.clientOrderIds.set(request.clientOrderId, true);
    }
    const simOrder: SimOrder = {
      order,
      accountId: account.id,
      market: state,
      activeAt: now + latency,
      active: false,
      marketable: false,
      notional: 0,
      fills: 0,
    };
    this.orders.set(order.id, simOrder);
    (this.working.get(market.symbol) as SimOrder[]).push(simOrder);
    this.workingCount += 1;
    this.events.emit('order', order);
    if (latency <= 0) this.activate(simOrder, now);
    return simOrder.order;
  }

  private crosses(state: SimMarket, side: Side, price: number): boolean {
    const book = state.book;
    if (this.options.fillModel === 'book' && book) {
      const opposite = side === 'buy' ? book.asks[0]?.[0] : book.bids[0]?.[0];
      if (opposite === undefined) return false;
      return side === 'buy' ? price >= opposite : price <= opposite;
    }
    return side === 'buy' ? price >= state.mark : price <= state.mark;
  }

  /**
   * Why a change of `delta` in the position at `price` would break margin or leverage, if it would.
   * Checks initial margin (cross, over all positions and resting orders, fee included) and the
   * account's leverage cap.
   */
  private marginProblem(
    account: SimAccount,
    state: SimMarket,
    delta: number,
    price: number,
  ): { reason: string; message: string } | undefined {
    const symbol = state.market.symbol;
    const current = account.positions.get(symbol)?.quantity ?? 0;
    const after = current + delta;
    if (Math.abs(after) <= Math.abs(current) + EPSILON && Math.sign(after) !== -Math.sign(current))
      return undefined;
    const fee = Math.abs(delta) * price * this.feeRate(account, state, 'taker');
    // The account after the trade, valued at the mark like every snapshot: the new part's
    // unrealized PnL is (mark − price) × delta, and the position's notional is at the mark.
    const mark = state.mark > 0 ? state.mark : price;
    const equity = this.equityOf(account) + (after - current) * (mark - price) - fee;
    let initialMargin = (Math.abs(after) * mark) / state.market.maxLeverage;
    let notional = Math.abs(after) * mark;
    for (const [otherSymbol, position] of account.positions) {
      if (otherSymbol === symbol || position.quantity === 0) continue;
      const other = this.markets.get(otherSymbol) as SimMarket;
      initialMargin += (Math.abs(position.quantity) * other.mark) / other.market.maxLeverage;
      notional += Math.abs(position.quantity) * other.mark;
    }
    initialMargin += this.openOrderMargin(account, undefined);
    if (equity <= 0 || initialMargin > equity + EPSILON) {
      return {
        reason: 'INSUFFICIENT_MARGIN',
        message: `initial margin ${initialMargin.toFixed(2)} after the trade would exceed equity ${equity.toFixed(2)} (max leverage ${state.market.maxLeverage}×)`,
      };
    }
    if (account.maxLeverage !== undefined && notional / equity > account.maxLeverage + EPSILON) {
      return {
        reason: 'LEVERAGE_EXCEEDED',
        message: `leverage ${(notional / equity).toFixed(2)}× after the trade exceeds the account limit ${account.maxLeverage}×`,
      };
    }
    return undefined;
  }

  private openOrderMargin(account: SimAccount, except: SimOrder | undefined): number {
    if (this.workingCount === 0) return 0;
    let margin = 0;
    for (const list of this.working.values()) {
      for (const simOrder of list) {
        if (
          simOrder === except ||
          simOrder.accountId !== account.id ||
          simOrder.order.reduceOnly ||
          simOrder.order.type !== 'limit'
        )
          continue;
        const remaining = simOrder.order.quantity - simOrder.order.filledQuantity;
        margin += (remaining * (simOrder.order.price as number)) / simOrder.market.market.maxLeverage;
      }
    }
    return margin;
  }

  // ---------------------------------------------------------------- orders: execution

  private update(simOrder: SimOrder, changes: Partial<Order>, at: number): Order {
    const order = simOrder.order;
    // An explicit copy: V8 is slow at `{ ...order, ...changes }`.
    simOrder.order = {
      id: order.id,
      clientOrderId: order.clientOrderId,
      exchange: order.exchange,
      account: order.account,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      reduceOnly: order.reduceOnly,
      quantity: order.quantity,
      price: order.price,
      status: changes.status ?? order.status,
      filledQuantity: changes.filledQuantity ?? order.filledQuantity,
      averagePrice: changes.averagePrice ?? order.averagePrice,
      fee: changes.fee ?? order.fee,
      reason: changes.reason ?? order.reason,
      expiresAt: order.expiresAt,
      createdAt: order.createdAt,
      updatedAt: at,
    };
    return simOrder.order;
  }

  private finish(
    simOrder: SimOrder,
    status: 'filled' | 'cancelled' | 'expired' | 'rejected',
    at: number,
    reason?: string,
  ): void {
    const list = this.working.get(simOrder.order.symbol) as SimOrder[];
    const index = list.indexOf(simOrder);
    if (index >= 0) {
      list.splice(index, 1);
      this.workingCount -= 1;
    }
    const order = this.update(simOrder, reason === undefined ? { status } : { status, reason }, at);
    if (order.clientOrderId !== undefined)
      (this.accountsById.get(simOrder.accountId) as SimAccount).clientOrderIds.retire(order.clientOrderId);
    this.finalized.push(order.id);
    if (this.finalized.length - this.finalizedHead > RETAINED_FINAL_ORDERS) {
      this.orders.delete(this.finalized[this.finalizedHead] as string);
      this.finalizedHead += 1;
      if (this.finalizedHead > RETAINED_FINAL_ORDERS) {
        this.finalized.splice(0, this.finalizedHead);
        this.finalizedHead = 0;
      }
    }
    this.events.emit('order', order);
    this.emitAccount(simOrder.accountId);
  }

  /** The order goes live: taker parts execute now (or at the next open), the rest rests. */
  private activate(simOrder: SimOrder, now: number): void {
    simOrder.active = true;
    const { order, market: state } = simOrder;
    const price = order.price;
    simOrder.marketable =
      order.type === 'market' || (price !== undefined && this.crosses(state, order.side, price));
    if (order.timeInForce === 'post-only' && simOrder.marketable) {
      this.finish(simOrder, 'cancelled', now, 'POST_ONLY_WOULD_CROSS');
      return;
    }
    this.update(simOrder, { status: 'open' }, now);
    this.events.emit('order', simOrder.order);
    if (this.options.fillModel === 'next-open') {
      // Decided now, filled at the next bar's open (or resting until a bar trades through).
      return;
    }
    if (simOrder.marketable) this.takeNow(simOrder, now);
    if (
      !FINAL.has(simOrder.order.status) &&
      order.timeInForce !== 'gtc' &&
      order.timeInForce !== 'post-only'
    ) {
      this.finish(
        simOrder,
        'cancelled',
        now,
        simOrder.order.filledQuantity > 0 ? 'IOC_REMAINDER_CANCELLED' : 'IOC_NOT_FILLED',
      );
    }
  }

  /** Executes the taker part of an order now, under the mark or book model. */
  private takeNow(simOrder: SimOrder, now: number): void {
    const { order, market: state } = simOrder;
    const remaining = order.quantity - order.filledQuantity;
    if (this.options.fillModel === 'book') {
      const levels = this.takeableLevels(state, order.side, order.price);
      const available = levels.reduce((sum, [, quantity]) => sum + quantity, 0);
      if (order.timeInForce === 'fok' && available + EPSILON < remaining) {
        this.finish(simOrder, 'cancelled', now, 'FOK_NOT_FILLED');
        return;
      }
      const mid = this.bookMid(state);
      let left = remaining;
      for (const [price, quantity] of levels) {
        if (left <= EPSILON || FINAL.has(simOrder.order.status)) break;
        const take = this.lotFloor(state, Math.min(left, quantity));
        if (take <= 0) break;
        const filled = this.fill(simOrder, take, price, 'taker', mid, now);
        if (filled <= 0) break;
        state.consumed.set(price, (state.consumed.get(price) ?? 0) + filled);
        left -= filled;
      }
      return;
    }
    const reference = state.mark;
    const fraction = slippageFraction(this.options.slippage, reference * remaining);
    let price = order.side === 'buy' ? reference * (1 + fraction) : reference * (1 - fraction);
    price = roundToStepNumber(price, state.market.tickSize, order.side === 'buy' ? 'ceil' : 'floor');
    if (order.price !== undefined && (order.side === 'buy' ? price > order.price : price < order.price)) {
      price = order.price; // a marketable limit never pays worse than its limit
    }
    this.fill(simOrder, remaining, price, 'taker', reference, now);
  }

  private bookMid(state: SimMarket): number {
    const bid = state.book?.bids[0]?.[0];
    const ask = state.book?.asks[0]?.[0];
    return bid !== undefined && ask !== undefined ? (bid + ask) / 2 : state.mark;
  }

  /** Opposite-side levels within the limit, net of what our own orders already took. */
  private takeableLevels(state: SimMarket, side: Side, limit: number | undefined): [number, number][] {
    const book = state.book;
    if (!book) return [];
    const levels = side === 'buy' ? book.asks : book.bids;
    const out: [number, number][] = [];
    for (const [price, quantity] of levels) {
      if (limit !== undefined && (side === 'buy' ? price > limit : price < limit)) break;
      const left = quantity - (state.consumed.get(price) ?? 0);
      if (left > EPSILON) out.push([price, left]);
    }
    return out;
  }

  private lotFloor(state: SimMarket, quantity: number): number {
    return roundToStepNumber(quantity + EPSILON, state.market.lotSize, 'floor');
  }

  /** Orders of a market on a new bar: acknowledgements, next-open fills, trade-throughs, TTLs. */
  private processBarOrders(state: SimMarket, candle: Candle, open: number): void {
    const list = this.working.get(state.market.symbol) as SimOrder[];
    if (list.length === 0) return;
    for (const simOrder of [...list]) {
      if (FINAL.has(simOrder.order.status)) continue;
      if (simOrder.order.expiresAt !== undefined && simOrder.order.expiresAt <= open) {
        this.finish(simOrder, 'expired', simOrder.order.expiresAt, 'TTL_EXPIRED');
        continue;
      }
      if (!simOrder.active) {
        if (simOrder.activeAt > open) continue;
        this.activate(simOrder, simOrder.activeAt);
        if (FINAL.has(simOrder.order.status)) continue;
      }
      const { order } = simOrder;
      const remaining = order.quantity - order.filledQuantity;
      if (simOrder.marketable && order.filledQuantity === 0) {
        // Decided at the previous close: executes at this bar's open.
        const limit = order.price;
        const fraction = slippageFraction(this.options.slippage, candle.open * remaining);
        let price = order.side === 'buy' ? candle.open * (1 + fraction) : candle.open * (1 - fraction);
        if (fraction > 0)
          price = roundToStepNumber(price, state.market.tickSize, order.side === 'buy' ? 'ceil' : 'floor');
        if (limit === undefined || (order.side === 'buy' ? price <= limit : price >= limit)) {
          this.fill(simOrder, remaining, price, 'taker', candle.open, open);
          continue;
        }
        if (order.timeInForce !== 'gtc') {
          this.finish(simOrder, 'cancelled', open, 'IOC_NOT_FILLED');
          continue;
        }
        simOrder.marketable = false; // the gap moved away: it now rests
      }
      if (order.type === 'limit' && order.price !== undefined) {
        // Trade-through: the bar must go strictly beyond the limit; touching is not enough.
        const through = order.side === 'buy' ? candle.low < order.price : candle.high > order.price;
        if (through) this.fill(simOrder, remaining, order.price, 'maker', order.price, open);
      }
      if (
        !FINAL.has(simOrder.order.status) &&
        order.timeInForce !== 'gtc' &&
        order.timeInForce !== 'post-only'
      ) {
        this.finish(simOrder, 'cancelled', open, 'IOC_NOT_FILLED');
      }
    }
  }

  /** Orders of a market on a tick or book update. */
  private processWorking(state: SimMarket, now: number): void {
    const list = this.working.get(state.market.symbol) as SimOrder[];
    if (list.length === 0) return;
    for (const simOrder of [...list]) {
      if (FINAL.has(simOrder.order.status)) continue;
      if (simOrder.order.expiresAt !== undefined && simOrder.order.expiresAt <= now) {
        this.finish(simOrder, 'expired', now, 'TTL_EXPIRED');
        continue;
      }
      if (!simOrder.active) {
        if (simOrder.activeAt <= now) this.activate(simOrder, now);
        continue;
      }
      if (this.options.fillModel === 'next-open') continue;
      const { order } = simOrder;
      if (order.type !== 'limit' || order.price === undefined) continue;
      if (this.options.fillModel === 'book') {
        const levels = this.takeableLevels(state, order.side, order.price);
        let left = order.quantity - order.filledQuantity;
        for (const [price, quantity] of levels) {
          if (left <= EPSILON || FINAL.has(simOrder.order.status)) break;
          const take = this.lotFloor(state, Math.min(left, quantity));
          if (take <= 0) break;
          const filled = this.fill(simOrder, take, order.price, 'maker', order.price, now);
          state.consumed.set(price, (state.consumed.get(price) ?? 0) + filled);
          left -= filled;
        }
      } else {
        const through = order.side === 'buy' ? state.mark < order.price : state.mark > order.price;
        if (through)
          this.fill(simOrder, order.quantity - order.filledQuantity, order.price, 'maker', order.price, now);
      }
    }
  }

  /**
   * Fills up to `wanted` of an order at `price`. Reduce-only orders are clamped to the position;
   * increases that would break margin cancel the rest. Returns the quantity filled.
   */
  private fill(
    simOrder: SimOrder,
    wanted: number,
    price: number,
    liquidity: Liquidity,
    reference: number,
    at: number,
  ): number {
    const { order, market: state } = simOrder;
    const account = this.accountsById.get(simOrder.accountId) as SimAccount;
    const symbol = state.market.symbol;
    const direction = order.side === 'buy' ? 1 : -1;
    const position = account.positions.get(symbol)?.quantity ?? 0;
    let quantity = wanted;
    if (order.reduceOnly) {
      if (position === 0 || Math.sign(position) === direction) {
        this.finish(simOrder, 'cancelled', at, 'REDUCE_ONLY_WOULD_INCREASE');
        return 0;
      }
      quantity = Math.min(quantity, Math.abs(position));
    } else {
      const problem = this.marginProblem(account, state, direction * quantity, price);
      if (problem) {
        this.finish(simOrder, 'cancelled', at, problem.reason);
        return 0;
      }
    }
    const fee = quantity * price * this.feeRate(account, state, liquidity);
    this.applyTrade(account, state, direction * quantity, price, fee, at);

    const filledQuantity = this.snap(state, order.filledQuantity + quantity);
    simOrder.notional += quantity * price;
    simOrder.fills += 1;
    const averagePrice = simOrder.notional / filledQuantity;
    const done = filledQuantity >= order.quantity - EPSILON;
    const cumulativeFee = order.fee + fee;
    this.update(
      simOrder,
      { filledQuantity, averagePrice, fee: cumulativeFee, status: done ? 'filled' : 'partially-filled' },
      at,
    );
    this.fillSequence += 1;
    const fill: Fill = {
      id: `${this.id}-f${this.fillSequence}`,
      orderId: order.id,
      clientOrderId: order.clientOrderId,
      exchange: this.id,
      account: account.id,
      symbol,
      side: order.side,
      price,
      quantity,
      fee,
      liquidity,
      timestamp: at,
      cumulativeQuantity: filledQuantity,
      cumulativeFee,
      averagePrice,
      slippage: (price - reference) * quantity * direction,
      reduceOnly: order.reduceOnly,
    };
    this.events.emit('fill', fill);
    if (done) {
      this.finish(simOrder, 'filled', at);
    } else if (order.reduceOnly && (account.positions.get(symbol)?.quantity ?? 0) === 0) {
      this.finish(simOrder, 'cancelled', at, 'REDUCE_ONLY_REMAINDER_CANCELLED');
    } else {
      this.events.emit('order', simOrder.order);
    }
    this.emitPosition(account, symbol, at);
    this.emitAccount(account.id);
    return quantity;
  }

  /** Books a trade on an account: position, realized PnL (settled or not), fee. */
  private applyTrade(
    account: SimAccount,
    state: SimMarket,
    signed: number,
    price: number,
    fee: number,
    at: number,
  ): void {
    const symbol = state.market.symbol;
    let position = account.positions.get(symbol);
    if (!position) {
      position = { quantity: 0, entryPrice: 0, realizedPnl: 0, fundingSettled: 0, openedAt: at };
      account.positions.set(symbol, position);
    }
    const before = position.quantity;
    account.collateral -= fee;
    account.totals.fees += fee;
    this.emitBalance(account, at, -fee, 'fee');
    if (before === 0 || Math.sign(before) === Math.sign(signed)) {
      const size = Math.abs(before);
      position.entryPrice =
        (position.entryPrice * size + price * Math.abs(signed)) / (size + Math.abs(signed));
      if (before === 0) {
        position.openedAt = at;
        position.realizedPnl = 0;
        position.fundingSettled = 0;
        state.holders += 1;
        this.openPositions += 1;
      }
      position.quantity = this.snap(state, before + signed);
      return;
    }
    const closing = Math.min(Math.abs(signed), Math.abs(before));
    const pnl = (price - position.entryPrice) * closing * Math.sign(before);
    position.realizedPnl += pnl;
    account.totals.realizedPnl += pnl;
    if (this.options.pnlSettlement === 'immediate') {
      account.collateral += pnl;
      this.emitBalance(account, at, pnl, 'realized-pnl');
    } else {
      account.unsettledPnl += pnl;
    }
    position.quantity = this.snap(state, before + signed);
    if (position.quantity === 0) {
      state.holders -= 1;
      this.openPositions -= 1;
      position.entryPrice = 0;
    } else if (Math.sign(position.quantity) !== Math.sign(before)) {
      position.entryPrice = price; // flipped: the remainder opened at this price
      position.openedAt = at;
    }
  }

  private snap(state: SimMarket, quantity: number): number {
    return roundToStepNumber(quantity, state.market.lotSize, 'nearest');
  }

  // ---------------------------------------------------------------- margin, liquidation

  private unrealizedOf(account: SimAccount, override?: { symbol: string; price: number }): number {
    let total = 0;
    for (const [symbol, position] of account.positions) {
      if (position.quantity === 0) continue;
      const mark =
        override && override.symbol === symbol
          ? override.price
          : (this.markets.get(symbol) as SimMarket).mark;
      total += (mark - position.entryPrice) * position.quantity;
    }
    return total;
  }

  private equityOf(account: SimAccount, override?: { symbol: string; price: number }): number {
    return account.collateral + account.unsettledPnl + this.unrealizedOf(account, override);
  }

  private maintenanceOf(account: SimAccount, override?: { symbol: string; price: number }): number {
    let total = 0;
    for (const [symbol, position] of account.positions) {
      if (position.quantity === 0) continue;
      const state = this.markets.get(symbol) as SimMarket;
      const mark = override && override.symbol === symbol ? override.price : state.mark;
      total += Math.abs(position.quantity) * mark * state.maintenanceMarginRate;
    }
    return total;
  }

  /**
   * Liquidation price of one position with every other position held at its mark: the price where
   * equity equals maintenance margin.
   */
  liquidationPrice(accountId: string, symbol: string): number | undefined {
    const account = this.requireAccount(accountId);
    const position = account.positions.get(symbol);
    if (!position || position.quantity === 0) return undefined;
    const state = this.markets.get(symbol) as SimMarket;
    let others = account.collateral + account.unsettledPnl;
    for (const [otherSymbol, other] of account.positions) {
      if (otherSymbol === symbol || other.quantity === 0) continue;
      const otherState = this.markets.get(otherSymbol) as SimMarket;
      others +=
        (otherState.mark - other.entryPrice) * other.quantity -
        Math.abs(other.quantity) * otherState.mark * otherState.maintenanceMarginRate;
    }
    const q = position.quantity;
    const price = (position.entryPrice * q - others) / (q - state.maintenanceMarginRate * Math.abs(q));
    return Math.max(price, 0);
  }

  private checkLiquidations(state: SimMarket, candle: Candle | undefined): void {
    const symbol = state.market.symbol;
    for (const account of this.accountsById.values()) {
      const position = account.positions.get(symbol);
      if (!position || position.quantity === 0) continue;
      // Pessimistic: test at the bar's adverse extreme for this position.
      const adverse = candle ? (position.quantity > 0 ? candle.low : candle.high) : state.mark;
      const override = { symbol, price: adverse };
      if (this.equityOf(account, override) >= this.maintenanceOf(account, override)) continue;
      const liquidationPrice = this.liquidationPrice(account.id, symbol) ?? adverse;
      // Executes at the liquidation price, or worse when the price was already beyond it
      // (a bar that opened through it, or a mark that jumped through it).
      const reference = candle ? candle.open : state.mark;
      const price =
        position.quantity > 0 ? Math.min(liquidationPrice, reference) : Math.max(liquidationPrice, reference);
      this.liquidate(account, price, symbol, candle ? candle.timestamp : state.time);
    }
  }

  /** Closes every position of the account (the triggering one at `price`, others at their marks). */
  private liquidate(account: SimAccount, price: number, triggerSymbol: string, at: number): void {
    for (const list of this.working.values()) {
      for (const simOrder of [...list])
        if (simOrder.accountId === account.id) this.finish(simOrder, 'cancelled', at, 'LIQUIDATION');
    }
    for (const [symbol, position] of [...account.positions]) {
      if (position.quantity === 0) continue;
      const state = this.markets.get(symbol) as SimMarket;
      const executionPrice = symbol === triggerSymbol ? price : state.mark;
      const quantity = Math.abs(position.quantity);
      const fee = quantity * executionPrice * this.options.liquidationFeeRate;
      const liquidation: Liquidation = {
        exchange: this.id,
        account: account.id,
        symbol,
        timestamp: at,
        quantity: position.quantity,
        price: executionPrice,
        fee,
        reason: 'MAINTENANCE_MARGIN_BREACHED',
      };
      account.totals.liquidations += 1;
      this.events.emit('liquidation', liquidation);
      const side: Side = position.quantity > 0 ? 'sell' : 'buy';
      this.sequence += 1;
      const order: Order = {
        id: `${this.id}-liq-${this.sequence}`,
        exchange: this.id,
        account: account.id,
        symbol,
        side,
        type: 'market',
        timeInForce: 'ioc',
        reduceOnly: true,
        quantity,
        status: 'filled',
        filledQuantity: quantity,
        averagePrice: executionPrice,
        fee,
        reason: 'LIQUIDATION',
        createdAt: at,
        updatedAt: at,
      };
      this.applyTrade(account, state, position.quantity > 0 ? -quantity : quantity, executionPrice, fee, at);
      this.emitBalance(account, at, 0, 'liquidation');
      this.fillSequence += 1;
      this.events.emit('fill', {
        id: `${this.id}-f${this.fillSequence}`,
        orderId: order.id,
        exchange: this.id,
        account: account.id,
        symbol,
        side,
        price: executionPrice,
        quantity,
        fee,
        liquidity: 'taker',
        timestamp: at,
        cumulativeQuantity: quantity,
        cumulativeFee: fee,
        averagePrice: executionPrice,
        reduceOnly: true,
      });
      this.events.emit('order', order);
      this.emitPosition(account, symbol, at);
    }
    this.emitAccount(account.id);
  }

  // ---------------------------------------------------------------- capital

  async deposit(accountId: string, asset: string, amount: number): Promise<void> {
    const account = this.requireAccount(accountId);
    if (!(amount > 0) || !Number.isFinite(amount))
      throw new ExchangeError('INVALID_ARGUMENT', `deposit amount must be positive (got ${amount})`);
    account.collateral += amount;
    account.totals.deposits += amount;
    this.emitBalance(account, this.clock.now(), amount, 'deposit', asset);
    this.emitAccount(accountId);
  }

  /** Withdraws up to the free collateral; more is `INSUFFICIENT_FUNDS`. */
  async withdraw(accountId: string, asset: string, amount: number): Promise<void> {
    const account = this.requireAccount(accountId);
    if (!(amount > 0) || !Number.isFinite(amount))
      throw new ExchangeError('INVALID_ARGUMENT', `withdrawal amount must be positive (got ${amount})`);
    const free = this.snapshot(account).freeCollateral;
    if (amount > free + EPSILON || amount > account.collateral + EPSILON) {
      throw new ExchangeError(
        'INSUFFICIENT_FUNDS',
        `cannot withdraw ${amount}: free collateral is ${free.toFixed(6)}`,
        { exchange: this.id },
      );
    }
    account.collateral -= amount;
    account.totals.withdrawals += amount;
    this.emitBalance(account, this.clock.now(), -amount, 'withdrawal', asset);
    this.emitAccount(accountId);
  }

  /** Moves collateral between two accounts (a parent and its sub-account, or siblings). */
  async transfer(fromId: string, toId: string, amount: number): Promise<void> {
    await this.withdraw(fromId, 'USD', amount);
    await this.deposit(toId, 'USD', amount);
  }

  /** Moves unsettled PnL into collateral (for `pnlSettlement: manual`). Returns the amount settled. */
  settlePnl(accountId: string): number {
    const account = this.requireAccount(accountId);
    const amount = account.unsettledPnl;
    if (amount === 0) return 0;
    account.unsettledPnl = 0;
    account.collateral += amount;
    this.emitBalance(account, this.clock.now(), amount, 'realized-pnl');
    this.emitAccount(accountId);
    return amount;
  }

  /** Equity of one account, or of all accounts, at current marks. Allocation-free, for hot loops. */
  equity(accountId?: string): number {
    if (accountId !== undefined) return this.equityOf(this.requireAccount(accountId));
    let total = 0;
    const accounts = this.accountList;
    if (this.openPositions === 0) {
      for (let index = 0; index < accounts.length; index += 1) {
        const account = accounts[index] as SimAccount;
        total += account.collateral + account.unsettledPnl;
      }
      return total;
    }
    for (let index = 0; index < accounts.length; index += 1)
      total += this.equityOf(accounts[index] as SimAccount);
    return total;
  }

  /** True while any account holds a position. */
  hasPositions(): boolean {
    return this.openPositions > 0;
  }

  /** Running totals of an account, for reconciliation and tests. */
  totals(accountId: string): AccountTotals {
    return { ...this.requireAccount(accountId).totals };
  }

  // ---------------------------------------------------------------- reads

  private requireMarket(symbol: string): SimMarket {
    const state = this.markets.get(symbol);
    if (!state)
      throw new ExchangeError('MARKET_NOT_FOUND', `${this.id} has no market ${symbol}`, {
        exchange: this.id,
      });
    return state;
  }

  private requireAccount(accountId: string): SimAccount {
    const account = this.accountsById.get(accountId);
    if (!account)
      throw new ExchangeError('ACCOUNT_NOT_FOUND', `${this.id} has no account ${accountId}`, {
        exchange: this.id,
      });
    return account;
  }

  private positionOf(account: SimAccount, symbol: string, at: number): Position {
    const position = account.positions.get(symbol);
    const state = this.markets.get(symbol) as SimMarket;
    const quantity = position?.quantity ?? 0;
    const entryPrice = position?.entryPrice ?? 0;
    const notional = Math.abs(quantity) * state.mark;
    const rate = state.series ? (state.series[state.seriesIndex]?.rate ?? 0) : state.fundingRate;
    const elapsed = Math.max(0, Math.min(1, (state.time - state.lastFundingTime) / state.intervalMs));
    const liquidationPrice = quantity === 0 ? undefined : this.liquidationPrice(account.id, symbol);
    return {
      exchange: this.id,
      account: account.id,
      symbol,
      quantity,
      entryPrice,
      markPrice: state.mark,
      unrealizedPnl: (state.mark - entryPrice) * quantity,
      realizedPnl: position?.realizedPnl ?? 0,
      liquidationPrice,
      marginUsed: notional / state.market.maxLeverage,
      fundingAccrued: -quantity * state.mark * rate * elapsed,
      fundingSettled: position?.fundingSettled ?? 0,
      openedAt: position?.openedAt,
      updatedAt: at,
    };
  }

  private snapshot(account: SimAccount): AccountSnapshot {
    const now = this.clock.now();
    const positions: Position[] = [];
    let notional = 0;
    let marginUsed = 0;
    for (const [symbol, position] of account.positions) {
      if (position.quantity === 0) continue;
      const state = this.markets.get(symbol) as SimMarket;
      positions.push(this.positionOf(account, symbol, now));
      notional += Math.abs(position.quantity) * state.mark;
      marginUsed += (Math.abs(position.quantity) * state.mark) / state.market.maxLeverage;
    }
    marginUsed += this.openOrderMargin(account, undefined);
    const equity = this.equityOf(account);
    const maintenanceMargin = this.maintenanceOf(account);
    const freeCollateral = Math.max(0, equity - marginUsed);
    return {
      exchange: this.id,
      account: account.id,
      timestamp: now,
      equity,
      collateral: account.collateral,
      freeCollateral,
      marginUsed,
      maintenanceMargin,
      healthRatio:
        maintenanceMargin === 0
          ? 1
          : equity <= 0
            ? 0
            : Math.min(1, Math.max(0, 1 - maintenanceMargin / equity)),
      leverage: equity > 0 ? notional / equity : notional > 0 ? Number.POSITIVE_INFINITY : 0,
      unsettledPnl: account.unsettledPnl,
      balances: [{ asset: 'USD', total: account.collateral, free: freeCollateral }],
      positions,
    };
  }

  snapshotAccount(accountId: string): AccountSnapshot | undefined {
    const account = this.accountsById.get(accountId);
    return account ? this.snapshot(account) : undefined;
  }

  private emitAccount(accountId: string): void {
    if (this.events.listenerCount('account') === 0) return;
    this.events.emit('account', this.snapshot(this.accountsById.get(accountId) as SimAccount));
  }

  private emitPosition(account: SimAccount, symbol: string, at: number): void {
    if (this.events.listenerCount('position') === 0) return;
    this.events.emit('position', this.positionOf(account, symbol, at));
  }

  private emitBalance(
    account: SimAccount,
    at: number,
    amount: number,
    kind: BalanceChange['kind'],
    asset = 'USD',
  ): void {
    if (this.events.listenerCount('balance') === 0) return;
    this.events.emit('balance', {
      exchange: this.id,
      account: account.id,
      timestamp: at,
      asset,
      amount,
      kind,
      balance: account.collateral,
    });
  }

  // ---------------------------------------------------------------- Exchange contract

  async connect(): Promise<void> {
    if (this.closed)
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is closed`, { exchange: this.id });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  accounts(): readonly string[] {
    return [...this.accountsById.keys()];
  }

  async fetchMarkets(): Promise<readonly Market[]> {
    return this.marketList;
  }

  private tickerOf(state: SimMarket): Ticker {
    const book = state.book;
    const bid = book?.bids[0]?.[0];
    const ask = book?.asks[0]?.[0];
    return {
      exchange: this.id,
      symbol: state.market.symbol,
      timestamp: state.time,
      mark: state.mark,
      last: state.mark,
      index: state.index,
      bid,
      ask,
    };
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    return this.tickerOf(this.requireMarket(symbol));
  }

  /**
   * The current book. Under the `book` model, the last snapshot fed in; otherwise a synthetic book
   * around the mark, one tick wide, with the slippage model's prices for depth (documented as such).
   */
  async fetchOrderBook(symbol: string, depth = 10): Promise<OrderBook> {
    const state = this.requireMarket(symbol);
    if (state.book)
      return { ...state.book, bids: state.book.bids.slice(0, depth), asks: state.book.asks.slice(0, depth) };
    const tick = Number(state.market.tickSize);
    const bids: [number, number][] = [];
    const asks: [number, number][] = [];
    for (let level = 0; level < depth; level += 1) {
      const size = Number(state.market.lotSize) * 10 ** (level + 1);
      const fraction = slippageFraction(this.options.slippage, state.mark * size);
      bids.push([
        roundToStepNumber(
          Math.min(state.mark - tick * (level + 1), state.mark * (1 - fraction)),
          state.market.tickSize,
          'floor',
        ),
        size,
      ]);
      asks.push([
        roundToStepNumber(
          Math.max(state.mark + tick * (level + 1), state.mark * (1 + fraction)),
          state.market.tickSize,
          'ceil',
        ),
        size,
      ]);
    }
    for (let level = 1; level < depth; level += 1) {
      const previousBid = (bids[level - 1] as [number, number])[0];
      const previousAsk = (asks[level - 1] as [number, number])[0];
      if ((bids[level] as [number, number])[0] >= previousBid)
        (bids[level] as [number, number])[0] = roundToStepNumber(
          previousBid - tick,
          state.market.tickSize,
          'floor',
        );
      if ((asks[level] as [number, number])[0] <= previousAsk)
        (asks[level] as [number, number])[0] = roundToStepNumber(
          previousAsk + tick,
          state.market.tickSize,
          'ceil',
        );
    }
    return { exchange: this.id, symbol, timestamp: state.time, bids, asks };
  }

  async fetchFundingRate(symbol: string): Promise<FundingRate> {
    const state = this.requireMarket(symbol);
    return this.currentFundingRate(state, state.time);
  }

  async fetchFundingHistory(request: FundingHistoryRequest): Promise<readonly FundingRate[]> {
    const state = this.requireMarket(request.symbol);
    const from = request.from ?? Number.NEGATIVE_INFINITY;
    const to = request.to ?? state.lastAppliedFunding;
    const points = (state.series ?? []).filter((point) => point.time >= from && point.time <= to);
    const limited = request.limit === undefined ? points : points.slice(-request.limit);
    return limited.map((point) =>
      fundingRate({
        exchange: this.id,
        symbol: request.symbol,
        timestamp: point.time,
        rate: point.rate,
        intervalHours: state.market.fundingIntervalHours,
      }),
    );
  }

  async fetchAccount(accountId: string): Promise<AccountSnapshot> {
    return this.snapshot(this.requireAccount(accountId));
  }

  async fetchPositions(accountId: string): Promise<readonly Position[]> {
    return this.snapshot(this.requireAccount(accountId)).positions;
  }

  async fetchOpenOrders(accountId: string, symbol?: string): Promise<readonly Order[]> {
    this.requireAccount(accountId);
    const out: Order[] = [];
    for (const [marketSymbol, list] of this.working) {
      if (symbol !== undefined && marketSymbol !== symbol) continue;
      for (const simOrder of list) if (simOrder.accountId === accountId) out.push(simOrder.order);
    }
    return out;
  }

  async fetchOrder(accountId: string, orderId: string): Promise<Order | undefined> {
    const simOrder = this.orders.get(orderId);
    return simOrder && simOrder.accountId === accountId ? simOrder.order : undefined;
  }

  /** The sim emits everything it is fed; subscribing only checks the market exists. */
  async subscribe(subscription: Subscription): Promise<void> {
    this.requireMarket(subscription.symbol);
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    this.requireMarket(subscription.symbol);
  }

  async cancelOrder(request: CancelOrderRequest): Promise<Order> {
    this.requireAccount(request.account);
    let target: SimOrder | undefined;
    if (request.orderId !== undefined) target = this.orders.get(request.orderId);
    else if (request.clientOrderId !== undefined) {
      for (const simOrder of this.orders.values()) {
        if (simOrder.order.clientOrderId === request.clientOrderId && simOrder.accountId === request.account)
          target = simOrder;
      }
    }
    if (!target || target.accountId !== request.account || FINAL.has(target.order.status)) {
      throw new ExchangeError(
        'ORDER_NOT_FOUND',
        `no open order ${request.orderId ?? request.clientOrderId} on ${request.account}`,
        { exchange: this.id },
      );
    }
    this.finish(target, 'cancelled', this.clock.now(), 'CANCELLED_BY_USER');
    return target.order;
  }

  async cancelAllOrders(request: CancelAllRequest): Promise<number> {
    this.requireAccount(request.account);
    let count = 0;
    for (const [symbol, list] of this.working) {
      if (request.symbol !== undefined && symbol !== request.symbol) continue;
      for (const simOrder of [...list]) {
        if (simOrder.accountId !== request.account) continue;
        this.finish(simOrder, 'cancelled', this.clock.now(), 'CANCELLED_BY_USER');
        count += 1;
      }
    }
    return count;
  }

  /** Sets a mark without other effects (tests and simulators seeding a price). */
  setMark(symbol: string, mark: number): void {
    this.requireMarket(symbol).mark = mark;
  }
}
