/**
 * Schnorr signatures over ECgFp5 as Lighter uses them (poseidon_crypto `signature/schnorr`):
 * r = encode(k·G), e = H(r ‖ m) read as a 320-bit integer mod n, s = k − e·sk mod n.
 * The 80-byte signature is s ‖ e, each 40 bytes little-endian.
 */
import { CURVE_ORDER, decodePoint, encodePoint, generatorMultiply, generatorMultiplyAdd } from './ecgfp5';
import { bytesToLimbs, type Fp5, limbsToBytes } from './gfp5';
import { GOLDILOCKS_PRIME } from './goldilocks';
import { hashToQuinticExtension } from './poseidon2';

const U64_LIMIT = 1n << 64n;

export interface SchnorrSignature {
  /** 5 × u64 limbs, least significant first. */
  readonly s: bigint[];
  readonly e: bigint[];
}

/** Reads 5 u64 limbs (least significant first) as one integer. */
export function limbsToBigint(limbs: readonly bigint[], name = 'limbs'): bigint {
  if (limbs.length !== 5) throw new RangeError(`${name} must have 5 limbs (got ${limbs.length})`);
  let value = 0n;
  for (let index = 4; index >= 0; index -= 1) {
    const limb = limbs[index];
    if (typeof limb !== 'bigint' || limb < 0n || limb >= U64_LIMIT) {
      throw new RangeError(`${name}[${index}] must be an unsigned 64-bit bigint`);
    }
    value = (value << 64n) | limb;
  }
  return value;
}

export function bigintToLimbs(value: bigint): bigint[] {
  const limbs: bigint[] = [];
  let rest = value;
  for (let index = 0; index < 5; index += 1) {
    limbs.push(rest & (U64_LIMIT - 1n));
    rest >>= 64n;
  }
  return limbs;
}

function toFp5(limbs: readonly bigint[], name: string): Fp5 {
  limbsToBigint(limbs, name);
  const [c0, c1, c2, c3, c4] = limbs.map((limb) => limb % GOLDILOCKS_PRIME) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  return [c0, c1, c2, c3, c4];
}

function challenge(r: Fp5, messageHash: Fp5): bigint {
  return limbsToBigint(hashToQuinticExtension([...r, ...messageHash])) % CURVE_ORDER;
}

/**
 * Signs a message hash (a GF(p^5) element) with the private scalar and the given nonce k.
 * Deterministic: only for test vectors. Real signing must use `schnorrSign`, which draws k.
 */
export function schnorrSignWithNonce(
  messageHash: readonly bigint[],
  privateKeyLimbs: readonly bigint[],
  k: readonly bigint[],
): SchnorrSignature {
  const hash = toFp5(messageHash, 'messageHash');
  const secret = limbsToBigint(privateKeyLimbs, 'privateKeyLimbs') % CURVE_ORDER;
  const nonce = limbsToBigint(k, 'k') % CURVE_ORDER;
  const e = challenge(encodePoint(generatorMultiply(nonce)), hash);
  const s = (((nonce - e * secret) % CURVE_ORDER) + CURVE_ORDER) % CURVE_ORDER;
  return { s: bigintToLimbs(s), e: bigintToLimbs(e) };
}

/** A uniform non-zero scalar below n from the platform CSPRNG (rejection sampling on 320 bits). */
export function randomScalar(): bigint {
  const bytes = new Uint8Array(40);
  for (;;) {
    globalThis.crypto.getRandomValues(bytes);
    const candidate = limbsToBigint(bytesToLimbs(bytes));
    bytes.fill(0);
    if (candidate > 0n && candidate < CURVE_ORDER) return candidate;
  }
}

/** Signs with a fresh random nonce. */
export function schnorrSign(
  messageHash: readonly bigint[],
  privateKeyLimbs: readonly bigint[],
): SchnorrSignature {
  return schnorrSignWithNonce(messageHash, privateKeyLimbs, bigintToLimbs(randomScalar()));
}

/** The 80-byte wire form: s ‖ e, little-endian. */
export function signatureToBytes(signature: SchnorrSignature): Uint8Array {
  return limbsToBytes([...signature.s, ...signature.e]);
}

export function signatureFromBytes(bytes: Uint8Array): SchnorrSignature {
  if (bytes.length !== 80) throw new RangeError(`a signature is 80 bytes (got ${bytes.length})`);
  const limbs = bytesToLimbs(bytes);
  return { s: limbs.slice(0, 5), e: limbs.slice(5) };
}

export function hexToBytes(hex: string, name = 'hex'): Uint8Array {
  const clean = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new TypeError(`${name} must be an even-length hex string`);
  }
  const bytes = new Uint8Array(clean.length / 2);
  for (let index = 0; index < bytes.length; index += 1) {
    bytes[index] = Number.parseInt(clean.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

export function bytesToHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

function readFp5(value: readonly bigint[] | string | Uint8Array, name: string): Fp5 | undefined {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const bytes = typeof value === 'string' ? hexToBytes(value, name) : value;
    if (bytes.length !== 40) return undefined;
    const limbs = bytesToLimbs(bytes);
    // A canonical encoding only: a limb ≥ p is not a field element.
    if (limbs.some((limb) => limb >= GOLDILOCKS_PRIME)) return undefined;
    return limbs as unknown as Fp5;
  }
  return toFp5(value, name);
}

/**
 * Checks a signature against a public key (40-byte hex) and a message hash (5 limbs, or its 40-byte
 * hex / bytes). Like the venue, s and e are read modulo n. False for anything malformed.
 */
export function schnorrVerify(
  publicKeyHex: string,
  messageHash: readonly bigint[] | string | Uint8Array,
  signatureBytes: Uint8Array | string,
): boolean {
  try {
    const publicKey = readFp5(publicKeyHex, 'publicKeyHex');
    const hash = readFp5(messageHash, 'messageHash');
    const bytes =
      typeof signatureBytes === 'string' ? hexToBytes(signatureBytes, 'signature') : signatureBytes;
    if (!publicKey || !hash || bytes.length !== 80) return false;
    const point = decodePoint(publicKey);
    if (!point) return false;
    const signature = signatureFromBytes(bytes);
    const s = limbsToBigint(signature.s) % CURVE_ORDER;
    const e = limbsToBigint(signature.e) % CURVE_ORDER;
    const r = encodePoint(generatorMultiplyAdd(s, e, point));
    return challenge(r, hash) === e;
  } catch {
    return false;
  }
}
