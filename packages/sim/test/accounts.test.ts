import type { AccountSnapshot, Position } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { createSim, HOUR, T0 } from './helpers';

const BTC = { symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 10, fundingRate: 0 };
const ETH = { symbol: 'ETH', tickSize: '0.01', lotSize: '0.01', maxLeverage: 10, fundingRate: 0 };

/** deposits − withdrawals + transfers in − transfers out + realized + unrealized − fees + funding. */
async function identityGap(sim: ReturnType<typeof createSim>['sim'], account: string): Promise<number> {
  const snapshot = await sim.fetchAccount(account);
  const totals = sim.totals(account);
  const unrealized = snapshot.positions.reduce((sum, position) => sum + position.unrealizedPnl, 0);
  return (
    snapshot.equity -
    (totals.deposits -
      totals.withdrawals +
      totals.transfersIn -
      totals.transfersOut +
      totals.realizedPnl +
      unrealized -
      totals.fees +
      totals.funding)
  );
}

describe('cross margin', () => {
  it('a realized loss may take cash below zero while unrealized gains hold equity up; equity decides liquidation', async () => {
    const { sim, liquidations } = createSim({
      fees: { maker: 0, taker: 0 },
      markets: [BTC, ETH],
      accounts: [{ id: 'main', balance: 1000 }],
    });
    const tick = (symbol: string, mark: number, at: number) =>
      sim.processTicker({ symbol, mark, timestamp: T0 + at });
    tick('BTC', 100, 0);
    tick('ETH', 100, 0);
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '40' });
    await sim.submitOrder({ account: 'main', symbol: 'ETH', side: 'buy', type: 'market', quantity: '40' });
    tick('BTC', 130, 1);
    tick('ETH', 70, 2);
    await sim.submitOrder({ account: 'main', symbol: 'ETH', side: 'sell', type: 'market', quantity: '40' });
    const account = await sim.fetchAccount('main');
    expect(account).toMatchObject({ collateral: -200, equity: 1000, maintenanceMargin: 40 * 130 * 0.05 });
    expect(account.balances).toEqual([{ asset: 'USD', total: -200, free: 0 }]);
    expect(liquidations).toEqual([]);
    // Cash below zero cannot leave the account, even though free collateral is positive.
    expect(account.freeCollateral).toBeGreaterThan(0);
    await expect(sim.withdraw('main', 'USD', 1)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    // BTC's liquidation price counts the negative cash: (100 × 40 + 200) / (40 × 0.95).
    expect(sim.liquidationPrice('main', 'BTC')).toBeCloseTo(4200 / 38, 9);
    tick('BTC', 111, 3); // equity 240 ≥ maintenance 222
    expect(liquidations).toEqual([]);
    tick('BTC', 110, 4); // equity 200 < maintenance 220
    expect(liquidations.map((entry) => [entry.symbol, entry.price])).toEqual([['BTC', 110]]);
    const after = await sim.fetchAccount('main');
    expect(after.collateral).toBeCloseTo(-200 + 10 * 40 - 40 * 110 * 0.01, 9);
    expect(after.positions).toEqual([]);
    expect(await identityGap(sim, 'main')).toBeCloseTo(0, 9);
  });
});

describe('sub-accounts and transfers', () => {
  const accounts = [
    { id: 'main', balance: 10_000 },
    { id: 'sub', parent: 'main', balance: 0 },
    { id: 'other', balance: 5_000 },
  ];

  it('a transfer moves collateral between an account and its sub-account as its own kind, not a deposit or withdrawal', async () => {
    const { sim, balances } = createSim({ markets: [BTC], accounts });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    expect(sim.parentOf('sub')).toBe('main');
    await sim.transfer('main', 'sub', 2_500);
    await sim.submitOrder({ account: 'sub', symbol: 'BTC', side: 'buy', type: 'market', quantity: '100' });
    sim.processTicker({ symbol: 'BTC', mark: 101, timestamp: T0 + 1 });
    await sim.transfer('sub', 'main', 500, 'USD');
    expect(balances.filter((change) => change.kind === 'transfer')).toEqual([
      expect.objectContaining({ account: 'main', amount: -2_500, balance: 7_500, asset: 'USD' }),
      expect.objectContaining({ account: 'sub', amount: 2_500, balance: 2_500 }),
      expect.objectContaining({ account: 'sub', amount: -500 }),
      expect.objectContaining({ account: 'main', amount: 500, balance: 8_000 }),
    ]);
    expect(balances.some((change) => change.kind === 'deposit' || change.kind === 'withdrawal')).toBe(false);
    expect(sim.totals('main')).toMatchObject({
      deposits: 10_000,
      withdrawals: 0,
      transfersOut: 2_500,
      transfersIn: 500,
    });
    expect(sim.totals('sub')).toMatchObject({
      deposits: 0,
      withdrawals: 0,
      transfersIn: 2_500,
      transfersOut: 500,
    });
    for (const id of ['main', 'sub', 'other']) expect(await identityGap(sim, id)).toBeCloseTo(0, 9);
    // The sub-account is its own cross-margin account: its position does not touch the parent's margin.
    expect((await sim.fetchAccount('main')).marginUsed).toBe(0);
    expect((await sim.fetchAccount('sub')).marginUsed).toBeCloseTo(1010, 9);
  });

  it('refuses transfers between unrelated accounts, beyond free collateral, or of another asset', async () => {
    const { sim } = createSim({ markets: [BTC], accounts });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    await expect(sim.transfer('main', 'other', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(sim.transfer('sub', 'other', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(sim.transfer('main', 'main', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(sim.transfer('main', 'nobody', 1)).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    await expect(sim.transfer('main', 'sub', -1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '900' });
    // Equity ≈ 9 955, initial margin 9 000: about 955 is free.
    await expect(sim.transfer('main', 'sub', 1_000)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(sim.transfer('main', 'sub', 100, 'BTC')).rejects.toThrow(
      /single-collateral venue holding USD/,
    );
    await expect(sim.deposit('main', 'USDT', 100)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(sim.withdraw('main', 'ETH', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(sim.totals('sub').transfersIn).toBe(0);
    expect(sim.totals('main')).toMatchObject({ deposits: 10_000, withdrawals: 0, transfersOut: 0 });
  });

  it('the collateral asset is configurable; only it is accepted', async () => {
    const { sim, balances } = createSim({ markets: [BTC], collateralAsset: 'USDC' });
    await sim.deposit('main', 'USDC', 100);
    await expect(sim.deposit('main', 'USD', 100)).rejects.toThrow(/holding USDC/);
    expect((await sim.fetchAccount('main')).balances[0]).toMatchObject({ asset: 'USDC', total: 10_100 });
    expect(balances).toEqual([expect.objectContaining({ kind: 'deposit', asset: 'USDC', amount: 100 })]);
  });

  it('rejects an account that is its own parent', () => {
    expect(() => createSim({ accounts: [{ id: 'main', parent: 'main', balance: 1 }] })).toThrow(/own parent/);
  });
});

describe('fees', () => {
  it('uses the account rate, else the market rate, else the venue default, for maker and taker', async () => {
    const { sim, fills } = createSim({
      fees: { maker: 0.0002, taker: 0.0005 },
      markets: [BTC, { ...ETH, makerFeeRate: 0.0001, takerFeeRate: 0.0007 }],
      accounts: [
        { id: 'main', balance: 100_000 },
        { id: 'vip', balance: 100_000, makerFeeRate: -0.0001, takerFeeRate: 0.0003 },
      ],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    sim.processTicker({ symbol: 'ETH', mark: 100, timestamp: T0 });
    for (const account of ['main', 'vip']) {
      for (const symbol of ['BTC', 'ETH']) {
        await sim.submitOrder({ account, symbol, side: 'buy', type: 'market', quantity: '10' });
        await sim.submitOrder({ account, symbol, side: 'sell', type: 'limit', price: '101', quantity: '10' });
      }
    }
    sim.processTicker({ symbol: 'BTC', mark: 102, timestamp: T0 + 1 });
    sim.processTicker({ symbol: 'ETH', mark: 102, timestamp: T0 + 1 });
    const rates = fills.map((fill) => [
      fill.account,
      fill.symbol,
      fill.liquidity,
      Math.round((fill.fee / (fill.price * fill.quantity)) * 1e8) / 1e8,
    ]);
    expect(rates).toEqual([
      ['main', 'BTC', 'taker', 0.0005],
      ['main', 'ETH', 'taker', 0.0007],
      ['vip', 'BTC', 'taker', 0.0003],
      ['vip', 'ETH', 'taker', 0.0003],
      ['main', 'BTC', 'maker', 0.0002],
      ['vip', 'BTC', 'maker', -0.0001],
      ['main', 'ETH', 'maker', 0.0001],
      ['vip', 'ETH', 'maker', -0.0001],
    ]);
    const markets = await sim.fetchMarkets();
    expect(markets.map((market) => [market.symbol, market.makerFeeRate, market.takerFeeRate])).toEqual([
      ['BTC', 0.0002, 0.0005],
      ['ETH', 0.0001, 0.0007],
    ]);
    // A maker rebate is a negative fee: it adds to collateral.
    expect(sim.totals('vip').fees).toBeCloseTo(10 * 100 * 0.0003 * 2 - 10 * 101 * 0.0001 * 2, 9);
  });
});

describe('events', () => {
  it('reports every balance change with its kind and the balance after it, and position and account changes', async () => {
    const { sim, balances } = createSim({
      markets: [{ ...BTC, fundingIntervalHours: 1, fundingRate: 0.001 }],
      accounts: [{ id: 'main', balance: 1000 }],
    });
    const positions: Position[] = [];
    const snapshots: AccountSnapshot[] = [];
    sim.events.on('position', (position) => positions.push(position));
    sim.events.on('account', (snapshot) => snapshots.push(snapshot));
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 1000 });
    await sim.deposit('main', 'USD', 100);
    expect(snapshots.at(-1)).toMatchObject({ account: 'main', collateral: 1100, equity: 1100 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '2' });
    expect(positions.at(-1)).toMatchObject({ symbol: 'BTC', quantity: 2, entryPrice: 100 });
    expect(snapshots.at(-1)?.positions).toHaveLength(1);
    sim.processTicker({ symbol: 'BTC', mark: 110, timestamp: T0 + HOUR }); // funding: 2 × 110 × 0.001
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'sell', type: 'market', quantity: '2' });
    expect(positions.at(-1)).toMatchObject({ quantity: 0, realizedPnl: 20 });
    await sim.withdraw('main', 'USD', 50);
    const expected = [
      ['deposit', 100, 1100],
      ['fee', -0.1, 1099.9],
      ['funding', -0.22, 1099.68],
      ['fee', -0.11, 1099.57],
      ['realized-pnl', 20, 1119.57],
      ['withdrawal', -50, 1069.57],
    ];
    expect(balances.map((change) => change.kind)).toEqual(expected.map((entry) => entry[0]));
    balances.forEach((change, index) => {
      expect(change.amount).toBeCloseTo(expected[index]?.[1] as number, 9);
      expect(change.balance).toBeCloseTo(expected[index]?.[2] as number, 9);
      expect(change).toMatchObject({ exchange: 'sim', account: 'main', asset: 'USD' });
    });
    expect(snapshots.at(-1)?.collateral).toBeCloseTo(1069.57, 9);
  });

  it('manual settlement reports realized PnL when it is settled; a liquidation settles its own PnL', async () => {
    const { sim, balances } = createSim({
      fees: { maker: 0, taker: 0 },
      pnlSettlement: 'manual',
      markets: [BTC],
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '10' });
    sim.processTicker({ symbol: 'BTC', mark: 110, timestamp: T0 + 1 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'sell', type: 'market', quantity: '5' });
    expect(balances.filter((change) => change.kind === 'realized-pnl')).toEqual([]);
    expect(sim.settlePnl('main')).toBe(50);
    expect(balances.at(-1)).toMatchObject({ kind: 'realized-pnl', amount: 50, balance: 1050 });
    await sim.submitOrder({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '85' });
    // 90 at entry (5 × 100 + 85 × 110) / 90; a drop to 100 takes equity under maintenance.
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 + 2 });
    const liquidation = balances.at(-1);
    const entry = (5 * 100 + 85 * 110) / 90;
    const pnl = (100 - entry) * 90;
    const fee = 90 * 100 * 0.01;
    expect(liquidation?.kind).toBe('liquidation');
    expect(liquidation?.amount).toBeCloseTo(pnl - fee, 9);
    expect(liquidation?.balance).toBeCloseTo(1050 + pnl - fee, 9);
    expect(await sim.fetchAccount('main')).toMatchObject({ unsettledPnl: 0 });
    expect(await identityGap(sim, 'main')).toBeCloseTo(0, 9);
  });
});

describe('cancellation reasons', () => {
  const base = { account: 'main', symbol: 'BTC' } as const;

  it('CANCELLED_BY_USER on cancel and cancel-all', async () => {
    const { sim, orders } = createSim();
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const one = await sim.submitOrder({ ...base, side: 'buy', type: 'limit', price: '90', quantity: '1' });
    const two = await sim.submitOrder({ ...base, side: 'buy', type: 'limit', price: '91', quantity: '1' });
    expect(await sim.cancelOrder({ ...base, orderId: one.id })).toMatchObject({
      status: 'cancelled',
      reason: 'CANCELLED_BY_USER',
    });
    expect(await sim.cancelAllOrders({ account: 'main' })).toBe(1);
    expect(await sim.fetchOrder('main', two.id)).toMatchObject({
      status: 'cancelled',
      reason: 'CANCELLED_BY_USER',
    });
    expect(orders.filter((order) => order.status === 'cancelled').map((order) => order.reason)).toEqual([
      'CANCELLED_BY_USER',
      'CANCELLED_BY_USER',
    ]);
  });

  it('LIQUIDATION: resting orders of a liquidated account are cancelled; the close is a retrievable order', async () => {
    const { sim, fills, balances } = createSim({
      fees: { maker: 0, taker: 0 },
      accounts: [{ id: 'main', balance: 1000 }],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '90' });
    const resting = await sim.submitOrder({
      ...base,
      side: 'sell',
      type: 'limit',
      price: '120',
      quantity: '1',
    });
    sim.processTicker({ symbol: 'BTC', mark: 94, timestamp: T0 + 1 }); // equity 460 ≥ maintenance 423
    expect((await sim.fetchOrder('main', resting.id))?.status).toBe('open');
    sim.processTicker({ symbol: 'BTC', mark: 93.5, timestamp: T0 + 2 }); // equity 415 < 420.75
    expect(await sim.fetchOrder('main', resting.id)).toMatchObject({
      status: 'cancelled',
      reason: 'LIQUIDATION',
    });
    const close = fills.at(-1);
    expect(close).toMatchObject({ side: 'sell', price: 93.5, quantity: 90 });
    expect(await sim.fetchOrder('main', close?.orderId as string)).toMatchObject({
      status: 'filled',
      reason: 'LIQUIDATION',
      averagePrice: 93.5,
    });
    expect(balances.at(-1)).toMatchObject({ kind: 'liquidation' });
    expect(balances.at(-1)?.amount).toBeCloseTo((93.5 - 100) * 90 - 90 * 93.5 * 0.01, 9);
  });

  it('INSUFFICIENT_MARGIN and LEVERAGE_EXCEEDED when a resting order no longer fits at fill time', async () => {
    const { sim } = createSim({
      fees: { maker: 0, taker: 0 },
      accounts: [
        { id: 'main', balance: 1000 },
        { id: 'capped', balance: 1000, maxLeverage: 3 },
      ],
    });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    await sim.submitOrder({ ...base, side: 'buy', type: 'market', quantity: '50' });
    const margin = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '90',
      quantity: '45',
    });
    await sim.submitOrder({ account: 'capped', symbol: 'BTC', side: 'buy', type: 'market', quantity: '20' });
    const leverage = await sim.submitOrder({
      account: 'capped',
      symbol: 'BTC',
      side: 'buy',
      type: 'limit',
      price: '95',
      quantity: '9',
    });
    // Both accepted (main: 950 of 1000 margin; capped: 2.9×). At 89.9 both trade through: main would
    // have equity 490.5 against 854 of margin; capped 29 × 89.9 / 752.1 ≈ 3.47× leverage.
    sim.processTicker({ symbol: 'BTC', mark: 89.9, timestamp: T0 + 1 });
    expect(await sim.fetchOrder('main', margin.id)).toMatchObject({
      status: 'cancelled',
      reason: 'INSUFFICIENT_MARGIN',
      filledQuantity: 0,
    });
    expect(await sim.fetchOrder('capped', leverage.id)).toMatchObject({
      status: 'cancelled',
      reason: 'LEVERAGE_EXCEEDED',
      filledQuantity: 0,
    });
  });

  it('POST_ONLY_WOULD_CROSS when a post-only order would cross by the time its acknowledgement arrives', async () => {
    const { sim, fills } = createSim({ ackLatencyMs: 100 });
    sim.processTicker({ symbol: 'BTC', mark: 100, timestamp: T0 });
    const order = await sim.submitOrder({
      ...base,
      side: 'buy',
      type: 'limit',
      price: '99.5',
      quantity: '1',
      timeInForce: 'post-only',
    });
    sim.processTicker({ symbol: 'BTC', mark: 99.4, timestamp: T0 + 50 }); // still pending: no fill
    expect((await sim.fetchOrder('main', order.id))?.status).toBe('pending');
    sim.processTicker({ symbol: 'BTC', mark: 99.4, timestamp: T0 + 100 });
    expect(await sim.fetchOrder('main', order.id)).toMatchObject({
      status: 'cancelled',
      reason: 'POST_ONLY_WOULD_CROSS',
    });
    expect(fills).toEqual([]);
  });
});
