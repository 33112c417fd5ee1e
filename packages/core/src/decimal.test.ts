import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDecimals,
  compareDecimals,
  decimalPlaces,
  formatFixed,
  fromScaledInteger,
  isMultipleOf,
  multiplyDecimals,
  roundPrice,
  roundQuantity,
  roundToStep,
  roundToStepNumber,
  toDecimalString,
  toScaledInteger,
} from './decimal';
import { PerpkitError } from './errors';

const EXACT = /^-?\d+(\.\d*[1-9])?$/;

describe('toDecimalString', () => {
  it('writes numbers without exponents', () => {
    expect(toDecimalString(1e-7)).toBe('0.0000001');
    expect(toDecimalString(1.5e21)).toBe('1500000000000000000000');
    expect(toDecimalString(-0.000123)).toBe('-0.000123');
    expect(toDecimalString('00012.3400')).toBe('12.34');
    expect(toDecimalString('-0')).toBe('0');
    expect(toDecimalString(10n)).toBe('10');
  });

  it('rejects what is not a decimal, naming the value', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '', '1.2.3', 'abc', '.']) {
      expect(() => toDecimalString(bad)).toThrow(PerpkitError);
    }
    expect(() => toDecimalString('12x')).toThrow(/12x/);
  });
});

describe('roundToStep', () => {
  it('removes float artifacts', () => {
    expect(roundToStep(0.1 + 0.2, '0.01', 'nearest')).toBe('0.3');
    expect(roundToStep(1.005, '0.01', 'nearest')).toBe('1.01'); // 1.005 is read as its decimal, not 1.00499999...
    expect(roundToStep(0.30000000000000004, '0.1', 'floor')).toBe('0.3');
  });

  it('rounds in the direction asked', () => {
    expect(roundToStep('1.27', '0.05', 'floor')).toBe('1.25');
    expect(roundToStep('1.27', '0.05', 'ceil')).toBe('1.3');
    expect(roundToStep('-1.27', '0.05', 'floor')).toBe('-1.3');
    expect(roundToStep('-1.27', '0.05', 'ceil')).toBe('-1.25');
    expect(roundToStep('-1.27', '0.05', 'toward-zero')).toBe('-1.25');
    expect(roundToStep('-1.27', '0.05', 'away-from-zero')).toBe('-1.3');
    expect(roundToStep('1.275', '0.05', 'nearest')).toBe('1.3'); // tie goes away from zero
    expect(roundToStep('-1.275', '0.05', 'nearest')).toBe('-1.3');
    expect(roundToStep('1.2749', '0.05', 'nearest')).toBe('1.25');
  });

  it('handles integer and odd steps', () => {
    expect(roundToStep(64123.7, '1', 'floor')).toBe('64123');
    expect(roundToStep(64123.7, '5', 'ceil')).toBe('64125');
    expect(roundToStep('0.123456789', '0.00001', 'toward-zero')).toBe('0.12345');
  });

  it('stays exact where a float shortcut would not (16+ significant digits)', () => {
    // Found by the property tests: the scaled value has 16 digits, so float scaling is off by one.
    const rounded = roundToStep(-67296671.7223438, '0.00000461', 'floor');
    expect(isMultipleOf(rounded, '0.00000461')).toBe(true);
    expect(compareDecimals(rounded, '-67296671.7223438')).toBe(-1);
    expect(isMultipleOf('-67296671.7223484', '0.00000461')).toBe(true);
    expect(isMultipleOf('-67296671.7223485', '0.00000461')).toBe(false);
    expect(roundToStepNumber(-0, '1', 'floor')).toBe(0);
  });

  it('rejects a non-positive step', () => {
    expect(() => roundToStep(1, '0', 'floor')).toThrow(/step must be positive/);
    expect(() => roundToStep(1, '-0.1', 'floor')).toThrow(PerpkitError);
  });

  it('roundPrice is passive by side and roundQuantity never grows an order', () => {
    expect(roundPrice(100.07, '0.05', 'buy')).toBe('100.05');
    expect(roundPrice(100.07, '0.05', 'sell')).toBe('100.1');
    expect(roundQuantity(0.123456, '0.001')).toBe('0.123');
    expect(roundQuantity(-0.123456, '0.001')).toBe('-0.123');
  });
});

const stepArbitrary = fc
  .tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 8 }))
  .map(([units, decimals]) => toDecimalString(`${units}e-${decimals}`));
const valueArbitrary = fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true });
const modeArbitrary = fc.constantFrom('floor', 'ceil', 'toward-zero', 'away-from-zero', 'nearest' as const);

describe('rounding properties', () => {
  it('always lands on an exact multiple of the step, written exactly', () => {
    fc.assert(
      fc.property(valueArbitrary, stepArbitrary, modeArbitrary, (value, step, mode) => {
        const rounded = roundToStep(value, step, mode);
        expect(rounded).toMatch(EXACT);
        expect(isMultipleOf(rounded, step)).toBe(true);
        expect(decimalPlaces(rounded)).toBeLessThanOrEqual(decimalPlaces(step));
      }),
    );
  });

  it('moves in the stated direction by less than one step', () => {
    fc.assert(
      fc.property(valueArbitrary, stepArbitrary, (value, step) => {
        const exact = toDecimalString(value);
        const floor = roundToStep(value, step, 'floor');
        const ceil = roundToStep(value, step, 'ceil');
        expect(compareDecimals(floor, exact)).toBeLessThanOrEqual(0);
        expect(compareDecimals(ceil, exact)).toBeGreaterThanOrEqual(0);
        const gap = addDecimals(ceil, `-${floor}`.replace('--', ''));
        expect(['0', toDecimalString(step)]).toContain(gap);
        const nearest = roundToStep(value, step, 'nearest');
        expect([floor, ceil]).toContain(nearest);
        const trunc = roundToStep(value, step, 'toward-zero');
        expect(compareDecimals(trunc.replace('-', ''), exact.replace('-', ''))).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(valueArbitrary, stepArbitrary, modeArbitrary, (value, step, mode) => {
        const once = roundToStep(value, step, mode);
        expect(roundToStep(once, step, 'floor')).toBe(once);
        expect(roundToStep(once, step, 'ceil')).toBe(once);
      }),
    );
  });

  it('the number form parses back to the same exact string (up to 15 significant digits)', () => {
    fc.assert(
      fc.property(valueArbitrary, stepArbitrary, modeArbitrary, (value, step, mode) => {
        const text = roundToStep(value, step, mode);
        const significant = text.replace(/[-.]/g, '').replace(/^0+/, '').length;
        fc.pre(significant <= 15);
        expect(toDecimalString(roundToStepNumber(value, step, mode))).toBe(text);
      }),
    );
  });

  it('the float fast path agrees with exact decimal arithmetic, ties included', () => {
    const tieValue = fc
      .tuple(fc.integer({ min: -99_999_999, max: 99_999_999 }), fc.integer({ min: 0, max: 8 }))
      .map(([units, decimals]) => Number(`${units}5e-${decimals + 1}`));
    fc.assert(
      fc.property(fc.oneof(valueArbitrary, tieValue), stepArbitrary, modeArbitrary, (value, step, mode) => {
        // Strings always take the exact path.
        expect(roundToStep(value, step, mode)).toBe(roundToStep(toDecimalString(value), step, mode));
        expect(roundToStepNumber(value, step, mode)).toBe(
          Number(roundToStep(toDecimalString(value), step, mode)),
        );
      }),
    );
  });

  it('isMultipleOf agrees with a scaled-integer reference', () => {
    const valueText = fc
      .tuple(
        fc.integer({ min: -10_000_000, max: 10_000_000 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 3 }),
      )
      .map(
        ([units, decimals, zeros]) =>
          `${toDecimalString(`${units}e-${decimals}`)}${zeros > 0 && decimals > 0 ? '0'.repeat(zeros) : ''}`,
      );
    fc.assert(
      fc.property(valueText, stepArbitrary, (value, step) => {
        const scale = Math.max(decimalPlaces(value), decimalPlaces(step));
        const expected = toScaledInteger(value, scale) % toScaledInteger(step, scale) === 0n;
        expect(isMultipleOf(value, step)).toBe(expected);
      }),
    );
  });

  it('scaled integers round-trip', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.integer({ min: 0, max: 18 }),
        (integer, decimals) => {
          const text = fromScaledInteger(integer, decimals);
          expect(toScaledInteger(text, decimals)).toBe(integer);
        },
      ),
    );
  });
});

describe('scaled integers and arithmetic', () => {
  it('scales with rounding', () => {
    expect(toScaledInteger('1.23456', 2, 'floor')).toBe(123n);
    expect(toScaledInteger('1.23456', 2, 'ceil')).toBe(124n);
    expect(toScaledInteger('-1.23456', 2, 'floor')).toBe(-124n);
    expect(toScaledInteger(0.1 + 0.2, 6, 'nearest')).toBe(300000n);
    expect(toScaledInteger('12', 3)).toBe(12000n);
    expect(fromScaledInteger(123456n, 4)).toBe('12.3456');
    expect(fromScaledInteger(-5n, 3)).toBe('-0.005');
    expect(() => toScaledInteger(1, -1)).toThrow(/decimals/);
  });

  it('adds, multiplies, compares and pads exactly', () => {
    expect(addDecimals('0.1', '0.2')).toBe('0.3');
    expect(addDecimals('1', '-0.0001')).toBe('0.9999');
    expect(multiplyDecimals('0.1', '0.2')).toBe('0.02');
    expect(compareDecimals('1.10', '1.1')).toBe(0);
    expect(compareDecimals('-1', '0.5')).toBe(-1);
    expect(formatFixed('1.5', 3)).toBe('1.500');
    expect(formatFixed('1.23456', 2)).toBe('1.23456');
    expect(formatFixed('7', 2)).toBe('7.00');
  });
});
