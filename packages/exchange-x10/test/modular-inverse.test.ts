import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modularInverse } from '../src/modular-inverse';

const P = 2n ** 251n + 17n * 2n ** 192n + 1n;
const N = 0x800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2fn;

describe('modularInverse (Lehmer)', () => {
  for (const [name, modulus] of [
    ['the field prime P', P],
    ['the curve order N', N],
  ] as const) {
    it(`value · inverse ≡ 1 mod ${name}`, () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: modulus - 1n }), (value) => {
          const inverse = modularInverse(value, modulus);
          expect(inverse > 0n && inverse < modulus).toBe(true);
          expect((value * inverse) % modulus).toBe(1n);
        }),
        { seed: 41, numRuns: 500 },
      );
    });

    it(`edge values mod ${name}: 1, −1, small, powers of two, out of range`, () => {
      for (const value of [
        1n,
        2n,
        3n,
        modulus - 1n,
        modulus - 2n,
        2n ** 50n,
        2n ** 250n,
        modulus + 5n,
        -7n,
      ]) {
        expect((((value % modulus) + modulus) * modularInverse(value, modulus)) % modulus).toBe(1n);
      }
    });
  }

  it('small moduli go through the all-number phase only', () => {
    for (const modulus of [3n, 101n, 2n ** 31n - 1n, 2n ** 61n - 1n]) {
      for (let value = 1n; value < 40n && value < modulus; value++) {
        expect((value * modularInverse(value, modulus)) % modulus).toBe(1n);
      }
    }
  });

  it('refuses zero and values sharing a factor with the modulus', () => {
    expect(() => modularInverse(0n, P)).toThrow(RangeError);
    expect(() => modularInverse(P, P)).toThrow(RangeError);
    expect(() => modularInverse(6n, 2n ** 80n)).toThrow(RangeError);
  });
});
