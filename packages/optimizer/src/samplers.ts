/**
 * Samplers propose parameter sets batch by batch.
 *
 * Every sampler is STATELESS: `batch(i, size, history)` depends only on the seed, `i`, `size` and
 * `history` (every outcome of batches 0..i-1, in trial order). A study interrupted after batch 7
 * therefore proposes exactly the same batch 8 when resumed from its stored outcomes, and the result
 * does not depend on how many workers evaluated the earlier batches.
 */
import { createRandom, mixSeed } from './random';
import {
  gridPoint,
  gridSize,
  type ParameterSet,
  type ParameterSpec,
  type ParameterValue,
  parameterKey,
  type SearchSpace,
  stepGrid,
} from './space';

/** Higher score is better; null means infeasible (too few trades, an error, an undefined ratio). */
export interface TrialOutcome {
  readonly params: ParameterSet;
  readonly score: number | null;
}

export type SamplerKind = 'grid' | 'random' | 'tpe';

export interface Sampler {
  readonly kind: SamplerKind;
  /** Number of distinct proposals (the grid size), or undefined when unbounded. */
  readonly total: number | undefined;
  /** Proposals of batch `batchIndex`; fewer than `size` (or none) past the end of a grid. */
  batch(batchIndex: number, size: number, history: readonly TrialOutcome[]): ParameterSet[];
}

export interface SamplerOptions {
  kind: SamplerKind;
  space: SearchSpace;
  seed: number;
  /** TPE: outcomes needed before modelling; until then batches are random. Default 20. */
  startupTrials?: number;
  /** TPE: candidates drawn from the "good" model per proposal. Default 24. */
  candidates?: number;
  /** TPE: fraction of the best outcomes that form the "good" group. Default 0.25. */
  gamma?: number;
}

export function createSampler(options: SamplerOptions): Sampler {
  const { kind, space, seed } = options;
  if (Object.keys(space).length === 0) throw new RangeError('the search space has no parameters');
  if (kind === 'grid') return gridSampler(space);
  if (kind === 'random')
    return { kind, total: undefined, batch: (index, size) => randomBatch(space, seed, index, size) };
  if (kind === 'tpe') {
    const settings = {
      startupTrials: options.startupTrials ?? 20,
      candidates: options.candidates ?? 24,
      gamma: options.gamma ?? 0.25,
    };
    if (!(settings.gamma > 0 && settings.gamma < 1))
      throw new RangeError(`tpe gamma must be in (0, 1), got ${settings.gamma}`);
    if (!(Number.isInteger(settings.candidates) && settings.candidates >= 1))
      throw new RangeError(`tpe candidates must be a positive integer, got ${settings.candidates}`);
    if (!(Number.isInteger(settings.startupTrials) && settings.startupTrials >= 0))
      throw new RangeError(`tpe startupTrials must be a non-negative integer, got ${settings.startupTrials}`);
    return {
      kind,
      total: undefined,
      batch: (index, size, history) =>
        history.length < settings.startupTrials
          ? randomBatch(space, seed, index, size)
          : tpeBatch(space, settings, createRandom(mixSeed(seed, index, 1)), size, history),
    };
  }
  throw new RangeError(`unknown sampler "${String(kind)}" (use grid, random or tpe)`);
}

function checkBatchArguments(batchIndex: number, size: number): void {
  if (!Number.isInteger(batchIndex) || batchIndex < 0)
    throw new RangeError(`batch index must be a non-negative integer, got ${batchIndex}`);
  if (!Number.isInteger(size) || size < 0)
    throw new RangeError(`batch size must be a non-negative integer, got ${size}`);
}

// ---------------------------------------------------------------------------------------------
// Grid

function gridSampler(space: SearchSpace): Sampler {
  const total = gridSize(space);
  return {
    kind: 'grid',
    total,
    batch(batchIndex, size) {
      checkBatchArguments(batchIndex, size);
      const points: ParameterSet[] = [];
      for (let index = batchIndex * size; index < Math.min(total, (batchIndex + 1) * size); index++)
        points.push(gridPoint(space, index));
      return points;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Random

/**
 * One value drawn from the prior of a parameter: uniform (log-uniform with `log: true`) over
 * [min, max], snapped to the step grid when there is one; a uniform choice otherwise. Without log,
 * a stepped value is a uniform grid index so the two ends are as likely as any other value.
 */
function sampleFromPrior(spec: ParameterSpec, random: () => number): ParameterValue {
  if (spec.kind === 'choice')
    return spec.choices[Math.floor(random() * spec.choices.length)] as ParameterValue;
  const grid = stepGrid(spec);
  if (grid !== undefined && spec.log !== true) return grid.valueAt(Math.floor(random() * grid.count));
  const value =
    spec.log === true
      ? Math.exp(Math.log(spec.min) + random() * (Math.log(spec.max) - Math.log(spec.min)))
      : spec.min + random() * (spec.max - spec.min);
  return snap(spec, value);
}

/** Onto the step grid if any, and always inside [min, max]. */
function snap(spec: Exclude<ParameterSpec, { kind: 'choice' }>, value: number): number {
  const grid = stepGrid(spec);
  if (grid !== undefined) return grid.valueAt(grid.nearestIndex(value));
  return Math.min(spec.max, Math.max(spec.min, value));
}

function randomBatch(space: SearchSpace, seed: number, batchIndex: number, size: number): ParameterSet[] {
  checkBatchArguments(batchIndex, size);
  const random = createRandom(mixSeed(seed, batchIndex));
  const entries = Object.entries(space);
  const batch: ParameterSet[] = [];
  for (let count = 0; count < size; count++) {
    const set: Record<string, ParameterValue> = {};
    for (const [key, spec] of entries) set[key] = sampleFromPrior(spec, random);
    batch.push(set);
  }
  return batch;
}

// ---------------------------------------------------------------------------------------------
// TPE

/*
 * Tree-structured Parzen Estimator (Bergstra et al., "Algorithms for Hyper-Parameter
 * Optimization", NeurIPS 2011), univariate form as in hyperopt and Optuna's default. Written here
 * because no maintained npm package implements it; this is our own code, not a port.
 *
 * The outcomes are split at the gamma quantile of score into "good" and "bad" (infeasible outcomes
 * are always bad). For each parameter, two densities are fitted: l(x) over the good values and g(x)
 * over the bad ones. Numeric parameters use a mixture of truncated Gaussians, one per observation
 * plus a wide prior component, each with a bandwidth equal to the larger gap to its neighbours;
 * choices use counts smoothed by one per choice. A proposal is the candidate, drawn from l, that
 * maximizes l(x)/g(x) summed in log over parameters.
 *
 * To fill a batch with distinct proposals from one unchanged history, each proposal is added to
 * the bad group before the next is made (the "constant liar" heuristic), which pushes the next
 * proposal away from it; a candidate equal to an earlier proposal or evaluated set is skipped.
 */

interface TpeSettings {
  startupTrials: number;
  candidates: number;
  gamma: number;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Error function, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for mixture weights. */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-x * x));
}

const normalCdf = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));

function standardNormal(random: () => number): number {
  // Box–Muller; 1 - random() is in (0, 1] so the log is finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function logSumExp(values: readonly number[]): number {
  let largest = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > largest) largest = value;
  if (largest === Number.NEGATIVE_INFINITY) return largest;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - largest);
  return largest + Math.log(sum);
}

/** A mixture of Gaussians truncated to [low, high], equal weights. */
class ParzenMixture {
  private readonly means: number[] = [];
  private readonly sigmas: number[] = [];
  private readonly logMasses: number[] = [];

  constructor(
    observations: readonly number[],
    private readonly low: number,
    private readonly high: number,
  ) {
    const width = high - low;
    const prior = (low + high) / 2;
    // Points sorted with the prior among them; each bandwidth is the larger gap to a neighbour.
    const points = [...observations, prior].sort((a, b) => a - b);
    const minimumSigma = width / Math.min(100, 1 + points.length);
    let priorPlaced = false;
    for (let index = 0; index < points.length; index++) {
      const mean = points[index] as number;
      let sigma: number;
      if (!priorPlaced && mean === prior) {
        priorPlaced = true;
        sigma = width;
      } else {
        const left = index > 0 ? mean - (points[index - 1] as number) : mean - low;
        const right = index < points.length - 1 ? (points[index + 1] as number) - mean : high - mean;
        sigma = Math.min(width, Math.max(minimumSigma, left, right));
      }
      this.means.push(mean);
      this.sigmas.push(sigma);
      const mass = normalCdf((high - mean) / sigma) - normalCdf((low - mean) / sigma);
      this.logMasses.push(Math.log(Math.max(mass, 1e-12)));
    }
  }

  sample(random: () => number): number {
    const component = Math.floor(random() * this.means.length);
    const mean = this.means[component] as number;
    const sigma = this.sigmas[component] as number;
    for (let attempt = 0; attempt < 32; attempt++) {
      const value = mean + sigma * standardNormal(random);
      if (value >= this.low && value <= this.high) return value;
    }
    return Math.min(this.high, Math.max(this.low, mean));
  }

  logDensity(value: number): number {
    const terms = this.means.map((mean, index) => {
      const sigma = this.sigmas[index] as number;
      const z = (value - mean) / sigma;
      return -0.5 * z * z - Math.log(sigma) - LOG_SQRT_2PI - (this.logMasses[index] as number);
    });
    return logSumExp(terms) - Math.log(this.means.length);
  }
}

interface ParameterModel {
  sample(random: () => number): ParameterValue;
  /** log l(x) − log g(x) */
  logRatio(value: ParameterValue): number;
}

/**
 * Numeric parameters are modelled in a continuous space: the log of the value with `log: true`,
 * and for a step grid the interval widened by half a step on each side so that the end values get
 * their full share of probability.
 */
function numericModel(
  spec: Exclude<ParameterSpec, { kind: 'choice' }>,
  good: readonly number[],
  bad: readonly number[],
): ParameterModel {
  const grid = stepGrid(spec);
  const log = spec.log === true;
  const toModel = (value: number) => (log ? Math.log(value) : value);
  const fromModel = (value: number) => (log ? Math.exp(value) : value);
  let low = toModel(spec.min);
  let high = toModel(spec.max);
  if (grid !== undefined && !log) {
    const half = (grid.count > 1 ? (spec.max - spec.min) / (grid.count - 1) : 1) / 2;
    low -= half;
    high += half;
  }
  if (high <= low) {
    const only = spec.min;
    return { sample: () => only, logRatio: () => 0 };
  }
  const goodModel = new ParzenMixture(good.map(toModel), low, high);
  const badModel = new ParzenMixture(bad.map(toModel), low, high);
  return {
    sample: (random) => snap(spec, fromModel(goodModel.sample(random))),
    logRatio: (value) => {
      const x = toModel(value as number);
      return goodModel.logDensity(x) - badModel.logDensity(x);
    },
  };
}

function choiceModel(
  choices: readonly ParameterValue[],
  good: readonly ParameterValue[],
  bad: readonly ParameterValue[],
): ParameterModel {
  const weights = (values: readonly ParameterValue[]) => {
    const counts = choices.map(() => 1);
    for (const value of values) {
      const index = choices.indexOf(value);
      if (index >= 0) counts[index] = (counts[index] as number) + 1;
    }
    const total = counts.reduce((sum, count) => sum + count, 0);
    return counts.map((count) => count / total);
  };
  const goodWeights = weights(good);
  const badWeights = weights(bad);
  return {
    sample(random) {
      let draw = random();
      for (let index = 0; index < choices.length; index++) {
        draw -= goodWeights[index] as number;
        if (draw < 0) return choices[index] as ParameterValue;
      }
      return choices[choices.length - 1] as ParameterValue;
    },
    logRatio(value) {
      const index = choices.indexOf(value);
      return index < 0 ? 0 : Math.log(goodWeights[index] as number) - Math.log(badWeights[index] as number);
    },
  };
}

function buildModels(
  space: SearchSpace,
  good: readonly ParameterSet[],
  bad: readonly ParameterSet[],
): [string, ParameterModel][] {
  return Object.entries(space).map(([key, spec]): [string, ParameterModel] => {
    if (spec.kind === 'choice') {
      const values = (sets: readonly ParameterSet[]) =>
        sets.map((set) => set[key]).filter((value): value is ParameterValue => value !== undefined);
      return [key, choiceModel(spec.choices, values(good), values(bad))];
    }
    const values = (sets: readonly ParameterSet[]) =>
      sets
        .map((set) => set[key])
        .filter(
          (value): value is number =>
            typeof value === 'number' && Number.isFinite(value) && value >= spec.min && value <= spec.max,
        );
    return [key, numericModel(spec, values(good), values(bad))];
  });
}

function tpeBatch(
  space: SearchSpace,
  settings: TpeSettings,
  random: () => number,
  size: number,
  history: readonly TrialOutcome[],
): ParameterSet[] {
  if (!Number.isInteger(size) || size < 0)
    throw new RangeError(`batch size must be a non-negative integer, got ${size}`);
  // Stable sort by score, best first, infeasible last: ties keep trial order, so the split is deterministic.
  const ranked: TrialOutcome[] = [];
  const infeasible: TrialOutcome[] = [];
  for (const outcome of history)
    (outcome.score !== null && Number.isFinite(outcome.score) ? ranked : infeasible).push(outcome);
  ranked.sort((a, b) => (b.score as number) - (a.score as number));
  if (ranked.length === 0) {
    // Nothing good to model yet: keep exploring the prior.
    const entries = Object.entries(space);
    return Array.from({ length: size }, () => {
      const set: Record<string, ParameterValue> = {};
      for (const [key, spec] of entries) set[key] = sampleFromPrior(spec, random);
      return set;
    });
  }
  const goodCount = Math.min(ranked.length, Math.max(1, Math.ceil(settings.gamma * history.length)));
  const good = ranked.slice(0, goodCount).map((outcome) => outcome.params);
  const bad = [...ranked.slice(goodCount), ...infeasible].map((outcome) => outcome.params);

  const seen = new Set(history.map((outcome) => parameterKey(outcome.params)));
  const proposals: ParameterSet[] = [];
  for (let count = 0; count < size; count++) {
    const models = buildModels(space, good, [...bad, ...proposals]);
    let best: { set: ParameterSet; score: number } | undefined;
    let fallback: ParameterSet | undefined;
    for (let attempt = 0; attempt < 4 && best === undefined; attempt++) {
      for (let candidate = 0; candidate < settings.candidates; candidate++) {
        const set: Record<string, ParameterValue> = {};
        let score = 0;
        for (const [key, model] of models) {
          const value = model.sample(random);
          set[key] = value;
          score += model.logRatio(value);
        }
        fallback ??= set;
        if (seen.has(parameterKey(set))) continue;
        if (best === undefined || score > best.score) best = { set, score };
      }
    }
    // In a small discrete space every candidate may already be taken: accept a repeat then.
    const chosen = best?.set ?? (fallback as ParameterSet);
    seen.add(parameterKey(chosen));
    proposals.push(chosen);
  }
  return proposals;
}
