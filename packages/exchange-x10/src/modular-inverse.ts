/**
 * Modular inverse by Lehmer's extended Euclidean algorithm (Knuth, TAOCP vol. 2, 4.5.2,
 * Algorithm L), for the two inversions of every signature (mod P for the affine x of k·G, mod N
 * for k⁻¹).
 *
 * Why: the textbook extended Euclid on bigints does about 150 quotient steps of six bigint
 * operations each, and every bigint operation costs tens of nanoseconds of overhead however small
 * the numbers. Lehmer runs the quotient steps on the leading 50 bits in plain numbers (exact below
 * 2^53), collecting them in a 2×2 matrix, and applies the matrix to the bigints once per ~25 bits
 * of progress: about three times faster here.
 */

const PRECISION_BITS = 50;
const SMALL = 2n ** BigInt(PRECISION_BITS);

/** ⌊x / y⌋ for integers |x| < 2^52, 0 < y ≤ 2^52: the float quotient may round up to the next integer. */
function floorDivide(x: number, y: number): number {
  const quotient = Math.floor(x / y);
  return quotient * y > x ? quotient - 1 : quotient;
}

/** value⁻¹ mod modulus, for a prime modulus (any gcd-1 pair works) and value ≢ 0. */
export function modularInverse(value: bigint, modulus: bigint): bigint {
  // Invariants: u ≡ xu·value and v ≡ xv·value (mod modulus); gcd(u, v) stays gcd(modulus, value).
  let u = modulus;
  let v = value % modulus;
  if (v < 0n) v += modulus;
  if (v === 0n) throw new RangeError('no inverse of zero');
  let xu = 0n;
  let xv = 1n;
  while (v !== 0n) {
    if (u < SMALL) {
      // Both fit in a number: finish Euclid exactly in numbers (cofactors stay below u < 2^50).
      let a = Number(u);
      let b = Number(v);
      let [mA, mB, mC, mD] = [1, 0, 0, 1];
      while (b !== 0) {
        const quotient = floorDivide(a, b);
        [a, b] = [b, a - quotient * b];
        [mA, mC] = [mC, mA - quotient * mC];
        [mB, mD] = [mD, mB - quotient * mD];
      }
      xu = BigInt(mA) * xu + BigInt(mB) * xv;
      u = BigInt(a);
      break;
    }
    // The leading bits of u and the same bits of v (log2 may overestimate the length by one,
    // which only costs a bit of precision).
    const shift = BigInt(Math.max(0, Math.floor(Math.log2(Number(u))) + 1 - PRECISION_BITS));
    let uHead = Number(u >> shift);
    let vHead = Number(v >> shift);
    let [mA, mB, mC, mD] = [1, 0, 0, 1];
    // Algorithm L: a quotient is taken only when both ends of the interval the true ratio lies in
    // give the same one, so every step is a step the full-precision algorithm would take.
    for (;;) {
      const low = vHead + mC;
      const high = vHead + mD;
      if (low <= 0 || high <= 0) break;
      const quotient = floorDivide(uHead + mA, low);
      if (quotient !== floorDivide(uHead + mB, high)) break;
      [mA, mC] = [mC, mA - quotient * mC];
      [mB, mD] = [mD, mB - quotient * mD];
      [uHead, vHead] = [vHead, uHead - quotient * vHead];
    }
    if (mB === 0) {
      // No step was certain from the leading bits: one full-precision step.
      const quotient = u / v;
      [u, v] = [v, u - quotient * v];
      [xu, xv] = [xv, xu - quotient * xv];
    } else {
      const [a, b, c, d] = [BigInt(mA), BigInt(mB), BigInt(mC), BigInt(mD)];
      [u, v] = [a * u + b * v, c * u + d * v];
      [xu, xv] = [a * xu + b * xv, c * xu + d * xv];
    }
  }
  if (u !== 1n) throw new RangeError('value and modulus are not coprime');
  const inverse = xu % modulus;
  return inverse < 0n ? inverse + modulus : inverse;
}
