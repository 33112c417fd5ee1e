import type { AccountSnapshot, LedgerPosition, StateView } from '@perpkit/core';

/**
 * A state view built from plain snapshots: the input a monitor reads. (Monitors only read
 * `accounts`, `positions` and `hasPendingOrder`; the engine-level tests use the real engine.)
 */
export function stateOf(
  accounts: Partial<AccountSnapshot>[],
  positions: Partial<LedgerPosition>[] = [],
  pending: string[] = [],
): StateView {
  const fullAccounts = accounts.map((account) => ({
    exchange: 'sim',
    account: 'main',
    timestamp: 0,
    equity: 1000,
    collateral: 1000,
    freeCollateral: 1000,
    marginUsed: 0,
    maintenanceMargin: 0,
    healthRatio: 1,
    leverage: 0,
    unsettledPnl: 0,
    balances: [],
    positions: [],
    ...account,
  }));
  const fullPositions = positions.map((position) => ({
    exchange: 'sim',
    account: 'main',
    symbol: 'BTC',
    quantity: 1,
    entryPrice: 100,
    markPrice: 100,
    unrealizedPnl: 0,
    realizedPnl: 0,
    updatedAt: 0,
    fees: 0,
    fundingSettled: 0,
    openedAt: 0,
    entryReasons: [],
    ...position,
  }));
  return {
    accounts: () => fullAccounts,
    positions: () => fullPositions,
    hasPendingOrder: (exchange: string, symbol: string) => pending.includes(`${exchange}:${symbol}`),
  } as unknown as StateView;
}
