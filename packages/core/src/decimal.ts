import { PerpkitError } from './errors';

/**
 * Exact decimal helpers for everything a venue sees.
 *
 * Engine arithmetic runs on JS numbers for speed; the edge (order prices and sizes, signed payloads)
 * must be exact. A number is read as the decimal of its shortest round-trip representation
 * (`String(0.1 + 0.2)` is `0.30000000000000004`, and rounding that to a 0.01 tick gives exactly
 * `"0.3"`). All rounding is done on scaled bigints, never on floats.
 */

export type DecimalInput = number | string | bigint;

/**
 * - `floor`: toward −∞        - `ceil`: toward +∞
 * - `toward-zero`: truncate   - `away-from-zero`
 * - `nearest`: to the nearest step, ties away from zero
 */
export type RoundingMode = 'floor' | 'ceil' | 'toward-zero' | 'away-from-zero' | 'nearest';

/** A decimal as `mantissa × 10^-scale`. */
interface ScaledDecimal {
  readonly mantissa: bigint;
  readonly scale: number;
}

const DECIMAL_PATTERN = /^([+-])?(\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function invalid(value: unknown, why: string): PerpkitError {
  return new PerpkitError('DECIMAL_INVALID', `Not an exact decimal (${why}): ${String(value)}`);
}

function parse(value: DecimalInput): ScaledDecimal {
  if (typeof value === 'bigint') return { mantissa: value, scale: 0 };
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(value, 'not finite');
    text = String(value);
  } else {
    text = value.trim();
  }
  const match = DECIMAL_PATTERN.exec(text);
  if (!match || (match[2] === undefined && (match[3] === undefined || match[3] === ''))) {
    throw invalid(value, 'malformed');
  }
  const sign = match[1] === '-' ? -1n : 1n;
  const intPart = match[2] ?? '';
  const fracPart = match[3] ?? '';
  const exponent = match[4] === undefined ? 0 : Number(match[4]);
  let mantissa = BigInt((intPart + fracPart).replace(/^0+(?=\d)/, '') || '0');
  let scale = fracPart.length - exponent;
  if (scale < 0) {
    mantissa *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return normalize({ mantissa: sign * mantissa, scale });
}

/** Drops trailing zeros so equal values have one representation. */
function normalize(value: ScaledDecimal): ScaledDecimal {
  let { mantissa, scale } = value;
  while (scale > 0 && mantissa % 10n === 0n) {
    mantissa /= 10n;
    scale -= 1;
  }
  if (mantissa === 0n) scale = 0;
  return { mantissa, scale };
}

function rescale(value: ScaledDecimal, scale: number): bigint {
  return value.mantissa * 10n ** BigInt(scale - value.scale);
}

function format(value: ScaledDecimal, minDecimals = 0): string {
  const { mantissa, scale } = normalize(value);
  const negative = mantissa < 0n;
  const digits = (negative ? -mantissa : mantissa).toString();
  let out: string;
  if (scale === 0) {
    out = digits;
  } else {
    const padded = digits.padStart(scale + 1, '0');
    out = `${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
  }
  if (minDecimals > 0) {
    const dot = out.indexOf('.');
    const have = dot === -1 ? 0 : out.length - dot - 1;
    if (have < minDecimals) out = (dot === -1 ? `${out}.` : out) + '0'.repeat(minDecimals - have);
  }
  return negative ? `-${out}` : out;
}

/** Integer division of `numerator / denominator` (denominator > 0) with a rounding mode. */
function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const negative = numerator < 0n;
  switch (mode) {
    case 'toward-zero':
      return quotient;
    case 'away-from-zero':
      return negative ? quotient - 1n : quotient + 1n;
    case 'floor':
      return negative ? quotient - 1n : quotient;
    case 'ceil':
      return negative ? quotient : quotient + 1n;
    case 'nearest': {
      const twice = (remainder < 0n ? -remainder : remainder) * 2n;
      if (twice >= denominator) return negative ? quotient - 1n : quotient + 1n;
      return quotient;
    }
  }
}

interface StepGrid {
  readonly parsed: ScaledDecimal;
  /** 10^scale, exact as a double. */
  readonly power: number;
  /** The step in units of 10^-scale (an integer). */
  readonly units: number;
  /** Float fast paths are exact for this grid (small scale and step). */
  readonly fast: boolean;
}

const grids = new Map<string, StepGrid>();

/** Steps (tick and lot sizes) are few and reused on every order: parse each once. */
function gridOf(step: DecimalInput): StepGrid {
  const key = typeof step === 'string' ? step : String(step);
  let grid = grids.get(key);
  if (!grid) {
    const parsed = parse(step);
    if (parsed.mantissa <= 0n) throw invalid(step, 'step must be positive');
    const power = 10 ** parsed.scale;
    const units = Number(parsed.mantissa);
    grid = { parsed, power, units, fast: parsed.scale <= 15 && units < 2 ** 31 };
    if (grids.size < 1000) grids.set(key, grid);
  }
  return grid;
}

const NEAR = 1e-6;

/**
 * Rounds a count of steps `x` (a float) when the float result is provably the exact one: far from
 * the boundaries where float error could flip the answer. Returns NaN when the exact path is needed.
 */
function fastSteps(x: number, mode: RoundingMode, value: number, grid: StepGrid): number {
  if (!(Math.abs(x) < 1e9)) return Number.NaN;
  // Exactly on a grid point: when that point (≤ 15 significant digits) is this very double, the
  // value's shortest decimal is the point itself, so every mode leaves it where it is.
  if (Number.isInteger(x) && Math.abs(x * grid.units) < 1e15 && (x * grid.units) / grid.power === value)
    return x;
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (mode === 'nearest') {
    if (Math.abs(fraction - 0.5) < NEAR) return Number.NaN;
    return fraction > 0.5 ? floor + 1 : floor;
  }
  if (fraction < NEAR || fraction > 1 - NEAR) {
    // Within float noise of a grid point, where the direction could flip the answer: exact path.
    return Number.NaN;
  }
  switch (mode) {
    case 'floor':
      return floor;
    case 'ceil':
      return floor + 1;
    case 'toward-zero':
      return x < 0 ? floor + 1 : floor;
    case 'away-from-zero':
      return x < 0 ? floor : floor + 1;
  }
}

/** `integer × 10^-scale` as an exact decimal string, for integers below 2^53. */
function formatSmall(integer: number, scale: number): string {
  if (integer === 0) return '0';
  const negative = integer < 0;
  let digits = String(negative ? -integer : integer);
  let places = scale;
  while (places > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    places -= 1;
  }
  let out: string;
  if (places === 0) out = digits;
  else {
    const padded = digits.padStart(places + 1, '0');
    out = `${padded.slice(0, padded.length - places)}.${padded.slice(padded.length - places)}`;
  }
  return negative ? `-${out}` : out;
}

/** The exact decimal string of a value: no exponent, no float artifacts beyond the input's own digits. */
export function toDecimalString(value: DecimalInput): string {
  return format(parse(value));
}

/** Number of decimal places in a step such as a tick or lot size (`"0.0100"` → 2). */
export function decimalPlaces(value: DecimalInput): number {
  return parse(value).scale;
}

/**
 * Rounds `value` to a multiple of `step` and returns the exact decimal string.
 * `roundToStep(0.1 + 0.2, '0.01', 'nearest')` → `"0.3"`.
 */
export function roundToStep(value: DecimalInput, step: DecimalInput, mode: RoundingMode): string {
  const grid = gridOf(step);
  if (typeof value === 'number' && grid.fast && Number.isFinite(value)) {
    const steps = fastSteps((value * grid.power) / grid.units, mode, value, grid);
    if (!Number.isNaN(steps) && Math.abs(steps * grid.units) <= 1e15)
      return formatSmall(steps * grid.units, grid.parsed.scale);
  }
  const parsedValue = parse(value);
  const parsedStep = grid.parsed;
  const scale = Math.max(parsedValue.scale, parsedStep.scale);
  const scaledValue = rescale(parsedValue, scale);
  const scaledStep = rescale(parsedStep, scale);
  const steps = divideRounded(scaledValue, scaledStep, mode);
  return format({ mantissa: steps * scaledStep, scale });
}

/**
 * `roundToStep` as a number: the double nearest to the exact rounded decimal. Reading it back with
 * `toDecimalString` gives the same string whenever it has at most 15 significant digits (every
 * real tick/lot-aligned price and size); use the string form for anything sent to a venue.
 */
export function roundToStepNumber(value: DecimalInput, step: DecimalInput, mode: RoundingMode): number {
  const grid = gridOf(step);
  if (typeof value === 'number' && grid.fast && Number.isFinite(value)) {
    const steps = fastSteps((value * grid.power) / grid.units, mode, value, grid);
    // An exact integer over an exact power of ten is correctly rounded: the same double as
    // parsing the exact decimal string.
    if (!Number.isNaN(steps) && Math.abs(steps * grid.units) <= 1e15)
      return steps === 0 ? 0 : (steps * grid.units) / grid.power;
  }
  return Number(roundToStep(value, step, mode));
}

/**
 * Rounds a price to the tick. Without a mode, a buy rounds down and a sell rounds up, so a limit
 * order never becomes more aggressive than asked.
 */
export function roundPrice(
  price: DecimalInput,
  tickSize: DecimalInput,
  sideOrMode: 'buy' | 'sell' | RoundingMode,
): string {
  const mode: RoundingMode = sideOrMode === 'buy' ? 'floor' : sideOrMode === 'sell' ? 'ceil' : sideOrMode;
  return roundToStep(price, tickSize, mode);
}

/** Rounds a size to the lot; by default toward zero, so an order never grows by rounding. */
export function roundQuantity(
  quantity: DecimalInput,
  lotSize: DecimalInput,
  mode: RoundingMode = 'toward-zero',
): string {
  return roundToStep(quantity, lotSize, mode);
}

/** True when `value` is an exact multiple of `step`. */
export function isMultipleOf(value: DecimalInput, step: DecimalInput): boolean {
  const grid = gridOf(step);
  if (typeof value === 'string' && grid.fast && /^-?\d{1,15}(\.\d+)?$/.test(value)) {
    // A plain decimal with no more places than the grid is an exact integer count of grid units.
    const trimmed = value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
    const dot = trimmed.indexOf('.');
    const places = dot === -1 ? 0 : trimmed.length - dot - 1;
    if (places > grid.parsed.scale) return false;
    // Exact only while the scaled value has at most 15 significant digits (float error < 0.5).
    const integerDigits = (dot === -1 ? trimmed.length : dot) - (trimmed.startsWith('-') ? 1 : 0);
    if (integerDigits + grid.parsed.scale <= 15)
      return Math.round(Number(trimmed) * grid.power) % grid.units === 0;
  }
  const parsedValue = parse(value);
  const parsedStep = grid.parsed;
  const scale = Math.max(parsedValue.scale, parsedStep.scale);
  return rescale(parsedValue, scale) % rescale(parsedStep, scale) === 0n;
}

/** Formats with at least `decimals` places (padding zeros), never losing digits the value has. */
export function formatFixed(value: DecimalInput, decimals: number): string {
  return format(parse(value), decimals);
}

/**
 * `value × 10^decimals` as an integer, rounded with `mode`. For venues that take scaled integers
 * (Lighter prices and sizes, Stark amounts).
 */
export function toScaledInteger(
  value: DecimalInput,
  decimals: number,
  mode: RoundingMode = 'toward-zero',
): bigint {
  if (!Number.isInteger(decimals) || decimals < 0)
    throw invalid(decimals, 'decimals must be a non-negative integer');
  const parsed = parse(value);
  if (parsed.scale <= decimals) return parsed.mantissa * 10n ** BigInt(decimals - parsed.scale);
  return divideRounded(parsed.mantissa, 10n ** BigInt(parsed.scale - decimals), mode);
}

/** The exact decimal string of `integer × 10^-decimals`. */
export function fromScaledInteger(integer: bigint | number | string, decimals: number): string {
  return format({ mantissa: BigInt(integer), scale: decimals });
}

/** Exact comparison: −1, 0 or 1. */
export function compareDecimals(a: DecimalInput, b: DecimalInput): -1 | 0 | 1 {
  const left = parse(a);
  const right = parse(b);
  const scale = Math.max(left.scale, right.scale);
  const difference = rescale(left, scale) - rescale(right, scale);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

/** Exact sum of decimals, as a string. */
export function addDecimals(...values: DecimalInput[]): string {
  const parsed = values.map(parse);
  const scale = Math.max(0, ...parsed.map((value) => value.scale));
  let sum = 0n;
  for (const value of parsed) sum += rescale(value, scale);
  return format({ mantissa: sum, scale });
}

/** Exact product of two decimals, as a string. */
export function multiplyDecimals(a: DecimalInput, b: DecimalInput): string {
  const left = parse(a);
  const right = parse(b);
  return format({ mantissa: left.mantissa * right.mantissa, scale: left.scale + right.scale });
}
