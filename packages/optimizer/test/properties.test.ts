import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSampler } from '../src/samplers';
import { gridPoint, gridSize, type SearchSpace, stepGrid } from '../src/space';

describe('grid values (property)', () => {
  it('equal the decimal literal min + i·step for any decimal min and step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: 1, max: 999 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 60 }),
        (minUnits, stepUnits, decimals, count) => {
          const scale = 10 ** decimals;
          // Written as a user would write them: the shortest decimal literal of each figure.
          const min = Number((minUnits / scale).toFixed(decimals));
          const step = Number((stepUnits / scale).toFixed(decimals));
          const max = Number(((minUnits + (count - 1) * stepUnits) / scale).toFixed(decimals));
          const space: SearchSpace = { x: { kind: 'float', min, max, step } };
          expect(gridSize(space)).toBe(count);
          for (let index = 0; index < count; index++)
            expect(gridPoint(space, index).x).toBe(
              Number(((minUnits + index * stepUnits) / scale).toFixed(decimals)),
            );
        },
      ),
    );
  });
});

describe('samplers (property)', () => {
  it('propose values inside the space, on the step grid, for any seed and batch', () => {
    const space: SearchSpace = {
      fast: { kind: 'int', min: 3, max: 40, step: 3 },
      ratio: { kind: 'float', min: 0.05, max: 0.95, step: 0.05 },
      rate: { kind: 'float', min: 0.01, max: 100, log: true },
      count: { kind: 'int', min: 1, max: 1000, log: true },
      mode: { kind: 'choice', choices: ['a', 'b', 3, false] },
    };
    fc.assert(
      fc.property(
        fc.constantFrom('random' as const, 'tpe' as const),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 50 }),
        (kind, seed, batchIndex) => {
          const sampler = createSampler({ kind, space, seed, startupTrials: 4 });
          const history = sampler
            .batch(batchIndex + 1000, 6, [])
            .map((params, index) => ({ params, score: index % 3 === 0 ? null : index }));
          for (const set of sampler.batch(batchIndex, 5, history))
            for (const [key, spec] of Object.entries(space)) {
              const value = set[key];
              if (spec.kind === 'choice') {
                expect(spec.choices).toContain(value);
                continue;
              }
              expect(value).toBeGreaterThanOrEqual(spec.min);
              expect(value).toBeLessThanOrEqual(spec.max);
              if (spec.kind === 'int') expect(Number.isInteger(value)).toBe(true);
              const grid = stepGrid(spec);
              if (grid !== undefined) expect(grid.valueAt(grid.nearestIndex(value as number))).toBe(value);
            }
        },
      ),
      { numRuns: 60 },
    );
  });
});
