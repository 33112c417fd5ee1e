import { montgomeryMultiply } from './stark-field-multiply';

/**
 * Arithmetic modulo the Stark prime P = 2^251 + 17·2^192 + 1 without bigint, for the hashing and
 * signing hot paths.
 *
 * Why: a bigint multiplication plus `% P` costs about 250 ns in V8, most of it allocation and
 * call overhead rather than arithmetic, and a Poseidon permutation does over two hundred of them.
 * The same product on twelve limbs of 22 bits held in ordinary float64 numbers, unrolled
 * (`stark-field-multiply.ts`), costs about 90 ns and allocates nothing.
 *
 * Representation. A field element is a `Float64Array` of 12 limbs, value Σ limb[i]·2^(22·i), in
 * Montgomery form: x is stored as a value congruent to x·2^264 mod P. Limbs may be negative and
 * the value need not be below P; only congruence matters until a result leaves this module.
 *
 * Why these choices:
 * - float64 represents every integer below 2^53 exactly. 22-bit limbs leave room to add twelve
 *   products of limbs up to 2^24.5 (12·2^49 < 2^52.6) plus the reduction terms, all below 2^53.
 * - P ≡ 1 (mod 2^192), so in base 2^22 it has only three nonzero limbs (limb 0 = 1,
 *   limb 8 = 17·2^16, limb 11 = 2^9). Montgomery reduction then needs no multiplication to find
 *   each step's multiple of P, and adds it with two multiplications instead of twelve.
 *
 * Bounds (a property test checks them at their edges):
 * - `montgomeryMultiply` / `montgomerySquare` accept limbs 0..10 within ±2^24.5 and limb 11
 *   within ±2^12 (so |value| < 2^254.1), and return a *reduced* element: limbs 0..10 in
 *   (−2^8, 2^22 + 2^8), limb 11 in [−6, 517] (value in (−2^245, 2^251.1)).
 * - Hence a sum of reduced elements whose positive coefficients add up to at most 5, and whose
 *   negative ones too, goes straight back into a product (a − b, r² − h³ − 2v, 3a + b + c).
 * - Anything that may grow further goes through `normalize` first.
 */

export const STARK_FIELD_PRIME = 2n ** 251n + 17n * 2n ** 192n + 1n;
export const LIMB_COUNT = 12;

const P = STARK_FIELD_PRIME;
const RADIX = 2 ** 22;
const INVERSE_RADIX = 2 ** -22;
const TOP_LIMB_RADIX = 2 ** 9; // limb 11 holds bits 242..250; 2^251 is P's leading term
const INVERSE_TOP_LIMB_RADIX = 2 ** -9;
const P_LIMB_8 = 17 * 2 ** 16;
const MONTGOMERY_R = 2n ** 264n;
const MASK_44 = 2n ** 44n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A field element: 12 limbs of 22 bits in Montgomery form (see the module comment). */
export type FieldElement = Float64Array;

export function newElement(): FieldElement {
  return new Float64Array(LIMB_COUNT);
}

/** The plain limbs of an integer in [0, 2^264) (not Montgomery form). */
function writeLimbs(out: FieldElement, value: bigint): void {
  if (value <= MAX_SAFE) {
    // Most order fields (amounts, ids, timestamps, nonces) are small: split them as numbers.
    let rest = Number(value);
    for (let index = 0; index < LIMB_COUNT; index++) {
      const high = Math.floor(rest * INVERSE_RADIX);
      out[index] = rest - high * RADIX;
      rest = high;
    }
    return;
  }
  // Two limbs per bigint operation: a 44-bit chunk is still exact as a number.
  let rest = value;
  for (let index = 0; index < LIMB_COUNT; index += 2) {
    const chunk = Number(rest & MASK_44);
    rest >>= 44n;
    const high = Math.floor(chunk * INVERSE_RADIX);
    out[index] = chunk - high * RADIX;
    out[index + 1] = high;
  }
}

const plainScratch = newElement();
/** R² mod P, reduced: multiplying plain limbs by it (Montgomery product) yields x·R mod P. */
const R_SQUARED = newElement();
writeLimbs(R_SQUARED, (MONTGOMERY_R * MONTGOMERY_R) % P);
/** 1 in plain limbs: the Montgomery product with it leaves Montgomery form. */
const PLAIN_ONE = newElement();
PLAIN_ONE[0] = 1;

/** Writes x (any integer; reduced mod P first when outside [0, P)) into `out` in Montgomery form. */
export function writeElement(out: FieldElement, x: bigint): FieldElement {
  writeLimbs(plainScratch, x >= 0n && x < P ? x : ((x % P) + P) % P);
  montgomeryMultiply(out, plainScratch, R_SQUARED);
  return out;
}

export function elementOf(x: bigint): FieldElement {
  return writeElement(newElement(), x);
}

/**
 * Brings a sum of a few reduced elements back into multiplication range: every limb keeps its low
 * 22 bits and passes the rest to the next limb (each limb splits independently of the others, so
 * there is no carry chain), and what lies above bit 251 folds into limbs 0 and 8
 * (2^251 ≡ −(17·2^192 + 1) mod P). Accepts limbs within ±2^26 (a sum of up to 16 reduced
 * elements); afterwards limbs 0..10 are within 2^12 of [0, 2^22) and limb 11 is in [0, 512).
 */
export function normalize(a: FieldElement): void {
  let fromBelow = 0;
  for (let index = 0; index < LIMB_COUNT - 1; index++) {
    const value = a[index]!;
    const high = Math.floor(value * INVERSE_RADIX);
    a[index] = value - high * RADIX + fromBelow;
    fromBelow = high;
  }
  a[LIMB_COUNT - 1] = a[LIMB_COUNT - 1]! + fromBelow;
  foldTopLimb(a);
}

/**
 * The second half of `normalize`, for callers that carried limbs 0..10 themselves (as
 * `splitLimb` does) while computing them: folds what lies above bit 251 (limb 11 ≥ 2^9) back into
 * limbs 0 and 8, since 2^251 ≡ −(17·2^192 + 1) mod P.
 */
export function foldTopLimb(a: FieldElement): void {
  const top = a[LIMB_COUNT - 1]!;
  const excess = Math.floor(top * INVERSE_TOP_LIMB_RADIX);
  a[LIMB_COUNT - 1] = top - excess * TOP_LIMB_RADIX;
  a[0] = a[0]! - excess;
  // Limb 8 took up to 2^31 from the fold: split it once more into limb 9.
  const limb8 = a[8]! - excess * P_LIMB_8;
  const high8 = Math.floor(limb8 * INVERSE_RADIX);
  a[8] = limb8 - high8 * RADIX;
  a[9] = a[9]! + high8;
}

/** The part of a limb value above its low 22 bits (what `normalize` passes to the next limb). */
export function limbCarry(value: number): number {
  return Math.floor(value * INVERSE_RADIX);
}

export const LIMB_RADIX = RADIX;

const plainResult = newElement();
const normalizedScratch = newElement();

/** The canonical integer in [0, P) an element stands for (leaves Montgomery form). */
export function elementValue(a: FieldElement): bigint {
  normalizedScratch.set(a);
  normalize(normalizedScratch);
  // a·1/R: the result lies in [0, P] and its limbs 0..10 are in [0, 2^22).
  montgomeryMultiply(plainResult, normalizedScratch, PLAIN_ONE);
  let value = 0n;
  for (let index = LIMB_COUNT - 2; index >= 0; index -= 2) {
    value = (value << 44n) + BigInt(plainResult[index + 1]! * RADIX + plainResult[index]!);
  }
  return value >= P ? value - P : value;
}
