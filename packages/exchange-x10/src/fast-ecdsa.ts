import { createHmac } from 'node:crypto';
import { Point } from '@scure/starknet';

/**
 * Stark-curve ECDSA signing for the hot path: the same RFC 6979 deterministic nonce and the same
 * (r, s) as `@scure/starknet`'s `sign` (a property test keeps them equal), computed with a
 * fixed-base comb table for k·G and Node's native HMAC-SHA256.
 */

const P = 2n ** 251n + 17n * 2n ** 192n + 1n;
const N = Point.Fn.ORDER;
const ALPHA = 1n;
const MAX_VALUE = 2n ** 251n;
const N_BIT_LENGTH = 252;
const WINDOW_BITS = 8;
const WINDOWS = Math.ceil(N_BIT_LENGTH / WINDOW_BITS);
const WINDOW_SIZE = 1 << WINDOW_BITS;
const WINDOW_MASK = BigInt(WINDOW_SIZE - 1);

function modP(value: bigint): bigint {
  const reduced = value % P;
  return reduced < 0n ? reduced + P : reduced;
}

/** Modular inverse by the extended Euclidean algorithm (the modulus is prime). */
function invert(value: bigint, modulus: bigint): bigint {
  let a = value % modulus;
  if (a < 0n) a += modulus;
  if (a === 0n) throw new RangeError('no inverse of zero');
  let b = modulus;
  let x = 1n;
  let y = 0n;
  while (a !== 0n) {
    const quotient = b / a;
    const nextA = b - quotient * a;
    b = a;
    a = nextA;
    const nextX = y - quotient * x;
    y = x;
    x = nextX;
  }
  return y < 0n ? y + modulus : y;
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

let combTable: { xs: bigint[]; ys: bigint[] } | undefined;

/**
 * table[w][d] = d · 2^(8w) · G for d in 1..255, in affine coordinates; built once on first use
 * (about 8,000 points, batch-normalized with one inversion).
 */
function table(): { xs: bigint[]; ys: bigint[] } {
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
  let inverse = invert(accumulator, P);
  const xs: bigint[] = new Array(points.length);
  const ys: bigint[] = new Array(points.length);
  for (let index = points.length - 1; index >= 0; index--) {
    const point = points[index] as Jacobian;
    const zInverse = (inverse * (prefix[index] as bigint)) % P;
    inverse = (inverse * point.z) % P;
    const zz = (zInverse * zInverse) % P;
    xs[index] = (point.x * zz) % P;
    ys[index] = (((point.y * zz) % P) * zInverse) % P;
  }
  combTable = { xs, ys };
  return combTable;
}

function toAffine(point: Jacobian): { x: bigint; y: bigint } {
  const zInverse = invert(point.z, P);
  const zz = (zInverse * zInverse) % P;
  return { x: (point.x * zz) % P, y: (((point.y * zz) % P) * zInverse) % P };
}

/** k · G, affine x coordinate. */
export function baseMultiplyX(scalar: bigint): bigint {
  const { xs, ys } = table();
  let accumulator: Jacobian = { x: 0n, y: 1n, z: 0n };
  let rest = scalar;
  for (let window = 0; window < WINDOWS && rest > 0n; window++) {
    const digit = Number(rest & WINDOW_MASK);
    rest >>= BigInt(WINDOW_BITS);
    if (digit === 0) continue;
    const index = window * (WINDOW_SIZE - 1) + digit - 1;
    accumulator = addAffine(accumulator, xs[index] as bigint, ys[index] as bigint);
  }
  if (accumulator.z === 0n) throw new RangeError('k·G is the point at infinity');
  return toAffine(accumulator).x;
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
    const s = (invert(k, N) * ((m + r * privateKey) % N)) % N;
    if (s === 0n) continue;
    // StarkEx also requires s⁻¹ < 2^251; for a uniform s that fails with probability ~2^-55, so
    // the check (one more inversion) is left to the verifier rather than paid on every order.
    if (r >= MAX_VALUE) throw new RangeError('the signature is outside the StarkEx range; use another nonce');
    return { r, s };
  }
  throw new Error('unreachable');
}
