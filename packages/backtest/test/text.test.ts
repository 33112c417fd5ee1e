import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CandleFile, loadAllCandles } from '../src/candles';
import { parseNumberBytes, parseTime, parseTimeBytes, readLineChunks, type TimeFormat } from '../src/text';

const bytes = (text: string) => Buffer.from(`x${text}y`);
const numberOf = (text: string) => parseNumberBytes(bytes(text), 1, 1 + Buffer.byteLength(text));
const timeOf = (text: string, format: TimeFormat) =>
  parseTimeBytes(bytes(text), 1, 1 + Buffer.byteLength(text), format);

describe('parsing numbers and times from bytes gives exactly what the string parsers give', () => {
  it('decimals of every shape, as Number() reads them', () => {
    const decimal = fc
      .tuple(
        fc.constantFrom('', '-', '+', ' '),
        fc.stringMatching(/^\d{0,18}$/),
        fc.constantFrom('', '.'),
        fc.stringMatching(/^\d{0,12}$/),
        fc.constantFrom('', 'e-6', 'E3', 'x', ' '),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(decimal, (text) => {
        expect(Object.is(numberOf(text), Number(text)), text).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = String(value);
        expect(Object.is(numberOf(text), Number(text)), text).toBe(true);
      }),
    );
    for (const text of [
      '104217.5',
      '0.1',
      '0.30000000000000004',
      '999999999999999',
      '1e21',
      '',
      '-0',
      '.5',
      '5.',
    ])
      expect(Object.is(numberOf(text), Number(text)), text).toBe(true);
  });

  it('times: ISO with any zone and fraction, epoch ms and s, as parseTime reads them', () => {
    const iso = fc
      .tuple(
        fc.date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }),
        fc.constantFrom('T', ' '),
        fc.constantFrom('', 'Z', '+00:00', '+03:00', '-05:30', '+0200', '.123', '.024000+00:00', '.5Z'),
      )
      .map(([date, separator, zone]) => `${date.toISOString().slice(0, 19).replace('T', separator)}${zone}`);
    const epoch = fc.integer({ min: 0, max: 4_102_444_800_000 }).map(String);
    const seconds = fc.integer({ min: 0, max: 4_102_444_800 }).map((value) => `${value}.5`);
    fc.assert(
      fc.property(
        fc.oneof(iso, epoch, seconds, fc.string()),
        fc.constantFrom<TimeFormat>('auto', 'iso', 'ms', 's'),
        (text, format) => {
          expect(Object.is(timeOf(text, format), parseTime(text, format)), `${format} ${text}`).toBe(true);
        },
      ),
    );
  });

  it('a file with CRLF line ends, quoted fields and blank lines reads like the plain one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-text-'));
    const plain = path.join(dir, 'plain.csv');
    const messy = path.join(dir, 'messy.csv');
    writeFileSync(
      plain,
      'time,open,high,low,close,volume\n2024-01-01T00:00:00Z,1.5,2,1,1.75,10\n2024-01-01T00:01:00Z,1.75,2.25,1.5,2,11\n2024-01-01T00:02:00Z,2,2,1.5,1.5,0\n',
    );
    writeFileSync(
      messy,
      'time,open,high,low,close,volume\r\n\r\n2024-01-01T00:00:00Z,1.5,2,1,1.75,10\r\n"2024-01-01T00:01:00Z","1.75",2.25,1.5,"2",11\r\n\r\n2024-01-01T00:02:00Z,2,2,1.5,1.5,0',
    );
    const read = async (file: string) => loadAllCandles(new CandleFile({ path: file }).batches());
    const expected = await read(plain);
    expect(expected).toHaveLength(3);
    expect(await read(messy)).toEqual(expected);
  });
});

describe('reading lines from bytes', () => {
  it('hands out every line once, whatever the chunk size, including lines longer than a chunk', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'perpkit-chunks-'));
    const file = path.join(dir, 'lines.txt');
    const lines = Array.from({ length: 500 }, (_, index) => `${index},${'x'.repeat((index * 37) % 300)}`);
    writeFileSync(file, lines.join('\n'));
    for (const size of [16, 64, 1000, 1 << 20]) {
      let text = '';
      let end = 0;
      for await (const chunk of readLineChunks(file, undefined, size)) {
        text += chunk.buffer.toString('utf8');
        expect(chunk.end).toBe(Buffer.byteLength(text));
        end = chunk.end;
      }
      expect(text.split('\n')).toEqual(lines);
      expect(end).toBe(Buffer.byteLength(lines.join('\n')));
    }
  });
});
