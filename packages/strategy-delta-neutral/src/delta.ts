import { roundToStepNumber } from '@perpkit/core';

/** One leg of a hedge: its signed position (base units, + long, − short) and its price. */
export interface LegExposure {
  readonly quantity: number;
  readonly price: number;
}

/** Net delta in the quote asset: the sum over all legs of signed quantity × price. */
export function netDelta(legs: readonly LegExposure[]): number {
  let net = 0;
  for (const leg of legs) net += leg.quantity * leg.price;
  return net;
}

/** Gross exposure in the quote asset: the sum over all legs of |quantity × price|. */
export function grossExposure(legs: readonly LegExposure[]): number {
  let gross = 0;
  for (const leg of legs) gross += Math.abs(leg.quantity * leg.price);
  return gross;
}

/** Drift = net delta / gross exposure, in [−1, 1]; 0 with no exposure at all. */
export function deltaDrift(legs: readonly LegExposure[]): number {
  const gross = grossExposure(legs);
  return gross === 0 ? 0 : netDelta(legs) / gross;
}

export type RebalanceDirection = 'EXPAND_SHORT' | 'REDUCE_SHORT';

/** Net long → sell more on the short leg; net short → buy some of the short back. */
export function rebalanceDirection(net: number): RebalanceDirection | undefined {
  if (net > 0) return 'EXPAND_SHORT';
  if (net < 0) return 'REDUCE_SHORT';
  return undefined;
}

/** Milliseconds left before a rebalance is allowed again (0: allowed now). */
export function cooldownRemaining(
  now: number,
  lastRebalanceAt: number | undefined,
  cooldownMs: number,
): number {
  if (lastRebalanceAt === undefined) return 0;
  return Math.max(0, lastRebalanceAt + cooldownMs - now);
}

/** A trade passes the dust filter when it is positive and at least the minimum trade size. */
export function passesMinTradeSize(quantity: number, minTradeSize: number): boolean {
  return quantity > 0 && quantity >= minTradeSize;
}

export interface RebalanceInput {
  /** Every leg of the hedge, the short (funding) leg included. */
  readonly legs: readonly LegExposure[];
  /** Index of the short leg in `legs`: the one a rebalance trades. */
  readonly shortIndex: number;
  readonly now: number;
  readonly lastRebalanceAt: number | undefined;
  /** Rebalance when |drift| is strictly above this. */
  readonly threshold: number;
  readonly cooldownMs: number;
  /** Smallest trade worth sending, in base units of the short leg. */
  readonly minTradeSize: number;
  /** Lot size of the short leg's market (exact decimal string). */
  readonly lotSize: string;
}

export type RebalanceDecision =
  | {
      readonly action: 'none';
      readonly code: 'NO_EXPOSURE' | 'WITHIN_THRESHOLD';
      readonly net: number;
      readonly drift: number;
    }
  | {
      readonly action: 'skip';
      readonly code: 'COOLDOWN' | 'BELOW_MIN_TRADE_SIZE';
      readonly direction: RebalanceDirection;
      readonly net: number;
      readonly drift: number;
      /** The trade that was filtered out (lot-rounded), for COOLDOWN and BELOW_MIN_TRADE_SIZE. */
      readonly quantity: number;
      /** For COOLDOWN: ms until a rebalance is allowed. */
      readonly waitMs?: number;
    }
  | {
      readonly action: 'rebalance';
      readonly direction: RebalanceDirection;
      readonly net: number;
      readonly drift: number;
      /** Base units to sell (EXPAND_SHORT) or buy back (REDUCE_SHORT), a multiple of the lot. */
      readonly quantity: number;
    };

/**
 * The funding shape's rebalance rule: when |drift| passes the threshold, trade the short leg by
 * the net delta (in its base units), expanding it when net long and reducing it when net short,
 * never buying back more than the short holds. Too soon after the last rebalance (cooldown) or a
 * trade smaller than the minimum size (dust) is skipped, with the reason.
 */
export function planRebalance(input: RebalanceInput): RebalanceDecision {
  const net = netDelta(input.legs);
  const gross = grossExposure(input.legs);
  if (gross === 0) return { action: 'none', code: 'NO_EXPOSURE', net, drift: 0 };
  const drift = net / gross;
  const direction = rebalanceDirection(net);
  if (direction === undefined || !(Math.abs(drift) > input.threshold))
    return { action: 'none', code: 'WITHIN_THRESHOLD', net, drift };
  const short = input.legs[input.shortIndex];
  if (!short || !(short.price > 0)) throw new RangeError('the short leg needs a positive price');
  let wanted = Math.abs(net) / short.price;
  if (direction === 'REDUCE_SHORT') wanted = Math.min(wanted, Math.max(0, -short.quantity));
  const quantity = roundToStepNumber(wanted, input.lotSize, 'floor');
  const waitMs = cooldownRemaining(input.now, input.lastRebalanceAt, input.cooldownMs);
  if (waitMs > 0) return { action: 'skip', code: 'COOLDOWN', direction, net, drift, quantity, waitMs };
  if (!passesMinTradeSize(quantity, input.minTradeSize))
    return { action: 'skip', code: 'BELOW_MIN_TRADE_SIZE', direction, net, drift, quantity };
  return { action: 'rebalance', direction, net, drift, quantity };
}
