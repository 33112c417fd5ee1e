import { Point, poseidonHashMany, sign } from '@scure/starknet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { baseMultiplyX, signFast } from '../src/fast-ecdsa';
import { poseidonHashManyFast } from '../src/fast-poseidon';

const P = 2n ** 251n + 17n * 2n ** 192n + 1n;
const N = 0x800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2fn;
const felt = fc.bigInt({ min: 0n, max: P - 1n });

// The fast paths must compute the same functions as the audited reference library.
describe('fast Poseidon and ECDSA equal @scure/starknet', () => {
  it('poseidonHashMany on random inputs of every length 0..9', () => {
    fc.assert(
      fc.property(fc.array(felt, { minLength: 0, maxLength: 9 }), (values) => {
        expect(poseidonHashManyFast(values)).toBe(poseidonHashMany(values));
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it('extreme inputs: zeros and P − 1', () => {
    for (const values of [[0n], [P - 1n, P - 1n, P - 1n], [0n, 0n, 0n, 0n]]) {
      expect(poseidonHashManyFast(values)).toBe(poseidonHashMany(values));
    }
  });

  it('k·G at window and chunk boundaries, with zero windows, and near N', () => {
    const scalars = [1n, 2n, 255n, 256n, 257n, 2n ** 48n - 1n, 2n ** 48n, 2n ** 48n + 1n, 2n ** 96n + 255n];
    scalars.push(2n ** 248n, 2n ** 251n - 1n, 2n ** 251n, N - 1n, N - 2n, N - 256n, (N - 1n) / 2n);
    for (const scalar of scalars) {
      expect(baseMultiplyX(scalar)).toBe(Point.BASE.multiply(scalar).toAffine().x);
    }
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: N - 1n }), (scalar) => {
        expect(baseMultiplyX(scalar)).toBe(Point.BASE.multiply(scalar).toAffine().x);
      }),
      { seed: 13, numRuns: 60 },
    );
    expect(() => baseMultiplyX(0n)).toThrow(RangeError);
    expect(() => baseMultiplyX(N)).toThrow(RangeError);
  });

  it('signatures (RFC 6979 k) on random hashes and keys', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 251n - 1n }),
        fc.bigInt({ min: 1n, max: N - 1n }),
        (hash, key) => {
          const reference = sign(`0x${hash.toString(16)}`, key.toString(16).padStart(64, '0'));
          expect(signFast(hash, key)).toEqual({ r: reference.r, s: reference.s });
        },
      ),
      { seed: 12, numRuns: 40 },
    );
  });

  it('short hashes (leading zero bytes) sign the same', () => {
    for (const hash of [1n, 0xffn, 2n ** 200n + 5n, 2n ** 247n]) {
      const reference = sign(
        `0x${hash.toString(16)}`,
        '7a7ff6fd3cab02ccdcd4a572563f5976f8976899b03a39773795a3c486d4986',
      );
      expect(signFast(hash, 0x7a7ff6fd3cab02ccdcd4a572563f5976f8976899b03a39773795a3c486d4986n)).toEqual({
        r: reference.r,
        s: reference.s,
      });
    }
  });
});
