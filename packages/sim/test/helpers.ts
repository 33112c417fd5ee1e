import {
  type BalanceChange,
  type Fill,
  type FundingPayment,
  type Liquidation,
  type Order,
  SimulatedClock,
} from '@perpkit/core';
import type { SimOptionsInput } from '../src/options';
import { SimExchange } from '../src/sim-exchange';

export const T0 = Date.UTC(2025, 0, 1);
export const HOUR = 3_600_000;

export function createSim(options: Partial<SimOptionsInput> = {}, start = T0) {
  const clock = new SimulatedClock(start);
  const sim = new SimExchange(
    {
      fillModel: 'mark',
      slippage: 0,
      fees: { maker: 0.0002, taker: 0.0005 },
      markets: [
        {
          symbol: 'BTC',
          tickSize: '0.1',
          lotSize: '0.001',
          minNotional: 10,
          maxLeverage: 10,
          fundingIntervalHours: 8,
          fundingRate: 0,
        },
      ],
      accounts: [{ id: 'main', balance: 10_000 }],
      ...options,
    },
    { id: 'sim', clock },
  );
  const fills: Fill[] = [];
  const orders: Order[] = [];
  const funding: FundingPayment[] = [];
  const liquidations: Liquidation[] = [];
  const balances: BalanceChange[] = [];
  sim.events.on('fill', (fill) => fills.push(fill));
  sim.events.on('balance', (change) => balances.push(change));
  sim.events.on('order', (order) => orders.push(order));
  sim.events.on('funding', (payment) => funding.push(payment));
  sim.events.on('liquidation', (liquidation) => liquidations.push(liquidation));
  return { sim, clock, fills, orders, funding, liquidations, balances };
}

export async function rejection(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { reason?: string; code?: string }).reason ?? (error as { code?: string }).code;
  }
}

/** Lets the sim's clock timer run: a sleep resolved by `clock.advanceTo` continues in a later task. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A one-minute bar starting `index` minutes after `start`. */
export function bar(index: number, open: number, high: number, low: number, close: number, start = T0) {
  return { timestamp: start + index * 60_000, open, high, low, close, volume: 1 };
}
