/**
 * The Goldilocks field, p = 2^64 − 2^32 + 1, with elements as canonical bigints in [0, p).
 *
 * bigint `%` on a 128-bit product is the fastest reduction V8 offers (measured against the
 * shift-and-fold reduction that native code uses), so hot paths sum several products before one
 * reduction ("lazy reduction") instead of reducing every product.
 */

export const GOLDILOCKS_PRIME = 0xffffffff00000001n;
const P = GOLDILOCKS_PRIME;

/** Reduces any bigint (negative or wider than 64 bits) into [0, p). */
export function reduce(value: bigint): bigint {
  const reduced = value % P;
  return reduced < 0n ? reduced + P : reduced;
}

export function add(left: bigint, right: bigint): bigint {
  const sum = left + right;
  return sum >= P ? sum - P : sum;
}

export function subtract(left: bigint, right: bigint): bigint {
  const difference = left - right;
  return difference < 0n ? difference + P : difference;
}

export function multiply(left: bigint, right: bigint): bigint {
  return (left * right) % P;
}

export function negate(value: bigint): bigint {
  return value === 0n ? 0n : P - value;
}

export function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let square = base % P;
  let remaining = exponent;
  while (remaining > 0n) {
    if (remaining & 1n) result = (result * square) % P;
    square = (square * square) % P;
    remaining >>= 1n;
  }
  return result;
}

/** Multiplicative inverse; 0 maps to 0 (callers check for zero where it matters). */
export function inverseOrZero(value: bigint): bigint {
  return value === 0n ? 0n : power(value, P - 2n);
}

const HALF_ORDER = (P - 1n) / 2n;

/** Legendre symbol as a field element: 1 for a non-zero square, p − 1 for a non-square, 0 for 0. */
export function legendre(value: bigint): bigint {
  return power(value, HALF_ORDER);
}

// p − 1 = 2^32 · (2^32 − 1): Tonelli–Shanks with S = 32, Q = 2^32 − 1.
const TWO_ADICITY = 32n;
const ODD_PART = 0xffffffffn;
/** 7 generates the multiplicative group, so 7^Q has order exactly 2^32. */
const ROOT_OF_UNITY = power(7n, ODD_PART);

/** A square root of `value`, or undefined when it is not a square. Which root is returned is unspecified. */
export function squareRoot(value: bigint): bigint | undefined {
  if (value === 0n) return 0n;
  if (legendre(value) !== 1n) return undefined;
  let order = TWO_ADICITY;
  let c = ROOT_OF_UNITY;
  let t = power(value, ODD_PART);
  let root = power(value, (ODD_PART + 1n) / 2n);
  while (t !== 1n) {
    let i = 0n;
    let probe = t;
    while (probe !== 1n) {
      probe = (probe * probe) % P;
      i += 1n;
    }
    let b = c;
    for (let step = 0n; step < order - i - 1n; step += 1n) b = (b * b) % P;
    order = i;
    c = (b * b) % P;
    t = (t * c) % P;
    root = (root * b) % P;
  }
  return root;
}

const U64_MAX = (1n << 64n) - 1n;

/** Reads 8-byte little-endian words; a short last word is zero-padded (the auth-token message layout). */
export function bytesToGoldilocks(bytes: Uint8Array): bigint[] {
  const elements: bigint[] = [];
  for (let offset = 0; offset < bytes.length; offset += 8) {
    let word = 0n;
    for (let index = Math.min(offset + 8, bytes.length) - 1; index >= offset; index -= 1) {
      word = (word << 8n) | BigInt(bytes[index] as number);
    }
    elements.push(word % P);
  }
  return elements;
}

/** Checks a value is a u64 and returns it as a field element (u64 values ≥ p wrap, as in Go). */
export function fromU64(value: bigint, name = 'value'): bigint {
  if (value < 0n || value > U64_MAX) throw new RangeError(`${name} must be an unsigned 64-bit integer`);
  return value % P;
}
