import type { StateView } from './state';
import type { AccountSnapshot } from './types';

/** Accounts in scope: all, or those of the listed exchanges. */
export function accountsIn(state: StateView, exchanges?: readonly string[]): AccountSnapshot[] {
  const all = state.accounts();
  return exchanges === undefined || exchanges.length === 0
    ? [...all]
    : all.filter((account) => exchanges.includes(account.exchange));
}

/** Σ equity of the accounts in scope; undefined when no account has reported yet. */
export function totalEquity(state: StateView, exchanges?: readonly string[]): number | undefined {
  const accounts = accountsIn(state, exchanges);
  if (accounts.length === 0) return undefined;
  let equity = 0;
  for (const account of accounts) equity += account.equity;
  return equity;
}

/** Σ |position × mark| over the ledger's open positions in scope (gross notional). */
export function grossNotional(state: StateView, exchanges?: readonly string[]): number {
  let notional = 0;
  for (const position of state.positions()) {
    if (exchanges && exchanges.length > 0 && !exchanges.includes(position.exchange)) continue;
    notional += Math.abs(position.quantity * position.markPrice);
  }
  return notional;
}
