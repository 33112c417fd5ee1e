import type { FeatureSnapshot } from '@perpkit/features';
import { describe, expect, it } from 'vitest';
import {
  E3_CONDITION_NAMES,
  type E3Conditions,
  type E3Rules,
  e3ConditionsSchema,
  evaluateE3,
  SKIPPABLE_CONDITIONS,
} from '../src/index';

/** Every condition configured. */
const CONDITIONS: E3Conditions = {
  bodyOverAtr: { min: 1.5 },
  volumeZ: { min: 2 },
  obImbalance: { min: 0.2 },
  premiumPct: { max: 0.05 },
  fundingRate: { max: 0.00002 },
  realizedVol: { min: 0.2, max: 1.5 },
  spreadBps: { max: 5 },
};
const RULES: E3Rules = { conditions: CONDITIONS, sides: 'both', missingData: 'block' };

/** An up bar on which every condition holds for a long. */
const LONG: FeatureSnapshot = {
  exchange: 'sim',
  symbol: 'BTC',
  barTime: 0,
  at: 60_000,
  open: 100,
  close: 106,
  atr: 3,
  bodyOverAtr: 2,
  volumeZ: 3,
  obImbalance: 0.3,
  premiumPct: 0.01,
  fundingRate: 0.00001,
  openInterest: undefined,
  realizedVol: 0.6,
  spreadBps: 1.5,
  regime: 'trend',
  efficiency: 0.6,
};

/** The mirror image: a down bar on which every condition holds for a short. */
const SHORT: FeatureSnapshot = {
  ...LONG,
  close: 94,
  bodyOverAtr: -2,
  obImbalance: -0.3,
  premiumPct: -0.01,
  fundingRate: -0.00001,
};

/** A value of each feature that fails its condition for a long (each alone). */
const FAILING_LONG: Record<(typeof E3_CONDITION_NAMES)[number], Partial<FeatureSnapshot>> = {
  bodyOverAtr: { bodyOverAtr: 1.49 },
  volumeZ: { volumeZ: 1.99 },
  obImbalance: { obImbalance: 0.19 },
  premiumPct: { premiumPct: 0.051 },
  fundingRate: { fundingRate: 0.000021 },
  realizedVol: { realizedVol: 1.51 },
  spreadBps: { spreadBps: 5.01 },
};

describe('evaluateE3: every condition must hold', () => {
  it('enters long on an up bar when all seven hold, explaining each', () => {
    const decision = evaluateE3(LONG, RULES);
    expect(decision.side).toBe('buy');
    expect(decision.reasons).toEqual([
      { code: 'E3_LONG', message: 'long on an up bar: all 7 checked conditions hold' },
      { code: 'E3_BODY_ATR', message: 'body/ATR +2.00: |2| ≥ 1.5' },
      { code: 'E3_VOLUME_Z', message: 'volume z-score +3.00 ≥ 2' },
      { code: 'E3_BOOK_IMBALANCE', message: 'book imbalance +0.300, +0.300 for a long ≥ 0.2' },
      { code: 'E3_PREMIUM', message: 'premium +0.0100%, +0.0100% against a long ≤ 0.05%' },
      { code: 'E3_FUNDING', message: 'funding 1.000e-5/h, 1.000e-5/h paid by a long ≤ 0.00002/h' },
      { code: 'E3_REALIZED_VOL', message: 'realized volatility 60% within [20%, 150%]' },
      { code: 'E3_SPREAD', message: 'spread 1.5 bps ≤ 5' },
    ]);
  });

  it('enters short on the mirrored down bar, measuring every condition in the short’s direction', () => {
    const decision = evaluateE3(SHORT, RULES);
    expect(decision.side).toBe('sell');
    expect(decision.reasons.map((entry) => entry.message)).toEqual([
      'short on a down bar: all 7 checked conditions hold',
      'body/ATR -2.00: |-2| ≥ 1.5',
      'volume z-score +3.00 ≥ 2',
      'book imbalance -0.300, +0.300 for a short ≥ 0.2',
      'premium -0.0100%, +0.0100% against a short ≤ 0.05%',
      'funding -1.000e-5/h, 1.000e-5/h paid by a short ≤ 0.00002/h',
      'realized volatility 60% within [20%, 150%]',
      'spread 1.5 bps ≤ 5',
    ]);
  });

  for (const name of E3_CONDITION_NAMES) {
    it(`blocks when ${name} alone fails, for a long and for a short`, () => {
      const failing = FAILING_LONG[name];
      const long = evaluateE3({ ...LONG, ...failing }, RULES);
      expect(long.side).toBeUndefined();
      expect(
        long.conditions.filter((result) => result.status !== 'pass').map((result) => result.name),
      ).toEqual([name]);
      expect(long.reasons[0]?.code).toBe('E3_BLOCKED');
      expect(long.reasons.filter((entry) => entry.code.endsWith('_FAIL'))).toHaveLength(1);

      // The same value mirrored for a short (direction-aware features flip sign).
      const mirrored = Object.fromEntries(
        Object.entries(failing).map(([key, value]) => [
          key,
          ['bodyOverAtr', 'obImbalance', 'premiumPct', 'fundingRate'].includes(key)
            ? -(value as number)
            : value,
        ]),
      );
      const short = evaluateE3({ ...SHORT, ...mirrored }, RULES);
      expect(short.side).toBeUndefined();
      expect(
        short.conditions.filter((result) => result.status !== 'pass').map((result) => result.name),
      ).toEqual([name]);
    });

    it(`blocks when ${name} alone is missing, and skips it only when told to`, () => {
      const feature = name;
      const missing = { ...LONG, [feature]: undefined };
      const blocked = evaluateE3(missing, RULES);
      expect(blocked.side).toBeUndefined();
      expect(blocked.conditions.find((result) => result.name === name)?.status).toBe('missing');
      const skipped = evaluateE3(missing, { ...RULES, missingData: 'skip' });
      if (SKIPPABLE_CONDITIONS.includes(name)) {
        expect(skipped.side).toBe('buy');
        expect(skipped.reasons[0]?.message).toBe(
          'long on an up bar: all 6 checked conditions hold (1 skipped for missing data)',
        );
        expect(skipped.reasons.some((entry) => entry.code.endsWith('_SKIPPED'))).toBe(true);
      } else {
        // A bar indicator still warming up blocks even when told to skip missing data.
        expect(skipped.side).toBeUndefined();
        expect(skipped.conditions.find((result) => result.name === name)?.status).toBe('missing');
      }
    });
  }

  it('blocks on a condition that fails in the trade’s direction only', () => {
    // Bids heavy: fine for a long, against a short.
    expect(evaluateE3({ ...SHORT, obImbalance: 0.3 }, RULES).side).toBeUndefined();
    // A rich perpetual: a short sells it happily, a long does not buy it.
    expect(evaluateE3({ ...SHORT, premiumPct: 0.2 }, RULES).side).toBe('sell');
    expect(evaluateE3({ ...LONG, premiumPct: 0.2 }, RULES).side).toBeUndefined();
    // High positive funding: a short earns it, a long would pay it.
    expect(evaluateE3({ ...SHORT, fundingRate: 0.001 }, RULES).side).toBe('sell');
    expect(evaluateE3({ ...LONG, fundingRate: 0.001 }, RULES).side).toBeUndefined();
  });

  it('also blocks below the volatility band', () => {
    expect(evaluateE3({ ...LONG, realizedVol: 0.19 }, RULES).side).toBeUndefined();
  });
});

describe('evaluateE3: side logic', () => {
  it('takes the side from the bar: up buys, down sells, a doji has none', () => {
    expect(evaluateE3(LONG, RULES).barSide).toBe('buy');
    expect(evaluateE3(SHORT, RULES).barSide).toBe('sell');
    const doji = evaluateE3({ ...LONG, close: 100, bodyOverAtr: 0 }, RULES);
    expect(doji.barSide).toBeUndefined();
    expect(doji.side).toBeUndefined();
    expect(doji.reasons[0]).toEqual({ code: 'E3_NO_SIDE', message: 'doji bar (close = open): no side' });
  });

  it('enters only the enabled sides', () => {
    expect(evaluateE3(LONG, { ...RULES, sides: 'long' }).side).toBe('buy');
    const disabled = evaluateE3(SHORT, { ...RULES, sides: 'long' });
    expect(disabled.side).toBeUndefined();
    expect(disabled.reasons[0]).toEqual({
      code: 'E3_SIDE_DISABLED',
      message: 'down bar, but only long entries are enabled',
    });
    expect(evaluateE3(SHORT, { ...RULES, sides: 'short' }).side).toBe('sell');
  });

  it('names the blocking conditions and what is not configured', () => {
    const rules: E3Rules = { ...RULES, conditions: { bodyOverAtr: { min: 1.5 }, spreadBps: { max: 1 } } };
    const decision = evaluateE3(LONG, rules);
    expect(decision.reasons).toEqual([
      { code: 'E3_BLOCKED', message: 'long on an up bar blocked by spread' },
      { code: 'E3_BODY_ATR', message: 'body/ATR +2.00: |2| ≥ 1.5' },
      { code: 'E3_SPREAD_FAIL', message: 'spread 1.5 bps > 1' },
      {
        code: 'E3_NOT_CONFIGURED',
        message: 'not configured: volume z-score, book imbalance, premium, funding, realized volatility',
      },
    ]);
    const missing = evaluateE3({ ...LONG, obImbalance: undefined }, RULES);
    expect(missing.reasons).toContainEqual({
      code: 'E3_BOOK_IMBALANCE_MISSING',
      message: 'book imbalance unavailable (no fresh order book): blocks',
    });
  });
});

describe('conditions schema', () => {
  it('refuses an empty set of conditions: E3 would enter on every bar', () => {
    const result = e3ConditionsSchema.safeParse({});
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at least one condition/);
  });

  it('is strict and checks each bound', () => {
    expect(e3ConditionsSchema.safeParse({ bodyOverAtr: { min: 1, max: 3 } }).success).toBe(false);
    expect(e3ConditionsSchema.safeParse({ obImbalance: { min: 2 } }).success).toBe(false);
    expect(e3ConditionsSchema.safeParse({ realizedVol: {} }).success).toBe(false);
    expect(e3ConditionsSchema.safeParse({ openInterest: { min: 1 } }).success).toBe(false);
  });
});
