import { createPublicKey, randomBytes, verify } from 'node:crypto';
import {
  BN,
  type Order,
  type PerpMarketAccount,
  type PerpPosition,
  type SpotMarketAccount,
  type SpotPosition,
  type StateAccount,
  type UserAccount,
} from '@drift-labs/sdk';
import { base58 } from '@scure/base';
import { PublicKey, type VersionedTransaction } from '@solana/web3.js';
import { DRIFT_PROGRAM_ID, stateAccountAddress } from '../address';
import type { DriftCoder } from '../coder';
import type { FakeOracle } from './markets';

export const TOKEN_PROGRAM_ID = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
export const ASSOCIATED_TOKEN_PROGRAM_ID = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
export const SYSTEM_PROGRAM_ID = '11111111111111111111111111111111';
const COMPUTE_BUDGET_PROGRAM_ID = 'ComputeBudget111111111111111111111111111111';

const BASE_PRECISION = new BN(1_000_000_000);
const MARGIN_PRECISION = new BN(10_000);
const FUNDING_RATE_BUFFER = new BN(1_000);
const ZERO = new BN(0);

/** An SPL token account the fake keeps (the user's USDC wallet, vaults). */
export interface FakeTokenAccount {
  readonly mint: string;
  readonly owner: string;
  amount: bigint;
}

/** A failure of the Drift program, as Anchor reports it. */
export class ProgramError extends Error {
  constructor(
    readonly errorName: string,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ExecutionResult {
  readonly err: unknown;
  readonly logs: string[];
  readonly unitsConsumed: number;
  /** Accounts the transaction wrote (for signature lookups by address). */
  readonly touched: string[];
}

interface Snapshot {
  readonly state: Buffer;
  readonly perpMarkets: [number, Buffer][];
  readonly spotMarkets: [number, Buffer][];
  readonly users: [string, Buffer][];
  readonly oracles: [string, FakeOracle][];
  readonly tokens: [string, FakeTokenAccount][];
}

function variant(value: unknown): string {
  return Object.keys(value as object)[0] ?? '';
}

function divCeil(numerator: BN, denominator: BN): BN {
  const quotient = numerator.div(denominator);
  return numerator.mod(denominator).isZero() ? quotient : quotient.addn(1);
}

/** The program address of an associated token account (`[owner, token program, mint]`). */
export function associatedTokenAddress(owner: string, mint: string): string {
  return PublicKey.findProgramAddressSync(
    [
      new PublicKey(owner).toBuffer(),
      new PublicKey(TOKEN_PROGRAM_ID).toBuffer(),
      new PublicKey(mint).toBuffer(),
    ],
    new PublicKey(ASSOCIATED_TOKEN_PROGRAM_ID),
  )[0].toBase58();
}

/** The 165 bytes of an initialized SPL token account. */
export function encodeTokenAccount(account: FakeTokenAccount): Buffer {
  const data = Buffer.alloc(165);
  new PublicKey(account.mint).toBuffer().copy(data, 0);
  new PublicKey(account.owner).toBuffer().copy(data, 32);
  data.writeBigUInt64LE(account.amount, 64);
  data.writeUInt8(1, 108); // AccountState::Initialized
  return data;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function verifySignature(message: Uint8Array, signature: Uint8Array, signer: PublicKey): boolean {
  const key = createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, signer.toBuffer()]),
    format: 'der',
    type: 'spki',
  });
  return verify(null, message, key, signature);
}

/**
 * A small model of the Drift program over real account layouts: it decodes each transaction's
 * Drift instructions with the SDK's own IDL and applies deposits, withdrawals, perp orders (taker
 * fills against an AMM quote at the oracle ± a spread, resting limit orders), cancels, PnL
 * settlement and funding, with Drift's error codes. Margin is simplified (see the README): oracle
 * values, market margin ratios, spot asset weights, no size premiums.
 */
export class FakeDriftProgram {
  state: StateAccount;
  readonly perpMarkets = new Map<number, PerpMarketAccount>();
  readonly spotMarkets = new Map<number, SpotMarketAccount>();
  readonly oracles = new Map<string, FakeOracle>();
  readonly users = new Map<string, UserAccount>();
  readonly tokens = new Map<string, FakeTokenAccount>();
  /** Half-spread of taker fills around the oracle, in basis points. */
  takerSpreadBps = 2;

  constructor(
    readonly coder: DriftCoder,
    state: StateAccount,
    private readonly clock: { slot(): number; nowSeconds(): number },
  ) {
    this.state = state;
  }

  // ------------------------------------------------------------------ accounts

  /** Raw account data, owner and lamports, as `getAccountInfo` serves them. */
  accountInfo(address: string): { data: Buffer; owner: string; lamports: number } | undefined {
    if (address === stateAccountAddress())
      return { data: this.coder.encodeAccount('State', this.state), owner: DRIFT_PROGRAM_ID, lamports: 1 };
    for (const market of this.perpMarkets.values())
      if (market.pubkey.toBase58() === address)
        return { data: this.coder.encodeAccount('PerpMarket', market), owner: DRIFT_PROGRAM_ID, lamports: 1 };
    for (const market of this.spotMarkets.values())
      if (market.pubkey.toBase58() === address)
        return { data: this.coder.encodeAccount('SpotMarket', market), owner: DRIFT_PROGRAM_ID, lamports: 1 };
    const user = this.users.get(address);
    if (user) return { data: this.coder.encodeAccount('User', user), owner: DRIFT_PROGRAM_ID, lamports: 1 };
    const oracle = this.oracles.get(address);
    if (oracle)
      return {
        data: this.coder.encodeAccount('PythLazerOracle', oracle),
        owner: DRIFT_PROGRAM_ID,
        lamports: 1,
      };
    const token = this.tokens.get(address);
    if (token) return { data: encodeTokenAccount(token), owner: TOKEN_PROGRAM_ID, lamports: 2_039_280 };
    return undefined;
  }

  snapshot(): Snapshot {
    return {
      state: this.coder.encodeAccount('State', this.state),
      perpMarkets: [...this.perpMarkets].map(([index, market]) => [
        index,
        this.coder.encodeAccount('PerpMarket', market),
      ]),
      spotMarkets: [...this.spotMarkets].map(([index, market]) => [
        index,
        this.coder.encodeAccount('SpotMarket', market),
      ]),
      users: [...this.users].map(([address, user]) => [address, this.coder.encodeAccount('User', user)]),
      oracles: [...this.oracles].map(([address, oracle]) => [address, { ...oracle }]),
      tokens: [...this.tokens].map(([address, token]) => [address, { ...token }]),
    };
  }

  restore(snapshot: Snapshot): void {
    this.state = this.coder.decodeAccount('State', snapshot.state);
    this.perpMarkets.clear();
    for (const [index, data] of snapshot.perpMarkets)
      this.perpMarkets.set(index, this.coder.decodeAccount('PerpMarket', data));
    this.spotMarkets.clear();
    for (const [index, data] of snapshot.spotMarkets)
      this.spotMarkets.set(index, this.coder.decodeAccount('SpotMarket', data));
    this.users.clear();
    for (const [address, data] of snapshot.users)
      this.users.set(address, this.coder.decodeAccount('User', data));
    this.oracles.clear();
    for (const [address, oracle] of snapshot.oracles) this.oracles.set(address, { ...oracle });
    this.tokens.clear();
    for (const [address, token] of snapshot.tokens) this.tokens.set(address, { ...token });
  }

  /** Oracle price of a perp market in PRICE_PRECISION. */
  perpOraclePrice(marketIndex: number): BN {
    const market = this.perpMarkets.get(marketIndex);
    const oracle = market && this.oracles.get(market.amm.oracle.toBase58());
    if (!oracle) throw new Error(`no oracle for perp market ${marketIndex}`);
    return oracle.price.divn(100); // 8 decimals → PRICE_PRECISION
  }

  spotOraclePrice(marketIndex: number): BN {
    const market = this.spotMarkets.get(marketIndex);
    const oracle = market && this.oracles.get(market.oracle.toBase58());
    if (!oracle) throw new Error(`no oracle for spot market ${marketIndex}`);
    return oracle.price.divn(100);
  }

  // ------------------------------------------------------------------ transactions

  /**
   * Runs a signed transaction against the accounts. Mutates on success; the caller snapshots and
   * restores around simulations and failures.
   */
  execute(transaction: VersionedTransaction): ExecutionResult {
    const logs: string[] = [];
    const touched = new Set<string>();
    const message = transaction.message;
    const keys = message.staticAccountKeys;
    const signers = keys.slice(0, message.header.numRequiredSignatures);
    const messageBytes = message.serialize();
    for (const [index, signer] of signers.entries()) {
      const signature = transaction.signatures[index];
      if (!signature || !verifySignature(messageBytes, signature, signer))
        return { err: 'SignatureFailure', logs, unitsConsumed: 0, touched: [] };
    }
    let unitsConsumed = 0;
    for (const [index, instruction] of message.compiledInstructions.entries()) {
      const programId = keys[instruction.programIdIndex]?.toBase58() ?? '';
      const accounts = instruction.accountKeyIndexes.map((keyIndex) =>
        (keys[keyIndex] as PublicKey).toBase58(),
      );
      logs.push(`Program ${programId} invoke [1]`);
      if (programId === COMPUTE_BUDGET_PROGRAM_ID) {
        logs.push(`Program ${programId} success`);
        continue;
      }
      if (programId === SYSTEM_PROGRAM_ID) {
        for (const account of accounts) touched.add(account);
        logs.push(`Program ${programId} success`);
        continue;
      }
      if (programId !== DRIFT_PROGRAM_ID) {
        logs.push(`Program ${programId} success`);
        continue;
      }
      const decoded = this.coder.decodeInstruction(Buffer.from(instruction.data));
      if (!decoded) {
        logs.push(`Program ${programId} failed: invalid instruction data`);
        return {
          err: { InstructionError: [index, 'InvalidInstructionData'] },
          logs,
          unitsConsumed,
          touched: [],
        };
      }
      const named = new Map<string, string>();
      decoded.accounts.forEach((name, position) => {
        const account = accounts[position];
        if (account !== undefined) named.set(name, account);
      });
      logs.push(`Program log: Instruction: ${decoded.name[0]?.toUpperCase()}${decoded.name.slice(1)}`);
      try {
        this.runInstruction(decoded.name, decoded.data, named, signers, logs);
        const user = named.get('user');
        if (user) touched.add(user);
        unitsConsumed += 50_000;
        logs.push(`Program ${programId} consumed 50000 of 1400000 compute units`);
        logs.push(`Program ${programId} success`);
      } catch (error) {
        if (!(error instanceof ProgramError)) throw error;
        logs.push(
          `Program log: AnchorError occurred. Error Code: ${error.errorName}. Error Number: ${error.errorCode}. Error Message: ${error.message}.`,
        );
        logs.push(`Program ${programId} consumed 20000 of 1400000 compute units`);
        logs.push(`Program ${programId} failed: custom program error: 0x${error.errorCode.toString(16)}`);
        return {
          err: { InstructionError: [index, { Custom: error.errorCode }] },
          logs,
          unitsConsumed,
          touched: [],
        };
      }
    }
    return { err: null, logs, unitsConsumed, touched: [...touched] };
  }

  private fail(name: string, message?: string): never {
    throw new ProgramError(name, this.coder.errorCode(name), message ?? name);
  }

  private userFor(named: Map<string, string>, signers: readonly PublicKey[]): UserAccount {
    const address = named.get('user');
    const user = address === undefined ? undefined : this.users.get(address);
    if (!user) this.fail('UserNotFound');
    const authority = named.get('authority');
    const signed = signers.some((signer) => signer.toBase58() === authority);
    const allowed = authority === user.authority.toBase58() || authority === user.delegate.toBase58();
    if (!signed || !allowed) this.fail('Unauthorized', 'authority did not sign or does not own the user');
    return user;
  }

  private runInstruction(
    name: string,
    data: Record<string, unknown>,
    named: Map<string, string>,
    signers: readonly PublicKey[],
    logs: string[],
  ): void {
    switch (name) {
      case 'deposit':
        this.deposit(this.userFor(named, signers), named, data as { marketIndex: number; amount: BN });
        return;
      case 'withdraw':
        this.withdraw(
          this.userFor(named, signers),
          named,
          data as { marketIndex: number; amount: BN; reduceOnly: boolean },
        );
        return;
      case 'placePerpOrder':
        this.placePerpOrder(
          this.userFor(named, signers),
          named.get('user') as string,
          data.params as OrderParamsData,
          logs,
        );
        return;
      case 'placeAndTakePerpOrder':
        this.placeAndTakePerpOrder(
          this.userFor(named, signers),
          named.get('user') as string,
          data.params as OrderParamsData,
          data.successCondition as number | null,
          logs,
        );
        return;
      case 'cancelOrder':
        this.cancelOrder(
          this.userFor(named, signers),
          data.orderId as number | null,
          logs,
          named.get('user') as string,
        );
        return;
      case 'cancelOrderByUserId': {
        const user = this.userFor(named, signers);
        const order = user.orders.find(
          (candidate) => variant(candidate.status) === 'open' && candidate.userOrderId === data.userOrderId,
        );
        if (!order) this.fail('OrderDoesNotExist');
        this.cancelOrder(user, order.orderId, logs, named.get('user') as string);
        return;
      }
      case 'cancelOrders':
        this.cancelOrders(
          this.userFor(named, signers),
          data as { marketType: unknown; marketIndex: number | null; direction: unknown },
          logs,
          named.get('user') as string,
        );
        return;
      case 'settlePnl':
        this.settlePnl(this.userFor(named, signers), (data as { marketIndex: number }).marketIndex);
        return;
      default:
        this.fail('InvalidOrder', `the fake Drift program does not implement ${name}`);
    }
  }

  // ------------------------------------------------------------------ spot balances

  private spotMarket(marketIndex: number): SpotMarketAccount {
    const market = this.spotMarkets.get(marketIndex);
    if (!market) this.fail('SpotMarketNotFound');
    return market;
  }

  /** Token units → scaled balance (SPOT_MARKET_BALANCE_PRECISION), rounding as the program does. */
  private scaledBalance(market: SpotMarketAccount, tokenAmount: BN, roundUp: boolean): BN {
    const precisionIncrease = new BN(10).pow(new BN(19 - market.decimals));
    const numerator = tokenAmount.mul(precisionIncrease);
    return roundUp
      ? divCeil(numerator, market.cumulativeDepositInterest)
      : numerator.div(market.cumulativeDepositInterest);
  }

  private tokenAmount(market: SpotMarketAccount, position: SpotPosition): BN {
    const precisionDecrease = new BN(10).pow(new BN(19 - market.decimals));
    return position.scaledBalance.mul(market.cumulativeDepositInterest).div(precisionDecrease);
  }

  private spotPosition(user: UserAccount, marketIndex: number, create: boolean): SpotPosition | undefined {
    const existing = user.spotPositions.find(
      (position) => position.marketIndex === marketIndex && !position.scaledBalance.isZero(),
    );
    if (existing || !create) return existing;
    const free = user.spotPositions.find(
      (position) => position.scaledBalance.isZero() && position.openOrders === 0,
    );
    if (!free) this.fail('MaxNumberOfPositions');
    free.marketIndex = marketIndex;
    free.balanceType = { deposit: {} } as SpotPosition['balanceType'];
    free.cumulativeDeposits = ZERO;
    return free;
  }

  /** Signed USDC (spot market 0) balance in token units. */
  private usdcBalance(user: UserAccount): BN {
    const position = this.spotPosition(user, 0, false);
    if (!position) return ZERO;
    const amount = this.tokenAmount(this.spotMarket(0), position);
    return variant(position.balanceType) === 'borrow' ? amount.neg() : amount;
  }

  private addUsdc(user: UserAccount, amount: BN): void {
    const market = this.spotMarket(0);
    const position = this.spotPosition(user, 0, true) as SpotPosition;
    const next = this.usdcBalance(user).add(amount);
    if (next.isNeg()) this.fail('InsufficientCollateralForSettlingPNL');
    position.balanceType = { deposit: {} } as SpotPosition['balanceType'];
    position.scaledBalance = this.scaledBalance(market, next, false);
  }

  private deposit(
    user: UserAccount,
    named: Map<string, string>,
    data: { marketIndex: number; amount: BN },
  ): void {
    const market = this.spotMarket(data.marketIndex);
    const source = this.tokens.get(named.get('userTokenAccount') ?? '');
    if (!source || source.mint !== market.mint.toBase58())
      throw new ProgramError('InvalidAccountData', 3007, 'the user token account does not hold this mint');
    const amount = BigInt(data.amount.toString());
    if (amount <= 0n) this.fail('InsufficientDeposit');
    if (source.amount < amount) throw new ProgramError('TokenInsufficientFunds', 1, 'insufficient funds');
    source.amount -= amount;
    const vault = this.tokens.get(market.vault.toBase58());
    if (vault) vault.amount += amount;
    const position = this.spotPosition(user, data.marketIndex, true) as SpotPosition;
    const current = this.tokenAmount(market, position);
    position.scaledBalance = this.scaledBalance(market, current.add(data.amount), false);
    position.cumulativeDeposits = position.cumulativeDeposits.add(data.amount);
    market.depositBalance = market.depositBalance.add(this.scaledBalance(market, data.amount, false));
    if (data.marketIndex === 0) user.totalDeposits = user.totalDeposits.add(data.amount);
  }

  private withdraw(
    user: UserAccount,
    named: Map<string, string>,
    data: { marketIndex: number; amount: BN; reduceOnly: boolean },
  ): void {
    const market = this.spotMarket(data.marketIndex);
    const position = this.spotPosition(user, data.marketIndex, false);
    const balance = position ? this.tokenAmount(market, position) : ZERO;
    let amount = data.amount;
    if (data.reduceOnly) amount = BN.min(amount, balance);
    if (amount.gt(balance))
      this.fail(
        'InsufficientCollateral',
        'the fake Drift program does not lend: withdraw at most the deposit',
      );
    if (!position || amount.isZero()) this.fail('InsufficientDeposit');
    position.scaledBalance = this.scaledBalance(market, balance.sub(amount), false);
    position.cumulativeDeposits = position.cumulativeDeposits.sub(amount);
    if (this.freeCollateral(user, 'initial').isNeg()) this.fail('InsufficientCollateral');
    const destination = this.tokens.get(named.get('userTokenAccount') ?? '');
    if (!destination) throw new ProgramError('InvalidAccountData', 3007, 'no user token account');
    destination.amount += BigInt(amount.toString());
    const vault = this.tokens.get(market.vault.toBase58());
    if (vault) vault.amount -= BigInt(amount.toString());
    if (data.marketIndex === 0) user.totalWithdraws = user.totalWithdraws.add(amount);
  }

  // ------------------------------------------------------------------ margin (simplified)

  /**
   * Total collateral minus the margin requirement, in QUOTE_PRECISION: spot deposits at the oracle
   * times their asset weight, plus every perp position's PnL (unsettled funding included), minus
   * |worst-case base| × oracle × the market's margin ratio.
   */
  freeCollateral(user: UserAccount, category: 'initial' | 'maintenance'): BN {
    let collateral = ZERO;
    for (const position of user.spotPositions) {
      if (position.scaledBalance.isZero()) continue;
      const market = this.spotMarket(position.marketIndex);
      const tokens = this.tokenAmount(market, position);
      const value = tokens
        .mul(this.spotOraclePrice(position.marketIndex))
        .div(new BN(10).pow(new BN(market.decimals)));
      const weight = category === 'initial' ? market.initialAssetWeight : market.maintenanceAssetWeight;
      const signed = variant(position.balanceType) === 'borrow' ? value.neg() : value;
      collateral = collateral.add(signed.muln(weight).div(MARGIN_PRECISION));
    }
    let requirement = ZERO;
    for (const position of user.perpPositions) {
      if (
        position.baseAssetAmount.isZero() &&
        position.quoteAssetAmount.isZero() &&
        position.openOrders === 0
      )
        continue;
      const market = this.perpMarkets.get(position.marketIndex);
      if (!market) continue;
      const oracle = this.perpOraclePrice(position.marketIndex);
      collateral = collateral.add(this.positionPnl(market, position, oracle));
      const worst = BN.max(
        position.baseAssetAmount.add(position.openBids).abs(),
        position.baseAssetAmount.add(position.openAsks).abs(),
      );
      const ratio = category === 'initial' ? market.marginRatioInitial : market.marginRatioMaintenance;
      requirement = requirement.add(worst.mul(oracle).div(BASE_PRECISION).muln(ratio).div(MARGIN_PRECISION));
    }
    return collateral.sub(requirement);
  }

  private unsettledFunding(market: PerpMarketAccount, position: PerpPosition): BN {
    if (position.baseAssetAmount.isZero()) return ZERO;
    const cumulative = position.baseAssetAmount.isNeg()
      ? market.amm.cumulativeFundingRateShort
      : market.amm.cumulativeFundingRateLong;
    return cumulative
      .sub(position.lastCumulativeFundingRate)
      .mul(position.baseAssetAmount)
      .div(BASE_PRECISION)
      .div(FUNDING_RATE_BUFFER)
      .neg();
  }

  private positionPnl(market: PerpMarketAccount, position: PerpPosition, oracle: BN): BN {
    const value = position.baseAssetAmount.mul(oracle).div(BASE_PRECISION);
    return value.add(position.quoteAssetAmount).add(this.unsettledFunding(market, position));
  }

  // ------------------------------------------------------------------ perp positions

  private perpMarket(marketIndex: number): PerpMarketAccount {
    const market = this.perpMarkets.get(marketIndex);
    if (!market) this.fail('PerpMarketNotFound');
    if (variant(market.status) !== 'active') this.fail('InvalidMarketStatusForFills');
    return market;
  }

  private perpPosition(user: UserAccount, marketIndex: number): PerpPosition {
    const existing = user.perpPositions.find(
      (position) =>
        position.marketIndex === marketIndex &&
        (!position.baseAssetAmount.isZero() ||
          !position.quoteAssetAmount.isZero() ||
          position.openOrders > 0),
    );
    if (existing) return existing;
    const free = user.perpPositions.find(
      (position) =>
        position.baseAssetAmount.isZero() && position.quoteAssetAmount.isZero() && position.openOrders === 0,
    );
    if (!free) this.fail('MaxNumberOfPositions');
    free.marketIndex = marketIndex;
    free.quoteEntryAmount = ZERO;
    free.quoteBreakEvenAmount = ZERO;
    free.settledPnl = ZERO;
    free.openBids = ZERO;
    free.openAsks = ZERO;
    const market = this.perpMarket(marketIndex);
    free.lastCumulativeFundingRate = market.amm.cumulativeFundingRateLong;
    return free;
  }

  /** Funding owed since the position's last settlement moves into its quote amount (program: settle_funding_payment). */
  private settleFunding(user: UserAccount, market: PerpMarketAccount, position: PerpPosition): void {
    const cumulative = position.baseAssetAmount.isNeg()
      ? market.amm.cumulativeFundingRateShort
      : market.amm.cumulativeFundingRateLong;
    if (!position.baseAssetAmount.isZero()) {
      const payment = this.unsettledFunding(market, position);
      position.quoteAssetAmount = position.quoteAssetAmount.add(payment);
      position.quoteBreakEvenAmount = position.quoteBreakEvenAmount.add(payment);
      user.cumulativePerpFunding = user.cumulativePerpFunding.add(payment);
    }
    position.lastCumulativeFundingRate = cumulative;
  }

  /** Applies a fill of `base` (signed) for `quote` (signed: negative paid) to a position. */
  private applyFill(position: PerpPosition, base: BN, quote: BN, fee: BN): void {
    const current = position.baseAssetAmount;
    if (current.isZero() || current.isNeg() === base.isNeg()) {
      position.quoteEntryAmount = position.quoteEntryAmount.add(quote);
      position.quoteBreakEvenAmount = position.quoteBreakEvenAmount.add(quote);
    } else if (base.abs().lte(current.abs())) {
      const entryReduction = position.quoteEntryAmount.mul(base.abs()).div(current.abs());
      const breakEvenReduction = position.quoteBreakEvenAmount.mul(base.abs()).div(current.abs());
      position.quoteEntryAmount = position.quoteEntryAmount.sub(entryReduction);
      position.quoteBreakEvenAmount = position.quoteBreakEvenAmount.sub(breakEvenReduction);
    } else {
      // Flip: the part beyond the old size opens at the fill's price.
      const opening = base.add(current);
      const openingQuote = quote.mul(opening.abs()).div(base.abs());
      position.quoteEntryAmount = openingQuote;
      position.quoteBreakEvenAmount = openingQuote;
    }
    position.baseAssetAmount = current.add(base);
    position.quoteAssetAmount = position.quoteAssetAmount.add(quote).sub(fee);
    position.quoteBreakEvenAmount = position.quoteBreakEvenAmount.sub(fee);
  }

  // ------------------------------------------------------------------ orders

  private validateOrder(user: UserAccount, market: PerpMarketAccount, params: OrderParamsData): void {
    const base = params.baseAssetAmount;
    if (variant(params.marketType) !== 'perp') this.fail('InvalidOrderMarketType');
    if (base.isZero() || !base.mod(market.amm.orderStepSize).isZero())
      this.fail('InvalidOrderNotStepSizeMultiple');
    if (base.lt(market.amm.minOrderSize)) this.fail('InvalidOrderMinOrderSize');
    if (variant(params.orderType) === 'limit') {
      if (params.price.isZero() || !params.price.mod(market.amm.orderTickSize).isZero())
        this.fail('InvalidOrderLimitPrice');
    }
    if (
      params.userOrderId > 0 &&
      user.orders.some(
        (order) => variant(order.status) === 'open' && order.userOrderId === params.userOrderId,
      )
    )
      this.fail('UserOrderIdAlreadyInUse');
  }

  private newOrder(user: UserAccount, params: OrderParamsData): Order {
    const slot = user.orders.find((order) => variant(order.status) !== 'open');
    if (!slot) this.fail('MaxNumberOfOrders');
    const long = variant(params.direction) === 'long';
    Object.assign(slot, {
      status: { open: {} },
      orderType: params.orderType,
      marketType: params.marketType,
      slot: new BN(this.clock.slot()),
      orderId: user.nextOrderId,
      userOrderId: params.userOrderId,
      marketIndex: params.marketIndex,
      price: params.price,
      baseAssetAmount: params.baseAssetAmount,
      quoteAssetAmount: ZERO,
      baseAssetAmountFilled: ZERO,
      quoteAssetAmountFilled: ZERO,
      direction: params.direction,
      reduceOnly: params.reduceOnly,
      triggerPrice: ZERO,
      triggerCondition: { above: {} },
      existingPositionDirection: long ? { long: {} } : { short: {} },
      postOnly: variant(params.postOnly) !== 'none',
      immediateOrCancel: false,
      oraclePriceOffset: 0,
      auctionDuration: 0,
      auctionStartPrice: ZERO,
      auctionEndPrice: ZERO,
      maxTs: params.maxTs ?? ZERO,
      bitFlags: params.bitFlags,
      postedSlotTail: 0,
    });
    user.nextOrderId += 1;
    return slot;
  }

  private trackOpenOrder(user: UserAccount, position: PerpPosition, order: Order, sign: 1 | -1): void {
    const remaining = order.baseAssetAmount.sub(order.baseAssetAmountFilled).muln(sign);
    if (variant(order.direction) === 'long') position.openBids = position.openBids.add(remaining);
    else position.openAsks = position.openAsks.sub(remaining);
    position.openOrders += sign;
    user.openOrders += sign;
    user.hasOpenOrder = user.openOrders > 0;
  }

  private placePerpOrder(
    user: UserAccount,
    userAddress: string,
    params: OrderParamsData,
    logs: string[],
  ): Order {
    const market = this.perpMarket(params.marketIndex);
    this.validateOrder(user, market, params);
    if (variant(params.orderType) !== 'limit')
      this.fail('InvalidOrder', 'the fake rests limit orders only; market orders use placeAndTakePerpOrder');
    const oracle = this.perpOraclePrice(params.marketIndex);
    const long = variant(params.direction) === 'long';
    const crosses = long ? params.price.gte(oracle) : params.price.lte(oracle);
    if (variant(params.postOnly) === 'mustPostOnly' && crosses) this.fail('PlacePostOnlyLimitFailure');
    const position = this.perpPosition(user, params.marketIndex);
    if (params.reduceOnly) {
      const base = position.baseAssetAmount;
      if (base.isZero() || base.isNeg() === !long) this.fail('InvalidOrderNotRiskReducing');
    }
    const order = this.newOrder(user, params);
    this.trackOpenOrder(user, position, order, 1);
    if (this.freeCollateral(user, 'initial').isNeg()) this.fail('InsufficientCollateral');
    logs.push(this.orderActionLog('place', market, order, userAddress, undefined));
    return order;
  }

  private placeAndTakePerpOrder(
    user: UserAccount,
    userAddress: string,
    params: OrderParamsData,
    successCondition: number | null,
    logs: string[],
  ): void {
    const market = this.perpMarket(params.marketIndex);
    this.validateOrder(user, market, params);
    const position = this.perpPosition(user, params.marketIndex);
    const long = variant(params.direction) === 'long';
    const base = params.baseAssetAmount;
    this.settleFunding(user, market, position);
    if (params.reduceOnly) {
      const current = position.baseAssetAmount;
      if (current.isZero() || current.isNeg() === !long || base.gt(current.abs()))
        this.fail('ReduceOnlyOrderIncreasedRisk');
    }
    const order = this.newOrder(user, params);
    const oracle = this.perpOraclePrice(params.marketIndex);
    const spread = oracle.muln(this.takerSpreadBps).divn(10_000);
    const fillPrice = long ? oracle.add(spread) : oracle.sub(spread);
    const limit = params.price;
    const withinLimit = limit.isZero() || (long ? fillPrice.lte(limit) : fillPrice.gte(limit));
    if (!withinLimit) {
      if (successCondition !== null && successCondition > 0)
        this.fail('PlaceAndTakeOrderSuccessConditionFailed');
      order.status = { canceled: {} } as Order['status'];
      logs.push(this.orderActionLog('cancel', market, order, userAddress, undefined));
      return;
    }
    const notional = base.mul(fillPrice);
    // The taker pays up: a buy's quote rounds up, a sell's down.
    const quote = long ? divCeil(notional, BASE_PRECISION) : notional.div(BASE_PRECISION);
    const tier = this.state.perpFeeStructure.feeTiers[0];
    const fee = tier ? divCeil(quote.muln(tier.feeNumerator), new BN(tier.feeDenominator)) : ZERO;
    const riskIncreasing = position.baseAssetAmount.isZero() || position.baseAssetAmount.isNeg() === !long;
    const existingQuoteEntry = position.quoteEntryAmount.abs();
    const existingBase = position.baseAssetAmount.abs();
    this.applyFill(position, long ? base : base.neg(), long ? quote.neg() : quote, fee);
    order.baseAssetAmountFilled = base;
    order.quoteAssetAmountFilled = quote;
    order.status = { filled: {} } as Order['status'];
    if (long) market.amm.baseAssetAmountLong = market.amm.baseAssetAmountLong.add(base);
    else market.amm.baseAssetAmountShort = market.amm.baseAssetAmountShort.sub(base);
    market.amm.totalFee = market.amm.totalFee.add(fee);
    market.amm.totalExchangeFee = market.amm.totalExchangeFee.add(fee);
    market.amm.lastTradeTs = new BN(this.clock.nowSeconds());
    market.lastFillPrice = fillPrice;
    if (riskIncreasing && this.freeCollateral(user, 'initial').isNeg()) this.fail('InsufficientCollateral');
    logs.push(
      this.orderActionLog('fill', market, order, userAddress, {
        base,
        quote,
        fee,
        oracle,
        existingQuoteEntry,
        existingBase,
      }),
    );
  }

  private cancelOrder(user: UserAccount, orderId: number | null, logs: string[], userAddress: string): void {
    const order =
      orderId === null
        ? user.orders
            .filter((candidate) => variant(candidate.status) === 'open')
            .sort((a, b) => b.orderId - a.orderId)[0]
        : user.orders.find(
            (candidate) => candidate.orderId === orderId && variant(candidate.status) !== 'init',
          );
    if (!order) this.fail('OrderDoesNotExist');
    if (variant(order.status) !== 'open') this.fail('OrderNotOpen');
    this.cancel(user, order, logs, userAddress);
  }

  private cancel(user: UserAccount, order: Order, logs: string[], userAddress: string): void {
    const position = this.perpPosition(user, order.marketIndex);
    this.trackOpenOrder(user, position, order, -1);
    order.status = { canceled: {} } as Order['status'];
    const market = this.perpMarkets.get(order.marketIndex);
    if (market) logs.push(this.orderActionLog('cancel', market, order, userAddress, undefined));
  }

  private cancelOrders(
    user: UserAccount,
    filter: { marketType: unknown; marketIndex: number | null; direction: unknown },
    logs: string[],
    userAddress: string,
  ): void {
    for (const order of user.orders) {
      if (variant(order.status) !== 'open') continue;
      if (
        filter.marketIndex !== null &&
        filter.marketIndex !== undefined &&
        order.marketIndex !== filter.marketIndex
      )
        continue;
      if (filter.direction && variant(filter.direction) !== variant(order.direction)) continue;
      this.cancel(user, order, logs, userAddress);
    }
  }

  private settlePnl(user: UserAccount, marketIndex: number): void {
    const market = this.perpMarket(marketIndex);
    const position = user.perpPositions.find(
      (candidate) =>
        candidate.marketIndex === marketIndex &&
        (!candidate.baseAssetAmount.isZero() || !candidate.quoteAssetAmount.isZero()),
    );
    if (!position) this.fail('UserHasNoPositionInMarket');
    this.settleFunding(user, market, position);
    const oracle = this.perpOraclePrice(marketIndex);
    const pnl = position.baseAssetAmount.mul(oracle).div(BASE_PRECISION).add(position.quoteAssetAmount);
    if (pnl.isZero()) return;
    this.addUsdc(user, pnl);
    position.quoteAssetAmount = position.quoteAssetAmount.sub(pnl);
    position.settledPnl = position.settledPnl.add(pnl);
    user.settledPerpPnl = user.settledPerpPnl.add(pnl);
    if (this.freeCollateral(user, 'maintenance').isNeg()) this.fail('InsufficientCollateralForSettlingPNL');
  }

  // ------------------------------------------------------------------ venue-side events

  /**
   * A keeper fills resting limit orders the oracle crossed, at their limit price (maker rebate).
   * Returns, per user account, the logs of the fill transaction.
   */
  fillCrossedOrders(marketIndex: number): { user: string; logs: string[] }[] {
    const market = this.perpMarkets.get(marketIndex);
    if (!market) return [];
    const oracle = this.perpOraclePrice(marketIndex);
    const results: { user: string; logs: string[] }[] = [];
    for (const [address, user] of this.users) {
      const logs: string[] = [];
      for (const order of user.orders) {
        if (variant(order.status) !== 'open' || order.marketIndex !== marketIndex) continue;
        const long = variant(order.direction) === 'long';
        if (!(long ? oracle.lte(order.price) : oracle.gte(order.price))) continue;
        const position = this.perpPosition(user, marketIndex);
        this.trackOpenOrder(user, position, order, -1);
        this.settleFunding(user, market, position);
        const base = order.baseAssetAmount.sub(order.baseAssetAmountFilled);
        const quote = base.mul(order.price).div(BASE_PRECISION);
        const tier = this.state.perpFeeStructure.feeTiers[0];
        const rebate = tier
          ? quote.muln(tier.makerRebateNumerator).div(new BN(tier.makerRebateDenominator))
          : ZERO;
        const existingQuoteEntry = position.quoteEntryAmount.abs();
        const existingBase = position.baseAssetAmount.abs();
        this.applyFill(position, long ? base : base.neg(), long ? quote.neg() : quote, rebate.neg());
        order.baseAssetAmountFilled = order.baseAssetAmount;
        order.quoteAssetAmountFilled = order.quoteAssetAmountFilled.add(quote);
        order.status = { filled: {} } as Order['status'];
        logs.push(
          this.orderActionLog('fill', market, order, address, {
            base,
            quote,
            fee: rebate.neg(),
            oracle,
            existingQuoteEntry,
            existingBase,
            maker: true,
          }),
        );
      }
      if (logs.length > 0)
        results.push({
          user: address,
          logs: [
            `Program ${DRIFT_PROGRAM_ID} invoke [1]`,
            'Program log: Instruction: FillPerpOrder',
            ...logs,
            `Program ${DRIFT_PROGRAM_ID} success`,
          ],
        });
    }
    return results;
  }

  /**
   * Settles one funding period: the hourly rate (a fraction, positive: longs pay) becomes
   * `lastFundingRate` (quote per base in FUNDING_RATE_PRECISION) and accrues on both cumulative rates.
   */
  updateFunding(marketIndex: number, hourlyRate: string): void {
    const market = this.perpMarkets.get(marketIndex);
    if (!market) throw new Error(`no perp market ${marketIndex}`);
    const oracle = this.perpOraclePrice(marketIndex);
    const [whole = '0', fraction = ''] = hourlyRate.replace('-', '').split('.');
    const rateScaled = new BN(`${whole}${fraction.padEnd(18, '0').slice(0, 18)}`);
    // rate × oracle (PRICE 1e6) × FUNDING_RATE_BUFFER (1e3) = quote per base in 1e9.
    let fundingRate = rateScaled
      .mul(oracle)
      .mul(FUNDING_RATE_BUFFER)
      .div(new BN(10).pow(new BN(18)));
    if (hourlyRate.startsWith('-')) fundingRate = fundingRate.neg();
    const amm = market.amm;
    amm.lastFundingRate = fundingRate;
    amm.lastFundingRateLong = fundingRate;
    amm.lastFundingRateShort = fundingRate;
    amm.cumulativeFundingRateLong = amm.cumulativeFundingRateLong.add(fundingRate);
    amm.cumulativeFundingRateShort = amm.cumulativeFundingRateShort.add(fundingRate);
    amm.lastFundingOracleTwap = oracle;
    amm.historicalOracleData.lastOraclePriceTwap = oracle;
    amm.lastFundingRateTs = amm.lastFundingRateTs.add(amm.fundingPeriod);
  }

  private orderActionLog(
    action: 'place' | 'cancel' | 'fill',
    market: PerpMarketAccount,
    order: Order,
    user: string,
    fill:
      | {
          base: BN;
          quote: BN;
          fee: BN;
          oracle: BN;
          existingQuoteEntry: BN;
          existingBase: BN;
          maker?: boolean;
        }
      | undefined,
  ): string {
    const userKey = new PublicKey(user);
    const maker = fill?.maker === true;
    const record = {
      ts: new BN(this.clock.nowSeconds()),
      action: { [action]: {} },
      actionExplanation: fill ? { orderFilledWithAmm: {} } : { none: {} },
      marketIndex: market.marketIndex,
      marketType: { perp: {} },
      filler: fill ? PublicKey.default : null,
      fillerReward: fill ? ZERO : null,
      fillRecordId: fill ? this.nextFillRecordId(market) : null,
      baseAssetAmountFilled: fill ? fill.base : null,
      quoteAssetAmountFilled: fill ? fill.quote : null,
      takerFee: fill && !maker ? fill.fee : null,
      makerFee: fill && maker ? fill.fee : null,
      referrerReward: null,
      quoteAssetAmountSurplus: null,
      spotFulfillmentMethodFee: null,
      taker: maker ? null : userKey,
      takerOrderId: maker ? null : order.orderId,
      takerOrderDirection: maker ? null : order.direction,
      takerOrderBaseAssetAmount: maker ? null : order.baseAssetAmount,
      takerOrderCumulativeBaseAssetAmountFilled: maker ? null : order.baseAssetAmountFilled,
      takerOrderCumulativeQuoteAssetAmountFilled: maker ? null : order.quoteAssetAmountFilled,
      maker: maker ? userKey : null,
      makerOrderId: maker ? order.orderId : null,
      makerOrderDirection: maker ? order.direction : null,
      makerOrderBaseAssetAmount: maker ? order.baseAssetAmount : null,
      makerOrderCumulativeBaseAssetAmountFilled: maker ? order.baseAssetAmountFilled : null,
      makerOrderCumulativeQuoteAssetAmountFilled: maker ? order.quoteAssetAmountFilled : null,
      oraclePrice: fill?.oracle ?? this.perpOraclePrice(market.marketIndex),
      bitFlags: 0,
      takerExistingQuoteEntryAmount: fill && !maker ? fill.existingQuoteEntry : null,
      takerExistingBaseAssetAmount: fill && !maker ? fill.existingBase : null,
      makerExistingQuoteEntryAmount: fill && maker ? fill.existingQuoteEntry : null,
      makerExistingBaseAssetAmount: fill && maker ? fill.existingBase : null,
      triggerPrice: null,
      builderIdx: null,
      builderFee: null,
    };
    return this.coder.eventLog('OrderActionRecord', record);
  }

  private nextFillRecordId(market: PerpMarketAccount): BN {
    market.nextFillRecordId = market.nextFillRecordId.addn(1);
    return market.nextFillRecordId;
  }

  /** A random transaction signature for venue-side transactions (keeper fills). */
  static randomSignature(): string {
    return base58.encode(randomBytes(64));
  }
}

/** `OrderParams` as the IDL decodes them. */
export interface OrderParamsData {
  orderType: unknown;
  marketType: unknown;
  direction: unknown;
  userOrderId: number;
  baseAssetAmount: BN;
  price: BN;
  marketIndex: number;
  reduceOnly: boolean;
  postOnly: unknown;
  bitFlags: number;
  maxTs: BN | null;
}
