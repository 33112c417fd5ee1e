import { createHmac } from 'node:crypto';
import { Point } from '@scure/starknet';
import { modularInverse } from './modular-inverse';
import {
  elementOf,
  elementValue,
  type FieldElement,
  LIMB_COUNT,
  newElement,
  STARK_FIELD_PRIME,
  writeElement,
} from './stark-field';
import { montgomeryMultiply, montgomerySquare } from './stark-field-multiply';

/**
 * Stark-curve ECDSA signing for the hot path: the same RFC 6979 deterministic nonce and the same
 * (r, s) as `@scure/starknet`'s `sign` (a property test keeps them equal), computed with a
 * fixed-base comb table for k·G (its additions on the float64 limbs of `stark-field.ts`) and
 * Node's native HMAC-SHA256.
 */

const P = STARK_FIELD_PRIME;
const N = Point.Fn.ORDER;
const ALPHA = 1n;
const MAX_VALUE = 2n ** 251n;
const N_BIT_LENGTH = 252;
const WINDOW_BITS = 8;
const WINDOWS = Math.ceil(N_BIT_LENGTH / WINDOW_BITS);
const WINDOW_SIZE = 1 << WINDOW_BITS;
const DIGITS_PER_CHUNK = 6;
const CHUNK_BITS = BigInt(WINDOW_BITS * DIGITS_PER_CHUNK);
const CHUNK_MASK = (1n << CHUNK_BITS) - 1n;

function modP(value: bigint): bigint {
  const reduced = value % P;
  return reduced < 0n ? reduced + P : reduced;
}

interface Jacobian {
  x: bigint;
  y: bigint;
  z: bigint;
}

function double(point: Jacobian): Jacobian {
  if (point.z === 0n || point.y === 0n) return { x: 0n, y: 1n, z: 0n };
  const xx = (point.x * point.x) % P;
  const yy = (point.y * point.y) % P;
  const yyyy = (yy * yy) % P;
  const zz = (point.z * point.z) % P;
  const s = (4n * point.x * yy) % P;
  const m = (3n * xx + ALPHA * zz * zz) % P;
  const x = modP(m * m - 2n * s);
  const y = modP(m * (s - x) - 8n * yyyy);
  const z = modP(2n * point.y * point.z);
  return { x, y, z };
}

/** Jacobian + affine addition (madd), handling infinity and equal points. */
function addAffine(point: Jacobian, ax: bigint, ay: bigint): Jacobian {
  if (point.z === 0n) return { x: ax, y: ay, z: 1n };
  const z1z1 = (point.z * point.z) % P;
  const u2 = (ax * z1z1) % P;
  const s2 = (((ay * point.z) % P) * z1z1) % P;
  const h = modP(u2 - point.x);
  const r = modP(s2 - point.y);
  if (h === 0n) return r === 0n ? double(point) : { x: 0n, y: 1n, z: 0n };
  const hh = (h * h) % P;
  const hhh = (h * hh) % P;
  const v = (point.x * hh) % P;
  const x = modP(r * r - hhh - 2n * v);
  const y = modP(r * (v - x) - point.y * hhh);
  const z = (point.z * h) % P;
  return { x, y, z };
}

/**
 * table[w][d] = d · 2^(8w) · G for d in 1..255, affine, in Montgomery limbs: point i holds x in
 * doubles [24i, 24i + 12) and y in [24i + 12, 24i + 24). One contiguous array rather than an
 * object per coordinate: k is random, so every lookup misses the cache, and a point that is 192
 * contiguous bytes costs fewer misses than two objects found through pointers (measured: about
 * 15 µs a signature).
 */
let combTable: Float64Array | undefined;
const POINT_STRIDE = 2 * LIMB_COUNT;

/**
 * Built once on first use with bigint arithmetic (about 8,000 points, batch-normalized with one
 * inversion), which handles the doublings the construction runs into.
 */
function table(): Float64Array {
  if (combTable) return combTable;
  const base = Point.BASE.toAffine();
  const points: Jacobian[] = [];
  let windowBase: Jacobian = { x: base.x, y: base.y, z: 1n };
  for (let window = 0; window < WINDOWS; window++) {
    const affineBase = toAffine(windowBase);
    let current: Jacobian = { x: 0n, y: 1n, z: 0n };
    for (let digit = 1; digit < WINDOW_SIZE; digit++) {
      current = addAffine(current, affineBase.x, affineBase.y);
      points.push(current);
    }
    windowBase = current;
    windowBase = addAffine(windowBase, affineBase.x, affineBase.y); // 256 · base
  }
  // Montgomery's trick: one inversion for every z.
  const prefix: bigint[] = new Array(points.length);
  let accumulator = 1n;
  for (let index = 0; index < points.length; index++) {
    prefix[index] = accumulator;
    accumulator = (accumulator * (points[index] as Jacobian).z) % P;
  }
  let inverse = modularInverse(accumulator, P);
  const flat = new Float64Array(points.length * POINT_STRIDE);
  const coordinate = newElement();
  for (let index = points.length - 1; index >= 0; index--) {
    const point = points[index] as Jacobian;
    const zInverse = (inverse * (prefix[index] as bigint)) % P;
    inverse = (inverse * point.z) % P;
    const zz = (zInverse * zInverse) % P;
    flat.set(writeElement(coordinate, (point.x * zz) % P), index * POINT_STRIDE);
    flat.set(
      writeElement(coordinate, (((point.y * zz) % P) * zInverse) % P),
      index * POINT_STRIDE + LIMB_COUNT,
    );
  }
  combTable = flat;
  return combTable;
}

function toAffine(point: Jacobian): { x: bigint; y: bigint } {
  const zInverse = modularInverse(point.z, P);
  const zz = (zInverse * zInverse) % P;
  return { x: (point.x * zz) % P, y: (((point.y * zz) % P) * zInverse) % P };
}

// The accumulator of k·G in Jacobian coordinates, and scratch space. Module-level so the hot loop
// allocates nothing; `baseMultiplyX` runs to completion without calling out.
const ONE = elementOf(1n);
const accumulatorX = newElement();
const accumulatorY = newElement();
const accumulatorZ = newElement();
const tableX = newElement();
const tableY = newElement();
const z1z1 = newElement();
const u2 = newElement();
const s2 = newElement();
const h = newElement();
const r = newElement();
const hh = newElement();
const hhh = newElement();
const v = newElement();
const t = newElement();

/**
 * accumulator += (x2, y2), Jacobian plus affine ("madd": 8 multiplications, 3 squares), with no
 * branch for the point at infinity or equal points: `baseMultiplyX` never meets them (see there).
 * Every difference below is of at most five reduced elements a side (X = r² − h³ − 2v,
 * v − X = 3v − r² + h³, h = u2 − X, ...), so it goes into the next product without normalizing.
 */
function addAffineToAccumulator(x2: FieldElement, y2: FieldElement): void {
  montgomerySquare(z1z1, accumulatorZ);
  montgomeryMultiply(u2, x2, z1z1);
  montgomeryMultiply(s2, accumulatorZ, z1z1);
  montgomeryMultiply(s2, s2, y2);
  for (let index = 0; index < LIMB_COUNT; index++) {
    h[index] = u2[index]! - accumulatorX[index]!;
    r[index] = s2[index]! - accumulatorY[index]!;
  }
  montgomerySquare(hh, h);
  montgomeryMultiply(hhh, h, hh);
  montgomeryMultiply(v, accumulatorX, hh);
  montgomeryMultiply(accumulatorZ, accumulatorZ, h);
  montgomeryMultiply(accumulatorY, accumulatorY, hhh); // Y1·h³, for Y3 below
  montgomerySquare(t, r);
  for (let index = 0; index < LIMB_COUNT; index++) {
    const x3 = t[index]! - hhh[index]! - 2 * v[index]!;
    accumulatorX[index] = x3;
    t[index] = v[index]! - x3;
  }
  montgomeryMultiply(t, r, t);
  for (let index = 0; index < LIMB_COUNT; index++) {
    accumulatorY[index] = t[index]! - accumulatorY[index]!;
  }
}

/**
 * k · G, affine x coordinate, for 0 < k < N. Windows are added from the least significant up.
 * Before window w the accumulator is k_w·G with k_w = k mod 2^(8w) > 0, and the window adds
 * d·2^(8w)·G with d ≠ 0. Both multipliers are in (0, N) and distinct (k_w < 2^(8w)), and their sum
 * is at most k < N, so the two points are never equal nor opposite, and the sum is never the
 * point at infinity: the addition formula needs no special cases.
 */
export function baseMultiplyX(scalar: bigint): bigint {
  if (scalar <= 0n || scalar >= N) throw new RangeError('scalar must be in (0, N)');
  const points = table();
  let started = false;
  let chunk = 0;
  let rest = scalar;
  for (let window = 0; window < WINDOWS; window++) {
    // The 8-bit digits come from 48-bit chunks (exact as numbers): six windows per bigint step.
    if (window % DIGITS_PER_CHUNK === 0) {
      chunk = Number(rest & CHUNK_MASK);
      rest >>= CHUNK_BITS;
    }
    const digit = chunk % WINDOW_SIZE;
    chunk = (chunk - digit) / WINDOW_SIZE;
    if (digit === 0) continue;
    const offset = (window * (WINDOW_SIZE - 1) + digit - 1) * POINT_STRIDE;
    for (let index = 0; index < LIMB_COUNT; index++) {
      tableX[index] = points[offset + index]!;
      tableY[index] = points[offset + LIMB_COUNT + index]!;
    }
    if (started) {
      addAffineToAccumulator(tableX, tableY);
    } else {
      accumulatorX.set(tableX);
      accumulatorY.set(tableY);
      accumulatorZ.set(ONE);
      started = true;
    }
  }
  // x = X / Z²: one inversion, in bigint (Lehmer's algorithm).
  const z = elementValue(accumulatorZ);
  const zInverse = modularInverse(z, P);
  return (((elementValue(accumulatorX) * zInverse) % P) * zInverse) % P;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function bigIntTo32Bytes(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
}

/** RFC 6979 bits2int for the 252-bit order, as StarkWare does it (leading zero bytes dropped first). */
function bits2int(bytes: Uint8Array): bigint {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const delta = trimmed.length * 8 - N_BIT_LENGTH;
  const value = bytesToBigInt(trimmed);
  return delta > 0 ? value >> BigInt(delta) : value;
}

function hmac(key: Buffer, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

const BYTE_0 = Buffer.from([0]);
const BYTE_1 = Buffer.from([1]);

/** RFC 6979 HMAC-DRBG candidates for k, tried in order until one yields a valid signature. */
function* nonces(privateKey: bigint, messageHash: bigint): Generator<bigint> {
  const seed = Buffer.concat([bigIntTo32Bytes(privateKey), bigIntTo32Bytes(messageHash)]);
  let v: Buffer = Buffer.alloc(32, 1);
  let k: Buffer = Buffer.alloc(32, 0);
  k = hmac(k, v, BYTE_0, seed);
  v = hmac(k, v);
  k = hmac(k, v, BYTE_1, seed);
  v = hmac(k, v);
  for (let attempt = 0; attempt < 1_000; attempt++) {
    v = hmac(k, v);
    yield bits2int(v);
    k = hmac(k, v, BYTE_0);
    v = hmac(k, v);
  }
  throw new Error('RFC 6979 nonce generation did not converge');
}

/**
 * Signs a message hash (< 2^251) with a Stark private key. Same result as `@scure/starknet` `sign`.
 */
export function signFast(messageHash: bigint, privateKey: bigint): { r: bigint; s: bigint } {
  if (messageHash < 0n || messageHash >= MAX_VALUE)
    throw new RangeError('message hash must be in [0, 2^251)');
  if (privateKey <= 0n || privateKey >= N) throw new RangeError('invalid Stark private key');
  const m = messageHash % N;
  for (const k of nonces(privateKey, m)) {
    if (k <= 0n || k >= N) continue;
    const r = baseMultiplyX(k) % N;
    if (r === 0n) continue;
    const s = (modularInverse(k, N) * ((m + r * privateKey) % N)) % N;
    if (s === 0n) continue;
    // StarkEx also requires s⁻¹ < 2^251; for a uniform s that fails with probability ~2^-55, so
    // the check (one more inversion) is left to the verifier rather than paid on every order.
    if (r >= MAX_VALUE) throw new RangeError('the signature is outside the StarkEx range; use another nonce');
    return { r, s };
  }
  throw new Error('unreachable');
}
