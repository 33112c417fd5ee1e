import { getUserAccountPublicKeySync, QUOTE_PRECISION } from '@drift-labs/sdk';
import { type ConnectionState, createEngine, type FundingPayment } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { PublicKey } from '@solana/web3.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DriftExchange } from '../src/exchange';
import { startFakeDriftRpc } from '../src/fake-rpc';
import { userFixture } from './fixtures';
import { collect, FAST, rejection, startVenue, TEST1_SECRET_KEY, type Venue } from './helpers';

let venue: Venue | undefined;
afterEach(async () => {
  await venue?.stop();
  venue = undefined;
});

describe('connection recovery', () => {
  it('detects a lost RPC, disables trading, reconnects on its interval and re-syncs what changed meanwhile', async () => {
    venue = await startVenue({ exchange: { reconnectIntervalMs: 150 } });
    const v = venue;
    await v.exchange.connect();
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'sell',
      type: 'market',
      quantity: '2',
    });
    const states = collect<[ConnectionState, string?]>(v, 'connection');
    const funding = collect<FundingPayment>(v, 'funding');
    v.rpc.setOffline(true);
    await waitFor(() => states.some(([state]) => state === 'reconnecting'), 5_000, 'the loss to be seen');
    expect([...v.exchange.tradingHolds().keys()]).toEqual(['DISCONNECTED']);
    expect(v.exchange.health().ok).toBe(false);
    const refused = await rejection(
      v.exchange.submitOrder({ account: 'main', symbol: 'SOL', side: 'buy', type: 'market', quantity: '1' }),
    );
    expect(refused.reason).toBe('TRADING_DISABLED');
    expect(refused.message).toMatch(/DISCONNECTED/);
    const read = await rejection(v.exchange.fetchAccount('main'));
    expect(read.code).toBe('EXCHANGE_UNAVAILABLE');
    expect(read.retryable).toBe(true);
    // Meanwhile on chain: an hourly funding update (shorts receive 0.01 %).
    v.rpc.updateFunding('SOL', '0.0001');
    await new Promise((resolve) => setTimeout(resolve, 400));
    v.rpc.setOffline(false);
    await waitFor(() => states.some(([state]) => state === 'connected'), 5_000, 'the reconnection');
    expect(v.exchange.tradingHolds().size).toBe(0);
    // The re-sync saw the funding period that passed while disconnected: 2 SOL short × 150 × 0.0001 = 0.03.
    await waitFor(() => funding.some((payment) => !payment.settled), 5_000, 'the accrual');
    expect(funding.find((payment) => !payment.settled)).toMatchObject({
      symbol: 'SOL',
      amount: 0.03,
      rate: 0.0001,
      positionQuantity: -2,
    });
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '1',
      reduceOnly: true,
    });
  });
});

describe('critical errors stop the boot with an error event', () => {
  it('no wallet', async () => {
    const rpc = await startFakeDriftRpc();
    try {
      const exchange = new DriftExchange({ rpcUrl: rpc.url, ...FAST });
      const errors: { code: string }[] = [];
      exchange.events.on('error', (error) => errors.push(error));
      const engine = createEngine({ exchanges: [exchange] });
      const error = await rejection(engine.init());
      expect(error.code).toBe('EXCHANGE_AUTH');
      expect(error.message).toMatch(/no wallet: set options.secretKey/);
      expect(errors.map((item) => item.code)).toEqual(['EXCHANGE_AUTH']);
    } finally {
      await rpc.stop();
    }
  });

  it('a sub-account without a Drift user account', async () => {
    venue = await startVenue({ exchange: { accounts: [{ subAccountId: 3 }] } });
    const errors: { code: string; message: string }[] = [];
    venue.exchange.events.on('error', (error) => errors.push(error));
    const error = await rejection(venue.exchange.connect());
    expect(error.code).toBe('ACCOUNT_NOT_FOUND');
    expect(error.message).toMatch(/no Drift user account for authority .* sub-account 3/);
    expect(errors).toHaveLength(1);
  });

  it('a secret key that is not one, without ever echoing it', async () => {
    const secret = `${TEST1_SECRET_KEY.slice(0, 40)}0OIl`;
    venue = await startVenue({ exchange: { secretKey: secret } });
    const error = await rejection(venue.exchange.connect());
    expect(error.code).toBe('EXCHANGE_AUTH');
    expect(error.message).not.toContain(secret.slice(0, 12));
  });

  it('an unreachable RPC is retried with exponential backoff, then reported as unavailable (retryable)', async () => {
    const rpc = await startFakeDriftRpc();
    const url = rpc.url;
    await rpc.stop();
    const exchange = new DriftExchange({ rpcUrl: url, secretKey: TEST1_SECRET_KEY, ...FAST });
    const started = Date.now();
    const error = await rejection(exchange.connect());
    expect(error.code).toBe('EXCHANGE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/after 3 attempts/);
    // Backoff 20 ms then 40 ms: at least 60 ms between the three attempts.
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });
});

describe('polling recorded mainnet accounts (read-only)', () => {
  it('fixture 1: the SOL-PERP short and both spot balances, in core units, with the SDK health', async () => {
    const fixture = userFixture(1);
    const rpc = await startFakeDriftRpc();
    const address = rpc.addUserAccount(fixture.dataBase64);
    expect(address).toBe(fixture.userAccountPda);
    const exchange = new DriftExchange({
      rpcUrl: rpc.url,
      readOnly: true,
      authority: fixture.authority,
      accounts: [{ id: 'lp', subAccountId: 1 }],
      ...FAST,
    });
    try {
      await exchange.connect();
      const account = await exchange.fetchAccount('lp');
      // Spot 0: 5391520104 scaled × 10^10 interest / 10^13 = 5 391 520 (USDC units); spot 1: 308513250 × 10^10 / 10^10.
      expect(account.balances).toEqual([
        expect.objectContaining({ asset: 'USDC', total: 5.39152 }),
        expect.objectContaining({ asset: 'SOL', total: 0.30851325 }),
      ]);
      expect(account.positions).toHaveLength(1);
      // Entry: |quoteEntryAmount| / |base| = 19.015735 / 0.5.
      expect(account.positions[0]).toMatchObject({
        symbol: 'SOL',
        quantity: -0.5,
        entryPrice: 38.03147,
        markPrice: 150,
      });
      const user = exchange.driftClient().getUser(1, new PublicKey(fixture.authority));
      expect(user.userAccountPublicKey.toBase58()).toBe(
        getUserAccountPublicKeySync(
          exchange.driftClient().program.programId,
          new PublicKey(fixture.authority),
          1,
        ).toBase58(),
      );
      expect(Math.round(account.healthRatio * 100)).toBe(user.getHealth());
      expect(account.maintenanceMargin).toBe(
        user.getMaintenanceMarginRequirement().toNumber() / QUOTE_PRECISION.toNumber(),
      );
      expect(account.equity).toBeCloseTo(account.collateral + account.unsettledPnl, 6);
      const refused = await rejection(
        exchange.submitOrder({ account: 'lp', symbol: 'SOL', side: 'buy', type: 'market', quantity: '0.5' }),
      );
      expect(refused.reason).toBe('TRADING_DISABLED');
      expect(refused.message).toMatch(/READ_ONLY/);
      expect(exchange.capabilities.deposit).toBe(false);
    } finally {
      await exchange.close();
      await rpc.stop();
    }
  });

  it('health falls as the price moves against a position, and the snapshot follows each poll', async () => {
    venue = await startVenue({ usdc: '1000' });
    const v = venue;
    await v.exchange.connect();
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '30',
    });
    const before = (await v.exchange.fetchAccount('main')).healthRatio;
    v.rpc.setPrice('SOL', '130');
    await waitFor(
      () => (v.exchange.snapshotAccount('main')?.healthRatio ?? 1) < before - 0.1,
      5_000,
      'the poll',
    );
    const after = await v.exchange.fetchAccount('main');
    const user = v.exchange.driftClient().getUser(0);
    expect(Math.round(after.healthRatio * 100)).toBe(user.getHealth());
    expect(after.positions[0]?.unrealizedPnl).toBeCloseTo(30 * (130 - 150.03), 6);
  });
});
