import { ExchangeError } from '@perpkit/core';
import { base58 } from '@scure/base';
import { Keypair } from '@solana/web3.js';

/**
 * A Solana keypair from a secret key as wallets export it: base58 (the 64-byte secret key, or a
 * 32-byte seed) or a JSON array of bytes (the Solana CLI's keypair file format). Errors never
 * repeat the input.
 */
export function parseSecretKey(text: string): Keypair {
  const trimmed = text.trim();
  let bytes: Uint8Array;
  try {
    if (trimmed.startsWith('[')) {
      const values = JSON.parse(trimmed) as unknown;
      if (
        !Array.isArray(values) ||
        !values.every((value) => Number.isInteger(value) && value >= 0 && value <= 255)
      )
        throw new Error('not a byte array');
      bytes = Uint8Array.from(values as number[]);
    } else {
      bytes = base58.decode(trimmed);
    }
  } catch {
    throw new ExchangeError(
      'EXCHANGE_AUTH',
      'secretKey is neither base58 nor a JSON byte array (the value is not shown)',
    );
  }
  try {
    if (bytes.length === 64) return Keypair.fromSecretKey(bytes);
    if (bytes.length === 32) return Keypair.fromSeed(bytes);
  } catch {
    throw new ExchangeError(
      'EXCHANGE_AUTH',
      'secretKey is not a valid ed25519 secret key (the value is not shown)',
    );
  }
  throw new ExchangeError(
    'EXCHANGE_AUTH',
    `secretKey must hold 64 bytes (secret key) or 32 bytes (seed); it holds ${bytes.length}`,
  );
}
