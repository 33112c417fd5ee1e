import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';

export type ProgressListener = (bytesRead: number, totalBytes: number) => void;

/**
 * Reads a text file in chunks and yields its complete lines a chunk at a time, so parsers await
 * once per ~1 MB instead of once per line. Never holds more than one chunk plus a partial line.
 */
export async function* readLineBatches(
  path: string,
  onProgress?: ProgressListener,
): AsyncGenerator<string[]> {
  const total = statSync(path).size;
  let read = 0;
  let carry = '';
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    read += Buffer.byteLength(chunk, 'utf8');
    const text = carry + chunk;
    const lastBreak = text.lastIndexOf('\n');
    if (lastBreak === -1) {
      carry = text;
      continue;
    }
    carry = text.slice(lastBreak + 1);
    const lines = text.slice(0, lastBreak).split('\n');
    onProgress?.(read, total);
    yield lines;
  }
  if (carry.length > 0) yield [carry];
  onProgress?.(total, total);
}

/** Splits one CSV line; handles double-quoted fields only when the line has quotes. */
export function splitCsvLine(line: string): string[] {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!trimmed.includes('"')) return trimmed.split(',');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < trimmed.length; index += 1) {
    const char = trimmed[index];
    if (quoted) {
      if (char === '"' && trimmed[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

const DIGIT_0 = 48;

function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let index = from; index < from + count; index += 1) {
    const code = text.charCodeAt(index) - DIGIT_0;
    if (code < 0 || code > 9) return Number.NaN;
    value = value * 10 + code;
  }
  return value;
}

/**
 * Parses `YYYY-MM-DD[T ]HH:MM[:SS[.fff…]][Z|±HH:MM]` to epoch ms. Without a zone the time is read
 * as UTC. Fractions beyond milliseconds are truncated. Falls back to `Date.parse` for anything else.
 */
export function parseIsoTime(text: string): number {
  if (text.length >= 16 && text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hour = digits(text, 11, 2);
    const minute = digits(text, 14, 2);
    let second = 0;
    let millis = 0;
    let position = 16;
    if (text.charCodeAt(position) === 58) {
      second = digits(text, 17, 2);
      position = 19;
      if (text.charCodeAt(position) === 46) {
        position += 1;
        let scale = 100;
        while (position < text.length) {
          const code = text.charCodeAt(position) - DIGIT_0;
          if (code < 0 || code > 9) break;
          millis += code * scale;
          scale /= 10;
          position += 1;
        }
        millis = Math.floor(millis);
      }
    }
    let offsetMinutes = 0;
    const zone = text.charCodeAt(position);
    if (zone === 43 || zone === 45) {
      const sign = zone === 43 ? 1 : -1;
      const offsetHour = digits(text, position + 1, 2);
      const colon = text.charCodeAt(position + 3) === 58 ? 1 : 0;
      const offsetMinute = position + 3 + colon < text.length ? digits(text, position + 3 + colon, 2) : 0;
      offsetMinutes = sign * (offsetHour * 60 + offsetMinute);
    }
    const value = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
    if (!Number.isNaN(value)) return value;
  }
  return Date.parse(text);
}

export type TimeFormat = 'auto' | 'ms' | 's' | 'iso';

/** Reads a time field: epoch ms, epoch seconds or ISO text; `auto` decides per value. */
export function parseTime(text: string, format: TimeFormat): number {
  if (format === 'ms') return Number(text);
  if (format === 's') return Number(text) * 1000;
  if (format === 'iso') return parseIsoTime(text);
  const first = text.charCodeAt(0);
  if (first >= DIGIT_0 && first <= DIGIT_0 + 9 && /^\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    return value < 1e11 ? value * 1000 : value;
  }
  return parseIsoTime(text);
}

/**
 * Streams a JSON array of arrays (`[[t, o, h, l, c, v], ...]`, freqtrade's layout), yielding the
 * rows parsed from each chunk. Only numbers and null are expected inside rows.
 */
export async function* readJsonRowBatches(
  path: string,
  onProgress?: ProgressListener,
): AsyncGenerator<(number | null)[][]> {
  const total = statSync(path).size;
  let read = 0;
  let depth = 0;
  let token = '';
  let row: (number | null)[] = [];
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    read += Buffer.byteLength(chunk, 'utf8');
    const rows: (number | null)[][] = [];
    for (let index = 0; index < chunk.length; index += 1) {
      const char = chunk[index] as string;
      if (char === '[') {
        depth += 1;
        if (depth === 2) row = [];
        else if (depth > 2) throw new Error(`${path}: nested arrays deeper than rows are not supported`);
      } else if (char === ']') {
        if (depth === 2) {
          if (token.trim() !== '') row.push(parseJsonValue(token, path));
          token = '';
          rows.push(row);
        }
        depth -= 1;
      } else if (char === ',') {
        if (depth === 2) {
          row.push(parseJsonValue(token, path));
          token = '';
        }
      } else if (depth === 2) {
        token += char;
      } else if (depth === 0 && char.trim() !== '') {
        throw new Error(`${path}: expected a JSON array of rows`);
      }
    }
    onProgress?.(read, total);
    if (rows.length > 0) yield rows;
  }
}

function parseJsonValue(token: string, path: string): number | null {
  const text = token.trim();
  if (text === 'null') return null;
  const value = Number(text);
  if (text === '' || Number.isNaN(value))
    throw new Error(`${path}: not a number in a row: ${JSON.stringify(text)}`);
  return value;
}

// ---------------------------------------------------------------- bytes

/** Exact powers of ten (10^0 … 10^22 are exact doubles). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, index) => 10 ** index);

/**
 * `Number(text)` for the bytes `[start, end)` of a buffer, without making a string. Plain decimals
 * of up to 15 digits take the exact fast path (an integer below 2^53 divided by an exact power of
 * ten is correctly rounded, so the result is the same double `Number` gives); anything else
 * (exponents, signs other than a leading minus, spaces, long fractions) is decoded and handed to
 * `Number`.
 */
export function parseNumberBytes(buffer: Uint8Array, start: number, end: number): number {
  let index = start;
  const negative = index < end && buffer[index] === 45;
  if (negative) index += 1;
  let mantissa = 0;
  let digits = 0;
  let places = 0;
  let dot = false;
  for (; index < end; index += 1) {
    const code = buffer[index] as number;
    if (code >= 48 && code <= 57) {
      mantissa = mantissa * 10 + (code - 48);
      digits += 1;
      if (dot) places += 1;
    } else if (code === 46 && !dot) dot = true;
    else return Number(decode(buffer, start, end));
  }
  if (digits === 0 || digits > 15) return Number(decode(buffer, start, end));
  const value = places === 0 ? mantissa : mantissa / (POWERS_OF_TEN[places] as number);
  return negative ? -value : value;
}

function decode(buffer: Uint8Array, start: number, end: number): string {
  return Buffer.from(buffer.buffer, buffer.byteOffset + start, end - start).toString('utf8');
}

function digitsAt(buffer: Uint8Array, start: number, end: number, from: number, count: number): number {
  let value = 0;
  for (let index = start + from; index < start + from + count; index += 1) {
    if (index >= end) return Number.NaN;
    const code = (buffer[index] as number) - DIGIT_0;
    if (code < 0 || code > 9) return Number.NaN;
    value = value * 10 + code;
  }
  return value;
}

/** `parseIsoTime` over bytes (same rules, same fallback to `Date.parse`). */
export function parseIsoTimeBytes(buffer: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const at = (offset: number) => (start + offset < end ? (buffer[start + offset] as number) : -1);
  if (length >= 16 && at(4) === 45 && at(7) === 45) {
    const year = digitsAt(buffer, start, end, 0, 4);
    const month = digitsAt(buffer, start, end, 5, 2);
    const day = digitsAt(buffer, start, end, 8, 2);
    const hour = digitsAt(buffer, start, end, 11, 2);
    const minute = digitsAt(buffer, start, end, 14, 2);
    let second = 0;
    let millis = 0;
    let position = 16;
    if (at(position) === 58) {
      second = digitsAt(buffer, start, end, 17, 2);
      position = 19;
      if (at(position) === 46) {
        position += 1;
        let scale = 100;
        while (position < length) {
          const code = at(position) - DIGIT_0;
          if (code < 0 || code > 9) break;
          millis += code * scale;
          scale /= 10;
          position += 1;
        }
        millis = Math.floor(millis);
      }
    }
    let offsetMinutes = 0;
    const zone = at(position);
    if (zone === 43 || zone === 45) {
      const sign = zone === 43 ? 1 : -1;
      const offsetHour = digitsAt(buffer, start, end, position + 1, 2);
      const colon = at(position + 3) === 58 ? 1 : 0;
      const offsetMinute =
        position + 3 + colon < length ? digitsAt(buffer, start, end, position + 3 + colon, 2) : 0;
      offsetMinutes = sign * (offsetHour * 60 + offsetMinute);
    }
    const value = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
    if (!Number.isNaN(value)) return value;
  }
  return Date.parse(decode(buffer, start, end));
}

/** `parseTime` over bytes: the same formats and the same `auto` rules. */
export function parseTimeBytes(buffer: Uint8Array, start: number, end: number, format: TimeFormat): number {
  if (format === 'ms') return parseNumberBytes(buffer, start, end);
  if (format === 's') return parseNumberBytes(buffer, start, end) * 1000;
  if (format === 'iso') return parseIsoTimeBytes(buffer, start, end);
  if (isPlainNumber(buffer, start, end)) {
    const value = parseNumberBytes(buffer, start, end);
    return value < 1e11 ? value * 1000 : value;
  }
  return parseIsoTimeBytes(buffer, start, end);
}

/** `/^\d+(\.\d+)?$/` over bytes. */
function isPlainNumber(buffer: Uint8Array, start: number, end: number): boolean {
  let index = start;
  let integer = 0;
  while (index < end && (buffer[index] as number) >= 48 && (buffer[index] as number) <= 57) {
    index += 1;
    integer += 1;
  }
  if (integer === 0) return false;
  if (index === end) return true;
  if (buffer[index] !== 46) return false;
  index += 1;
  const fractionStart = index;
  while (index < end && (buffer[index] as number) >= 48 && (buffer[index] as number) <= 57) index += 1;
  return index === end && index > fractionStart;
}

/**
 * Reads a file in chunks of bytes and yields the complete lines of each chunk as one buffer (the
 * partial last line is carried over), so a parser can work on bytes without making a string per
 * line. One buffer is reused (the carried bytes move to its front): a yielded chunk is valid until
 * the next is asked for. `end` is the file offset just past the chunk's last line.
 */
export async function* readLineChunks(
  path: string,
  onProgress?: ProgressListener,
  chunkSize = 1 << 20,
): AsyncGenerator<{ readonly buffer: Buffer; readonly end: number }> {
  const total = statSync(path).size;
  const handle = await open(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(chunkSize);
    let filled = 0;
    let position = 0;
    for (;;) {
      if (filled === buffer.length) {
        // A line longer than the buffer: grow it.
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger, 0, 0, filled);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      filled += bytesRead;
      onProgress?.(position, total);
      const lastBreak = buffer.lastIndexOf(10, filled - 1);
      if (lastBreak === -1) continue;
      yield { buffer: buffer.subarray(0, lastBreak + 1), end: position - (filled - lastBreak - 1) };
      buffer.copyWithin(0, lastBreak + 1, filled);
      filled -= lastBreak + 1;
    }
    if (filled > 0) yield { buffer: buffer.subarray(0, filled), end: position };
  } finally {
    await handle.close();
  }
}
