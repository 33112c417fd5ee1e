import type { PhaseHold } from './phase';
import type {
  AccountSnapshot,
  Candle,
  FundingRate,
  Market,
  Order,
  OrderBook,
  Position,
  RunMode,
  Ticker,
  TradingPhase,
} from './types';

export interface LatencyStats {
  /** The newest measurement. */
  readonly lastMs: number;
  /** Exponentially weighted average (weight 0.2 on the newest). */
  readonly averageMs: number;
  readonly samples: number;
  readonly measuredAt: number;
}

/** A position as the engine's ledger keeps it: the venue's view plus who opened it and its costs. */
export interface LedgerPosition extends Position {
  /** Strategy instance whose order opened the position (undefined when adopted from the venue). */
  readonly strategyId?: string;
  /** Fees paid since the position opened. */
  readonly fees: number;
  /** Funding settled since the position opened (positive received). */
  readonly fundingSettled: number;
  readonly openedAt: number;
  /** Reason codes of the signal that opened it. */
  readonly entryReasons: readonly string[];
  readonly regime?: string;
}

/** Recent bars of one instrument, newest last. O(1) access; a ring buffer underneath. */
export interface CandleSeries {
  readonly length: number;
  /** `ago` = 0 is the newest bar. */
  get(ago: number): Candle | undefined;
  last(): Candle | undefined;
  close(ago: number): number;
}

/**
 * The read-only view of engine state that strategies, exit rules, gates and monitors see during a
 * cycle. All lookups are O(1) map reads; nothing here does I/O.
 */
export interface StateView {
  readonly mode: RunMode;
  /** The engine clock's time for this cycle. */
  readonly now: number;
  readonly cycle: number;
  readonly phase: TradingPhase;
  /** Rules currently holding the phase, most restrictive first. */
  phaseHolds(): readonly PhaseHold[];
  /** Failed cycles in a row so far (0 after a good cycle). */
  readonly consecutiveFailures: number;
  /** Order round trips measured by the executor for an exchange (wall-clock ms). */
  latency(exchange: string): LatencyStats | undefined;

  market(exchange: string, symbol: string): Market | undefined;
  markets(): readonly Market[];
  ticker(exchange: string, symbol: string): Ticker | undefined;
  orderBook(exchange: string, symbol: string): OrderBook | undefined;
  candles(exchange: string, symbol: string): CandleSeries | undefined;
  fundingRate(exchange: string, symbol: string): FundingRate | undefined;
  /** Mark, else book mid, else last close. */
  referencePrice(exchange: string, symbol: string): number | undefined;
  /** Time of the newest market data for the instrument. */
  lastUpdate(exchange: string, symbol: string): number | undefined;

  account(exchange: string, account: string): AccountSnapshot | undefined;
  accounts(): readonly AccountSnapshot[];
  /** Default account of an exchange: its first account. */
  defaultAccount(exchange: string): string | undefined;

  position(exchange: string, symbol: string, account?: string): LedgerPosition | undefined;
  /** Open (non-zero) positions. */
  positions(): readonly LedgerPosition[];
  openOrders(exchange?: string, symbol?: string): readonly Order[];
  /** True while an order for the instrument is submitted but not final. */
  hasPendingOrder(exchange: string, symbol: string, account?: string): boolean;
}
