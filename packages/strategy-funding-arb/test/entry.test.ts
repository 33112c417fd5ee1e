/*
 * Paired entry on two simulated venues (mark fill model): makers first on both legs, then a
 * synchronized IOC for what they left, never more than the maker timeout unhedged; a leg that
 * cannot be completed gets its partner unwound.
 */
import { deny } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import type { FundingArbOptionsInput } from '../src/index';
import { createHarness, HOUR } from './harness';

const MINUTE = 60_000;

const OPTIONS: FundingArbOptionsInput = {
  markets: [
    {
      asset: 'BTC',
      venues: [
        { exchange: 'alpha', symbol: 'BTC' },
        { exchange: 'beta', symbol: 'BTC' },
      ],
    },
  ],
  entry: {
    maxNotional: 10_000,
    lookbackHours: 1,
    holdHours: 72,
    feeAssumption: 'maker',
    fallbackSlippageBps: 1,
  },
  execution: { makerTimeout: '30m', makerOffsetBps: 1 },
};

/** Alpha pays 0.01 % per 8h, beta 0.01 % per hour: short beta, long alpha, 76.65 % APY. */
async function ready(options: FundingArbOptionsInput = OPTIONS, extra = {}) {
  const harness = await createHarness(options, undefined, extra);
  harness.alpha.processFundingRate('BTC', 0.0001);
  harness.beta.processFundingRate('BTC', 0.0001);
  await harness.step(HOUR);
  return harness;
}

describe('paired entry', () => {
  it('places makers on both legs at once, one group, same size, resting no longer than the timeout', async () => {
    const h = await ready();
    const entries = h.signals.filter((signal) => signal.intent === 'open');
    expect(
      entries.map((signal) => [signal.exchange, signal.side, signal.timeInForce, signal.orderType]),
    ).toEqual([
      ['alpha', 'buy', 'post-only', 'limit'],
      ['beta', 'sell', 'post-only', 'limit'],
    ]);
    expect(new Set(entries.map((signal) => signal.groupId)).size).toBe(1);
    expect(entries.every((signal) => signal.quantity === 0.1 && signal.ttlMs === 30 * MINUTE)).toBe(true);
    expect(entries.every((signal) => signal.reasons[0]?.code === 'FUNDING_SPREAD')).toBe(true);
    // Maker prices rest 1 bp off the mark: 99 990 bid, 100 010 offer.
    expect(entries.map((signal) => signal.price)).toEqual([99_990, 100_010]);
    expect(h.strategy.pairs()[0]).toMatchObject({ status: 'OPENING', step: 'maker', quantity: 0.1 });
  });

  it('opens when both makers fill, never unhedged for longer than between the two fills', async () => {
    const h = await ready();
    await h.step(5 * MINUTE, { alpha: 99_980 }); // alpha's bid trades through
    expect(h.strategy.pairs()[0]?.status).toBe('OPENING');
    await h.step(5 * MINUTE, { beta: 100_020 }); // then beta's offer
    const pair = h.strategy.pairs()[0];
    expect(pair?.status).toBe('OPEN');
    expect(pair?.maxUnhedgedMs).toBe(5 * MINUTE);
    expect(h.signals.filter((signal) => signal.intent === 'open')).toHaveLength(2); // no IOC was needed
    expect(h.engine.state.position('alpha', 'BTC')?.quantity).toBe(0.1);
    expect(h.engine.state.position('beta', 'BTC')?.quantity).toBe(-0.1);
  });

  it('completes a lagging leg with IOC before the maker timeout, cancelling its maker first', async () => {
    const h = await ready();
    // Alpha fills at +12 min; beta's offer does not trade. Cycles are 12 min apart: the IOC must
    // go out by +24 (the last cycle before the 30 min deadline), and the cancel of beta's maker a
    // cycle before it, so the IOC is sized by what the maker left once it has ended.
    await h.step(12 * MINUTE, { alpha: 99_900 });
    const atFill = h.signals.filter((signal) => signal.cycle === h.engine.state.cycle);
    expect(atFill.map((signal) => [signal.intent, signal.exchange])).toEqual([['cancel', 'beta']]);
    await h.step(12 * MINUTE);
    const cycle = h.engine.state.cycle;
    const now = h.signals.filter((signal) => signal.cycle === cycle);
    expect(now.map((signal) => [signal.intent, signal.exchange, signal.timeInForce ?? ''])).toEqual([
      ['open', 'beta', 'ioc'],
    ]);
    expect(now[0]).toMatchObject({ side: 'sell', quantity: 0.1, reasons: [{ code: 'ENTRY_COMPLETE' }] });
    // IOC at 20 bps through the mark: a sell limit at 99 800.
    expect(now[0]?.price).toBeCloseTo(99_800, 6);
    await h.step(MINUTE);
    const pair = h.strategy.pairs()[0];
    expect(pair?.status).toBe('OPEN');
    // Alpha filled at +12 min, beta's IOC at +24 min: 12 min unhedged, within the 30 min timeout.
    expect(pair?.maxUnhedgedMs).toBe(12 * MINUTE);
    expect(h.engine.state.position('beta', 'BTC')?.quantity).toBe(-0.1);
    const beta = pair?.orders.filter((order) => order.leg === 'short');
    expect(beta?.map((order) => order.status)).toEqual(['cancelled', 'filled']);
  });

  it('a maker that fills while its cancel goes out is not completed again: no double fill, no unwind', async () => {
    const h = await ready();
    // Beta's offer trades in the instant before the cancel reaches the venue (the race a live venue
    // has): the cancel finds the maker filled.
    const cancel = h.beta.cancelOrder.bind(h.beta);
    h.beta.cancelOrder = async (request) => {
      h.tick({ beta: 100_020 });
      return cancel(request);
    };
    await h.step(12 * MINUTE, { alpha: 99_900 }); // alpha fills; beta's maker is cancelled (and fills)
    expect(h.engine.state.position('beta', 'BTC')?.quantity).toBe(-0.1);
    await h.step(12 * MINUTE);
    await h.step(MINUTE);
    const pair = h.strategy.pairs()[0];
    expect(pair?.status).toBe('OPEN');
    // One fill per leg: nothing was sent to complete a leg its maker had filled.
    expect(h.engine.state.position('alpha', 'BTC')?.quantity).toBe(0.1);
    expect(h.engine.state.position('beta', 'BTC')?.quantity).toBe(-0.1);
    expect(h.signals.some((signal) => signal.timeInForce === 'ioc')).toBe(false);
    expect(h.signals.some((signal) => signal.reasons[0]?.code === 'ENTRY_UNWIND')).toBe(false);
  });

  it('lets the venue expire a maker that reached its TTL, and completes with IOC', async () => {
    const h = await ready();
    await h.step(10 * MINUTE, { alpha: 99_900 });
    await h.step(10 * MINUTE);
    await h.step(10 * MINUTE); // +30 min: the venue expired beta's maker before this cycle
    const cycle = h.engine.state.cycle;
    expect(h.signals.filter((signal) => signal.cycle === cycle).map((signal) => signal.intent)).toEqual([
      'open',
    ]);
    await h.step(MINUTE);
    const pair = h.strategy.pairs()[0];
    expect(pair?.status).toBe('OPEN');
    expect(pair?.maxUnhedgedMs).toBe(20 * MINUTE);
  });

  it('sends the IOC at the last cycle before the timeout when cycles are far apart', async () => {
    const h = await ready({ ...OPTIONS, execution: { makerTimeout: '1h' } });
    // Alpha fills at +40 min, cycles 40 min apart: the next cycle (+80) is past the deadline, so
    // beta's maker is cancelled now and its IOC goes out before the hour is over.
    await h.step(40 * MINUTE, { alpha: 99_900 });
    expect(h.signals.at(-1)).toMatchObject({ intent: 'cancel', exchange: 'beta' });
    await h.step(MINUTE);
    expect(h.signals.at(-1)).toMatchObject({ intent: 'open', exchange: 'beta', timeInForce: 'ioc' });
    await h.step(MINUTE);
    expect(h.strategy.pairs()[0]?.status).toBe('OPEN');
    expect(h.strategy.pairs()[0]?.maxUnhedgedMs).toBeLessThanOrEqual(HOUR);
  });

  it('unwinds the filled leg when the other cannot be completed', async () => {
    const h = await ready();
    await h.step(10 * MINUTE, { alpha: 99_900 });
    // Entries stop (a monitor holds reducing): the IOC completing beta adds risk and is refused.
    h.engine.requestPhase('reducing', 'test: entries stopped', 'monitor:test');
    await h.step(20 * MINUTE);
    expect(
      h.denied.some((event) => event.signal.exchange === 'beta' && event.signal.timeInForce === 'ioc'),
    ).toBe(true);
    expect(h.engine.state.position('beta', 'BTC')).toBeUndefined();
    await h.step(MINUTE); // the IOC step is over with beta empty: unwind alpha
    const unwind = h.signals.filter((signal) => signal.reasons[0]?.code === 'ENTRY_UNWIND');
    expect(unwind.map((signal) => [signal.intent, signal.exchange, signal.urgency])).toEqual([
      ['close', 'alpha', 'emergency'],
    ]);
    await h.step(MINUTE);
    expect(h.strategy.pairs()).toHaveLength(0);
    const [failed] = h.strategy.finished();
    expect(failed).toMatchObject({ status: 'FAILED', failure: 'ENTRY_UNWOUND' });
    expect(h.engine.state.position('alpha', 'BTC')).toBeUndefined();
    // The round trip cost is booked: maker fee in, taker fee out (slippage 0, price unchanged).
    expect(failed?.result.pnl.fees).toBeCloseTo(0.1 * 99_990 * 0.0002 + 0.1 * 99_900 * 0.0005, 9);
    expect(failed?.result.maxUnhedgedMs).toBeLessThanOrEqual(30 * MINUTE);
  });

  it('fails without orders when a gate denies the group, and waits out the cooldown', async () => {
    const gate = {
      id: 'no',
      create: () => ({ name: 'no', evaluate: () => deny('TEST_DENY', 'denied for the test') }),
    };
    const h = await ready(
      { ...OPTIONS, entry: { ...OPTIONS.entry, maxNotional: 10_000, cooldown: '2h' } },
      {
        riskGates: [gate],
      },
    );
    await h.step(MINUTE);
    expect(h.submitted).toHaveLength(0);
    expect(h.strategy.finished()[0]).toMatchObject({ status: 'FAILED' });
    expect(h.strategy.finished()[0]?.failure).toMatch(/TEST_DENY/);
    await h.step(HOUR);
    expect(h.signals.filter((signal) => signal.intent === 'open')).toHaveLength(2); // no retry yet
    await h.step(HOUR);
    expect(h.signals.filter((signal) => signal.intent === 'open')).toHaveLength(4);
  });
});
