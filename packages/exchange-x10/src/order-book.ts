import { addDecimals, type BookLevel, compareDecimals } from '@perpkit/core';

export interface LevelUpdate {
  readonly p: string;
  readonly q: string;
}

/**
 * One market's book as the `/orderbooks/{market}` stream builds it. A SNAPSHOT replaces the book;
 * in a DELTA, `q` is the change of the level's size (not its new size), added exactly; a level at or
 * below zero is removed. Sequence numbers must follow one another: a gap means the book is wrong.
 */
export class OrderBookState {
  private readonly bids = new Map<string, string>();
  private readonly asks = new Map<string, string>();
  private lastSequence: number | undefined;
  timestamp = 0;

  get sequence(): number | undefined {
    return this.lastSequence;
  }

  get ready(): boolean {
    return this.lastSequence !== undefined;
  }

  reset(): void {
    this.bids.clear();
    this.asks.clear();
    this.lastSequence = undefined;
  }

  /**
   * Applies a stream message. Returns `gap` when a delta does not follow the previous sequence
   * number (or arrives before any snapshot): the caller must resynchronize.
   */
  apply(message: {
    readonly type: 'SNAPSHOT' | 'DELTA';
    readonly seq: number;
    readonly ts: number;
    readonly data: { readonly b: readonly LevelUpdate[]; readonly a: readonly LevelUpdate[] };
  }): 'ok' | 'gap' {
    if (message.type === 'SNAPSHOT') {
      this.bids.clear();
      this.asks.clear();
      for (const level of message.data.b) setLevel(this.bids, level.p, level.q);
      for (const level of message.data.a) setLevel(this.asks, level.p, level.q);
    } else {
      if (this.lastSequence === undefined || message.seq !== this.lastSequence + 1) return 'gap';
      for (const level of message.data.b) changeLevel(this.bids, level.p, level.q);
      for (const level of message.data.a) changeLevel(this.asks, level.p, level.q);
    }
    this.lastSequence = message.seq;
    this.timestamp = message.ts;
    return 'ok';
  }

  levels(depth = Number.POSITIVE_INFINITY): { bids: BookLevel[]; asks: BookLevel[] } {
    const bids = [...this.bids.entries()]
      .map(([price, quantity]) => [Number(price), Number(quantity)] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, depth);
    const asks = [...this.asks.entries()]
      .map(([price, quantity]) => [Number(price), Number(quantity)] as const)
      .sort((a, b) => a[0] - b[0])
      .slice(0, depth);
    return { bids, asks };
  }
}

function setLevel(side: Map<string, string>, price: string, quantity: string): void {
  const key = addDecimals(price, '0');
  if (compareDecimals(quantity, '0') > 0) side.set(key, addDecimals(quantity, '0'));
  else side.delete(key);
}

function changeLevel(side: Map<string, string>, price: string, change: string): void {
  const key = addDecimals(price, '0');
  const next = addDecimals(side.get(key) ?? '0', change);
  if (compareDecimals(next, '0') > 0) side.set(key, next);
  else side.delete(key);
}
