import {
  BN,
  type PerpMarketAccount,
  type SpotMarketAccount,
  type StateAccount,
  type UserAccount,
} from '@drift-labs/sdk';
import { PublicKey } from '@solana/web3.js';
import { DRIFT_PROGRAM_ID, perpMarketAddress, spotMarketAddress } from '../address';
import type { DriftCoder } from '../coder';

/** A perp market the fake lists. Prices and sizes are decimal strings in the market's units. */
export interface FakePerpMarketSpec {
  readonly marketIndex: number;
  /** Base asset symbol: the market is named `<symbol>-PERP`. */
  readonly symbol: string;
  readonly price: string;
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minOrderSize?: string;
  /** Initial and maintenance margin ratios in MARGIN_PRECISION (1000 = 10 % = 10×). */
  readonly marginRatioInitial?: number;
  readonly marginRatioMaintenance?: number;
  /** Oracle account; default: a program address of the fake's own. */
  readonly oracle?: string;
}

export interface FakeSpotMarketSpec {
  readonly marketIndex: number;
  readonly symbol: string;
  readonly decimals: number;
  readonly price: string;
  readonly mint: string;
  readonly oracle?: string;
  /** Stable coin oracle (USDC): `pythLazerStableCoin`; else `pythLazer`. */
  readonly stableCoin?: boolean;
  /** Asset weights in SPOT_MARKET_WEIGHT_PRECISION (10 000 = 100 %). */
  readonly initialAssetWeight?: number;
  readonly maintenanceAssetWeight?: number;
}

export const USDC_MAINNET_MINT = 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v';
export const WRAPPED_SOL_MINT = 'So11111111111111111111111111111111111111112';

/** Mainnet's first three perp markets with parameters of the same order as the live ones. */
export const DEFAULT_PERP_MARKETS: readonly FakePerpMarketSpec[] = [
  {
    marketIndex: 0,
    symbol: 'SOL',
    price: '150',
    tickSize: '0.0001',
    stepSize: '0.01',
    marginRatioInitial: 1000,
    marginRatioMaintenance: 500,
  },
  {
    marketIndex: 1,
    symbol: 'BTC',
    price: '60000',
    tickSize: '0.1',
    stepSize: '0.0001',
    marginRatioInitial: 1000,
    marginRatioMaintenance: 500,
  },
  {
    marketIndex: 2,
    symbol: 'ETH',
    price: '3000',
    tickSize: '0.01',
    stepSize: '0.001',
    marginRatioInitial: 1000,
    marginRatioMaintenance: 500,
  },
];

export const DEFAULT_SPOT_MARKETS: readonly FakeSpotMarketSpec[] = [
  { marketIndex: 0, symbol: 'USDC', decimals: 6, price: '1', mint: USDC_MAINNET_MINT, stableCoin: true },
  {
    marketIndex: 1,
    symbol: 'SOL',
    decimals: 9,
    price: '150',
    mint: WRAPPED_SOL_MINT,
    initialAssetWeight: 8000,
    maintenanceAssetWeight: 9000,
  },
];

function scaled(value: string, decimals: number): BN {
  const [whole = '0', fraction = ''] = value.split('.');
  if (fraction.length > decimals) throw new Error(`${value} has more than ${decimals} decimals`);
  return new BN(`${whole}${fraction.padEnd(decimals, '0')}`);
}

/** A price (decimal) in PRICE_PRECISION. */
export function priceBn(price: string): BN {
  return scaled(price, 6);
}

function nameBytes(name: string): number[] {
  const bytes = Buffer.alloc(32, ' ');
  bytes.write(name);
  return [...bytes];
}

/** A stand-in oracle address for a market without one: a program address of the fake's own. */
export function fakeOracleAddress(kind: 'perp' | 'spot', marketIndex: number): string {
  return PublicKey.findProgramAddressSync(
    [Buffer.from(`perpkit_fake_oracle_${kind}`), Buffer.from([marketIndex])],
    new PublicKey(DRIFT_PROGRAM_ID),
  )[0].toBase58();
}

export function spotVaultAddress(marketIndex: number): string {
  const index = Buffer.alloc(2);
  index.writeUInt16LE(marketIndex);
  return PublicKey.findProgramAddressSync(
    [Buffer.from('spot_market_vault'), index],
    new PublicKey(DRIFT_PROGRAM_ID),
  )[0].toBase58();
}

export function driftSignerAddress(): string {
  return PublicKey.findProgramAddressSync(
    [Buffer.from('drift_signer')],
    new PublicKey(DRIFT_PROGRAM_ID),
  )[0].toBase58();
}

/** The State account: fee tier 0 takes 3.5 bps and rebates 0.2 bps; generous oracle guard rails. */
export function buildState(
  coder: DriftCoder,
  options: { perpMarkets: number; spotMarkets: number; takerFeeBps?: number; makerRebateTenthBps?: number },
): StateAccount {
  const state = coder.zeroAccount<StateAccount>('State');
  state.admin = PublicKey.default;
  state.signer = new PublicKey(driftSignerAddress());
  state.numberOfMarkets = options.perpMarkets;
  state.numberOfSpotMarkets = options.spotMarkets;
  state.numberOfAuthorities = new BN(1);
  state.numberOfSubAccounts = new BN(1);
  state.maxNumberOfSubAccounts = 20_000;
  state.liquidationMarginBufferRatio = 200;
  state.settlementDuration = 3600;
  state.minPerpAuctionDuration = 10;
  state.defaultMarketOrderTimeInForce = 60;
  state.exchangeStatus = 0;
  for (const tier of state.perpFeeStructure.feeTiers) {
    tier.feeNumerator = options.takerFeeBps ?? 35;
    tier.feeDenominator = 100_000;
    tier.makerRebateNumerator = options.makerRebateTenthBps ?? 2;
    tier.makerRebateDenominator = 100_000;
    tier.referrerRewardDenominator = 1;
    tier.refereeFeeDenominator = 1;
  }
  state.perpFeeStructure.fillerRewardStructure.rewardNumerator = 10;
  state.perpFeeStructure.fillerRewardStructure.rewardDenominator = 100;
  state.oracleGuardRails.priceDivergence.markOraclePercentDivergence = new BN(100_000);
  state.oracleGuardRails.priceDivergence.oracleTwap5MinPercentDivergence = new BN(500_000);
  state.oracleGuardRails.validity.slotsBeforeStaleForAmm = new BN(100_000);
  state.oracleGuardRails.validity.slotsBeforeStaleForMargin = new BN(100_000);
  state.oracleGuardRails.validity.confidenceIntervalMaxSize = new BN(20_000);
  state.oracleGuardRails.validity.tooVolatileRatio = new BN(5);
  return state;
}

/**
 * A perp market whose AMM is balanced at the oracle price (base and quote reserves equal, peg at
 * the price), funding hourly, margin ratios from the spec.
 */
export function buildPerpMarket(
  coder: DriftCoder,
  spec: FakePerpMarketSpec,
  nowSeconds: number,
): PerpMarketAccount {
  const market = coder.zeroAccount<PerpMarketAccount>('PerpMarket');
  const price = priceBn(spec.price);
  const reserve = new BN(10).pow(new BN(15));
  const now = new BN(nowSeconds);
  market.pubkey = new PublicKey(perpMarketAddress(spec.marketIndex));
  market.marketIndex = spec.marketIndex;
  market.name = nameBytes(`${spec.symbol}-PERP`);
  market.status = { active: {} } as PerpMarketAccount['status'];
  market.contractType = { perpetual: {} } as PerpMarketAccount['contractType'];
  market.contractTier = { a: {} } as PerpMarketAccount['contractTier'];
  market.marginRatioInitial = spec.marginRatioInitial ?? 1000;
  market.marginRatioMaintenance = spec.marginRatioMaintenance ?? 500;
  market.unrealizedPnlInitialAssetWeight = 10_000;
  market.unrealizedPnlMaintenanceAssetWeight = 10_000;
  market.liquidatorFee = 10_000;
  market.quoteSpotMarketIndex = 0;
  market.numberOfUsers = 1;
  const amm = market.amm;
  amm.oracle = new PublicKey(spec.oracle ?? fakeOracleAddress('perp', spec.marketIndex));
  amm.oracleSource = { pythLazer: {} } as typeof amm.oracleSource;
  amm.baseAssetReserve = reserve;
  amm.quoteAssetReserve = reserve;
  amm.sqrtK = reserve;
  amm.terminalQuoteAssetReserve = reserve;
  amm.minBaseAssetReserve = reserve.divn(2);
  amm.maxBaseAssetReserve = reserve.muln(2);
  amm.askBaseAssetReserve = reserve;
  amm.askQuoteAssetReserve = reserve;
  amm.bidBaseAssetReserve = reserve;
  amm.bidQuoteAssetReserve = reserve;
  amm.pegMultiplier = price;
  amm.concentrationCoef = new BN(1_414_200);
  amm.orderTickSize = priceBn(spec.tickSize);
  amm.orderStepSize = scaled(spec.stepSize, 9);
  amm.minOrderSize = scaled(spec.minOrderSize ?? spec.stepSize, 9);
  amm.maxOpenInterest = new BN(10).pow(new BN(18));
  amm.fundingPeriod = new BN(3600);
  amm.lastFundingRateTs = now.subn(now.toNumber() % 3600);
  amm.lastFundingOracleTwap = price;
  amm.lastMarkPriceTwap = price;
  amm.lastMarkPriceTwap5Min = price;
  amm.lastBidPriceTwap = price;
  amm.lastAskPriceTwap = price;
  amm.lastMarkPriceTwapTs = now;
  amm.lastTradeTs = now;
  amm.lastOracleValid = true;
  amm.lastOracleNormalisedPrice = price;
  amm.historicalOracleData.lastOraclePrice = price;
  amm.historicalOracleData.lastOraclePriceTwap = price;
  amm.historicalOracleData.lastOraclePriceTwap5Min = price;
  amm.historicalOracleData.lastOraclePriceTwapTs = now;
  amm.baseSpread = 100;
  amm.maxSpread = 10_000;
  amm.longSpread = 50;
  amm.shortSpread = 50;
  amm.maxFillReserveFraction = 100;
  amm.maxSlippageRatio = 50;
  amm.curveUpdateIntensity = 100;
  return market;
}

export function buildSpotMarket(
  coder: DriftCoder,
  spec: FakeSpotMarketSpec,
  nowSeconds: number,
): SpotMarketAccount {
  const market = coder.zeroAccount<SpotMarketAccount>('SpotMarket');
  const price = priceBn(spec.price);
  market.pubkey = new PublicKey(spotMarketAddress(spec.marketIndex));
  market.marketIndex = spec.marketIndex;
  market.name = nameBytes(spec.symbol);
  market.mint = new PublicKey(spec.mint);
  market.vault = new PublicKey(spotVaultAddress(spec.marketIndex));
  market.oracle = new PublicKey(spec.oracle ?? fakeOracleAddress('spot', spec.marketIndex));
  market.oracleSource = (
    spec.stableCoin ? { pythLazerStableCoin: {} } : { pythLazer: {} }
  ) as typeof market.oracleSource;
  market.decimals = spec.decimals;
  market.status = { active: {} } as SpotMarketAccount['status'];
  market.assetTier = { collateral: {} } as SpotMarketAccount['assetTier'];
  market.ordersEnabled = true;
  // SPOT_MARKET_CUMULATIVE_INTEREST_PRECISION: 10^10 = no interest accrued yet.
  market.cumulativeDepositInterest = new BN(10).pow(new BN(10));
  market.cumulativeBorrowInterest = new BN(10).pow(new BN(10));
  market.initialAssetWeight = spec.initialAssetWeight ?? 10_000;
  market.maintenanceAssetWeight = spec.maintenanceAssetWeight ?? 10_000;
  market.initialLiabilityWeight = 20_000 - market.initialAssetWeight;
  market.maintenanceLiabilityWeight = 20_000 - market.maintenanceAssetWeight;
  market.optimalUtilization = 800_000;
  market.optimalBorrowRate = 100_000;
  market.maxBorrowRate = 1_000_000;
  market.maxTokenDeposits = new BN(10).pow(new BN(18));
  market.withdrawGuardThreshold = new BN(10).pow(new BN(18));
  market.orderStepSize = new BN(1);
  market.orderTickSize = new BN(1);
  market.lastInterestTs = new BN(nowSeconds);
  market.lastTwapTs = new BN(nowSeconds);
  market.historicalOracleData.lastOraclePrice = price;
  market.historicalOracleData.lastOraclePriceTwap = price;
  market.historicalOracleData.lastOraclePriceTwap5Min = price;
  market.historicalOracleData.lastOraclePriceTwapTs = new BN(nowSeconds);
  market.historicalIndexData.lastIndexBidPrice = price;
  market.historicalIndexData.lastIndexAskPrice = price;
  market.historicalIndexData.lastIndexPriceTwap = price;
  market.historicalIndexData.lastIndexPriceTwap5Min = price;
  market.historicalIndexData.lastIndexPriceTwapTs = new BN(nowSeconds);
  return market;
}

/** A Pyth Lazer oracle account (Drift's own `PythLazerOracle` type), price with 8 decimals. */
export interface FakeOracle {
  price: BN;
  publishTime: BN;
  postedSlot: BN;
  exponent: number;
  padding: number[];
  conf: BN;
}

export function buildOracle(price: string, slot: number, nowSeconds: number): FakeOracle {
  return {
    price: scaled(price, 8),
    publishTime: new BN(nowSeconds),
    postedSlot: new BN(slot),
    exponent: -8,
    padding: [0, 0, 0, 0],
    conf: new BN(1_000),
  };
}

/** A fresh User account: `usdc` deposited into spot market 0, nothing else. */
export function buildUser(
  coder: DriftCoder,
  options: { authority: string; subAccountId: number; name?: string; usdcScaledBalance: BN; deposits: BN },
): UserAccount {
  const user = coder.zeroAccount<UserAccount>('User');
  user.authority = new PublicKey(options.authority);
  user.delegate = PublicKey.default;
  user.subAccountId = options.subAccountId;
  user.name = nameBytes(
    options.name ?? (options.subAccountId === 0 ? 'Main Account' : `Subaccount ${options.subAccountId}`),
  );
  user.nextOrderId = 1;
  user.nextLiquidationId = 1;
  user.totalDeposits = options.deposits;
  const usdc = user.spotPositions[0];
  if (usdc && !options.usdcScaledBalance.isZero()) {
    usdc.marketIndex = 0;
    usdc.balanceType = { deposit: {} } as typeof usdc.balanceType;
    usdc.scaledBalance = options.usdcScaledBalance;
    usdc.cumulativeDeposits = options.deposits;
  }
  return user;
}
