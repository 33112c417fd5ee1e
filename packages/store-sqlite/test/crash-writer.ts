/*
 * Child process for the crash test: appends fills as fast as it can and prints the index of each
 * one after the store has committed it. The parent kills it with SIGKILL mid-stream.
 */
import type { AuditRecord } from '@perpkit/core';
import { SqliteStore } from '../src';

const store = new SqliteStore({ path: process.argv[2] as string, flushIntervalMs: 1000 });
const T0 = Date.UTC(2025, 5, 1);

async function main() {
  for (let index = 1; ; index += 1) {
    const fill = {
      id: `F${index}`,
      orderId: `O${index}`,
      exchange: 'sim',
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      price: 60_000 + index,
      quantity: 0.001,
      fee: 0.03,
      liquidity: 'taker',
      timestamp: T0 + index,
      cumulativeQuantity: 0.001,
      cumulativeFee: 0.03,
      averagePrice: 60_000 + index,
    };
    store.append({ type: 'fill', at: T0 + index, runId: 'crash', data: fill } as AuditRecord);
    // Ordinary records ride along in the same batches.
    store.append({
      type: 'signal',
      at: T0 + index,
      runId: 'crash',
      data: {
        id: `S${index}`,
        strategyId: 's',
        intent: 'open',
        exchange: 'sim',
        symbol: 'BTC',
        urgency: 'normal',
        reasons: [],
      },
    } as unknown as AuditRecord);
    await new Promise((resolve) => setImmediate(resolve));
    if (store.durability.pending === 0) process.stdout.write(`acked ${index}\n`);
  }
}
void main();
