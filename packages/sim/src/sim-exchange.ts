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
  /** Latest settlement applied (the start of the current accrual period). */
  lastFundingTime: number;
  /**
   * Settlements applied, by funding time (→ rate): the idempotency key is (venue, instrument,
   * funding time). Bounded: the oldest keys are pruned and everything at or before
   * `fundingFloor` counts as applied.
   */
  appliedFunding: Map<number, number>;
  fundingFloor: number;
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
  /** Cash in the collateral asset. Under cross margin it may go below zero while unrealized gains back it. */
  collateral: number;
  unsettledPnl: number;
  readonly positions: Map<string, SimPosition>;
  /** Client ids in use: kept while the order lives, then in a window of recent ids. */
  readonly clientOrderIds: RetiringMap<string, true>;
  /**
   * Running totals; equity = deposits − withdrawals + transfers in − transfers out + realized +
   * unrealized − fees + funding.
   */
  readonly totals: {
    deposits: number;
    withdrawals: number;
    transfersIn: number;
    transfersOut: number;
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
  /** Crossed the market when it went live: takes (at once, or at the next open). */
  marketable: boolean;
  /** Waits for a clock time (its acknowledgement or its expiry): counted in `timedOrders`. */
  timed: boolean;
  notional: number;
  fills: number;
}

export interface AccountTotals {
  readonly deposits: number;
  readonly withdrawals: number;
  /** Collateral received from a parent or sub-account. */
  readonly transfersIn: number;
  /** Collateral sent to a parent or sub-account. */
  readonly transfersOut: number;
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
 * Applied funding keys kept per market: at most this many. Past it, keys more than half as many
 * intervals before the latest settlement are forgotten (512 hourly settlements ≈ 21 days, 8-hourly
 * ≈ 171 days) and every time at or before that cutoff counts as applied.
 */
const RETAINED_FUNDING_TIMES = 1024;
/** Longest single clock wait for the order timer; longer waits are taken in steps. */
const MAX_TIMER_WAIT_MS = HOUR;

/**
 * The one simulated venue, used by backtests, paper trading and the venue wire-protocol simulators.
 *
 * It is fed market data (`processCandle`, `processOrderBook`, `processTicker`) and fills orders with
 * the run's fill model: `next-open` (candles), `book` (L2 depth) or `mark` (mark price with
 * size-based slippage). Accounts are cross-margined with initial and maintenance margin, funding is
 * settled at each market's own cadence, and an account whose equity falls below maintenance is
 * liquidated. Acknowledgements and expiries run on the injected clock, so they happen on time in
 * paper mode without market data. Everything random is drawn from a seeded generator.
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
  private readonly marketStates: SimMarket[] = [];
  private readonly marketList: Market[] = [];
  private readonly accountsById = new Map<string, SimAccount>();
  private readonly orders = new Map<string, SimOrder>();
  /** Live and pending (not yet acknowledged) orders, per symbol. */
  private readonly working = new Map<string, SimOrder[]>();
  /** Final orders, oldest first; only the newest `RETAINED_FINAL_ORDERS` stay queryable. */
  private readonly finalized: string[] = [];
  private finalizedHead = 0;
  private readonly random: () => number;
  private readonly candles: boolean;
  private sequence = 0;
  private fillSequence = 0;
  private workingCount = 0;
  /** Working orders waiting for a clock time (acknowledgement or expiry). */
  private timedOrders = 0;
  /** The one pending clock wait, for the earliest acknowledgement or expiry. */
  private timer: { readonly at: number; readonly controller: AbortController } | undefined;
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
    this.candles = this.options.fillModel === 'next-open';
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
      const state: SimMarket = {
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
        appliedFunding: new Map(),
        fundingFloor: Number.NEGATIVE_INFINITY,
        holders: 0,
        started: false,
        fundingMarks: undefined,
        fundingMarkIndex: 0,
      };
      this.markets.set(input.symbol, state);
      this.marketStates.push(state);
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
          transfersIn: 0,
          transfersOut: 0,
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
   * funding due by then (priced at the open) and fills orders waiting for the next open; within the
   * bar it fills resting limits the bar trades through and liquidates at the adverse extreme; at the
   * close the mark becomes the close. Emits the candle and a ticker at the close.
   */
  processCandle(symbol: string, candle: Candle, intervalMs: number): void {
    const state = this.requireMarket(symbol);
    const open = candle.timestamp;
    if (!state.started) this.start(state, open);
    if (state.mark === 0) state.mark = candle.open;
    this.settleFunding(state, open, candle.open, true);
    state.time = open;
    if (this.workingCount > 0) {
      // The open comes first: an account already under maintenance there (a gap) is liquidated at
      // the open before any order of this bar fills. (Without orders the extreme check below,
      // which covers the open, gives the same liquidation.)
      if (state.holders > 0) this.checkLiquidations(state, candle.open, candle.open, candle.open, open);
      this.processBarOrders(state, candle, open, open + intervalMs);
    }
    if (state.holders > 0) this.checkLiquidations(state, candle.low, candle.high, candle.open, open);
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
    this.advanceMark(state, ticker.timestamp, ticker.mark);
    if (ticker.index !== undefined) state.index = ticker.index;
    if (this.workingCount > 0) this.processWorking(state, ticker.timestamp);
    if (state.holders > 0) this.checkLiquidationsAtMark(state);
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
    this.advanceMark(state, book.timestamp, mid);
    state.book = {
      exchange: this.id,
      symbol: book.symbol,
      timestamp: book.timestamp,
      bids: book.bids,
      asks: book.asks,
      sequence: book.sequence,
    };
    state.consumed.clear();
    if (this.workingCount > 0) this.processWorking(state, book.timestamp);
    if (state.holders > 0) this.checkLiquidationsAtMark(state);
    this.events.emit('orderBook', state.book);
    this.emitTicker(state);
  }

  /**
   * A new mark at `time` (ticker and book models). Funding due before `time` settles at the mark
   * that held until now, funding due exactly at `time` at the new one: a settlement is priced at
   * the last mark at or before its time, whichever path (data, order, timer) settles it.
   */
  private advanceMark(state: SimMarket, time: number, mark: number): void {
    if (!state.started) this.start(state, time);
    if (state.mark > 0) this.settleFunding(state, time, state.mark, false);
    if (mark > 0) state.mark = mark;
    this.settleFunding(state, time, state.mark, true);
    state.time = time;
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
    state.seriesIndex = state.series.findIndex((point) => point.time >= state.time);
    if (state.seriesIndex < 0) state.seriesIndex = state.series.length;
    state.nextFundingTime = state.series[state.seriesIndex]?.time ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Brings the venue up to the clock without market data: settles funding due by now (ticker and
   * book models), acknowledges orders whose latency has passed and expires TTLs. The sim calls it
   * itself from a clock timer; drivers may call it to force the step.
   */
  advanceTime(now = this.clock.now()): void {
    if (!this.candles) this.settleAllFunding(now);
    if (this.workingCount === 0) return;
    for (const state of this.marketStates) this.processDue(state, now);
  }

  // ---------------------------------------------------------------- the order timer

  /** Makes sure the clock wakes the sim by `at` (the earliest acknowledgement or expiry). */
  private scheduleTimer(at: number): void {
    if (this.closed) return;
    if (this.timer && this.timer.at <= at) return;
    this.timer?.controller.abort();
    const controller = new AbortController();
    const timer = { at, controller };
    this.timer = timer;
    const wait = Math.min(Math.max(0, at - this.clock.now()), MAX_TIMER_WAIT_MS);
    void this.clock.sleep(wait, controller.signal).then(() => {
      if (controller.signal.aborted || this.timer !== timer) return;
      this.timer = undefined;
      this.onTimer();
    });
  }

  private cancelTimer(): void {
    this.timer?.controller.abort();
    this.timer = undefined;
  }

  private onTimer(): void {
    if (this.closed) return;
    try {
      this.advanceTime(this.clock.now());
    } catch (error) {
      this.events.emit(
        'error',
        new ExchangeError('UNEXPECTED', `sim timer failed: ${(error as Error).message}`, {
          exchange: this.id,
          cause: error,
        }),
      );
    }
    const next = this.nextDueTime();
    if (next !== undefined) this.scheduleTimer(next);
  }

  /** The earliest time a working order waits for (acknowledgement or expiry). */
  private nextDueTime(): number | undefined {
    if (this.timedOrders === 0) return undefined;
    let earliest: number | undefined;
    for (const list of this.working.values()) {
      for (const simOrder of list) {
        if (!simOrder.timed) continue;
        const due = this.dueTime(simOrder);
        if (earliest === undefined || due < earliest) earliest = due;
      }
    }
    return earliest;
  }

  private dueTime(simOrder: SimOrder): number {
    const expiresAt = simOrder.order.expiresAt ?? Number.POSITIVE_INFINITY;
    return simOrder.active ? expiresAt : Math.min(simOrder.activeAt, expiresAt);
  }

  private untime(simOrder: SimOrder): void {
    if (!simOrder.timed) return;
    simOrder.timed = false;
    this.timedOrders -= 1;
    if (this.timedOrders === 0) this.cancelTimer();
  }

  /** Acknowledgements and expiries due by `now` in one market, without new prices. */
  private processDue(state: SimMarket, now: number): void {
    const list = this.working.get(state.market.symbol) as SimOrder[];
    if (list.length === 0) return;
    for (const simOrder of [...list]) {
      if (FINAL.has(simOrder.order.status)) continue;
      const expiresAt = simOrder.order.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) {
        this.expire(simOrder);
        continue;
      }
      if (!simOrder.active && simOrder.activeAt <= now)
        this.activate(simOrder, this.candles ? simOrder.activeAt : now);
    }
  }

  // ---------------------------------------------------------------- funding

  private start(state: SimMarket, time: number): void {
    state.started = true;
    if (!state.series) {
      state.lastFundingTime = Math.floor(time / state.intervalMs) * state.intervalMs;
      // Data starting exactly on a funding time settles it (positions held into it pay).
      state.nextFundingTime = time % state.intervalMs === 0 ? time : state.lastFundingTime + state.intervalMs;
    }
  }

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

  /**
   * Settles the market's funding due up to `until` (inclusive or not) at `price`, unless a funding
   * mark series gives the mark at the settlement time. Returns whether any position was paid.
   */
  private settleFunding(state: SimMarket, until: number, price: number, inclusive: boolean): boolean {
    let paid = false;
    if (
      state.holders === 0 &&
      !state.series &&
      until - state.nextFundingTime > RETAINED_FUNDING_TIMES * state.intervalMs
    ) {
      // A long stretch with nobody to pay (the clock far ahead of the data): settlements older than
      // the kept window would be forgotten at once, so they are only marked as applied.
      const last = until - (RETAINED_FUNDING_TIMES / 2) * state.intervalMs;
      const skipped =
        state.nextFundingTime +
        Math.floor((last - state.nextFundingTime) / state.intervalMs) * state.intervalMs;
      state.fundingFloor = Math.max(state.fundingFloor, skipped);
      state.lastFundingTime = Math.max(state.lastFundingTime, skipped);
      state.nextFundingTime = skipped + state.intervalMs;
    }
    while (inclusive ? state.nextFundingTime <= until : state.nextFundingTime < until) {
      const time = state.nextFundingTime;
      let rate = state.fundingRate;
      if (state.series) {
        rate = (state.series[state.seriesIndex] as FundingPoint).rate;
        state.seriesIndex += 1;
        state.nextFundingTime = state.series[state.seriesIndex]?.time ?? Number.POSITIVE_INFINITY;
      } else {
        state.nextFundingTime = time + state.intervalMs;
      }
      const holders = state.holders;
      if (this.applyFundingAt(state, time, rate, this.fundingPrice(state, time) ?? price) && holders > 0)
        paid = true;
    }
    return paid;
  }

  /**
   * Settles every started market's funding due by `time` at its last mark (ticker and book models,
   * before an order or the timer changes positions), then liquidates accounts the payments pushed
   * under maintenance.
   */
  private settleAllFunding(time: number): void {
    let paid = false;
    for (const state of this.marketStates) {
      if (!state.started || state.mark <= 0 || state.nextFundingTime > time) continue;
      if (this.settleFunding(state, time, state.mark, true)) paid = true;
    }
    if (!paid) return;
    for (const state of this.marketStates) if (state.holders > 0) this.checkLiquidationsAtMark(state, time);
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
    // A settlement earlier than the cursor (applied out of order) searches from the start.
    while (state.fundingMarkIndex > 0 && (marks[state.fundingMarkIndex] as { time: number }).time > time)
      state.fundingMarkIndex -= 1;
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
   * (longs pay a positive rate). Idempotent by (venue, instrument, funding time): a time already
   * applied, in any order, is ignored. Returns whether it applied. Accounts the payment pushes
   * under maintenance are liquidated at the mark.
   */
  applyFunding(symbol: string, fundingTime: number, rate: number, price: number): boolean {
    const state = this.requireMarket(symbol);
    const holders = state.holders;
    if (!this.applyFundingAt(state, fundingTime, rate, price)) return false;
    if (holders > 0 && rate !== 0 && state.mark > 0) {
      for (const other of this.marketStates) if (other.holders > 0) this.checkLiquidationsAtMark(other);
    }
    return true;
  }

  private fundingApplied(state: SimMarket, time: number): boolean {
    return time <= state.fundingFloor || state.appliedFunding.has(time);
  }

  private recordFunding(state: SimMarket, time: number, rate: number): void {
    const applied = state.appliedFunding;
    applied.set(time, rate);
    if (time > state.lastFundingTime) state.lastFundingTime = time;
    if (applied.size <= RETAINED_FUNDING_TIMES) return;
    // Forget keys more than half the window of intervals before the latest settlement: they
    // count as applied from now on.
    const cutoff = state.lastFundingTime - (RETAINED_FUNDING_TIMES / 2) * state.intervalMs;
    for (const key of applied.keys()) if (key <= cutoff) applied.delete(key);
    let floor = cutoff;
    if (applied.size > RETAINED_FUNDING_TIMES / 2) {
      // Off-grid times crowd the window: keep only the newest half.
      const times = [...applied.keys()].sort((a, b) => a - b);
      const drop = times.length - RETAINED_FUNDING_TIMES / 2;
      for (let index = 0; index < drop; index += 1) applied.delete(times[index] as number);
      floor = Math.max(floor, times[drop - 1] as number);
    }
    state.fundingFloor = Math.max(state.fundingFloor, floor);
  }

  private applyFundingAt(state: SimMarket, fundingTime: number, rate: number, price: number): boolean {
    if (this.fundingApplied(state, fundingTime)) return false;
    this.recordFunding(state, fundingTime, rate);
    const symbol = state.market.symbol;
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
    for (const account of this.accountList) {
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

  /**
   * The price a taker gets for `quantity` against `reference` (the mark or the bar's open): worse
   * by the slippage model, rounded to the tick against the taker.
   */
  private takerPrice(state: SimMarket, side: Side, reference: number, quantity: number): number {
    const fraction = slippageFraction(this.options.slippage, reference * quantity);
    const price = side === 'buy' ? reference * (1 + fraction) : reference * (1 - fraction);
    return roundToStepNumber(price, state.market.tickSize, side === 'buy' ? 'ceil' : 'floor');
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
    const now = this.clock.now();
    // Funding due by now is settled before this order can change a position (its margin check sees
    // it too). Under candles orders fill only inside `processCandle`, after that bar's settlement.
    if (!this.candles) this.settleAllFunding(now);
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
    if (request.expiresAt !== undefined && !(Number.isFinite(request.expiresAt) && request.expiresAt > now)) {
      this.reject(
        'INVALID_EXPIRY',
        `expiresAt ${request.expiresAt} is not after the venue time ${now}: the order would be expired on arrival`,
      );
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
    if (timeInForce === 'post-only' && price !== undefined && this.crosses(state, request.side, price))
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
      timed: false,
      notional: 0,
      fills: 0,
    };
    this.orders.set(order.id, simOrder);
    (this.working.get(market.symbol) as SimOrder[]).push(simOrder);
    this.workingCount += 1;
    this.events.emit('order', order);
    if (latency <= 0) this.activate(simOrder, now);
    if (!FINAL.has(simOrder.order.status) && (!simOrder.active || order.expiresAt !== undefined)) {
      // Its acknowledgement or expiry happens on the clock, with or without market data.
      simOrder.timed = true;
      this.timedOrders += 1;
      this.scheduleTimer(this.dueTime(simOrder));
    }
    return simOrder.order;
  }

  /** Whether a limit at `price` would take liquidity now (the post-only test). */
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
    filling?: SimOrder,
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
    // The part of a resting order being filled turns its reserved margin into position margin:
    // it is not counted twice.
    let reserved = this.openOrderMargin(account);
    if (filling && filling.order.type === 'limit' && !filling.order.reduceOnly)
      reserved -= (Math.abs(delta) * (filling.order.price as number)) / filling.market.market.maxLeverage;
    initialMargin += Math.max(0, reserved);
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

  private openOrderMargin(account: SimAccount): number {
    if (this.workingCount === 0) return 0;
    let margin = 0;
    for (const list of this.working.values()) {
      for (const simOrder of list) {
        if (simOrder.accountId !== account.id || simOrder.order.reduceOnly || simOrder.order.type !== 'limit')
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

  /** Keeps a final order queryable while it is among the newest `RETAINED_FINAL_ORDERS`. */
  private retain(orderId: string): void {
    this.finalized.push(orderId);
    if (this.finalized.length - this.finalizedHead > RETAINED_FINAL_ORDERS) {
      this.orders.delete(this.finalized[this.finalizedHead] as string);
      this.finalizedHead += 1;
      if (this.finalizedHead > RETAINED_FINAL_ORDERS) {
        this.finalized.splice(0, this.finalizedHead);
        this.finalizedHead = 0;
      }
    }
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
    this.untime(simOrder);
    const order = this.update(simOrder, reason === undefined ? { status } : { status, reason }, at);
    if (order.clientOrderId !== undefined)
      (this.accountsById.get(simOrder.accountId) as SimAccount).clientOrderIds.retire(order.clientOrderId);
    this.retain(order.id);
    this.events.emit('order', order);
    this.emitAccount(simOrder.accountId);
  }

  /** Expires an order at its own `expiresAt`. */
  private expire(simOrder: SimOrder): void {
    this.finish(simOrder, 'expired', simOrder.order.expiresAt as number, 'TTL_EXPIRED');
  }

  /** IOC and FOK never rest: what did not fill when they were decided is cancelled. */
  private cancelUnfilled(simOrder: SimOrder, at: number): void {
    const order = simOrder.order;
    const reason =
      order.timeInForce === 'fok'
        ? 'FOK_NOT_FILLED'
        : order.filledQuantity > 0
          ? 'IOC_REMAINDER_CANCELLED'
          : 'IOC_NOT_FILLED';
    this.finish(simOrder, 'cancelled', at, reason);
  }

  /** The order goes live: taker parts execute now (or at the next open), the rest rests. */
  private activate(simOrder: SimOrder, now: number): void {
    simOrder.active = true;
    if (simOrder.order.expiresAt === undefined) this.untime(simOrder);
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
    if (this.candles) {
      // Decided now, filled at the next bar's open (or resting until a bar trades through).
      return;
    }
    if (simOrder.marketable) this.takeNow(simOrder, now);
    if (!FINAL.has(simOrder.order.status) && (order.timeInForce === 'ioc' || order.timeInForce === 'fok'))
      this.cancelUnfilled(simOrder, now);
  }

  /**
   * Whether a FOK can fill `quantity` in full as far as its reduce-only flag goes. When it cannot,
   * the order is cancelled (no fill) and this returns false.
   */
  private fokReduceOnlyFits(simOrder: SimOrder, quantity: number, at: number): boolean {
    const order = simOrder.order;
    if (!order.reduceOnly) return true;
    const account = this.accountsById.get(simOrder.accountId) as SimAccount;
    const position = account.positions.get(order.symbol)?.quantity ?? 0;
    const direction = order.side === 'buy' ? 1 : -1;
    if (position === 0 || Math.sign(position) === direction) {
      this.finish(simOrder, 'cancelled', at, 'REDUCE_ONLY_WOULD_INCREASE');
      return false;
    }
    if (Math.abs(position) + EPSILON < quantity) {
      this.finish(simOrder, 'cancelled', at, 'FOK_NOT_FILLED');
      return false;
    }
    return true;
  }

  /**
   * Executes the taker part of an order now, under the mark or book model. A limit takes only at
   * prices within its limit: in the mark model the whole size at the slipped mark or nothing.
   */
  private takeNow(simOrder: SimOrder, now: number): void {
    const { order, market: state } = simOrder;
    const remaining = order.quantity - order.filledQuantity;
    if (this.options.fillModel === 'book') {
      this.walkBook(simOrder, remaining, now);
      return;
    }
    const reference = state.mark;
    const price = this.takerPrice(state, order.side, reference, remaining);
    if (order.price !== undefined && (order.side === 'buy' ? price > order.price : price < order.price)) {
      // The slipped price is beyond the limit: it does not take. A GTC rests at its price.
      simOrder.marketable = false;
      return;
    }
    if (order.timeInForce === 'fok' && !this.fokReduceOnlyFits(simOrder, remaining, now)) return;
    this.fill(simOrder, remaining, price, 'taker', reference, now);
  }

  /**
   * Book model: walks the opposite levels within the limit, best first, one fill per level. A
   * level holding less than a lot (net of what we took) is skipped. A FOK is checked for depth,
   * reduce-only size and margin over its whole size before anything fills.
   */
  private walkBook(simOrder: SimOrder, remaining: number, now: number): void {
    const { order, market: state } = simOrder;
    const levels = this.takeableLevels(state, order.side, order.price);
    const mid = this.bookMid(state);
    if (order.timeInForce === 'fok') {
      if (!this.fokReduceOnlyFits(simOrder, remaining, now)) return;
      const plan: [number, number][] = [];
      let left = remaining;
      let notional = 0;
      for (const [price, quantity] of levels) {
        if (left <= EPSILON) break;
        const take = this.lotFloor(state, Math.min(left, quantity));
        if (take <= 0) continue;
        plan.push([price, take]);
        notional += price * take;
        left = this.snap(state, left - take);
      }
      if (left > EPSILON) {
        this.finish(simOrder, 'cancelled', now, 'FOK_NOT_FILLED');
        return;
      }
      if (!order.reduceOnly) {
        const account = this.accountsById.get(simOrder.accountId) as SimAccount;
        const direction = order.side === 'buy' ? 1 : -1;
        const problem = this.marginProblem(
          account,
          state,
          direction * remaining,
          notional / remaining,
          simOrder,
        );
        if (problem) {
          this.finish(simOrder, 'cancelled', now, problem.reason);
          return;
        }
      }
      // Checked as a whole above; the fills are its parts.
      for (const [price, take] of plan) {
        const filled = this.fill(simOrder, take, price, 'taker', mid, now, false);
        state.consumed.set(price, (state.consumed.get(price) ?? 0) + filled);
      }
      return;
    }
    let left = remaining;
    for (const [price, quantity] of levels) {
      if (left <= EPSILON || FINAL.has(simOrder.order.status)) break;
      const take = this.lotFloor(state, Math.min(left, quantity));
      if (take <= 0) continue;
      const filled = this.fill(simOrder, take, price, 'taker', mid, now);
      if (filled <= 0) break;
      state.consumed.set(price, (state.consumed.get(price) ?? 0) + filled);
      left = this.snap(state, left - filled);
    }
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

  /**
   * Orders of a market on a new bar [open, close), in the bar's time order: first everything that
   * happens at the open (expiries, acknowledgements, orders decided before the bar taking at its
   * open), then what happens inside the bar (resting limits it trades through, expiries).
   * Intra-bar assumption: the path inside the bar is unknown, so an order fills from a
   * trade-through only when it was live for the whole bar (acknowledged by the open, not expiring
   * before the close); an order expiring inside the bar expires unfilled at its time.
   */
  private processBarOrders(state: SimMarket, candle: Candle, open: number, close: number): void {
    const list = this.working.get(state.market.symbol) as SimOrder[];
    if (list.length === 0) return;
    const orders = [...list];
    for (const simOrder of orders) {
      if (FINAL.has(simOrder.order.status)) continue;
      const expiresAt = simOrder.order.expiresAt;
      if (expiresAt !== undefined && expiresAt <= open) {
        this.expire(simOrder);
        continue;
      }
      if (!simOrder.active) {
        if (simOrder.activeAt > open) continue; // not live at the open: nothing of this bar fills it
        this.activate(simOrder, simOrder.activeAt);
        if (FINAL.has(simOrder.order.status)) continue;
      }
      const { order } = simOrder;
      const immediate = order.timeInForce === 'ioc' || order.timeInForce === 'fok';
      if (!immediate && !simOrder.marketable) continue;
      // Decided before this bar: takes at its open, and only within its limit.
      simOrder.marketable = false;
      const remaining = order.quantity - order.filledQuantity;
      const price = this.takerPrice(state, order.side, candle.open, remaining);
      const limit = order.price;
      if (limit === undefined || (order.side === 'buy' ? price <= limit : price >= limit)) {
        if (order.timeInForce === 'fok' && !this.fokReduceOnlyFits(simOrder, remaining, open)) continue;
        this.fill(simOrder, remaining, price, 'taker', candle.open, open);
      }
      // IOC and FOK never rest. A GTC whose taker price at the open is beyond its limit rests at
      // its price from here on.
      if (immediate && !FINAL.has(simOrder.order.status)) this.cancelUnfilled(simOrder, open);
    }
    for (const simOrder of orders) {
      if (FINAL.has(simOrder.order.status)) continue;
      const { order } = simOrder;
      const expiresAt = order.expiresAt;
      if (simOrder.active && order.type === 'limit' && order.price !== undefined) {
        if (expiresAt !== undefined && expiresAt < close) {
          this.expire(simOrder);
          continue;
        }
        // Trade-through: the bar must go strictly beyond the limit; touching is not enough.
        const through = order.side === 'buy' ? candle.low < order.price : candle.high > order.price;
        if (through)
          this.fill(simOrder, order.quantity - order.filledQuantity, order.price, 'maker', order.price, open);
      }
      if (!FINAL.has(simOrder.order.status) && expiresAt !== undefined && expiresAt <= close)
        this.expire(simOrder);
    }
  }

  /** Orders of a market on a tick or book update. */
  private processWorking(state: SimMarket, now: number): void {
    const list = this.working.get(state.market.symbol) as SimOrder[];
    if (list.length === 0) return;
    for (const simOrder of [...list]) {
      if (FINAL.has(simOrder.order.status)) continue;
      if (simOrder.order.expiresAt !== undefined && simOrder.order.expiresAt <= now) {
        this.expire(simOrder);
        continue;
      }
      if (!simOrder.active) {
        if (simOrder.activeAt <= now) this.activate(simOrder, now);
        continue;
      }
      if (this.candles) continue;
      const { order } = simOrder;
      if (order.type !== 'limit' || order.price === undefined) continue;
      if (this.options.fillModel === 'book') {
        const levels = this.takeableLevels(state, order.side, order.price);
        let left = order.quantity - order.filledQuantity;
        for (const [price, quantity] of levels) {
          if (left <= EPSILON || FINAL.has(simOrder.order.status)) break;
          const take = this.lotFloor(state, Math.min(left, quantity));
          if (take <= 0) continue;
          const filled = this.fill(simOrder, take, order.price, 'maker', order.price, now);
          if (filled <= 0) break;
          state.consumed.set(price, (state.consumed.get(price) ?? 0) + filled);
          left = this.snap(state, left - filled);
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
   * increases that would break margin cancel the rest (unless the caller checked the whole order).
   * Returns the quantity filled.
   */
  private fill(
    simOrder: SimOrder,
    wanted: number,
    price: number,
    liquidity: Liquidity,
    reference: number,
    at: number,
    checkMargin = true,
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
    } else if (checkMargin) {
      const problem = this.marginProblem(account, state, direction * quantity, price, simOrder);
      if (problem) {
        this.finish(simOrder, 'cancelled', at, problem.reason);
        return 0;
      }
    }
    const fee = quantity * price * this.feeRate(account, state, liquidity);
    this.applyTrade(account, state, direction * quantity, price, fee, at, false);

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
    } else if (order.timeInForce !== 'fok') {
      // A FOK, checked whole before its first part, is reported open and then filled.
      this.events.emit('order', simOrder.order);
    }
    this.emitPosition(account, symbol, at);
    this.emitAccount(account.id);
    return quantity;
  }

  /**
   * Books a trade on an account: position, realized PnL, fee. Returns the realized PnL. Normal
   * trades settle PnL per `pnlSettlement` and report fee and PnL as balance changes; a liquidation
   * settles its PnL at once and its caller reports one `liquidation` change.
   */
  private applyTrade(
    account: SimAccount,
    state: SimMarket,
    signed: number,
    price: number,
    fee: number,
    at: number,
    liquidation: boolean,
  ): number {
    const symbol = state.market.symbol;
    let position = account.positions.get(symbol);
    if (!position) {
      position = { quantity: 0, entryPrice: 0, realizedPnl: 0, fundingSettled: 0, openedAt: at };
      account.positions.set(symbol, position);
    }
    const before = position.quantity;
    account.collateral -= fee;
    account.totals.fees += fee;
    if (!liquidation) this.emitBalance(account, at, -fee, 'fee');
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
      return 0;
    }
    const closing = Math.min(Math.abs(signed), Math.abs(before));
    const pnl = (price - position.entryPrice) * closing * Math.sign(before);
    position.realizedPnl += pnl;
    account.totals.realizedPnl += pnl;
    if (liquidation || this.options.pnlSettlement === 'immediate') {
      account.collateral += pnl;
      if (!liquidation) this.emitBalance(account, at, pnl, 'realized-pnl');
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
    return pnl;
  }

  private snap(state: SimMarket, quantity: number): number {
    return roundToStepNumber(quantity, state.market.lotSize, 'nearest');
  }

  // ---------------------------------------------------------------- margin, liquidation

  private unrealizedOf(account: SimAccount): number {
    let total = 0;
    for (const [symbol, position] of account.positions) {
      if (position.quantity === 0) continue;
      total += ((this.markets.get(symbol) as SimMarket).mark - position.entryPrice) * position.quantity;
    }
    return total;
  }

  private equityOf(account: SimAccount): number {
    return account.collateral + account.unsettledPnl + this.unrealizedOf(account);
  }

  private maintenanceOf(account: SimAccount): number {
    let total = 0;
    for (const [symbol, position] of account.positions) {
      if (position.quantity === 0) continue;
      const state = this.markets.get(symbol) as SimMarket;
      total += Math.abs(position.quantity) * state.mark * state.maintenanceMarginRate;
    }
    return total;
  }

  /** Equity minus maintenance margin with one market priced at `price` instead of its mark. */
  private marginExcessAt(account: SimAccount, symbol: string, price: number): number {
    let excess = account.collateral + account.unsettledPnl;
    for (const [other, position] of account.positions) {
      if (position.quantity === 0) continue;
      const state = this.markets.get(other) as SimMarket;
      const mark = other === symbol ? price : state.mark;
      excess +=
        (mark - position.entryPrice) * position.quantity -
        Math.abs(position.quantity) * mark * state.maintenanceMarginRate;
    }
    return excess;
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

  /**
   * Liquidates accounts holding this market whose equity is under maintenance at the adverse price
   * for their position (`low` for longs, `high` for shorts: a bar's extremes, or the mark twice).
   * The close executes at the liquidation price, or at `reference` (the bar's open, the mark) when
   * that is already beyond it.
   */
  private checkLiquidations(
    state: SimMarket,
    low: number,
    high: number,
    reference: number,
    at: number,
  ): void {
    const symbol = state.market.symbol;
    for (const account of this.accountList) {
      const position = account.positions.get(symbol);
      if (!position || position.quantity === 0) continue;
      const adverse = position.quantity > 0 ? low : high;
      if (this.marginExcessAt(account, symbol, adverse) >= 0) continue;
      const liquidationPrice = this.liquidationPrice(account.id, symbol) ?? adverse;
      const price =
        position.quantity > 0 ? Math.min(liquidationPrice, reference) : Math.max(liquidationPrice, reference);
      // On the tick, against the account.
      const rounded = roundToStepNumber(
        price,
        state.market.tickSize,
        position.quantity > 0 ? 'floor' : 'ceil',
      );
      this.liquidate(account, rounded, symbol, at);
    }
  }

  private checkLiquidationsAtMark(state: SimMarket, at = state.time): void {
    this.checkLiquidations(state, state.mark, state.mark, state.mark, at);
  }

  /**
   * Closes every position of the account (the triggering one at `price`, others at their marks),
   * charging the liquidation fee. The realized PnL settles into collateral at once, in either
   * settlement mode; each close is one `liquidation` balance change of PnL − fee.
   */
  private liquidate(account: SimAccount, price: number, triggerSymbol: string, at: number): void {
    if (!this.candles) {
      // Every position closes here: funding other markets owe by now is settled first.
      for (const other of this.marketStates)
        if (other.started && other.mark > 0 && other.nextFundingTime <= at)
          this.settleFunding(other, at, other.mark, true);
    }
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
      this.orders.set(order.id, {
        order,
        accountId: account.id,
        market: state,
        activeAt: at,
        active: true,
        marketable: true,
        timed: false,
        notional: quantity * executionPrice,
        fills: 1,
      });
      this.retain(order.id);
      const pnl = this.applyTrade(
        account,
        state,
        position.quantity > 0 ? -quantity : quantity,
        executionPrice,
        fee,
        at,
        true,
      );
      this.emitBalance(account, at, pnl - fee, 'liquidation');
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
        slippage: 0,
        reduceOnly: true,
      });
      this.events.emit('order', order);
      this.emitPosition(account, symbol, at);
    }
    this.emitAccount(account.id);
  }

  // ---------------------------------------------------------------- capital

  private requireCollateralAsset(asset: string, what: string): void {
    if (asset !== this.options.collateralAsset)
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `${what} asset "${asset}" is not supported: ${this.id} is a single-collateral venue holding ${this.options.collateralAsset}`,
        { exchange: this.id },
      );
  }

  private requireAmount(amount: number, what: string): void {
    if (!(amount > 0) || !Number.isFinite(amount))
      throw new ExchangeError('INVALID_ARGUMENT', `${what} amount must be positive (got ${amount})`, {
        exchange: this.id,
      });
  }

  /** What an account can release: free collateral, and never more cash than it holds. */
  private requireReleasable(account: SimAccount, amount: number, what: string): void {
    // Funding already due is part of what the account holds now.
    if (!this.candles) this.settleAllFunding(this.clock.now());
    const free = this.snapshot(account).freeCollateral;
    if (amount > free + EPSILON || amount > account.collateral + EPSILON) {
      throw new ExchangeError(
        'INSUFFICIENT_FUNDS',
        `cannot ${what} ${amount} from ${account.id}: free collateral is ${free.toFixed(6)}, cash ${account.collateral.toFixed(6)}`,
        { exchange: this.id },
      );
    }
  }

  async deposit(accountId: string, asset: string, amount: number): Promise<void> {
    const account = this.requireAccount(accountId);
    this.requireCollateralAsset(asset, 'deposit');
    this.requireAmount(amount, 'deposit');
    account.collateral += amount;
    account.totals.deposits += amount;
    this.emitBalance(account, this.clock.now(), amount, 'deposit');
    this.emitAccount(accountId);
  }

  /** Withdraws up to the free collateral (and the cash held); more is `INSUFFICIENT_FUNDS`. */
  async withdraw(accountId: string, asset: string, amount: number): Promise<void> {
    const account = this.requireAccount(accountId);
    this.requireCollateralAsset(asset, 'withdrawal');
    this.requireAmount(amount, 'withdrawal');
    this.requireReleasable(account, amount, 'withdraw');
    account.collateral -= amount;
    account.totals.withdrawals += amount;
    this.emitBalance(account, this.clock.now(), -amount, 'withdrawal');
    this.emitAccount(accountId);
  }

  /**
   * Moves collateral between an account and its sub-account (either way). It is not a deposit or a
   * withdrawal: the totals count it as transfers out and in, and both accounts get a `transfer`
   * balance change. The source releases at most its free collateral.
   */
  async transfer(
    fromId: string,
    toId: string,
    amount: number,
    asset: string = this.options.collateralAsset,
  ): Promise<void> {
    const from = this.requireAccount(fromId);
    const to = this.requireAccount(toId);
    this.requireCollateralAsset(asset, 'transfer');
    this.requireAmount(amount, 'transfer');
    if (from.parent !== to.id && to.parent !== from.id)
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `transfer from ${fromId} to ${toId}: transfers go between an account and its sub-account`,
        { exchange: this.id },
      );
    this.requireReleasable(from, amount, 'transfer');
    const now = this.clock.now();
    from.collateral -= amount;
    from.totals.transfersOut += amount;
    to.collateral += amount;
    to.totals.transfersIn += amount;
    this.emitBalance(from, now, -amount, 'transfer');
    this.emitBalance(to, now, amount, 'transfer');
    this.emitAccount(fromId);
    this.emitAccount(toId);
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

  /** The parent of a sub-account, if it is one. */
  parentOf(accountId: string): string | undefined {
    return this.requireAccount(accountId).parent;
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
    marginUsed += this.openOrderMargin(account);
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
      balances: [
        {
          asset: this.options.collateralAsset,
          total: account.collateral,
          free: Math.max(0, Math.min(freeCollateral, account.collateral)),
        },
      ],
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

  private emitBalance(account: SimAccount, at: number, amount: number, kind: BalanceChange['kind']): void {
    if (this.events.listenerCount('balance') === 0) return;
    this.events.emit('balance', {
      exchange: this.id,
      account: account.id,
      timestamp: at,
      asset: this.options.collateralAsset,
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
    this.cancelTimer();
  }

  accounts(): readonly string[] {
    return [...this.accountsById.keys()];
  }

  async fetchMarkets(): Promise<readonly Market[]> {
    return this.marketList;
  }

  private emitTicker(state: SimMarket): void {
    this.events.emit('ticker', this.tickerOf(state));
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

  /**
   * Past funding rates, oldest first: every settlement applied (constant rate, series or
   * `applyFunding`, within the retained window) and the loaded series' points up to the market's
   * current time.
   */
  async fetchFundingHistory(request: FundingHistoryRequest): Promise<readonly FundingRate[]> {
    const state = this.requireMarket(request.symbol);
    const from = request.from ?? Number.NEGATIVE_INFINITY;
    const to = request.to ?? Number.POSITIVE_INFINITY;
    const byTime = new Map<number, number>();
    for (const point of state.series ?? []) {
      if (point.time > state.time) break;
      byTime.set(point.time, point.rate);
    }
    for (const [time, rate] of state.appliedFunding) byTime.set(time, rate);
    const times = [...byTime.keys()].filter((time) => time >= from && time <= to).sort((a, b) => a - b);
    const limited = request.limit === undefined ? times : times.slice(-request.limit);
    return limited.map((time) =>
      fundingRate({
        exchange: this.id,
        symbol: request.symbol,
        timestamp: time,
        rate: byTime.get(time) as number,
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

  // ---------------------------------------------------------------- persistence

  /**
   * The venue's books as JSON-serializable data: accounts (cash, unsettled PnL, positions, totals,
   * client ids in use), working orders, and per market the mark, the funding clock and the funding
   * times already applied. Order books, funding series and mark series are not included: they are
   * market data, fed again after a restart. Final orders are not kept.
   */
  exportState(): SimState {
    return {
      version: 1,
      sequence: this.sequence,
      fillSequence: this.fillSequence,
      markets: this.marketStates.map((state) => ({
        symbol: state.market.symbol,
        mark: state.mark,
        index: state.index,
        time: state.time,
        started: state.started,
        fundingRate: state.fundingRate,
        nextFundingTime: Number.isFinite(state.nextFundingTime) ? state.nextFundingTime : null,
        lastFundingTime: state.lastFundingTime,
        appliedFunding: [...state.appliedFunding.entries()],
        fundingFloor: Number.isFinite(state.fundingFloor) ? state.fundingFloor : null,
      })),
      accounts: this.accountList.map((account) => ({
        id: account.id,
        collateral: account.collateral,
        unsettledPnl: account.unsettledPnl,
        totals: { ...account.totals },
        positions: [...account.positions.entries()].map(([symbol, position]) => ({ symbol, ...position })),
        clientOrderIds: [...account.clientOrderIds.liveEntries()].map(([id]) => id),
      })),
      orders: [...this.working.values()].flat().map((simOrder) => ({
        order: simOrder.order,
        accountId: simOrder.accountId,
        activeAt: simOrder.activeAt,
        active: simOrder.active,
        marketable: simOrder.marketable,
        notional: simOrder.notional,
        fills: simOrder.fills,
      })),
    };
  }

  /**
   * Restores books saved by `exportState` into a fresh instance built with the same markets and
   * accounts (before any data or order). Markets and accounts the options no longer have are
   * refused, naming them: the restart must not silently drop a position.
   */
  importState(saved: unknown): void {
    const state = saved as SimState;
    if (!state || state.version !== 1)
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `sim ${this.id}: unknown saved state (version ${String((saved as { version?: unknown })?.version)})`,
      );
    if (this.orders.size > 0 || this.openPositions > 0)
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `sim ${this.id}: state can only be restored into a fresh venue`,
      );
    const missingMarkets = state.markets
      .map((market) => market.symbol)
      .filter((symbol) => !this.markets.has(symbol));
    const missingAccounts = state.accounts
      .map((account) => account.id)
      .filter((id) => !this.accountsById.has(id));
    const heldOrphans = state.accounts.flatMap((account) =>
      account.positions
        .filter((position) => !this.markets.has(position.symbol))
        .map((position) => `${account.id}/${position.symbol}`),
    );
    if (missingAccounts.length > 0 || heldOrphans.length > 0)
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `sim ${this.id}: the saved state holds ${[
          ...missingAccounts.map((id) => `account ${id}`),
          ...heldOrphans.map((key) => `a position in ${key}`),
        ].join(', ')}, which the options no longer have`,
      );
    this.sequence = state.sequence;
    this.fillSequence = state.fillSequence;
    for (const saved of state.markets) {
      const market = this.markets.get(saved.symbol);
      if (!market) continue; // a market with no position or order that was dropped from the options
      market.mark = saved.mark;
      market.index = saved.index;
      market.time = saved.time;
      market.started = saved.started;
      market.fundingRate = saved.fundingRate;
      market.nextFundingTime = saved.nextFundingTime ?? Number.POSITIVE_INFINITY;
      market.lastFundingTime = saved.lastFundingTime;
      market.appliedFunding = new Map(saved.appliedFunding);
      market.fundingFloor = saved.fundingFloor ?? Number.NEGATIVE_INFINITY;
    }
    for (const saved of state.accounts) {
      const account = this.accountsById.get(saved.id) as SimAccount;
      account.collateral = saved.collateral;
      account.unsettledPnl = saved.unsettledPnl;
      Object.assign(account.totals, saved.totals);
      for (const { symbol, ...position } of saved.positions) {
        account.positions.set(symbol, { ...position });
        if (position.quantity !== 0) {
          (this.markets.get(symbol) as SimMarket).holders += 1;
          this.openPositions += 1;
        }
      }
      for (const id of saved.clientOrderIds) account.clientOrderIds.set(id, true);
    }
    let earliestDue: number | undefined;
    for (const saved of state.orders) {
      const market = this.markets.get(saved.order.symbol);
      if (!market || !this.accountsById.has(saved.accountId)) continue;
      const simOrder: SimOrder = {
        order: saved.order,
        accountId: saved.accountId,
        market,
        activeAt: saved.activeAt,
        active: saved.active,
        marketable: saved.marketable,
        timed: false,
        notional: saved.notional,
        fills: saved.fills,
      };
      this.orders.set(saved.order.id, simOrder);
      (this.working.get(saved.order.symbol) as SimOrder[]).push(simOrder);
      this.workingCount += 1;
      if (!simOrder.active || saved.order.expiresAt !== undefined) {
        simOrder.timed = true;
        this.timedOrders += 1;
        const due = this.dueTime(simOrder);
        if (earliestDue === undefined || due < earliestDue) earliestDue = due;
      }
    }
    if (earliestDue !== undefined) this.scheduleTimer(earliestDue);
  }
}

/** What `SimExchange.exportState` saves (JSON). */
export interface SimState {
  readonly version: 1;
  readonly sequence: number;
  readonly fillSequence: number;
  readonly markets: readonly {
    readonly symbol: string;
    readonly mark: number;
    readonly index: number | undefined;
    readonly time: number;
    readonly started: boolean;
    readonly fundingRate: number;
    readonly nextFundingTime: number | null;
    readonly lastFundingTime: number;
    readonly appliedFunding: readonly (readonly [number, number])[];
    readonly fundingFloor: number | null;
  }[];
  readonly accounts: readonly {
    readonly id: string;
    readonly collateral: number;
    readonly unsettledPnl: number;
    readonly totals: AccountTotals;
    readonly positions: readonly ({ readonly symbol: string } & SimPosition)[];
    readonly clientOrderIds: readonly string[];
  }[];
  readonly orders: readonly {
    readonly order: Order;
    readonly accountId: string;
    readonly activeAt: number;
    readonly active: boolean;
    readonly marketable: boolean;
    readonly notional: number;
    readonly fills: number;
  }[];
}
