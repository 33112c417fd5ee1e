/**
 * GF(p^5), the quintic extension of Goldilocks used by ECgFp5: GF(p)[z] / (z^5 − 3).
 * An element is five canonical coefficients, constant term first.
 */
import { GOLDILOCKS_PRIME, inverseOrZero, legendre, power, squareRoot } from './goldilocks';

const P = GOLDILOCKS_PRIME;

export type Fp5 = readonly [bigint, bigint, bigint, bigint, bigint];

export const FP5_ZERO: Fp5 = [0n, 0n, 0n, 0n, 0n];
export const FP5_ONE: Fp5 = [1n, 0n, 0n, 0n, 0n];

export function fp5(c0: bigint, c1 = 0n, c2 = 0n, c3 = 0n, c4 = 0n): Fp5 {
  return [c0 % P, c1 % P, c2 % P, c3 % P, c4 % P];
}

export function fp5IsZero(a: Fp5): boolean {
  return a[0] === 0n && a[1] === 0n && a[2] === 0n && a[3] === 0n && a[4] === 0n;
}

export function fp5Equals(a: Fp5, b: Fp5): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4];
}

export function fp5Add(a: Fp5, b: Fp5): Fp5 {
  let c0 = a[0] + b[0];
  let c1 = a[1] + b[1];
  let c2 = a[2] + b[2];
  let c3 = a[3] + b[3];
  let c4 = a[4] + b[4];
  if (c0 >= P) c0 -= P;
  if (c1 >= P) c1 -= P;
  if (c2 >= P) c2 -= P;
  if (c3 >= P) c3 -= P;
  if (c4 >= P) c4 -= P;
  return [c0, c1, c2, c3, c4];
}

export function fp5Subtract(a: Fp5, b: Fp5): Fp5 {
  let c0 = a[0] - b[0];
  let c1 = a[1] - b[1];
  let c2 = a[2] - b[2];
  let c3 = a[3] - b[3];
  let c4 = a[4] - b[4];
  if (c0 < 0n) c0 += P;
  if (c1 < 0n) c1 += P;
  if (c2 < 0n) c2 += P;
  if (c3 < 0n) c3 += P;
  if (c4 < 0n) c4 += P;
  return [c0, c1, c2, c3, c4];
}

export function fp5Double(a: Fp5): Fp5 {
  return fp5Add(a, a);
}

export function fp5Negate(a: Fp5): Fp5 {
  return fp5Subtract(FP5_ZERO, a);
}

/** Multiplication with one reduction per coefficient: products are summed as wide bigints first. */
export function fp5Multiply(a: Fp5, b: Fp5): Fp5 {
  const [a0, a1, a2, a3, a4] = a;
  const [b0, b1, b2, b3, b4] = b;
  return [
    (a0 * b0 + 3n * (a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1)) % P,
    (a0 * b1 + a1 * b0 + 3n * (a2 * b4 + a3 * b3 + a4 * b2)) % P,
    (a0 * b2 + a1 * b1 + a2 * b0 + 3n * (a3 * b4 + a4 * b3)) % P,
    (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + 3n * (a4 * b4)) % P,
    (a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0) % P,
  ];
}

export function fp5Square(a: Fp5): Fp5 {
  const [a0, a1, a2, a3, a4] = a;
  return [
    (a0 * a0 + 6n * (a1 * a4 + a2 * a3)) % P,
    (2n * a0 * a1 + 3n * (2n * a2 * a4 + a3 * a3)) % P,
    (2n * a0 * a2 + a1 * a1 + 6n * a3 * a4) % P,
    (2n * (a0 * a3 + a1 * a2) + 3n * a4 * a4) % P,
    (2n * (a0 * a4 + a1 * a3) + a2 * a2) % P,
  ];
}

/** Multiplies by a base-field scalar. */
export function fp5Scale(a: Fp5, scalar: bigint): Fp5 {
  return [
    (a[0] * scalar) % P,
    (a[1] * scalar) % P,
    (a[2] * scalar) % P,
    (a[3] * scalar) % P,
    (a[4] * scalar) % P,
  ];
}

// z^p = z · 3^((p−1)/5), so the Frobenius map x ↦ x^p scales coefficient i by that root to the i-th power.
export const FROBENIUS_ROOT = power(3n, (P - 1n) / 5n);

function frobeniusFactors(times: number): readonly bigint[] {
  const root = power(FROBENIUS_ROOT, BigInt(times));
  const factors = [1n];
  for (let index = 1; index < 5; index += 1) factors.push(((factors[index - 1] as bigint) * root) % P);
  return factors;
}

const FROBENIUS_FACTORS = [0, 1, 2, 3, 4].map(frobeniusFactors);

/** x^(p^times). */
export function fp5Frobenius(a: Fp5, times = 1): Fp5 {
  const factors = FROBENIUS_FACTORS[times % 5] as readonly bigint[];
  return [
    a[0],
    (a[1] * (factors[1] as bigint)) % P,
    (a[2] * (factors[2] as bigint)) % P,
    (a[3] * (factors[3] as bigint)) % P,
    (a[4] * (factors[4] as bigint)) % P,
  ];
}

/** The constant coefficient of a·b, which is all of a·b when the product lies in the base field. */
function constantOfProduct(a: Fp5, b: Fp5): bigint {
  return (a[0] * b[0] + 3n * (a[1] * b[4] + a[2] * b[3] + a[3] * b[2] + a[4] * b[1])) % P;
}

/**
 * x^(p + p² + p³ + p⁴) and the norm x^(1 + p + p² + p³ + p⁴), which lies in GF(p).
 * Computed with Frobenius maps (Itoh–Tsujii) instead of a 320-bit exponentiation.
 */
function conjugateProductAndNorm(a: Fp5): { conjugates: Fp5; norm: bigint } {
  const d = fp5Frobenius(a, 1);
  const e = fp5Multiply(d, fp5Frobenius(d, 1)); // a^(p + p²)
  const conjugates = fp5Multiply(e, fp5Frobenius(e, 2)); // a^(p + p² + p³ + p⁴)
  return { conjugates, norm: constantOfProduct(a, conjugates) };
}

export function fp5InverseOrZero(a: Fp5): Fp5 {
  if (fp5IsZero(a)) return FP5_ZERO;
  const { conjugates, norm } = conjugateProductAndNorm(a);
  return fp5Scale(conjugates, inverseOrZero(norm));
}

export function fp5Divide(a: Fp5, b: Fp5): Fp5 {
  if (fp5IsZero(b)) throw new RangeError('division by zero in GF(p^5)');
  return fp5Multiply(a, fp5InverseOrZero(b));
}

/** Legendre symbol of x in GF(p^5): that of its norm in GF(p) (1, p − 1, or 0). */
export function fp5Legendre(a: Fp5): bigint {
  if (fp5IsZero(a)) return 0n;
  return legendre(conjugateProductAndNorm(a).norm);
}

function fp5PowerOfTwo(a: Fp5, doublings: number): Fp5 {
  let result = a;
  for (let index = 0; index < doublings; index += 1) result = fp5Square(result);
  return result;
}

/**
 * A square root, or undefined when there is none. With d = x^((p+1)/2) and e = (d · d^(p²))^p,
 * x · e² is the norm of x; its root s in GF(p) gives √x = s / e.
 */
export function fp5SquareRoot(a: Fp5): Fp5 | undefined {
  if (fp5IsZero(a)) return FP5_ZERO;
  const v = fp5PowerOfTwo(a, 31); // x^(2^31)
  // x^((p+1)/2) = x^(2^63 − 2^31 + 1)
  const d = fp5Multiply(fp5Multiply(a, fp5PowerOfTwo(v, 32)), fp5InverseOrZero(v));
  const e = fp5Frobenius(fp5Multiply(d, fp5Frobenius(d, 2)), 1);
  const norm = constantOfProduct(a, fp5Square(e));
  const root = squareRoot(norm);
  if (root === undefined) return undefined;
  return fp5Scale(fp5InverseOrZero(e), root);
}

/** Little-endian bytes: five u64 coefficients, 40 bytes. */
export function fp5ToBytes(a: Fp5): Uint8Array {
  return limbsToBytes(a);
}

export function limbsToBytes(limbs: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(limbs.length * 8);
  limbs.forEach((limb, index) => {
    let value = limb;
    for (let byte = 0; byte < 8; byte += 1) {
      bytes[index * 8 + byte] = Number(value & 0xffn);
      value >>= 8n;
    }
  });
  return bytes;
}

export function bytesToLimbs(bytes: Uint8Array): bigint[] {
  const limbs: bigint[] = [];
  for (let offset = 0; offset < bytes.length; offset += 8) {
    let limb = 0n;
    for (let byte = 7; byte >= 0; byte -= 1) limb = (limb << 8n) | BigInt(bytes[offset + byte] ?? 0);
    limbs.push(limb);
  }
  return limbs;
}
