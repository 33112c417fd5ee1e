import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { elementValue, LIMB_COUNT, normalize, STARK_FIELD_PRIME, writeElement } from '../src/stark-field';
import { montgomeryMultiply, montgomerySquare } from '../src/stark-field-multiply';

// The limb arithmetic is exact only inside the bounds stark-field.ts documents; these properties
// check it against bigint arithmetic on inputs drawn up to those bounds, edges included.
const P = STARK_FIELD_PRIME;
const R_INVERSE = modPow(2n ** 264n, P - 2n);
const INPUT_LIMB = Math.floor(2 ** 24.5);
const INPUT_TOP = 2 ** 12;

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let power = base % P;
  for (let rest = exponent; rest > 0n; rest >>= 1n) {
    if (rest & 1n) result = (result * power) % P;
    power = (power * power) % P;
  }
  return result;
}

const mod = (value: bigint) => ((value % P) + P) % P;

/** The integer the limbs stand for (no Montgomery conversion). */
function limbValue(limbs: Float64Array): bigint {
  let value = 0n;
  for (let index = LIMB_COUNT - 1; index >= 0; index--) value = value * 2n ** 22n + BigInt(limbs[index]!);
  return value;
}

const limbsWithin = (limb: number, top: number) =>
  fc
    .tuple(
      fc.array(fc.oneof(fc.integer({ min: -limb, max: limb }), fc.constantFrom(-limb, limb, 0)), {
        minLength: LIMB_COUNT - 1,
        maxLength: LIMB_COUNT - 1,
      }),
      fc.oneof(fc.integer({ min: -top, max: top }), fc.constantFrom(-top, top)),
    )
    .map(([low, high]) => Float64Array.from([...low, high]));

function expectReduced(limbs: Float64Array): void {
  for (let index = 0; index < LIMB_COUNT - 1; index++) {
    expect(limbs[index]).toBeGreaterThan(-(2 ** 8));
    expect(limbs[index]).toBeLessThan(2 ** 22 + 2 ** 8);
  }
  expect(limbs[LIMB_COUNT - 1]).toBeGreaterThanOrEqual(-6);
  expect(limbs[LIMB_COUNT - 1]).toBeLessThanOrEqual(517);
}

describe('Stark field on float64 limbs', () => {
  it('Montgomery product of inputs up to the documented bounds is exact and reduced', () => {
    fc.assert(
      fc.property(limbsWithin(INPUT_LIMB, INPUT_TOP), limbsWithin(INPUT_LIMB, INPUT_TOP), (a, b) => {
        const product = new Float64Array(LIMB_COUNT);
        montgomeryMultiply(product, a, b);
        expect(mod(limbValue(product))).toBe(mod(limbValue(a) * limbValue(b) * R_INVERSE));
        expectReduced(product);
        const square = new Float64Array(LIMB_COUNT);
        montgomerySquare(square, a);
        expect(mod(limbValue(square))).toBe(mod(limbValue(a) * limbValue(a) * R_INVERSE));
        expectReduced(square);
      }),
      { seed: 31, numRuns: 300 },
    );
  });

  it('all limbs at the bounds at once (the largest column sums)', () => {
    for (const sign of [1, -1]) {
      const a = new Float64Array(LIMB_COUNT).fill(sign * INPUT_LIMB);
      a[LIMB_COUNT - 1] = sign * INPUT_TOP;
      const product = new Float64Array(LIMB_COUNT);
      montgomeryMultiply(product, a, a);
      expect(mod(limbValue(product))).toBe(mod(limbValue(a) * limbValue(a) * R_INVERSE));
      montgomerySquare(product, a);
      expect(mod(limbValue(product))).toBe(mod(limbValue(a) * limbValue(a) * R_INVERSE));
    }
  });

  it('the output may be one of the inputs', () => {
    const a = writeElement(new Float64Array(LIMB_COUNT), 123456789n);
    const b = writeElement(new Float64Array(LIMB_COUNT), P - 5n);
    montgomeryMultiply(a, a, b);
    expect(elementValue(a)).toBe(mod(123456789n * (P - 5n)));
    montgomerySquare(b, b);
    expect(elementValue(b)).toBe(25n);
  });

  it('normalize keeps the value mod P and brings sums of up to 16 reduced elements into range', () => {
    fc.assert(
      fc.property(limbsWithin(2 ** 26, 16 * 517), (a) => {
        const before = mod(limbValue(a));
        normalize(a);
        expect(mod(limbValue(a))).toBe(before);
        for (let index = 0; index < LIMB_COUNT - 1; index++) {
          expect(Math.abs(a[index]! - 2 ** 21)).toBeLessThan(2 ** 21 + 2 ** 12);
        }
        expect(a[LIMB_COUNT - 1]).toBeGreaterThanOrEqual(0);
        expect(a[LIMB_COUNT - 1]).toBeLessThan(512);
      }),
      { seed: 32, numRuns: 300 },
    );
  });

  it('converts in and out of Montgomery form, reducing any bigint first', () => {
    const element = new Float64Array(LIMB_COUNT);
    // Integers up to 2^53 − 1 take the all-number path, larger ones the bigint path.
    const smallEdges = [2n ** 22n - 1n, 2n ** 22n, 2n ** 44n + 5n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n];
    for (const value of [0n, 1n, ...smallEdges, P - 1n, P, P + 7n, 2n ** 256n + 3n, -1n, -P - 2n]) {
      expect(elementValue(writeElement(element, value))).toBe(mod(value));
    }
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: 0n, max: P - 1n }), fc.bigInt({ min: 0n, max: 2n ** 60n })),
        (value) => {
          expect(elementValue(writeElement(element, value))).toBe(value);
        },
      ),
      { seed: 33, numRuns: 200 },
    );
  });
});
