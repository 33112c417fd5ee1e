import { type ExitDecision, type ExitLayer, type ExitRule, sortExitRules } from '@perpkit/core';
import { HOURS_PER_YEAR } from './funding';
import type { OrientedHistory } from './history';
import type { FundingArbOptions } from './options';
import type { LegRef, PairPnl, PairState } from './types';

/** One leg as the exit rules see it: the engine's position (the venue's, read back) and risk facts. */
export interface LegView {
  readonly ref: LegRef;
  /** Signed position (long positive); 0 when the leg is gone. */
  readonly quantity: number;
  readonly mark: number;
  readonly liquidationPrice: number | undefined;
  readonly healthRatio: number | undefined;
}

/** A better venue pair for the same asset, for the opportunity-cost exit. */
export interface Alternative {
  readonly long: LegRef;
  readonly short: LegRef;
  /** Expected net funding per hour per unit notional. */
  readonly forecastPerHour: number;
  /** Estimated cost of switching: closing this pair and opening that one (fees and slippage). */
  readonly switchCost: number;
}

/** What the exit stack evaluates: one open pair and everything its rules read, built once per tick. */
export interface PairSubject {
  readonly pair: PairState;
  readonly long: LegView;
  readonly short: LegView;
  /** Notional per leg at the current marks. */
  readonly notional: number;
  /** Hourly net APY samples for the held orientation. */
  readonly history: OrientedHistory | undefined;
  /** Expected net funding per hour per unit notional (mean of the lookback), NaN when unknown. */
  readonly forecastPerHour: number;
  readonly alternative: Alternative | undefined;
  readonly pnl: PairPnl;
  /** Estimated fees and slippage to close both legs now. */
  readonly exitCost: number;
}

export type PairExitRule = ExitRule<PairSubject>;

/** Every exit reason code with its layer: stable, logged with each exit and carried on its orders. */
export const EXIT_CODES = {
  BROKEN_HEDGE: {
    layer: 1,
    action: 'close',
    meaning: 'a leg is missing, on the wrong side, or mismatched beyond brokenTolerance',
  },
  LIQUIDATION_RISK: {
    layer: 1,
    action: 'close',
    meaning:
      "a leg's mark is within minDistance of its liquidation price, or its account health is below minHealth",
  },
  HEDGE_REBALANCE: {
    layer: 1,
    action: 'rebalance',
    meaning:
      'the legs differ by more than rebalanceTolerance (and at most brokenTolerance): the larger is cut to the smaller',
  },
  NET_EV_NEGATIVE: {
    layer: 2,
    action: 'close',
    meaning: 'expected funding from holding for horizonHours more is below the floor',
  },
  OPPORTUNITY_COST: {
    layer: 2,
    action: 'close',
    meaning:
      'another venue pair of the asset beats this one by marginApy and pays for the switch within horizonHours',
  },
  FUNDING_FLIP: {
    layer: 2,
    action: 'close',
    meaning: 'the hourly net APY has been below −thresholdApy for confirmHours samples in a row',
  },
  TAKE_PROFIT: {
    layer: 3,
    action: 'close',
    meaning: 'net PnL after fees and estimated exit costs reached netPnlBps of the notional',
  },
  VELOCITY_EXIT: {
    layer: 3,
    action: 'close',
    meaning: 'the hourly net APY is falling faster than dropApyPerHour (least squares over the last hours)',
  },
  Z_SCORE_EXIT: {
    layer: 3,
    action: 'close',
    meaning: "the latest hourly net APY is more than threshold standard deviations below its window's mean",
  },
} as const satisfies Record<string, { layer: ExitLayer; action: ExitDecision['action']; meaning: string }>;

export type ExitCode = keyof typeof EXIT_CODES;

const percent = (value: number) => `${(value * 100).toFixed(2)}%`;

/** |long| vs |short|: the relative mismatch of the legs, 0 when equal. */
function mismatch(subject: PairSubject): number {
  const long = Math.abs(subject.long.quantity);
  const short = Math.abs(subject.short.quantity);
  const larger = Math.max(long, short);
  return larger > 0 ? Math.abs(long - short) / larger : 0;
}

export function brokenHedgeRule(options: { brokenTolerance: number }): PairExitRule {
  return {
    name: 'broken-hedge',
    layer: 1,
    priority: 10,
    evaluate(subject) {
      const { long, short } = subject;
      let problem: string | undefined;
      if (long.quantity === 0 && short.quantity === 0)
        problem = 'both legs are flat (closed outside the pair)';
      else if (long.quantity <= 0)
        problem = `the long leg ${long.ref.exchange}:${long.ref.symbol} holds ${long.quantity}`;
      else if (short.quantity >= 0)
        problem = `the short leg ${short.ref.exchange}:${short.ref.symbol} holds ${short.quantity}`;
      else {
        const off = mismatch(subject);
        if (off > options.brokenTolerance)
          problem = `legs differ by ${percent(off)} (long ${long.quantity}, short ${short.quantity}) > ${percent(options.brokenTolerance)}`;
      }
      if (problem === undefined) return null;
      return { action: 'close', code: 'BROKEN_HEDGE', message: problem, urgency: 'emergency' };
    },
  };
}

export function liquidationRule(options: { minDistance: number; minHealth: number }): PairExitRule {
  const check = (leg: LegView, name: string): string | undefined => {
    if (leg.liquidationPrice !== undefined && leg.liquidationPrice > 0 && leg.mark > 0) {
      const distance = Math.abs(leg.mark - leg.liquidationPrice) / leg.mark;
      if (distance < options.minDistance)
        return `${name} leg ${leg.ref.exchange}:${leg.ref.symbol} mark ${leg.mark} is ${percent(distance)} from liquidation at ${leg.liquidationPrice} (< ${percent(options.minDistance)})`;
    }
    if (leg.healthRatio !== undefined && leg.healthRatio < options.minHealth)
      return `${name} leg account ${leg.ref.exchange}/${leg.ref.account} health ${percent(leg.healthRatio)} < ${percent(options.minHealth)}`;
    return undefined;
  };
  return {
    name: 'liquidation-risk',
    layer: 1,
    priority: 20,
    evaluate(subject) {
      const problem = check(subject.long, 'long') ?? check(subject.short, 'short');
      if (problem === undefined) return null;
      return { action: 'close', code: 'LIQUIDATION_RISK', message: problem, urgency: 'emergency' };
    },
  };
}

export function hedgeRebalanceRule(options: { rebalanceTolerance: number }): PairExitRule {
  return {
    name: 'hedge-rebalance',
    layer: 1,
    priority: 30,
    evaluate(subject) {
      const { long, short } = subject;
      if (long.quantity <= 0 || short.quantity >= 0) return null;
      const off = mismatch(subject);
      if (off <= options.rebalanceTolerance) return null;
      const target = Math.min(long.quantity, -short.quantity);
      return {
        action: 'rebalance',
        code: 'HEDGE_REBALANCE',
        message: `legs differ by ${percent(off)} (long ${long.quantity}, short ${short.quantity}) > ${percent(options.rebalanceTolerance)}: cutting the larger to ${target}`,
        targetQuantity: target,
        urgency: 'high',
      };
    },
  };
}

export function netEvRule(options: { horizonHours: number; floor: number }): PairExitRule {
  return {
    name: 'net-ev',
    layer: 2,
    priority: 10,
    evaluate(subject) {
      if (Number.isNaN(subject.forecastPerHour)) return null;
      const expected = subject.forecastPerHour * subject.notional * options.horizonHours;
      if (expected >= options.floor) return null;
      return {
        action: 'close',
        code: 'NET_EV_NEGATIVE',
        message: `expected funding over the next ${options.horizonHours} h is ${expected.toFixed(4)} (${percent(subject.forecastPerHour * HOURS_PER_YEAR)} APY) < ${options.floor}`,
      };
    },
  };
}

export function opportunityCostRule(options: { marginApy: number; horizonHours: number }): PairExitRule {
  return {
    name: 'opportunity-cost',
    layer: 2,
    priority: 20,
    evaluate(subject) {
      const alternative = subject.alternative;
      if (!alternative || Number.isNaN(subject.forecastPerHour)) return null;
      const advantage = alternative.forecastPerHour - subject.forecastPerHour;
      if (advantage * HOURS_PER_YEAR < options.marginApy) return null;
      const gain = advantage * subject.notional * options.horizonHours;
      if (gain <= alternative.switchCost) return null;
      return {
        action: 'close',
        code: 'OPPORTUNITY_COST',
        message: `long ${alternative.long.exchange} / short ${alternative.short.exchange} pays ${percent(alternative.forecastPerHour * HOURS_PER_YEAR)} APY vs ${percent(subject.forecastPerHour * HOURS_PER_YEAR)}: ${gain.toFixed(4)} more over ${options.horizonHours} h > switch cost ${alternative.switchCost.toFixed(4)}`,
      };
    },
  };
}

export function fundingFlipRule(options: { thresholdApy: number; confirmHours: number }): PairExitRule {
  return {
    name: 'funding-flip',
    layer: 2,
    priority: 30,
    evaluate(subject) {
      const history = subject.history;
      if (!history || history.count < options.confirmHours) return null;
      for (let ago = 0; ago < options.confirmHours; ago += 1)
        if (!(history.get(ago) < -options.thresholdApy)) return null;
      return {
        action: 'close',
        code: 'FUNDING_FLIP',
        message: `hourly net APY has been below ${percent(-options.thresholdApy)} for ${options.confirmHours} h (latest ${percent(history.get(0))}): the venues swapped sides`,
      };
    },
  };
}

export function takeProfitRule(options: { netPnlBps: number }): PairExitRule {
  return {
    name: 'take-profit',
    layer: 3,
    priority: 10,
    evaluate(subject) {
      if (!(subject.notional > 0)) return null;
      const after = subject.pnl.netPnl - subject.exitCost;
      const bps = (after / subject.notional) * 10_000;
      if (bps < options.netPnlBps) return null;
      return {
        action: 'close',
        code: 'TAKE_PROFIT',
        message: `net PnL after estimated exit costs ${after.toFixed(4)} is ${bps.toFixed(2)} bps of ${subject.notional.toFixed(2)} (≥ ${options.netPnlBps})`,
      };
    },
  };
}

export function velocityRule(options: { dropApyPerHour: number; hours: number }): PairExitRule {
  return {
    name: 'velocity',
    layer: 3,
    priority: 20,
    evaluate(subject) {
      const history = subject.history;
      if (!history) return null;
      const slope = history.slope(options.hours);
      if (!(slope <= -options.dropApyPerHour)) return null;
      return {
        action: 'close',
        code: 'VELOCITY_EXIT',
        message: `hourly net APY is falling ${percent(-slope)} per hour over the last ${options.hours} h (≥ ${percent(options.dropApyPerHour)})`,
      };
    },
  };
}

export function zScoreRule(options: { threshold: number; window: number; minSamples: number }): PairExitRule {
  return {
    name: 'z-score',
    layer: 3,
    priority: 30,
    evaluate(subject) {
      const history = subject.history;
      if (!history) return null;
      const z = history.zScore(options.window, options.minSamples);
      if (!(z <= -options.threshold)) return null;
      return {
        action: 'close',
        code: 'Z_SCORE_EXIT',
        message: `hourly net APY ${percent(history.get(0))} is ${(-z).toFixed(2)} standard deviations below its ${Math.min(options.window, history.count)} h mean (≥ ${options.threshold})`,
      };
    },
  };
}

/** The configured rules in evaluation order (layer, priority, name). */
export function buildExitStack(exits: FundingArbOptions['exits']): PairExitRule[] {
  const rules: PairExitRule[] = [
    brokenHedgeRule(exits.hedge),
    liquidationRule(exits.liquidation),
    hedgeRebalanceRule(exits.hedge),
  ];
  if (exits.netEv.enabled) rules.push(netEvRule(exits.netEv));
  if (exits.opportunityCost.enabled) rules.push(opportunityCostRule(exits.opportunityCost));
  if (exits.fundingFlip.enabled) rules.push(fundingFlipRule(exits.fundingFlip));
  if (exits.takeProfit) rules.push(takeProfitRule(exits.takeProfit));
  if (exits.velocity) rules.push(velocityRule(exits.velocity));
  if (exits.zScore) rules.push(zScoreRule(exits.zScore));
  return sortExitRules(rules);
}
