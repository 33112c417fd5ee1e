/**
 * Search spaces: which strategy options the optimizer varies, over which values, and how a
 * parameter set is written back into the strategy's options.
 */
import { PerpkitError, z } from '@perpkit/core';

export type ParameterValue = string | number | boolean;

export type ParameterSpec =
  | { kind: 'int' | 'float'; min: number; max: number; step?: number; log?: boolean }
  | { kind: 'choice'; choices: readonly ParameterValue[] };

/** Key: dotted path into the strategy's options, e.g. `fast` or `conditions.volumeZ.min`. */
export type SearchSpace = Readonly<Record<string, ParameterSpec>>;

export type ParameterSet = Readonly<Record<string, ParameterValue>>;

/** Path segments that would reach an object's prototype instead of an own property. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

const choiceListSchema = z
  .array(z.union([z.string(), z.number(), z.boolean()]))
  .min(1, 'choices must not be empty');

const choiceObjectSchema = z.strictObject({ choices: choiceListSchema });

const rangeSchema = z.strictObject({
  min: z.number(),
  max: z.number(),
  step: z.number().optional(),
  log: z.boolean().optional(),
  type: z.enum(['int', 'float']).optional(),
});

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One entry of the YAML form. The three shapes are told apart by hand (not `z.union`) so that a
 * mistake inside a range reports the range's own problem ("max: expected number") rather than
 * "Invalid input" for every alternative.
 */
const parameterSpecSchema = z.unknown().transform((value, context): ParameterSpec => {
  const fail = (message: string, path: PropertyKey[] = []) => {
    context.addIssue({ code: 'custom', message, path });
    return z.NEVER;
  };
  const shape = Array.isArray(value)
    ? choiceListSchema
    : isPlainObject(value) && 'choices' in value
      ? choiceObjectSchema
      : isPlainObject(value)
        ? rangeSchema
        : undefined;
  if (shape === undefined)
    return fail('expected {min, max, step?, log?, type?}, {choices: [...]} or a list of choices');
  const parsed = shape.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) fail(issue.message, issue.path);
    return z.NEVER;
  }
  const data = parsed.data;
  if (Array.isArray(data)) return { kind: 'choice', choices: data };
  if ('choices' in data) return { kind: 'choice', choices: data.choices };
  const { min, max, step, log, type } = data;
  if (min > max) return fail(`min ${min} is above max ${max}`);
  if (step !== undefined && step <= 0) return fail(`step must be positive, got ${step}`, ['step']);
  if (log === true && min <= 0) return fail(`log scale needs min > 0, got ${min}`, ['min']);
  const integers =
    Number.isInteger(min) && Number.isInteger(max) && (step === undefined || Number.isInteger(step));
  if (type === 'int' && !integers) return fail(`type int needs integer min, max and step`);
  // Without a step and without `type`, a range is float: {min: 0, max: 1} is a fraction, not {0, 1}.
  const kind = type ?? (integers && step !== undefined ? 'int' : 'float');
  const spec: ParameterSpec = { kind, min, max };
  if (step !== undefined) spec.step = step;
  if (log !== undefined) spec.log = log;
  return spec;
});

const parameterPathSchema = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'a parameter must be a dotted option path such as "fast" or "exit.stop"')
  .refine(
    (path) => path.split('.').every((segment) => !FORBIDDEN_SEGMENTS.has(segment)),
    'a parameter path may not use __proto__, prototype or constructor',
  );

/**
 * The YAML form of a search space. Each key (a dotted option path) maps to a range
 * `{min, max, step?, log?, type?: int|float}`, to `{choices: [...]}`, or to a bare list of choices.
 * A range is `int` when `type: int`, or when min, max and step are all integers; otherwise `float`.
 * Issue paths start with the key, so messages name the offending parameter.
 */
export const searchSpaceSchema = z
  .record(parameterPathSchema, parameterSpecSchema)
  .refine((space) => Object.keys(space).length > 0, 'the search space has no parameters')
  .transform((space): SearchSpace => space);

// ---------------------------------------------------------------------------------------------
// Axes

/** Number of decimals needed to write `value` exactly as it reads (0.1 → 1, 2.5e-7 → 8). */
function decimalsOf(value: number): number {
  if (Number.isInteger(value)) return 0;
  const match = /^-?\d*(?:\.(\d+))?(?:e([+-]\d+))?$/i.exec(String(value));
  const fraction = match?.[1]?.length ?? 0;
  const exponent = Number(match?.[2] ?? 0);
  return Math.max(0, fraction - exponent);
}

/** The finite list of values a numeric parameter takes on its step grid. */
export interface StepGrid {
  readonly count: number;
  valueAt(index: number): number;
  /** Index of the grid value nearest `value`, clamped into the grid. */
  nearestIndex(value: number): number;
}

/** The step of a numeric spec: its own, 1 for an int without one, undefined for a continuous float. */
export function stepOf(spec: ParameterSpec): number | undefined {
  if (spec.kind === 'choice') return undefined;
  return spec.step ?? (spec.kind === 'int' ? 1 : undefined);
}

/**
 * The step grid min, min + step, ... ≤ max. Values are computed on integers scaled by 10^decimals
 * and divided once, so a 0.1 step yields 0.3 rather than 0.30000000000000004.
 */
export function stepGrid(spec: ParameterSpec): StepGrid | undefined {
  const step = stepOf(spec);
  if (spec.kind === 'choice' || step === undefined) return undefined;
  const { min, max } = spec;
  const scale = 10 ** Math.max(decimalsOf(min), decimalsOf(step), decimalsOf(max));
  const minScaled = Math.round(min * scale);
  const maxScaled = Math.round(max * scale);
  const stepScaled = Math.round(step * scale);
  const exact = [minScaled, maxScaled, stepScaled].every(Number.isSafeInteger) && stepScaled > 0;
  // Tolerance for spans that are a whole number of steps up to float noise, e.g. (0.3 - 0) / 0.1.
  const count = exact
    ? Math.floor((maxScaled - minScaled) / stepScaled) + 1
    : Math.floor((max - min) / step + 1e-9) + 1;
  const valueAt = (index: number) => (exact ? (minScaled + index * stepScaled) / scale : min + index * step);
  return {
    count,
    valueAt,
    nearestIndex: (value) => Math.min(count - 1, Math.max(0, Math.round((value - min) / step))),
  };
}

/** How many values a parameter takes in a grid search. */
export function axisSize(key: string, spec: ParameterSpec): number {
  if (spec.kind === 'choice') return spec.choices.length;
  const grid = stepGrid(spec);
  if (grid === undefined)
    throw new RangeError(`grid search needs a step for float parameter "${key}" (add step: to its range)`);
  return grid.count;
}

/** Product of the axis sizes. Throws a RangeError naming the key of a float without a step. */
export function gridSize(space: SearchSpace): number {
  let size = 1;
  for (const [key, spec] of Object.entries(space)) size *= axisSize(key, spec);
  return size;
}

/**
 * The `index`-th point of the grid, in mixed radix over the keys in written order with the LAST
 * key varying fastest (as nested loops written in the same order would).
 */
export function gridPoint(space: SearchSpace, index: number): ParameterSet {
  const size = gridSize(space);
  if (!Number.isInteger(index) || index < 0 || index >= size)
    throw new RangeError(`grid index ${index} is outside 0..${size - 1}`);
  const entries = Object.entries(space);
  const point: Record<string, ParameterValue> = {};
  let rest = index;
  for (let position = entries.length - 1; position >= 0; position--) {
    const [key, spec] = entries[position] as [string, ParameterSpec];
    const radix = axisSize(key, spec);
    const digit = rest % radix;
    rest = Math.floor(rest / radix);
    point[key] =
      spec.kind === 'choice'
        ? (spec.choices[digit] as ParameterValue)
        : (stepGrid(spec)?.valueAt(digit) as number);
  }
  // Rebuild in written order so the set reads like the space.
  const ordered: Record<string, ParameterValue> = {};
  for (const [key] of entries) ordered[key] = point[key] as ParameterValue;
  return ordered;
}

/** Canonical JSON with sorted keys: equal sets give equal keys, whatever their key order. */
export function parameterKey(set: ParameterSet): string {
  const sorted: Record<string, ParameterValue> = {};
  for (const key of Object.keys(set).sort()) sorted[key] = set[key] as ParameterValue;
  return JSON.stringify(sorted);
}

// ---------------------------------------------------------------------------------------------
// Applying a set to options

function deepCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepCopy);
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = deepCopy(item);
    return copy;
  }
  return value;
}

/**
 * A deep copy of `baseOptions` with each dotted path of `set` assigned, creating intermediate
 * objects where missing. The base is never mutated, so one base serves every trial.
 */
export function applyParameters(
  baseOptions: Record<string, unknown>,
  set: ParameterSet,
): Record<string, unknown> {
  const options = deepCopy(baseOptions) as Record<string, unknown>;
  for (const [path, value] of Object.entries(set)) {
    const segments = path.split('.');
    if (segments.some((segment) => FORBIDDEN_SEGMENTS.has(segment) || segment === ''))
      throw new PerpkitError('INVALID_ARGUMENT', `parameter "${path}" is not a usable option path`);
    let target: Record<string, unknown> = options;
    for (let index = 0; index < segments.length - 1; index++) {
      const segment = segments[index] as string;
      const next = target[segment];
      if (next === undefined) target[segment] = {};
      else if (typeof next !== 'object' || next === null)
        throw new PerpkitError(
          'INVALID_ARGUMENT',
          `parameter "${path}": option "${segments.slice(0, index + 1).join('.')}" is ${next === null ? 'null' : `a ${typeof next}`}, not an object`,
        );
      target = target[segment] as Record<string, unknown>;
    }
    target[segments[segments.length - 1] as string] = value;
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Checking a space against a strategy's options schema

interface SchemaDefinition {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  getter?: () => z.ZodType;
  options?: readonly z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
}

const definitionOf = (schema: z.ZodType): SchemaDefinition =>
  (schema as unknown as { _zod: { def: SchemaDefinition } })._zod.def;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

type Shape = { kind: 'object'; keys: Map<string, z.ZodType> } | { kind: 'open' } | { kind: 'leaf' };

/**
 * What keys a schema accepts at this level. Wrappers are looked through; a pipe is read on its
 * input side (the options as written); unions and intersections merge their object members.
 * Records, `any`, `unknown` and anything unrecognized are "open": every key is allowed there.
 */
function shapeOf(schema: z.ZodType, depth = 0): Shape {
  if (depth > 32) return { kind: 'open' };
  const definition = definitionOf(schema);
  if (WRAPPERS.has(definition.type) && definition.innerType) return shapeOf(definition.innerType, depth + 1);
  if (definition.type === 'pipe' && definition.in) return shapeOf(definition.in, depth + 1);
  if (definition.type === 'lazy' && definition.getter) return shapeOf(definition.getter(), depth + 1);
  if (definition.type === 'object' && definition.shape)
    return { kind: 'object', keys: new Map(Object.entries(definition.shape)) };
  const members =
    definition.type === 'union'
      ? (definition.options ?? [])
      : definition.type === 'intersection' && definition.left && definition.right
        ? [definition.left, definition.right]
        : undefined;
  if (members) {
    const keys = new Map<string, z.ZodType>();
    for (const member of members) {
      const shape = shapeOf(member, depth + 1);
      if (shape.kind === 'open') return shape;
      if (shape.kind === 'object')
        for (const [key, value] of shape.keys) if (!keys.has(key)) keys.set(key, value);
    }
    return keys.size > 0 ? { kind: 'object', keys } : { kind: 'leaf' };
  }
  const open = ['record', 'any', 'unknown', 'custom', 'transform'];
  return open.includes(definition.type) ? { kind: 'open' } : { kind: 'leaf' };
}

/** Null when `path` names an option the schema has, else the problem. */
function findOption(schema: z.ZodType, path: string): string | null {
  const segments = path.split('.');
  let current = schema;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] as string;
    const shape = shapeOf(current);
    if (shape.kind === 'open') return null;
    const parent = segments.slice(0, index).join('.');
    if (shape.kind === 'leaf') return `"${parent}" is not an object option, so "${path}" cannot be set`;
    const child = shape.keys.get(segment);
    if (child === undefined) {
      const known = [...shape.keys.keys()].sort().join(', ');
      const where = parent === '' ? 'the strategy options' : `"${parent}"`;
      return `unknown option "${segment}" in ${where} (known: ${known || 'none'})`;
    }
    current = child;
  }
  return null;
}

const describeValue = (value: ParameterValue) =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

const issueText = (issue: z.core.$ZodIssue) =>
  issue.path.length === 0 ? issue.message : `${issue.message} (at ${issue.path.join('.')})`;

/**
 * Checks a space against a strategy before any trial runs: every key must be an option the
 * strategy's zod schema has, and the extreme values (min and max, every choice, and for a float
 * range a fractional midpoint) applied to `baseOptions` must be accepted by the schema.
 *
 * Problems the base options already have on their own are not blamed on the space. A value
 * refused only in combination with the base (for example `fast` max above the base `slow`, under a
 * fast < slow refinement) is re-tried with every other numeric parameter at the same extreme, and
 * reported only if still refused.
 */
export function checkSpace(
  space: SearchSpace,
  optionsSchema: z.ZodType,
  baseOptions: Record<string, unknown>,
  pathPrefix = 'optimize.space',
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const baseIssues = new Set<string>();
  const baseResult = optionsSchema.safeParse(baseOptions);
  if (!baseResult.success) for (const issue of baseResult.error.issues) baseIssues.add(issueText(issue));
  const newIssues = (options: Record<string, unknown>): string[] => {
    const result = optionsSchema.safeParse(options);
    return result.success ? [] : result.error.issues.map(issueText).filter((text) => !baseIssues.has(text));
  };
  const extremes = (side: 'min' | 'max'): Record<string, ParameterValue> => {
    const set: Record<string, ParameterValue> = {};
    for (const [key, spec] of Object.entries(space)) if (spec.kind !== 'choice') set[key] = spec[side];
    return set;
  };

  for (const [key, spec] of Object.entries(space)) {
    const path = `${pathPrefix}.${key}`;
    const missing = findOption(optionsSchema, key);
    if (missing !== null) {
      problems.push({ path, message: missing });
      continue;
    }
    const probes: { label: string; value: ParameterValue; side?: 'min' | 'max'; hint?: string }[] =
      spec.kind === 'choice'
        ? spec.choices.map((value) => ({ label: `choice ${describeValue(value)}`, value }))
        : [
            { label: `min ${spec.min}`, value: spec.min, side: 'min' },
            { label: `max ${spec.max}`, value: spec.max, side: 'max' },
          ];
    if (spec.kind === 'float' && stepOf(spec) === undefined && spec.max > spec.min) {
      // A continuous float range will propose fractions; an integer-only option must say so now.
      const middle = spec.min + (spec.max - spec.min) * 0.5 + (spec.max - spec.min) * 0.01 * Math.SQRT1_2;
      probes.push({
        label: `a value such as ${middle}`,
        value: middle,
        hint: ' (the range is float: use type: int or a step for an integer option)',
      });
    }
    for (const probe of probes) {
      let issues: string[];
      try {
        issues = newIssues(applyParameters(baseOptions, { [key]: probe.value }));
        if (issues.length > 0 && probe.side !== undefined)
          issues = newIssues(applyParameters(baseOptions, { ...extremes(probe.side), [key]: probe.value }));
      } catch (error) {
        issues = [error instanceof Error ? error.message : String(error)];
      }
      if (issues.length > 0)
        problems.push({
          path,
          message: `${probe.label} is refused by the strategy options: ${issues.join('; ')}${probe.hint ?? ''}`,
        });
    }
  }
  return problems;
}
