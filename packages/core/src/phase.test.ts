import { describe, expect, it } from 'vitest';
import type { PhaseChange } from './events';
import { isProtectiveSignal, PhaseManager, phaseDecision } from './phase';
import type { OrderProposal } from './risk';
import type { Signal, Urgency } from './signal';
import type { TradingPhase } from './types';

function manager() {
  const changes: PhaseChange[] = [];
  return { phases: new PhaseManager((change) => changes.push(change)), changes };
}

describe('PhaseManager', () => {
  it('the phase is the most restrictive hold; a rule releases only its own', () => {
    const { phases, changes } = manager();
    phases.hold('monitor:health', 'reducing', 'health under 20%', 1);
    phases.hold('gate:loss-limits', 'halted', 'daily loss cap', 2);
    expect(phases.phase).toBe('halted');
    phases.release('monitor:health', 'health recovered', 3);
    expect(phases.phase).toBe('halted');
    phases.release('gate:loss-limits', 'new day', 4);
    expect(phases.phase).toBe('active');
    expect(changes.map((change) => `${change.from}>${change.to}:${change.source}:${change.reason}`)).toEqual([
      'active>reducing:monitor:health:health under 20%',
      'reducing>halted:gate:loss-limits:daily loss cap',
      'halted>active:gate:loss-limits:new day',
    ]);
  });

  it('holding the same phase twice changes nothing; releasing an unknown hold changes nothing', () => {
    const { phases, changes } = manager();
    expect(phases.hold('a', 'reducing', 'x', 1)).toBe(true);
    expect(phases.hold('a', 'reducing', 'again', 2)).toBe(false);
    expect(phases.release('b', 'not mine', 3)).toBe(false);
    expect(changes).toHaveLength(1);
    expect(phases.activeHolds()).toEqual([{ source: 'a', phase: 'reducing', reason: 'x', since: 1 }]);
  });

  it('the operator can halt by hand and resume, clearing every hold', () => {
    const { phases } = manager();
    phases.hold('gate:drawdown', 'halted', 'drawdown 20%', 1);
    phases.set('reducing', 'operator looks into it', 'operator', 2);
    expect(phases.phase).toBe('halted'); // a rule's halt outranks the operator's reducing
    phases.set('active', 'checked, resuming', 'operator', 3);
    expect(phases.phase).toBe('active');
    expect(phases.activeHolds()).toEqual([]);
    phases.set('halted', 'maintenance', 'operator', 4);
    phases.hold('monitor:health', 'reducing', 'x', 5);
    expect(phases.phase).toBe('halted');
    expect(phases.history().map((change) => change.to)).toEqual(['halted', 'active', 'halted']);
  });
});

describe('phaseDecision', () => {
  const proposal = (
    strategyId: string,
    riskReducing: boolean,
    extra: { urgency?: Urgency; metadata?: Record<string, unknown> } = {},
  ) =>
    ({
      riskReducing,
      signal: { strategyId, urgency: extra.urgency ?? 'normal', metadata: extra.metadata },
    }) as unknown as OrderProposal;
  const verdict = (phase: TradingPhase, subject: OrderProposal) => {
    const decision = phaseDecision(phase, subject);
    return decision.action === 'deny' ? decision.code : decision.action;
  };

  it('active lets everything through', () => {
    expect(verdict('active', proposal('strategy', false))).toBe('allow');
    expect(verdict('active', proposal('strategy', true))).toBe('allow');
  });

  it("reducing lets every risk-reducing order through (a strategy's own included), no entry", () => {
    expect(verdict('reducing', proposal('strategy', true))).toBe('allow');
    expect(verdict('reducing', proposal('exit:take-profit', true, { metadata: { exitLayer: 3 } }))).toBe(
      'allow',
    );
    expect(verdict('reducing', proposal('strategy', false))).toBe('PHASE_REDUCING');
    expect(verdict('reducing', proposal('monitor:health', false))).toBe('PHASE_REDUCING');
  });

  it('halted stops every strategy order but lets protective reductions through', () => {
    // Strategies: neither entries nor their own closes.
    expect(verdict('halted', proposal('strategy', false))).toBe('PHASE_HALTED');
    expect(verdict('halted', proposal('strategy', true))).toBe('PHASE_HALTED');
    expect(verdict('halted', proposal('strategy', true, { urgency: 'high' }))).toBe('PHASE_HALTED');
    // Protective sources, at any urgency, when they reduce risk.
    expect(verdict('halted', proposal('monitor:health', true, { urgency: 'high' }))).toBe('allow');
    expect(verdict('halted', proposal('monitor:hedge', true))).toBe('allow');
    expect(verdict('halted', proposal('operator', true))).toBe('allow');
    expect(verdict('halted', proposal('engine', true))).toBe('allow');
    expect(
      verdict('halted', proposal('exit:hard-stop', true, { urgency: 'high', metadata: { exitLayer: 1 } })),
    ).toBe('allow');
    // Economic and optional exits are strategy business.
    expect(verdict('halted', proposal('exit:take-profit', true, { metadata: { exitLayer: 2 } }))).toBe(
      'PHASE_HALTED',
    );
    expect(verdict('halted', proposal('exit:trail', true, { metadata: { exitLayer: 3 } }))).toBe(
      'PHASE_HALTED',
    );
    // Emergency urgency is protective from any source.
    expect(verdict('halted', proposal('strategy', true, { urgency: 'emergency' }))).toBe('allow');
    // Nothing that adds risk passes, protective source or not.
    expect(verdict('halted', proposal('monitor:health', false))).toBe('PHASE_HALTED');
    expect(verdict('halted', proposal('operator', false))).toBe('PHASE_HALTED');
    expect(verdict('halted', proposal('strategy', false, { urgency: 'emergency' }))).toBe('PHASE_HALTED');
  });

  it('isProtectiveSignal names the protective sources', () => {
    const signal = (strategyId: string, metadata?: Record<string, unknown>) =>
      ({ strategyId, urgency: 'normal', metadata }) as unknown as Signal;
    expect(isProtectiveSignal(signal('monitor:margin'))).toBe(true);
    expect(isProtectiveSignal(signal('exit:stop', { exitLayer: 1 }))).toBe(true);
    expect(isProtectiveSignal(signal('exit:stop', { exitLayer: 2 }))).toBe(false);
    expect(isProtectiveSignal(signal('monitoring-strategy'))).toBe(false); // a strategy id, not a monitor
    expect(isProtectiveSignal(signal('operators'))).toBe(false);
  });
});
