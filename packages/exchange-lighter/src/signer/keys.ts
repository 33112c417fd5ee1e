/** Lighter API keys: 40-byte little-endian ECgFp5 scalars and their 40-byte encoded public points. */
import { createHash } from 'node:crypto';
import { CURVE_ORDER, encodePoint, generatorMultiply } from './ecgfp5';
import { bytesToLimbs, fp5ToBytes, limbsToBytes } from './gfp5';
import { bigintToLimbs, bytesToHex, hexToBytes, limbsToBigint, randomScalar } from './schnorr';

/**
 * Reads a 40-byte private key (hex, optional 0x) as a scalar mod n. Errors never echo the key.
 */
export function privateKeyToScalar(privateKeyHex: string): bigint {
  let bytes: Uint8Array;
  try {
    bytes = hexToBytes(privateKeyHex, 'privateKey');
  } catch {
    throw new TypeError('the private key must be a hex string');
  }
  if (bytes.length !== 40) throw new RangeError(`the private key must be 40 bytes (got ${bytes.length})`);
  const scalar = limbsToBigint(bytesToLimbs(bytes)) % CURVE_ORDER;
  bytes.fill(0);
  if (scalar === 0n) throw new RangeError('the private key must not be zero');
  return scalar;
}

export function privateKeyToLimbs(privateKeyHex: string): bigint[] {
  return bigintToLimbs(privateKeyToScalar(privateKeyHex));
}

/** The public key (40-byte encoded point, lowercase hex without 0x) of a private key. */
export function lighterPublicKey(privateKeyHex: string): string {
  return bytesToHex(fp5ToBytes(encodePoint(generatorMultiply(privateKeyToScalar(privateKeyHex)))));
}

/**
 * Derives a private key from a seed of at least 32 bytes, as lighter-go's `GetScalarFromSeed`:
 * sha256(0x01 ‖ seed) ‖ sha256(0x02 ‖ seed)[0..8], read big-endian, reduced mod n, stored
 * little-endian. Returns the key as hex without 0x.
 */
export function lighterPrivateKeyFromSeed(seedBytes: Uint8Array): string {
  if (!(seedBytes instanceof Uint8Array) || seedBytes.length < 32) {
    throw new RangeError('the seed must be at least 32 bytes');
  }
  const first = createHash('sha256').update(Uint8Array.of(1)).update(seedBytes).digest();
  const second = createHash('sha256').update(Uint8Array.of(2)).update(seedBytes).digest();
  let value = 0n;
  for (const byte of [...first, ...second.subarray(0, 8)]) value = (value << 8n) | BigInt(byte);
  first.fill(0);
  second.fill(0);
  return bytesToHex(limbsToBytes(bigintToLimbs(value % CURVE_ORDER)));
}

/** A fresh key pair from the platform CSPRNG. */
export function generateLighterKeyPair(): { privateKey: string; publicKey: string } {
  const privateKey = bytesToHex(limbsToBytes(bigintToLimbs(randomScalar())));
  return { privateKey, publicKey: lighterPublicKey(privateKey) };
}
