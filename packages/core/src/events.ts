import type { EventEmitter } from 'eventemitter3';
import type { ApprovalRequest, ApprovalResolution } from './approvals';
import type { ExitLayer } from './exit';
import type { MemoryChange } from './memory';
import type { OrderProposal, RiskDecision } from './risk';
import type { Signal } from './signal';
import type { LedgerPosition } from './state';
import type {
  AccountSnapshot,
  Alert,
  BalanceChange,
  Fill,
  FundingPayment,
  Liquidation,
  Order,
  RunMode,
  TradingPhase,
} from './types';

export interface CycleReport {
  readonly cycle: number;
  readonly startedAt: number;
  /** Wall-clock duration of the cycle in ms (real time, even in backtests). */
  readonly durationMs: number;
  readonly ok: boolean;
  readonly signals: number;
  readonly orders: number;
  readonly denials: number;
}

export interface CycleFailure {
  readonly cycle: number;
  readonly at: number;
  /** Where it failed: `strategy:<id>`, `exit`, `planner`, `gate:<name>`, `monitor:<name>`, ... */
  readonly stage: string;
  readonly code: string;
  readonly message: string;
  readonly consecutiveFailures: number;
}

export interface ExitEvent {
  readonly signal: Signal;
  readonly rule: string;
  readonly layer: ExitLayer;
  readonly code: string;
  readonly position: LedgerPosition;
}

/** One gate's verdict on one proposal: the raw material of the risk audit trail. */
export interface RiskDecisionEvent {
  readonly at: number;
  readonly proposal: OrderProposal;
  readonly gate: string;
  readonly decision: RiskDecision;
}

export interface OrderDeniedEvent {
  readonly at: number;
  readonly signal: Signal;
  /** Absent when the planner refused the signal before an order could be formed. */
  readonly proposal?: OrderProposal;
  /** `planner`, `phase`, `engine`, or the denying gate's name. */
  readonly gate: string;
  readonly code: string;
  readonly message: string;
}

export interface OrderSubmittedEvent {
  readonly at: number;
  readonly proposal: OrderProposal;
  readonly order: Order;
  /** Wall-clock time from sending to the venue's acknowledgement, in ms. */
  readonly latencyMs: number;
}

export interface OrderFailedEvent {
  readonly at: number;
  readonly proposal: OrderProposal;
  readonly code: string;
  /** Venue-style reason for a rejection, when there is one. */
  readonly reason?: string;
  readonly message: string;
  readonly retryable: boolean;
}

export interface PhaseChange {
  readonly at: number;
  readonly from: TradingPhase;
  readonly to: TradingPhase;
  readonly reason: string;
  /** Who asked: `gate:<name>`, `monitor:<name>`, `operator`, `engine`. */
  readonly source: string;
}

/** A finished round trip: from flat to flat on one (exchange, account, symbol). */
export interface ClosedTrade {
  readonly id: string;
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  readonly direction: 'long' | 'short';
  readonly strategyId?: string;
  readonly openedAt: number;
  readonly closedAt: number;
  /** Largest absolute position size during the trade. */
  readonly quantity: number;
  /** VWAP of the fills that opened or increased the position. */
  readonly entryPrice: number;
  /** VWAP of the fills that reduced or closed it. */
  readonly exitPrice: number;
  /** PnL from price alone: Σ reduce fills (exit − entry) × qty × direction. */
  readonly pricePnl: number;
  readonly fees: number;
  /** Slippage cost already inside the fill prices (positive = cost), reported apart for attribution. */
  readonly slippage: number;
  /** Funding settled while open (positive received). */
  readonly funding: number;
  /** pricePnl − fees + funding. */
  readonly netPnl: number;
  readonly entryReasons: readonly string[];
  readonly exitReasons: readonly string[];
  readonly regime?: string;
}

export interface EngineStartEvent {
  readonly at: number;
  readonly mode: RunMode;
  readonly runId: string;
  readonly configHash?: string;
}

export interface EnginePausedEvent {
  readonly at: number;
  /** True when strategies were paused, false when they resumed. */
  readonly paused: boolean;
  readonly reason: string;
  readonly source: string;
}

/** A cancel the engine sent (a `cancel` signal, or the phase tightening), and how it went. */
export interface OrderCancelEvent {
  readonly at: number;
  readonly signal: Signal;
  readonly order: Order;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

/** A record a plugin added to the audit log through its context's `record`. */
export interface PluginRecordEvent {
  readonly at: number;
  /** The component id (`setup` context id). */
  readonly component: string;
  /** The plugin's own name for the record, e.g. `ai-gate:call`. */
  readonly kind: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** An order a dry run would have sent, with what it would have cost. */
export interface OrderDryRunEvent {
  readonly at: number;
  readonly proposal: OrderProposal;
  /** Notional × the market's taker fee rate. */
  readonly estimatedFee: number;
  /** Cost against the best price of walking the visible book; absent without a book (or beyond it). */
  readonly estimatedSlippage: number | undefined;
}

export interface EngineStopEvent {
  readonly at: number;
  readonly reason: string;
  readonly cancelledOrders: number;
  readonly closedPositions: number;
}

/** Every event the engine emits, for monitors, the store, the dashboard and tests. */
export interface EngineEvents {
  'engine:start': (event: EngineStartEvent) => void;
  'engine:stop': (event: EngineStopEvent) => void;
  /** Strategies paused or resumed by the operator. */
  'engine:paused': (event: EnginePausedEvent) => void;
  cycle: (report: CycleReport) => void;
  'cycle:error': (failure: CycleFailure) => void;
  signal: (signal: Signal) => void;
  exit: (event: ExitEvent) => void;
  'risk:decision': (event: RiskDecisionEvent) => void;
  'order:denied': (event: OrderDeniedEvent) => void;
  'order:submitted': (event: OrderSubmittedEvent) => void;
  'order:failed': (event: OrderFailedEvent) => void;
  'order:cancel': (event: OrderCancelEvent) => void;
  'order:dry-run': (event: OrderDryRunEvent) => void;
  'order:update': (order: Order) => void;
  fill: (fill: Fill) => void;
  funding: (payment: FundingPayment) => void;
  position: (position: LedgerPosition) => void;
  'trade:closed': (trade: ClosedTrade) => void;
  account: (snapshot: AccountSnapshot) => void;
  liquidation: (liquidation: Liquidation) => void;
  balance: (change: BalanceChange) => void;
  phase: (change: PhaseChange) => void;
  alert: (alert: Alert) => void;
  'approval:requested': (request: ApprovalRequest) => void;
  'approval:resolved': (resolution: ApprovalResolution) => void;
  /** A plugin's own audit record (see `SetupContext.record`). */
  'plugin:record': (event: PluginRecordEvent) => void;
  /** A plugin changed its durable memory (see `PluginMemory`). */
  memory: (change: MemoryChange) => void;
}

export type EngineEventName = keyof EngineEvents;

/** The subscribe-only face of the engine's bus that plugins receive. */
export type EngineEventSource = Pick<EventEmitter<EngineEvents>, 'on' | 'off' | 'once'>;
