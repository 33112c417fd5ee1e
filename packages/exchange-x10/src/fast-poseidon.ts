import { poseidonSmall } from '@scure/starknet';

/**
 * A faster Starknet Poseidon (width 3, rate 2, 8 full + 83 partial rounds, cubic S-box) for the
 * signing hot path. Same function as `@scure/starknet`'s `poseidonHashMany` (a property test keeps
 * them equal), but it uses the shape of Starknet's MDS matrix [[3,1,1],[1,-1,1],[1,1,-2]]: the
 * linear layer is additions only, and reductions mod P are deferred to where numbers would grow.
 */

const P = 2n ** 251n + 17n * 2n ** 192n + 1n;
const FULL_HALF = 4;
const PARTIAL = 83;
/** The inverse of 2 in the field. */
const HALF = (P + 1n) / 2n;

// The round constants come from @scure/starknet itself, so both implementations share one source.
const ROUND_CONSTANTS: readonly (readonly [bigint, bigint, bigint])[] = (
  poseidonSmall as unknown as { roundConstants: bigint[][] }
).roundConstants.map((row) => [row[0] as bigint, row[1] as bigint, row[2] as bigint] as const);

function normalize(value: bigint): bigint {
  const reduced = value % P;
  return reduced < 0n ? reduced + P : reduced;
}

/**
 * Partial rounds cube only lane 2; the constants of lanes 0 and 1 pass linearly through the MDS
 * matrix, so they are pushed forward into the next round's constants. Each partial round then adds
 * one constant instead of three, and the pushed remainder lands in the first closing full round.
 */
const { partialConstants, closingConstants } = (() => {
  const partial: bigint[] = [];
  let carry: [bigint, bigint, bigint] = [0n, 0n, 0n];
  for (let index = 0; index < PARTIAL; index++) {
    const constants = ROUND_CONSTANTS[FULL_HALF + index] as readonly [bigint, bigint, bigint];
    const e0 = normalize(constants[0] + carry[0]);
    const e1 = normalize(constants[1] + carry[1]);
    partial.push(normalize(constants[2] + carry[2]));
    // M · (e0, e1, 0) with M = [[3,1,1],[1,-1,1],[1,1,-2]].
    carry = [normalize(3n * e0 + e1), normalize(e0 - e1), normalize(e0 + e1)];
  }
  const first = ROUND_CONSTANTS[FULL_HALF + PARTIAL] as readonly [bigint, bigint, bigint];
  const closing: [bigint, bigint, bigint] = [
    normalize(first[0] + carry[0]),
    normalize(first[1] + carry[1]),
    normalize(first[2] + carry[2]),
  ];
  return { partialConstants: partial, closingConstants: closing };
})();

/** The Poseidon permutation; inputs and outputs are canonical field elements. */
export function permute(state0: bigint, state1: bigint, state2: bigint): [bigint, bigint, bigint] {
  let s0 = state0;
  let s1 = state1;
  let s2 = state2;
  for (let round = 0; round < FULL_HALF; round++) {
    const constants = ROUND_CONSTANTS[round] as readonly [bigint, bigint, bigint];
    let a0 = s0 + constants[0];
    let a1 = s1 + constants[1];
    let a2 = s2 + constants[2];
    a0 = (a0 * a0 * a0) % P;
    a1 = (a1 * a1 * a1) % P;
    a2 = (a2 * a2 * a2) % P;
    const total = a0 + a1 + a2;
    s0 = total + (a0 << 1n);
    s1 = total - (a1 << 1n);
    s2 = total - 3n * a2;
  }
  // In partial rounds the two linear lanes only matter through u = s0 + s1 and v = s0 − s1:
  // u' = 2(u + v + x), v' = 2u, s2' = u − 2x (x the cubed lane), two operations fewer a round.
  let u = s0 + s1;
  let v = s0 - s1;
  for (let round = 0; round < PARTIAL; round++) {
    // The lanes grow by a few bits a round; fold them back every 8 rounds so every cubed value
    // stays near 256 bits.
    if ((round & 7) === 7) {
      u %= P;
      v %= P;
      s2 %= P;
    }
    let x = s2 + (partialConstants[round] as bigint);
    x = (x * x * x) % P;
    const nextU = (u + v + x) << 1n;
    v = u << 1n;
    s2 = u - (x << 1n);
    u = nextU;
  }
  // s0 = (u + v) / 2 and s1 = (u − v) / 2 in the field.
  s0 = (((u + v) % P) * HALF) % P;
  s1 = (((u - v) % P) * HALF) % P;
  s2 %= P;
  for (let round = 0; round < FULL_HALF; round++) {
    const constants =
      round === 0
        ? closingConstants
        : (ROUND_CONSTANTS[FULL_HALF + PARTIAL + round] as readonly [bigint, bigint, bigint]);
    let a0 = s0 + constants[0];
    let a1 = s1 + constants[1];
    let a2 = s2 + constants[2];
    a0 = (a0 * a0 * a0) % P;
    a1 = (a1 * a1 * a1) % P;
    a2 = (a2 * a2 * a2) % P;
    const total = a0 + a1 + a2;
    s0 = total + (a0 << 1n);
    s1 = total - (a1 << 1n);
    s2 = total - 3n * a2;
  }
  return [normalize(s0), normalize(s1), normalize(s2)];
}

/** A sponge state after absorbing a prefix, to continue from (the constant head of a message). */
export type SpongeState = readonly [bigint, bigint, bigint];

export const EMPTY_SPONGE: SpongeState = [0n, 0n, 0n];

/** Absorbs pairs of elements (the input length must be even). */
export function absorb(state: SpongeState, values: readonly bigint[]): SpongeState {
  if (values.length % 2 !== 0) throw new RangeError('absorb takes an even number of elements');
  let current: [bigint, bigint, bigint] = [state[0], state[1], state[2]];
  for (let index = 0; index < values.length; index += 2) {
    current = permute(
      normalize(current[0] + (values[index] as bigint)),
      normalize(current[1] + (values[index + 1] as bigint)),
      current[2],
    );
  }
  return current;
}

/** Finishes `poseidonHashMany`: absorbs the rest with Starknet's padding (1, then 0s) and squeezes. */
export function finish(state: SpongeState, rest: readonly bigint[]): bigint {
  const padded = [...rest, 1n];
  if (padded.length % 2 === 1) padded.push(0n);
  return absorb(state, padded)[0];
}

/** `poseidonHashMany` of Starknet. */
export function poseidonHashManyFast(values: readonly bigint[]): bigint {
  return finish(EMPTY_SPONGE, values);
}
