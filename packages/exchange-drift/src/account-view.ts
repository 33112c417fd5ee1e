import {
  BN,
  calculateMarketMarginRatio,
  calculatePositionPNL,
  calculateUnsettledFundingPnl,
  type DriftClient,
  getTokenAmount,
  getVariant,
  type PerpPosition,
  type User,
  ZERO,
} from '@drift-labs/sdk';
import { type AccountSnapshot, type Balance, fromScaledInteger, type Position } from '@perpkit/core';
import { scaledToDecimal, scaledToNumber } from './precision';

/** A perp market as the adapter names it. */
export interface MarketRef {
  readonly index: number;
  /** perpkit symbol: the base asset (`SOL` for `SOL-PERP`). */
  readonly symbol: string;
}

/** One perp position with Drift's exact amounts alongside core's view. */
export interface PositionState {
  readonly marketIndex: number;
  readonly symbol: string;
  /** BASE_PRECISION integer, signed. */
  readonly baseAssetAmount: bigint;
  readonly quoteAssetAmount: bigint;
  readonly lastCumulativeFundingRate: bigint;
  /** Unsettled PnL of the position (price PnL, realized-unsettled and funding), QUOTE_PRECISION. */
  readonly unsettledPnl: bigint;
  /** Unsettled funding only, QUOTE_PRECISION (positive: received). */
  readonly unsettledFunding: bigint;
  readonly position: Position | undefined;
}

export interface AccountView {
  readonly snapshot: AccountSnapshot;
  readonly positions: ReadonlyMap<number, PositionState>;
  /** Exact health inputs (QUOTE_PRECISION), for the withdrawal floor. */
  readonly totalCollateralMaintenance: bigint;
  readonly maintenanceRequirement: bigint;
  /** Σ |base| × oracle over positions (QUOTE_PRECISION), for the leverage limit. */
  readonly grossNotional: bigint;
  /** Net asset value: spot net value plus all perp PnL (QUOTE_PRECISION). */
  readonly netValue: bigint;
  /** USDC (spot market 0) token amount, signed (QUOTE_PRECISION). */
  readonly usdc: bigint;
}

const big = (value: BN): bigint => BigInt(value.toString());

/**
 * Health as a fraction: 1 − maintenance requirement / maintenance-weighted collateral, clamped to
 * [0, 1] (1 without a requirement, 0 at or below zero collateral). The SDK's `getHealth()` is the
 * same ratio rounded to a whole percent.
 */
export function healthRatio(totalCollateral: bigint, maintenanceRequirement: bigint): number {
  if (maintenanceRequirement <= 0n) return totalCollateral >= 0n ? 1 : 0;
  if (totalCollateral <= 0n) return 0;
  const ratio = 1 - Number(maintenanceRequirement) / Number(totalCollateral);
  return Math.min(1, Math.max(0, ratio));
}

function positionView(
  exchange: string,
  account: string,
  client: DriftClient,
  user: User,
  ref: MarketRef,
  perp: PerpPosition,
  equity: number,
  now: number,
): PositionState {
  const market = client.getPerpMarketAccount(perp.marketIndex);
  const oracle = client.getOracleDataForPerpMarket(perp.marketIndex);
  if (!market) throw new Error(`perp market ${perp.marketIndex} is not loaded`);
  const unsettledPnl = calculatePositionPNL(market, perp, true, oracle);
  const unsettledFunding = calculateUnsettledFundingPnl(market, perp);
  let position: Position | undefined;
  if (!perp.baseAssetAmount.isZero()) {
    const base = perp.baseAssetAmount;
    const value = base.mul(oracle.price).div(new BN(1_000_000_000));
    const pricePnl = value.add(perp.quoteEntryAmount);
    const entryPrice = perp.quoteEntryAmount.abs().mul(new BN(1_000_000_000)).div(base.abs());
    const marginRatio = calculateMarketMarginRatio(
      market,
      base.abs(),
      'Initial',
      user.getUserAccount().maxMarginRatio,
    );
    const marginUsed = value.abs().muln(marginRatio).div(new BN(10_000));
    const liquidation = user.liquidationPrice(perp.marketIndex);
    const notional = scaledToNumber(value.abs(), 'quote');
    position = {
      exchange,
      account,
      symbol: ref.symbol,
      quantity: Number(scaledToDecimal(base, 'base')),
      entryPrice: scaledToNumber(entryPrice, 'price'),
      markPrice: scaledToNumber(oracle.price, 'price'),
      unrealizedPnl: scaledToNumber(pricePnl, 'quote'),
      realizedPnl: scaledToNumber(perp.quoteAssetAmount.sub(perp.quoteBreakEvenAmount), 'quote'),
      ...(liquidation.gt(ZERO) ? { liquidationPrice: scaledToNumber(liquidation, 'price') } : {}),
      marginUsed: scaledToNumber(marginUsed, 'quote'),
      ...(equity > 0 ? { leverage: notional / equity } : {}),
      fundingAccrued: scaledToNumber(unsettledFunding, 'quote'),
      updatedAt: now,
    };
  }
  return {
    marketIndex: perp.marketIndex,
    symbol: ref.symbol,
    baseAssetAmount: big(perp.baseAssetAmount),
    quoteAssetAmount: big(perp.quoteAssetAmount),
    lastCumulativeFundingRate: big(perp.lastCumulativeFundingRate),
    unsettledPnl: big(unsettledPnl),
    unsettledFunding: big(unsettledFunding),
    position,
  };
}

/**
 * Core's account snapshot of a Drift user, computed with the SDK's own margin math at oracle
 * prices. Money fields are QUOTE_PRECISION integers turned into the nearest doubles; the exact
 * integers are kept beside them for the adapter's own limits.
 */
export function accountView(input: {
  readonly exchange: string;
  readonly account: string;
  readonly client: DriftClient;
  readonly user: User;
  readonly markets: ReadonlyMap<number, MarketRef>;
  readonly spotSymbols: ReadonlyMap<number, string>;
  readonly now: number;
}): AccountView {
  const { client, user, exchange, account, now } = input;
  const userAccount = user.getUserAccount();
  const netSpot = user.getNetSpotMarketValue();
  const unsettled = user.getUnrealizedPNL(true);
  const netValue = netSpot.add(unsettled);
  const equity = scaledToNumber(netValue, 'quote');
  const totalCollateralMaintenance = big(user.getTotalCollateral('Maintenance'));
  const maintenanceRequirement = big(user.getMaintenanceMarginRequirement());
  const freeCollateral = user.getFreeCollateral('Initial');

  const positions = new Map<number, PositionState>();
  let grossNotional = 0n;
  for (const perp of userAccount.perpPositions) {
    if (perp.baseAssetAmount.isZero() && perp.quoteAssetAmount.isZero() && perp.openOrders === 0) continue;
    const ref = input.markets.get(perp.marketIndex);
    if (!ref) continue;
    const state = positionView(exchange, account, client, user, ref, perp, equity, now);
    positions.set(perp.marketIndex, state);
    if (state.baseAssetAmount !== 0n) {
      const oracle = client.getOracleDataForPerpMarket(perp.marketIndex).price;
      const value = (state.baseAssetAmount * big(oracle)) / 1_000_000_000n;
      grossNotional += value < 0n ? -value : value;
    }
  }

  const balances: Balance[] = [];
  let usdc = 0n;
  for (const spot of userAccount.spotPositions) {
    if (spot.scaledBalance.isZero()) continue;
    const market = client.getSpotMarketAccount(spot.marketIndex);
    if (!market) continue;
    const amount = getTokenAmount(spot.scaledBalance, market, spot.balanceType);
    const signed = getVariant(spot.balanceType) === 'borrow' ? amount.neg() : amount;
    if (spot.marketIndex === 0) usdc = big(signed);
    const total = Number(fromScaledInteger(big(signed), market.decimals));
    balances.push({
      asset: input.spotSymbols.get(spot.marketIndex) ?? `SPOT-${spot.marketIndex}`,
      total,
      free: spot.marketIndex === 0 ? Math.min(total, scaledToNumber(freeCollateral, 'quote')) : total,
    });
  }

  const snapshot: AccountSnapshot = {
    exchange,
    account,
    timestamp: now,
    equity,
    collateral: scaledToNumber(netSpot, 'quote'),
    freeCollateral: scaledToNumber(freeCollateral, 'quote'),
    marginUsed: scaledToNumber(user.getInitialMarginRequirement(), 'quote'),
    maintenanceMargin: scaledToNumber(new BN(maintenanceRequirement.toString()), 'quote'),
    healthRatio: isBeingLiquidated(userAccount.status)
      ? 0
      : healthRatio(totalCollateralMaintenance, maintenanceRequirement),
    leverage: scaledToNumber(user.getLeverage(), 'tenThousand'),
    unsettledPnl: scaledToNumber(unsettled, 'quote'),
    balances,
    positions: [...positions.values()].flatMap((state) => (state.position ? [state.position] : [])),
  };
  return {
    snapshot,
    positions,
    totalCollateralMaintenance,
    maintenanceRequirement,
    grossNotional,
    netValue: big(netValue),
    usdc,
  };
}

function isBeingLiquidated(status: number): boolean {
  return (status & 1) !== 0 || (status & 2) !== 0;
}
