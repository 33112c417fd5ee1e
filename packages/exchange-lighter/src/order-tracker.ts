/**
 * The adapter's view of its orders: one record per (account, client order index), updated from
 * venue order reports (whose filled amounts are cumulative) and from trades (one fill each).
 *
 * Fills come from trades, each trade id counted once; the record sums them, so every emitted fill
 * carries the order's cumulative quantity, fee and VWAP after it. Consumers (the ledger) take deltas
 * of those cumulative fields per order id, so a trade repeated after a reconnect never counts twice.
 */
import {
  addDecimals,
  BoundedSet,
  type Fill,
  multiplyDecimals,
  type Order,
  type OrderStatus,
  type OrderType,
  type Side,
  type TimeInForce,
} from '@perpkit/core';
import { tradeFee } from './units';
import type { WireOrder, WireTrade } from './wire';

export interface OrderRecord {
  readonly key: string;
  readonly id: string;
  readonly accountIndex: number;
  readonly clientIndex: number;
  readonly clientOrderId: string | undefined;
  readonly symbol: string;
  readonly side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  reduceOnly: boolean;
  quantity: number;
  price: number | undefined;
  status: OrderStatus;
  reason: string | undefined;
  /** The venue's cumulative filled base amount (exact decimal string). */
  venueFilled: string;
  venueFilledQuote: string;
  /** Sums of the trades seen for this order (exact decimal strings, fee as a number). */
  tradeQuantity: string;
  tradeNotional: string;
  tradeFee: number;
  expiresAt: number | undefined;
  createdAt: number;
  updatedAt: number;
  /** True once a report of the venue has been seen (submit waits for it). */
  reported: boolean;
}

/** Lighter order statuses → perpkit status and the venue-style reason a cancel carries. */
const CANCEL_REASONS: Readonly<Record<string, string>> = {
  canceled: 'CANCELLED',
  'canceled-post-only': 'POST_ONLY_WOULD_CROSS',
  'canceled-reduce-only': 'REDUCE_ONLY_WOULD_INCREASE',
  'canceled-position-not-allowed': 'POSITION_NOT_ALLOWED',
  'canceled-margin-not-allowed': 'INSUFFICIENT_MARGIN',
  'canceled-too-much-slippage': 'TOO_MUCH_SLIPPAGE',
  'canceled-not-enough-liquidity': 'NOT_ENOUGH_LIQUIDITY',
  'canceled-self-trade': 'SELF_TRADE',
  'canceled-expired': 'EXPIRED',
  'canceled-oco': 'CANCELLED_OCO',
  'canceled-child': 'CANCELLED_CHILD',
  'canceled-liquidation': 'LIQUIDATION',
  'canceled-invalid-balance': 'INVALID_BALANCE',
};

/** Statuses the venue gives orders it refused to place (nothing filled): reported as `rejected`. */
const REFUSALS = new Set([
  'canceled-post-only',
  'canceled-reduce-only',
  'canceled-position-not-allowed',
  'canceled-margin-not-allowed',
  'canceled-too-much-slippage',
  'canceled-not-enough-liquidity',
  'canceled-self-trade',
  'canceled-invalid-balance',
]);

export function mapStatus(
  status: string,
  filled: number,
): { status: OrderStatus; reason: string | undefined } | undefined {
  switch (status) {
    case 'in-progress':
    case 'pending':
      return { status: 'pending', reason: undefined };
    case 'open':
      return { status: filled > 0 ? 'partially-filled' : 'open', reason: undefined };
    case 'filled':
      return { status: 'filled', reason: undefined };
    case 'canceled-expired':
      return { status: 'expired', reason: 'EXPIRED' };
    default: {
      const reason = CANCEL_REASONS[status];
      if (reason === undefined) return undefined;
      return { status: REFUSALS.has(status) && filled === 0 ? 'rejected' : 'cancelled', reason };
    }
  }
}

export function mapTimeInForce(value: string): TimeInForce {
  if (value === 'immediate-or-cancel') return 'ioc';
  if (value === 'post-only') return 'post-only';
  return 'gtc';
}

/** Venue times are seconds in some payloads and milliseconds in others. */
export function toMillis(value: number | undefined, fallback: number): number {
  if (value === undefined || !Number.isFinite(value) || value <= 0) return fallback;
  return value < 1e11 ? value * 1000 : value > 1e14 ? Math.floor(value / 1000) : value;
}

const FINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected', 'expired']);

export function isFinal(status: OrderStatus): boolean {
  return FINAL.has(status);
}

export class OrderTracker {
  private readonly records = new Map<string, OrderRecord>();
  private readonly seenTrades = new BoundedSet<string>(100_000);
  private readonly finalKeys: string[] = [];

  constructor(
    private readonly exchangeId: string,
    /** The account id events carry for an account index. */
    private readonly accountId: (accountIndex: number) => string = String,
    private readonly retainFinal = 5_000,
  ) {}

  static key(accountIndex: number, clientIndex: number | string): string {
    return `${accountIndex}:${clientIndex}`;
  }

  get(accountIndex: number, clientIndex: number | string): OrderRecord | undefined {
    return this.records.get(OrderTracker.key(accountIndex, clientIndex));
  }

  open(accountIndex: number, symbol?: string): OrderRecord[] {
    return [...this.records.values()].filter(
      (record) =>
        record.accountIndex === accountIndex &&
        !isFinal(record.status) &&
        (symbol === undefined || record.symbol === symbol),
    );
  }

  /** A record for an order this adapter is about to send. */
  create(input: {
    accountIndex: number;
    clientIndex: number;
    clientOrderId: string | undefined;
    symbol: string;
    side: Side;
    type: OrderType;
    timeInForce: TimeInForce;
    reduceOnly: boolean;
    quantity: number;
    price: number | undefined;
    expiresAt: number | undefined;
    now: number;
    /** The order id when the venue gave no client order index (`o<order index>`, `t<trade id>`). */
    id?: string;
  }): OrderRecord {
    const id = input.id ?? String(input.clientIndex);
    const key = OrderTracker.key(input.accountIndex, id);
    const record: OrderRecord = {
      key,
      id,
      accountIndex: input.accountIndex,
      clientIndex: input.clientIndex,
      clientOrderId: input.clientOrderId,
      symbol: input.symbol,
      side: input.side,
      type: input.type,
      timeInForce: input.timeInForce,
      reduceOnly: input.reduceOnly,
      quantity: input.quantity,
      price: input.price,
      status: 'pending',
      reason: undefined,
      venueFilled: '0',
      venueFilledQuote: '0',
      tradeQuantity: '0',
      tradeNotional: '0',
      tradeFee: 0,
      expiresAt: input.expiresAt,
      createdAt: input.now,
      updatedAt: input.now,
      reported: false,
    };
    this.records.set(key, record);
    return record;
  }

  remove(record: OrderRecord): void {
    this.records.delete(record.key);
  }

  private retire(record: OrderRecord): void {
    this.finalKeys.push(record.key);
    while (this.finalKeys.length > this.retainFinal) {
      const key = this.finalKeys.shift() as string;
      const old = this.records.get(key);
      if (old && isFinal(old.status)) this.records.delete(key);
    }
  }

  /**
   * Applies a venue order report. Returns the record when something changed (status or cumulative
   * fill), undefined for a repeat or an unknown status.
   */
  applyOrder(accountIndex: number, symbol: string, wire: WireOrder, now: number): OrderRecord | undefined {
    const clientIndex = wire.client_order_index > 0 ? wire.client_order_index : `o${wire.order_index ?? 0}`;
    const filled = Number(wire.filled_base_amount);
    const mapped = mapStatus(wire.status, filled);
    if (!mapped) return undefined;
    let record = this.get(accountIndex, clientIndex);
    if (!record) {
      record = this.create({
        accountIndex,
        clientIndex: typeof clientIndex === 'number' ? clientIndex : 0,
        clientOrderId: undefined,
        symbol,
        side: wire.is_ask ? 'sell' : 'buy',
        type: wire.type === 'market' ? 'market' : 'limit',
        timeInForce: mapTimeInForce(wire.time_in_force),
        reduceOnly: wire.reduce_only,
        quantity: Number(wire.initial_base_amount),
        price: wire.type === 'market' ? undefined : Number(wire.price),
        expiresAt: wire.order_expiry && wire.order_expiry > 0 ? toMillis(wire.order_expiry, 0) : undefined,
        now: toMillis(wire.created_at ?? wire.timestamp, now),
        ...(typeof clientIndex === 'string' ? { id: clientIndex } : {}),
      });
    }
    const wasFinal = isFinal(record.status);
    if (wasFinal && record.reported) return undefined;
    const changed =
      !record.reported ||
      record.status !== mapped.status ||
      record.venueFilled !== wire.filled_base_amount ||
      record.venueFilledQuote !== wire.filled_quote_amount;
    if (!changed) return undefined;
    // Cumulative fields only grow: an older report arriving late must not roll them back.
    if (Number(wire.filled_base_amount) >= Number(record.venueFilled)) {
      record.venueFilled = wire.filled_base_amount;
      record.venueFilledQuote = wire.filled_quote_amount;
    }
    if (!(record.reported && isFinal(record.status) && !isFinal(mapped.status))) {
      record.status = mapped.status;
      record.reason = mapped.reason;
    }
    record.quantity = Number(wire.initial_base_amount);
    record.reported = true;
    record.updatedAt = Math.max(record.createdAt, toMillis(wire.updated_at ?? wire.timestamp, now));
    if (isFinal(record.status)) this.retire(record);
    return record;
  }

  /**
   * Applies a trade of one of our accounts; returns the fills it makes (two for a self-trade),
   * none for a trade seen before.
   */
  applyTrade(accountIndex: number, symbol: string, trade: WireTrade, now: number): Fill[] {
    const sides: { side: Side; clientIndex: number | undefined; maker: boolean }[] = [];
    if (trade.ask_account_id === accountIndex) {
      sides.push({ side: 'sell', clientIndex: trade.ask_client_id, maker: trade.is_maker_ask });
    }
    if (trade.bid_account_id === accountIndex) {
      sides.push({ side: 'buy', clientIndex: trade.bid_client_id, maker: !trade.is_maker_ask });
    }
    const fills: Fill[] = [];
    for (const { side, clientIndex, maker } of sides) {
      const seenKey = `${accountIndex}:${trade.trade_id}:${side}`;
      if (this.seenTrades.has(seenKey)) continue;
      this.seenTrades.add(seenKey);
      const orderKey = clientIndex !== undefined && clientIndex > 0 ? clientIndex : `t${trade.trade_id}`;
      let record = this.get(accountIndex, orderKey);
      if (!record) {
        record = this.create({
          accountIndex,
          clientIndex: typeof orderKey === 'number' ? orderKey : 0,
          clientOrderId: undefined,
          symbol,
          side,
          type: 'limit',
          timeInForce: 'gtc',
          reduceOnly: false,
          quantity: Number(trade.size),
          price: Number(trade.price),
          expiresAt: undefined,
          now,
          ...(typeof orderKey === 'string' ? { id: orderKey } : {}),
        });
      }
      const notional = trade.usd_amount ?? multiplyDecimals(trade.size, trade.price);
      const fee = tradeFee(Number(notional), maker ? trade.maker_fee : trade.taker_fee);
      record.tradeQuantity = addDecimals(record.tradeQuantity, trade.size);
      record.tradeNotional = addDecimals(record.tradeNotional, notional);
      record.tradeFee += fee;
      const cumulativeQuantity = Number(record.tradeQuantity);
      fills.push({
        id: `${trade.trade_id}:${side}`,
        orderId: record.id,
        ...(record.clientOrderId === undefined ? {} : { clientOrderId: record.clientOrderId }),
        exchange: this.exchangeId,
        account: this.accountId(accountIndex),
        symbol,
        side,
        price: Number(trade.price),
        quantity: Number(trade.size),
        fee,
        liquidity: maker ? 'maker' : 'taker',
        timestamp: toMillis(trade.timestamp, now),
        cumulativeQuantity,
        cumulativeFee: record.tradeFee,
        averagePrice: Number(record.tradeNotional) / cumulativeQuantity,
        reduceOnly: record.reduceOnly,
      });
    }
    return fills;
  }

  /** Whether one of our sides of the trade is an order this tracker holds. */
  knowsOrderOf(accountIndex: number, trade: WireTrade): boolean {
    const known = (clientIndex: number | undefined) =>
      clientIndex !== undefined && clientIndex > 0 && this.get(accountIndex, clientIndex) !== undefined;
    return (
      (trade.ask_account_id === accountIndex && known(trade.ask_client_id)) ||
      (trade.bid_account_id === accountIndex && known(trade.bid_client_id))
    );
  }

  /** Marks trades as seen without emitting them (history in the first snapshot after start). */
  markSeen(accountIndex: number, trade: WireTrade): void {
    if (trade.ask_account_id === accountIndex) this.seenTrades.add(`${accountIndex}:${trade.trade_id}:sell`);
    if (trade.bid_account_id === accountIndex) this.seenTrades.add(`${accountIndex}:${trade.trade_id}:buy`);
  }

  toOrder(record: OrderRecord): Order {
    const filled = Number(record.venueFilled);
    const tradeQuantity = Number(record.tradeQuantity);
    // The venue's cumulative fields lead; trades may lag a report by a message.
    const filledQuantity = Math.max(filled, tradeQuantity);
    const averagePrice =
      filled >= tradeQuantity && filled > 0
        ? Number(record.venueFilledQuote) / filled
        : tradeQuantity > 0
          ? Number(record.tradeNotional) / tradeQuantity
          : 0;
    return {
      id: record.id,
      ...(record.clientOrderId === undefined ? {} : { clientOrderId: record.clientOrderId }),
      exchange: this.exchangeId,
      account: this.accountId(record.accountIndex),
      symbol: record.symbol,
      side: record.side,
      type: record.type,
      timeInForce: record.timeInForce,
      reduceOnly: record.reduceOnly,
      quantity: record.quantity,
      ...(record.price === undefined ? {} : { price: record.price }),
      status: record.status,
      filledQuantity,
      averagePrice,
      fee: record.tradeFee,
      ...(record.reason === undefined ? {} : { reason: record.reason }),
      ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }
}
