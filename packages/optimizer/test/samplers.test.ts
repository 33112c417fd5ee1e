import { describe, expect, it } from 'vitest';
import { createSampler, type Sampler, type TrialOutcome } from '../src/samplers';
import { gridPoint, type ParameterSet, parameterKey, type SearchSpace, stepGrid } from '../src/space';

const mixedSpace: SearchSpace = {
  fast: { kind: 'int', min: 2, max: 40, step: 2 },
  ratio: { kind: 'float', min: 0, max: 1, step: 0.05 },
  rate: { kind: 'float', min: 0.001, max: 1, log: true },
  window: { kind: 'int', min: 1, max: 100, log: true },
  level: { kind: 'float', min: -3, max: 3 },
  mode: { kind: 'choice', choices: ['trend', 'revert', 'flat'] },
};

/** Runs `batches` batches, feeding each batch's outcomes into the history of the next. */
function runStudy(
  sampler: Sampler,
  batches: number,
  size: number,
  objective: (params: ParameterSet) => number | null,
): { proposals: ParameterSet[][]; history: TrialOutcome[] } {
  const history: TrialOutcome[] = [];
  const proposals: ParameterSet[][] = [];
  for (let index = 0; index < batches; index++) {
    const batch = sampler.batch(index, size, history);
    proposals.push(batch);
    for (const params of batch) history.push({ params, score: objective(params) });
  }
  return { proposals, history };
}

function expectInSpace(space: SearchSpace, set: ParameterSet): void {
  expect(Object.keys(set)).toEqual(Object.keys(space));
  for (const [key, spec] of Object.entries(space)) {
    const value = set[key];
    if (spec.kind === 'choice') {
      expect(spec.choices).toContain(value);
      continue;
    }
    expect(typeof value).toBe('number');
    expect(value).toBeGreaterThanOrEqual(spec.min);
    expect(value).toBeLessThanOrEqual(spec.max);
    const grid = stepGrid(spec);
    if (grid !== undefined) expect(grid.valueAt(grid.nearestIndex(value as number))).toBe(value);
  }
}

describe('grid sampler', () => {
  const space: SearchSpace = {
    fast: { kind: 'int', min: 1, max: 5 },
    mode: { kind: 'choice', choices: ['a', 'b'] },
  };

  it('walks the grid in order, batch by batch, and stops at the end', () => {
    const sampler = createSampler({ kind: 'grid', space, seed: 1 });
    expect(sampler.total).toBe(10);
    expect(sampler.batch(0, 4, [])).toEqual([0, 1, 2, 3].map((index) => gridPoint(space, index)));
    expect(sampler.batch(2, 4, [])).toEqual([8, 9].map((index) => gridPoint(space, index)));
    expect(sampler.batch(3, 4, [])).toEqual([]);
    const all = [0, 1, 2].flatMap((index) => sampler.batch(index, 4, []));
    expect(new Set(all.map(parameterKey)).size).toBe(10);
  });

  it('refuses a float without a step when created', () => {
    expect(() =>
      createSampler({ kind: 'grid', space: { x: { kind: 'float', min: 0, max: 1 } }, seed: 1 }),
    ).toThrow(/"x"/);
  });
});

describe('random sampler', () => {
  it('is a pure function of (seed, batch index, size)', () => {
    const first = createSampler({ kind: 'random', space: mixedSpace, seed: 9 });
    const second = createSampler({ kind: 'random', space: mixedSpace, seed: 9 });
    const late = second.batch(5, 8, []);
    expect(first.batch(5, 8, [])).toEqual(late);
    expect(first.batch(4, 8, [])).not.toEqual(late);
    expect(createSampler({ kind: 'random', space: mixedSpace, seed: 10 }).batch(5, 8, [])).not.toEqual(late);
    expect(first.total).toBeUndefined();
  });

  it('keeps values in range and on their step grid, every choice reachable', () => {
    const sampler = createSampler({ kind: 'random', space: mixedSpace, seed: 3 });
    const sets = sampler.batch(0, 2000, []);
    for (const set of sets) expectInSpace(mixedSpace, set);
    expect(new Set(sets.map((set) => set.mode))).toEqual(new Set(['trend', 'revert', 'flat']));
    // A uniform grid index: both ends of fast (2 and 40) appear about 1/20 of the time.
    const ends = sets.filter((set) => set.fast === 2 || set.fast === 40).length;
    expect(ends).toBeGreaterThan(2000 * 0.1 * 0.7);
    expect(ends).toBeLessThan(2000 * 0.1 * 1.3);
  });

  it('draws log ranges log-uniformly', () => {
    const sampler = createSampler({ kind: 'random', space: mixedSpace, seed: 4 });
    const sets = sampler.batch(0, 4000, []);
    // Log-uniform on [0.001, 1]: the median is the geometric mean 0.0316, each decade holds a third.
    const belowMedian = sets.filter((set) => (set.rate as number) < Math.sqrt(0.001)).length / sets.length;
    expect(Math.abs(belowMedian - 0.5)).toBeLessThan(0.04);
    const firstDecade = sets.filter((set) => (set.rate as number) < 0.01).length / sets.length;
    expect(Math.abs(firstDecade - 1 / 3)).toBeLessThan(0.04);
  });
});

/** A bowl with its top (score 0) at fast 23 (ints 1..60), ratio 0.35, level 1.3; choices mode matters. */
function bowl(params: ParameterSet): number {
  const fast = ((params.fast as number) - 23) / 60;
  const ratio = (params.ratio as number) - 0.35;
  const level = ((params.level as number) - 1.3) / 6;
  const penalty = params.mode === 'revert' ? 0 : 0.05;
  return -(fast * fast + ratio * ratio + level * level) - penalty;
}

const bowlSpace: SearchSpace = {
  fast: { kind: 'int', min: 1, max: 60 },
  ratio: { kind: 'float', min: 0, max: 1 },
  level: { kind: 'float', min: -3, max: 3 },
  mode: { kind: 'choice', choices: ['trend', 'revert', 'flat'] },
};

describe('tpe sampler', () => {
  it('is random during startup, identical to the random sampler', () => {
    const tpe = createSampler({ kind: 'tpe', space: mixedSpace, seed: 5, startupTrials: 10 });
    const random = createSampler({ kind: 'random', space: mixedSpace, seed: 5 });
    expect(tpe.batch(0, 8, [])).toEqual(random.batch(0, 8, []));
  });

  it('is stateless: a resumed or reordered study proposes the same batches', () => {
    const options = { kind: 'tpe' as const, space: mixedSpace, seed: 11, startupTrials: 8 };
    const objective = (params: ParameterSet) =>
      params.mode === 'flat' ? null : -(((params.level as number) - 1) ** 2) - (params.ratio as number);
    const { proposals, history } = runStudy(createSampler(options), 6, 5, objective);
    // A fresh sampler (a resumed process) given the stored history of batches 0..3 proposes batch 4 again.
    const resumed = createSampler(options);
    expect(resumed.batch(4, 5, history.slice(0, 20))).toEqual(proposals[4]);
    // Calls in any order give the same answers: nothing is remembered between calls.
    expect(resumed.batch(2, 5, history.slice(0, 10))).toEqual(proposals[2]);
    expect(resumed.batch(5, 5, history.slice(0, 25))).toEqual(proposals[5]);
    expect(resumed.batch(4, 5, history.slice(0, 20))).toEqual(proposals[4]);
    for (const batch of proposals) for (const set of batch) expectInSpace(mixedSpace, set);
  });

  it('proposes distinct sets within a batch, avoiding ones already evaluated', () => {
    const sampler = createSampler({ kind: 'tpe', space: bowlSpace, seed: 2, startupTrials: 10 });
    const { proposals, history } = runStudy(sampler, 8, 16, bowl);
    for (const batch of proposals.slice(1)) expect(new Set(batch.map(parameterKey)).size).toBe(batch.length);
    const later = proposals.slice(1).flat().map(parameterKey);
    const earlier = new Set(history.slice(0, 16).map((outcome) => parameterKey(outcome.params)));
    expect(later.filter((key) => earlier.has(key))).toEqual([]);
  });

  it('still fills a batch when a small discrete space is exhausted', () => {
    const space: SearchSpace = { mode: { kind: 'choice', choices: ['a', 'b'] } };
    const sampler = createSampler({ kind: 'tpe', space, seed: 1, startupTrials: 2 });
    const history: TrialOutcome[] = [
      { params: { mode: 'a' }, score: 1 },
      { params: { mode: 'b' }, score: 0 },
    ];
    const batch = sampler.batch(1, 4, history);
    expect(batch).toHaveLength(4);
    for (const set of batch) expect(['a', 'b']).toContain(set.mode);
  });

  it('treats infeasible outcomes as bad and explores while nothing is feasible', () => {
    const sampler = createSampler({ kind: 'tpe', space: bowlSpace, seed: 8, startupTrials: 4 });
    const allNull = sampler.batch(
      1,
      6,
      Array.from({ length: 6 }, (_, index) => ({ params: gridLike(index), score: null })),
    );
    expect(allNull).toHaveLength(6);
    for (const set of allNull) expectInSpace(bowlSpace, set);
  });

  it('finds better sets than random search on a bowl, on average over seeds', () => {
    const seeds = Array.from({ length: 12 }, (_, index) => index + 1);
    const best = (kind: 'random' | 'tpe', seed: number) => {
      const { history } = runStudy(
        createSampler({ kind, space: bowlSpace, seed, startupTrials: 20 }),
        10,
        10,
        bowl,
      );
      return Math.max(...history.map((outcome) => outcome.score as number));
    };
    const tpe = seeds.map((seed) => best('tpe', seed));
    const random = seeds.map((seed) => best('random', seed));
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    // Regret (distance below the optimum 0): TPE should at least halve it on average.
    expect(-mean(tpe)).toBeLessThan(-mean(random) / 2);
    expect(tpe.filter((value, index) => value > (random[index] as number)).length).toBeGreaterThanOrEqual(9);
  });
});

function gridLike(index: number): ParameterSet {
  return { fast: 1 + index, ratio: index / 10, level: 0, mode: 'trend' };
}
