import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BacktestResult } from './backtest';
import type { TradeRecord } from './metrics';

const FLUSH_AT = 1 << 16;

/**
 * Trades written to a temporary file as they close (one JSON line each), so a long backtest can
 * still write every trade to its JSON and HTML outputs without holding the list in memory. Pass
 * `spool.add` as `onTrade` with `keepTrades: false`, then read the trades back with `read()`, as
 * many times as needed. `dispose()` removes the file.
 */
export class TradeSpool {
  readonly file: string;
  private readonly directory: string;
  private readonly descriptor: number;
  private pending = '';
  private count = 0;

  constructor(parent = tmpdir()) {
    this.directory = mkdtempSync(path.join(parent, 'perpkit-trades-'));
    this.file = path.join(this.directory, 'trades.ndjson');
    this.descriptor = openSync(this.file, 'w+');
  }

  get trades(): number {
    return this.count;
  }

  add = (trade: TradeRecord): void => {
    this.count += 1;
    this.pending += `${JSON.stringify(trade)}\n`;
    if (this.pending.length >= FLUSH_AT) this.flush();
  };

  private flush(): void {
    if (this.pending.length === 0) return;
    writeSync(this.descriptor, this.pending);
    this.pending = '';
  }

  /** The trades in closing order, read back one chunk of the file at a time. */
  *read(): Generator<TradeRecord> {
    this.flush();
    const buffer = Buffer.alloc(1 << 20);
    let position = 0;
    let carry = '';
    for (;;) {
      const read = readSync(this.descriptor, buffer, 0, buffer.length, position);
      if (read === 0) break;
      position += read;
      const text = carry + buffer.toString('utf8', 0, read);
      const lastBreak = text.lastIndexOf('\n');
      carry = lastBreak === -1 ? text : text.slice(lastBreak + 1);
      if (lastBreak === -1) continue;
      for (const line of text.slice(0, lastBreak).split('\n')) yield JSON.parse(line) as TradeRecord;
    }
    if (carry.length > 0) yield JSON.parse(carry) as TradeRecord;
  }

  dispose(): void {
    try {
      closeSync(this.descriptor);
    } finally {
      rmSync(this.directory, { recursive: true, force: true });
    }
  }
}

const indented = (value: unknown, pad: string) => JSON.stringify(value, null, 2).replace(/\n/g, `\n${pad}`);

/**
 * The full result as pretty-printed JSON (`{ ...head, ...result }`, the same text as
 * `JSON.stringify(..., null, 2)`), in chunks: the trades come from `trades` (default
 * `result.trades`) one at a time, so a spool of any size can be written out in bounded memory.
 */
export function* resultJsonChunks(
  result: BacktestResult,
  head: Readonly<Record<string, unknown>> = {},
  trades: Iterable<TradeRecord> = result.trades,
): Generator<string> {
  const entries: [string, unknown][] = [
    ...Object.entries(head),
    ['summary', result.summary],
    ['trades', undefined],
    ['equityCurve', result.equityCurve],
    ['openPositions', result.openPositions],
    ['breakdowns', result.breakdowns],
    ['data', result.data],
  ];
  yield '{';
  let firstEntry = true;
  for (const [key, value] of entries) {
    if (value === undefined && key !== 'trades') continue;
    yield `${firstEntry ? '' : ','}\n  ${JSON.stringify(key)}: `;
    firstEntry = false;
    if (key !== 'trades') {
      yield indented(value, '  ');
      continue;
    }
    let any = false;
    for (const trade of trades) {
      yield `${any ? ',' : '['}\n    ${indented(trade, '    ')}`;
      any = true;
    }
    yield any ? '\n  ]' : '[]';
  }
  yield '\n}\n';
}

/** Writes `resultJsonChunks` to a file. */
export function writeResultJson(
  file: string,
  result: BacktestResult,
  head?: Readonly<Record<string, unknown>>,
  trades?: Iterable<TradeRecord>,
): void {
  const descriptor = openSync(file, 'w');
  try {
    let pending = '';
    for (const chunk of resultJsonChunks(result, head, trades)) {
      pending += chunk;
      if (pending.length >= FLUSH_AT) {
        writeSync(descriptor, pending);
        pending = '';
      }
    }
    if (pending.length > 0) writeSync(descriptor, pending);
  } finally {
    closeSync(descriptor);
  }
}
