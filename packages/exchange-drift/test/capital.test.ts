import type { BalanceChange } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, rejection, startVenue, TEST1_AUTHORITY, type Venue } from './helpers';

let venue: Venue | undefined;
afterEach(async () => {
  await venue?.stop();
  venue = undefined;
});

async function connected(options: Parameters<typeof startVenue>[0] = {}): Promise<Venue> {
  venue = await startVenue(options);
  await venue.exchange.connect();
  return venue;
}

const usdc = async (v: Venue) =>
  (await v.exchange.fetchAccount('main')).balances.find((balance) => balance.asset === 'USDC')?.total ?? 0;

describe('deposit', () => {
  it('moves exactly the amount from the wallet into the account, simulated then confirmed', async () => {
    const v = await connected({ usdc: '1000', walletUsdc: '500' });
    const balances = collect<BalanceChange>(v, 'balance');
    await v.exchange.deposit('main', 'USDC', 250.5);
    expect(v.rpc.walletUsdc(TEST1_AUTHORITY)).toBe(249_500_000n);
    expect(await usdc(v)).toBe(1250.5);
    expect(balances).toEqual([
      expect.objectContaining({ kind: 'deposit', amount: 250.5, asset: 'USDC', balance: 1250.5 }),
    ]);
    expect(v.rpc.calls).toContain('simulateTransaction');
  });

  it('validates the amount before anything is sent, naming the field', async () => {
    const v = await connected({ usdc: '1000', walletUsdc: '500' });
    const sent = v.rpc.signatures().length;
    for (const amount of [0, -5, Number.NaN, 1.0000001])
      expect((await rejection(v.exchange.deposit('main', 'USDC', amount))).message).toMatch(/amount/);
    expect((await rejection(v.exchange.deposit('main', 'SOL', 1))).code).toBe('INVALID_ARGUMENT');
    const tooMuch = await rejection(v.exchange.deposit('main', 'USDC', 500.000001));
    expect(tooMuch.code).toBe('INSUFFICIENT_FUNDS');
    expect(tooMuch.reason).toBe('WALLET_BALANCE');
    expect(v.rpc.signatures()).toHaveLength(sent);
  });

  it('a failing simulation sends nothing and says why', async () => {
    const v = await connected({ walletUsdc: '500' });
    const sent = v.rpc.signatures().length;
    v.rpc.failNextSimulation('SpotMarketInsufficientDeposits');
    const error = await rejection(v.exchange.deposit('main', 'USDC', 10));
    expect(error.code).toBe('TRANSACTION_FAILED');
    expect(error.reason).toBe('SpotMarketInsufficientDeposits');
    expect(v.rpc.signatures()).toHaveLength(sent);
    expect(v.rpc.walletUsdc(TEST1_AUTHORITY)).toBe(500_000_000n);
  });
});

describe('withdraw', () => {
  it('is refused when health after it would be below 80 %, with the health it would leave', async () => {
    const v = await connected({ usdc: '1000', walletUsdc: '0' });
    // 20 SOL at 150: 3 000 USD notional, maintenance 5 % = 150; collateral about 999: health about 85 %.
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '20',
    });
    const sent = v.rpc.signatures().length;
    const error = await rejection(v.exchange.withdraw('main', 'USDC', 300));
    expect(error.code).toBe('INSUFFICIENT_FUNDS');
    expect(error.reason).toBe('HEALTH_FLOOR');
    expect(error.message).toMatch(/would leave health at 78\.\d %, below the 80 % floor/);
    expect(v.rpc.signatures()).toHaveLength(sent);
    // 100 leaves about 83 %: it goes out, exactly.
    await v.exchange.withdraw('main', 'USDC', 100);
    expect(v.rpc.walletUsdc(TEST1_AUTHORITY)).toBe(100_000_000n);
  });

  it('never borrows: more than the deposit is refused', async () => {
    const v = await connected({ usdc: '100' });
    const error = await rejection(v.exchange.withdraw('main', 'USDC', 100.01));
    expect(error.code).toBe('INSUFFICIENT_FUNDS');
    expect(error.reason).toBe('BALANCE');
    const balances = collect<BalanceChange>(v, 'balance');
    await v.exchange.withdraw('main', 'USDC', 100);
    expect(await usdc(v)).toBe(0);
    expect(balances[0]).toMatchObject({ kind: 'withdrawal', amount: -100, balance: 0 });
  });
});

describe('PnL settlement', () => {
  it('settles a closed position whose PnL exceeds $1 into USDC, exactly', async () => {
    const v = await connected({ usdc: '1000' });
    const balances = collect<BalanceChange>(v, 'balance');
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '10',
    });
    v.rpc.setPrice('SOL', '160');
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '10',
      reduceOnly: true,
    });
    const quote = v.rpc
      .user(v.userAddress)
      ?.perpPositions.find((position) => position.marketIndex === 0)?.quoteAssetAmount;
    // Bought at 150.03 (1 500.3, fee 0.525105), sold at 159.968 (1 599.68, fee 0.559888):
    // 1 599.68 − 1 500.3 − 0.525105 − 0.559888 = 98.295007 left on the closed position.
    expect(quote?.toString()).toBe('98295007');
    await waitFor(
      () => balances.some((balance) => balance.kind === 'realized-pnl'),
      5_000,
      'the automatic settlement',
    );
    expect(balances.find((balance) => balance.kind === 'realized-pnl')).toMatchObject({
      amount: 98.295007,
      balance: 1098.295007,
    });
    expect(await usdc(v)).toBe(1098.295007);
    expect((await v.exchange.fetchAccount('main')).unsettledPnl).toBe(0);
  });

  it('leaves PnL of $1 or less unsettled', async () => {
    const v = await connected({ usdc: '1000' });
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '0.1',
    });
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '0.1',
      reduceOnly: true,
    });
    const sent = v.rpc.signatures().length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const account = await v.exchange.fetchAccount('main');
    expect(account.unsettledPnl).toBeLessThan(0);
    expect(account.unsettledPnl).toBeGreaterThan(-1);
    expect(v.rpc.signatures()).toHaveLength(sent);
  });
});
