import { EventEmitter } from 'eventemitter3';
import { ApprovalDesk } from '../approvals';
import { RetiringMap } from '../bounded';
import { type Clock, RealClock } from '../clock';
import { roundQuantity } from '../decimal';
import { describeError, EngineError, isPerpkitError, PerpkitError, PluginError } from '../errors';
import type {
  ClosedTrade,
  CycleReport,
  EngineEventName,
  EngineEvents,
  EngineStopEvent,
  OrderDeniedEvent,
} from '../events';
import type { Exchange, MarketDataChannel } from '../exchange';
import { type ExitRule, evaluateExitStack, sortExitRules } from '../exit';
import { type Logger, silentLogger } from '../logger';
import { MemoryBank, type MemorySnapshot } from '../memory';
import type { Monitor, MonitorReport } from '../monitor';
import { PhaseManager, phaseDecision } from '../phase';
import type { SetupContext } from '../plugin';
import type { OrderProposal, RiskDecision, RiskGate } from '../risk';
import { ServiceRegistry } from '../services';
import type { Signal, SignalInput } from '../signal';
import type { LedgerPosition } from '../state';
import { AUDIT_EVENTS, type AuditRecord, type EngineCheckpoint, type Store } from '../store';
import type { Strategy } from '../strategy';
import type { AccountSnapshot, Alert, Fill, HealthStatus, Order, RunMode, TradingPhase } from '../types';
import { Ledger, type LedgerState, type OrderOwner } from './ledger';
import { MarketState } from './market-state';
import { planSignal, resizeProposal } from './planner';
import { EngineView, OrderBookkeeping } from './view';

/** How to build one component (strategy, gate, rule, monitor) once the engine exists. */
export interface ComponentSpec<Component> {
  readonly id: string;
  create(context: SetupContext): Component;
}

export interface ShutdownOptions {
  /** Cancel every open order of every account on stop. Default true. */
  readonly cancelOpenOrders?: boolean;
  /** Close every open position with reduce-only market orders on stop. Default false. */
  readonly closePositions?: boolean;
  /** Upper bound for the whole shutdown, in ms. Default 30 000. */
  readonly timeoutMs?: number;
}

export interface EngineOptions {
  /** Default `paper`. */
  readonly mode?: RunMode;
  /** Default: the real clock. Backtests pass a `SimulatedClock`. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly exchanges: readonly Exchange[];
  readonly strategies?: readonly ComponentSpec<Strategy>[];
  readonly exitRules?: readonly ComponentSpec<ExitRule>[];
  /** Gates run in this order, after the built-in phase gate. */
  readonly riskGates?: readonly ComponentSpec<RiskGate>[];
  readonly monitors?: readonly ComponentSpec<Monitor>[];
  /** Time between cycles of `start()`'s loop, in clock ms. Default 1000. */
  readonly cycleIntervalMs?: number;
  /** Bars kept per instrument for `state.candles()`. Default 500. */
  readonly candleHistory?: number;
  /**
   * How often to poll `fetchAccount` for exchanges without an account stream, in clock ms.
   * Default 5000; 0 disables polling.
   */
  readonly accountRefreshMs?: number;
  /**
   * For exchanges that give synchronous snapshots (`snapshotAccount`), how often the engine emits
   * `account` events for the audit log and dashboards, in clock ms. Default 60 000; 0 disables.
   * (Other exchanges' own `account` events pass straight through.)
   */
  readonly accountEventIntervalMs?: number;
  /** Consecutive failed cycles before the engine halts itself. Default 5. */
  readonly maxConsecutiveFailures?: number;
  /** Exit rules do not fire (except layer 1) before a position is this old. Default 0. */
  readonly minHoldMs?: number;
  readonly runId?: string;
  readonly configHash?: string;
  /** Every audit event is appended here (see `AUDIT_EVENTS`). */
  readonly store?: Store;
  /** Plugin memory to start from (a restart hands back what the store kept). */
  readonly memory?: MemorySnapshot;
  /**
   * Resume from a checkpoint (`engine.checkpoint()` saved by a store before a restart): the
   * ledger's positions and round trips, open orders and who placed them, phase holds, plugin
   * memory (unless `memory` is given) and the state of venues that can import it (paper venues).
   * The venues are then reconciled against it on `init()`.
   */
  readonly restore?: EngineCheckpoint;
  /**
   * Dry run: everything runs (strategies, exits, planner, gates) but no order is sent; each order
   * that would have gone out is an `order:dry-run` event with its estimated costs.
   */
  readonly dryRun?: boolean;
  readonly shutdown?: ShutdownOptions;
}

interface PlannedSignal {
  readonly signal: Signal;
  /** 0: exits and risk-reducing intents (sent first), 1: everything else. */
  readonly stage: 0 | 1;
}

interface MonitorSlot {
  readonly monitor: Monitor;
  nextAt: number;
}

const FINAL_STATUSES = new Set(['filled', 'cancelled', 'rejected', 'expired']);
const NO_SIGNALS: readonly Signal[] = Object.freeze([]);
const NO_STRATEGIES: readonly { id: string; strategy: Strategy }[] = Object.freeze([]);

type GateVerdict = { readonly allowed: true; readonly proposal: OrderProposal } | { readonly allowed: false };
const DENIED: GateVerdict = Object.freeze({ allowed: false });

/**
 * The cycle loop. One cycle:
 *
 *   state (already updated by exchange events) → strategies → exit rules → order planner
 *   → phase gate + risk gates → executor → (fills update the ledger as events) → monitors
 *
 * Exits and risk-reducing orders are sent before new entries; a strategy signal on an instrument
 * whose position an exit rule closes this tick is superseded. Each stage's errors are contained: the
 * cycle is counted as failed and the loop goes on; `maxConsecutiveFailures` failed cycles in a row
 * halt the engine with a critical alert.
 */
export class Engine {
  readonly events = new EventEmitter<EngineEvents>();
  readonly mode: RunMode;
  readonly clock: Clock;
  readonly runId: string;
  readonly state: EngineView;
  readonly ledger: Ledger;
  /** Phase holds and transitions (see `PhaseManager`). */
  readonly phases: PhaseManager;
  /** Human confirmations requested by gates; the runner's console and dashboard answer them. */
  readonly approvals: ApprovalDesk;
  /** Durable plugin memory; every change is a `memory` event. */
  readonly memory: MemoryBank;
  /** Services the components of this engine share (`SetupContext.services`). */
  readonly services = new ServiceRegistry();

  private readonly logger: Logger;
  private readonly exchanges = new Map<string, Exchange>();
  private readonly marketState: MarketState;
  private readonly orders = new OrderBookkeeping();
  /** Who placed each order, by client order id (known before the ack) and by venue order id. */
  private readonly ownersByClientId = new RetiringMap<string, OrderOwner>();
  private readonly ownersByOrderId = new RetiringMap<string, OrderOwner>();
  private readonly cycleIntervalMs: number;
  private readonly accountRefreshMs: number;
  private readonly accountEventIntervalMs: number;
  private nextAccountEventAt = 0;
  private readonly maxConsecutiveFailures: number;
  private readonly minHoldMs: number;
  private readonly shutdown: Required<ShutdownOptions>;

  private strategies: { id: string; strategy: Strategy }[] = [];
  private exitRules: ExitRule[] = [];
  private riskGates: RiskGate[] = [];
  private gateUpdates: RiskGate[] = [];
  private monitors: MonitorSlot[] = [];
  private nextMonitorAt = Number.POSITIVE_INFINITY;

  private paused: { reason: string; source: string; since: number } | undefined;
  /** When each (exchange, error code) last raised an alert. */
  private readonly exchangeAlertAt = new Map<string, number>();
  private initialized = false;
  private initializing: Promise<void> | undefined;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private stopping: Promise<EngineStopEvent> | undefined;
  private readonly abort = new AbortController();
  private cycleInFlight: Promise<CycleReport> | undefined;
  private sequence = 0;
  private nextAccountRefreshAt = 0;
  private accountPollExchanges: Exchange[] = [];
  private consecutiveFailuresCount = 0;
  private lastCycle: CycleReport | undefined;
  private lastCycleAtTime: number | undefined;
  /** Signals queued outside a cycle (emergency closes, operator actions), sent first next cycle. */
  private queued: Signal[] = [];
  /** Proposals waiting for an asynchronous gate (a human, a model); they never block the loop. */
  private readonly parked = new Set<Promise<void>>();
  private readonly options: EngineOptions;

  constructor(options: EngineOptions) {
    this.options = options;
    this.mode = options.mode ?? 'paper';
    this.clock = options.clock ?? new RealClock();
    this.logger = options.logger ?? silentLogger;
    this.runId = options.runId ?? `run-${Date.now().toString(36)}`;
    this.cycleIntervalMs = options.cycleIntervalMs ?? 1000;
    this.accountRefreshMs = options.accountRefreshMs ?? 5000;
    this.accountEventIntervalMs = options.accountEventIntervalMs ?? 60_000;
    this.maxConsecutiveFailures = options.maxConsecutiveFailures ?? 5;
    this.minHoldMs = options.minHoldMs ?? 0;
    this.shutdown = {
      cancelOpenOrders: options.shutdown?.cancelOpenOrders ?? true,
      closePositions: options.shutdown?.closePositions ?? false,
      timeoutMs: options.shutdown?.timeoutMs ?? 30_000,
    };
    for (const exchange of options.exchanges) {
      if (this.exchanges.has(exchange.id)) {
        throw new EngineError('INVALID_ARGUMENT', `two exchanges share the id "${exchange.id}"`);
      }
      this.exchanges.set(exchange.id, exchange);
    }
    this.marketState = new MarketState(options.candleHistory ?? 500);
    this.ledger = new Ledger({
      lotSize: (exchange, symbol) => this.marketState.market(exchange, symbol)?.lotSize,
      markPrice: (exchange, symbol) => this.marketState.referencePrice(exchange, symbol),
      onPosition: (position) => this.emit('position', position),
      onTradeClosed: (trade: ClosedTrade) => this.emit('trade:closed', trade),
    });
    this.state = new EngineView(this.mode, this.marketState, this.ledger, this.orders);
    this.state.now = this.clock.now();
    this.phases = new PhaseManager((change) => {
      this.state.phase = change.to;
      this.logger.warn('phase change', { ...change });
      this.emit('phase', change);
      if (change.to !== 'active') this.queueEntryCancels(change.to);
    });
    this.state.phaseManager = this.phases;
    this.approvals = new ApprovalDesk(this.clock, (event) => {
      if ('requested' in event) this.emit('approval:requested', event.requested);
      else this.emit('approval:resolved', event.resolved);
    });
    this.memory = new MemoryBank(options.memory ?? options.restore?.memory, (change) =>
      this.emit('memory', { at: this.clock.now(), ...change }),
    );
    if (options.store) this.attachStore(options.store);
    if (options.restore) this.restoreCheckpoint(options.restore);
  }

  /** Ledger, open orders and phase holds from a checkpoint; venues are restored on `init()`. */
  private restoreCheckpoint(checkpoint: EngineCheckpoint): void {
    this.ledger.restoreState(checkpoint.ledger as LedgerState);
    for (const { order, owner } of checkpoint.openOrders) {
      this.orders.track(order);
      if (owner) {
        this.ownersByOrderId.set(order.id, owner);
        if (order.clientOrderId !== undefined) this.ownersByClientId.set(order.clientOrderId, owner);
      }
    }
    this.phases.restoreState(checkpoint.phase, this.clock.now());
  }

  /**
   * Everything needed to resume after a restart (see `EngineOptions.restore`). Stores that keep
   * state call it when they commit, so the checkpoint matches the audit log it is written with.
   */
  checkpoint(): EngineCheckpoint {
    const venues: Record<string, unknown> = {};
    for (const exchange of this.exchanges.values()) {
      if (typeof exchange.exportState === 'function') venues[exchange.id] = exchange.exportState();
    }
    const openOrders: { order: Order; owner?: OrderOwner }[] = [];
    for (const order of this.orders.open.values()) {
      const owner = this.ownerOf(order.id, order.clientOrderId);
      openOrders.push(owner ? { order, owner } : { order });
    }
    return {
      at: this.clock.now(),
      runId: this.runId,
      ledger: this.ledger.exportState(),
      openOrders,
      phase: this.phases.exportState(),
      memory: this.memory.snapshot(),
      venues,
    };
  }

  /**
   * Pauses strategies: no strategy runs and no new strategy signal is made until `resume()`.
   * Protection keeps working: exit rules, monitors, operator and emergency signals still run.
   */
  pause(reason: string, source = 'operator'): void {
    if (this.paused) return;
    this.paused = { reason, source, since: this.clock.now() };
    this.logger.warn('strategies paused', { reason, source });
    this.emit('engine:paused', { at: this.clock.now(), paused: true, reason, source });
  }

  resume(reason = 'resumed', source = 'operator'): void {
    if (!this.paused) return;
    this.paused = undefined;
    this.logger.warn('strategies resumed', { reason, source });
    this.emit('engine:paused', { at: this.clock.now(), paused: false, reason, source });
  }

  /** Why and since when strategies are paused, if they are. */
  get pausedState():
    | { readonly reason: string; readonly source: string; readonly since: number }
    | undefined {
    return this.paused;
  }

  /**
   * Health of every component that reports it (exchanges, strategies, gates, monitors). A check
   * that throws counts as failed.
   */
  async health(): Promise<readonly (HealthStatus & { readonly component: string })[]> {
    const checks: { component: string; check: () => HealthStatus | Promise<HealthStatus> }[] = [];
    for (const exchange of this.exchanges.values())
      if (exchange.health)
        checks.push({ component: `exchange:${exchange.id}`, check: () => exchange.health!() });
    for (const { id, strategy } of this.strategies)
      if (strategy.health) checks.push({ component: `strategy:${id}`, check: () => strategy.health!() });
    for (const gate of this.riskGates)
      if (gate.health) checks.push({ component: `gate:${gate.name}`, check: () => gate.health!() });
    for (const { monitor } of this.monitors)
      if (monitor.health)
        checks.push({ component: `monitor:${monitor.name}`, check: () => monitor.health!() });
    const results: (HealthStatus & { component: string })[] = [];
    for (const { component, check } of checks) {
      try {
        results.push({ component, ...(await check()) });
      } catch (error) {
        results.push({
          component,
          ok: false,
          message: `health check threw: ${describeError(error).message}`,
        });
      }
    }
    return results;
  }

  get phase(): TradingPhase {
    return this.state.phase;
  }

  get consecutiveFailures(): number {
    return this.consecutiveFailuresCount;
  }

  /** The last finished cycle's report. */
  get lastCycleReport(): CycleReport | undefined {
    return this.lastCycle;
  }

  /** Engine-clock time the last cycle finished. */
  get lastCycleAt(): number | undefined {
    return this.lastCycleAtTime;
  }

  get isRunning(): boolean {
    return this.running;
  }

  exchange(id: string): Exchange | undefined {
    return this.exchanges.get(id);
  }

  private emit<Name extends EngineEventName>(event: Name, data: Parameters<EngineEvents[Name]>[0]): void {
    // Every engine event has exactly one argument; listener errors must not break the engine.
    try {
      (this.events.emit as (event: string, data: unknown) => boolean)(event, data);
    } catch (error) {
      this.logger.error('engine event listener threw', { event, error: describeError(error) });
    }
  }

  private attachStore(store: Store): void {
    for (const type of AUDIT_EVENTS) {
      this.events.on(type, (data: unknown) => {
        store.append({
          type,
          at: this.clock.now(),
          runId: this.runId,
          configHash: this.options.configHash,
          data,
        } as AuditRecord);
      });
    }
  }

  private setupContext(id: string): SetupContext {
    return {
      id,
      mode: this.mode,
      clock: this.clock,
      logger: this.logger.child({ component: id }),
      state: this.state,
      events: this.events,
      approvals: this.approvals,
      memory: this.memory.forComponent(id),
      record: (kind, data) => this.emit('plugin:record', { at: this.clock.now(), component: id, kind, data }),
      services: this.services,
    };
  }

  private build<Component>(kind: string, spec: ComponentSpec<Component>): Component {
    try {
      return spec.create(this.setupContext(spec.id));
    } catch (error) {
      if (isPerpkitError(error)) throw error;
      throw new PluginError(
        'PLUGIN_SETUP_FAILED',
        `${kind} "${spec.id}" failed to set up: ${describeError(error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Connects exchanges, loads markets, adopts what the venues already hold (positions and open
   * orders are adopted and flagged with an alert, never ignored), builds the components and
   * subscribes to market data. Idempotent.
   */
  init(): Promise<void> {
    if (this.initialized) return Promise.resolve();
    this.initializing ??= this.initialize();
    return this.initializing;
  }

  private async initialize(): Promise<void> {
    for (const exchange of this.exchanges.values()) this.listen(exchange);
    const savedVenues = this.options.restore?.venues ?? {};
    for (const exchange of this.exchanges.values()) {
      const saved = savedVenues[exchange.id];
      if (saved !== undefined && typeof exchange.importState === 'function') exchange.importState(saved);
    }
    for (const exchange of this.exchanges.values()) {
      await exchange.connect();
      this.marketState.addMarkets(await exchange.fetchMarkets());
      this.state.accountIds.set(exchange.id, exchange.accounts());
      if (typeof exchange.snapshotAccount === 'function') this.state.liveAccounts.set(exchange.id, exchange);
      if (!exchange.capabilities.streams.account) this.accountPollExchanges.push(exchange);
    }
    this.state.now = this.clock.now();
    await this.syncAccounts(true);

    this.strategies = (this.options.strategies ?? []).map((spec) => ({
      id: spec.id,
      strategy: this.build('strategy', spec),
    }));
    this.exitRules = sortExitRules(
      (this.options.exitRules ?? []).map((spec) => this.build('exit rule', spec)),
    );
    this.riskGates = (this.options.riskGates ?? []).map((spec) => this.build('risk gate', spec));
    this.gateUpdates = this.riskGates.filter((gate) => typeof gate.update === 'function');
    const now = this.clock.now();
    this.monitors = (this.options.monitors ?? []).map((spec) => ({
      monitor: this.build('monitor', spec),
      nextAt: now,
    }));
    this.recomputeNextMonitor();

    await this.subscribeMarketData();
    this.initialized = true;
    this.emit('engine:start', {
      at: this.clock.now(),
      mode: this.mode,
      runId: this.runId,
      ...(this.options.configHash === undefined ? {} : { configHash: this.options.configHash }),
    });
  }

  private async subscribeMarketData(): Promise<void> {
    const wanted = new Map<string, { exchange: Exchange; symbol: string; channel: MarketDataChannel }>();
    for (const { strategy } of this.strategies) {
      for (const instrument of strategy.instruments ?? []) {
        const exchange = this.exchanges.get(instrument.exchange);
        if (!exchange) {
          throw new EngineError(
            'INVALID_ARGUMENT',
            `a strategy needs exchange "${instrument.exchange}", which is not configured`,
          );
        }
        for (const channel of instrument.channels ?? ['ticker', 'fundingRate']) {
          if (!exchange.capabilities.streams[channel]) continue;
          wanted.set(`${exchange.id}\u0000${instrument.symbol}\u0000${channel}`, {
            exchange,
            symbol: instrument.symbol,
            channel,
          });
        }
      }
    }
    // Positions the account already holds (restored or adopted at boot) need prices too, even when
    // no strategy trades them: exit rules and monitors (a health reduce) must be able to close them.
    for (const position of this.ledger.positions()) {
      const exchange = this.exchanges.get(position.exchange);
      if (!exchange?.capabilities.streams.ticker) continue;
      wanted.set(`${exchange.id}\u0000${position.symbol}\u0000ticker`, {
        exchange,
        symbol: position.symbol,
        channel: 'ticker',
      });
    }
    const priced = new Set<string>();
    for (const { exchange, symbol, channel } of wanted.values()) {
      await exchange.subscribe({ channel, symbol });
      // Seed a price so the first cycle does not run blind.
      const key = `${exchange.id}\u0000${symbol}`;
      if (priced.has(key)) continue;
      priced.add(key);
      if (this.marketState.referencePrice(exchange.id, symbol) === undefined)
        this.marketState.onTicker(await exchange.fetchTicker(symbol));
    }
  }

  private listen(exchange: Exchange): void {
    const events = exchange.events;
    const market = this.marketState;
    events.on('ticker', (ticker) => market.onTicker(ticker));
    events.on('orderBook', (book) => market.onOrderBook(book));
    events.on('candle', (candle) => market.onCandle(candle));
    events.on('fundingRate', (rate) => market.onFundingRate(rate));
    events.on('order', (order) => this.onOrder(order));
    events.on('fill', (fill) => this.onFill(fill));
    events.on('funding', (payment) => {
      this.ledger.applyFunding(payment);
      this.emit('funding', payment);
      for (const { strategy } of this.strategies) strategy.onFunding?.(payment, this.state);
    });
    events.on('position', (position) => this.ledger.updateVenueFields(position));
    // Exchanges with synchronous snapshots are read on demand and sampled on an interval; their
    // per-change account events would cost a snapshot per fill for nothing.
    if (typeof exchange.snapshotAccount !== 'function')
      events.on('account', (snapshot) => this.onAccount(snapshot));
    events.on('liquidation', (liquidation) => {
      this.ledger.markExternalExit(
        liquidation.exchange,
        liquidation.account,
        liquidation.symbol,
        'LIQUIDATION',
      );
      this.emit('liquidation', liquidation);
    });
    events.on('balance', (change) => this.emit('balance', change));
    events.on('error', (error) => {
      const described = describeError(error);
      this.logger.warn('exchange error', { exchange: exchange.id, error: described });
      // An asynchronous venue problem (a dropped stream, a transaction of unknown outcome) is an
      // alert the operator sees; the same problem again within a minute is only logged.
      const key = `${exchange.id}\u0000${described.code}`;
      const now = this.clock.now();
      const last = this.exchangeAlertAt.get(key);
      if (last !== undefined && now - last < 60_000) return;
      this.exchangeAlertAt.set(key, now);
      this.raiseAlert(`exchange:${exchange.id}`, {
        level: described.retryable ? 'warning' : 'critical',
        code: described.code,
        message: described.message,
      });
    });
  }

  private onAccount(snapshot: AccountSnapshot): void {
    this.state.accountsByKey.set(`${snapshot.exchange}\u0000${snapshot.account}`, snapshot);
    this.emit('account', snapshot);
  }

  private ownerOf(orderId: string, clientOrderId: string | undefined): OrderOwner | undefined {
    return (
      this.ownersByOrderId.get(orderId) ??
      (clientOrderId === undefined ? undefined : this.ownersByClientId.get(clientOrderId))
    );
  }

  private onOrder(order: Order): void {
    this.orders.track(order);
    let owner = this.ownersByOrderId.get(order.id);
    if (!owner && order.clientOrderId !== undefined) {
      owner = this.ownersByClientId.get(order.clientOrderId);
      if (owner) this.ownersByOrderId.set(order.id, owner);
    }
    if (FINAL_STATUSES.has(order.status)) {
      this.ownersByOrderId.retire(order.id);
      if (order.clientOrderId !== undefined) this.ownersByClientId.retire(order.clientOrderId);
      this.ledger.retireOrder(order.id);
    }
    this.emit('order:update', order);
    if (owner?.strategyId !== undefined) this.strategyById(owner.strategyId)?.onOrder?.(order, this.state);
  }

  private onFill(fill: Fill): void {
    const owner = this.ownerOf(fill.orderId, fill.clientOrderId);
    const applied = this.ledger.applyFill(fill, owner);
    if (!applied) return;
    this.emit('fill', fill);
    if (owner?.strategyId !== undefined) this.strategyById(owner.strategyId)?.onFill?.(fill, this.state);
  }

  private strategyById(id: string): Strategy | undefined {
    for (const entry of this.strategies) if (entry.id === id) return entry.strategy;
    return undefined;
  }

  /**
   * Pulls account snapshots (and, on boot, positions and open orders) from exchanges without
   * streams, and makes the ledger agree with them: the venue is the source of truth, and every
   * difference is an alert, never silently ignored.
   */
  private async syncAccounts(boot: boolean): Promise<void> {
    const exchanges = boot ? [...this.exchanges.values()] : this.accountPollExchanges;
    for (const exchange of exchanges) {
      for (const account of exchange.accounts()) {
        const snapshot = await exchange.fetchAccount(account);
        this.onAccount(snapshot);
        const held = new Set(snapshot.positions.map((position) => position.symbol));
        for (const position of this.ledger.accountPositions(exchange.id, account)) {
          if (held.has(position.symbol)) continue;
          if (!boot && this.orders.pending(exchange.id, position.symbol, account)) continue;
          // The ledger holds a position the venue does not (closed while we were away).
          this.ledger.reconcile(
            { ...position, quantity: 0, updatedAt: snapshot.timestamp },
            this.clock.now(),
          );
          this.raiseAlert('engine', {
            level: 'warning',
            code: 'POSITION_RECONCILED',
            message: `${exchange.id}/${account} ${position.symbol}: venue is flat, engine had ${position.quantity}`,
            data: {
              exchange: exchange.id,
              account,
              symbol: position.symbol,
              venue: 0,
              engine: position.quantity,
            },
          });
        }
        for (const position of snapshot.positions) {
          if (!boot && this.orders.pending(exchange.id, position.symbol, account)) continue;
          const before = this.ledger.reconcile(position, this.clock.now());
          if (before !== undefined) {
            this.raiseAlert('engine', {
              level: 'warning',
              code: boot ? 'POSITION_ADOPTED' : 'POSITION_RECONCILED',
              message: `${exchange.id}/${account} ${position.symbol}: venue holds ${position.quantity}, engine had ${before}`,
              data: {
                exchange: exchange.id,
                account,
                symbol: position.symbol,
                venue: position.quantity,
                engine: before,
              },
            });
          }
        }
        if (boot) {
          const venueOrders = await exchange.fetchOpenOrders(account);
          const venueIds = new Set(venueOrders.map((order) => order.id));
          for (const known of [...this.orders.open.values()]) {
            if (known.exchange !== exchange.id || known.account !== account || venueIds.has(known.id))
              continue;
            // A restored order that is no longer open: it ended while we were away.
            const final = await exchange.fetchOrder(account, known.id).catch(() => undefined);
            this.onOrder(
              final && FINAL_STATUSES.has(final.status) ? final : { ...known, status: 'cancelled' },
            );
          }
          for (const order of venueOrders) {
            if (this.orders.open.has(order.id)) {
              this.orders.track(order);
              continue;
            }
            this.orders.track(order);
            this.raiseAlert('engine', {
              level: 'warning',
              code: 'ORDER_ADOPTED',
              message: `${exchange.id}/${account} has open order ${order.id} (${order.side} ${order.quantity} ${order.symbol}) the engine did not place`,
              data: { exchange: exchange.id, account, orderId: order.id },
            });
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- phases and alerts

  /**
   * The operator sets the phase: any transition is allowed, and `active` clears every rule's hold.
   */
  setPhase(to: TradingPhase, reason: string, source = 'operator'): void {
    this.phases.set(to, reason, source, this.clock.now());
  }

  /**
   * A rule asks for a phase: `reducing` or `halted` places (or changes) its hold; `active`
   * releases it. Rules never lower the phase below another rule's hold.
   */
  requestPhase(to: TradingPhase, reason: string, source: string): void {
    if (to === 'active') this.phases.release(source, reason, this.clock.now());
    else this.phases.hold(source, to, reason, this.clock.now());
  }

  /**
   * Emergency mode: halt, and close every open position with emergency reduce-only market orders
   * at the start of the next cycle (emergency risk-reducing orders pass the halted phase).
   */
  emergency(reason: string, source: string): void {
    this.phases.hold(source, 'halted', `emergency: ${reason}`, this.clock.now());
    this.raiseAlert(source, { level: 'critical', code: 'EMERGENCY', message: `emergency mode: ${reason}` });
    for (const position of this.ledger.positions()) {
      this.queued.push(
        this.stamp(
          {
            intent: 'close',
            exchange: position.exchange,
            symbol: position.symbol,
            account: position.account,
            urgency: 'emergency',
            reasons: [{ code: 'EMERGENCY_CLOSE', message: reason }],
          },
          source,
        ),
      );
    }
  }

  /**
   * Outside `active`, resting orders that would add risk must not fill: each instrument with such
   * orders gets a cancel signal at the start of the next cycle (cancels always go out).
   */
  private queueEntryCancels(phase: TradingPhase): void {
    const instruments = new Map<string, Order>();
    for (const order of this.orders.open.values())
      if (!order.reduceOnly)
        instruments.set(`${order.exchange}\u0000${order.account}\u0000${order.symbol}`, order);
    for (const order of instruments.values()) {
      this.queued.push(
        this.stamp(
          {
            intent: 'cancel',
            exchange: order.exchange,
            symbol: order.symbol,
            account: order.account,
            riskIncreasingOnly: true,
            urgency: 'high',
            reasons: [
              { code: 'PHASE_CANCEL', message: `phase is ${phase}: cancelling resting orders that add risk` },
            ],
          },
          'engine',
        ),
      );
    }
  }

  /** Queues a signal from outside the strategies (an operator's close button); it runs next cycle. */
  enqueueSignal(input: SignalInput, source = 'operator'): Signal {
    const signal = this.stamp(input, source);
    this.queued.push(signal);
    return signal;
  }

  raiseAlert(source: string, input: Omit<Alert, 'id' | 'source' | 'timestamp'>): Alert {
    this.sequence += 1;
    const alert: Alert = Object.freeze({
      id: `A${this.sequence}`,
      source,
      timestamp: this.clock.now(),
      ...input,
    });
    const log = alert.level === 'critical' ? 'error' : alert.level === 'warning' ? 'warn' : 'info';
    this.logger[log](`alert ${alert.code}: ${alert.message}`, { source });
    this.emit('alert', alert);
    return alert;
  }

  // ---------------------------------------------------------------- the cycle

  /** Runs one cycle now. Backtests call this once per bar; `start()` calls it on an interval. */
  runCycle(): Promise<CycleReport> {
    const result = this.cycle();
    return result instanceof Promise ? result : Promise.resolve(result);
  }

  /**
   * One cycle; synchronous when there is nothing to send and no monitor is due (the common case
   * in backtests), a promise otherwise. Callers that care about speed check for a promise.
   */
  cycle(): CycleReport | Promise<CycleReport> {
    if (!this.initialized) throw new EngineError('ENGINE_STATE', 'call init() before running cycles');
    if (this.cycleInFlight) throw new EngineError('ENGINE_STATE', 'a cycle is already running');
    // Wall-clock timing only when someone reads cycle reports (it costs as much as a quiet bar).
    const startedWall = this.events.listenerCount('cycle') > 0 ? performance.now() : 0;
    const state = this.state;
    state.now = this.clock.now();
    state.cycle += 1;
    const failures: string[] = [];

    const needsAccounts =
      this.accountPollExchanges.length > 0 &&
      this.accountRefreshMs > 0 &&
      state.now >= this.nextAccountRefreshAt;
    if (needsAccounts) return this.track(this.slowCycle(startedWall, failures, true));

    if (this.gateUpdates.length > 0) this.updateGates(failures);
    const planned = this.collectSignals(failures);
    if (planned.length === 0 && state.now < this.nextMonitorAt)
      return this.finishCycle(startedWall, failures, 0, 0, 0);
    return this.track(this.processCycle(startedWall, failures, planned));
  }

  private track(promise: Promise<CycleReport>): Promise<CycleReport> {
    this.cycleInFlight = promise;
    return promise.finally(() => {
      this.cycleInFlight = undefined;
    });
  }

  private async slowCycle(
    startedWall: number,
    failures: string[],
    refreshAccounts: boolean,
  ): Promise<CycleReport> {
    if (refreshAccounts) {
      this.nextAccountRefreshAt = this.state.now + this.accountRefreshMs;
      try {
        await this.syncAccounts(false);
      } catch (error) {
        this.recordFailure('accounts', error, failures);
      }
    }
    if (this.gateUpdates.length > 0) this.updateGates(failures);
    return this.processCycle(startedWall, failures, this.collectSignals(failures));
  }

  /** Gates with an `update` hook review state once per cycle and may hold or release the phase. */
  private updateGates(failures: string[]): void {
    for (const gate of this.gateUpdates) {
      try {
        const result = gate.update?.(this.state);
        if (result?.phase) this.requestPhase(result.phase.to, result.phase.reason, `gate:${gate.name}`);
      } catch (error) {
        this.recordFailure(`gate:${gate.name}`, error, failures);
      }
    }
  }

  /** Strategy signals and exit decisions, ordered: exits, then risk-reducing intents, then the rest. */
  private collectSignals(failures: string[]): PlannedSignal[] {
    const state = this.state;
    let strategySignals: Signal[] | undefined;
    const strategies = this.paused ? NO_STRATEGIES : this.strategies;
    for (const { id, strategy } of strategies) {
      let inputs: readonly SignalInput[] | undefined;
      try {
        inputs = strategy.onCycle(state);
      } catch (error) {
        this.recordFailure(`strategy:${id}`, error, failures);
        continue;
      }
      if (!inputs || inputs.length === 0) continue;
      strategySignals ??= [];
      for (const input of inputs) strategySignals.push(this.stamp(input, id));
    }

    let exits =
      this.exitRules.length > 0 && this.ledger.hasOpenPositions() ? this.evaluateExits(failures) : NO_SIGNALS;
    if (this.queued.length > 0) {
      // Emergency and operator signals go first and decide their positions like exits do.
      const queued = this.queued;
      this.queued = [];
      for (const signal of queued) this.emit('signal', signal);
      exits = [...queued, ...exits];
    }
    if (!strategySignals && exits.length === 0) return [];

    const planned: PlannedSignal[] = [];
    let exiting: Set<string> | undefined;
    for (const signal of exits) {
      exiting ??= new Set();
      exiting.add(`${signal.exchange}\u0000${signal.symbol}`);
      planned.push({ signal, stage: 0 });
    }
    const entries: PlannedSignal[] = [];
    for (const signal of strategySignals ?? []) {
      this.emit('signal', signal);
      if (exiting?.has(`${signal.exchange}\u0000${signal.symbol}`)) {
        this.denySignal(
          signal,
          'engine',
          'SUPERSEDED_BY_EXIT',
          'an exit rule decided this position this tick',
        );
        continue;
      }
      const reducing = signal.intent === 'close' || signal.intent === 'reduce';
      (reducing ? planned : entries).push({ signal, stage: reducing ? 0 : 1 });
    }
    for (const entry of entries) planned.push(entry);
    return planned;
  }

  private evaluateExits(failures: string[]): Signal[] {
    const state = this.state;
    const out: Signal[] = [];
    for (const position of this.ledger.positions()) {
      if (this.orders.pending(position.exchange, position.symbol, position.account)) continue;
      let evaluation: ReturnType<typeof evaluateExitStack<LedgerPosition>>;
      try {
        evaluation = evaluateExitStack(this.exitRules, position, state, {
          heldMs: state.now - position.openedAt,
          minHoldMs: this.minHoldMs,
        });
      } catch (error) {
        this.recordFailure('exit', error, failures);
        continue;
      }
      if (!evaluation) continue;
      const { rule, decision } = evaluation;
      const signal = this.stamp(
        {
          intent: decision.action,
          exchange: position.exchange,
          symbol: position.symbol,
          account: position.account,
          quantity: decision.quantity,
          fraction: decision.fraction,
          targetQuantity: decision.targetQuantity,
          urgency: decision.urgency ?? (rule.layer === 1 ? 'emergency' : 'normal'),
          reasons: [{ code: decision.code, message: decision.message }],
          metadata: { exitRule: rule.name, exitLayer: rule.layer },
        },
        `exit:${rule.name}`,
      );
      this.emit('signal', signal);
      this.emit('exit', { signal, rule: rule.name, layer: rule.layer, code: decision.code, position });
      out.push(signal);
    }
    return out;
  }

  private stamp(input: SignalInput, strategyId: string): Signal {
    this.sequence += 1;
    // An explicit literal: V8 is slow at `{ ...input, more }` when input shapes vary.
    return {
      intent: input.intent,
      exchange: input.exchange,
      symbol: input.symbol,
      account: input.account,
      side: input.side,
      quantity: input.quantity,
      notional: input.notional,
      fraction: input.fraction,
      targetQuantity: input.targetQuantity,
      orderType: input.orderType ?? 'market',
      price: input.price,
      timeInForce: input.timeInForce,
      ttlMs: input.ttlMs,
      urgency: input.urgency ?? 'normal',
      reasons: input.reasons,
      groupId: input.groupId,
      regime: input.regime,
      features: input.features,
      metadata: input.metadata,
      orderId: input.orderId,
      clientOrderId: input.clientOrderId,
      riskIncreasingOnly: input.riskIncreasingOnly,
      id: `S${this.state.cycle}-${this.sequence}`,
      strategyId,
      createdAt: this.state.now,
      cycle: this.state.cycle,
    };
  }

  private denySignal(
    signal: Signal,
    gate: string,
    code: string,
    message: string,
    proposal?: OrderProposal,
  ): void {
    const event: OrderDeniedEvent = {
      at: this.state.now,
      signal,
      proposal,
      gate,
      code,
      message,
    };
    this.emit('order:denied', event);
  }

  private async processCycle(
    startedWall: number,
    failures: string[],
    planned: PlannedSignal[],
  ): Promise<CycleReport> {
    let orders = 0;
    let denials = 0;
    const execute = async (batch: PlannedSignal[]) => {
      const outcome = await this.executeSignals(batch, failures);
      orders += outcome.orders;
      denials += outcome.denials;
    };
    if (planned.length > 0) await execute(planned);

    if (this.state.now >= this.nextMonitorAt) {
      const fromMonitors = await this.runMonitors(failures);
      if (fromMonitors.length > 0) await execute(fromMonitors);
    }
    return this.finishCycle(startedWall, failures, planned.length, orders, denials);
  }

  /** Plans, gates and submits a batch. Stage 0 orders are sent (and acknowledged) before stage 1. */
  private async executeSignals(
    batch: PlannedSignal[],
    failures: string[],
  ): Promise<{ orders: number; denials: number }> {
    const proposals: { proposal: OrderProposal; stage: 0 | 1 }[] = [];
    let denials = 0;
    let cancels = 0;
    for (const { signal, stage } of batch) {
      if (signal.intent === 'cancel') {
        // Cancels never pass through gates or phases: they only ever remove risk.
        cancels += await this.cancelFor(signal);
        continue;
      }
      this.sequence += 1;
      const result = planSignal(
        signal,
        this.state,
        `P${this.state.cycle}-${this.sequence}`,
        this.clientOrderId(),
      );
      if ('rejection' in result) {
        denials += 1;
        this.denySignal(signal, 'planner', result.rejection.code, result.rejection.message);
        continue;
      }
      proposals.push({ proposal: result.proposal, stage });
    }

    if (proposals.length === 1) {
      // The common case (one signal, one order): the same steps as below without the grouping
      // and staging machinery, which costs more than the rest of the order's way to the venue.
      const { proposal, stage } = proposals[0] as { proposal: OrderProposal; stage: 0 | 1 };
      const verdict = this.gate(proposal, failures);
      if (verdict instanceof Promise) {
        this.park([{ proposal, stage, verdict }], failures);
        return { orders: cancels, denials };
      }
      if (!verdict.allowed) return { orders: cancels, denials: denials + 1 };
      const sent = await this.submit(verdict.proposal, failures);
      return { orders: cancels + (sent ? 1 : 0), denials };
    }

    // Gate everything before sending anything, so one denied leg can stop its whole group.
    // A group with an asynchronous verdict (a human, a model) is parked instead of awaited.
    const groups = new Map<
      string,
      { proposal: OrderProposal; stage: 0 | 1; verdict: GateVerdict | Promise<GateVerdict> }[]
    >();
    for (const entry of proposals) {
      const key = entry.proposal.signal.groupId ?? entry.proposal.id;
      let members = groups.get(key);
      if (!members) {
        members = [];
        groups.set(key, members);
      }
      members.push({ ...entry, verdict: this.gate(entry.proposal, failures) });
    }
    const toSend: { proposal: OrderProposal; stage: 0 | 1 }[] = [];
    for (const members of groups.values()) {
      if (members.some((member) => member.verdict instanceof Promise)) {
        this.park(members, failures);
        continue;
      }
      const outcome = this.settleGroup(
        members.map((member) => ({ ...member, verdict: member.verdict as GateVerdict })),
      );
      denials += outcome.denials;
      toSend.push(...outcome.allowed);
    }

    let orders = 0;
    for (const stage of [0, 1] as const) {
      const batchOfStage = toSend.filter((entry) => entry.stage === stage);
      if (batchOfStage.length === 0) continue;
      // Legs of one stage go out together (a hedge's legs must not wait on each other).
      const results = await Promise.all(batchOfStage.map(({ proposal }) => this.submit(proposal, failures)));
      orders += results.filter(Boolean).length;
    }
    return { orders: orders + cancels, denials };
  }

  /** Cancels the orders a `cancel` signal names (by id), or all open ones of its instrument. */
  private async cancelFor(signal: Signal): Promise<number> {
    const exchange = this.exchanges.get(signal.exchange);
    if (!exchange) {
      this.denySignal(signal, 'engine', 'UNKNOWN_EXCHANGE', `no exchange "${signal.exchange}"`);
      return 0;
    }
    const wanted = signal.orderId ?? signal.clientOrderId;
    const targets = [...this.orders.open.values()].filter(
      (order) =>
        order.exchange === signal.exchange &&
        order.symbol === signal.symbol &&
        (signal.account === undefined || order.account === signal.account) &&
        (wanted === undefined || order.id === wanted || order.clientOrderId === wanted) &&
        (signal.riskIncreasingOnly !== true || !order.reduceOnly),
    );
    let cancelled = 0;
    for (const order of targets) {
      try {
        await exchange.cancelOrder({ account: order.account, symbol: order.symbol, orderId: order.id });
        cancelled += 1;
        this.emit('order:cancel', { at: this.clock.now(), signal, order, ok: true });
      } catch (error) {
        const described = describeError(error);
        this.emit('order:cancel', {
          at: this.clock.now(),
          signal,
          order,
          ok: false,
          code: described.code,
          message: described.message,
        });
      }
    }
    return cancelled;
  }

  /** Applies group atomicity to verdicts: a denied leg denies the whole group. */
  private settleGroup(members: { proposal: OrderProposal; stage: 0 | 1; verdict: GateVerdict }[]): {
    allowed: { proposal: OrderProposal; stage: 0 | 1 }[];
    denials: number;
  } {
    let denials = members.filter((member) => !member.verdict.allowed).length;
    if (denials === 0) {
      return {
        allowed: members.map((member) => ({
          proposal: (member.verdict as { proposal: OrderProposal }).proposal,
          stage: member.stage,
        })),
        denials,
      };
    }
    for (const member of members) {
      if (!member.verdict.allowed) continue;
      denials += 1;
      const group = member.proposal.signal.groupId as string;
      this.denySignal(
        member.proposal.signal,
        'engine',
        'GROUP_LEG_DENIED',
        `another leg of group ${group} was denied`,
        member.verdict.proposal,
      );
    }
    return { allowed: [], denials };
  }

  /**
   * Waits for asynchronous verdicts outside the cycle. The instruments count as having a pending
   * order meanwhile, so strategies do not signal them again; on approval the orders go out.
   */
  private park(
    members: { proposal: OrderProposal; stage: 0 | 1; verdict: GateVerdict | Promise<GateVerdict> }[],
    failures: string[],
  ): void {
    for (const { proposal } of members) this.orders.beginSubmit(proposal.exchange, proposal.request.symbol);
    const task = Promise.all(members.map((member) => member.verdict))
      .then(async (verdicts) => {
        for (const { proposal } of members) this.orders.endSubmit(proposal.exchange, proposal.request.symbol);
        const { allowed } = this.settleGroup(
          members.map((member, index) => ({ ...member, verdict: verdicts[index] as GateVerdict })),
        );
        for (const stage of [0, 1] as const) {
          const batch = allowed.filter((entry) => entry.stage === stage);
          if (batch.length > 0)
            await Promise.all(batch.map(({ proposal }) => this.submit(proposal, failures)));
        }
      })
      .catch((error: unknown) => this.logger.error('parked order failed', { error: describeError(error) }));
    this.parked.add(task);
    void task.finally(() => this.parked.delete(task));
  }

  private clientOrderId(): string {
    this.sequence += 1;
    return `${this.runId}-${this.sequence}`;
  }

  /**
   * The built-in phase gate, then each configured gate in order. Synchronous while every gate
   * answers synchronously (the common case); a gate that returns a promise is awaited.
   */
  private gate(proposal: OrderProposal, failures: string[]): GateVerdict | Promise<GateVerdict> {
    const phaseDecision = this.phaseDecision(proposal);
    this.emit('risk:decision', { at: this.state.now, proposal, gate: 'phase', decision: phaseDecision });
    if (phaseDecision.action === 'deny') {
      this.denySignal(proposal.signal, 'phase', phaseDecision.code, phaseDecision.message, proposal);
      return DENIED;
    }
    return this.runGates(proposal, 0, failures);
  }

  private runGates(
    proposal: OrderProposal,
    from: number,
    failures: string[],
  ): GateVerdict | Promise<GateVerdict> {
    let current = proposal;
    for (let index = from; index < this.riskGates.length; index += 1) {
      const gate = this.riskGates[index] as RiskGate;
      let decision: RiskDecision | Promise<RiskDecision>;
      try {
        decision = gate.evaluate(current, this.state);
      } catch (error) {
        decision = this.gateFailed(gate, error, failures);
      }
      if (decision instanceof Promise) {
        const pending = decision;
        const at = current;
        return (async () => {
          let resolved: RiskDecision;
          try {
            resolved = await pending;
          } catch (error) {
            resolved = this.gateFailed(gate, error, failures);
          }
          const next = this.applyGateDecision(gate, at, resolved);
          return next === undefined ? DENIED : this.runGates(next, index + 1, failures);
        })();
      }
      const next = this.applyGateDecision(gate, current, decision);
      if (next === undefined) return DENIED;
      current = next;
    }
    return { allowed: true, proposal: current };
  }

  /** A broken gate fails closed. */
  private gateFailed(gate: RiskGate, error: unknown, failures: string[]): RiskDecision {
    this.recordFailure(`gate:${gate.name}`, error, failures);
    return { action: 'deny', code: 'GATE_ERROR', message: `gate threw: ${describeError(error).message}` };
  }

  /** Records one gate's decision; returns the (possibly resized) proposal, or undefined if denied. */
  private applyGateDecision(
    gate: RiskGate,
    current: OrderProposal,
    decision: RiskDecision,
  ): OrderProposal | undefined {
    this.emit('risk:decision', { at: this.state.now, proposal: current, gate: gate.name, decision });
    if (decision.action === 'deny') {
      if (decision.phase) this.requestPhase(decision.phase.to, decision.phase.reason, `gate:${gate.name}`);
      this.denySignal(current.signal, gate.name, decision.code, decision.message, current);
      return undefined;
    }
    if (decision.action === 'resize') {
      const wanted = Math.min(decision.quantity, current.quantity);
      const text = wanted > 0 ? roundQuantity(wanted, current.market.lotSize) : '0';
      if (Number(text) === 0) {
        this.denySignal(
          current.signal,
          gate.name,
          decision.code,
          `${decision.message} (resized to zero)`,
          current,
        );
        return undefined;
      }
      return resizeProposal(current, text);
    }
    return current;
  }

  /** The phase gate's verdict (see `phaseDecision` in phase.ts for the rules per phase). */
  private phaseDecision(proposal: OrderProposal): RiskDecision {
    return phaseDecision(this.state.phase, proposal);
  }

  /** Sends one order. Returns true when the venue accepted it. */
  private async submit(proposal: OrderProposal, failures: string[]): Promise<boolean> {
    const exchange = this.exchanges.get(proposal.exchange);
    if (!exchange) {
      this.denySignal(
        proposal.signal,
        'engine',
        'UNKNOWN_EXCHANGE',
        `no exchange "${proposal.exchange}"`,
        proposal,
      );
      return false;
    }
    const signal = proposal.signal;
    // Exits and monitor actions belong to the strategy that owns the position they act on.
    const actsForOwner = signal.strategyId.startsWith('exit:') || signal.strategyId.startsWith('monitor:');
    const strategyId = actsForOwner
      ? this.state.position(signal.exchange, signal.symbol, proposal.request.account)?.strategyId
      : signal.strategyId;
    const owner: OrderOwner = {
      strategyId,
      reasons: signal.reasons.map((entry) => entry.code),
      regime: signal.regime,
    };
    if (this.options.dryRun) {
      this.emit('order:dry-run', { at: this.clock.now(), proposal, ...estimateCosts(proposal, this.state) });
      return false;
    }
    const clientOrderId = proposal.request.clientOrderId;
    if (clientOrderId !== undefined) this.ownersByClientId.set(clientOrderId, owner);
    this.orders.beginSubmit(proposal.exchange, proposal.request.symbol);
    const sentAt = performance.now();
    try {
      const order = await exchange.submitOrder(proposal.request);
      const latencyMs = performance.now() - sentAt;
      this.state.recordLatency(proposal.exchange, latencyMs, this.clock.now());
      this.ownersByOrderId.set(order.id, owner);
      if (!FINAL_STATUSES.has(order.status)) this.orders.track(order);
      this.emit('order:submitted', { at: this.clock.now(), proposal, order, latencyMs });
      return true;
    } catch (error) {
      const described = describeError(error);
      const reason = error instanceof PerpkitError ? (error as { reason?: string }).reason : undefined;
      this.emit('order:failed', {
        at: this.clock.now(),
        proposal,
        code: described.code,
        reason,
        message: described.message,
        retryable: described.retryable,
      });
      // A venue saying no is data; anything else is a failure of this cycle.
      if (!isPerpkitError(error)) this.recordFailure('executor', error, failures);
      return false;
    } finally {
      this.orders.endSubmit(proposal.exchange, proposal.request.symbol);
    }
  }

  private async runMonitors(failures: string[]): Promise<PlannedSignal[]> {
    const now = this.state.now;
    const signals: PlannedSignal[] = [];
    for (const slot of this.monitors) {
      if (now < slot.nextAt) continue;
      slot.nextAt = now + (slot.monitor.intervalMs ?? 0);
      let report: MonitorReport | undefined;
      try {
        report = await slot.monitor.check(this.state);
      } catch (error) {
        this.recordFailure(`monitor:${slot.monitor.name}`, error, failures);
        continue;
      }
      if (!report) continue;
      const source = `monitor:${slot.monitor.name}`;
      for (const alert of report.alerts ?? []) this.raiseAlert(source, alert);
      if (report.phase) this.requestPhase(report.phase.to, report.phase.reason, source);
      if (report.emergency !== undefined) this.emergency(report.emergency, source);
      for (const input of report.signals ?? []) {
        const signal = this.stamp(input, source);
        this.emit('signal', signal);
        signals.push({ signal, stage: input.intent === 'open' || input.intent === 'rebalance' ? 1 : 0 });
      }
    }
    signals.sort((a, b) => a.stage - b.stage);
    this.recomputeNextMonitor();
    return signals;
  }

  private recomputeNextMonitor(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const slot of this.monitors) if (slot.nextAt < next) next = slot.nextAt;
    this.nextMonitorAt = next;
  }

  private recordFailure(stage: string, error: unknown, failures: string[]): void {
    failures.push(stage);
    const described = describeError(error);
    this.logger.error('cycle stage failed', { cycle: this.state.cycle, stage, ...described });
    this.emit('cycle:error', {
      cycle: this.state.cycle,
      at: this.state.now,
      stage,
      code: described.code,
      message: described.message,
      consecutiveFailures: this.consecutiveFailuresCount + 1,
    });
  }

  private finishCycle(
    startedWall: number,
    failures: string[],
    signals: number,
    orders: number,
    denials: number,
  ): CycleReport {
    const ok = failures.length === 0;
    if (ok) {
      this.consecutiveFailuresCount = 0;
      this.state.consecutiveFailures = 0;
    } else {
      this.consecutiveFailuresCount += 1;
      this.state.consecutiveFailures = this.consecutiveFailuresCount;
      if (this.consecutiveFailuresCount === this.maxConsecutiveFailures) {
        this.raiseAlert('monitor:cycle-failures', {
          level: 'critical',
          code: 'CYCLE_FAILURES',
          message: `${this.consecutiveFailuresCount} consecutive cycles failed (last: ${failures.join(', ')})`,
          data: { consecutiveFailures: this.consecutiveFailuresCount, stages: failures },
        });
        this.requestPhase(
          'halted',
          `${this.consecutiveFailuresCount} consecutive failed cycles`,
          'monitor:cycle-failures',
        );
      }
    }
    this.lastCycleAtTime = this.state.now;
    if (this.accountEventIntervalMs > 0 && this.state.now >= this.nextAccountEventAt) this.sampleAccounts();
    const report: CycleReport = {
      cycle: this.state.cycle,
      startedAt: this.state.now,
      durationMs: startedWall > 0 ? performance.now() - startedWall : 0,
      ok,
      signals,
      orders,
      denials,
    };
    this.lastCycle = report;
    if (this.events.listenerCount('cycle') > 0) this.emit('cycle', report);
    return report;
  }

  /** Emits an `account` event for every account of exchanges that snapshot synchronously. */
  private sampleAccounts(): void {
    this.nextAccountEventAt = this.state.now + this.accountEventIntervalMs;
    for (const exchange of this.state.liveAccounts.values()) {
      for (const account of exchange.accounts()) {
        const snapshot = exchange.snapshotAccount?.(account);
        if (snapshot) this.emit('account', snapshot);
      }
    }
  }

  // ---------------------------------------------------------------- loop and shutdown

  /** Initializes and starts the loop; resolves once running. `stop()` ends it. */
  async start(): Promise<void> {
    if (this.stopping) throw new EngineError('ENGINE_STATE', 'the engine is stopped and cannot be restarted');
    if (this.running || this.loopDone) throw new EngineError('ENGINE_STATE', 'the engine is already started');
    await this.init();
    // A stop that arrived while connecting wins: never start a loop nobody will end.
    if (this.stopping) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const began = this.clock.now();
      try {
        await this.runCycle();
      } catch (error) {
        // runCycle contains stage errors; this is a bug in the engine itself. Keep going.
        this.logger.error('cycle crashed', { error: describeError(error) });
        this.consecutiveFailuresCount += 1;
      }
      if (signal.aborted) break;
      const elapsed = this.clock.now() - began;
      await this.clock.sleep(Math.max(0, this.cycleIntervalMs - elapsed), signal);
    }
    this.running = false;
  }

  /**
   * One orderly shutdown: stop cycles, cancel open orders, close positions if configured, let
   * strategies finish, flush the store, close exchanges. Calling it again returns the same promise:
   * a second signal never starts a second shutdown.
   */
  stop(reason = 'stop requested', overrides: ShutdownOptions = {}): Promise<EngineStopEvent> {
    this.stopping ??= this.performStop(reason, { ...this.shutdown, ...overrides });
    return this.stopping;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  private async performStop(reason: string, options: Required<ShutdownOptions>): Promise<EngineStopEvent> {
    this.logger.info('shutting down', { reason });
    this.abort.abort();
    let cancelledOrders = 0;
    let closedPositions = 0;
    const work = (async () => {
      await this.loopDone;
      if (this.cycleInFlight) await this.cycleInFlight.catch(() => undefined);
      // Nobody will answer now: open confirmations expire, and parked orders settle first.
      this.approvals.expireAll('engine stopping');
      if (this.parked.size > 0) await Promise.allSettled([...this.parked]);
      if (this.initialized) {
        if (options.cancelOpenOrders) cancelledOrders = await this.cancelEverything();
        if (options.closePositions) closedPositions = await this.closeEverything(options.timeoutMs);
        for (const { id, strategy } of this.strategies) {
          try {
            await strategy.onStop?.();
          } catch (error) {
            this.logger.error('strategy onStop failed', { strategy: id, error: describeError(error) });
          }
        }
      }
    })();
    const timedOut = await withTimeout(work, options.timeoutMs);
    if (timedOut) {
      this.raiseAlert('engine', {
        level: 'critical',
        code: 'SHUTDOWN_TIMEOUT',
        message: `shutdown did not finish within ${options.timeoutMs} ms`,
      });
    }
    const event: EngineStopEvent = { at: this.clock.now(), reason, cancelledOrders, closedPositions };
    this.emit('engine:stop', event);
    try {
      await this.options.store?.flush();
    } catch (error) {
      this.logger.error('store flush failed on shutdown', { error: describeError(error) });
    }
    for (const exchange of this.exchanges.values()) {
      try {
        await exchange.close();
      } catch (error) {
        this.logger.warn('exchange close failed', { exchange: exchange.id, error: describeError(error) });
      }
    }
    this.running = false;
    return event;
  }

  private async cancelEverything(): Promise<number> {
    let cancelled = 0;
    for (const exchange of this.exchanges.values()) {
      for (const account of exchange.accounts()) {
        try {
          if (exchange.capabilities.cancelAll) {
            cancelled += await exchange.cancelAllOrders({ account });
          } else {
            for (const order of await exchange.fetchOpenOrders(account)) {
              await exchange.cancelOrder({ account, symbol: order.symbol, orderId: order.id });
              cancelled += 1;
            }
          }
        } catch (error) {
          this.raiseAlert('engine', {
            level: 'critical',
            code: 'SHUTDOWN_CANCEL_FAILED',
            message: `could not cancel orders on ${exchange.id}/${account}: ${describeError(error).message}`,
          });
        }
      }
    }
    return cancelled;
  }

  private async closeEverything(timeoutMs: number): Promise<number> {
    const positions = this.ledger.positions();
    let sent = 0;
    for (const position of positions) {
      const signal = this.stamp(
        {
          intent: 'close',
          exchange: position.exchange,
          symbol: position.symbol,
          account: position.account,
          urgency: 'emergency',
          reasons: [{ code: 'SHUTDOWN_CLOSE', message: 'closing positions on shutdown as configured' }],
        },
        'engine',
      );
      this.emit('signal', signal);
      const planned = planSignal(signal, this.state, `P-shutdown-${position.symbol}`, this.clientOrderId());
      if ('rejection' in planned) {
        this.denySignal(signal, 'planner', planned.rejection.code, planned.rejection.message);
        continue;
      }
      if (await this.submit(planned.proposal, [])) sent += 1;
    }
    // Wait, in real time and bounded, until the venue reports the positions closed.
    const deadline = Date.now() + timeoutMs;
    while (this.ledger.hasOpenPositions() && Date.now() < deadline && sent > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return sent;
  }
}

/** Resolves true when `work` did not settle within `ms`. */
async function withTimeout(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  try {
    return await Promise.race([work.then(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}

/** Fee at the taker rate (the pessimistic case) and slippage from a walk of the visible book. */
function estimateCosts(
  proposal: OrderProposal,
  state: EngineView,
): { estimatedFee: number; estimatedSlippage: number | undefined } {
  const feeRate = proposal.market.takerFeeRate ?? 0;
  const estimatedFee = Math.abs(proposal.notional) * feeRate;
  const book = state.orderBook(proposal.exchange, proposal.request.symbol);
  if (!book) return { estimatedFee, estimatedSlippage: undefined };
  const levels = proposal.request.side === 'buy' ? book.asks : book.bids;
  const best = levels[0]?.[0];
  if (best === undefined) return { estimatedFee, estimatedSlippage: undefined };
  let remaining = proposal.quantity;
  let cost = 0;
  for (const [price, size] of levels) {
    const take = Math.min(size, remaining);
    cost += take * Math.abs(price - best);
    remaining -= take;
    if (remaining <= 0) break;
  }
  // Size beyond visible liquidity cannot be costed: say so rather than guess.
  return { estimatedFee, estimatedSlippage: remaining > 0 ? undefined : cost };
}
