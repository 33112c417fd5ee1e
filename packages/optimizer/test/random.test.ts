import { describe, expect, it } from 'vitest';
import { createRandom, mixSeed } from '../src/random';

const take = (random: () => number, count: number) => Array.from({ length: count }, () => random());

describe('createRandom', () => {
  it('gives the same stream for the same seed and different streams for nearby seeds', () => {
    expect(take(createRandom(42), 50)).toEqual(take(createRandom(42), 50));
    expect(take(createRandom(1), 5)).not.toEqual(take(createRandom(2), 5));
  });

  it('stays in [0, 1) and is roughly uniform', () => {
    const values = take(createRandom(7), 100_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    // Uniform mean 0.5, sd of the mean √(1/12/100000) ≈ 0.0009: 5 sd.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.0046);
    const deciles = new Array(10).fill(0);
    for (const value of values) deciles[Math.floor(value * 10)]++;
    // Each decile expects 10000 with sd ≈ 95.
    for (const count of deciles) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});

describe('mixSeed', () => {
  it('is deterministic, order-sensitive and 32-bit', () => {
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
    expect(mixSeed(1)).not.toBe(mixSeed(1, 0));
    for (const seed of [mixSeed(0), mixSeed(-5, 3), mixSeed(2 ** 40, 1)]) {
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(0);
      expect(seed).toBeLessThan(2 ** 32);
    }
  });

  it('keeps the high bits of large seeds', () => {
    expect(mixSeed(2 ** 32, 0)).not.toBe(mixSeed(0, 0));
    expect(mixSeed(1_700_000_000_000)).not.toBe(mixSeed(1_700_000_000_000 + 2 ** 32));
  });

  it('gives distinct seeds over a range of batch indices', () => {
    const seeds = new Set(Array.from({ length: 10_000 }, (_, index) => mixSeed(123, index)));
    expect(seeds.size).toBe(10_000);
  });
});
