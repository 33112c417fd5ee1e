/**
 * ECgFp5 (T. Pornin, 2022): the prime-order group built on the curve y² = x(x² + a·x + b) over
 * GF(p^5) with a = 2 and b = 263·z. Points use the fractional (x, u) = (x, x/y) coordinates in
 * projective form (X:Z, U:T); the group law uses complete formulas, so no case needs special
 * handling, and a point encodes to one GF(p^5) element w = T/U (= y/x).
 */
import {
  FP5_ONE,
  FP5_ZERO,
  type Fp5,
  fp5,
  fp5Add,
  fp5Double,
  fp5Equals,
  fp5InverseOrZero,
  fp5IsZero,
  fp5Legendre,
  fp5Multiply,
  fp5Negate,
  fp5Scale,
  fp5Square,
  fp5SquareRoot,
  fp5Subtract,
} from './gfp5';
import { GOLDILOCKS_PRIME, inverseOrZero } from './goldilocks';

const P = GOLDILOCKS_PRIME;

/** The prime order n of the group (≈ 2^319). Scalars live modulo n. */
export const CURVE_ORDER =
  1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241n;

export interface CurvePoint {
  readonly x: Fp5;
  readonly z: Fp5;
  readonly u: Fp5;
  readonly t: Fp5;
}

/** A point with z = t = 1, for cheaper mixed additions. */
interface AffinePoint {
  readonly x: Fp5;
  readonly u: Fp5;
}

const A: Fp5 = fp5(2n);
const B1 = 263n;

/** Multiplies by b = 263·z: a shift of the coefficients (z^5 = 3) and a small scalar. */
function timesB(value: Fp5, factor = 1n): Fp5 {
  const scale = B1 * factor;
  return [
    (value[4] * 3n * scale) % P,
    (value[0] * scale) % P,
    (value[1] * scale) % P,
    (value[2] * scale) % P,
    (value[3] * scale) % P,
  ];
}

export const NEUTRAL: CurvePoint = { x: FP5_ZERO, z: FP5_ONE, u: FP5_ZERO, t: FP5_ONE };

export const GENERATOR: CurvePoint = {
  x: fp5(
    12883135586176881569n,
    4356519642755055268n,
    5248930565894896907n,
    2165973894480315022n,
    2448410071095648785n,
  ),
  z: FP5_ONE,
  u: FP5_ONE,
  t: fp5(4n),
};

export function isNeutral(point: CurvePoint): boolean {
  return fp5IsZero(point.u);
}

/** Same group element: u1·t2 = u2·t1 (u/t is the encoding's inverse, unique per element). */
export function pointEquals(left: CurvePoint, right: CurvePoint): boolean {
  return fp5Equals(fp5Multiply(left.u, right.t), fp5Multiply(right.u, left.t));
}

export function pointNegate(point: CurvePoint): CurvePoint {
  return { x: point.x, z: point.z, u: fp5Negate(point.u), t: point.t };
}

export function pointAdd(left: CurvePoint, right: CurvePoint): CurvePoint {
  const t1 = fp5Multiply(left.x, right.x);
  const t2 = fp5Multiply(left.z, right.z);
  const t3 = fp5Multiply(left.u, right.u);
  const t4 = fp5Multiply(left.t, right.t);
  const t5 = fp5Subtract(fp5Multiply(fp5Add(left.x, left.z), fp5Add(right.x, right.z)), fp5Add(t1, t2));
  const t6 = fp5Subtract(fp5Multiply(fp5Add(left.u, left.t), fp5Add(right.u, right.t)), fp5Add(t3, t4));
  return combineSum(t1, t2, t3, t4, t5, t6);
}

function addAffine(left: CurvePoint, right: AffinePoint): CurvePoint {
  const t1 = fp5Multiply(left.x, right.x);
  const t2 = left.z;
  const t3 = fp5Multiply(left.u, right.u);
  const t4 = left.t;
  const t5 = fp5Add(left.x, fp5Multiply(right.x, left.z));
  const t6 = fp5Add(left.u, fp5Multiply(right.u, left.t));
  return combineSum(t1, t2, t3, t4, t5, t6);
}

/** The common tail of both additions (Pornin's complete formulas, 10M with the products above). */
function combineSum(t1: Fp5, t2: Fp5, t3: Fp5, t4: Fp5, t5: Fp5, t6: Fp5): CurvePoint {
  const t7 = fp5Add(t1, timesB(t2));
  const t8 = fp5Multiply(t4, t7);
  const t9 = fp5Multiply(t3, fp5Add(timesB(t5, 2n), fp5Double(t7)));
  const t10 = fp5Multiply(fp5Add(t4, fp5Double(t3)), fp5Add(t5, t7));
  return {
    x: timesB(fp5Subtract(t10, t8)),
    z: fp5Subtract(t8, t9),
    u: fp5Multiply(t6, fp5Subtract(timesB(t2), t1)),
    t: fp5Add(t8, t9),
  };
}

export function pointDouble(point: CurvePoint): CurvePoint {
  const t1 = fp5Multiply(point.z, point.t);
  const t2 = fp5Multiply(t1, point.t);
  const x1 = fp5Square(t2);
  const z1 = fp5Multiply(t1, point.u);
  const t3 = fp5Square(point.u);
  const w1 = fp5Subtract(t2, fp5Multiply(t3, fp5Double(fp5Add(point.x, point.z))));
  const t4 = fp5Square(z1);
  const z = fp5Square(w1);
  return {
    x: timesB(t4, 4n),
    z,
    u: fp5Subtract(fp5Square(fp5Add(w1, z1)), fp5Add(t4, z)),
    t: fp5Subtract(fp5Double(x1), fp5Add(fp5Scale(t4, 4n), z)),
  };
}

/** w = t / u; the neutral element encodes to 0. */
export function encodePoint(point: CurvePoint): Fp5 {
  return fp5Multiply(point.t, fp5InverseOrZero(point.u));
}

const HALF = inverseOrZero(2n);

/**
 * Decodes w into a point, or undefined when w is not the encoding of a group element. With
 * e = w² − a, x solves x² − e·x + b = 0; of the two roots the one that is not a square is the
 * point of the group (the other is its translate by the point of order 2).
 */
export function decodePoint(w: Fp5): CurvePoint | undefined {
  if (fp5IsZero(w)) return NEUTRAL;
  const e = fp5Subtract(fp5Square(w), A);
  const delta = fp5Subtract(fp5Square(e), timesB(FP5_ONE, 4n));
  const root = fp5SquareRoot(delta);
  if (root === undefined) return undefined;
  const x1 = fp5Scale(fp5Add(e, root), HALF);
  const x2 = fp5Scale(fp5Subtract(e, root), HALF);
  const x = fp5Legendre(x1) === 1n ? x2 : x1;
  return { x, z: FP5_ONE, u: FP5_ONE, t: w };
}

/** Affine forms of many points with one field inversion (Montgomery's trick over all z and t). */
function toAffineBatch(points: readonly CurvePoint[]): AffinePoint[] {
  const values: Fp5[] = [];
  for (const point of points) values.push(point.z, point.t);
  const prefix: Fp5[] = [];
  let running: Fp5 = FP5_ONE;
  for (const value of values) {
    prefix.push(running);
    running = fp5Multiply(running, value);
  }
  let inverse = fp5InverseOrZero(running);
  const inverses: Fp5[] = new Array(values.length);
  for (let index = values.length - 1; index >= 0; index -= 1) {
    inverses[index] = fp5Multiply(inverse, prefix[index] as Fp5);
    inverse = fp5Multiply(inverse, values[index] as Fp5);
  }
  return points.map((point, index) => ({
    x: fp5Multiply(point.x, inverses[2 * index] as Fp5),
    u: fp5Multiply(point.u, inverses[2 * index + 1] as Fp5),
  }));
}

/**
 * Signed base-2^w digits of a scalar in [0, n), least significant first, each in [−2^(w−1), 2^(w−1)].
 */
function signedDigits(scalar: bigint, windowBits: number): number[] {
  const digits: number[] = [];
  const size = 1 << windowBits;
  const half = size >> 1;
  const mask = BigInt(size - 1);
  const shift = BigInt(windowBits);
  let rest = scalar;
  while (rest > 0n) {
    let digit = Number(rest & mask);
    rest >>= shift;
    if (digit > half) {
      digit -= size;
      rest += 1n;
    }
    digits.push(digit);
  }
  return digits;
}

function addDigit(accumulator: CurvePoint, multiples: readonly AffinePoint[], digit: number): CurvePoint {
  if (digit === 0) return accumulator;
  const entry = multiples[Math.abs(digit) - 1] as AffinePoint;
  return addAffine(accumulator, digit > 0 ? entry : { x: entry.x, u: fp5Negate(entry.u) });
}

/** point, 2·point, …, count·point. */
function multiplesOf(point: CurvePoint, count: number): CurvePoint[] {
  const multiples: CurvePoint[] = [point];
  for (let index = 1; index < count; index += 1) {
    multiples.push(
      index % 2 === 1
        ? pointDouble(multiples[index >> 1] as CurvePoint)
        : pointAdd(multiples[index - 1] as CurvePoint, point),
    );
  }
  return multiples;
}

function reduceScalar(scalar: bigint): bigint {
  const reduced = scalar % CURVE_ORDER;
  return reduced < 0n ? reduced + CURVE_ORDER : reduced;
}

const VARIABLE_WINDOW_BITS = 4;

/** scalar · point by a signed 4-bit window: 4 doublings and at most one addition per digit. */
export function pointMultiply(point: CurvePoint, scalar: bigint): CurvePoint {
  const digits = signedDigits(reduceScalar(scalar), VARIABLE_WINDOW_BITS);
  const multiples = toAffineBatch(multiplesOf(point, 1 << (VARIABLE_WINDOW_BITS - 1)));
  let accumulator = NEUTRAL;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    for (let bit = 0; bit < VARIABLE_WINDOW_BITS; bit += 1) accumulator = pointDouble(accumulator);
    accumulator = addDigit(accumulator, multiples, digits[index] as number);
  }
  return accumulator;
}

/**
 * Fixed-base table for the generator with 6-bit signed digits: row i holds 64^i·G, …, 32·64^i·G
 * in affine form, so k·G is one mixed addition per digit (54 of them) and no doubling. Built on
 * first use, with one inversion per row.
 */
const FIXED_WINDOW_BITS = 6;
let generatorTable: AffinePoint[][] | undefined;

function buildGeneratorTable(): AffinePoint[][] {
  const rows: AffinePoint[][] = [];
  let base = GENERATOR;
  const rowCount = Math.ceil(CURVE_ORDER.toString(2).length / FIXED_WINDOW_BITS) + 1;
  for (let row = 0; row < rowCount; row += 1) {
    rows.push(toAffineBatch(multiplesOf(base, 1 << (FIXED_WINDOW_BITS - 1))));
    for (let bit = 0; bit < FIXED_WINDOW_BITS; bit += 1) base = pointDouble(base);
  }
  return rows;
}

/** scalar · G with the fixed-base table. */
export function generatorMultiply(scalar: bigint): CurvePoint {
  generatorTable ??= buildGeneratorTable();
  const table = generatorTable;
  const digits = signedDigits(reduceScalar(scalar), FIXED_WINDOW_BITS);
  let accumulator = NEUTRAL;
  for (let row = 0; row < digits.length; row += 1) {
    accumulator = addDigit(accumulator, table[row] as AffinePoint[], digits[row] as number);
  }
  return accumulator;
}

/** s·G + e·Q, the verification equation. */
export function generatorMultiplyAdd(s: bigint, e: bigint, point: CurvePoint): CurvePoint {
  return pointAdd(generatorMultiply(s), pointMultiply(point, e));
}
