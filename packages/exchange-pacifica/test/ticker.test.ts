import { afterEach, describe, expect, it } from 'vitest';
import { startVenue } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('ticker', () => {
  it('carries open interest in base units (Pacifica reports it in USD)', async () => {
    const { simulator, exchange } = await startVenue();
    cleanups.push(
      () => simulator.stop(),
      () => exchange.close(),
    );
    await exchange.connect();
    const before = await exchange.fetchTicker('BTC');
    expect(before.openInterest).toBe(0);
    await exchange.submitOrder({
      account: 'primary',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '0.02',
    });
    const deadline = Date.now() + 8_000;
    let after = await exchange.fetchTicker('BTC');
    while (after.openInterest === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await exchange.fetchTicker('BTC');
    }
    // The USD figure is printed with the mark's precision, so base units come back within rounding.
    expect(after.openInterest).toBeCloseTo(0.02, 6);
    expect(after.mark).toBeGreaterThan(0);
  });
});
