import type { FeatureSnapshot } from '@perpkit/features';
import { describe, expect, it } from 'vitest';
import { evaluateFade, type FadeRules, fadeFiltersSchema, fadeTriggersSchema } from '../src/index';

const CALM: FeatureSnapshot = {
  exchange: 'sim',
  symbol: 'BTC',
  barTime: 0,
  at: 3_600_000,
  open: 100,
  close: 100.2,
  atr: 1,
  bodyOverAtr: 0.2,
  volumeZ: 0.5,
  obImbalance: 0,
  premiumPct: 0.01,
  fundingRate: 0.0000125,
  openInterest: undefined,
  realizedVol: 0.4,
  spreadBps: 1,
  regime: 'chop',
  efficiency: 0.1,
};

const RULES: FadeRules = {
  triggers: fadeTriggersSchema.parse({
    funding: { above: 0.00005, below: -0.00002 },
    premium: { above: 0.1, below: -0.1 },
  }),
  filters: { spreadBps: { max: 5 }, volumeZ: { max: 3 } },
  missingData: 'block',
};

describe('evaluateFade: triggers and side', () => {
  it('does nothing in a calm market, and says why', () => {
    const decision = evaluateFade(CALM, RULES);
    expect(decision.side).toBeUndefined();
    expect(decision.reasons).toEqual([
      { code: 'FADE_NO_EXTREME', message: 'no extreme: nothing to fade' },
      {
        code: 'FADE_FUNDING_NORMAL',
        message: 'funding 1.250e-5/h within (-2.000e-5/h, 5.000e-5/h): no extreme',
      },
      { code: 'FADE_PREMIUM_NORMAL', message: 'premium 0.01% within (-0.1%, 0.1%): no extreme' },
      { code: 'FADE_SPREAD', message: 'spread 1 bps ≤ 5' },
      { code: 'FADE_VOLUME_Z', message: 'volume z-score 0.50 within [−∞, 3]' },
    ]);
  });

  it('shorts high funding and longs low funding, the extreme first in the reasons', () => {
    const high = evaluateFade({ ...CALM, fundingRate: 0.00006 }, RULES);
    expect(high.side).toBe('sell');
    expect(high.reasons.slice(0, 3)).toEqual([
      {
        code: 'FADE_FUNDING_HIGH',
        message: 'funding 6.000e-5/h ≥ 5.000e-5/h: longs crowded, fade with a short',
      },
      { code: 'FADE_SHORT', message: 'fade funding with a short' },
      { code: 'FADE_PREMIUM_NORMAL', message: 'premium 0.01% within (-0.1%, 0.1%): no extreme' },
    ]);
    const low = evaluateFade({ ...CALM, fundingRate: -0.00002 }, RULES);
    expect(low.side).toBe('buy');
    expect(low.reasons[0]?.code).toBe('FADE_FUNDING_LOW');
    expect(low.reasons[1]).toEqual({ code: 'FADE_LONG', message: 'fade funding with a long' });
  });

  it('fades a premium extreme alone, and both when they agree', () => {
    expect(evaluateFade({ ...CALM, premiumPct: -0.15 }, RULES).side).toBe('buy');
    const both = evaluateFade({ ...CALM, premiumPct: 0.2, fundingRate: 0.0001 }, RULES);
    expect(both.side).toBe('sell');
    expect(both.reasons.slice(0, 3).map((entry) => entry.code)).toEqual([
      'FADE_FUNDING_HIGH',
      'FADE_SHORT',
      'FADE_PREMIUM_HIGH',
    ]);
    expect(both.reasons[1]?.message).toBe('fade funding and premium with a short');
  });

  it('does not fade when funding and premium point to opposite sides', () => {
    const decision = evaluateFade({ ...CALM, premiumPct: -0.2, fundingRate: 0.0001 }, RULES);
    expect(decision.side).toBeUndefined();
    expect(decision.reasons[0]).toEqual({
      code: 'FADE_CONFLICT',
      message: 'funding and premium point to opposite sides: no fade',
    });
  });

  it('with require: all, needs every configured trigger extreme', () => {
    const all: FadeRules = { ...RULES, triggers: { ...RULES.triggers, require: 'all' } };
    const one = evaluateFade({ ...CALM, fundingRate: 0.0001 }, all);
    expect(one.side).toBeUndefined();
    expect(one.reasons[0]).toEqual({
      code: 'FADE_NO_EXTREME',
      message: 'not every trigger is extreme (1 of 2): no fade',
    });
    expect(evaluateFade({ ...CALM, fundingRate: 0.0001, premiumPct: 0.3 }, all).side).toBe('sell');
    // A missing premium is not an extreme.
    expect(evaluateFade({ ...CALM, fundingRate: 0.0001, premiumPct: undefined }, all).side).toBeUndefined();
  });

  it('fades on funding alone when the premium is unavailable (candle backtests)', () => {
    const decision = evaluateFade({ ...CALM, fundingRate: 0.0001, premiumPct: undefined }, RULES);
    expect(decision.side).toBe('sell');
    expect(decision.reasons).toContainEqual({
      code: 'FADE_PREMIUM_MISSING',
      message: 'premium unavailable (no fresh index price)',
    });
  });
});

describe('evaluateFade: filters', () => {
  const extreme = { ...CALM, fundingRate: 0.0001 };

  it('blocks on a wide spread alone', () => {
    const decision = evaluateFade({ ...extreme, spreadBps: 6 }, RULES);
    expect(decision.side).toBeUndefined();
    expect(decision.reasons[0]).toEqual({ code: 'FADE_FILTERED', message: 'fade blocked by spread' });
    expect(decision.reasons).toContainEqual({ code: 'FADE_SPREAD_FAIL', message: 'spread 6 bps > 5' });
  });

  it('blocks on a volume blow-out alone, and below a volume floor', () => {
    const blowout = evaluateFade({ ...extreme, volumeZ: 3.5 }, RULES);
    expect(blowout.side).toBeUndefined();
    expect(blowout.reasons).toContainEqual({
      code: 'FADE_VOLUME_Z_FAIL',
      message: 'volume z-score 3.50 outside [−∞, 3]',
    });
    const floor: FadeRules = { ...RULES, filters: { volumeZ: { min: 1 } } };
    expect(evaluateFade(extreme, floor).side).toBeUndefined();
    expect(evaluateFade({ ...extreme, volumeZ: 1 }, floor).side).toBe('sell');
  });

  it('blocks while the volume baseline warms up, even when told to skip missing data', () => {
    for (const missingData of ['block', 'skip'] as const) {
      const decision = evaluateFade({ ...extreme, volumeZ: undefined }, { ...RULES, missingData });
      expect(decision.side).toBeUndefined();
      expect(decision.reasons).toContainEqual({
        code: 'FADE_VOLUME_Z_MISSING',
        message: 'volume z-score unavailable (baseline warming up or constant): blocks',
      });
    }
  });

  it('blocks on a missing filter input, unless told to skip it', () => {
    const noSpread = { ...extreme, spreadBps: undefined };
    const blocked = evaluateFade(noSpread, RULES);
    expect(blocked.side).toBeUndefined();
    expect(blocked.reasons).toContainEqual({
      code: 'FADE_SPREAD_MISSING',
      message: 'spread unavailable (no fresh bid and ask): blocks',
    });
    const skipped = evaluateFade(noSpread, { ...RULES, missingData: 'skip' });
    expect(skipped.side).toBe('sell');
    expect(skipped.reasons).toContainEqual({
      code: 'FADE_SPREAD_SKIPPED',
      message: 'spread unavailable (no fresh bid and ask): skipped',
    });
  });
});

describe('schemas', () => {
  it('need a trigger and a bound, with below under above', () => {
    expect(fadeTriggersSchema.safeParse({}).success).toBe(false);
    expect(fadeTriggersSchema.safeParse({ funding: {} }).success).toBe(false);
    expect(fadeTriggersSchema.safeParse({ funding: { above: 0.00001, below: 0.00002 } }).success).toBe(false);
    expect(fadeTriggersSchema.safeParse({ funding: { above: 0.00001, over: 1 } }).success).toBe(false);
    expect(fadeFiltersSchema.safeParse({ volumeZ: {} }).success).toBe(false);
    expect(fadeFiltersSchema.safeParse({ depth: 1 }).success).toBe(false);
  });
});
