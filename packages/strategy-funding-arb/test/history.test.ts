import { describe, expect, it } from 'vitest';
import { OrientedHistory, SpreadHistory } from '../src/index';

function filled(values: number[], capacity = 168): SpreadHistory {
  const history = new SpreadHistory(capacity);
  values.forEach((value, hour) => {
    history.push(value, hour);
  });
  return history;
}

describe('hourly spread history', () => {
  it('keeps the newest samples in a ring, newest at ago 0', () => {
    const history = filled([1, 2, 3, 4, 5], 3);
    expect(history.count).toBe(3);
    expect([history.get(0), history.get(1), history.get(2)]).toEqual([5, 4, 3]);
    expect(history.get(3)).toBeNaN();
    expect(history.lastHour).toBe(4);
  });

  it('means the newest n samples', () => {
    const history = filled([10, 20, 30, 40]);
    expect(history.mean(2)).toBe(35);
    expect(history.mean(10)).toBe(25);
  });

  it('fits the least-squares slope per hour over the newest n samples', () => {
    // y = 0.5 − 0.1 x over x = 0..5: slope −0.1 exactly, whatever came before.
    const line = [0.5, 0.4, 0.3, 0.2, 0.1, 0];
    expect(filled([9, 9, ...line]).slope(6)).toBeCloseTo(-0.1, 12);
    // 1, 3, 2, 4: x̄ = 1.5, ȳ = 2.5, Σdx·dy = 4, Σdx² = 5 → 0.8.
    expect(filled([1, 3, 2, 4]).slope(4)).toBeCloseTo(0.8, 12);
    expect(filled([1, 2]).slope(6)).toBeNaN();
  });

  it('scores the newest sample against the window mean in standard deviations', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population deviation 2; the newest (9) is +2σ.
    const history = filled([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(history.zScore(168, 3)).toBeCloseTo(2, 12);
    expect(history.zScore(168, 9)).toBeNaN(); // fewer samples than asked for
    expect(filled([3, 3, 3]).zScore(168, 3)).toBeNaN(); // no dispersion
  });

  it('reads the other orientation with every sign flipped', () => {
    const history = filled([2, 4, 4, 4, 5, 5, 7, 9]);
    const reversed = new OrientedHistory(history, -1);
    expect(reversed.get(0)).toBe(-9);
    expect(reversed.mean(8)).toBe(-5);
    expect(reversed.zScore(168, 3)).toBeCloseTo(-2, 12);
    expect(reversed.slope(3)).toBeCloseTo(-history.slope(3), 12);
  });

  it('survives a round trip through plugin memory', () => {
    const history = filled([1, 2, 3, 4, 5], 4);
    const copy = SpreadHistory.fromJSON(4, JSON.parse(JSON.stringify(history.toJSON())));
    expect(copy.count).toBe(4);
    expect(copy.lastHour).toBe(4);
    expect([copy.get(0), copy.get(3)]).toEqual([5, 2]);
  });
});
