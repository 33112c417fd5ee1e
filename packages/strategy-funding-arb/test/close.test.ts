/*
 * The close engine, driven by hand on two controllable venues: makers first on both legs, then a
 * synchronized IOC, then market orders; idempotent while CLOSING; finalized from positions read
 * back and the venues' own order reports.
 */
import { type Fill, OrderRejectedError } from '@perpkit/core';
import type { FakeExchange } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import { CLOSE_OPTIONS, fakeHarness, fakeVenues, HOUR, MINUTE, openPair } from './fake-harness';
import { recordingLogger } from './harness';

/** Orders of one venue as `type/timeInForce side quantity`. */
function flow(requests: readonly { type: string; timeInForce?: string; side: string; quantity: string }[]) {
  return requests.map(
    (request) => `${request.type}/${request.timeInForce ?? '-'} ${request.side} ${request.quantity}`,
  );
}

/** Rewrites one venue's fill reports on their way to the engine. */
function rewriteFills(venue: FakeExchange, rewrite: (fill: Fill) => Fill[]) {
  const events = venue.events as unknown as { emit: (event: string, ...args: unknown[]) => boolean };
  const original = events.emit.bind(events);
  events.emit = (event: string, ...args: unknown[]) => {
    if (event !== 'fill') return original(event, ...args);
    for (const fill of rewrite(args[0] as Fill)) original('fill', fill);
    return true;
  };
}

describe('close engine', () => {
  it('one leg filled and the other not: only the open leg gets IOC, then market orders, until flat', async () => {
    const h = await fakeHarness(fakeVenues({ alpha: true, beta: true }));
    const pair = await openPair(h);
    expect(h.strategy.requestClose(pair.id)).toBe(true);
    await h.step();
    expect(h.strategy.pairs()[0]).toMatchObject({ status: 'CLOSING', step: 'maker' });
    const [, alphaClose] = h.orders('alpha');
    h.alpha.fillOrder(alphaClose?.id as string, 0.1, alphaClose?.price, 'maker');
    await h.step(10 * MINUTE); // +11 min
    expect(flow(h.requests(h.beta))).toHaveLength(2); // still only the entry and the close maker
    // +21 min: the next cycle (+31) would be past the 30 min window: cancel beta's maker, IOC it.
    // Beta refuses both IOC rounds; the third round is a market order.
    const refuse = () => h.beta.failNext('submitOrder', new OrderRejectedError('SERVICE_BUSY', 'busy'));
    refuse();
    await h.step(10 * MINUTE);
    refuse();
    await h.step();
    expect(h.strategy.pairs()[0]?.status).toBe('CLOSING');
    await h.step();
    await h.step();

    const beta = h.signals.filter((signal) => signal.exchange === 'beta' && signal.intent !== 'open');
    expect(beta.map((signal) => `${signal.intent} ${signal.orderType}/${signal.timeInForce ?? '-'}`)).toEqual(
      ['close limit/post-only', 'cancel market/-', 'close limit/ioc', 'close limit/ioc', 'close market/-'],
    );
    // Nothing more was sent for alpha once its leg was flat.
    expect(flow(h.requests(h.alpha))).toEqual(['limit/post-only buy 0.1', 'limit/post-only sell 0.1']);
    expect(flow(h.requests(h.beta)).at(-1)).toBe('market/ioc buy 0.1');
    expect(h.strategy.pairs()).toHaveLength(0);
    const [closed] = h.strategy.finished();
    expect(closed).toMatchObject({ status: 'CLOSED', exit: { code: 'MANUAL_CLOSE' } });
    // Long: 99 990 → 100 010; short: 100 010 → 100 000 (the market order at the mark).
    expect(closed?.result.pnl.long.pricePnl).toBeCloseTo(0.1 * 20, 6);
    expect(closed?.result.pnl.short.pricePnl).toBeCloseTo(0.1 * 10, 6);
    expect(closed?.result.corrections).toEqual([]);
    // Alpha was flat from the maker fill (+1 min) to beta's market fill (+23 min).
    expect(closed?.result.maxUnhedgedMs).toBe(22 * MINUTE);
  });

  it('a partial fill: the IOC takes only what the maker left', async () => {
    const h = await fakeHarness(fakeVenues({ alpha: true, beta: true }));
    const pair = await openPair(h);
    h.strategy.requestClose(pair.id);
    await h.step();
    const [, alphaClose] = h.orders('alpha');
    const [, betaClose] = h.orders('beta');
    h.alpha.fillOrder(alphaClose?.id as string, 0.06, alphaClose?.price, 'maker');
    h.beta.fillOrder(betaClose?.id as string, 0.1, betaClose?.price, 'maker');
    await h.step(29 * MINUTE); // the next cycle would be past the window
    expect(flow(h.requests(h.alpha)).at(-1)).toBe('limit/ioc sell 0.04');
    expect(flow(h.requests(h.beta))).toHaveLength(2); // beta is flat: nothing more for it
    await h.step();
    const [closed] = h.strategy.finished();
    expect(closed?.status).toBe('CLOSED');
    // 0.06 @ 100 010 (maker) + 0.04 @ 99 800 (the IOC's limit, 20 bps through the mark).
    expect(closed?.result.pnl.long.exitVwap).toBeCloseTo((0.06 * 100_010 + 0.04 * 99_800) / 0.1, 6);
    expect(closed?.result.pnl.long.quantity).toBeCloseTo(0.1, 12);
  });

  it('a repeated close request places no new orders while the pair is CLOSING', async () => {
    const h = await fakeHarness(fakeVenues({ alpha: true, beta: true }));
    const pair = await openPair(h);
    expect(h.strategy.requestClose(pair.id)).toBe(true);
    expect(h.strategy.requestClose(pair.id)).toBe(false);
    await h.step();
    expect(h.strategy.requestClose(pair.id)).toBe(false);
    for (let minute = 0; minute < 5; minute += 1) await h.step();
    expect(h.submitted).toHaveLength(4); // two entry makers, two close makers
    const [, alphaClose] = h.orders('alpha');
    const [, betaClose] = h.orders('beta');
    h.alpha.fillOrder(alphaClose?.id as string, 0.1, alphaClose?.price, 'maker');
    h.beta.fillOrder(betaClose?.id as string, 0.1, betaClose?.price, 'maker');
    await h.step();
    expect(h.strategy.finished()[0]?.status).toBe('CLOSED');
    expect(h.strategy.requestClose(pair.id)).toBe(false);
    await h.step();
    expect(h.submitted).toHaveLength(4);
  });

  it('waits for a venue account view that lags the close fills; an error only once the lag outlasts the grace', async () => {
    const logger = recordingLogger();
    const h = await fakeHarness(fakeVenues({ alpha: true, beta: true }), CLOSE_OPTIONS, { logger });
    const pair = await openPair(h);
    // Beta's account view as of now, with the short leg: what a venue shows until its next read.
    const stale = await h.beta.fetchAccount(pair.short.ref.account);
    expect(stale.positions.map((position) => position.quantity)).toEqual([-0.1]);
    h.strategy.requestClose(pair.id);
    await h.step();
    const [, alphaClose] = h.orders('alpha');
    const [, betaClose] = h.orders('beta');
    h.alpha.fillOrder(alphaClose?.id as string, 0.1, alphaClose?.price, 'maker');
    h.beta.fillOrder(betaClose?.id as string, 0.1, betaClose?.price, 'maker');
    h.beta.events.emit('account', stale);
    const stillOpen = () =>
      logger.lines.filter((line) => line.message === 'pair leg still open at the venue');
    await h.step(10_000);
    await h.step(10_000);
    // Both fills are in: the ledger is flat, beta's view is not yet. The pair waits, quietly.
    expect(h.strategy.pairs()[0]?.status).toBe('CLOSING');
    expect(stillOpen()).toEqual([]);
    await h.step(10_000);
    await h.step(10_000);
    expect(stillOpen()).toHaveLength(1);
    expect(stillOpen()[0]).toMatchObject({
      level: 'error',
      data: { pair: pair.id, leg: 'short', venue: -0.1 },
    });
    await h.step(10_000);
    expect(stillOpen()).toHaveLength(1);
    expect(h.submitted).toHaveLength(4); // waiting sends nothing
    // The venue's next read agrees: the pair closes.
    h.beta.events.emit('account', await h.beta.fetchAccount(pair.short.ref.account));
    await h.step(10_000);
    expect(h.strategy.finished()[0]?.status).toBe('CLOSED');
  });

  it('treats fill fields as cumulative: a venue repeating the running size per fill, and re-sending it', async () => {
    const venues = fakeVenues({ alpha: true, beta: true });
    // Alpha's feed puts the cumulative size in the per-fill field and sends every report twice.
    rewriteFills(venues.alpha, (fill) => {
      const quirky = { ...fill, quantity: fill.cumulativeQuantity };
      return [quirky, quirky];
    });
    const h = await fakeHarness(venues);
    const pair = await openPair(h);
    h.strategy.requestClose(pair.id);
    await h.step();
    const [, alphaClose] = h.orders('alpha');
    const [, betaClose] = h.orders('beta');
    h.alpha.fillOrder(alphaClose?.id as string, 0.03, 100_010, 'maker');
    h.alpha.fillOrder(alphaClose?.id as string, 0.07, 100_030, 'maker');
    h.beta.fillOrder(betaClose?.id as string, 0.1, betaClose?.price, 'maker');
    await h.step();
    const [closed] = h.strategy.finished();
    expect(closed?.status).toBe('CLOSED');
    // Naively adding the per-fill fields would book 0.03 + 0.1 + (repeats) of alpha.
    expect(closed?.result.pnl.long.exitVwap).toBeCloseTo((0.03 * 100_010 + 0.07 * 100_030) / 0.1, 6);
    expect(closed?.result.pnl.long.fees).toBeCloseTo(
      0.1 * 99_990 * 0.0002 + (0.03 * 100_010 + 0.07 * 100_030) * 0.0002,
      9,
    );
    expect(closed?.result.corrections).toEqual([]); // the fills agree with the venue's order reports
  });

  it('corrects the fills’ numbers from the post-close readback, with a warning', async () => {
    const venues = fakeVenues({ alpha: true, beta: true });
    // Alpha's fill stream misprices the close: 100 100 where the venue's order says 100 010.
    rewriteFills(venues.alpha, (fill) =>
      fill.side === 'sell' ? [{ ...fill, price: 100_100, averagePrice: 100_100 }] : [fill],
    );
    const logger = recordingLogger();
    const h = await fakeHarness(venues, CLOSE_OPTIONS, { logger });
    const pair = await openPair(h);
    h.strategy.requestClose(pair.id);
    await h.step();
    const [, alphaClose] = h.orders('alpha');
    const [, betaClose] = h.orders('beta');
    h.alpha.fillOrder(alphaClose?.id as string, 0.1, 100_010, 'maker');
    h.beta.fillOrder(betaClose?.id as string, 0.1, betaClose?.price, 'maker');
    await h.step();
    const [closed] = h.strategy.finished();
    // 100 100 vs 100 010 is 9 bps (> 3), and 9.00 of net PnL (> 0.30): both corrected.
    expect(closed?.result.corrections.map((correction) => correction.code)).toEqual([
      'READBACK_VWAP_MISMATCH',
      'READBACK_PNL_MISMATCH',
    ]);
    expect(closed?.result.pnl.long.exitVwap).toBe(100_010);
    expect(closed?.result.pnl.pricePnl).toBeCloseTo(0.1 * (100_010 - 99_990) + 0.1 * (100_010 - 99_990), 6);
    const warnings = logger.lines.filter((line) => line.message === 'pair readback correction');
    expect(warnings.map((line) => (line.data as { code: string }).code)).toEqual([
      'READBACK_VWAP_MISMATCH',
      'READBACK_PNL_MISMATCH',
    ]);
    expect(warnings.every((line) => line.level === 'warn')).toBe(true);
  });

  it('survives a restart while CLOSING: the saved pair finishes on the same orders, none new', async () => {
    const venues = fakeVenues({ alpha: true, beta: true });
    const first = await fakeHarness(venues);
    const pair = await openPair(first);
    first.strategy.requestClose(pair.id);
    await first.step();
    expect(first.submitted).toHaveLength(4);
    const [, alphaClose] = first.orders('alpha');
    const [, betaClose] = first.orders('beta');
    // The process dies: nothing is shut down, the venues keep the resting close makers.
    const checkpoint = first.engine.checkpoint();
    venues.alpha.events.removeAllListeners();
    venues.beta.events.removeAllListeners();

    const second = await fakeHarness(venues, CLOSE_OPTIONS, {
      start: first.clock.now(),
      restore: checkpoint,
    });
    expect(second.strategy.pairs()[0]).toMatchObject({ id: pair.id, status: 'CLOSING', step: 'maker' });
    await second.step();
    expect(second.submitted).toHaveLength(0);
    venues.alpha.fillOrder(alphaClose?.id as string, 0.1, alphaClose?.price, 'maker');
    venues.beta.fillOrder(betaClose?.id as string, 0.1, betaClose?.price, 'maker');
    await second.step();
    expect(second.submitted).toHaveLength(0);
    const [closed] = second.strategy.finished();
    expect(closed).toMatchObject({ id: pair.id, status: 'CLOSED', exit: { code: 'MANUAL_CLOSE' } });
    // The entry (before the restart) and the close (after) are both in the books.
    expect(closed?.result.pnl.long.entryVwap).toBe(99_990);
    expect(closed?.result.pnl.long.exitVwap).toBe(100_010);
    expect(second.engine.memory.snapshot().arb?.book).toMatchObject({ pairs: [] });
  });
});

describe('open pairs under the exit stack', () => {
  it('a broken hedge closes at once, minimum hold or not, straight to IOC, as an emergency', async () => {
    const h = await fakeHarness(fakeVenues({ alpha: true, beta: true }), {
      ...CLOSE_OPTIONS,
      exits: { ...CLOSE_OPTIONS.exits, minHold: '1d' },
    });
    const pair = await openPair(h);
    // Someone else closes the short leg (an operator on the venue's engine).
    h.engine.enqueueSignal({
      intent: 'close',
      exchange: 'beta',
      symbol: 'BTC',
      reasons: [{ code: 'OPERATOR', message: 'test' }],
    });
    await h.step();
    expect(h.engine.state.position('beta', 'BTC')).toBeUndefined();
    await h.step();
    const exit = h.signals.filter((signal) => signal.reasons[0]?.code === 'BROKEN_HEDGE');
    expect(exit.map((signal) => [signal.exchange, signal.timeInForce, signal.urgency])).toEqual([
      ['alpha', 'ioc', 'emergency'],
    ]);
    await h.step();
    const [closed] = h.strategy.finished();
    expect(closed).toMatchObject({ id: pair.id, status: 'CLOSED', exit: { code: 'BROKEN_HEDGE', layer: 1 } });
    // The operator's close of the short leg is in the pair's books as an external order.
    expect(closed?.result.pnl.short.exitVwap).toBe(100_000);
    expect(closed?.result.pnl.short.quantity).toBeCloseTo(0.1, 12);
  });

  it('an economic exit waits for the minimum hold, then closes with its code and layer', async () => {
    const options = {
      ...CLOSE_OPTIONS,
      exits: { minHold: '2h', netEv: { enabled: true, horizonHours: 24 } },
    };
    const h = await fakeHarness(fakeVenues({ alpha: true, beta: true }), options);
    const pair = await openPair(h);
    h.beta.setFundingRate('BTC', -0.0001); // beta now charges shorts: the spread turns negative
    await h.step(HOUR);
    expect(h.strategy.pairs()[0]?.status).toBe('OPEN'); // held 1 h of the 2 h minimum
    await h.step(HOUR);
    expect(h.strategy.pairs()[0]).toMatchObject({
      status: 'CLOSING',
      exit: { code: 'NET_EV_NEGATIVE', layer: 2 },
    });
    const closes = h.signals.filter((signal) => signal.intent === 'close');
    expect(closes.map((signal) => [signal.exchange, signal.timeInForce, signal.urgency])).toEqual([
      ['alpha', 'post-only', 'normal'],
      ['beta', 'post-only', 'normal'],
    ]);
    expect(pair.id).toBe(h.strategy.pairs()[0]?.id);
  });

  it('a drifted leg is rebalanced (REBALANCE), and the pair stays open', async () => {
    const h = await fakeHarness(fakeVenues({ alpha: true, beta: true }));
    await openPair(h);
    h.engine.enqueueSignal({
      intent: 'reduce',
      exchange: 'beta',
      symbol: 'BTC',
      quantity: 0.005,
      reasons: [{ code: 'OPERATOR', message: 'test' }],
    });
    await h.step();
    await h.step();
    const rebalance = h.signals.filter((signal) => signal.reasons[0]?.code === 'HEDGE_REBALANCE');
    expect(rebalance.map((signal) => [signal.intent, signal.exchange, signal.quantity])).toEqual([
      ['reduce', 'alpha', expect.closeTo(0.005, 12)],
    ]);
    await h.step();
    expect(h.strategy.pairs()[0]).toMatchObject({ status: 'OPEN', quantity: 0.095 });
    expect(h.engine.state.position('alpha', 'BTC')?.quantity).toBeCloseTo(0.095, 12);
  });
});
