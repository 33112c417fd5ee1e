import { RetiringMap } from '../bounded';
import { roundToStepNumber } from '../decimal';
import { EngineError } from '../errors';
import type { ClosedTrade } from '../events';
import type { LedgerPosition } from '../state';
import type { Fill, FundingPayment, Position, Side } from '../types';

/** Who placed an order, so fills can be attributed. */
export interface OrderOwner {
  readonly strategyId?: string;
  readonly reasons: readonly string[];
  readonly regime?: string;
}

interface PositionRecord {
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  quantity: number;
  entryPrice: number;
  realizedPnl: number;
  fees: number;
  fundingSettled: number;
  fundingAccrued: number;
  slippage: number;
  openedAt: number;
  updatedAt: number;
  strategyId: string | undefined;
  entryReasons: readonly string[];
  exitReasons: readonly string[];
  regime: string | undefined;
  liquidationPrice: number | undefined;
  marginUsed: number | undefined;
  leverage: number | undefined;
  // round-trip accumulators
  entryQuantity: number;
  entryNotional: number;
  exitQuantity: number;
  exitNotional: number;
  maxQuantity: number;
  direction: 'long' | 'short';
  pendingExitReason: string | undefined;
}

/**
 * A position record as it can be saved and restored across a restart: the public position fields
 * plus the round trip's running sums, so a trade opened before a restart closes with the right
 * entry and exit VWAPs, fees and funding.
 */
export interface LedgerRecordState {
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  readonly quantity: number;
  readonly entryPrice: number;
  readonly realizedPnl: number;
  readonly fees: number;
  readonly fundingSettled: number;
  readonly fundingAccrued: number;
  readonly slippage: number;
  readonly openedAt: number;
  readonly updatedAt: number;
  readonly strategyId?: string;
  readonly entryReasons: readonly string[];
  readonly exitReasons: readonly string[];
  readonly regime?: string;
  readonly entryQuantity: number;
  readonly entryNotional: number;
  readonly exitQuantity: number;
  readonly exitNotional: number;
  readonly maxQuantity: number;
  readonly direction: 'long' | 'short';
}

/** Everything the ledger needs to resume after a restart. */
export interface LedgerState {
  readonly records: readonly LedgerRecordState[];
  readonly totals: LedgerTotals;
  readonly tradeSequence: number;
  /** Cumulative fill fields already applied, per order id still open. */
  readonly seen: readonly (readonly [orderId: string, quantity: number, fee: number, notional: number])[];
}

interface CumulativeSeen {
  quantity: number;
  fee: number;
  notional: number;
}

export interface LedgerTotals {
  /** Price PnL realized across all positions. */
  realizedPnl: number;
  fees: number;
  /** Settled funding, positive received. */
  fundingSettled: number;
  slippage: number;
  fills: number;
  closedTrades: number;
}

export interface LedgerHooks {
  /** Lot size of a market, for snapping quantities (avoids 0.1 + 0.2 − 0.3 ≠ 0 residue). */
  lotSize(exchange: string, symbol: string): string | undefined;
  markPrice(exchange: string, symbol: string): number | undefined;
  onPosition(position: LedgerPosition): void;
  onTradeClosed(trade: ClosedTrade): void;
}

const RELATIVE_EPSILON = 1e-12;

/**
 * The engine's position book, built from fills and funding.
 *
 * Fill fields are treated as cumulative: for each order id the ledger remembers the cumulative
 * quantity, fee and notional it has applied and only applies the difference, so a re-sent or
 * duplicated fill report never counts twice. Exit prices are the VWAP of reducing fills. Price PnL,
 * fees, slippage, settled funding and accrued funding are kept apart.
 */
export class Ledger {
  private readonly records = new Map<string, PositionRecord>();
  private readonly seen = new RetiringMap<string, CumulativeSeen>();
  private tradeSequence = 0;
  readonly totals: LedgerTotals = {
    realizedPnl: 0,
    fees: 0,
    fundingSettled: 0,
    slippage: 0,
    fills: 0,
    closedTrades: 0,
  };

  constructor(private readonly hooks: LedgerHooks) {}

  private key(exchange: string, account: string, symbol: string): string {
    return `${exchange}\u0000${account}\u0000${symbol}`;
  }

  private snap(exchange: string, symbol: string, quantity: number): number {
    const lot = this.hooks.lotSize(exchange, symbol);
    if (lot !== undefined) return roundToStepNumber(quantity, lot, 'nearest');
    return Math.abs(quantity) < RELATIVE_EPSILON ? 0 : quantity;
  }

  private record(exchange: string, account: string, symbol: string, at: number): PositionRecord {
    const key = this.key(exchange, account, symbol);
    let record = this.records.get(key);
    if (!record) {
      record = {
        exchange,
        account,
        symbol,
        quantity: 0,
        entryPrice: 0,
        realizedPnl: 0,
        fees: 0,
        fundingSettled: 0,
        fundingAccrued: 0,
        slippage: 0,
        openedAt: at,
        updatedAt: at,
        strategyId: undefined,
        entryReasons: [],
        exitReasons: [],
        regime: undefined,
        liquidationPrice: undefined,
        marginUsed: undefined,
        leverage: undefined,
        entryQuantity: 0,
        entryNotional: 0,
        exitQuantity: 0,
        exitNotional: 0,
        maxQuantity: 0,
        direction: 'long',
        pendingExitReason: undefined,
      };
      this.records.set(key, record);
    }
    return record;
  }

  /**
   * Applies a fill. Returns false when the fill adds nothing new (a duplicate or re-sent report).
   */
  applyFill(fill: Fill, owner: OrderOwner | undefined): boolean {
    const previous = this.seen.get(fill.orderId) ?? { quantity: 0, fee: 0, notional: 0 };
    const quantity = fill.cumulativeQuantity - previous.quantity;
    const tolerance = RELATIVE_EPSILON * Math.max(1, fill.cumulativeQuantity);
    if (quantity <= tolerance) return false;
    const cumulativeNotional = fill.averagePrice * fill.cumulativeQuantity;
    const sameAsReport = Math.abs(fill.quantity - quantity) <= tolerance;
    const price = sameAsReport ? fill.price : (cumulativeNotional - previous.notional) / quantity;
    const fee = fill.cumulativeFee - previous.fee;
    const slippage =
      fill.slippage === undefined
        ? 0
        : sameAsReport
          ? fill.slippage
          : (fill.slippage * quantity) / fill.quantity;
    this.seen.set(fill.orderId, {
      quantity: fill.cumulativeQuantity,
      fee: fill.cumulativeFee,
      notional: cumulativeNotional,
    });

    this.totals.fills += 1;
    this.totals.fees += fee;
    this.totals.slippage += slippage;
    this.applyDelta(
      fill.exchange,
      fill.account,
      fill.symbol,
      fill.side,
      quantity,
      price,
      fee,
      slippage,
      fill.timestamp,
      owner,
    );
    return true;
  }

  private applyDelta(
    exchange: string,
    account: string,
    symbol: string,
    side: Side,
    quantity: number,
    price: number,
    fee: number,
    slippage: number,
    at: number,
    owner: OrderOwner | undefined,
  ): void {
    const record = this.record(exchange, account, symbol, at);
    const direction = side === 'buy' ? 1 : -1;
    const current = record.quantity;
    record.updatedAt = at;

    if (current === 0 || Math.sign(current) === direction) {
      this.increase(record, direction, quantity, price, fee, slippage, at, owner);
    } else {
      const closing = Math.min(quantity, Math.abs(current));
      const share = closing / quantity;
      this.reduce(record, closing, price, fee * share, slippage * share, at, owner);
      const remainder = this.snap(exchange, symbol, quantity - closing);
      if (remainder > 0)
        this.increase(
          record,
          direction,
          remainder,
          price,
          fee * (1 - share),
          slippage * (1 - share),
          at,
          owner,
        );
    }
    this.hooks.onPosition(this.snapshot(record));
  }

  private increase(
    record: PositionRecord,
    direction: number,
    quantity: number,
    price: number,
    fee: number,
    slippage: number,
    at: number,
    owner: OrderOwner | undefined,
  ): void {
    if (record.quantity === 0) {
      this.startTrade(record, at, owner);
      record.direction = direction > 0 ? 'long' : 'short';
      record.entryPrice = price;
    } else {
      const size = Math.abs(record.quantity);
      record.entryPrice = (record.entryPrice * size + price * quantity) / (size + quantity);
    }
    record.quantity = this.snap(record.exchange, record.symbol, record.quantity + direction * quantity);
    record.entryQuantity += quantity;
    record.entryNotional += price * quantity;
    record.fees += fee;
    record.slippage += slippage;
    record.maxQuantity = Math.max(record.maxQuantity, Math.abs(record.quantity));
  }

  private reduce(
    record: PositionRecord,
    quantity: number,
    price: number,
    fee: number,
    slippage: number,
    at: number,
    owner: OrderOwner | undefined,
  ): void {
    const sign = Math.sign(record.quantity);
    const pnl = (price - record.entryPrice) * quantity * sign;
    record.realizedPnl += pnl;
    this.totals.realizedPnl += pnl;
    record.fees += fee;
    record.slippage += slippage;
    record.exitQuantity += quantity;
    record.exitNotional += price * quantity;
    if (owner && owner.reasons.length > 0) record.exitReasons = owner.reasons;
    else if (record.pendingExitReason) record.exitReasons = [record.pendingExitReason];
    else if (!owner) record.exitReasons = ['EXTERNAL'];
    record.quantity = this.snap(record.exchange, record.symbol, record.quantity - sign * quantity);
    if (record.quantity === 0) this.closeTrade(record, at);
  }

  private startTrade(record: PositionRecord, at: number, owner: OrderOwner | undefined): void {
    record.openedAt = at;
    record.realizedPnl = 0;
    record.fees = 0;
    record.fundingSettled = 0;
    record.fundingAccrued = 0;
    record.slippage = 0;
    record.entryQuantity = 0;
    record.entryNotional = 0;
    record.exitQuantity = 0;
    record.exitNotional = 0;
    record.maxQuantity = 0;
    record.strategyId = owner?.strategyId;
    record.entryReasons = owner?.reasons ?? ['EXTERNAL'];
    record.exitReasons = [];
    record.regime = owner?.regime;
    record.pendingExitReason = undefined;
  }

  private closeTrade(record: PositionRecord, at: number): void {
    this.tradeSequence += 1;
    this.totals.closedTrades += 1;
    const trade: ClosedTrade = {
      id: `T${this.tradeSequence}`,
      exchange: record.exchange,
      account: record.account,
      symbol: record.symbol,
      direction: record.direction,
      strategyId: record.strategyId,
      openedAt: record.openedAt,
      closedAt: at,
      quantity: record.maxQuantity,
      entryPrice: record.entryQuantity > 0 ? record.entryNotional / record.entryQuantity : 0,
      exitPrice: record.exitQuantity > 0 ? record.exitNotional / record.exitQuantity : 0,
      pricePnl: record.realizedPnl,
      fees: record.fees,
      slippage: record.slippage,
      funding: record.fundingSettled,
      netPnl: record.realizedPnl - record.fees + record.fundingSettled,
      entryReasons: record.entryReasons,
      exitReasons: record.exitReasons,
      regime: record.regime,
    };
    record.entryPrice = 0;
    record.fundingAccrued = 0;
    record.pendingExitReason = undefined;
    this.hooks.onTradeClosed(trade);
  }

  /** The order is final: its cumulative baseline moves to the recent window. */
  retireOrder(orderId: string): void {
    this.seen.retire(orderId);
  }

  /** Funding: a settled payment adds to the position's settled funding; an accrual replaces the estimate. */
  applyFunding(payment: FundingPayment): void {
    const record = this.records.get(this.key(payment.exchange, payment.account, payment.symbol));
    if (!record) return;
    if (payment.settled) {
      record.fundingSettled += payment.amount;
      record.fundingAccrued = 0;
      this.totals.fundingSettled += payment.amount;
    } else {
      record.fundingAccrued = payment.amount;
    }
    record.updatedAt = payment.timestamp;
    if (record.quantity !== 0) this.hooks.onPosition(this.snapshot(record));
  }

  /** Marks the next externally-caused reduction (liquidation) with a reason. */
  markExternalExit(exchange: string, account: string, symbol: string, reason: string): void {
    const record = this.records.get(this.key(exchange, account, symbol));
    if (record) record.pendingExitReason = reason;
  }

  /** Venue facts the ledger cannot compute itself (liquidation price, margin, leverage). */
  updateVenueFields(position: Position): void {
    const record = this.records.get(this.key(position.exchange, position.account, position.symbol));
    if (!record) return;
    record.liquidationPrice = position.liquidationPrice;
    record.marginUsed = position.marginUsed;
    record.leverage = position.leverage;
  }

  /**
   * Makes the ledger agree with the venue's position (the venue is the source of truth). Returns
   * the ledger quantity before, when a change was needed.
   */
  reconcile(position: Position, at: number): number | undefined {
    const record = this.record(position.exchange, position.account, position.symbol, at);
    const venueQuantity = this.snap(position.exchange, position.symbol, position.quantity);
    if (venueQuantity === record.quantity) {
      this.updateVenueFields(position);
      return undefined;
    }
    const before = record.quantity;
    if (record.quantity === 0 || Math.sign(record.quantity) !== Math.sign(venueQuantity)) {
      if (record.quantity !== 0) this.closeTrade(record, at);
      if (venueQuantity !== 0) {
        this.startTrade(record, at, undefined);
        record.direction = venueQuantity > 0 ? 'long' : 'short';
        record.entryReasons = ['ADOPTED'];
        record.entryQuantity = Math.abs(venueQuantity);
        record.entryNotional = Math.abs(venueQuantity) * position.entryPrice;
      }
    }
    record.quantity = venueQuantity;
    record.entryPrice = venueQuantity === 0 ? 0 : position.entryPrice;
    record.maxQuantity = Math.max(record.maxQuantity, Math.abs(venueQuantity));
    record.updatedAt = at;
    this.updateVenueFields(position);
    this.hooks.onPosition(this.snapshot(record));
    return before;
  }

  /** Open positions with their round-trip sums, for a checkpoint. */
  exportState(): LedgerState {
    const records: LedgerRecordState[] = [];
    for (const record of this.records.values()) {
      if (record.quantity === 0) continue;
      records.push({
        exchange: record.exchange,
        account: record.account,
        symbol: record.symbol,
        quantity: record.quantity,
        entryPrice: record.entryPrice,
        realizedPnl: record.realizedPnl,
        fees: record.fees,
        fundingSettled: record.fundingSettled,
        fundingAccrued: record.fundingAccrued,
        slippage: record.slippage,
        openedAt: record.openedAt,
        updatedAt: record.updatedAt,
        strategyId: record.strategyId,
        entryReasons: record.entryReasons,
        exitReasons: record.exitReasons,
        regime: record.regime,
        entryQuantity: record.entryQuantity,
        entryNotional: record.entryNotional,
        exitQuantity: record.exitQuantity,
        exitNotional: record.exitNotional,
        maxQuantity: record.maxQuantity,
        direction: record.direction,
      });
    }
    return {
      records,
      totals: { ...this.totals },
      tradeSequence: this.tradeSequence,
      seen: [...this.seen.liveEntries()].map(
        ([orderId, seen]) => [orderId, seen.quantity, seen.fee, seen.notional] as const,
      ),
    };
  }

  /** Resumes from a checkpoint. Only on an empty ledger (before any fill of this run). */
  restoreState(state: LedgerState): void {
    if (this.records.size > 0 || this.totals.fills > 0)
      throw new EngineError('ENGINE_STATE', 'a ledger can only be restored before it has applied anything');
    for (const saved of state.records) {
      const record = this.record(saved.exchange, saved.account, saved.symbol, saved.openedAt);
      Object.assign(record, saved, {
        liquidationPrice: undefined,
        marginUsed: undefined,
        leverage: undefined,
      });
    }
    Object.assign(this.totals, state.totals);
    this.tradeSequence = state.tradeSequence;
    for (const [orderId, quantity, fee, notional] of state.seen)
      this.seen.set(orderId, { quantity, fee, notional });
  }

  /** Ledger positions of one account (for reconciling against a venue that reports the account). */
  accountPositions(exchange: string, account: string): LedgerPosition[] {
    const out: LedgerPosition[] = [];
    for (const record of this.records.values())
      if (record.exchange === exchange && record.account === account && record.quantity !== 0)
        out.push(this.snapshot(record));
    return out;
  }

  position(exchange: string, account: string, symbol: string): LedgerPosition | undefined {
    const record = this.records.get(this.key(exchange, account, symbol));
    return record && record.quantity !== 0 ? this.snapshot(record) : undefined;
  }

  /** Open positions. */
  positions(): LedgerPosition[] {
    const out: LedgerPosition[] = [];
    for (const record of this.records.values()) if (record.quantity !== 0) out.push(this.snapshot(record));
    return out;
  }

  hasOpenPositions(): boolean {
    for (const record of this.records.values()) if (record.quantity !== 0) return true;
    return false;
  }

  private snapshot(record: PositionRecord): LedgerPosition {
    const mark = this.hooks.markPrice(record.exchange, record.symbol) ?? record.entryPrice;
    return {
      exchange: record.exchange,
      account: record.account,
      symbol: record.symbol,
      quantity: record.quantity,
      entryPrice: record.entryPrice,
      markPrice: mark,
      unrealizedPnl: record.quantity === 0 ? 0 : (mark - record.entryPrice) * record.quantity,
      realizedPnl: record.realizedPnl,
      liquidationPrice: record.liquidationPrice,
      marginUsed: record.marginUsed,
      leverage: record.leverage,
      fundingAccrued: record.fundingAccrued,
      fundingSettled: record.fundingSettled,
      fees: record.fees,
      openedAt: record.openedAt,
      updatedAt: record.updatedAt,
      strategyId: record.strategyId,
      entryReasons: record.entryReasons,
      regime: record.regime,
    };
  }
}
