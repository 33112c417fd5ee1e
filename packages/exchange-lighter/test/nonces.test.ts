import { describe, expect, it } from 'vitest';
import { NonceManager } from '../src/nonces';

describe('nonce manager', () => {
  it('keeps one counter per API key and hands out consecutive nonces in order, one send at a time', async () => {
    const reads: string[] = [];
    const manager = new NonceManager(async (account, key) => {
      reads.push(`${account}:${key}`);
      return key === 4 ? 10 : 100;
    });
    const used: number[] = [];
    let inFlight = 0;
    const send = (nonces: readonly number[]) =>
      new Promise<readonly number[]>((resolve) => {
        inFlight += 1;
        expect(inFlight).toBe(1);
        setTimeout(() => {
          used.push(...nonces);
          inFlight -= 1;
          resolve(nonces);
        }, 2);
      });
    await Promise.all([
      manager.withNonces(1, 4, 1, send),
      manager.withNonces(1, 4, 3, send),
      manager.withNonces(1, 4, 1, send),
    ]);
    expect(used).toEqual([10, 11, 12, 13, 14]);
    expect(await manager.withNonces(1, 5, 1, async (nonces) => nonces)).toEqual([100]);
    expect(reads).toEqual(['1:4', '1:5']);
    expect(manager.peek(1, 4)).toBe(15);
  });

  it('drops the counter when a send fails, and re-reads it for the next send', async () => {
    let venueNonce = 3;
    const manager = new NonceManager(async () => venueNonce);
    await manager.withNonces(1, 4, 1, async () => undefined);
    await expect(
      manager.withNonces(1, 4, 1, async () => {
        throw new Error('rejected');
      }),
    ).rejects.toThrow('rejected');
    expect(manager.peek(1, 4)).toBeUndefined();
    venueNonce = 9;
    expect(await manager.withNonces(1, 4, 1, async (nonces) => nonces)).toEqual([9]);
  });
});
