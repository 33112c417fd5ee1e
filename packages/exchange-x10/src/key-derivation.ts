import { createHash } from 'node:crypto';
import { starkPublicKeyOf } from './signing';

/** Order of the Stark curve's generator: private keys live in [1, n). */
const STARK_CURVE_ORDER = 0x800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2fn;
const TWO_256 = 2n ** 256n;

function bigIntToBytes(value: bigint): Buffer {
  // Minimal big-endian bytes, with zero written as one zero byte (as the venue's Rust library does).
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/**
 * StarkWare key grinding: sha256(seed ‖ index) for index = 0, 1, ... until the digest is below the
 * largest multiple of the curve order under 2^256, then reduce it mod the order.
 */
export function grindKey(seed: bigint): bigint {
  const limit = TWO_256 - (TWO_256 % STARK_CURVE_ORDER);
  const seedBytes = bigIntToBytes(seed);
  for (let index = 0n; index < 100_000n; index += 1n) {
    const digest = createHash('sha256').update(seedBytes).update(bigIntToBytes(index)).digest('hex');
    const key = BigInt(`0x${digest}`);
    if (key < limit) return key % STARK_CURVE_ORDER;
  }
  throw new Error('key grinding did not converge');
}

export interface StarkKeyPair {
  /** `0x` hex, not padded (as the venue shows it). */
  readonly starkPrivateKey: string;
  /** The Stark key: the public point's x coordinate, `0x` hex, not padded. */
  readonly starkPublicKey: string;
}

/**
 * Derives the Stark key pair Extended uses for an account from the Ethereum signature of its
 * onboarding message (`AccountCreation`): the signature's `r` is ground into a Stark private key.
 */
export function deriveStarkKeyFromEthSignature(signature: string): StarkKeyPair {
  const hex = signature.startsWith('0x') ? signature.slice(2) : signature;
  if (!/^[0-9a-fA-F]{130}$/.test(hex))
    throw new RangeError('signature must be a 65-byte Ethereum signature in hex (r ‖ s ‖ v)');
  const privateKey = grindKey(BigInt(`0x${hex.slice(0, 64)}`));
  const starkPrivateKey = `0x${privateKey.toString(16)}`;
  return { starkPrivateKey, starkPublicKey: starkPublicKeyOf(starkPrivateKey) };
}

/** EIP-712 typed data of the key-derivation message an Ethereum wallet signs during onboarding. */
export function accountCreationTypedData(input: {
  readonly wallet: string;
  readonly accountIndex: number;
  readonly signingDomain: string;
}) {
  if (!Number.isInteger(input.accountIndex) || input.accountIndex < 0 || input.accountIndex > 127)
    throw new RangeError('accountIndex must be an integer in [0, 127] (an int8)');
  return {
    domain: { name: input.signingDomain },
    types: {
      AccountCreation: [
        { name: 'accountIndex', type: 'int8' },
        { name: 'wallet', type: 'address' },
        { name: 'tosAccepted', type: 'bool' },
      ],
    },
    message: { accountIndex: input.accountIndex, wallet: input.wallet, tosAccepted: true },
  } as const;
}

/**
 * Signs the onboarding `AccountCreation` message with an Ethereum private key (ethers v6) and
 * derives the account's Stark keys from it. `signingDomain` is `extended.exchange` on mainnet
 * (`x10.exchange` for accounts created before the rename) and `starknet.sepolia.extended.exchange`
 * on testnet.
 */
export async function deriveStarkKeyFromEthereumKey(
  ethereumPrivateKey: string,
  options: { readonly accountIndex?: number; readonly signingDomain: string },
): Promise<StarkKeyPair & { readonly signature: string; readonly wallet: string }> {
  const { Wallet } = await import('ethers');
  const wallet = new Wallet(ethereumPrivateKey);
  const typed = accountCreationTypedData({
    wallet: wallet.address,
    accountIndex: options.accountIndex ?? 0,
    signingDomain: options.signingDomain,
  });
  const signature = await wallet.signTypedData(
    typed.domain,
    { AccountCreation: [...typed.types.AccountCreation] },
    typed.message,
  );
  return { ...deriveStarkKeyFromEthSignature(signature), signature, wallet: wallet.address };
}
