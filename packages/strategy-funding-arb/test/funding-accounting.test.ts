/*
 * Funding in three parts on an open pair: collected (settled, counted once per settlement),
 * accrued (the venue's estimate for the running period), never both for the same period.
 */
import type { FundingPayment } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { createHarness, HOUR } from './harness';

const MINUTE = 60_000;

describe('funding on an open pair', () => {
  it('moves the accrual into collected funding at the settlement, once', async () => {
    const h = await createHarness({
      markets: [
        {
          asset: 'BTC',
          venues: [
            { exchange: 'alpha', symbol: 'BTC' },
            { exchange: 'beta', symbol: 'BTC' },
          ],
        },
      ],
      entry: { maxNotional: 10_000, lookbackHours: 1, feeAssumption: 'maker', fallbackSlippageBps: 1 },
      execution: { makerTimeout: '30m' },
      exits: {
        netEv: { enabled: false },
        opportunityCost: { enabled: false },
        fundingFlip: { enabled: false },
      },
    });
    const payments: FundingPayment[] = [];
    h.engine.events.on('funding', (payment) => payments.push(payment));
    h.alpha.processFundingRate('BTC', 0.0001); // per 8h: the long pays 1.00 per 8h on 0.1 × 100 000
    h.beta.processFundingRate('BTC', 0.0001); // per 1h: the short receives 1.00 per hour
    await h.step(HOUR); // 01:00: makers out
    await h.step(5 * MINUTE, { alpha: 99_980, beta: 100_020 }); // both fill
    await h.step(5 * MINUTE, { alpha: 100_000, beta: 100_000 });
    const [pair] = h.strategy.pairs();
    expect(pair?.status).toBe('OPEN');
    const id = pair?.id as string;

    // 01:30: half of beta's hour has run: half a payment accrued, nothing collected yet.
    await h.step(20 * MINUTE);
    const before = h.strategy.pairPnl(id);
    expect(before?.fundingCollected).toBe(0);
    expect(before?.short.fundingAccrued).toBeCloseTo(0.5, 9);

    // 02:00: beta settles +1.00 to the short; its accrual restarts at zero.
    await h.step(30 * MINUTE);
    const after = h.strategy.pairPnl(id);
    const settled = payments.filter((payment) => payment.exchange === 'beta');
    expect(settled).toHaveLength(1);
    expect(settled[0]?.amount).toBeCloseTo(1, 9);
    expect(after?.short.fundingCollected).toBeCloseTo(1, 9);
    expect(after?.short.fundingAccrued).toBeCloseTo(0, 9);
    // total = price + collected + accrued: the settled hour is in it once, not once per part.
    expect(after?.totalPnl).toBeCloseTo((after?.pricePnl ?? 0) + 1 + (after?.long.fundingAccrued ?? 0), 9);

    // A venue re-sending the same settlement does not add it again.
    h.beta.events.emit('funding', settled[0] as FundingPayment);
    expect(h.strategy.pairPnl(id)?.short.fundingCollected).toBeCloseTo(1, 9);
  });
});
