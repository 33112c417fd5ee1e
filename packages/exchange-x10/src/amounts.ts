/**
 * Exact decimal arithmetic for the settlement amounts Extended signs. Values are rationals
 * `numerator / 10^scale` on bigints, so no rounding happens until the one rounding the venue
 * specifies (BUY up, SELL down, fee always up).
 */

export interface ExactDecimal {
  readonly numerator: bigint;
  readonly scale: number;
}

const DECIMAL_PATTERN = /^(\d+)(?:\.(\d+))?$/;

/** Reads a non-negative decimal string exactly; throws a RangeError naming the field otherwise. */
export function parseDecimal(value: string, field: string): ExactDecimal {
  if (typeof value !== 'string')
    throw new RangeError(`${field} must be a decimal string (got ${typeof value})`);
  const match = DECIMAL_PATTERN.exec(value);
  if (!match)
    throw new RangeError(`${field} must be a non-negative decimal string such as "0.01" (got "${value}")`);
  const fraction = match[2] ?? '';
  return { numerator: BigInt(`${match[1]}${fraction}`), scale: fraction.length };
}

export function multiply(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  return { numerator: a.numerator * b.numerator, scale: a.scale + b.scale };
}

export function multiplyInteger(a: ExactDecimal, integer: bigint): ExactDecimal {
  return { numerator: a.numerator * integer, scale: a.scale };
}

export function isZero(value: ExactDecimal): boolean {
  return value.numerator === 0n;
}

/** Rounds a non-negative exact decimal to an integer: `up` is the ceiling, `down` the floor. */
export function roundToInteger(value: ExactDecimal, direction: 'up' | 'down'): bigint {
  const divisor = 10n ** BigInt(value.scale);
  const quotient = value.numerator / divisor;
  if (direction === 'down' || value.numerator % divisor === 0n) return quotient;
  return quotient + 1n;
}

/** Formats an exact decimal without trailing zeros (`1.50` → `"1.5"`). */
export function formatDecimal(value: ExactDecimal): string {
  if (value.scale === 0) return value.numerator.toString();
  const digits = value.numerator.toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/** Floors an exact decimal to `decimals` places. */
export function floorToDecimals(value: ExactDecimal, decimals: number): ExactDecimal {
  if (value.scale <= decimals) return value;
  const divisor = 10n ** BigInt(value.scale - decimals);
  return { numerator: value.numerator / divisor, scale: decimals };
}

/** Divides exactly enough for a floor to `decimals` places: floor(a / b) at that precision. */
export function divideFloor(a: ExactDecimal, b: ExactDecimal, decimals: number): ExactDecimal {
  if (b.numerator === 0n) throw new RangeError('division by zero');
  // a / b = (an / 10^as) / (bn / 10^bs) = an * 10^bs / (bn * 10^as); scaled by 10^decimals.
  const numerator = a.numerator * 10n ** BigInt(b.scale + decimals);
  const denominator = b.numerator * 10n ** BigInt(a.scale);
  return { numerator: numerator / denominator, scale: decimals };
}
