import { poseidonSmall } from '@scure/starknet';
import {
  elementOf,
  elementValue,
  type FieldElement,
  foldTopLimb,
  LIMB_COUNT,
  LIMB_RADIX,
  limbCarry,
  newElement,
  normalize,
  STARK_FIELD_PRIME,
  writeElement,
} from './stark-field';
import { montgomeryMultiply, montgomerySquare } from './stark-field-multiply';

/**
 * A faster Starknet Poseidon (width 3, rate 2, 8 full + 83 partial rounds, cubic S-box) for the
 * signing hot path. Same function as `@scure/starknet`'s `poseidonHashMany` (a property test keeps
 * them equal), computed on float64 limbs (`stark-field.ts`) instead of bigint, using the shape of
 * Starknet's MDS matrix [[3,1,1],[1,-1,1],[1,1,-2]]: the linear layer is additions only.
 */

const P = STARK_FIELD_PRIME;
const FULL_HALF = 4;
const PARTIAL = 83;
/** The inverse of 2 in the field. */
const HALF = (P + 1n) / 2n;

// The round constants come from @scure/starknet itself, so both implementations share one source.
const ROUND_CONSTANTS: readonly (readonly [bigint, bigint, bigint])[] = (
  poseidonSmall as unknown as { roundConstants: bigint[][] }
).roundConstants.map((row) => [row[0] as bigint, row[1] as bigint, row[2] as bigint] as const);

function modP(value: bigint): bigint {
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
    const e0 = modP(constants[0] + carry[0]);
    const e1 = modP(constants[1] + carry[1]);
    partial.push(modP(constants[2] + carry[2]));
    // M · (e0, e1, 0) with M = [[3,1,1],[1,-1,1],[1,1,-2]].
    carry = [modP(3n * e0 + e1), modP(e0 - e1), modP(e0 + e1)];
  }
  const first = ROUND_CONSTANTS[FULL_HALF + PARTIAL] as readonly [bigint, bigint, bigint];
  const closing: [bigint, bigint, bigint] = [
    modP(first[0] + carry[0]),
    modP(first[1] + carry[1]),
    modP(first[2] + carry[2]),
  ];
  return { partialConstants: partial, closingConstants: closing };
})();

type Lanes = readonly [FieldElement, FieldElement, FieldElement];
const lanesOf = (row: readonly [bigint, bigint, bigint]): Lanes => [
  elementOf(row[0]),
  elementOf(row[1]),
  elementOf(row[2]),
];
const OPENING_CONSTANTS: readonly Lanes[] = ROUND_CONSTANTS.slice(0, FULL_HALF).map(lanesOf);
const CLOSING_CONSTANTS: readonly Lanes[] = [
  lanesOf(closingConstants),
  ...ROUND_CONSTANTS.slice(FULL_HALF + PARTIAL + 1).map(lanesOf),
];
const PARTIAL_CONSTANTS: readonly FieldElement[] = partialConstants.map(elementOf);
/** The constant each partial round adds for the next one (none after the last). */
const NEXT_PARTIAL_CONSTANTS: readonly FieldElement[] = [...PARTIAL_CONSTANTS.slice(1), newElement()];
const HALF_ELEMENT = elementOf(HALF);

// Working memory of the permutation. Module-level so the hot loop allocates nothing; safe because
// `permuteLanes` runs to completion without calling out (JavaScript is single-threaded).
const s0 = newElement();
const s1 = newElement();
const s2 = newElement();
const u = newElement();
const v = newElement();
const cubed = [newElement(), newElement(), newElement()] as const;
const cubeInput = newElement();

/**
 * out = (a + constant)³. Montgomery products take limbs up to 2^24.5 (`stark-field.ts`);
 * `normalizeFirst` is for inputs that may exceed that.
 */
function cubeWithConstant(
  out: FieldElement,
  a: FieldElement,
  constant: FieldElement,
  normalizeFirst: boolean,
): void {
  for (let index = 0; index < LIMB_COUNT; index++) cubeInput[index] = a[index]! + constant[index]!;
  if (normalizeFirst) normalize(cubeInput);
  montgomerySquare(out, cubeInput);
  montgomeryMultiply(out, out, cubeInput);
}

/**
 * Full round: every lane cubed, then the MDS matrix (additions only). With a, b, c the reduced
 * cubes, lanes leave as 3a + b + c, a − b + c and a + b − 2c; plus a constant (and an absorbed
 * input for lanes 0 and 1) only lane 0 can exceed the multiplication bounds, so only it is
 * normalized.
 */
function fullRound(constants: Lanes): void {
  const [x0, x1, x2] = cubed;
  cubeWithConstant(x0, s0, constants[0], true);
  cubeWithConstant(x1, s1, constants[1], false);
  cubeWithConstant(x2, s2, constants[2], false);
  for (let index = 0; index < LIMB_COUNT; index++) {
    const a0 = x0[index]!;
    const a1 = x1[index]!;
    const a2 = x2[index]!;
    const total = a0 + a1 + a2;
    s0[index] = total + 2 * a0;
    s1[index] = total - 2 * a1;
    s2[index] = total - 3 * a2;
  }
}

/** The Poseidon permutation of the state held in s0, s1, s2 (in place). */
function permuteLanes(): void {
  for (let round = 0; round < FULL_HALF; round++) fullRound(OPENING_CONSTANTS[round]!);
  // In partial rounds the two linear lanes only matter through u = s0 + s1 and v = s0 − s1:
  // u' = 2(u + v + x), v' = 2u, s2' = u − 2x (x the cubed lane), fewer operations a round.
  for (let index = 0; index < LIMB_COUNT; index++) {
    u[index] = s0[index]! + s1[index]!;
    v[index] = s0[index]! - s1[index]!;
  }
  normalize(u);
  normalize(v);
  const x = cubed[0];
  for (let index = 0; index < LIMB_COUNT; index++) s2[index] = s2[index]! + PARTIAL_CONSTANTS[0]![index]!;
  for (let round = 0; round < PARTIAL; round++) {
    // s2 already holds this round's constant: u − 2x + constant with u normalized (or, in round
    // 0, a full round's a + b − 2c plus the constant) is within the multiplication bounds.
    montgomerySquare(x, s2);
    montgomeryMultiply(x, x, s2);
    // One pass for the linear layer, the next round's constant and the normalization of u (which
    // would otherwise grow by about 1.7 bits a round: u' = 2u + 4u_previous + 2x). Keeping u
    // normalized keeps v = 2u and s2 = u − 2x within the multiplication bounds too.
    const nextConstant = NEXT_PARTIAL_CONSTANTS[round]!;
    let fromBelow = 0;
    for (let index = 0; index < LIMB_COUNT - 1; index++) {
      const ui = u[index]!;
      const xi = x[index]!;
      const nextU = 2 * (ui + v[index]! + xi);
      v[index] = 2 * ui;
      s2[index] = ui - 2 * xi + nextConstant[index]!;
      const high = limbCarry(nextU);
      u[index] = nextU - high * LIMB_RADIX + fromBelow;
      fromBelow = high;
    }
    const top = LIMB_COUNT - 1;
    const uTop = u[top]!;
    const xTop = x[top]!;
    u[top] = 2 * (uTop + v[top]! + xTop) + fromBelow;
    v[top] = 2 * uTop;
    s2[top] = uTop - 2 * xTop + nextConstant[top]!;
    foldTopLimb(u);
  }
  // s0 = (u + v) / 2 and s1 = (u − v) / 2 in the field; u ± v is within 3·2^22 + 2^14 a limb.
  for (let index = 0; index < LIMB_COUNT; index++) {
    s0[index] = u[index]! + v[index]!;
    s1[index] = u[index]! - v[index]!;
  }
  montgomeryMultiply(s0, s0, HALF_ELEMENT);
  montgomeryMultiply(s1, s1, HALF_ELEMENT);
  for (let round = 0; round < FULL_HALF; round++) fullRound(CLOSING_CONSTANTS[round]!);
}

/**
 * A sponge state after absorbing a prefix, to continue from (the constant head of a message).
 * Opaque: the three lanes in limbs, never modified once returned.
 */
export interface SpongeState {
  readonly lanes: readonly [FieldElement, FieldElement, FieldElement];
}

export const EMPTY_SPONGE: SpongeState = { lanes: [newElement(), newElement(), newElement()] };

const input = newElement();

/** Adds a value to a lane. The lanes are sums of a few reduced elements; one more stays in range. */
function addInput(lane: FieldElement, value: bigint): void {
  writeElement(input, value);
  for (let index = 0; index < LIMB_COUNT; index++) lane[index] = lane[index]! + input[index]!;
}

/** Loads a state into the working lanes and absorbs pairs of values (an even count). */
function absorbPairs(state: SpongeState, values: readonly bigint[], count: number): void {
  s0.set(state.lanes[0]);
  s1.set(state.lanes[1]);
  s2.set(state.lanes[2]);
  for (let index = 0; index < count; index += 2) {
    addInput(s0, values[index]!);
    addInput(s1, values[index + 1]!);
    permuteLanes();
  }
}

/** Absorbs pairs of elements (the input length must be even). */
export function absorb(state: SpongeState, values: readonly bigint[]): SpongeState {
  if (values.length % 2 !== 0) throw new RangeError('absorb takes an even number of elements');
  absorbPairs(state, values, values.length);
  return { lanes: [Float64Array.from(s0), Float64Array.from(s1), Float64Array.from(s2)] };
}

/** Finishes `poseidonHashMany`: absorbs the rest with Starknet's padding (1, then 0s) and squeezes. */
export function finish(state: SpongeState, rest: readonly bigint[]): bigint {
  const pairs = rest.length - (rest.length % 2);
  absorbPairs(state, rest, pairs);
  // The padding: (1, 0) after an even count, (last, 1) after an odd one.
  if (pairs === rest.length) {
    addInput(s0, 1n);
  } else {
    addInput(s0, rest[pairs]!);
    addInput(s1, 1n);
  }
  permuteLanes();
  return elementValue(s0);
}

/** `poseidonHashMany` of Starknet. */
export function poseidonHashManyFast(values: readonly bigint[]): bigint {
  return finish(EMPTY_SPONGE, values);
}
