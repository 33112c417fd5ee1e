import type { Alert, ClosedTrade, Engine, OrderDeniedEvent, Signal, TradingPhase } from '@perpkit/core';

/** Keeps the newest `capacity` items. */
class Recent<Item> {
  private readonly items: Item[] = [];
  constructor(private readonly capacity: number) {}
  push(item: Item): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }
  list(): Item[] {
    return [...this.items].reverse();
  }
}

export interface DashboardState {
  readonly at: number;
  readonly runId: string;
  readonly mode: string;
  readonly dryRun: boolean;
  readonly phase: TradingPhase;
  readonly holds: readonly { source: string; phase: string; reason: string }[];
  readonly paused: { reason: string; source: string; since: number } | null;
  readonly cycle: number;
  readonly lastCycleAt: number | null;
  readonly consecutiveFailures: number;
  readonly accounts: readonly {
    exchange: string;
    account: string;
    equity: number;
    freeCollateral: number;
    marginUsed: number;
    healthRatio: number;
    leverage: number;
    unsettledPnl: number;
  }[];
  readonly positions: readonly {
    exchange: string;
    account: string;
    symbol: string;
    quantity: number;
    entryPrice: number;
    markPrice: number;
    unrealizedPnl: number;
    fees: number;
    fundingSettled: number;
    fundingAccrued: number;
    strategyId: string | null;
  }[];
  /** PnL split: price (realized + unrealized), fees paid, funding (settled and accrued apart). */
  readonly pnl: {
    price: number;
    realized: number;
    unrealized: number;
    fees: number;
    fundingSettled: number;
    fundingAccrued: number;
    net: number;
  };
  readonly equity: readonly [time: number, equity: number][];
  readonly signals: readonly {
    id: string;
    at: number;
    strategy: string;
    intent: string;
    symbol: string;
    side: string | null;
    reasons: string;
  }[];
  readonly denials: readonly { at: number; gate: string; code: string; message: string; symbol: string }[];
  readonly alerts: readonly { at: number; level: string; code: string; message: string; source: string }[];
  readonly trades: readonly {
    id: string;
    symbol: string;
    direction: string;
    netPnl: number;
    pricePnl: number;
    fees: number;
    funding: number;
    closedAt: number;
  }[];
  readonly approvals: readonly { id: string; summary: string; expiresAt: number }[];
  readonly counters: { orders: number; fills: number; denials: number };
  readonly replay?: { bars: number; lastBarAt: number | null; finished: boolean };
  readonly store?: { committed: number; pending: number };
}

/**
 * What the dashboard shows, kept up to date from engine events. Lists are bounded; the equity
 * history is sampled at most once per `equityEveryMs` of engine time.
 */
export class LiveState {
  private readonly signals = new Recent<DashboardState['signals'][number]>(50);
  private readonly denials = new Recent<DashboardState['denials'][number]>(50);
  private readonly alerts = new Recent<DashboardState['alerts'][number]>(50);
  private readonly trades = new Recent<DashboardState['trades'][number]>(50);
  private readonly equity: [number, number][] = [];
  private lastEquityAt = Number.NEGATIVE_INFINITY;
  private readonly counters = { orders: 0, fills: 0, denials: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly extras: {
      dryRun: boolean;
      replay?: () => { bars: number; lastBarAt?: number; finished: boolean };
      store?: () => { committed: number; pending: number };
      equityEveryMs?: number;
      maxEquityPoints?: number;
    },
  ) {
    const events = engine.events;
    events.on('signal', (signal: Signal) =>
      this.signals.push({
        id: signal.id,
        at: signal.createdAt,
        strategy: signal.strategyId,
        intent: signal.intent,
        symbol: `${signal.exchange}:${signal.symbol}`,
        side: signal.side ?? null,
        reasons: signal.reasons.map((reason) => `${reason.code}: ${reason.message}`).join('; '),
      }),
    );
    events.on('order:denied', (event: OrderDeniedEvent) => {
      this.counters.denials += 1;
      this.denials.push({
        at: event.at,
        gate: event.gate,
        code: event.code,
        message: event.message,
        symbol: `${event.signal.exchange}:${event.signal.symbol}`,
      });
    });
    events.on('alert', (alert: Alert) =>
      this.alerts.push({
        at: alert.timestamp,
        level: alert.level,
        code: alert.code,
        message: alert.message,
        source: alert.source,
      }),
    );
    events.on('trade:closed', (trade: ClosedTrade) =>
      this.trades.push({
        id: trade.id,
        symbol: `${trade.exchange}:${trade.symbol}`,
        direction: trade.direction,
        netPnl: trade.netPnl,
        pricePnl: trade.pricePnl,
        fees: trade.fees,
        funding: trade.funding,
        closedAt: trade.closedAt,
      }),
    );
    events.on('order:submitted', () => {
      this.counters.orders += 1;
    });
    events.on('fill', () => {
      this.counters.fills += 1;
    });
    events.on('cycle', () => this.sampleEquity());
  }

  private totalEquity(): number | undefined {
    const accounts = this.engine.state.accounts();
    if (accounts.length === 0) return undefined;
    return accounts.reduce((sum, account) => sum + account.equity, 0);
  }

  private sampleEquity(): void {
    const now = this.engine.state.now;
    if (now - this.lastEquityAt < (this.extras.equityEveryMs ?? 0)) return;
    const equity = this.totalEquity();
    if (equity === undefined) return;
    this.lastEquityAt = now;
    this.equity.push([now, equity]);
    const limit = this.extras.maxEquityPoints ?? 2000;
    if (this.equity.length > limit) this.equity.splice(0, this.equity.length - limit);
  }

  snapshot(): DashboardState {
    const engine = this.engine;
    const state = engine.state;
    const positions = state.positions();
    let unrealized = 0;
    let accrued = 0;
    for (const position of positions) {
      unrealized += position.unrealizedPnl;
      accrued += position.fundingAccrued ?? 0;
    }
    const totals = engine.ledger.totals;
    const replay = this.extras.replay?.();
    const store = this.extras.store?.();
    return {
      at: state.now,
      runId: engine.runId,
      mode: engine.mode,
      dryRun: this.extras.dryRun,
      phase: engine.phase,
      holds: state
        .phaseHolds()
        .map((hold) => ({ source: hold.source, phase: hold.phase, reason: hold.reason })),
      paused: engine.pausedState ? { ...engine.pausedState } : null,
      cycle: state.cycle,
      lastCycleAt: engine.lastCycleAt ?? null,
      consecutiveFailures: engine.consecutiveFailures,
      accounts: state.accounts().map((account) => ({
        exchange: account.exchange,
        account: account.account,
        equity: account.equity,
        freeCollateral: account.freeCollateral,
        marginUsed: account.marginUsed,
        healthRatio: account.healthRatio,
        leverage: account.leverage,
        unsettledPnl: account.unsettledPnl,
      })),
      positions: positions.map((position) => ({
        exchange: position.exchange,
        account: position.account,
        symbol: position.symbol,
        quantity: position.quantity,
        entryPrice: position.entryPrice,
        markPrice: position.markPrice,
        unrealizedPnl: position.unrealizedPnl,
        fees: position.fees,
        fundingSettled: position.fundingSettled,
        fundingAccrued: position.fundingAccrued ?? 0,
        strategyId: position.strategyId ?? null,
      })),
      pnl: {
        price: totals.realizedPnl + unrealized,
        realized: totals.realizedPnl,
        unrealized,
        fees: totals.fees,
        fundingSettled: totals.fundingSettled,
        fundingAccrued: accrued,
        net: totals.realizedPnl + unrealized - totals.fees + totals.fundingSettled + accrued,
      },
      equity: [...this.equity],
      signals: this.signals.list(),
      denials: this.denials.list(),
      alerts: this.alerts.list(),
      trades: this.trades.list(),
      approvals: engine.approvals
        .pending()
        .map((request) => ({ id: request.id, summary: request.summary, expiresAt: request.expiresAt })),
      counters: { ...this.counters },
      ...(replay
        ? { replay: { bars: replay.bars, lastBarAt: replay.lastBarAt ?? null, finished: replay.finished } }
        : {}),
      ...(store ? { store } : {}),
    };
  }
}
