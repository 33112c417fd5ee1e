import { evaluateExitStack } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import {
  brokenHedgeRule,
  buildExitStack,
  combinePnl,
  EXIT_CODES,
  fundingArbOptions,
  fundingFlipRule,
  hedgeRebalanceRule,
  liquidationRule,
  netEvRule,
  OrientedHistory,
  opportunityCostRule,
  type PairState,
  type PairSubject,
  SpreadHistory,
  takeProfitRule,
  velocityRule,
  zScoreRule,
} from '../src/index';
import { stubState } from './stub-state';

const state = stubState();
const ref = (exchange: string) => ({ exchange, symbol: 'BTC', account: 'main' });

function history(values: number[]): OrientedHistory {
  const ring = new SpreadHistory(168);
  values.forEach((value, hour) => {
    ring.push(value, hour);
  });
  return new OrientedHistory(ring, 1);
}

const ZERO_LEG = {
  quantity: 1,
  entryVwap: 100,
  exitVwap: 0,
  pricePnl: 0,
  fees: 0,
  slippage: 0,
  fundingCollected: 0,
  fundingAccrued: 0,
};

/** A healthy open pair: 1 BTC each side at 100, earning 10 % APY, nothing firing. */
function subject(overrides: Partial<PairSubject> = {}, netPnl = 0): PairSubject {
  return {
    pair: { id: 'BTC-1' } as PairState,
    long: { ref: ref('alpha'), quantity: 1, mark: 100, liquidationPrice: 60, healthRatio: 0.9 },
    short: { ref: ref('beta'), quantity: -1, mark: 100, liquidationPrice: 140, healthRatio: 0.9 },
    notional: 100,
    history: history(Array.from({ length: 48 }, (_, hour) => 0.1 + (hour % 2) * 0.01)),
    forecastPerHour: 0.1 / 8760,
    alternative: undefined,
    pnl: combinePnl({ ...ZERO_LEG, pricePnl: netPnl }, ZERO_LEG),
    exitCost: 0,
    ...overrides,
  };
}

const leg = (side: 'long' | 'short', fields: Partial<PairSubject['long']>) => ({
  ...subject()[side],
  ...fields,
});

describe('layer 1: emergencies', () => {
  const broken = brokenHedgeRule({ brokenTolerance: 0.1 });
  it('BROKEN_HEDGE: a leg missing, on the wrong side, or mismatched beyond tolerance', () => {
    expect(broken.evaluate(subject(), state)).toBeNull();
    const missing = broken.evaluate(subject({ short: leg('short', { quantity: 0 }) }), state);
    expect(missing).toMatchObject({ action: 'close', code: 'BROKEN_HEDGE', urgency: 'emergency' });
    expect(broken.evaluate(subject({ short: leg('short', { quantity: 1 }) }), state)?.code).toBe(
      'BROKEN_HEDGE',
    );
    expect(broken.evaluate(subject({ short: leg('short', { quantity: -0.85 }) }), state)?.code).toBe(
      'BROKEN_HEDGE',
    );
    expect(broken.evaluate(subject({ short: leg('short', { quantity: -0.95 }) }), state)).toBeNull();
  });

  it('LIQUIDATION_RISK: a mark near its liquidation price, or an account near its maintenance margin', () => {
    const rule = liquidationRule({ minDistance: 0.05, minHealth: 0.2 });
    expect(rule.evaluate(subject(), state)).toBeNull();
    const near = rule.evaluate(subject({ short: leg('short', { liquidationPrice: 104 }) }), state);
    expect(near).toMatchObject({ action: 'close', code: 'LIQUIDATION_RISK', urgency: 'emergency' });
    expect(rule.evaluate(subject({ long: leg('long', { healthRatio: 0.1 }) }), state)?.code).toBe(
      'LIQUIDATION_RISK',
    );
  });

  it('HEDGE_REBALANCE: a drift within the broken tolerance rebalances instead of closing', () => {
    const rule = hedgeRebalanceRule({ rebalanceTolerance: 0.01 });
    expect(rule.evaluate(subject({ short: leg('short', { quantity: -0.995 }) }), state)).toBeNull();
    const drift = rule.evaluate(subject({ short: leg('short', { quantity: -0.95 }) }), state);
    expect(drift).toMatchObject({ action: 'rebalance', code: 'HEDGE_REBALANCE', targetQuantity: 0.95 });
  });
});

describe('layer 2: economics', () => {
  it('NET_EV_NEGATIVE: expected funding over the horizon below the floor', () => {
    const rule = netEvRule({ horizonHours: 24, floor: 0 });
    expect(rule.evaluate(subject(), state)).toBeNull();
    const losing = rule.evaluate(subject({ forecastPerHour: -0.01 / 8760 }), state);
    expect(losing).toMatchObject({ action: 'close', code: 'NET_EV_NEGATIVE' });
    // 10 % APY on 100 for 24 h is 0.0274: below a floor of 0.03.
    expect(netEvRule({ horizonHours: 24, floor: 0.03 }).evaluate(subject(), state)?.code).toBe(
      'NET_EV_NEGATIVE',
    );
  });

  it('OPPORTUNITY_COST: a better venue pair by the margin, worth the switch', () => {
    const rule = opportunityCostRule({ marginApy: 0.1, horizonHours: 24 });
    const better = (apy: number, switchCost: number) =>
      subject({
        alternative: { long: ref('beta'), short: ref('gamma'), forecastPerHour: apy / 8760, switchCost },
      });
    expect(rule.evaluate(better(0.15, 0), state)).toBeNull(); // 5 points better: below the margin
    // 100 points better: 0.9 × 100 × 24 / 8760 = 0.2466 more over 24 h.
    expect(rule.evaluate(better(1.0, 0.3), state)).toBeNull(); // does not pay for the switch
    expect(rule.evaluate(better(1.0, 0.2), state)).toMatchObject({
      action: 'close',
      code: 'OPPORTUNITY_COST',
    });
  });

  it('FUNDING_FLIP: the hourly net APY below −threshold for confirmHours samples in a row', () => {
    const rule = fundingFlipRule({ thresholdApy: 0.01, confirmHours: 2 });
    expect(rule.evaluate(subject({ history: history([0.1, 0.1, -0.05]) }), state)).toBeNull();
    expect(rule.evaluate(subject({ history: history([0.1, -0.05, -0.005]) }), state)).toBeNull();
    const flipped = rule.evaluate(subject({ history: history([0.1, -0.05, -0.02]) }), state);
    expect(flipped).toMatchObject({ action: 'close', code: 'FUNDING_FLIP' });
  });
});

describe('layer 3: optional', () => {
  it('TAKE_PROFIT: net PnL after estimated exit costs reaching the target', () => {
    const rule = takeProfitRule({ netPnlBps: 50 });
    expect(rule.evaluate(subject({ exitCost: 0.2 }, 0.6), state)).toBeNull(); // 40 bps after exit costs
    expect(rule.evaluate(subject({ exitCost: 0.1 }, 0.6), state)).toMatchObject({ code: 'TAKE_PROFIT' });
  });

  it('VELOCITY_EXIT: the last 6 hourly samples falling faster than the limit', () => {
    const rule = velocityRule({ dropApyPerHour: 0.05, hours: 6 });
    const falling = [0.5, 0.44, 0.38, 0.32, 0.26, 0.2]; // −0.06 per hour
    expect(
      rule.evaluate(subject({ history: history([0.5, 0.49, 0.48, 0.47, 0.46, 0.45]) }), state),
    ).toBeNull();
    expect(rule.evaluate(subject({ history: history(falling.slice(1)) }), state)).toBeNull(); // 5 samples only
    expect(rule.evaluate(subject({ history: history(falling) }), state)).toMatchObject({
      code: 'VELOCITY_EXIT',
    });
  });

  it('Z_SCORE_EXIT: the latest sample far below its 168-hour window', () => {
    const rule = zScoreRule({ threshold: 2, window: 168, minSamples: 48 });
    const week = Array.from({ length: 167 }, (_, hour) => 0.1 + (hour % 2 === 0 ? 0.01 : -0.01));
    expect(rule.evaluate(subject({ history: history([...week, 0.09]) }), state)).toBeNull();
    expect(rule.evaluate(subject({ history: history([...week, 0.0]) }), state)).toMatchObject({
      code: 'Z_SCORE_EXIT',
    });
    expect(rule.evaluate(subject({ history: history([...week.slice(0, 20), 0.0]) }), state)).toBeNull(); // < 48 samples
  });
});

describe('the stack: strict priority, first hit wins', () => {
  const options = fundingArbOptions.parse({
    markets: [
      {
        asset: 'BTC',
        venues: [
          { exchange: 'alpha', symbol: 'BTC' },
          { exchange: 'beta', symbol: 'BTC' },
        ],
      },
    ],
    entry: { maxNotional: 1000 },
    exits: { takeProfit: { netPnlBps: 50 }, velocity: { dropApyPerHour: 0.05 }, zScore: {} },
  });
  const stack = buildExitStack(options.exits);

  it('orders every rule by layer, then priority', () => {
    expect(stack.map((rule) => `${rule.layer}:${rule.name}`)).toEqual([
      '1:broken-hedge',
      '1:liquidation-risk',
      '1:hedge-rebalance',
      '2:net-ev',
      '2:opportunity-cost',
      '2:funding-flip',
      '3:take-profit',
      '3:velocity',
      '3:z-score',
    ]);
    // Each rule's code is listed with the rule's own layer.
    const codes: Record<string, keyof typeof EXIT_CODES> = {
      'broken-hedge': 'BROKEN_HEDGE',
      'liquidation-risk': 'LIQUIDATION_RISK',
      'hedge-rebalance': 'HEDGE_REBALANCE',
      'net-ev': 'NET_EV_NEGATIVE',
      'opportunity-cost': 'OPPORTUNITY_COST',
      'funding-flip': 'FUNDING_FLIP',
      'take-profit': 'TAKE_PROFIT',
      velocity: 'VELOCITY_EXIT',
      'z-score': 'Z_SCORE_EXIT',
    };
    for (const rule of stack)
      expect(EXIT_CODES[codes[rule.name] as keyof typeof EXIT_CODES].layer).toBe(rule.layer);
  });

  it('two rules firing on one tick: the lower layer decides (broken hedge over take profit)', () => {
    const both = subject({ short: leg('short', { quantity: 0 }), exitCost: 0 }, 5);
    expect(takeProfitRule({ netPnlBps: 50 }).evaluate(both, state)).not.toBeNull();
    const result = evaluateExitStack(stack, both, state);
    expect(result?.rule.name).toBe('broken-hedge');
    expect(result?.decision).toMatchObject({ code: 'BROKEN_HEDGE', urgency: 'emergency' });
  });

  it('two rules of one layer firing on one tick: the lower priority decides (net EV over funding flip)', () => {
    const both = subject({ forecastPerHour: -0.05 / 8760, history: history([0.1, -0.05, -0.05, -0.05]) });
    expect(fundingFlipRule(options.exits.fundingFlip).evaluate(both, state)).not.toBeNull();
    expect(evaluateExitStack(stack, both, state)?.decision.code).toBe('NET_EV_NEGATIVE');
  });

  it('a minimum hold blocks layers 2 and 3 but never layer 1', () => {
    const economic = subject({ forecastPerHour: -0.05 / 8760 });
    const hold = { heldMs: 1_000, minHoldMs: 3_600_000 };
    expect(evaluateExitStack(stack, economic, state, hold)).toBeUndefined();
    expect(evaluateExitStack(stack, economic, state, { ...hold, heldMs: 3_600_000 })?.decision.code).toBe(
      'NET_EV_NEGATIVE',
    );
    const emergency = subject({ long: leg('long', { liquidationPrice: 99 }), forecastPerHour: -0.05 / 8760 });
    expect(evaluateExitStack(stack, emergency, state, hold)?.decision.code).toBe('LIQUIDATION_RISK');
  });

  it('leaves out what is disabled', () => {
    const bare = buildExitStack(
      fundingArbOptions.parse({
        markets: options.markets,
        entry: { maxNotional: 1000 },
        exits: {
          netEv: { enabled: false },
          opportunityCost: { enabled: false },
          fundingFlip: { enabled: false },
        },
      }).exits,
    );
    expect(bare.map((rule) => rule.name)).toEqual(['broken-hedge', 'liquidation-risk', 'hedge-rebalance']);
  });
});
