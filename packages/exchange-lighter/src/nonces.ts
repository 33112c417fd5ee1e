/**
 * One nonce counter per (account, API key), kept locally. Transactions of one key are sent one at a
 * time, in nonce order; any failure drops the counter so the next use re-reads `nextNonce` (the
 * venue consumes a nonce only for transactions it accepted, and an unknown outcome is settled by
 * asking it).
 */
export class NonceManager {
  private readonly counters = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly fetchNext: (accountIndex: number, apiKeyIndex: number) => Promise<number>) {}

  private key(accountIndex: number, apiKeyIndex: number): string {
    return `${accountIndex}:${apiKeyIndex}`;
  }

  /** Forgets the local counter; the next transaction re-reads it from the venue. */
  invalidate(accountIndex: number, apiKeyIndex: number): void {
    this.counters.delete(this.key(accountIndex, apiKeyIndex));
  }

  /** The counter as known locally (undefined before the first use or after a rejection). */
  peek(accountIndex: number, apiKeyIndex: number): number | undefined {
    return this.counters.get(this.key(accountIndex, apiKeyIndex));
  }

  /**
   * Runs `send` with `count` consecutive nonces of the key, after every earlier send of that key
   * has finished. The counter advances only when `send` resolves.
   */
  withNonces<T>(
    accountIndex: number,
    apiKeyIndex: number,
    count: number,
    send: (nonces: readonly number[]) => Promise<T>,
  ): Promise<T> {
    const key = this.key(accountIndex, apiKeyIndex);
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(
      () => this.runExclusive(key, accountIndex, apiKeyIndex, count, send),
      () => this.runExclusive(key, accountIndex, apiKeyIndex, count, send),
    );
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }

  private async runExclusive<T>(
    key: string,
    accountIndex: number,
    apiKeyIndex: number,
    count: number,
    send: (nonces: readonly number[]) => Promise<T>,
  ): Promise<T> {
    let next = this.counters.get(key);
    if (next === undefined) {
      next = await this.fetchNext(accountIndex, apiKeyIndex);
      this.counters.set(key, next);
    }
    const nonces = Array.from({ length: count }, (_, offset) => (next as number) + offset);
    try {
      const result = await send(nonces);
      this.counters.set(key, (next as number) + count);
      return result;
    } catch (error) {
      this.counters.delete(key);
      throw error;
    }
  }
}
