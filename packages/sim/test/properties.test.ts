import { type Fill, type FundingPayment, type Order, roundToStep } from '@perpkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SimExchange } from '../src/sim-exchange';
import { createSim, flush, T0 } from './helpers';

type Model = 'mark' | 'book' | 'next-open';
type AccountId = 'a' | 'b' | 'c';

const ACCOUNTS: readonly AccountId[] = ['a', 'b', 'c'];
/** Account caps (total notional / equity); `b` is bound only by each market's initial margin. */
const LEVERAGE_CAP: Partial<Record<AccountId, number>> = { a: 5, c: 3 };
const MARKETS = [
  {
    symbol: 'BTC',
    tickSize: '0.5',
    lotSize: '0.01',
    maxLeverage: 10,
    fundingIntervalHours: 1,
    fundingRate: 0.0002,
    start: 50_000,
  },
  {
    symbol: 'ETH',
    tickSize: '0.01',
    lotSize: '0.1',
    maxLeverage: 5,
    fundingIntervalHours: 8,
    fundingRate: -0.0005,
    start: 3_000,
  },
] as const;
const STEP_MS = 20 * 60_000;
const TIMES_IN_FORCE = ['gtc', 'ioc', 'fok', 'post-only'] as const;

/**
 * Price moves in whole basis points: mostly up to ±3 %, one in three a jump of up to ±30 %, so
 * leveraged accounts really get liquidated (and gaps jump past liquidation prices).
 */
const moveStep = fc.record({
  kind: fc.constant('move' as const),
  market: fc.integer({ min: 0, max: 1 }),
  bps: fc.oneof(
    { weight: 2, arbitrary: fc.integer({ min: -300, max: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: -3000, max: 3000 }) },
  ),
  gapBps: fc.integer({ min: -300, max: 300 }),
  wickBps: fc.integer({ min: 0, max: 500 }),
});
const orderStep = fc.record({
  kind: fc.constant('order' as const),
  account: fc.constantFrom(...ACCOUNTS),
  market: fc.integer({ min: 0, max: 1 }),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  type: fc.constantFrom('market' as const, 'market' as const, 'limit' as const),
  timeInForce: fc.constantFrom(...TIMES_IN_FORCE),
  reduceOnly: fc.constantFrom(false, false, false, true),
  /** Percent of what the account could open at the market's max leverage (of the position when reduce-only). */
  sizePercent: fc.integer({ min: 1, max: 130 }),
  offsetBps: fc.integer({ min: -150, max: 150 }),
  ttlSteps: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
});
const fundingStep = fc.record({
  kind: fc.constant('funding' as const),
  market: fc.integer({ min: 0, max: 1 }),
  hoursBack: fc.integer({ min: 0, max: 10 }),
  rateBps: fc.integer({ min: -20, max: 20 }),
});
const capitalStep = fc.record({
  kind: fc.constant('capital' as const),
  account: fc.constantFrom(...ACCOUNTS),
  action: fc.constantFrom('deposit' as const, 'withdraw' as const, 'transfer' as const, 'settle' as const),
  amount: fc.integer({ min: 1, max: 3000 }),
});
const step = fc.oneof(
  { weight: 4, arbitrary: moveStep },
  { weight: 6, arbitrary: orderStep },
  { weight: 1, arbitrary: fundingStep },
  { weight: 1, arbitrary: capitalStep },
);
const scenario = fc.record({
  settlement: fc.constantFrom('immediate' as const, 'manual' as const),
  latency: fc.constantFrom(0, 0, 90_000),
  steps: fc.array(step, { minLength: 10, maxLength: 80, size: 'max' }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** A deliberately broken venue, to show the invariants catch the bug. */
type Sabotage = (sim: SimExchange) => void;

interface Outcome {
  readonly violations: string[];
  readonly liquidations: number;
}

const position = (positions: Map<string, number>, account: string, symbol: string) =>
  positions.get(`${account}:${symbol}`) ?? 0;

/** Runs one scenario and returns every invariant violation seen (none when all hold). */
async function check(input: Scenario, model: Model, sabotage?: Sabotage): Promise<Outcome> {
  const { sim, clock, funding } = createSim({
    fillModel: model,
    pnlSettlement: input.settlement,
    ackLatencyMs: input.latency,
    slippage: { min: 0.001, max: 0.003, notionalAtMax: 50_000 },
    markets: MARKETS.map(({ start: _start, ...market }) => market),
    accounts: [
      { id: 'a', balance: 20_000, maxLeverage: LEVERAGE_CAP.a },
      { id: 'b', balance: 5_000 },
      { id: 'c', parent: 'a', balance: 3_000, maxLeverage: LEVERAGE_CAP.c },
    ],
  });
  sabotage?.(sim);
  const violations: string[] = [];
  const positions = new Map<string, number>();
  const liquidated = new Set<string>();
  let liquidations = 0;
  sim.events.on('liquidation', (liquidation) => {
    liquidated.add(liquidation.account);
    liquidations += 1;
  });
  const forcedOrders = new Set<string>();
  sim.events.on('order', (order: Order) => {
    if (order.reason === 'LIQUIDATION' && order.status === 'filled') forcedOrders.add(order.id);
    // All or nothing: a FOK is never seen part-filled, nor ends so.
    if (
      order.timeInForce === 'fok' &&
      order.filledQuantity > 0 &&
      order.filledQuantity < order.quantity - 1e-9
    )
      violations.push(`FOK ${order.id} is ${order.status} with ${order.filledQuantity} of ${order.quantity}`);
  });
  sim.events.on('fill', (fill: Fill) => {
    const market = MARKETS.find((entry) => entry.symbol === fill.symbol) as (typeof MARKETS)[number];
    const before = position(positions, fill.account, fill.symbol);
    const after = Number(
      roundToStep(before + (fill.side === 'buy' ? fill.quantity : -fill.quantity), market.lotSize, 'nearest'),
    );
    positions.set(`${fill.account}:${fill.symbol}`, after);
    if (
      fill.reduceOnly &&
      !(Math.abs(after) < Math.abs(before) && (after === 0 || Math.sign(after) === Math.sign(before)))
    )
      violations.push(`reduce-only fill moved ${fill.account} ${fill.symbol} ${before} → ${after}`);
    // Client ids carry the time in force (set before the submit call, so fills inside it count).
    const kind = fill.clientOrderId?.split('-')[0];
    if (kind === 'po' && fill.liquidity !== 'maker')
      violations.push(`post-only order ${fill.clientOrderId} took liquidity`);
    // IOC and FOK never rest, so they can only ever take.
    if ((kind === 'ioc' || kind === 'fok') && fill.liquidity !== 'taker')
      violations.push(`${kind} order ${fill.clientOrderId} filled as ${fill.liquidity}: it rested`);
    // A fill that grows exposure must leave the account within its margin and leverage limits
    // (checked at the fill, at the marks the venue values it at). Liquidation closes are exempt.
    const grew = Math.abs(after) > Math.abs(before) + 1e-12;
    if (grew && !fill.orderId.includes('-liq-')) {
      const snapshot = sim.snapshotAccount(fill.account);
      if (snapshot) {
        const positionMargin = snapshot.positions.reduce((sum, entry) => sum + (entry.marginUsed ?? 0), 0);
        if (positionMargin > snapshot.equity * (1 + 1e-9) + 1e-9)
          violations.push(
            `fill ${fill.id} left ${fill.account} with margin ${positionMargin.toFixed(4)} over equity ${snapshot.equity.toFixed(4)}`,
          );
        const cap = LEVERAGE_CAP[fill.account as AccountId];
        if (cap !== undefined && snapshot.leverage > cap * (1 + 1e-9))
          violations.push(
            `fill ${fill.id} left ${fill.account} at leverage ${snapshot.leverage.toFixed(4)} over ${cap}`,
          );
      }
    }
  });

  const marks = MARKETS.map((market) => market.start as number);
  const lastBarOpen = MARKETS.map(() => Number.NEGATIVE_INFINITY);
  let time = T0;
  const bookOf = (index: number, timestamp: number) => {
    const mark = marks[index] as number;
    const tick = Number(MARKETS[index]?.tickSize);
    const gap = mark * 0.0002;
    const size = index === 0 ? 0.4 : 8;
    return {
      symbol: MARKETS[index]?.symbol as string,
      timestamp,
      bids: [1, 2, 3, 4].map(
        (level) => [Math.floor((mark - gap * level) / tick) * tick, size * level] as const,
      ),
      asks: [1, 2, 3, 4].map(
        (level) => [Math.ceil((mark + gap * level) / tick) * tick, size * level] as const,
      ),
    };
  };
  const round = (index: number, value: number, mode: 'floor' | 'ceil' | 'nearest') =>
    Number(roundToStep(Math.max(value, 1), MARKETS[index]?.tickSize as string, mode));
  const feed = (index: number, move?: { bps: number; gapBps: number; wickBps: number }) => {
    const previous = marks[index] as number;
    const close = move ? round(index, previous * (1 + move.bps / 10_000), 'nearest') : previous;
    marks[index] = close;
    const symbol = MARKETS[index]?.symbol as string;
    if (model === 'book') sim.processOrderBook(bookOf(index, time));
    else if (model === 'mark') sim.processTicker({ symbol, mark: close, timestamp: time });
    else {
      // The bar that just closed: [time − step, time), like a backtest at the bar's close.
      const open = move ? round(index, previous * (1 + move.gapBps / 10_000), 'nearest') : previous;
      const wick = 1 + (move?.wickBps ?? 0) / 10_000;
      const high = round(index, Math.max(open, close) * wick, 'ceil');
      const low = round(index, Math.min(open, close) / wick, 'floor');
      lastBarOpen[index] = time - STEP_MS;
      sim.processCandle(symbol, { timestamp: time - STEP_MS, open, high, low, close, volume: 1 }, STEP_MS);
    }
  };
  feed(0);
  feed(1);
  let clientSequence = 0;

  for (const entry of input.steps) {
    time += STEP_MS;
    clock.advanceTo(time);
    await flush(); // acknowledgements and expiries due on the clock
    if (entry.kind === 'move') {
      feed(entry.market, entry);
    } else if (entry.kind === 'funding') {
      const market = MARKETS[entry.market] as (typeof MARKETS)[number];
      const interval = market.fundingIntervalHours * 3_600_000;
      const fundingTime = Math.floor(time / interval) * interval - entry.hoursBack * interval;
      sim.applyFunding(market.symbol, fundingTime, entry.rateBps / 10_000, marks[entry.market] as number);
    } else if (entry.kind === 'capital') {
      try {
        if (entry.action === 'deposit') await sim.deposit(entry.account, 'USD', entry.amount);
        else if (entry.action === 'withdraw') await sim.withdraw(entry.account, 'USD', entry.amount);
        else if (entry.action === 'settle') sim.settlePnl(entry.account);
        else if (entry.account === 'b') await sim.withdraw('b', 'USD', entry.amount);
        else await sim.transfer(entry.account, entry.account === 'a' ? 'c' : 'a', entry.amount);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== 'INSUFFICIENT_FUNDS') throw error;
      }
    } else {
      const market = MARKETS[entry.market] as (typeof MARKETS)[number];
      const account = await sim.fetchAccount(entry.account);
      const held = Math.abs(account.positions.find((item) => item.symbol === market.symbol)?.quantity ?? 0);
      const mark = marks[entry.market] as number;
      const basis = entry.reduceOnly ? held : (Math.max(0, account.equity) * market.maxLeverage) / mark;
      const quantity = roundToStep(
        // Resting orders reserve margin: smaller ones, so that more of them rest and fill.
        Math.max(Number(market.lotSize), (basis * entry.sizePercent) / (entry.type === 'limit' ? 400 : 100)),
        market.lotSize,
        'floor',
      );
      const price = roundToStep(
        (marks[entry.market] as number) * (1 + entry.offsetBps / 10_000),
        market.tickSize,
        'nearest',
      );
      const timeInForce =
        entry.type === 'market' ? (entry.timeInForce === 'fok' ? 'fok' : 'ioc') : entry.timeInForce;
      clientSequence += 1;
      // Marked before they are sent: fills during the submit call are attributed too.
      const clientOrderId = `${timeInForce === 'post-only' ? 'po' : timeInForce}-${clientSequence}`;
      try {
        await sim.submitOrder({
          account: entry.account,
          symbol: market.symbol,
          side: entry.side,
          type: entry.type,
          quantity,
          ...(entry.type === 'limit' ? { price } : {}),
          timeInForce,
          reduceOnly: entry.reduceOnly,
          clientOrderId,
          ...(entry.ttlSteps === undefined ? {} : { expiresAt: time + entry.ttlSteps * STEP_MS - 1 }),
        });
      } catch (error) {
        if ((error as { reason?: string }).reason === undefined) throw error;
      }
    }

    for (const id of ACCOUNTS) {
      const snapshot = await sim.fetchAccount(id);
      const totals = sim.totals(id);
      const unrealized = snapshot.positions.reduce((sum, entry) => sum + entry.unrealizedPnl, 0);
      const identity =
        totals.deposits -
        totals.withdrawals +
        totals.transfersIn -
        totals.transfersOut +
        totals.realizedPnl +
        unrealized -
        totals.fees +
        totals.funding;
      const scale = Math.max(1, Math.abs(snapshot.equity), totals.deposits + totals.transfersIn);
      if (Math.abs(snapshot.equity - identity) / scale > 1e-9)
        violations.push(`equity ${snapshot.equity} ≠ identity ${identity} for ${id}`);
      if (snapshot.equity < -1e-9 * scale && !liquidated.has(id))
        violations.push(`negative equity ${snapshot.equity.toFixed(4)} for ${id} without a liquidation`);
      for (const market of MARKETS) {
        const venue = snapshot.positions.find((entry) => entry.symbol === market.symbol)?.quantity ?? 0;
        const seen = position(positions, id, market.symbol);
        if (Math.abs(venue - seen) > 1e-9)
          violations.push(`fills say ${id} ${market.symbol} ${seen} but the venue says ${venue}`);
      }
      for (const order of await sim.fetchOpenOrders(id)) {
        if (order.timeInForce !== 'ioc' && order.timeInForce !== 'fok') continue;
        const index = MARKETS.findIndex((market) => market.symbol === order.symbol);
        const decided = order.createdAt + input.latency;
        const rested = model === 'next-open' ? (lastBarOpen[index] as number) >= decided : time >= decided;
        if (rested) violations.push(`${order.timeInForce} order ${order.id} rests (${order.status})`);
      }
    }
  }
  const byId = new Set<string>();
  for (const payment of funding as FundingPayment[]) {
    if (byId.has(payment.id)) violations.push(`funding ${payment.id} applied twice`);
    byId.add(payment.id);
  }
  for (const id of ACCOUNTS) {
    const paid = funding
      .filter((payment) => payment.account === id)
      .reduce((sum, payment) => sum + payment.amount, 0);
    if (Math.abs(paid - sim.totals(id).funding) > 1e-9)
      violations.push(`funding counted ${sim.totals(id).funding} for ${id} but paid ${paid}`);
  }
  await sim.close();
  return { violations, liquidations };
}

async function runProperty(model: Model, sabotage?: Sabotage, numRuns?: number) {
  // A broken venue only needs to be caught, not shrunk to its smallest case.
  const parameters = { ...(numRuns === undefined ? {} : { numRuns }), endOnFailure: sabotage !== undefined };
  let liquidations = 0;
  const result = await fc.check(
    fc.asyncProperty(scenario, async (input) => {
      const outcome = await check(input, model, sabotage);
      liquidations += outcome.liquidations;
      if (outcome.violations.length > 0) throw new Error(outcome.violations.join('\n'));
    }),
    parameters,
  );
  return { result, liquidations };
}

const MODELS: readonly Model[] = ['mark', 'book', 'next-open'];

describe('SimExchange invariants over random order flows and price paths', () => {
  for (const model of MODELS) {
    it(`holds every invariant, with liquidations on the way (${model} model)`, async () => {
      const { result, liquidations } = await runProperty(model);
      if (result.failed) throw new Error(fc.defaultReportMessage(result));
      // The price paths are not flat: accounts really get liquidated along them.
      expect(liquidations).toBeGreaterThan(20);
    }, 120_000);
  }
});

describe('the invariants catch a broken venue', () => {
  const expectCaught = async (model: Model, sabotage: Sabotage, message: RegExp) => {
    const { result } = await runProperty(model, sabotage, 300);
    expect(result.failed).toBe(true);
    expect(String((result.errorInstance as Error | undefined)?.message)).toMatch(message);
  };

  it.each(MODELS)(
    '"post-only never takes" catches a venue that ignores post-only (%s model)',
    async (model) => {
      await expectCaught(
        model,
        (sim) => {
          const submit = sim.submitOrder.bind(sim);
          sim.submitOrder = (request) =>
            submit(request.timeInForce === 'post-only' ? { ...request, timeInForce: 'gtc' } : request);
        },
        /post-only order po-\d+ took liquidity/,
      );
    },
  );

  it.each(MODELS)(
    '"no negative equity without a liquidation" catches disabled liquidations (%s model)',
    async (model) => {
      await expectCaught(
        model,
        (sim) => {
          (sim as unknown as { checkLiquidations: () => void }).checkLiquidations = () => {};
        },
        /negative equity .* without a liquidation/,
      );
    },
  );

  it.each(MODELS)(
    '"leverage above the limit is always rejected" catches a venue without margin checks (%s model)',
    async (model) => {
      await expectCaught(
        model,
        (sim) => {
          (sim as unknown as { marginProblem: () => undefined }).marginProblem = () => undefined;
        },
        /left [abc] (with margin|at leverage)/,
      );
    },
  );
});
