import { PerpkitError, z } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import {
  applyParameters,
  checkSpace,
  gridPoint,
  gridSize,
  parameterKey,
  type SearchSpace,
  searchSpaceSchema,
} from '../src/space';

const issuesOf = (input: unknown) => {
  const result = searchSpaceSchema.safeParse(input);
  if (result.success) throw new Error('expected the space to be refused');
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
};

describe('searchSpaceSchema', () => {
  it('reads ranges, choice objects and bare lists, inferring int from integer min, max and step', () => {
    const space = searchSpaceSchema.parse({
      fast: { min: 5, max: 50, step: 5 },
      ratio: { min: 0.1, max: 0.5, step: 0.1 },
      rate: { min: 0.001, max: 1, log: true },
      window: { min: 5, max: 20, type: 'int' },
      width: { min: 1, max: 3 },
      wide: { min: 1, max: 4, step: 1, type: 'float' },
      mode: ['fast', 'slow'],
      'exit.enabled': { choices: [true, false] },
    });
    expect(Object.keys(space)).toEqual([
      'fast',
      'ratio',
      'rate',
      'window',
      'width',
      'wide',
      'mode',
      'exit.enabled',
    ]);
    expect(space.fast).toEqual({ kind: 'int', min: 5, max: 50, step: 5 });
    expect(space.ratio).toEqual({ kind: 'float', min: 0.1, max: 0.5, step: 0.1 });
    expect(space.rate).toEqual({ kind: 'float', min: 0.001, max: 1, log: true });
    expect(space.window).toEqual({ kind: 'int', min: 5, max: 20 });
    // No step, no type: a continuous range even when the ends are integers.
    expect(space.width).toEqual({ kind: 'float', min: 1, max: 3 });
    expect(space.wide?.kind).toBe('float');
    expect(space.mode).toEqual({ kind: 'choice', choices: ['fast', 'slow'] });
    expect(space['exit.enabled']).toEqual({ kind: 'choice', choices: [true, false] });
  });

  it('refuses bad ranges with the key in the path', () => {
    expect(issuesOf({ fast: { min: 10, max: 5 } })).toEqual([
      { path: 'fast', message: 'min 10 is above max 5' },
    ]);
    expect(issuesOf({ fast: { min: 1, max: 5, step: 0 } })).toEqual([
      { path: 'fast.step', message: 'step must be positive, got 0' },
    ]);
    expect(issuesOf({ rate: { min: 0, max: 1, log: true } })).toEqual([
      { path: 'rate.min', message: 'log scale needs min > 0, got 0' },
    ]);
    expect(issuesOf({ mode: [] })[0]?.path).toBe('mode');
    expect(issuesOf({ mode: { choices: [] } })[0]).toEqual({
      path: 'mode.choices',
      message: 'choices must not be empty',
    });
    expect(issuesOf({ fast: { min: 1.5, max: 5, type: 'int' } })[0]?.path).toBe('fast');
  });

  it('is strict: unknown fields, wrong types and scalar entries are refused', () => {
    const unknown = issuesOf({ fast: { min: 1, max: 5, stpe: 1 } });
    expect(unknown[0]?.path).toBe('fast');
    expect(unknown[0]?.message).toMatch(/stpe/);
    expect(issuesOf({ fast: { min: 1, max: 'x' } })[0]?.path).toBe('fast.max');
    expect(issuesOf({ fast: 5 })[0]).toEqual({
      path: 'fast',
      message: 'expected {min, max, step?, log?, type?}, {choices: [...]} or a list of choices',
    });
    expect(issuesOf({ mode: [{ nested: true }] })[0]?.path).toBe('mode.0');
    expect(issuesOf({})[0]?.message).toMatch(/no parameters/);
  });

  it('refuses keys that would reach a prototype or are not dotted paths', () => {
    expect(issuesOf({ 'a.constructor': [1] })[0]?.path).toBe('a.constructor');
    expect(issuesOf(JSON.parse('{"__proto__": [1]}')).length).toBeGreaterThan(0);
    expect(issuesOf({ 'a..b': [1] }).length).toBeGreaterThan(0);
  });
});

describe('grid', () => {
  it('computes step values exactly, without accumulated float error', () => {
    const space: SearchSpace = { ratio: { kind: 'float', min: 0, max: 1, step: 0.1 } };
    expect(gridSize(space)).toBe(11);
    const values = Array.from({ length: 11 }, (_, index) => gridPoint(space, index).ratio);
    expect(values).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    const offset: SearchSpace = { ratio: { kind: 'float', min: 0.05, max: 0.45, step: 0.1 } };
    expect(Array.from({ length: gridSize(offset) }, (_, index) => gridPoint(offset, index).ratio)).toEqual([
      0.05, 0.15, 0.25, 0.35, 0.45,
    ]);
    // max off the grid: the last value stays at or below max.
    const ragged: SearchSpace = { fast: { kind: 'int', min: 5, max: 22, step: 5 } };
    expect(Array.from({ length: gridSize(ragged) }, (_, index) => gridPoint(ragged, index).fast)).toEqual([
      5, 10, 15, 20,
    ]);
  });

  it('enumerates every combination once, last key fastest', () => {
    const space: SearchSpace = {
      fast: { kind: 'int', min: 1, max: 3 },
      mode: { kind: 'choice', choices: ['a', 'b'] },
      flag: { kind: 'choice', choices: [true, false] },
    };
    expect(gridSize(space)).toBe(12);
    expect(gridPoint(space, 0)).toEqual({ fast: 1, mode: 'a', flag: true });
    expect(gridPoint(space, 1)).toEqual({ fast: 1, mode: 'a', flag: false });
    expect(gridPoint(space, 2)).toEqual({ fast: 1, mode: 'b', flag: true });
    expect(gridPoint(space, 11)).toEqual({ fast: 3, mode: 'b', flag: false });
    const keys = new Set(Array.from({ length: 12 }, (_, index) => parameterKey(gridPoint(space, index))));
    expect(keys.size).toBe(12);
    expect(() => gridPoint(space, 12)).toThrow(RangeError);
    expect(() => gridPoint(space, -1)).toThrow(RangeError);
  });

  it('refuses a float without a step, naming the key', () => {
    const space: SearchSpace = {
      fast: { kind: 'int', min: 1, max: 3 },
      ratio: { kind: 'float', min: 0, max: 1 },
    };
    expect(() => gridSize(space)).toThrow(RangeError);
    expect(() => gridSize(space)).toThrow(/"ratio"/);
  });
});

describe('parameterKey', () => {
  it('does not depend on key order', () => {
    expect(parameterKey({ b: 1, a: 'x' })).toBe(parameterKey({ a: 'x', b: 1 }));
    expect(parameterKey({ b: 1, a: 'x' })).toBe('{"a":"x","b":1}');
    expect(parameterKey({ a: 1 })).not.toBe(parameterKey({ a: '1' }));
  });
});

describe('applyParameters', () => {
  it('sets dotted paths on a deep copy, creating objects as needed', () => {
    const base = { fast: 10, conditions: { volumeZ: { min: 1, max: 3 } }, list: [1, 2] };
    const applied = applyParameters(base, {
      fast: 20,
      'conditions.volumeZ.min': 2,
      'exit.stop.percent': 0.05,
    });
    expect(applied).toEqual({
      fast: 20,
      conditions: { volumeZ: { min: 2, max: 3 } },
      list: [1, 2],
      exit: { stop: { percent: 0.05 } },
    });
    expect(base).toEqual({ fast: 10, conditions: { volumeZ: { min: 1, max: 3 } }, list: [1, 2] });
    expect(applied.list).not.toBe(base.list);
  });

  it('refuses a path through a scalar option or onto a prototype', () => {
    const error = (() => {
      try {
        applyParameters({ fast: 10 }, { 'fast.x': 1 });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(PerpkitError);
    expect((error as PerpkitError).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/"fast" is a number/);
    expect(() => applyParameters({}, { '__proto__.polluted': 1 })).toThrow(PerpkitError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('checkSpace', () => {
  const optionsSchema = z
    .strictObject({
      fast: z.number().int().min(2).max(100),
      slow: z.number().int().default(30),
      mode: z.enum(['trend', 'revert']).optional(),
      conditions: z
        .object({ volumeZ: z.object({ min: z.number().min(0), max: z.number() }).optional() })
        .optional(),
      threshold: z.number().pipe(z.number().max(1)),
    })
    .refine((options) => options.fast < options.slow, { message: 'fast must be below slow', path: ['fast'] });
  const base = { fast: 10, slow: 30, threshold: 0.5, conditions: { volumeZ: { min: 1, max: 3 } } };

  it('accepts a space whose keys and extremes the schema accepts', () => {
    const space = searchSpaceSchema.parse({
      fast: { min: 5, max: 50, step: 5 },
      slow: { min: 60, max: 200, step: 20 },
      mode: ['trend', 'revert'],
      'conditions.volumeZ.min': { min: 0, max: 2 },
      threshold: { min: 0.1, max: 1 },
    });
    // fast max 50 fails against base slow 30, but passes with slow at its own max: not reported.
    expect(checkSpace(space, optionsSchema, base)).toEqual([]);
  });

  it('reports unknown keys with the known ones, at the given path prefix', () => {
    const space = searchSpaceSchema.parse({ fsat: [5], 'conditions.volumeZ.mean': [1], 'fast.x': [1] });
    const problems = checkSpace(space, optionsSchema, base, 'strategies[0].optimize.space');
    expect(problems).toEqual([
      {
        path: 'strategies[0].optimize.space.fsat',
        message:
          'unknown option "fsat" in the strategy options (known: conditions, fast, mode, slow, threshold)',
      },
      {
        path: 'strategies[0].optimize.space.conditions.volumeZ.mean',
        message: 'unknown option "mean" in "conditions.volumeZ" (known: max, min)',
      },
      {
        path: 'strategies[0].optimize.space.fast.x',
        message: '"fast" is not an object option, so "fast.x" cannot be set',
      },
    ]);
  });

  it("reports values the schema refuses, with the schema's message", () => {
    const space = searchSpaceSchema.parse({
      fast: { min: 1, max: 10, step: 1 },
      mode: ['trend', 'sideways'],
      'conditions.volumeZ.min': { min: -1, max: 2 },
    });
    const problems = checkSpace(space, optionsSchema, base);
    expect(problems.map((problem) => problem.path)).toEqual([
      'optimize.space.fast',
      'optimize.space.mode',
      'optimize.space.conditions.volumeZ.min',
    ]);
    expect(problems[0]?.message).toMatch(/^min 1 is refused by the strategy options: .*>=2.*\(at fast\)/);
    expect(problems[1]?.message).toMatch(/^choice "sideways" is refused/);
    expect(problems[2]?.message).toMatch(/^min -1 is refused/);
  });

  it('tells a continuous float range on an integer option to use int or a step', () => {
    const space = searchSpaceSchema.parse({ fast: { min: 5, max: 20 } });
    const problems = checkSpace(space, optionsSchema, base);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/use type: int or a step/);
    expect(
      checkSpace(searchSpaceSchema.parse({ fast: { min: 5, max: 20, type: 'int' } }), optionsSchema, base),
    ).toEqual([]);
  });

  it('does not blame the space for problems of the base options', () => {
    const space = searchSpaceSchema.parse({ fast: { min: 5, max: 20, step: 5 } });
    // threshold is missing from this base: every probe fails on it, but that is not the space's fault.
    expect(checkSpace(space, optionsSchema, { fast: 10, slow: 30 })).toEqual([]);
  });

  it('accepts any key under a record or an unknown option', () => {
    const schema = z.object({ weights: z.record(z.string(), z.number()), extra: z.unknown() });
    const space = searchSpaceSchema.parse({ 'weights.btc': [0.5, 1], 'extra.deep.path': [1] });
    expect(checkSpace(space, schema, { weights: {} })).toEqual([]);
  });
});
