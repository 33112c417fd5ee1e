import type { Exchange } from '../exchange';
import type { PhaseHold, PhaseManager } from '../phase';
import type { LatencyStats, LedgerPosition, StateView } from '../state';
import type { AccountSnapshot, Market, Order, RunMode, TradingPhase } from '../types';
import type { Ledger } from './ledger';
import type { MarketState } from './market-state';
import { InstrumentMap } from './nested-map';

/** Orders that are submitted and not final, plus submissions still awaiting their ack. */
export class OrderBookkeeping {
  readonly open = new Map<string, Order>();
  private readonly inflight = new InstrumentMap<number>();

  beginSubmit(exchange: string, symbol: string): void {
    this.inflight.set(exchange, symbol, (this.inflight.get(exchange, symbol) ?? 0) + 1);
  }

  endSubmit(exchange: string, symbol: string): void {
    this.inflight.set(exchange, symbol, Math.max(0, (this.inflight.get(exchange, symbol) ?? 0) - 1));
  }

  track(order: Order): void {
    if (order.status === 'open' || order.status === 'partially-filled' || order.status === 'pending') {
      this.open.set(order.id, order);
    } else {
      this.open.delete(order.id);
    }
  }

  pending(exchange: string, symbol: string, account?: string): boolean {
    if ((this.inflight.get(exchange, symbol) ?? 0) > 0) return true;
    if (this.open.size === 0) return false;
    for (const order of this.open.values()) {
      if (
        order.exchange === exchange &&
        order.symbol === symbol &&
        (account === undefined || order.account === account)
      )
        return true;
    }
    return false;
  }
}

/** The `StateView` the engine hands out: one object whose cycle fields the engine advances. */
export class EngineView implements StateView {
  now = 0;
  cycle = 0;
  phase: TradingPhase = 'active';
  consecutiveFailures = 0;
  phaseManager: PhaseManager | undefined;
  readonly latencies = new Map<string, LatencyStats>();
  readonly accountsByKey = new Map<string, AccountSnapshot>();
  readonly accountIds = new Map<string, readonly string[]>();
  /** Exchanges that can give a fresh local snapshot synchronously. */
  readonly liveAccounts = new Map<string, Exchange>();

  constructor(
    readonly mode: RunMode,
    private readonly marketState: MarketState,
    private readonly ledger: Ledger,
    private readonly orders: OrderBookkeeping,
  ) {}

  phaseHolds(): readonly PhaseHold[] {
    return this.phaseManager?.activeHolds() ?? [];
  }
  latency(exchange: string): LatencyStats | undefined {
    return this.latencies.get(exchange);
  }
  /** Folds one measured round trip into the exchange's stats. */
  recordLatency(exchange: string, milliseconds: number, at: number): void {
    const previous = this.latencies.get(exchange);
    this.latencies.set(exchange, {
      lastMs: milliseconds,
      averageMs: previous ? previous.averageMs * 0.8 + milliseconds * 0.2 : milliseconds,
      samples: (previous?.samples ?? 0) + 1,
      measuredAt: at,
    });
  }
  market(exchange: string, symbol: string): Market | undefined {
    return this.marketState.market(exchange, symbol);
  }
  markets() {
    return this.marketState.allMarkets();
  }
  ticker(exchange: string, symbol: string) {
    return this.marketState.ticker(exchange, symbol);
  }
  orderBook(exchange: string, symbol: string) {
    return this.marketState.orderBook(exchange, symbol);
  }
  candles(exchange: string, symbol: string) {
    return this.marketState.candles(exchange, symbol);
  }
  fundingRate(exchange: string, symbol: string) {
    return this.marketState.fundingRate(exchange, symbol);
  }
  referencePrice(exchange: string, symbol: string) {
    return this.marketState.referencePrice(exchange, symbol);
  }
  lastUpdate(exchange: string, symbol: string) {
    return this.marketState.lastUpdate(exchange, symbol);
  }
  account(exchange: string, account: string): AccountSnapshot | undefined {
    const live = this.liveAccounts.get(exchange)?.snapshotAccount?.(account);
    return live ?? this.accountsByKey.get(`${exchange}\u0000${account}`);
  }
  accounts(): AccountSnapshot[] {
    const out: AccountSnapshot[] = [];
    for (const [exchange, ids] of this.accountIds) {
      for (const id of ids) {
        const snapshot = this.account(exchange, id);
        if (snapshot) out.push(snapshot);
      }
    }
    return out;
  }
  defaultAccount(exchange: string) {
    return this.accountIds.get(exchange)?.[0];
  }
  position(exchange: string, symbol: string, account?: string): LedgerPosition | undefined {
    const resolved = account ?? this.defaultAccount(exchange);
    return resolved === undefined ? undefined : this.ledger.position(exchange, resolved, symbol);
  }
  positions() {
    return this.ledger.positions();
  }
  openOrders(exchange?: string, symbol?: string): readonly Order[] {
    const out: Order[] = [];
    for (const order of this.orders.open.values()) {
      if (
        (exchange === undefined || order.exchange === exchange) &&
        (symbol === undefined || order.symbol === symbol)
      )
        out.push(order);
    }
    return out;
  }
  hasPendingOrder(exchange: string, symbol: string, account?: string) {
    return this.orders.pending(exchange, symbol, account);
  }
}
