import { describe, expect, it } from 'vitest';
import type { PhaseChange } from './events';
import { PhaseManager } from './phase';

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
