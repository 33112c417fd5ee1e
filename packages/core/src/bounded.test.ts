import { describe, expect, it } from 'vitest';
import { BoundedMap, BoundedSet, RetiringMap } from './bounded';

describe('BoundedMap', () => {
  it('keeps the newest entries and forgets the oldest first', () => {
    const map = new BoundedMap<string, number>(3);
    for (const [index, key] of ['a', 'b', 'c', 'd', 'e'].entries()) map.set(key, index);
    expect(map.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((key) => map.get(key))).toEqual([undefined, undefined, 2, 3, 4]);
  });

  it('updating a key keeps its age and its single slot', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 3).set('c', 4);
    expect(map.has('a')).toBe(false);
    expect(map.get('b')).toBe(2);
    expect(map.get('c')).toBe(4);
  });

  it('keeps first-in first-out order and its capacity over many evictions', () => {
    const map = new BoundedMap<string, number>(2_000);
    for (let index = 0; index < 100_000; index += 1) map.set(`k${index}`, index);
    expect(map.size).toBe(2_000);
    // Exactly the newest 2 000 remain; the one just before them is gone.
    expect(map.get('k97999')).toBeUndefined();
    expect(map.get('k98000')).toBe(98_000);
    expect(map.get('k99999')).toBe(99_999);
  });
});

describe('BoundedSet', () => {
  it('forgets the oldest members first', () => {
    const set = new BoundedSet<number>(2);
    set.add(1).add(2).add(3);
    expect([set.has(1), set.has(2), set.has(3), set.size]).toEqual([false, true, true, 2]);
  });
});

describe('RetiringMap', () => {
  it('never forgets a live entry, however many others come and go', () => {
    const map = new RetiringMap<string, number>(2);
    map.set('resting', 1);
    for (let index = 0; index < 100; index += 1) {
      map.set(`o${index}`, index);
      map.retire(`o${index}`);
    }
    expect(map.get('resting')).toBe(1);
    expect(map.get('o99')).toBe(99);
    expect(map.get('o97')).toBeUndefined();
    expect(map.liveSize).toBe(1);
  });

  it('updates a retired entry in place', () => {
    const map = new RetiringMap<string, number>(4);
    map.set('a', 1);
    map.retire('a');
    map.set('a', 2);
    expect(map.get('a')).toBe(2);
    expect(map.liveSize).toBe(0);
  });
});
