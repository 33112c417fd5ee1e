import { ExchangeError } from '@perpkit/core';
import { PublicKey } from '@solana/web3.js';

/** Drift Protocol v2's program id (mainnet-beta and devnet). */
export const DRIFT_PROGRAM_ID = 'dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH';

function publicKey(value: string | PublicKey, field: string): PublicKey {
  if (value instanceof PublicKey) return value;
  try {
    return new PublicKey(value);
  } catch {
    throw new ExchangeError(
      'INVALID_ARGUMENT',
      `${field} ${JSON.stringify(value)} is not a base58 public key`,
    );
  }
}

function u16(value: number, field: string): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff)
    throw new ExchangeError('INVALID_ARGUMENT', `${field} must be an integer from 0 to 65535 (got ${value})`);
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value);
  return buffer;
}

function derive(seeds: Buffer[], programId: string | PublicKey): string {
  return PublicKey.findProgramAddressSync(seeds, publicKey(programId, 'programId'))[0].toBase58();
}

/**
 * The User account of an authority's sub-account: the program address of
 * `["user", authority, subAccountId as u16 little-endian]`, base58.
 */
export function userAccountAddress(
  authority: string | PublicKey,
  subAccountId: number,
  programId: string | PublicKey = DRIFT_PROGRAM_ID,
): string {
  return derive(
    [Buffer.from('user'), publicKey(authority, 'authority').toBuffer(), u16(subAccountId, 'subAccountId')],
    programId,
  );
}

/** The UserStats account of an authority: `["user_stats", authority]`. */
export function userStatsAccountAddress(
  authority: string | PublicKey,
  programId: string | PublicKey = DRIFT_PROGRAM_ID,
): string {
  return derive([Buffer.from('user_stats'), publicKey(authority, 'authority').toBuffer()], programId);
}

/** The State account: `["drift_state"]`. */
export function stateAccountAddress(programId: string | PublicKey = DRIFT_PROGRAM_ID): string {
  return derive([Buffer.from('drift_state')], programId);
}

/** A perp market: `["perp_market", marketIndex as u16 LE]`. */
export function perpMarketAddress(
  marketIndex: number,
  programId: string | PublicKey = DRIFT_PROGRAM_ID,
): string {
  return derive([Buffer.from('perp_market'), u16(marketIndex, 'marketIndex')], programId);
}

/** A spot market: `["spot_market", marketIndex as u16 LE]`. */
export function spotMarketAddress(
  marketIndex: number,
  programId: string | PublicKey = DRIFT_PROGRAM_ID,
): string {
  return derive([Buffer.from('spot_market'), u16(marketIndex, 'marketIndex')], programId);
}
