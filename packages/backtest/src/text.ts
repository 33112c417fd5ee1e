import { createReadStream, statSync } from 'node:fs';

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
