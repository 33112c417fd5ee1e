import { BulkAccountLoader } from '@drift-labs/sdk';
import type { Commitment, Connection, PublicKey } from '@solana/web3.js';

/** `getMultipleAccounts` takes at most 100 keys per call. */
const CHUNK = 99;

/**
 * The SDK's polling account loader with failures surfaced: the SDK's `load()` logs RPC errors and
 * timeouts and returns as if nothing happened; this one rejects, so a lost connection is seen at
 * the first poll. Callbacks and slot ordering are the SDK's (`handleAccountCallbacks`,
 * `bufferAndSlotMap`); polling is driven by the adapter (frequency 0: no timer of its own).
 */
export class StrictAccountLoader extends BulkAccountLoader {
  private pending: Promise<void> | undefined;

  constructor(
    connection: Connection,
    commitment: Commitment,
    private readonly timeoutMs: number,
  ) {
    super(connection, commitment, 0);
  }

  override load(): Promise<void> {
    this.pending ??= this.loadAll().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async loadAll(): Promise<void> {
    const accounts = [...this.accountsToLoad.values()].filter((account) => account.callbacks.size > 0);
    for (let start = 0; start < accounts.length; start += CHUNK) {
      const chunk = accounts.slice(start, start + CHUNK);
      const keys: PublicKey[] = chunk.map((account) => account.publicKey);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`getMultipleAccounts timed out after ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
      });
      let response: Awaited<ReturnType<Connection['getMultipleAccountsInfoAndContext']>>;
      try {
        response = await Promise.race([
          (this.connection as Connection).getMultipleAccountsInfoAndContext(keys, this.commitment),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
      const slot = response.context.slot;
      if (slot > this.mostRecentSlot) this.mostRecentSlot = slot;
      chunk.forEach((account, index) => {
        const key = account.publicKey.toBase58();
        const previous = this.bufferAndSlotMap.get(key);
        if (previous && slot < previous.slot) return;
        const info = response.value[index];
        const buffer = info ? Buffer.from(info.data) : undefined;
        if (previous && (!buffer || (previous.buffer && buffer.equals(previous.buffer)))) return;
        this.bufferAndSlotMap.set(key, { slot, buffer });
        this.handleAccountCallbacks(account, buffer as Buffer, slot);
      });
    }
  }
}
