import { describe, expect, it } from 'vitest';
import { EngineError } from './errors';
import { MemoryBank, type MemoryChange } from './memory';

describe('MemoryBank', () => {
  it('starts from a snapshot, keeps components apart and reports every change', () => {
    const changes: Omit<MemoryChange, 'at'>[] = [];
    const bank = new MemoryBank({ breaker: { tripped: true, peak: 1200 } }, (change) => changes.push(change));
    const breaker = bank.forComponent('breaker');
    const pacing = bank.forComponent('pacing');
    expect(breaker.get('peak')).toBe(1200);
    expect(pacing.get('peak')).toBeUndefined();

    breaker.set('peak', 1300);
    pacing.set('trades', [1, 2]);
    breaker.delete('tripped');
    breaker.delete('never-set');
    expect(changes).toEqual([
      { component: 'breaker', key: 'peak', value: 1300 },
      { component: 'pacing', key: 'trades', value: [1, 2] },
      { component: 'breaker', key: 'tripped' },
    ]);
    expect(bank.snapshot()).toEqual({ breaker: { peak: 1300 }, pacing: { trades: [1, 2] } });
  });

  it('remembers a copy, so mutating the original later changes nothing', () => {
    const bank = new MemoryBank(undefined, () => undefined);
    const memory = bank.forComponent('gate');
    const counts = { today: 1 };
    memory.set('counts', counts);
    counts.today = 99;
    expect(memory.get('counts')).toEqual({ today: 1 });
  });

  it('refuses values JSON cannot keep, naming the key', () => {
    const memory = new MemoryBank(undefined, () => undefined).forComponent('gate');
    expect(() => memory.set('callback', () => 1)).toThrow(EngineError);
    expect(() => memory.set('big', 10n)).toThrow(/gate\.big/);
  });
});
