/**
 * Poseidon2 over Goldilocks (width 12, rate 8, x^7 S-box) and the no-padding sponge Lighter hashes
 * transactions with.
 */
import { GOLDILOCKS_PRIME } from './goldilocks';
import { EXTERNAL_ROUND_CONSTANTS, INTERNAL_DIAGONAL, INTERNAL_ROUND_CONSTANTS } from './poseidon2-constants';

const P = GOLDILOCKS_PRIME;
export const POSEIDON2_WIDTH = 12;
export const POSEIDON2_RATE = 8;
const HALF_FULL_ROUNDS = 4;
const PARTIAL_ROUNDS = 22;

/** x^7 with two reductions: x² is reduced, then x²·x²·x²·x (under 2^256) once. */
function sbox(value: bigint): bigint {
  const square = (value * value) % P;
  return (square * square * square * value) % P;
}

/**
 * The external layer: the 4×4 MDS block [[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]] on each quarter,
 * then every lane plus the sum of the lanes at its position in the three quarters.
 */
function externalLayer(state: bigint[]): void {
  for (let offset = 0; offset < POSEIDON2_WIDTH; offset += 4) {
    const x0 = state[offset] as bigint;
    const x1 = state[offset + 1] as bigint;
    const x2 = state[offset + 2] as bigint;
    const x3 = state[offset + 3] as bigint;
    const all = x0 + x1 + x2 + x3;
    state[offset] = all + x0 + 2n * x1;
    state[offset + 1] = all + x1 + 2n * x2;
    state[offset + 2] = all + x2 + 2n * x3;
    state[offset + 3] = all + x3 + 2n * x0;
  }
  for (let lane = 0; lane < 4; lane += 1) {
    const column = (state[lane] as bigint) + (state[lane + 4] as bigint) + (state[lane + 8] as bigint);
    for (let quarter = 0; quarter < POSEIDON2_WIDTH; quarter += 4) {
      state[quarter + lane] = ((state[quarter + lane] as bigint) + column) % P;
    }
  }
}

/** The internal layer: every lane times its diagonal entry, plus the sum of all lanes. */
function internalLayer(state: bigint[]): void {
  let sum = 0n;
  for (const value of state) sum += value;
  for (let lane = 0; lane < POSEIDON2_WIDTH; lane += 1) {
    state[lane] = (sum + (state[lane] as bigint) * (INTERNAL_DIAGONAL[lane] as bigint)) % P;
  }
}

function fullRound(state: bigint[], round: number): void {
  const constants = EXTERNAL_ROUND_CONSTANTS[round] as readonly bigint[];
  for (let lane = 0; lane < POSEIDON2_WIDTH; lane += 1) {
    state[lane] = sbox(((state[lane] as bigint) + (constants[lane] as bigint)) % P);
  }
  externalLayer(state);
}

/** Permutes a state of canonical field elements in place. */
function permuteInPlace(state: bigint[]): void {
  externalLayer(state);
  for (let round = 0; round < HALF_FULL_ROUNDS; round += 1) fullRound(state, round);
  for (let round = 0; round < PARTIAL_ROUNDS; round += 1) {
    state[0] = sbox(((state[0] as bigint) + (INTERNAL_ROUND_CONSTANTS[round] as bigint)) % P);
    internalLayer(state);
  }
  for (let round = HALF_FULL_ROUNDS; round < 2 * HALF_FULL_ROUNDS; round += 1) fullRound(state, round);
}

function toFieldElement(value: bigint, index: number): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
    throw new RangeError(`element ${index} must be an unsigned 64-bit bigint`);
  }
  return value % P;
}

/**
 * The Poseidon2 permutation of 12 Goldilocks elements. Inputs are u64 values (values ≥ p are
 * taken mod p, as the Go implementation does); the result is a new array of canonical elements.
 */
export function poseidon2Permute(state: readonly bigint[]): bigint[] {
  if (state.length !== POSEIDON2_WIDTH) {
    throw new RangeError(`the Poseidon2 state has ${POSEIDON2_WIDTH} elements (got ${state.length})`);
  }
  const next = state.map(toFieldElement);
  permuteInPlace(next);
  return next;
}

/**
 * The sponge without padding (`HashNToMNoPad`): absorb the input 8 elements at a time by
 * overwriting the rate lanes (a short last chunk leaves the other lanes as they are), permute after
 * each chunk, then squeeze `outputs` elements from the rate lanes.
 */
export function hashNToMNoPad(input: readonly bigint[], outputs: number): bigint[] {
  if (!Number.isInteger(outputs) || outputs < 0)
    throw new RangeError('outputs must be a non-negative integer');
  const state: bigint[] = new Array<bigint>(POSEIDON2_WIDTH).fill(0n);
  for (let offset = 0; offset < input.length; offset += POSEIDON2_RATE) {
    for (let lane = 0; lane < POSEIDON2_RATE && offset + lane < input.length; lane += 1) {
      state[lane] = toFieldElement(input[offset + lane] as bigint, offset + lane);
    }
    permuteInPlace(state);
  }
  const result: bigint[] = [];
  for (;;) {
    for (let lane = 0; lane < POSEIDON2_RATE; lane += 1) {
      if (result.length === outputs) return result;
      result.push(state[lane] as bigint);
    }
    permuteInPlace(state);
  }
}

/** Four-element digest (`HashNToHashNoPad`). */
export function hashNoPad(input: readonly bigint[]): bigint[] {
  return hashNToMNoPad(input, 4);
}

/** Hash to one GF(p^5) element, five limbs, constant term first (`HashToQuinticExtension`). */
export function hashToQuinticExtension(input: readonly bigint[]): bigint[] {
  return hashNToMNoPad(input, 5);
}
