import { type Fill, type FundingPayment, roundToStep } from '@perpkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSim, T0 } from './helpers';

const ACCOUNTS = ['a', 'b'] as const;
/** Account `a` has its own cap; `b` is bound only by the market's 10× initial margin. */
const LEVERAGE_LIMIT = { a: 5, b: 10 } as const;

const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('move' as const),
      change: fc.double({ min: -0.08, max: 0.08, noNaN: true }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      account: fc.constantFrom(...ACCOUNTS),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      type: fc.constantFrom('market' as const, 'limit' as const),
      timeInForce: fc.constantFrom('gtc' as const, 'ioc' as const, 'fok' as const, 'post-only' as const),
      reduceOnly: fc.boolean(),
      lots: fc.integer({ min: 1, max: 400 }),
      offset: fc.double({ min: -0.03, max: 0.03, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('funding' as const),
      hoursBack: fc.integer({ min: 0, max: 3 }),
      rate: fc.double({ min: -0.002, max: 0.002, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('capital' as const),
      account: fc.constantFrom(...ACCOUNTS),
      amount: fc.integer({ min: -3000, max: 3000 }),
    }),
  },
);

type Step =
  | { kind: 'move'; change: number }
  | {
      kind: 'order';
      account: 'a' | 'b';
      side: 'buy' | 'sell';
      type: 'market' | 'limit';
      timeInForce: 'gtc' | 'ioc' | 'fok' | 'post-only';
      reduceOnly: boolean;
      lots: number;
      offset: number;
    }
  | { kind: 'funding'; hoursBack: number; rate: number }
  | { kind: 'capital'; account: 'a' | 'b'; amount: number };

/** Runs a flow and returns every invariant violation seen (an empty list when all hold). */
async function check(steps: readonly Step[], fillModel: 'mark' | 'book'): Promise<string[]> {
  const { sim, clock, funding } = createSim({
    fillModel,
    slippage: { min: 0.001, max: 0.003, notionalAtMax: 50_000 },
    markets: [
      {
        symbol: 'BTC',
        tickSize: '0.5',
        lotSize: '0.01',
        maxLeverage: 10,
        fundingIntervalHours: 1,
        fundingRate: 0.0002,
      },
    ],
    accounts: [
      { id: 'a', balance: 20_000, maxLeverage: LEVERAGE_LIMIT.a },
      { id: 'b', balance: 5_000 },
    ],
  });
  const violations: string[] = [];
  const positions = new Map<string, number>([
    ['a', 0],
    ['b', 0],
  ]);
  const liquidated = new Set<string>();
  sim.events.on('liquidation', (liquidation) => liquidated.add(liquidation.account));
  const postOnlyOrders = new Set<string>();
  let lastFill: Fill | undefined;
  sim.events.on('fill', (fill) => {
    lastFill = fill;
    const before = positions.get(fill.account) as number;
    const after = Number(
      roundToStep(before + (fill.side === 'buy' ? fill.quantity : -fill.quantity), '0.01', 'nearest'),
    );
    positions.set(fill.account, after);
    if (
      fill.reduceOnly &&
      !(Math.abs(after) < Math.abs(before) && (after === 0 || Math.sign(after) === Math.sign(before)))
    ) {
      violations.push(`reduce-only fill moved ${before} → ${after}`);
    }
    if (postOnlyOrders.has(fill.orderId) && fill.liquidity !== 'maker')
      violations.push(`post-only order ${fill.orderId} took liquidity`);
  });

  let mark = 50_000;
  let time = T0;
  const book = () => ({
    symbol: 'BTC',
    timestamp: time,
    bids: [1, 2, 3, 4].map((level) => [Math.floor((mark - 5 * level) * 2) / 2, 0.4 * level] as const),
    asks: [1, 2, 3, 4].map((level) => [Math.ceil((mark + 5 * level) * 2) / 2, 0.4 * level] as const),
  });
  const feed = () =>
    fillModel === 'book'
      ? sim.processOrderBook(book())
      : sim.processTicker({ symbol: 'BTC', mark, timestamp: time });
  feed();

  for (const entry of steps) {
    time += 20 * 60_000;
    clock.advanceTo(time);
    if (entry.kind === 'move') {
      mark = Math.max(1000, Math.round(mark * (1 + entry.change) * 2) / 2);
      feed();
    } else if (entry.kind === 'funding') {
      const fundingTime = Math.floor(time / 3_600_000) * 3_600_000 - entry.hoursBack * 3_600_000;
      sim.applyFunding('BTC', fundingTime, entry.rate, mark);
    } else if (entry.kind === 'capital') {
      try {
        if (entry.amount > 0) await sim.deposit(entry.account, 'USD', entry.amount);
        else if (entry.amount < 0) await sim.withdraw(entry.account, 'USD', -entry.amount);
      } catch {}
    } else {
      const quantity = roundToStep(entry.lots / 100, '0.01', 'floor');
      const price = roundToStep(mark * (1 + entry.offset), '0.5', 'nearest');
      const before = await sim.fetchAccount(entry.account);
      lastFill = undefined;
      try {
        const order = await sim.submitOrder({
          account: entry.account,
          symbol: 'BTC',
          side: entry.side,
          type: entry.type,
          quantity,
          ...(entry.type === 'limit' ? { price } : {}),
          timeInForce:
            entry.type === 'market' ? (entry.timeInForce === 'fok' ? 'fok' : 'ioc') : entry.timeInForce,
          reduceOnly: entry.reduceOnly,
        });
        if (entry.timeInForce === 'post-only') postOnlyOrders.add(order.id);
        const after = await sim.fetchAccount(entry.account);
        const grew =
          after.positions.reduce((sum, p) => sum + Math.abs(p.quantity), 0) >
          before.positions.reduce((sum, p) => sum + Math.abs(p.quantity), 0) + 1e-9;
        const limit = LEVERAGE_LIMIT[entry.account];
        if (lastFill && grew && after.leverage > limit * (1 + 1e-9)) {
          violations.push(`accepted order left leverage ${after.leverage.toFixed(4)} above ${limit}`);
        }
      } catch (error) {
        const reason = (error as { reason?: string }).reason;
        if (reason === undefined) throw error;
      }
    }

    for (const id of ACCOUNTS) {
      const snapshot = await sim.fetchAccount(id);
      const totals = sim.totals(id);
      const unrealized = snapshot.positions.reduce((sum, p) => sum + p.unrealizedPnl, 0);
      const identity =
        totals.deposits - totals.withdrawals + totals.realizedPnl + unrealized - totals.fees + totals.funding;
      const scale = Math.max(1, Math.abs(snapshot.equity), totals.deposits);
      if (Math.abs(snapshot.equity - identity) / scale > 1e-9)
        violations.push(`equity ${snapshot.equity} ≠ identity ${identity} for ${id}`);
      if (snapshot.collateral < -1e-9 && !liquidated.has(id))
        violations.push(`balance of ${id} went negative without a liquidation`);
      const quantity = snapshot.positions[0]?.quantity ?? 0;
      if (Math.abs(quantity - (positions.get(id) as number)) > 1e-9)
        violations.push(`fills say ${positions.get(id)} but the venue says ${quantity}`);
    }
  }
  const byId = new Map<string, FundingPayment>();
  for (const payment of funding) {
    if (byId.has(payment.id)) violations.push(`funding ${payment.id} applied twice`);
    byId.set(payment.id, payment);
  }
  for (const id of ACCOUNTS) {
    const paid = funding
      .filter((payment) => payment.account === id)
      .reduce((sum, payment) => sum + payment.amount, 0);
    if (Math.abs(paid - sim.totals(id).funding) > 1e-9)
      violations.push(`funding counted ${sim.totals(id).funding} but paid ${paid}`);
  }
  return violations;
}

describe('SimExchange invariants over random order flows and price paths', () => {
  for (const fillModel of ['mark', 'book'] as const) {
    it(`holds every invariant (${fillModel} model)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 80 }), async (steps) => {
          expect(await check(steps as Step[], fillModel)).toEqual([]);
        }),
        { numRuns: 300 },
      );
    });
  }
});
