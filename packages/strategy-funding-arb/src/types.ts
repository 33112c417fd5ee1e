import type { ExitLayer, OrderStatus, Side, Urgency } from '@perpkit/core';

/**
 * A pair's life: `OPENING` (legs being filled) → `OPEN` → `CLOSING` → `CLOSED`; an entry that
 * cannot complete unwinds and ends `FAILED`. Every transition is one write of the whole book to
 * plugin memory, so a restart never finds a pair half-way between two states.
 */
export type PairStatus = 'OPENING' | 'OPEN' | 'CLOSING' | 'CLOSED' | 'FAILED';

export type LegName = 'long' | 'short';

/** What an order was for: completing the entry, closing, unwinding a failed leg, rebalancing, or not ours. */
export type OrderPurpose = 'entry' | 'close' | 'unwind' | 'rebalance' | 'external';

/**
 * Where the entry or close procedure is: makers resting, synchronized IOC, market orders (a close
 * that IOC could not finish), or an unwind of a leg that filled without its partner.
 */
export type ExecutionStep = 'maker' | 'ioc' | 'market' | 'unwind';

export interface LegRef {
  readonly exchange: string;
  readonly symbol: string;
  readonly account: string;
}

/** One order of a pair, with its fills folded in (JSON, kept in plugin memory). */
export interface OrderRecord {
  readonly id: string;
  readonly leg: LegName;
  readonly purpose: OrderPurpose;
  readonly side: Side;
  readonly quantity: number;
  readonly submittedAt: number;
  status: OrderStatus;
  /** Cumulative fill fields already applied from fill reports (deltas are taken against these). */
  filled: number;
  notional: number;
  fee: number;
  slippage: number;
  /** The venue's own cumulative report (latest order update): the readback. */
  reported: boolean;
  venueFilled: number;
  venueAverage: number;
  venueFee: number;
  /** Set once the venue reported the order final. */
  finalAt?: number;
}

export interface LegState {
  readonly ref: LegRef;
  /** Funding settled on this leg while the pair held it (positive received). */
  fundingCollected: number;
  /** Settlement time of the last payment counted: each (venue, instrument, time) counts once. */
  lastFundingTime: number;
}

/** The entry estimate the pair was opened on. */
export interface EntryEstimate {
  readonly spreadPerHour: number;
  readonly spreadApy: number;
  readonly quantity: number;
  readonly notional: number;
  readonly expectedFunding: number;
  readonly fees: number;
  readonly slippage: number;
  readonly netEv: number;
  readonly holdHours: number;
}

export interface ExitRecord {
  readonly code: string;
  readonly layer: ExitLayer | 0;
  readonly rule: string;
  readonly message: string;
  readonly at: number;
  readonly urgency: Urgency;
}

/** Money of one leg, kept apart. */
export interface LegPnl {
  /** Largest absolute position the leg held. */
  readonly quantity: number;
  readonly entryVwap: number;
  readonly exitVwap: number;
  readonly pricePnl: number;
  readonly fees: number;
  readonly slippage: number;
  readonly fundingCollected: number;
  readonly fundingAccrued: number;
}

/**
 * A pair's money: price PnL (both legs, marked to market while open), fees, slippage (already
 * inside the fill prices; shown for attribution), funding collected (settled) and funding accrued
 * (estimated for the running period, never counted twice: a settlement replaces its accrual).
 * `totalPnl = pricePnl + fundingCollected + fundingAccrued`; `netPnl = totalPnl − fees`.
 */
export interface PairPnl {
  readonly long: LegPnl;
  readonly short: LegPnl;
  readonly pricePnl: number;
  readonly fees: number;
  readonly slippage: number;
  readonly fundingCollected: number;
  readonly fundingAccrued: number;
  readonly totalPnl: number;
  readonly netPnl: number;
}

export interface ReadbackCorrection {
  readonly code: 'READBACK_VWAP_MISMATCH' | 'READBACK_PNL_MISMATCH';
  readonly leg?: LegName;
  readonly local: number;
  readonly readback: number;
  readonly message: string;
}

/** The final, read-back accounting of a finished pair. */
export interface PairResult {
  readonly pnl: PairPnl;
  readonly corrections: readonly ReadbackCorrection[];
  /** Longest time one leg held more than the other during entry or close. */
  readonly maxUnhedgedMs: number;
}

export interface PairState {
  readonly id: string;
  readonly asset: string;
  status: PairStatus;
  readonly long: LegState;
  readonly short: LegState;
  /** Base quantity each leg should hold once open. */
  quantity: number;
  readonly estimate: EntryEstimate;
  readonly createdAt: number;
  openedAt?: number;
  closingAt?: number;
  closedAt?: number;
  step?: ExecutionStep;
  stepStartedAt?: number;
  /** Makers must be done by then (maker step). */
  deadline?: number;
  /** IOC or market rounds sent in the current procedure. */
  attempts: number;
  orders: OrderRecord[];
  /** Since when the legs differ (during entry or close), for the unhedged-window bound. */
  unhedgedSince?: number;
  maxUnhedgedMs: number;
  exit?: ExitRecord;
  result?: PairResult;
  /** Why the entry failed, for FAILED pairs. */
  failure?: string;
}

/** A finished pair as the history keeps it. */
export interface PairSummary {
  readonly id: string;
  readonly asset: string;
  readonly status: 'CLOSED' | 'FAILED';
  readonly long: LegRef;
  readonly short: LegRef;
  readonly openedAt?: number;
  readonly closedAt?: number;
  readonly estimate: EntryEstimate;
  readonly exit?: ExitRecord;
  readonly failure?: string;
  readonly result: PairResult;
}
