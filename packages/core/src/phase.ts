import type { PhaseChange } from './events';
import type { OrderProposal, RiskDecision } from './risk';
import type { Signal } from './signal';
import type { TradingPhase } from './types';

const RANK: Record<TradingPhase, number> = { active: 0, reducing: 1, halted: 2 };

export interface PhaseHold {
  readonly source: string;
  readonly phase: Exclude<TradingPhase, 'active'>;
  readonly reason: string;
  readonly since: number;
}

export interface PhaseState {
  readonly holds: readonly PhaseHold[];
  readonly override?: { readonly phase: TradingPhase; readonly reason: string };
}

/**
 * Decides the trading phase. Rules (gates, monitors, the engine) place holds: the phase is the
 * most restrictive hold, so a loss cap's `halted` outlives a health monitor releasing its
 * `reducing`. A rule only ever releases its own hold. The operator can set any phase; setting
 * `active` by hand clears every hold. Every transition is kept with its reason.
 */
export class PhaseManager {
  private readonly holds = new Map<string, PhaseHold>();
  private override: { phase: TradingPhase; reason: string } | undefined;
  private currentPhase: TradingPhase = 'active';
  private readonly transitions: PhaseChange[] = [];

  constructor(
    private readonly onChange: (change: PhaseChange) => void,
    private readonly historyLimit = 1000,
  ) {}

  get phase(): TradingPhase {
    return this.currentPhase;
  }

  /** Current holds, most restrictive first. */
  activeHolds(): readonly PhaseHold[] {
    return [...this.holds.values()].sort((a, b) => RANK[b.phase] - RANK[a.phase] || a.since - b.since);
  }

  history(): readonly PhaseChange[] {
    return this.transitions;
  }

  /** Holds and the operator's override, for a checkpoint. */
  exportState(): PhaseState {
    return { holds: [...this.holds.values()], ...(this.override ? { override: { ...this.override } } : {}) };
  }

  /** Resumes holds and the override after a restart; the resulting transition is recorded. */
  restoreState(state: PhaseState, at: number): void {
    for (const hold of state.holds) this.holds.set(hold.source, hold);
    this.override = state.override ? { ...state.override } : undefined;
    this.recompute('restored after a restart', 'engine', at);
  }

  /** A rule holds the phase at least at `phase` until it releases. Returns true if the phase changed. */
  hold(source: string, phase: Exclude<TradingPhase, 'active'>, reason: string, at: number): boolean {
    const existing = this.holds.get(source);
    if (existing && existing.phase === phase) return false;
    this.holds.set(source, { source, phase, reason, since: existing?.since ?? at });
    return this.recompute(reason, source, at);
  }

  /** A rule lets go of its hold. Returns true if the phase changed. */
  release(source: string, reason: string, at: number): boolean {
    if (!this.holds.delete(source)) return false;
    return this.recompute(reason, source, at);
  }

  /**
   * The operator sets the phase. `active` clears every hold (a deliberate override); a stricter
   * phase stays until the operator changes it again.
   */
  set(phase: TradingPhase, reason: string, source: string, at: number): boolean {
    if (phase === 'active') {
      this.holds.clear();
      this.override = undefined;
    } else {
      this.override = { phase, reason };
    }
    return this.recompute(reason, source, at);
  }

  private recompute(reason: string, source: string, at: number): boolean {
    let next: TradingPhase = this.override?.phase ?? 'active';
    for (const hold of this.holds.values()) if (RANK[hold.phase] > RANK[next]) next = hold.phase;
    if (next === this.currentPhase) return false;
    const change: PhaseChange = { at, from: this.currentPhase, to: next, reason, source };
    this.currentPhase = next;
    this.transitions.push(change);
    if (this.transitions.length > this.historyLimit)
      this.transitions.splice(0, this.transitions.length - this.historyLimit);
    this.onChange(change);
    return true;
  }
}

/**
 * True for a signal whose risk-reducing orders are protective: they pass the `halted` phase.
 * Protective are the monitors (`monitor:*`), layer-1 exit rules, the operator, the engine itself
 * (emergency closes, shutdown) and any signal marked `urgency: 'emergency'`. A strategy's own
 * closes, and layer-2 and layer-3 exits, are not: `halted` means the strategies stop trading.
 */
export function isProtectiveSignal(signal: Signal): boolean {
  if (signal.urgency === 'emergency') return true;
  const source = signal.strategyId;
  if (source === 'operator' || source === 'engine' || source.startsWith('monitor:')) return true;
  return source.startsWith('exit:') && signal.metadata?.exitLayer === 1;
}

const PHASE_ALLOW: RiskDecision = Object.freeze({ action: 'allow' });
const PHASE_REDUCING: RiskDecision = Object.freeze({
  action: 'deny',
  code: 'PHASE_REDUCING',
  message: 'phase is reducing: only risk-reducing orders pass',
});
const PHASE_HALTED: RiskDecision = Object.freeze({
  action: 'deny',
  code: 'PHASE_HALTED',
  message:
    'phase is halted: no strategy orders; only protective risk-reducing orders pass (monitors, layer-1 exits, the operator, the engine, emergency urgency)',
});

/**
 * The built-in phase gate, run before every configured gate:
 * - `active`: everything passes;
 * - `reducing`: only risk-reducing orders pass;
 * - `halted`: only protective risk-reducing orders pass (see `isProtectiveSignal`).
 */
export function phaseDecision(phase: TradingPhase, proposal: OrderProposal): RiskDecision {
  if (phase === 'active') return PHASE_ALLOW;
  if (!proposal.riskReducing) return phase === 'reducing' ? PHASE_REDUCING : PHASE_HALTED;
  if (phase === 'reducing' || isProtectiveSignal(proposal.signal)) return PHASE_ALLOW;
  return PHASE_HALTED;
}
