import { deny } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { lastCycleSignals, pairedHarness } from './harness';

const BASE = { legNotional: 5_000, interval: '1m', holdTime: '1h' };

describe('paired accounts: paired trades', () => {
  it('opens both legs as one group at the wanted size: primary buys, secondary sells, both filled', async () => {
    const { cycle, recorded, engine, positions, venuePositions } = await pairedHarness(BASE);
    await cycle();
    const signals = lastCycleSignals(recorded, engine);
    expect(signals).toHaveLength(2);
    expect(signals.map((signal) => [signal.account, signal.intent, signal.side, signal.quantity])).toEqual([
      ['primary', 'open', 'buy', 0.05],
      ['secondary', 'open', 'sell', 0.05],
    ]);
    expect(signals[0]?.groupId).toBeDefined();
    expect(signals[1]?.groupId).toBe(signals[0]?.groupId);
    expect(signals[0]?.reasons.map((entry) => entry.code)).toEqual(['PAIR_OPEN']);
    expect(positions()).toEqual({ primary: 0.05, secondary: -0.05 });
    expect(venuePositions()).toEqual({ primary: 0.05, secondary: -0.05 });
    // Held and balanced: nothing more until the hold time is over.
    for (let minute = 0; minute < 30; minute += 1) await cycle();
    expect(recorded.submitted).toHaveLength(2);
  });

  it('flips both legs after the hold time; with unwind: close, closes them and alternates the next pair', async () => {
    const flip = await pairedHarness({ ...BASE, holdTime: '10m' });
    await flip.cycle();
    for (let minute = 0; minute < 10; minute += 1) await flip.cycle();
    expect(flip.positions()).toEqual({ primary: -0.05, secondary: 0.05 });
    const flipSignals = lastCycleSignals(flip.recorded, flip.engine);
    expect(flipSignals.map((signal) => [signal.side, signal.quantity, signal.reasons[0]?.code])).toEqual([
      ['sell', 0.1, 'PAIR_FLIP'],
      ['buy', 0.1, 'PAIR_FLIP'],
    ]);

    const close = await pairedHarness({ ...BASE, holdTime: '10m', unwind: 'close' });
    await close.cycle();
    for (let minute = 0; minute < 10; minute += 1) await close.cycle();
    expect(close.positions()).toEqual({ primary: 0, secondary: 0 });
    expect(lastCycleSignals(close.recorded, close.engine).map((signal) => signal.intent)).toEqual([
      'reduce',
      'reduce',
    ]);
    await close.cycle();
    expect(close.positions()).toEqual({ primary: -0.05, secondary: 0.05 });
  });

  it('a gate denying one leg denies the whole pair: nothing is sent', async () => {
    const { cycle, recorded, positions } = await pairedHarness(BASE, {
      riskGates: [
        {
          id: 'no-secondary',
          create: () => ({
            name: 'no-secondary',
            evaluate: (proposal) =>
              proposal.request.account === 'secondary'
                ? deny('TEST_DENY', 'secondary refused')
                : { action: 'allow' },
          }),
        },
      ],
    });
    await cycle();
    expect(recorded.submitted).toEqual([]);
    expect(recorded.denied.map((event) => [event.signal.account, event.code]).sort()).toEqual([
      ['primary', 'GROUP_LEG_DENIED'],
      ['secondary', 'TEST_DENY'],
    ]);
    expect(positions()).toEqual({ primary: 0, secondary: 0 });
  });
});

describe('paired accounts: batch execution limits', () => {
  it('clamps every order to the max order value and each account’s live equity, keeping the legs equal', async () => {
    // The primary has 1,000 of equity: orders of at most 1,000 × maxOrderLeverage 1 = 0.01 BTC.
    const { cycle, recorded, engine, positions } = await pairedHarness(
      { ...BASE, maxOrderValue: 10_000, maxOrderLeverage: 1, maxLeverage: 10, resizeBand: 0.05 },
      { balances: [1_000, 100_000] },
    );
    const equityAtSubmit: number[] = [];
    engine.events.on('signal', () =>
      equityAtSubmit.push(engine.state.account('venue', 'primary')?.equity ?? 0),
    );
    await cycle();
    expect(positions()).toEqual({ primary: 0.01, secondary: -0.01 });
    for (let minute = 0; minute < 10; minute += 1) {
      await cycle();
      expect(positions().primary).toBeCloseTo(-positions().secondary, 12);
    }
    // Scaled in, one clamped pair per interval, until within the resize band of 5,000 per leg.
    expect(positions().primary).toBeLessThanOrEqual(0.05);
    expect(positions().primary).toBeGreaterThanOrEqual(0.05 * 0.95);
    expect(recorded.submitted.length).toBeGreaterThanOrEqual(10);
    // No order above the primary's live equity at the time (fees make it a little less than 1,000).
    for (const [index, event] of recorded.submitted.entries())
      expect(event.proposal.notional).toBeLessThanOrEqual((equityAtSubmit[index] ?? 0) + 1e-9);
  });

  it('never sizes a leg beyond its account’s equity × maxLeverage', async () => {
    const { cycle, positions } = await pairedHarness(
      { ...BASE, legNotional: 50_000, maxLeverage: 2, maxOrderValue: 100_000, maxOrderLeverage: 5 },
      { balances: [3_000, 100_000] },
    );
    await cycle();
    expect(positions()).toEqual({ primary: 0.06, secondary: -0.06 });
  });

  it('takes at most maxDepthShare of the visible depth on its side', async () => {
    const { clock, book, engine, positions } = await pairedHarness({
      ...BASE,
      book: { maxDepthShare: 0.5, depthLevels: 2 },
    });
    clock.advance(60_000);
    book(100_000, { size: 0.01 });
    await engine.runCycle();
    // Two levels of 0.01 BTC visible: half of it, 0.01 BTC, per leg.
    expect(positions()).toEqual({ primary: 0.01, secondary: -0.01 });
  });
});

describe('paired accounts: the book decides', () => {
  const cases: [string, (h: Awaited<ReturnType<typeof pairedHarness>>) => void, string][] = [
    ['no book at all', () => undefined, 'BOOK_MISSING'],
    ['an empty side', (h) => h.book(100_000, { asks: [] }), 'BOOK_EMPTY'],
    [
      'a NaN price',
      (h) =>
        h.book(100_000, {
          bids: [
            [99_990, 1],
            [Number.NaN, 1],
          ],
        }),
      'BOOK_INVALID',
    ],
    [
      'a crossed book',
      (h) =>
        h.book(100_000, {
          bids: [[100_010, 1]],
          asks: [[100_000, 1]],
        }),
      'BOOK_CROSSED',
    ],
    ['a stale book', (h) => h.book(100_000, { timestamp: h.clock.now() - 60_000 }), 'BOOK_STALE'],
    ['a wide spread', (h) => h.book(100_000, { spread: 0.01 }), 'SPREAD_TOO_WIDE'],
  ];
  for (const [name, feed, code] of cases) {
    it(`does not trade on ${name} (${code})`, async () => {
      const harness = await pairedHarness(BASE);
      harness.clock.advance(60_000);
      feed(harness);
      await harness.engine.runCycle();
      expect(harness.recorded.submitted).toEqual([]);
      expect(harness.recorded.skips).toEqual([code]);
      // The same strategy trades as soon as the book is good.
      await harness.cycle();
      expect(harness.positions()).toEqual({ primary: 0.05, secondary: -0.05 });
    });
  }

  it('with book.required off, a missing book falls back to the reference price', async () => {
    const { clock, sim, engine, positions } = await pairedHarness(
      { ...BASE, book: { required: false } },
      { sim: { fillModel: 'mark', slippage: 0 } },
    );
    clock.advance(60_000);
    sim.processTicker({ symbol: 'BTC', mark: 50_000, timestamp: clock.now() });
    await engine.runCycle();
    expect(positions()).toEqual({ primary: 0.1, secondary: -0.1 });
  });

  it('limit orders join the touch: the buy at the best bid, the sell at the best ask, post-only', async () => {
    const { cycle, recorded } = await pairedHarness({ ...BASE, orderType: 'limit' });
    await cycle();
    expect(
      recorded.submitted.map((event) => [event.proposal.request.side, event.proposal.request.price]),
    ).toEqual([
      ['buy', '99990'],
      ['sell', '100010'],
    ]);
    for (const event of recorded.submitted) expect(event.proposal.request.timeInForce).toBe('post-only');
  });
});

describe('paired accounts: stale orders and the auto-hedge', () => {
  it('cancels resting orders after the timeout, then completes a one-legged fill at market', async () => {
    const { cycle, book, clock, engine, recorded, positions, venuePositions } = await pairedHarness({
      ...BASE,
      orderType: 'limit',
      orderTimeout: '2m',
    });
    await cycle();
    expect(engine.state.openOrders('venue', 'BTC')).toHaveLength(2);
    // The market trades down through the primary's bid: the buy fills, the sell still rests.
    clock.advance(30_000);
    book(99_900);
    expect(positions()).toEqual({ primary: 0.05, secondary: 0 });
    await engine.runCycle(); // the sell is still young: wait
    expect(recorded.cancels).toEqual([]);
    await cycle(90_000, 99_900); // 2 minutes after placing: stale
    expect(recorded.cancels).toEqual([expect.objectContaining({ ok: true, reason: 'STALE_ORDER' })]);
    expect(engine.state.openOrders('venue', 'BTC')).toEqual([]);
    // Next cycle: the pair is one-legged and no rule asks for anything: the hedge is completed.
    await cycle(1_000, 99_900);
    const hedge = lastCycleSignals(recorded, engine);
    expect(
      hedge.map((signal) => [signal.account, signal.side, signal.quantity, signal.orderType, signal.urgency]),
    ).toEqual([['secondary', 'sell', 0.05, 'market', 'high']]);
    expect(hedge[0]?.reasons.map((entry) => entry.code)).toContain('AUTO_HEDGE_COMPLETE_LAGGING');
    expect(venuePositions()).toEqual({ primary: 0.05, secondary: -0.05 });
  });

  it('with autoHedge: reduce, an orphan leg is closed instead of hedged', async () => {
    const { cycle, sim, book, clock, recorded, engine, positions } = await pairedHarness({
      ...BASE,
      autoHedge: 'reduce',
      interval: '1h',
    });
    await cycle();
    expect(positions()).toEqual({ primary: 0.05, secondary: -0.05 });
    // Somebody closes the secondary's leg outside the strategy.
    clock.advance(1_000);
    book(100_000);
    await sim.submitOrder({
      account: 'secondary',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '0.05',
    });
    await cycle(1_000);
    expect(
      lastCycleSignals(recorded, engine).map((signal) => [signal.account, signal.intent, signal.quantity]),
    ).toEqual([['primary', 'reduce', 0.05]]);
    expect(positions()).toEqual({ primary: 0, secondary: 0 });
  });

  it('the margin guard and the schedule conflict: the smaller target wins, and the batch reduces both legs', async () => {
    // Orders of at most 2,000 open 0.02 BTC first; health is then 1 − 5% × 2,000 / 100,000 = 0.999,
    // under the guard's 0.9995.
    const { cycle, recorded, engine, positions } = await pairedHarness({
      ...BASE,
      maxOrderValue: 2_000,
      minHealthRatio: 0.9995,
      deleverageFraction: 0.5,
    });
    await cycle();
    expect(positions()).toEqual({ primary: 0.02, secondary: -0.02 });
    await cycle();
    // The schedule wants 0.05 per leg (a resize up), the guard 0.01: the guard's target wins.
    const signals = lastCycleSignals(recorded, engine);
    expect(signals.map((signal) => [signal.account, signal.intent, signal.quantity])).toEqual([
      ['primary', 'reduce', 0.01],
      ['secondary', 'reduce', 0.01],
    ]);
    const codes = signals[0]?.reasons.map((entry) => entry.code);
    expect(codes).toEqual(expect.arrayContaining(['MARGIN_GUARD', 'PAIR_RESIZE', 'CONFLICT_RESOLVED']));
    expect(positions()).toEqual({ primary: 0.01, secondary: -0.01 });
  });
});

describe('paired accounts: restarts', () => {
  it('remembers the schedule in plugin memory: after a restart the hold counts from the original open', async () => {
    const first = await pairedHarness({ ...BASE, holdTime: '10m' });
    await first.cycle();
    const openedAt = first.clock.now();
    const memory = first.engine.memory.snapshot();
    expect(memory.dn?.paired).toMatchObject({ side: 'buy', since: openedAt, nextSide: 'sell' });
    // Restarted 5 minutes later on a fresh venue: it restores the remembered side at once...
    const second = await pairedHarness(
      { ...BASE, holdTime: '10m' },
      { memory, start: openedAt + 4 * 60_000 },
    );
    await second.cycle();
    expect(second.positions()).toEqual({ primary: 0.05, secondary: -0.05 });
    expect(lastCycleSignals(second.recorded, second.engine)[0]?.reasons[0]?.code).toBe('PAIR_RESIZE');
    // ...and flips 10 minutes after the original open, not 10 minutes after the restart.
    for (let minute = 6; minute < 10; minute += 1) await second.cycle();
    expect(second.positions()).toEqual({ primary: 0.05, secondary: -0.05 });
    await second.cycle();
    expect(second.clock.now()).toBe(openedAt + 10 * 60_000);
    expect(second.positions()).toEqual({ primary: -0.05, secondary: 0.05 });
  });
});
