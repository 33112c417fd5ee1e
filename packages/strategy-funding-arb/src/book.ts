import {
  type AccountSnapshot,
  BoundedSet,
  type Fill,
  type FundingPayment,
  type Logger,
  type Order,
  type OrderStatus,
  type PluginMemory,
  type Side,
  type SignalInput,
  type StateView,
  type Urgency,
} from '@perpkit/core';
import {
  applyFill,
  applyOrderReport,
  isFinal,
  legTraded,
  type PairMarks,
  pairPnl,
  reconcileReadback,
} from './accounting';
import { bookMid } from './depth';
import { accrualStart } from './funding';
import type { FundingArbOptions } from './options';
import type {
  EntryEstimate,
  ExecutionStep,
  ExitRecord,
  LegName,
  LegRef,
  OrderPurpose,
  OrderRecord,
  PairPnl,
  PairState,
  PairSummary,
} from './types';

const HOUR_MS = 3_600_000;
const MEMORY_KEY = 'book';
const MEMORY_VERSION = 1;
const LEGS = ['long', 'short'] as const;
/**
 * How long a venue's account view may go on showing a leg the fills closed before it is an error.
 * Views lag fills: a REST read after the fills (Lighter), an account poll (`engine.accountRefresh`).
 */
export const VENUE_VIEW_GRACE_MS = 30_000;

/** Reads a leg's account snapshot (possibly from a per-cycle cache). */
export type AccountReader = (ref: LegRef) => AccountSnapshot | undefined;

/** What travels on every signal of a pair, so order events find their way back. */
export interface PairSignalMetadata {
  readonly pairId: string;
  readonly leg: LegName;
  readonly purpose: OrderPurpose;
}

interface SavedBook {
  readonly version: number;
  readonly sequence: number;
  readonly pairs: readonly PairState[];
  readonly history: readonly PairSummary[];
  readonly cooldowns: Readonly<Record<string, number>>;
}

export interface BookContext {
  readonly id: string;
  readonly state: StateView;
  readonly logger: Logger;
  readonly memory: PluginMemory;
  readonly options: FundingArbOptions;
}

/** An order event for an order id no record claims yet (its submission is not acknowledged). */
interface Unclaimed {
  readonly pairId: string;
  readonly fills: Fill[];
  report?: Order;
}

export function legKey(ref: LegRef): string {
  return `${ref.exchange}\u0000${ref.account}\u0000${ref.symbol}`;
}

/** The signed position the engine holds for a leg (the venue's, through its fills and reconciliation). */
export function legPosition(state: StateView, ref: LegRef): number {
  return state.position(ref.exchange, ref.symbol, ref.account)?.quantity ?? 0;
}

function lotOf(state: StateView, ref: LegRef): number {
  return Number(state.market(ref.exchange, ref.symbol)?.lotSize ?? 0);
}

/**
 * The pairs: their state machines (paired entry, coordinated close, unwind, rebalance), their
 * orders and fills, their funding, and their durable record in plugin memory.
 *
 * Every change of a pair is written to memory at once, as one value holding the whole book, so a
 * status change (OPEN → CLOSING → CLOSED) is atomic and a restart resumes a CLOSING pair where it
 * was: verifying positions, reading back, finalizing. No order is sent for a pair while an earlier
 * one of its orders is unresolved, so a repeated close request never doubles an order.
 */
export class PairBook {
  private readonly live = new Map<string, PairState>();
  private history: PairSummary[] = [];
  private cooldowns: Record<string, number> = {};
  private sequence = 0;
  /** Signals sent per pair whose outcome (submitted, failed, denied) has not arrived. */
  private readonly awaiting = new Map<string, number>();
  /** Rejections and denials of the pair's signals in its current step. */
  private readonly refusals = new Map<string, string[]>();
  private readonly orderToPair = new Map<string, string>();
  private readonly legToPair = new Map<string, string>();
  private readonly unclaimed = new Map<string, Unclaimed>();
  /** Orders of pairs that ended: their late reports must not land on a newer pair of the same legs. */
  private readonly retired = new BoundedSet<string>(10_000);
  /** Pairs whose ledger and venue disagree at finalization: since when, and whether it was logged. */
  private readonly divergent = new Map<string, { since: number; logged: boolean }>();
  /** Every pair that ended in this process (the durable history keeps the newest `historyLimit`). */
  readonly finishedAll: PairSummary[] = [];

  constructor(private readonly context: BookContext) {
    const saved = context.memory.get<SavedBook>(MEMORY_KEY);
    if (saved && saved.version === MEMORY_VERSION) {
      this.sequence = saved.sequence;
      this.history = [...saved.history];
      this.cooldowns = { ...saved.cooldowns };
      for (const pair of saved.pairs) this.track(pair);
    }
  }

  // ---------------------------------------------------------------- reading

  livePairs(): readonly PairState[] {
    return [...this.live.values()];
  }

  get(pairId: string): PairState | undefined {
    return this.live.get(pairId);
  }

  closed(): readonly PairSummary[] {
    return this.history;
  }

  hasAsset(asset: string): boolean {
    for (const pair of this.live.values()) if (pair.asset === asset) return true;
    return false;
  }

  coolingDown(asset: string, now: number): boolean {
    return (this.cooldowns[asset] ?? Number.NEGATIVE_INFINITY) > now;
  }

  /**
   * True while the pair has a signal in flight, an order not yet final, or anyone's order pending
   * on one of its legs (a monitor's, the operator's): one decision at a time.
   */
  busy(pair: PairState): boolean {
    if ((this.awaiting.get(pair.id) ?? 0) > 0) return true;
    if (this.working(pair).length > 0) return true;
    const { state } = this.context;
    for (const name of LEGS) {
      const ref = pair[name].ref;
      if (state.hasPendingOrder(ref.exchange, ref.symbol, ref.account)) return true;
    }
    return false;
  }

  /** The pair's own orders not yet final (orders of others on its legs are not waited for). */
  private working(pair: PairState): OrderRecord[] {
    return pair.orders.filter((record) => record.purpose !== 'external' && !isFinal(record));
  }

  marks(pair: PairState, accountOf: AccountReader = this.readAccount): PairMarks {
    const { state } = this.context;
    const mark = (ref: LegRef) => state.referencePrice(ref.exchange, ref.symbol) ?? 0;
    return {
      long: mark(pair.long.ref),
      short: mark(pair.short.ref),
      longAccrued: this.accrued(pair.long.ref, accountOf),
      shortAccrued: this.accrued(pair.short.ref, accountOf),
    };
  }

  private readonly readAccount: AccountReader = (ref) =>
    this.context.state.account(ref.exchange, ref.account);

  /**
   * The pair's money now: fills, open legs at the mark, funding collected and accrued. Callers
   * valuing many pairs at once pass a reader that caches account snapshots.
   */
  pnl(pair: PairState, accountOf: AccountReader = this.readAccount): PairPnl {
    return pairPnl(pair, 'local', this.marks(pair, accountOf));
  }

  /**
   * Funding accrued on a leg for the running period, not yet settled: the venue's estimate when it
   * gives one (account snapshot, then the engine's position), else the current rate over the time
   * since the period began. A settlement moves it into the collected funding and restarts it, so it
   * is never counted twice.
   */
  accrued(ref: LegRef, accountOf: AccountReader = this.readAccount): number {
    const { state } = this.context;
    const snapshot = accountOf(ref);
    if (snapshot) {
      for (const position of snapshot.positions)
        if (position.symbol === ref.symbol) return position.fundingAccrued ?? 0;
      return 0;
    }
    const position = state.position(ref.exchange, ref.symbol, ref.account);
    if (!position) return 0;
    if (position.fundingAccrued !== undefined && position.fundingAccrued !== 0)
      return position.fundingAccrued;
    const rate = state.fundingRate(ref.exchange, ref.symbol);
    if (!rate) return 0;
    const since = Math.max(accrualStart(rate), position.openedAt);
    const hours = Math.max(0, state.now - since) / HOUR_MS;
    return -position.quantity * position.markPrice * rate.ratePerHour * hours;
  }

  // ---------------------------------------------------------------- durable state

  private track(pair: PairState): void {
    this.live.set(pair.id, pair);
    this.legToPair.set(legKey(pair.long.ref), pair.id);
    this.legToPair.set(legKey(pair.short.ref), pair.id);
    for (const record of pair.orders) this.orderToPair.set(record.id, pair.id);
  }

  private untrack(pair: PairState): void {
    this.live.delete(pair.id);
    for (const name of LEGS)
      if (this.legToPair.get(legKey(pair[name].ref)) === pair.id)
        this.legToPair.delete(legKey(pair[name].ref));
    for (const record of pair.orders) {
      this.orderToPair.delete(record.id);
      this.retired.add(record.id);
    }
    this.awaiting.delete(pair.id);
    this.refusals.delete(pair.id);
  }

  /** One write of the whole book: every status change is atomic. */
  persist(): void {
    const saved: SavedBook = {
      version: MEMORY_VERSION,
      sequence: this.sequence,
      pairs: [...this.live.values()],
      history: this.history,
      cooldowns: this.cooldowns,
    };
    this.context.memory.set(MEMORY_KEY, saved);
  }

  // ---------------------------------------------------------------- order events

  /** The engine accepted a signal of ours and the venue acknowledged the order. */
  onSubmitted(meta: PairSignalMetadata, order: Order): void {
    const pair = this.live.get(meta.pairId);
    this.settleAwaiting(meta.pairId);
    if (!pair) return;
    if (!this.orderToPair.has(order.id)) {
      pair.orders.push(newRecord(order, meta.leg, meta.purpose, this.context.state.now));
      this.orderToPair.set(order.id, pair.id);
    }
    const record = this.record(pair, order.id) as OrderRecord;
    applyOrderReport(record, order, this.context.state.now);
    const waiting = this.unclaimed.get(order.id);
    if (waiting) {
      this.unclaimed.delete(order.id);
      for (const fill of waiting.fills) applyFill(record, fill);
      if (waiting.report) applyOrderReport(record, waiting.report, this.context.state.now);
    }
    this.persist();
  }

  /** A signal of ours went nowhere: refused by the planner, a gate, the phase, or the venue. */
  onRefused(meta: PairSignalMetadata, code: string, message: string): void {
    this.settleAwaiting(meta.pairId);
    const pair = this.live.get(meta.pairId);
    if (!pair) return;
    const list = this.refusals.get(pair.id) ?? [];
    list.push(`${meta.leg} ${meta.purpose}: ${code}`);
    this.refusals.set(pair.id, list);
    this.context.logger.warn('pair order refused', {
      pair: pair.id,
      leg: meta.leg,
      purpose: meta.purpose,
      code,
      message,
    });
  }

  private settleAwaiting(pairId: string): void {
    const left = (this.awaiting.get(pairId) ?? 0) - 1;
    if (left > 0) this.awaiting.set(pairId, left);
    else this.awaiting.delete(pairId);
  }

  /** Every fill the engine applied: ours by order id, others on a pair's instruments as external. */
  onFill(fill: Fill): void {
    const pair = this.pairForOrder(fill.orderId, fill.exchange, fill.account, fill.symbol);
    if (!pair) return;
    const record = this.record(pair, fill.orderId);
    if (record) {
      if (applyFill(record, fill) > 0) this.afterFill(pair, fill.timestamp);
      return;
    }
    const waiting = this.unclaimed.get(fill.orderId) ?? { pairId: pair.id, fills: [] };
    waiting.fills.push(fill);
    this.unclaimed.set(fill.orderId, waiting);
    this.trackUnhedged(pair, fill.timestamp);
  }

  onOrder(order: Order): void {
    const pair = this.pairForOrder(order.id, order.exchange, order.account, order.symbol);
    if (!pair) return;
    const record = this.record(pair, order.id);
    if (record) {
      const wasFinal = isFinal(record);
      applyOrderReport(record, order, this.context.state.now);
      if (!wasFinal && isFinal(record)) this.persist();
      return;
    }
    const waiting = this.unclaimed.get(order.id) ?? { pairId: pair.id, fills: [] };
    waiting.report = order;
    this.unclaimed.set(order.id, waiting);
  }

  /** Settled funding on a pair's leg counts once per (venue, instrument, settlement time). */
  onFunding(payment: FundingPayment): void {
    if (!payment.settled) return;
    const pairId = this.legToPair.get(`${payment.exchange}\u0000${payment.account}\u0000${payment.symbol}`);
    const pair = pairId === undefined ? undefined : this.live.get(pairId);
    if (!pair) return;
    for (const name of LEGS) {
      const leg = pair[name];
      if (
        leg.ref.exchange !== payment.exchange ||
        leg.ref.account !== payment.account ||
        leg.ref.symbol !== payment.symbol
      )
        continue;
      if (payment.fundingTime <= leg.lastFundingTime) return;
      leg.fundingCollected += payment.amount;
      leg.lastFundingTime = payment.fundingTime;
      this.persist();
    }
  }

  private pairForOrder(
    orderId: string,
    exchange: string,
    account: string,
    symbol: string,
  ): PairState | undefined {
    const byOrder = this.orderToPair.get(orderId);
    if (byOrder !== undefined) return this.live.get(byOrder);
    if (this.retired.has(orderId)) return undefined;
    const byLeg = this.legToPair.get(`${exchange}\u0000${account}\u0000${symbol}`);
    return byLeg === undefined ? undefined : this.live.get(byLeg);
  }

  private record(pair: PairState, orderId: string): OrderRecord | undefined {
    for (const record of pair.orders) if (record.id === orderId) return record;
    return undefined;
  }

  private afterFill(pair: PairState, at: number): void {
    this.trackUnhedged(pair, at);
    this.persist();
  }

  /** Since when one leg has held more than the other; the longest such window is kept. */
  private trackUnhedged(pair: PairState, at: number): void {
    const { state } = this.context;
    const long = Math.abs(legPosition(state, pair.long.ref));
    const short = Math.abs(legPosition(state, pair.short.ref));
    const lot = Math.max(lotOf(state, pair.long.ref), lotOf(state, pair.short.ref));
    const hedged = Math.abs(long - short) <= lot / 2;
    if (!hedged) {
      pair.unhedgedSince ??= at;
    } else if (pair.unhedgedSince !== undefined) {
      pair.maxUnhedgedMs = Math.max(pair.maxUnhedgedMs, at - pair.unhedgedSince);
      pair.unhedgedSince = undefined;
    }
  }

  /**
   * Order events for orders no signal of ours claimed once nothing of ours is in flight: someone
   * else (a monitor, the operator, the engine's emergency close) traded a leg. They are booked as
   * external orders, so the pair's money stays complete.
   */
  claimExternal(): void {
    for (const [orderId, waiting] of this.unclaimed) {
      const pair = this.live.get(waiting.pairId);
      if (!pair) {
        this.unclaimed.delete(orderId);
        continue;
      }
      if ((this.awaiting.get(pair.id) ?? 0) > 0) continue;
      const sample = waiting.report ?? waiting.fills[0];
      if (!sample) continue;
      const leg: LegName =
        sample.exchange === pair.long.ref.exchange &&
        sample.symbol === pair.long.ref.symbol &&
        sample.account === pair.long.ref.account
          ? 'long'
          : 'short';
      const record: OrderRecord = {
        id: orderId,
        leg,
        purpose: 'external',
        side: sample.side,
        quantity:
          waiting.report?.quantity ?? Math.max(...waiting.fills.map((fill) => fill.cumulativeQuantity)),
        submittedAt: this.context.state.now,
        status: waiting.report?.status ?? 'filled',
        filled: 0,
        notional: 0,
        fee: 0,
        slippage: 0,
        reported: false,
        venueFilled: 0,
        venueAverage: 0,
        venueFee: 0,
      };
      for (const fill of waiting.fills) applyFill(record, fill);
      if (waiting.report) applyOrderReport(record, waiting.report, this.context.state.now);
      pair.orders.push(record);
      this.orderToPair.set(orderId, pair.id);
      this.unclaimed.delete(orderId);
      this.context.logger.warn('pair leg traded outside the pair', {
        pair: pair.id,
        leg,
        order: orderId,
        side: record.side,
        filled: record.filled,
      });
      this.persist();
    }
  }

  // ---------------------------------------------------------------- signals

  private expect(pair: PairState, count: number): void {
    if (count > 0) this.awaiting.set(pair.id, (this.awaiting.get(pair.id) ?? 0) + count);
  }

  private leg(pair: PairState, name: LegName, purpose: OrderPurpose, input: LegSignal): SignalInput {
    const ref = pair[name].ref;
    const metadata: PairSignalMetadata = { pairId: pair.id, leg: name, purpose };
    return {
      ...input,
      exchange: ref.exchange,
      symbol: ref.symbol,
      account: ref.account,
      metadata: { ...metadata, ...input.metadata },
    };
  }

  private cancels(pair: PairState, code: string, message: string): SignalInput[] {
    const out: SignalInput[] = [];
    for (const record of pair.orders) {
      if (isFinal(record) || record.purpose === 'external') continue;
      const ref = pair[record.leg].ref;
      out.push({
        intent: 'cancel',
        exchange: ref.exchange,
        symbol: ref.symbol,
        account: ref.account,
        orderId: record.id,
        urgency: 'high',
        reasons: [{ code, message }],
      });
    }
    return out;
  }

  /** A resting price for a maker order: the own side of the book, else the mark shaded by the offset. */
  private makerPrice(ref: LegRef, side: Side): number | undefined {
    const { state, options } = this.context;
    const book = state.orderBook(ref.exchange, ref.symbol);
    const best = side === 'buy' ? book?.bids[0]?.[0] : book?.asks[0]?.[0];
    if (best !== undefined && bookMid(book) !== undefined) return best;
    const mark = state.referencePrice(ref.exchange, ref.symbol);
    if (mark === undefined) return undefined;
    const offset = options.execution.makerOffsetBps / 10_000;
    return side === 'buy' ? mark * (1 - offset) : mark * (1 + offset);
  }

  /** An IOC limit: through the best opposite price (else the mark) by the IOC band. */
  private iocPrice(ref: LegRef, side: Side): number | undefined {
    const { state, options } = this.context;
    const book = state.orderBook(ref.exchange, ref.symbol);
    const opposite = side === 'buy' ? book?.asks[0]?.[0] : book?.bids[0]?.[0];
    const reference = opposite ?? state.referencePrice(ref.exchange, ref.symbol);
    if (reference === undefined) return undefined;
    const band = options.execution.iocSlippageBps / 10_000;
    return side === 'buy' ? reference * (1 + band) : reference * (1 - band);
  }

  private nextId(asset: string): string {
    this.sequence += 1;
    return `${asset}-${this.sequence}`;
  }

  // ---------------------------------------------------------------- entry

  /**
   * Opens a pair: maker orders on both legs at once (one group, so gates judge them together),
   * resting at most `makerTimeout`.
   */
  open(asset: string, long: LegRef, short: LegRef, estimate: EntryEstimate): SignalInput[] {
    const { state, options } = this.context;
    const now = state.now;
    const pair: PairState = {
      id: this.nextId(asset),
      asset,
      status: 'OPENING',
      long: { ref: long, fundingCollected: 0, lastFundingTime: now },
      short: { ref: short, fundingCollected: 0, lastFundingTime: now },
      quantity: estimate.quantity,
      estimate,
      createdAt: now,
      attempts: 0,
      orders: [],
      maxUnhedgedMs: 0,
    };
    this.track(pair);
    const longPrice = this.makerPrice(long, 'buy');
    const shortPrice = this.makerPrice(short, 'sell');
    if (longPrice === undefined || shortPrice === undefined) {
      this.fail(pair, 'NO_PRICE');
      return [];
    }
    this.enterStep(pair, 'maker');
    pair.deadline = now + options.execution.makerTimeout;
    const message = `long ${long.exchange} / short ${short.exchange}: ${(estimate.spreadApy * 100).toFixed(2)}% APY expected, net EV ${estimate.netEv.toFixed(4)} on ${estimate.notional.toFixed(2)}`;
    const reasons = [{ code: 'FUNDING_SPREAD', message }];
    // Half the pair's expected funding on each leg: a group-aware profitability gate sums them.
    const metadata = { expectedRevenue: estimate.expectedFunding / 2 };
    const features = { spreadApy: estimate.spreadApy, netEv: estimate.netEv };
    const common = {
      intent: 'open' as const,
      quantity: pair.quantity,
      orderType: 'limit' as const,
      timeInForce: 'post-only' as const,
      ttlMs: options.execution.makerTimeout,
      groupId: `${pair.id}:entry`,
      reasons,
      features,
      metadata,
    };
    const signals = [
      this.leg(pair, 'long', 'entry', { ...common, side: 'buy', price: longPrice }),
      this.leg(pair, 'short', 'entry', { ...common, side: 'sell', price: shortPrice }),
    ];
    this.expect(pair, signals.length);
    this.context.logger.info('pair opening', {
      pair: pair.id,
      asset,
      at: new Date(now).toISOString(),
      message,
    });
    this.persist();
    return signals;
  }

  private enterStep(pair: PairState, step: ExecutionStep): void {
    pair.step = step;
    pair.stepStartedAt = this.context.state.now;
    this.refusals.delete(pair.id);
  }

  /**
   * Whether the maker window is over: at the deadline, or at the last cycle before it. `cycles`
   * cycles ahead instead when the step after it needs a cycle of its own before the deadline.
   */
  private makersDue(pair: PairState, cycleGapMs: number, cycles = 1): boolean {
    const now = this.context.state.now;
    const deadline = pair.deadline ?? now;
    return now >= deadline || (cycleGapMs > 0 && now + cycles * cycleGapMs > deadline);
  }

  /** Advances an OPENING pair: makers → synchronized IOC → open, or unwind → open smaller or failed. */
  stepEntry(pair: PairState, cycleGapMs: number): SignalInput[] {
    if ((this.awaiting.get(pair.id) ?? 0) > 0) return [];
    const { state } = this.context;
    const long = legPosition(state, pair.long.ref);
    const short = legPosition(state, pair.short.ref);
    const lot = Math.max(lotOf(state, pair.long.ref), lotOf(state, pair.short.ref));
    const working = this.working(pair);
    const refused = this.refusals.get(pair.id) ?? [];

    if (pair.step === 'maker') {
      if (long >= pair.quantity - lot / 2 && -short >= pair.quantity - lot / 2 && working.length === 0)
        return this.markOpen(pair, Math.min(long, -short));
      if (pair.orders.length === 0 && refused.length > 0 && long === 0 && short === 0) {
        this.fail(pair, `entry refused: ${refused.join(', ')}`);
        return [];
      }
      const makersDone = pair.orders.length > 0 && working.length === 0;
      // A maker still resting may fill before its cancel lands, so an IOC sized now could fill its
      // leg twice: makers are cancelled first, and the IOC group goes out once every maker has
      // ended, for what they actually left. With one leg filled (unhedged), the cancels go a cycle
      // earlier, so the IOC still goes out before the deadline.
      const unhedged = Math.abs(Math.abs(long) - Math.abs(short)) > lot / 2;
      if (!this.makersDue(pair, cycleGapMs, unhedged ? 2 : 1) && refused.length === 0 && !makersDone)
        return [];
      if (working.length > 0) return this.cancels(pair, 'MAKER_TIMEOUT', `${pair.id}: maker window over`);
      return this.completeWithIoc(pair, long, short);
    }

    // IOC or unwind sent: wait for every order to end, cancelling makers that still rest.
    if (working.length > 0) {
      return working.some(
        (record) => record.purpose === 'entry' && record.submittedAt < (pair.stepStartedAt ?? 0),
      )
        ? this.cancels(pair, 'MAKER_TIMEOUT', `${pair.id}: maker window over`)
        : [];
    }
    return this.settleEntry(pair, long, short, lot);
  }

  /** The maker window is over and no maker rests: take the remainders with one IOC group. */
  private completeWithIoc(pair: PairState, long: number, short: number): SignalInput[] {
    const { state } = this.context;
    const out = this.cancels(pair, 'MAKER_TIMEOUT', `${pair.id}: maker window over`);
    this.enterStep(pair, 'ioc');
    pair.attempts += 1;
    const legs: { name: LegName; side: Side; remainder: number }[] = [
      { name: 'long', side: 'buy', remainder: pair.quantity - long },
      { name: 'short', side: 'sell', remainder: pair.quantity + short },
    ];
    const orders: SignalInput[] = [];
    for (const { name, side, remainder } of legs) {
      const ref = pair[name].ref;
      const market = state.market(ref.exchange, ref.symbol);
      const price = this.iocPrice(ref, side);
      if (!market || price === undefined || !(remainder >= Number(market.lotSize))) continue;
      // A remainder the venue would refuse as an entry is left to the unwind of the other leg.
      if (remainder * price < market.minNotional || remainder < Number(market.minQuantity ?? 0)) continue;
      orders.push(
        this.leg(pair, name, 'entry', {
          intent: 'open',
          side,
          quantity: remainder,
          orderType: 'limit',
          price,
          timeInForce: 'ioc',
          groupId: `${pair.id}:entry-ioc`,
          reasons: [{ code: 'ENTRY_COMPLETE', message: `${pair.id}: completing the ${name} leg with IOC` }],
        }),
      );
    }
    this.expect(pair, orders.length);
    this.persist();
    return [...out, ...orders];
  }

  /** Every entry order has ended: open with the matched size, or unwind the difference. */
  private settleEntry(pair: PairState, long: number, short: number, lot: number): SignalInput[] {
    const { state } = this.context;
    const matched = Math.min(Math.max(long, 0), Math.max(-short, 0));
    const hedged = Math.abs(Math.abs(long) - Math.abs(short)) <= lot / 2 && long >= 0 && short <= 0;
    if (hedged && matched > lot / 2) {
      const price = Math.max(
        state.referencePrice(pair.long.ref.exchange, pair.long.ref.symbol) ?? 0,
        state.referencePrice(pair.short.ref.exchange, pair.short.ref.symbol) ?? 0,
      );
      const minimum = Math.max(
        state.market(pair.long.ref.exchange, pair.long.ref.symbol)?.minNotional ?? 0,
        state.market(pair.short.ref.exchange, pair.short.ref.symbol)?.minNotional ?? 0,
      );
      if (matched * price >= minimum) return this.markOpen(pair, matched);
    }
    if (long === 0 && short === 0) {
      this.fail(pair, pair.orders.some((record) => record.filled > 0) ? 'ENTRY_UNWOUND' : 'ENTRY_NOT_FILLED');
      return [];
    }
    // One leg filled without its partner (or both too small to keep): unwind to the matched size,
    // or to flat. Unwinding reduces risk, so it goes as an emergency and passes a halted phase.
    this.enterStep(pair, 'unwind');
    pair.attempts += 1;
    const keep = hedged ? 0 : matched;
    const out: SignalInput[] = [];
    for (const name of LEGS) {
      const position = name === 'long' ? long : short;
      const excess = Math.abs(position) - keep;
      if (!(excess > lot / 2)) continue;
      const reasons = [
        {
          code: 'ENTRY_UNWIND',
          message: `${pair.id}: the ${name} leg holds ${position} against ${name === 'long' ? short : long}; unwinding to ${keep}`,
        },
      ];
      out.push(
        keep === 0
          ? this.leg(pair, name, 'unwind', { intent: 'close', urgency: 'emergency', reasons })
          : this.leg(pair, name, 'unwind', {
              intent: 'reduce',
              quantity: excess,
              urgency: 'emergency',
              reasons,
            }),
      );
    }
    this.expect(pair, out.length);
    this.context.logger.warn('pair entry unwinding', { pair: pair.id, long, short, keep });
    this.persist();
    return out;
  }

  private markOpen(pair: PairState, quantity: number): SignalInput[] {
    pair.status = 'OPEN';
    pair.quantity = quantity;
    pair.openedAt = this.context.state.now;
    pair.step = undefined;
    pair.deadline = undefined;
    pair.attempts = 0;
    this.refusals.delete(pair.id);
    this.context.logger.info('pair open', {
      pair: pair.id,
      at: new Date(this.context.state.now).toISOString(),
      quantity,
      long: pair.long.ref.exchange,
      short: pair.short.ref.exchange,
      maxUnhedgedMs: pair.maxUnhedgedMs,
    });
    this.persist();
    return [];
  }

  private fail(pair: PairState, why: string): void {
    pair.status = 'FAILED';
    pair.failure = why;
    pair.closedAt = this.context.state.now;
    pair.step = undefined;
    this.finish(pair);
    this.context.logger.warn('pair entry failed', { pair: pair.id, why });
  }

  // ---------------------------------------------------------------- close

  /**
   * Starts the coordinated close of an OPEN pair. Idempotent: a pair already CLOSING (or not open)
   * gets no new orders, whatever asks. Emergencies skip the makers and go straight to IOC.
   */
  requestClose(pairId: string, exit: Omit<ExitRecord, 'at'>): SignalInput[] {
    const pair = this.live.get(pairId);
    if (pair?.status !== 'OPEN') {
      this.context.logger.debug('pair close ignored', {
        pair: pairId,
        status: pair?.status,
        code: exit.code,
      });
      return [];
    }
    const { state, options } = this.context;
    pair.status = 'CLOSING';
    pair.closingAt = state.now;
    pair.exit = { ...exit, at: state.now };
    pair.attempts = 0;
    this.context.logger.info('pair exit', {
      pair: pair.id,
      code: exit.code,
      layer: exit.layer,
      rule: exit.rule,
      message: exit.message,
    });
    if (exit.urgency === 'emergency' || !options.execution.closeMaker) {
      this.enterStep(pair, 'ioc');
      return this.closeRound(pair, 'ioc');
    }
    this.enterStep(pair, 'maker');
    pair.deadline = state.now + options.execution.makerTimeout;
    const out: SignalInput[] = [];
    for (const name of LEGS) {
      const ref = pair[name].ref;
      const position = legPosition(state, ref);
      if (position === 0) continue;
      const price = this.makerPrice(ref, position > 0 ? 'sell' : 'buy');
      if (price === undefined) continue;
      out.push(
        this.leg(pair, name, 'close', {
          intent: 'close',
          orderType: 'limit',
          price,
          timeInForce: 'post-only',
          ttlMs: options.execution.makerTimeout,
          groupId: `${pair.id}:close`,
          urgency: exit.urgency,
          reasons: [{ code: exit.code, message: exit.message }],
        }),
      );
    }
    this.expect(pair, out.length);
    this.persist();
    return out;
  }

  /** Close orders for every leg still open: IOC within the band, or market orders. */
  private closeRound(pair: PairState, kind: 'ioc' | 'market'): SignalInput[] {
    const { state } = this.context;
    const exit = pair.exit as ExitRecord;
    pair.attempts += 1;
    if (pair.step !== kind) this.enterStep(pair, kind);
    const out: SignalInput[] = [];
    for (const name of LEGS) {
      const ref = pair[name].ref;
      const position = legPosition(state, ref);
      if (position === 0) continue;
      const reasons = [{ code: exit.code, message: exit.message }];
      const urgency: Urgency = exit.urgency === 'emergency' ? 'emergency' : 'high';
      if (kind === 'ioc') {
        const price = this.iocPrice(ref, position > 0 ? 'sell' : 'buy');
        if (price === undefined) continue;
        out.push(
          this.leg(pair, name, 'close', {
            intent: 'close',
            orderType: 'limit',
            price,
            timeInForce: 'ioc',
            groupId: `${pair.id}:close-${pair.attempts}`,
            urgency,
            reasons,
          }),
        );
      } else {
        out.push(
          this.leg(pair, name, 'close', {
            intent: 'close',
            groupId: `${pair.id}:close-${pair.attempts}`,
            urgency,
            reasons,
          }),
        );
      }
    }
    this.expect(pair, out.length);
    this.persist();
    return out;
  }

  /**
   * Advances a CLOSING pair. Nothing new goes out while any of its orders is unresolved; once all
   * have ended, positions are read back: both flat finalizes, otherwise the next round (IOC, then
   * market after `maxIocAttempts`) takes what is left.
   */
  stepClose(pair: PairState, cycleGapMs: number): SignalInput[] {
    if ((this.awaiting.get(pair.id) ?? 0) > 0) return [];
    const { state, options } = this.context;
    const exit = pair.exit as ExitRecord;
    const working = this.working(pair);
    const long = legPosition(state, pair.long.ref);
    const short = legPosition(state, pair.short.ref);

    if (pair.step === 'maker') {
      const makersDone = working.length === 0;
      if (long === 0 && short === 0 && makersDone) return this.finalize(pair);
      if (!this.makersDue(pair, cycleGapMs) && !makersDone && (this.refusals.get(pair.id) ?? []).length === 0)
        return [];
      const out = this.cancels(pair, 'MAKER_TIMEOUT', `${pair.id}: close makers timed out`);
      if (long === 0 && short === 0) return out;
      return [...out, ...this.closeRound(pair, 'ioc')];
    }
    if (working.length > 0) {
      // A close maker that outlived its window (its cancel failed) is cancelled again.
      return working.some((record) => record.submittedAt < (pair.stepStartedAt ?? 0))
        ? this.cancels(pair, 'MAKER_TIMEOUT', `${pair.id}: close makers timed out`)
        : [];
    }
    if (long === 0 && short === 0) return this.finalize(pair);
    // A halted phase lets only protective orders out: a non-emergency close waits for the operator.
    if (state.phase === 'halted' && exit.urgency !== 'emergency') return [];
    if (pair.attempts >= options.execution.maxIocAttempts + 3)
      this.context.logger.error('pair close is not completing', {
        pair: pair.id,
        attempts: pair.attempts,
        long,
        short,
      });
    return this.closeRound(pair, pair.attempts >= options.execution.maxIocAttempts ? 'market' : 'ioc');
  }

  /**
   * Both legs read flat: confirm with the venues' own account view, read the money back from the
   * venues' order reports (correcting the fills' numbers when they differ beyond tolerance), and
   * mark the pair CLOSED.
   */
  private finalize(pair: PairState): SignalInput[] {
    const { state, options, logger } = this.context;
    for (const name of LEGS) {
      const ref = pair[name].ref;
      const snapshot = state.account(ref.exchange, ref.account);
      const venue = snapshot?.positions.find((position) => position.symbol === ref.symbol)?.quantity ?? 0;
      if (venue !== 0) {
        // The engine's ledger says flat, the venue's account view does not: wait for them to
        // agree. A view taken before the last fills lags for a moment; one that still disagrees
        // after the grace is logged, loudly and once.
        const divergence = this.divergent.get(pair.id) ?? { since: state.now, logged: false };
        this.divergent.set(pair.id, divergence);
        if (!divergence.logged && state.now - divergence.since >= VENUE_VIEW_GRACE_MS) {
          logger.error('pair leg still open at the venue', {
            pair: pair.id,
            leg: name,
            venue,
            forMs: state.now - divergence.since,
          });
          divergence.logged = true;
        }
        return [];
      }
    }
    // Flat legs whose orders do not net to zero were closed where no fill reached us (a venue
    // reconciled them): what is left is valued at the current mark, and said so.
    for (const name of LEGS) {
      const unseen = legTraded(pair, name);
      if (Math.abs(unseen) > lotOf(state, pair[name].ref) / 2)
        logger.warn('pair leg closed without fills', { pair: pair.id, leg: name, quantity: unseen });
    }
    const marks = this.marks(pair);
    const { pnl, corrections } = reconcileReadback(
      pair,
      { ...marks, longAccrued: 0, shortAccrued: 0 },
      options.readback,
    );
    for (const correction of corrections)
      logger.warn('pair readback correction', {
        pair: pair.id,
        code: correction.code,
        message: correction.message,
      });
    if (pair.unhedgedSince !== undefined) {
      pair.maxUnhedgedMs = Math.max(pair.maxUnhedgedMs, state.now - pair.unhedgedSince);
      pair.unhedgedSince = undefined;
    }
    pair.result = { pnl, corrections, maxUnhedgedMs: pair.maxUnhedgedMs };
    pair.status = 'CLOSED';
    pair.closedAt = state.now;
    pair.step = undefined;
    this.divergent.delete(pair.id);
    logger.info('pair closed', {
      pair: pair.id,
      code: pair.exit?.code,
      layer: pair.exit?.layer,
      openedAt: pair.openedAt === undefined ? undefined : new Date(pair.openedAt).toISOString(),
      closedAt: new Date(state.now).toISOString(),
      pricePnl: pnl.pricePnl,
      fees: pnl.fees,
      slippage: pnl.slippage,
      fundingCollected: pnl.fundingCollected,
      totalPnl: pnl.totalPnl,
      netPnl: pnl.netPnl,
      maxUnhedgedMs: pair.maxUnhedgedMs,
      corrections: corrections.length,
    });
    this.finish(pair);
    return [];
  }

  /** A pair that ended (CLOSED or FAILED) leaves the live book for the history, in one write. */
  private finish(pair: PairState): void {
    const { options, state } = this.context;
    if (!pair.result) {
      const { pnl, corrections } = reconcileReadback(pair, this.marks(pair), options.readback);
      pair.result = { pnl, corrections, maxUnhedgedMs: pair.maxUnhedgedMs };
    }
    const summary: PairSummary = {
      id: pair.id,
      asset: pair.asset,
      status: pair.status as 'CLOSED' | 'FAILED',
      long: pair.long.ref,
      short: pair.short.ref,
      ...(pair.openedAt === undefined ? {} : { openedAt: pair.openedAt }),
      ...(pair.closedAt === undefined ? {} : { closedAt: pair.closedAt }),
      estimate: pair.estimate,
      ...(pair.exit === undefined ? {} : { exit: pair.exit }),
      ...(pair.failure === undefined ? {} : { failure: pair.failure }),
      result: pair.result,
    };
    this.untrack(pair);
    this.history.push(summary);
    const limit = options.historyLimit;
    if (this.history.length > limit) this.history.splice(0, this.history.length - limit);
    this.finishedAll.push(summary);
    this.cooldowns[pair.asset] = state.now + options.entry.cooldown;
    this.persist();
  }

  // ---------------------------------------------------------------- open pairs

  /** Cuts the larger leg to `target` (a REBALANCE exit): the pair stays open. */
  rebalance(pair: PairState, target: number, exit: Omit<ExitRecord, 'at'>): SignalInput[] {
    if (pair.status !== 'OPEN' || this.busy(pair)) return [];
    const { state, logger } = this.context;
    const out: SignalInput[] = [];
    for (const name of LEGS) {
      const position = legPosition(state, pair[name].ref);
      const excess = Math.abs(position) - target;
      if (!(excess > 0)) continue;
      out.push(
        this.leg(pair, name, 'rebalance', {
          intent: 'reduce',
          quantity: excess,
          urgency: exit.urgency,
          reasons: [{ code: exit.code, message: exit.message }],
        }),
      );
    }
    if (out.length === 0) return out;
    pair.quantity = target;
    logger.info('pair rebalance', { pair: pair.id, code: exit.code, layer: exit.layer, target });
    this.expect(pair, out.length);
    this.persist();
    return out;
  }

  /**
   * After a restart: a pair whose signals were in flight lost them with the process, so nothing
   * is awaited; its orders' later events still find it by id.
   */
  resetTransient(): void {
    this.awaiting.clear();
    this.refusals.clear();
  }
}

type LegSignal = Omit<SignalInput, 'exchange' | 'symbol' | 'account'>;

function newRecord(order: Order, leg: LegName, purpose: OrderPurpose, now: number): OrderRecord {
  return {
    id: order.id,
    leg,
    purpose,
    side: order.side,
    quantity: order.quantity,
    submittedAt: now,
    status: 'pending' as OrderStatus,
    filled: 0,
    notional: 0,
    fee: 0,
    slippage: 0,
    reported: false,
    venueFilled: 0,
    venueAverage: 0,
    venueFee: 0,
  };
}
