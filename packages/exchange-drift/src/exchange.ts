import {
  BN,
  calculateBidAskPrice,
  calculateLongShortFundingRateAndLiveTwaps,
  calculateMarketOpenBidAsk,
  DriftClient,
  type Order as DriftOrder,
  decodeName,
  getLimitOrderParams,
  getMarketOrderParams,
  getVariant,
  MarketType,
  type OrderActionRecord,
  type PerpMarketAccount,
  PlaceAndTakeOrderSuccessCondition,
  PositionDirection,
  PostOnlyParams,
  parseLogs,
  type SpotMarketAccount,
  type User,
  Wallet,
} from '@drift-labs/sdk';
import {
  type AccountSnapshot,
  type CancelAllRequest,
  type CancelOrderRequest,
  type CapitalExchange,
  type ExchangeCapabilities,
  ExchangeError,
  type ExchangeEvents,
  type Fill,
  type FundingHistoryRequest,
  type FundingRate,
  fromScaledInteger,
  fundingRate,
  type HealthStatus,
  isMultipleOf,
  type Logger,
  type Market,
  type Order,
  type OrderBook,
  OrderRejectedError,
  type OrderRequest,
  type OrderStatus,
  type Position,
  type Subscription,
  silentLogger,
  type Ticker,
  toDecimalString,
} from '@perpkit/core';
import { Keypair, PublicKey } from '@solana/web3.js';
import { EventEmitter } from 'eventemitter3';
import { StrictAccountLoader } from './account-loader';
import { type AccountView, accountView, healthRatio, type MarketRef } from './account-view';
import { DRIFT_PROGRAM_ID, perpMarketAddress, spotMarketAddress, userAccountAddress } from './address';
import { DriftCoder } from './coder';
import { accountDiscriminator, USER_ACCOUNT_SIZE } from './decode';
import { parseSecretKey } from './keys';
import {
  accountIdOf,
  type DriftAccountOptions,
  type DriftOptions,
  type DriftOptionsInput,
  driftOptionsSchema,
} from './options';
import {
  decimalToScaled,
  estimatedFundingRateFraction,
  fundingPayment,
  scaledToDecimal,
  scaledToNumber,
  settledFundingRateFraction,
} from './precision';
import {
  DriftTransactionSender,
  JitoTransport,
  RpcTransport,
  TrackingConnection,
  TransactionFailedError,
  type TransactionTransport,
  TransactionUnknownError,
} from './tx-sender';

const TOKEN_PROGRAM_ID = new PublicKey('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
const ASSOCIATED_TOKEN_PROGRAM_ID = new PublicKey('ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL');
const HOUR = 3_600_000;

/** Why trading is off: each reason is set and cleared on its own. */
export type TradingHold = 'DISCONNECTED' | 'DESYNC' | 'TRANSACTION_UNKNOWN' | 'READ_ONLY' | 'CRITICAL';

/** perpkit reasons for Drift program errors of rejected orders. */
const PROGRAM_ERROR_REASONS: Readonly<Record<string, string>> = {
  InsufficientCollateral: 'INSUFFICIENT_MARGIN',
  InvalidOrderForInitialMarginReq: 'INSUFFICIENT_MARGIN',
  PlacePostOnlyLimitFailure: 'POST_ONLY_WOULD_CROSS',
  UserOrderIdAlreadyInUse: 'DUPLICATE_CLIENT_ORDER_ID',
  ReduceOnlyOrderIncreasedRisk: 'REDUCE_ONLY_WOULD_INCREASE',
  InvalidOrderNotRiskReducing: 'REDUCE_ONLY_WOULD_INCREASE',
  PlaceAndTakeOrderSuccessConditionFailed: 'PRICE_LIMIT_NOT_FILLABLE',
  SlippageOutsideLimit: 'PRICE_LIMIT_NOT_FILLABLE',
  InvalidOrderNotStepSizeMultiple: 'INVALID_QUANTITY',
  InvalidOrderMinOrderSize: 'INVALID_QUANTITY',
  OrderAmountTooSmall: 'INVALID_QUANTITY',
  InvalidOrderLimitPrice: 'INVALID_PRICE',
  MaxNumberOfOrders: 'TOO_MANY_ORDERS',
  MaxNumberOfPositions: 'TOO_MANY_POSITIONS',
  OrderBreachesOraclePriceLimits: 'PRICE_BAND',
  PriceBandsBreached: 'PRICE_BAND',
};

interface MarketInfo extends MarketRef {
  readonly market: Market;
  readonly account: PerpMarketAccount;
}

interface TrackedOrder {
  order: Order;
  /** Cumulative filled base and quote (Drift integers) and fee (QUOTE_PRECISION) reported so far. */
  filledBase: bigint;
  filledQuote: bigint;
  fee: bigint;
}

interface Expectation {
  readonly what: string;
  readonly check: (view: AccountView, user: User) => boolean;
}

interface AccountState {
  readonly id: string;
  readonly subAccountId: number;
  readonly address: string;
  view: AccountView | undefined;
  /** Drift order id → tracked order. */
  readonly orders: Map<number, TrackedOrder>;
  /** perpkit client order id → Drift user order id (1–255). */
  readonly clientIds: Map<string, number>;
  readonly fundingTimes: Map<number, string>;
  readonly settledAt: Map<number, number>;
  readonly openSince: Map<number, number>;
  readonly seenSignatures: Set<string>;
  /** Actions on one account run one at a time (order ids and balances stay unambiguous). */
  queue: Promise<unknown>;
  readonly expectations: Expectation[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Associated token account of `owner` for `mint` (the SPL program address). */
export function associatedTokenAccount(owner: PublicKey, mint: PublicKey): PublicKey {
  return PublicKey.findProgramAddressSync(
    [owner.toBuffer(), TOKEN_PROGRAM_ID.toBuffer(), mint.toBuffer()],
    ASSOCIATED_TOKEN_PROGRAM_ID,
  )[0];
}

/**
 * The Drift Protocol v2 adapter: the core `Exchange` (and capital) contract over
 * `@drift-labs/sdk`'s `DriftClient` with polling subscriptions, guarded trading and a configurable
 * transaction sender.
 *
 * Units: prices in USD (oracle prices, PRICE_PRECISION), quantities in the base asset
 * (BASE_PRECISION), money in USDC (QUOTE_PRECISION); funding per hour. Every amount sent is an
 * exact scaled integer of a decimal on the market's grid.
 */
export class DriftExchange implements CapitalExchange {
  readonly id: string;
  readonly venue = 'drift';
  readonly events = new EventEmitter<ExchangeEvents>();
  readonly capabilities: ExchangeCapabilities;
  readonly options: DriftOptions;

  private readonly logger: Logger;
  private readonly accountStates = new Map<string, AccountState>();
  private readonly holds = new Map<TradingHold, string>();
  private readonly unknownSignatures = new Set<string>();
  private readonly tickerSymbols = new Set<string>();
  private readonly fundingSymbols = new Set<string>();
  private markets = new Map<number, MarketInfo>();
  private marketsBySymbol = new Map<string, MarketInfo>();
  private spotSymbols = new Map<number, string>();
  private keypair: Keypair | undefined;
  private authority: PublicKey | undefined;
  private connection: TrackingConnection | undefined;
  private loader: StrictAccountLoader | undefined;
  private client: DriftClient | undefined;
  private sender: DriftTransactionSender | undefined;
  private coder: DriftCoder | undefined;
  private connecting: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private lastRefreshAt = 0;
  private state: 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed' = 'idle';
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(input: DriftOptionsInput, context: { id?: string; logger?: Logger } = {}) {
    const parsed = driftOptionsSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new ExchangeError('INVALID_ARGUMENT', `invalid drift options: ${problems}`);
    }
    this.options = parsed.data;
    this.id = context.id ?? 'drift';
    this.logger = context.logger ?? silentLogger;
    for (const account of this.options.accounts) this.addAccountState(account);
    const trading = !this.options.readOnly;
    this.capabilities = {
      orderTypes: ['market', 'limit'],
      timeInForce: ['gtc', 'ioc', 'fok', 'post-only'],
      reduceOnly: true,
      clientOrderId: true,
      cancelAll: true,
      multipleAccounts: true,
      streams: { ticker: true, orderBook: false, candles: false, fundingRate: true, account: true },
      fundingHistory: false,
      deposit: trading,
      withdraw: trading,
      setLeverage: false,
    };
    if (this.options.readOnly) this.holds.set('READ_ONLY', 'the adapter is read-only (options.readOnly)');
  }

  private addAccountState(account: DriftAccountOptions): void {
    const id = accountIdOf(account);
    this.accountStates.set(id, {
      id,
      subAccountId: account.subAccountId,
      address: '',
      view: undefined,
      orders: new Map(),
      clientIds: new Map(),
      fundingTimes: new Map(),
      settledAt: new Map(),
      openSince: new Map(),
      seenSignatures: new Set(),
      queue: Promise.resolve(),
      expectations: [],
    });
  }

  // ------------------------------------------------------------------ lifecycle

  connect(): Promise<void> {
    if (this.state === 'closed')
      return Promise.reject(
        new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is closed`, { exchange: this.id }),
      );
    this.connecting ??= this.open().catch((error) => {
      this.connecting = undefined;
      this.state = 'idle';
      throw error;
    });
    return this.connecting;
  }

  /** A problem that makes trading impossible: reported as an error event, then thrown. */
  private critical(error: ExchangeError): ExchangeError {
    this.holds.set('CRITICAL', error.message);
    this.events.emit('error', error);
    return error;
  }

  private async open(): Promise<void> {
    this.state = 'connecting';
    this.events.emit('connection', 'connecting');
    const options = this.options;
    if (options.secretKey !== undefined) {
      try {
        this.keypair = parseSecretKey(options.secretKey);
      } catch (error) {
        throw this.critical(error as ExchangeError);
      }
    } else if (!options.readOnly) {
      throw this.critical(
        new ExchangeError(
          'EXCHANGE_AUTH',
          'no wallet: set options.secretKey (in the runner config from the environment: secretKey: $' +
            '{DRIFT_SECRET_KEY}) or readOnly: true with an authority',
          { exchange: this.id },
        ),
      );
    }
    try {
      this.authority = new PublicKey(options.authority ?? (this.keypair as Keypair).publicKey);
    } catch {
      throw this.critical(
        new ExchangeError('INVALID_ARGUMENT', `authority ${options.authority} is not a base58 public key`, {
          exchange: this.id,
        }),
      );
    }
    for (const state of this.accountStates.values())
      (state as { address: string }).address = userAccountAddress(this.authority, state.subAccountId);

    const connection = new TrackingConnection(options.rpcUrl, {
      commitment: options.commitment,
      disableRetryOnRateLimit: true,
    });
    this.connection = connection;
    this.coder ??= new DriftCoder();

    // The user accounts must exist: a missing one is a configuration error, not a network one.
    const userInfos = await this.withBackoff('read the user accounts', () =>
      connection.getMultipleAccountsInfo(
        [...this.accountStates.values()].map((state) => new PublicKey(state.address)),
        options.commitment,
      ),
    );
    const spotIndexes = new Set<number>([0]);
    [...this.accountStates.values()].forEach((state, index) => {
      const info = userInfos[index];
      const where = `authority ${this.authority?.toBase58()} sub-account ${state.subAccountId} (address ${state.address})`;
      if (!info)
        throw this.critical(
          new ExchangeError(
            'ACCOUNT_NOT_FOUND',
            `no Drift user account for ${where}: create it in the Drift app (initializeUserAccount) or fix accounts[].subAccountId`,
            { exchange: this.id },
          ),
        );
      if (
        info.owner.toBase58() !== DRIFT_PROGRAM_ID ||
        info.data.length !== USER_ACCOUNT_SIZE ||
        !Buffer.from(info.data.subarray(0, 8)).equals(accountDiscriminator('User'))
      )
        throw this.critical(
          new ExchangeError('ACCOUNT_NOT_FOUND', `the account at ${where} is not a Drift User account`, {
            exchange: this.id,
          }),
        );
      const user = this.coder?.decodeAccount<{ spotPositions: { marketIndex: number; scaledBalance: BN }[] }>(
        'User',
        Buffer.from(info.data),
      );
      for (const spot of user?.spotPositions ?? [])
        if (!spot.scaledBalance.isZero()) spotIndexes.add(spot.marketIndex);
    });

    // Markets and their oracles come from the market accounts themselves, never from a stale list.
    const perpIndexes = [...new Set(options.perpMarkets)];
    const perpInfos = await this.withBackoff('read the perp markets', () =>
      connection.getMultipleAccountsInfo(
        perpIndexes.map((index) => new PublicKey(perpMarketAddress(index))),
        options.commitment,
      ),
    );
    const spotList = [...spotIndexes];
    const spotInfos = await this.withBackoff('read the spot markets', () =>
      connection.getMultipleAccountsInfo(
        spotList.map((index) => new PublicKey(spotMarketAddress(index))),
        options.commitment,
      ),
    );
    const perpAccounts: PerpMarketAccount[] = [];
    perpIndexes.forEach((index, position) => {
      const info = perpInfos[position];
      if (!info)
        throw this.critical(
          new ExchangeError('MARKET_NOT_FOUND', `Drift has no perp market ${index} (options.perpMarkets)`, {
            exchange: this.id,
          }),
        );
      perpAccounts.push(
        this.coder?.decodeAccount<PerpMarketAccount>(
          'PerpMarket',
          Buffer.from(info.data),
        ) as PerpMarketAccount,
      );
    });
    const spotAccounts: SpotMarketAccount[] = [];
    spotList.forEach((index, position) => {
      const info = spotInfos[position];
      if (!info)
        throw this.critical(
          new ExchangeError('MARKET_NOT_FOUND', `Drift has no spot market ${index}`, { exchange: this.id }),
        );
      spotAccounts.push(
        this.coder?.decodeAccount<SpotMarketAccount>(
          'SpotMarket',
          Buffer.from(info.data),
        ) as SpotMarketAccount,
      );
    });

    const wallet = new Wallet(this.keypair ?? Keypair.generate());
    const loader = new StrictAccountLoader(
      connection,
      options.commitment,
      Math.max(1_000, options.pollIntervalMs),
    );
    this.loader = loader;
    const transport: TransactionTransport =
      options.sender.type === 'jito'
        ? new JitoTransport({
            url: options.sender.url,
            tipLamports: options.sender.tipLamports,
            ...(options.sender.tipAccounts ? { tipAccounts: options.sender.tipAccounts } : {}),
            fallbackToRpc: options.sender.fallbackToRpc,
            requestTimeoutMs: options.sender.requestTimeoutMs,
          })
        : new RpcTransport();
    const coder = this.coder;
    this.sender = new DriftTransactionSender({
      connection,
      wallet,
      transport,
      commitment: options.commitment,
      confirmTimeoutMs: options.confirmTimeoutMs,
      statusQueryMs: options.statusQueryMs,
      statusPollMs: options.statusPollMs,
      retryDelaysMs: options.sendRetryDelaysMs,
      programErrorName: (code) => coder.program.idl.errors?.find((error) => error.code === code)?.name,
      exchangeId: this.id,
      events: {
        onRetry: (event) => this.logger.warn('drift send retried', { ...event }),
        onFallback: (event) => this.logger.warn('drift sender fell back', { ...event }),
        onConfirmationTimeout: (event) =>
          this.logger.warn('drift transaction not confirmed in time; querying its status', { ...event }),
      },
    });
    this.client = new DriftClient({
      connection,
      wallet,
      env: options.network,
      programID: new PublicKey(DRIFT_PROGRAM_ID),
      authority: this.authority,
      accountSubscription: { type: 'polling', accountLoader: loader },
      perpMarketIndexes: perpIndexes,
      spotMarketIndexes: spotList,
      oracleInfos: [
        ...perpAccounts.map((market) => ({ publicKey: market.amm.oracle, source: market.amm.oracleSource })),
        ...spotAccounts.map((market) => ({ publicKey: market.oracle, source: market.oracleSource })),
      ],
      activeSubAccountId: this.options.accounts[0]?.subAccountId ?? 0,
      skipLoadUsers: true,
      marketLookupTables: [],
      txVersion: 0,
      txSender: this.sender,
      txParams: { computeUnits: options.computeUnits, computeUnitsPrice: options.computeUnitPrice },
      opts: { commitment: options.commitment, preflightCommitment: options.commitment, skipPreflight: true },
    });

    await this.withBackoff('subscribe', async () => {
      if (!(await this.client?.subscribe())) throw new Error('the Drift state account could not be loaded');
    });
    for (const state of this.accountStates.values()) {
      const added = await this.client.addUser(state.subAccountId, this.authority);
      if (!added || !this.client.getUser(state.subAccountId, this.authority).getUserAccountAndSlot())
        throw this.critical(
          new ExchangeError('ACCOUNT_NOT_FOUND', `Drift user ${state.address} could not be loaded`, {
            exchange: this.id,
          }),
        );
    }

    this.markets = new Map();
    this.marketsBySymbol = new Map();
    for (const account of perpAccounts) {
      const info = this.toMarketInfo(account);
      this.markets.set(info.index, info);
      this.marketsBySymbol.set(info.symbol, info);
    }
    this.spotSymbols = new Map(
      spotAccounts.map((market) => [market.marketIndex, decodeName(market.name).trim()]),
    );
    await this.refresh(true);
    this.state = 'connected';
    this.events.emit('connection', 'connected');
    this.schedulePoll();
  }

  /** Exponential backoff for connect-time reads: 1×, 2×, 4× ... `connectBackoffMs`. */
  private async withBackoff<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    let delay = this.options.connectBackoffMs;
    for (let index = 1; ; index += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (error instanceof ExchangeError && !error.retryable) throw error;
        if (index >= this.options.connectAttempts)
          throw new ExchangeError(
            'EXCHANGE_UNAVAILABLE',
            `could not ${what} after ${index} attempts: ${messageOf(error)}`,
            { exchange: this.id, retryable: true, cause: error },
          );
        this.logger.warn('drift connect attempt failed', {
          what,
          attempt: index,
          delayMs: delay,
          error: messageOf(error),
        });
        await sleep(delay);
        delay *= 2;
      }
    }
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    try {
      await this.client?.unsubscribe();
    } catch {}
    this.events.emit('connection', 'disconnected', 'closed');
  }

  accounts(): readonly string[] {
    return [...this.accountStates.keys()];
  }

  /** The user account address (base58) of an account id. */
  userAccountAddress(accountId: string): string {
    const state = this.requireAccount(accountId);
    return state.address || userAccountAddress(this.authority ?? PublicKey.default, state.subAccountId);
  }

  /** The connected SDK client (for advanced use: read-only queries, custom instructions). */
  driftClient(): DriftClient {
    if (!this.client)
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is not connected`, { exchange: this.id });
    return this.client;
  }

  // ------------------------------------------------------------------ trading state

  /** Why trading is off right now (empty when it is on). */
  tradingHolds(): ReadonlyMap<TradingHold, string> {
    return new Map(this.holds);
  }

  /**
   * The operator's answer to an unknown transaction outcome: having checked the account, resume
   * trading. Other holds (disconnected, desync) clear by themselves when their cause goes away.
   */
  resumeTrading(): void {
    this.unknownSignatures.clear();
    this.holds.delete('TRANSACTION_UNKNOWN');
  }

  private hold(reason: TradingHold, message: string): void {
    const fresh = !this.holds.has(reason);
    this.holds.set(reason, message);
    if (fresh) this.logger.error('drift trading paused', { reason, message });
  }

  private release(reason: TradingHold): void {
    if (this.holds.delete(reason)) this.logger.info('drift trading resumed', { reason });
  }

  /** Throws when trading is held; `cancel` passes desync and unknown-outcome holds (it only reduces risk). */
  private assertTrading(action: 'order' | 'cancel' | 'capital'): void {
    for (const [reason, message] of this.holds) {
      if (action === 'cancel' && (reason === 'DESYNC' || reason === 'TRANSACTION_UNKNOWN')) continue;
      const text = `trading is disabled (${reason}): ${message}`;
      if (action === 'order')
        throw new OrderRejectedError('TRADING_DISABLED', text, {
          exchange: this.id,
          details: { hold: reason },
        });
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', text, {
        exchange: this.id,
        reason: 'TRADING_DISABLED',
        retryable: reason === 'DISCONNECTED',
        details: { hold: reason },
      });
    }
  }

  health(): HealthStatus {
    if (this.state !== 'connected') return { ok: false, message: `drift ${this.state}` };
    if (this.holds.size > 0 && !(this.holds.size === 1 && this.holds.has('READ_ONLY')))
      return {
        ok: false,
        message: [...this.holds].map(([reason, message]) => `${reason}: ${message}`).join('; '),
      };
    return { ok: true };
  }

  // ------------------------------------------------------------------ polling and connection

  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    if (this.state !== 'connected') return;
    this.pollTimer = setTimeout(() => {
      void this.poll().finally(() => this.schedulePoll());
    }, this.options.pollIntervalMs);
    this.pollTimer.unref?.();
  }

  private async poll(): Promise<void> {
    if (this.state !== 'connected') return;
    try {
      await this.refresh(true);
    } catch (error) {
      this.connectionLost(error);
      return;
    }
    this.afterPoll();
  }

  private connectionLost(error: unknown): void {
    if (this.state !== 'connected') return;
    this.state = 'disconnected';
    const message = `RPC unreachable: ${messageOf(error)}`;
    this.hold('DISCONNECTED', message);
    this.events.emit('connection', 'reconnecting', message);
    this.events.emit(
      'error',
      new ExchangeError(
        'EXCHANGE_UNAVAILABLE',
        `drift ${message}; trading disabled, reconnecting every ${this.options.reconnectIntervalMs} ms`,
        {
          exchange: this.id,
          retryable: true,
          cause: error,
        },
      ),
    );
    clearTimeout(this.pollTimer);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), this.options.reconnectIntervalMs);
    this.reconnectTimer.unref?.();
  }

  private async reconnect(): Promise<void> {
    if (this.state !== 'disconnected') return;
    try {
      await this.connection?.getSlot(this.options.commitment);
      // Re-sync: every account, market and oracle, and the order and position diffs since the loss.
      await this.refresh(true);
    } catch (error) {
      this.logger.warn('drift reconnect failed', { error: messageOf(error) });
      this.scheduleReconnect();
      return;
    }
    this.state = 'connected';
    this.release('DISCONNECTED');
    this.events.emit('connection', 'connected', 'reconnected');
    this.afterPoll();
    this.schedulePoll();
  }

  /** Loads every account (or reuses a load younger than 250 ms) and processes what changed. */
  private refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.lastRefreshAt < 250 && this.refreshing === undefined)
      return Promise.resolve();
    this.refreshing ??= (async () => {
      const loader = this.loader;
      if (!loader)
        throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is not connected`, { exchange: this.id });
      await loader.load();
      this.lastRefreshAt = Date.now();
      await this.process();
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** A read that needs fresh state: fails fast while disconnected. */
  private async fresh(force = false): Promise<void> {
    if (this.state === 'disconnected')
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is disconnected (reconnecting)`, {
        exchange: this.id,
        retryable: true,
      });
    if (this.state !== 'connected' && this.state !== 'connecting')
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${this.id} is not connected`, {
        exchange: this.id,
        retryable: true,
      });
    try {
      await this.refresh(force);
    } catch (error) {
      this.connectionLost(error);
      throw new ExchangeError('EXCHANGE_UNAVAILABLE', `drift RPC unreachable: ${messageOf(error)}`, {
        exchange: this.id,
        retryable: true,
        cause: error,
      });
    }
  }

  private user(state: AccountState): User {
    return this.driftClient().getUser(state.subAccountId, this.authority);
  }

  /** Computes every account's view and emits what changed since the last one. */
  private async process(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const now = Date.now();
    for (const state of this.accountStates.values()) {
      const user = this.user(state);
      const previous = state.view;
      const view = accountView({
        exchange: this.id,
        account: state.id,
        client,
        user,
        markets: this.markets,
        spotSymbols: this.spotSymbols,
        now,
      });
      state.view = view;
      this.emitFunding(state, previous, view, now);
      for (const [index, position] of view.positions) {
        const before = previous?.positions.get(index);
        if (
          position.position &&
          (before?.baseAssetAmount !== position.baseAssetAmount ||
            before?.quoteAssetAmount !== position.quoteAssetAmount)
        )
          this.events.emit('position', position.position);
      }
      await this.diffOrders(state, user, now);
      this.events.emit('account', view.snapshot);
      if (state.expectations.length > 0) {
        const open = state.expectations.filter((expectation) => !expectation.check(view, user));
        state.expectations.splice(0, state.expectations.length, ...open);
        if (
          open.length === 0 &&
          [...this.accountStates.values()].every((other) => other.expectations.length === 0)
        )
          this.release('DESYNC');
      }
    }
    await this.checkUnknownSignatures();
    this.emitStreams(now);
  }

  private emitFunding(
    state: AccountState,
    previous: AccountView | undefined,
    view: AccountView,
    now: number,
  ): void {
    for (const [index, position] of view.positions) {
      const info = this.markets.get(index);
      if (!info) continue;
      const market = this.driftClient().getPerpMarketAccount(index) ?? info.account;
      const before = previous?.positions.get(index);
      const rate = Number(
        settledFundingRateFraction(
          market.amm.lastFundingRate,
          market.amm.lastFundingOracleTwap.isZero()
            ? market.amm.historicalOracleData.lastOraclePriceTwap
            : market.amm.lastFundingOracleTwap,
        ),
      );
      const fundingTime = market.amm.lastFundingRateTs.toNumber() * 1000;
      const markPrice = scaledToNumber(this.driftClient().getOracleDataForPerpMarket(index).price, 'price');
      // Settled: the program moved funding into the position (its cumulative rate mark moved).
      if (
        before &&
        before.baseAssetAmount !== 0n &&
        before.lastCumulativeFundingRate !== position.lastCumulativeFundingRate
      ) {
        const amount = fundingPayment(
          before.lastCumulativeFundingRate,
          position.lastCumulativeFundingRate,
          before.baseAssetAmount,
        );
        if (amount !== 0n)
          this.events.emit('funding', {
            id: `${this.id}:${state.id}:${info.symbol}:${position.lastCumulativeFundingRate}:settled`,
            exchange: this.id,
            account: state.id,
            symbol: info.symbol,
            timestamp: now,
            fundingTime,
            rate,
            intervalHours: 1,
            positionQuantity: Number(scaledToDecimal(before.baseAssetAmount, 'base')),
            markPrice,
            amount: Number(fromScaledInteger(amount, 6)),
            settled: true,
          });
      }
      // Accrued: once per hourly funding update, the funding owed but not yet settled.
      const key = market.amm.lastFundingRateTs.toString();
      if (position.baseAssetAmount !== 0n && state.fundingTimes.get(index) !== key) {
        const first = !state.fundingTimes.has(index);
        state.fundingTimes.set(index, key);
        if (!first || position.unsettledFunding !== 0n)
          this.events.emit('funding', {
            id: `${this.id}:${state.id}:${info.symbol}:${fundingTime}:accrued`,
            exchange: this.id,
            account: state.id,
            symbol: info.symbol,
            timestamp: now,
            fundingTime,
            rate,
            intervalHours: 1,
            positionQuantity: Number(scaledToDecimal(position.baseAssetAmount, 'base')),
            markPrice,
            amount: Number(fromScaledInteger(position.unsettledFunding, 6)),
            settled: false,
          });
      }
    }
  }

  private emitStreams(now: number): void {
    for (const symbol of this.tickerSymbols) {
      const info = this.marketsBySymbol.get(symbol);
      if (info) this.events.emit('ticker', this.ticker(info, now));
    }
    for (const symbol of this.fundingSymbols) {
      const info = this.marketsBySymbol.get(symbol);
      if (info) this.events.emit('fundingRate', this.fundingRateOf(info, now));
    }
  }

  /** After a poll: settle PnL worth settling (in the background). */
  private afterPoll(): void {
    if (!this.options.autoSettlePnl || this.options.readOnly || this.holds.size > 0) return;
    const threshold = BigInt(decimalToScaled(this.options.settlePnlThreshold, 'quote').toString());
    const now = Date.now();
    for (const state of this.accountStates.values()) {
      for (const [index, position] of state.view?.positions ?? []) {
        const magnitude = position.unsettledPnl < 0n ? -position.unsettledPnl : position.unsettledPnl;
        if (magnitude <= threshold) continue;
        const open = position.baseAssetAmount !== 0n;
        const last = state.settledAt.get(index) ?? 0;
        if (open) {
          // An open position's PnL is settled at most once per interval, the first one after it was seen.
          const since = state.openSince.get(index) ?? now;
          state.openSince.set(index, since);
          if (now - Math.max(since, last) < this.options.settleOpenPositionIntervalMs) continue;
        } else {
          state.openSince.delete(index);
          if (now - last < 5_000) continue;
        }
        state.settledAt.set(index, now);
        void this.settlePnl(state.id, position.symbol).catch((error) =>
          this.logger.warn('drift automatic PnL settlement failed', {
            account: state.id,
            symbol: position.symbol,
            error: messageOf(error),
          }),
        );
      }
    }
  }

  private async checkUnknownSignatures(): Promise<void> {
    if (this.unknownSignatures.size === 0 || !this.sender) return;
    for (const signature of [...this.unknownSignatures]) {
      const outcome = await this.sender.outcomeOf(signature).catch(() => 'unknown' as const);
      if (outcome !== 'unknown') {
        this.unknownSignatures.delete(signature);
        this.logger.info('drift transaction outcome resolved', { signature, outcome });
      }
    }
    if (this.unknownSignatures.size === 0) this.release('TRANSACTION_UNKNOWN');
  }

  // ------------------------------------------------------------------ markets and data

  private toMarketInfo(account: PerpMarketAccount): MarketInfo {
    const name = decodeName(account.name).trim();
    const symbol = name.replace(/-PERP$/, '');
    const tier = this.driftClient().getStateAccount().perpFeeStructure.feeTiers[0];
    const market: Market = {
      exchange: this.id,
      venue: this.venue,
      symbol,
      base: symbol,
      quote: 'USD',
      tickSize: scaledToDecimal(account.amm.orderTickSize, 'price'),
      lotSize: scaledToDecimal(account.amm.orderStepSize, 'base'),
      minQuantity: scaledToDecimal(account.amm.minOrderSize, 'base'),
      minNotional: 0,
      maxLeverage: account.marginRatioInitial > 0 ? 10_000 / account.marginRatioInitial : 1,
      fundingIntervalHours: account.amm.fundingPeriod.toNumber() / 3600 || 1,
      ...(tier && tier.feeDenominator > 0
        ? {
            takerFeeRate: tier.feeNumerator / tier.feeDenominator,
            makerFeeRate:
              tier.makerRebateDenominator > 0 ? -tier.makerRebateNumerator / tier.makerRebateDenominator : 0,
          }
        : {}),
    };
    return { index: account.marketIndex, symbol, market, account };
  }

  private marketOf(symbol: string): MarketInfo {
    const info = this.marketsBySymbol.get(symbol);
    if (!info)
      throw new ExchangeError('MARKET_NOT_FOUND', `Drift (as configured) has no perp market ${symbol}`, {
        exchange: this.id,
      });
    return info;
  }

  async fetchMarkets(): Promise<readonly Market[]> {
    if (this.state === 'idle') await this.connect();
    return [...this.markets.values()].map((info) => info.market);
  }

  private ticker(info: MarketInfo, now: number): Ticker {
    const client = this.driftClient();
    const oracle = client.getOracleDataForPerpMarket(info.index);
    const mark = scaledToNumber(oracle.price, 'price');
    let quotes: { bid: number; ask: number } | undefined;
    try {
      const market = client.getPerpMarketAccount(info.index) ?? info.account;
      const [bid, ask] = calculateBidAskPrice(market.amm, client.getMMOracleDataForPerpMarket(info.index));
      if (bid.gtn(0) && ask.gte(bid))
        quotes = { bid: scaledToNumber(bid, 'price'), ask: scaledToNumber(ask, 'price') };
    } catch {
      quotes = undefined;
    }
    return { exchange: this.id, symbol: info.symbol, timestamp: now, mark, index: mark, ...(quotes ?? {}) };
  }

  /** Ticker: `mark` and `index` are the oracle price (Drift values positions at the oracle); bid and ask are the AMM's. */
  async fetchTicker(symbol: string): Promise<Ticker> {
    const info = this.marketOf(symbol);
    await this.fresh();
    return this.ticker(info, Date.now());
  }

  /**
   * Drift's order book lives off chain (the DLOB servers and keepers); on chain there is the AMM.
   * This returns the AMM's quote as one level per side, sized by what the AMM can take.
   */
  async fetchOrderBook(symbol: string): Promise<OrderBook> {
    const info = this.marketOf(symbol);
    await this.fresh();
    const ticker = this.ticker(info, Date.now());
    const market = this.driftClient().getPerpMarketAccount(info.index) ?? info.account;
    let size = Number(info.market.lotSize);
    try {
      const [openBids, openAsks] = calculateMarketOpenBidAsk(
        market.amm.baseAssetReserve,
        market.amm.minBaseAssetReserve,
        market.amm.maxBaseAssetReserve,
        market.amm.orderStepSize,
      );
      size = Math.max(
        size,
        Math.min(scaledToNumber(openBids.abs(), 'base'), scaledToNumber(openAsks.abs(), 'base')),
      );
    } catch {}
    const bid = ticker.bid ?? ticker.mark;
    const ask = ticker.ask ?? ticker.mark;
    return {
      exchange: this.id,
      symbol,
      timestamp: ticker.timestamp,
      bids: [[bid, size]],
      asks: ask > bid ? [[ask, size]] : [],
    };
  }

  private fundingRateOf(info: MarketInfo, now: number): FundingRate {
    const client = this.driftClient();
    const market = client.getPerpMarketAccount(info.index) ?? info.account;
    let rate: number;
    try {
      // The helper `calculateFormattedLiveFundingRate` uses: [mark TWAP, oracle TWAP, long, short].
      const [, , long] = calculateLongShortFundingRateAndLiveTwaps(
        market,
        client.getMMOracleDataForPerpMarket(info.index),
        client.getOracleDataForPerpMarket(info.index),
      );
      rate = Number(estimatedFundingRateFraction(long));
    } catch {
      rate = Number(settledFundingRateFraction(market.amm.lastFundingRate, market.amm.lastFundingOracleTwap));
    }
    const period = market.amm.fundingPeriod.toNumber() * 1000 || HOUR;
    return fundingRate({
      exchange: this.id,
      symbol: info.symbol,
      timestamp: now,
      rate,
      intervalHours: period / HOUR,
      nextFundingTime: market.amm.lastFundingRateTs.toNumber() * 1000 + period,
      predicted: true,
    });
  }

  /** The live estimate of the funding rate for the hour in progress (the SDK's own formula). */
  async fetchFundingRate(symbol: string): Promise<FundingRate> {
    const info = this.marketOf(symbol);
    await this.fresh();
    return this.fundingRateOf(info, Date.now());
  }

  /** The last settled hourly funding rate, from the market account. */
  async fetchLastFundingRate(symbol: string): Promise<FundingRate> {
    const info = this.marketOf(symbol);
    await this.fresh();
    const market = this.driftClient().getPerpMarketAccount(info.index) ?? info.account;
    return fundingRate({
      exchange: this.id,
      symbol,
      timestamp: market.amm.lastFundingRateTs.toNumber() * 1000,
      rate: Number(settledFundingRateFraction(market.amm.lastFundingRate, market.amm.lastFundingOracleTwap)),
      intervalHours: 1,
      predicted: false,
    });
  }

  async fetchFundingHistory(_request: FundingHistoryRequest): Promise<readonly FundingRate[]> {
    throw new ExchangeError(
      'EXCHANGE_NOT_SUPPORTED',
      "Drift's funding history is in its event logs and data API, not in accounts; use fetchLastFundingRate",
      { exchange: this.id },
    );
  }

  private requireAccount(account: string): AccountState {
    const state = this.accountStates.get(account);
    if (!state)
      throw new ExchangeError('ACCOUNT_NOT_FOUND', `${this.id} has no account ${account}`, {
        exchange: this.id,
      });
    return state;
  }

  async fetchAccount(account: string): Promise<AccountSnapshot> {
    const state = this.requireAccount(account);
    await this.fresh();
    return (state.view as AccountView).snapshot;
  }

  snapshotAccount(account: string): AccountSnapshot | undefined {
    return this.accountStates.get(account)?.view?.snapshot;
  }

  async fetchPositions(account: string): Promise<readonly Position[]> {
    return (await this.fetchAccount(account)).positions;
  }

  async fetchOpenOrders(account: string, symbol?: string): Promise<readonly Order[]> {
    const state = this.requireAccount(account);
    if (symbol !== undefined) this.marketOf(symbol);
    await this.fresh();
    return this.user(state)
      .getOpenOrders()
      .filter((order) => getVariant(order.marketType) === 'perp')
      .map((order) => this.toOrder(state, order))
      .filter((order) => symbol === undefined || order.symbol === symbol);
  }

  async fetchOrder(account: string, orderId: string): Promise<Order | undefined> {
    const state = this.requireAccount(account);
    await this.fresh();
    const id = Number(orderId);
    const slot = this.user(state)
      .getUserAccount()
      .orders.find((order) => order.orderId === id && getVariant(order.status) !== 'init');
    if (slot) return this.toOrder(state, slot);
    return state.orders.get(id)?.order;
  }

  async subscribe(subscription: Subscription): Promise<void> {
    this.marketOf(subscription.symbol);
    if (subscription.channel === 'ticker') this.tickerSymbols.add(subscription.symbol);
    else if (subscription.channel === 'fundingRate') this.fundingSymbols.add(subscription.symbol);
    else
      throw new ExchangeError(
        'EXCHANGE_NOT_SUPPORTED',
        `Drift streams no ${subscription.channel} from RPC accounts`,
        {
          exchange: this.id,
        },
      );
  }

  async unsubscribe(subscription: Subscription): Promise<void> {
    if (subscription.channel === 'ticker') this.tickerSymbols.delete(subscription.symbol);
    if (subscription.channel === 'fundingRate') this.fundingSymbols.delete(subscription.symbol);
  }

  // ------------------------------------------------------------------ orders

  private statusOf(order: DriftOrder): OrderStatus {
    const status = getVariant(order.status);
    if (status === 'filled') return 'filled';
    if (status === 'canceled') return 'cancelled';
    return order.baseAssetAmountFilled.isZero() ? 'open' : 'partially-filled';
  }

  private clientIdOf(state: AccountState, userOrderId: number): string | undefined {
    if (userOrderId === 0) return undefined;
    for (const [clientId, id] of state.clientIds) if (id === userOrderId) return clientId;
    return undefined;
  }

  private toOrder(state: AccountState, order: DriftOrder): Order {
    const tracked = state.orders.get(order.orderId);
    const info = this.markets.get(order.marketIndex);
    const filledBase = BigInt(order.baseAssetAmountFilled.toString());
    const filledQuote = BigInt(order.quoteAssetAmountFilled.toString());
    const now = Date.now();
    const type = getVariant(order.orderType) === 'market' ? 'market' : 'limit';
    const clientOrderId = tracked?.order.clientOrderId ?? this.clientIdOf(state, order.userOrderId);
    const status = this.statusOf(order);
    return {
      id: String(order.orderId),
      ...(clientOrderId === undefined ? {} : { clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: info?.symbol ?? `PERP-${order.marketIndex}`,
      side: getVariant(order.direction) === 'long' ? 'buy' : 'sell',
      type,
      timeInForce:
        tracked?.order.timeInForce ?? (order.postOnly ? 'post-only' : type === 'market' ? 'ioc' : 'gtc'),
      reduceOnly: order.reduceOnly,
      quantity: Number(scaledToDecimal(order.baseAssetAmount, 'base')),
      ...(order.price.isZero() ? {} : { price: scaledToNumber(order.price, 'price') }),
      status,
      filledQuantity: Number(scaledToDecimal(filledBase, 'base')),
      averagePrice: filledBase === 0n ? 0 : averagePrice(filledQuote, filledBase),
      fee: Number(fromScaledInteger(tracked?.fee ?? 0n, 6)),
      ...(status === 'cancelled' ? { reason: tracked?.order.reason ?? 'CANCELLED' } : {}),
      ...(order.maxTs.isZero() ? {} : { expiresAt: order.maxTs.toNumber() * 1000 }),
      createdAt: tracked?.order.createdAt ?? now,
      updatedAt: now,
    };
  }

  /** Diffs the account's order slots with the orders the adapter tracks: fills of resting orders, cancels, expiries. */
  private async diffOrders(state: AccountState, user: User, now: number): Promise<void> {
    for (const order of user.getUserAccount().orders) {
      const status = getVariant(order.status);
      if (status === 'init' || getVariant(order.marketType) !== 'perp') continue;
      let tracked = state.orders.get(order.orderId);
      if (!tracked) {
        // Orders placed elsewhere (the app, another bot) are adopted while open; settled ones are history.
        if (status !== 'open') continue;
        const adopted = this.toOrder(state, order);
        tracked = {
          order: adopted,
          filledBase: BigInt(order.baseAssetAmountFilled.toString()),
          filledQuote: BigInt(order.quoteAssetAmountFilled.toString()),
          fee: 0n,
        };
        state.orders.set(order.orderId, tracked);
        this.events.emit('order', adopted);
        continue;
      }
      const filledBase = BigInt(order.baseAssetAmountFilled.toString());
      if (filledBase > tracked.filledBase) await this.reportRestingFill(state, tracked, order, now);
      const next = this.toOrder(state, order);
      if (next.status !== tracked.order.status || next.filledQuantity !== tracked.order.filledQuantity) {
        tracked.order = next;
        this.events.emit('order', next);
      }
      if (next.status === 'filled' || next.status === 'cancelled') {
        for (const [clientId, id] of state.clientIds)
          if (id === order.userOrderId) state.clientIds.delete(clientId);
      }
    }
  }

  /** Fees of maker fills, from the program's `OrderActionRecord` events of the account's recent transactions. */
  private async makerFees(state: AccountState, orderId: number): Promise<bigint | undefined> {
    const connection = this.connection;
    const client = this.client;
    if (!connection || !client) return undefined;
    try {
      const signatures = await connection.getSignaturesForAddress(new PublicKey(state.address), {
        limit: 25,
      });
      let fee: bigint | undefined;
      for (const { signature, err } of signatures) {
        if (err !== null || state.seenSignatures.has(signature)) continue;
        const transaction = await connection.getTransaction(signature, {
          commitment: 'confirmed',
          maxSupportedTransactionVersion: 0,
        });
        const records = parseLogs(client.program, transaction?.meta?.logMessages ?? [])
          .filter((event) => event.name === 'OrderActionRecord')
          .map((event) => event.data as unknown as OrderActionRecord);
        const mine = records.filter(
          (record) =>
            getVariant(record.action) === 'fill' &&
            record.maker?.toBase58() === state.address &&
            record.makerOrderId === orderId,
        );
        if (mine.length === 0) continue;
        state.seenSignatures.add(signature);
        for (const record of mine) fee = (fee ?? 0n) + BigInt(record.makerFee?.toString() ?? '0');
      }
      return fee;
    } catch (error) {
      this.logger.warn('drift maker fee lookup failed', { error: messageOf(error) });
      return undefined;
    }
  }

  private async reportRestingFill(
    state: AccountState,
    tracked: TrackedOrder,
    order: DriftOrder,
    now: number,
  ): Promise<void> {
    const filledBase = BigInt(order.baseAssetAmountFilled.toString());
    const filledQuote = BigInt(order.quoteAssetAmountFilled.toString());
    const base = filledBase - tracked.filledBase;
    const quote = filledQuote - tracked.filledQuote;
    let fee = await this.makerFees(state, order.orderId);
    if (fee === undefined) {
      const rate = this.markets.get(order.marketIndex)?.market.makerFeeRate ?? 0;
      fee = BigInt(Math.round(Number(quote) * rate));
      this.logger.warn('drift maker fill without its event: fee estimated from the fee tier', {
        order: order.orderId,
      });
    }
    tracked.filledBase = filledBase;
    tracked.filledQuote = filledQuote;
    tracked.fee += fee;
    this.emitFill(state, tracked, order.orderId, base, quote, fee, 'maker', now);
  }

  private emitFill(
    state: AccountState,
    tracked: TrackedOrder,
    orderId: number,
    base: bigint,
    quote: bigint,
    fee: bigint,
    liquidity: 'maker' | 'taker',
    now: number,
  ): void {
    const fill: Fill = {
      id: `${state.address}:${orderId}:${tracked.filledBase}`,
      orderId: String(orderId),
      ...(tracked.order.clientOrderId === undefined ? {} : { clientOrderId: tracked.order.clientOrderId }),
      exchange: this.id,
      account: state.id,
      symbol: tracked.order.symbol,
      side: tracked.order.side,
      price: averagePrice(quote, base),
      quantity: Number(scaledToDecimal(base, 'base')),
      fee: Number(fromScaledInteger(fee, 6)),
      liquidity,
      timestamp: now,
      cumulativeQuantity: Number(scaledToDecimal(tracked.filledBase, 'base')),
      cumulativeFee: Number(fromScaledInteger(tracked.fee, 6)),
      averagePrice: averagePrice(tracked.filledQuote, tracked.filledBase),
      reduceOnly: tracked.order.reduceOnly,
    };
    this.events.emit('fill', fill);
  }

  /** Runs an action after the account's previous one (one transaction in flight per account). */
  private serialize<T>(state: AccountState, action: () => Promise<T>): Promise<T> {
    const run = state.queue.then(action, action);
    state.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * After an action: re-read the account until it shows the effect, retrying with exponential
   * delays (`syncRetryDelaysMs`, 0.5 s, 1 s, 2 s by default). If it never does, the local view and
   * the venue disagree: trading stops (`DESYNC`) until a later poll shows the effect.
   */
  private async sync(state: AccountState, expectation: Expectation): Promise<boolean> {
    const delays = [0, ...this.options.syncRetryDelaysMs];
    for (const delay of delays) {
      if (delay > 0) await sleep(delay);
      try {
        await this.refresh(true);
      } catch {
        continue;
      }
      const view = state.view;
      if (view && expectation.check(view, this.user(state))) return true;
    }
    state.expectations.push(expectation);
    const message = `account ${state.id} does not show ${expectation.what} after ${delays.length} reads`;
    this.hold('DESYNC', message);
    this.events.emit(
      'error',
      new ExchangeError(
        'EXCHANGE_PROTOCOL',
        `drift ledger desync: ${message}; trading disabled until it does`,
        {
          exchange: this.id,
          reason: 'DESYNC',
        },
      ),
    );
    return false;
  }

  /** Maps a failed transaction to what the caller should see; pauses trading on an unknown outcome. */
  private translate(error: unknown, what: string, kind: 'order' | 'capital'): never {
    if (error instanceof TransactionUnknownError) {
      this.unknownSignatures.add(error.signature);
      this.hold('TRANSACTION_UNKNOWN', `${what}: transaction ${error.signature} outcome unknown`);
      this.events.emit('error', error);
      throw error;
    }
    if (
      error instanceof TransactionFailedError &&
      (error.stage === 'simulation' || error.stage === 'chain')
    ) {
      const programError = error.programError ?? 'unknown program error';
      if (kind === 'order')
        throw new OrderRejectedError(
          PROGRAM_ERROR_REASONS[programError] ??
            (error.stage === 'simulation' ? 'SIMULATION_FAILED' : 'TRANSACTION_FAILED'),
          `${what} refused: ${error.message}`,
          { exchange: this.id, cause: error, details: { programError, stage: error.stage } },
        );
      throw error;
    }
    if (error instanceof ExchangeError) throw error;
    throw new ExchangeError('EXCHANGE_UNAVAILABLE', `${what} failed: ${messageOf(error)}`, {
      exchange: this.id,
      retryable: false,
      cause: error,
    });
  }

  private reject(reason: string, message: string): never {
    throw new OrderRejectedError(reason, message, { exchange: this.id });
  }

  /** The exact scaled base of a quantity on the market's lot grid (refused otherwise). */
  private baseAmount(info: MarketInfo, quantity: string): BN {
    let exact: string;
    try {
      exact = toDecimalString(quantity);
    } catch {
      this.reject('INVALID_QUANTITY', `quantity ${JSON.stringify(quantity)} is not a decimal`);
    }
    if (!(Number(exact) > 0) || !isMultipleOf(exact, info.market.lotSize))
      this.reject(
        'INVALID_QUANTITY',
        `quantity ${quantity} is not a positive multiple of the lot ${info.market.lotSize} on ${info.symbol}`,
      );
    if (info.market.minQuantity !== undefined && Number(exact) < Number(info.market.minQuantity))
      this.reject(
        'INVALID_QUANTITY',
        `quantity ${quantity} is below the minimum order size ${info.market.minQuantity}`,
      );
    return decimalToScaled(exact, 'base');
  }

  private priceAmount(info: MarketInfo, price: string, field: string): BN {
    let exact: string;
    try {
      exact = toDecimalString(price);
    } catch {
      this.reject('INVALID_PRICE', `${field} ${JSON.stringify(price)} is not a decimal`);
    }
    if (!(Number(exact) > 0) || !isMultipleOf(exact, info.market.tickSize))
      this.reject(
        'INVALID_PRICE',
        `${field} ${price} is not a positive multiple of the tick ${info.market.tickSize} on ${info.symbol}`,
      );
    return decimalToScaled(exact, 'price');
  }

  /** A free Drift user order id (1–255) for a client order id, refusing one already in use. */
  private userOrderId(state: AccountState, user: User, clientOrderId: string | undefined): number {
    if (clientOrderId === undefined) return 0;
    const open = user.getOpenOrders();
    const existing = state.clientIds.get(clientOrderId);
    if (existing !== undefined && open.some((order) => order.userOrderId === existing))
      this.reject('DUPLICATE_CLIENT_ORDER_ID', `client order id ${clientOrderId} belongs to an open order`);
    const used = new Set([...open.map((order) => order.userOrderId), ...state.clientIds.values()]);
    for (let id = 1; id <= 255; id += 1) {
      if (!used.has(id)) {
        state.clientIds.set(clientOrderId, id);
        return id;
      }
    }
    for (const [clientId, id] of state.clientIds)
      if (!open.some((order) => order.userOrderId === id)) {
        state.clientIds.delete(clientId);
        state.clientIds.set(clientOrderId, id);
        return id;
      }
    return this.reject('TOO_MANY_ORDERS', 'all 255 Drift user order ids are in use by open orders');
  }

  async submitOrder(request: OrderRequest): Promise<Order> {
    const state = this.requireAccount(request.account);
    this.assertTrading('order');
    const info = this.marketOf(request.symbol);
    const base = this.baseAmount(info, request.quantity);
    const timeInForce = request.timeInForce ?? (request.type === 'market' ? 'ioc' : 'gtc');
    if (request.type === 'market' && timeInForce !== 'ioc' && timeInForce !== 'fok')
      this.reject('INVALID_TIME_IN_FORCE', `a market order cannot be ${timeInForce}`);
    if (request.type === 'limit' && request.price === undefined)
      this.reject('INVALID_PRICE', 'a limit order needs a price');
    const limitPrice =
      request.price === undefined ? undefined : this.priceAmount(info, request.price, 'price');
    return this.serialize(state, async () => {
      // Limits and the leverage check need this moment's oracle and account, not the last poll's.
      await this.fresh(true);
      this.assertTrading('order');
      return this.placeOrder(state, info, request, base, limitPrice, timeInForce);
    });
  }

  private async placeOrder(
    state: AccountState,
    info: MarketInfo,
    request: OrderRequest,
    base: BN,
    limitPrice: BN | undefined,
    timeInForce: NonNullable<OrderRequest['timeInForce']>,
  ): Promise<Order> {
    const client = this.driftClient();
    const user = this.user(state);
    const view = state.view as AccountView;
    const long = request.side === 'buy';
    const reduceOnly = request.reduceOnly ?? false;
    const current = view.positions.get(info.index)?.baseAssetAmount ?? 0n;
    const signedBase = BigInt(base.toString()) * (long ? 1n : -1n);
    if (
      reduceOnly &&
      (current === 0n ||
        current > 0n === long ||
        (current < 0n ? -current : current) < BigInt(base.toString()))
    )
      this.reject(
        'REDUCE_ONLY_WOULD_INCREASE',
        `a reduce-only ${request.side} of ${request.quantity} ${info.symbol} would not only reduce the position of ${scaledToDecimal(current, 'base')}`,
      );
    const oracle = client.getOracleDataForPerpMarket(info.index).price;

    // Leverage: risk-increasing orders may not take the account beyond maxLeverage.
    const after = current + signedBase;
    const magnitude = (value: bigint) => (value < 0n ? -value : value);
    if (magnitude(after) > magnitude(current)) {
      const added = ((magnitude(after) - magnitude(current)) * BigInt(oracle.toString())) / 1_000_000_000n;
      const netValue = view.netValue;
      const projected =
        netValue > 0n ? Number(view.grossNotional + added) / Number(netValue) : Number.POSITIVE_INFINITY;
      if (projected > this.options.maxLeverage)
        this.reject(
          'MAX_LEVERAGE',
          `${request.side} ${request.quantity} ${info.symbol} would take account leverage to ${projected.toFixed(2)}x, above the ${this.options.maxLeverage}x limit`,
        );
    }

    const userOrderId = this.userOrderId(state, user, request.clientOrderId);
    const direction = long ? PositionDirection.LONG : PositionDirection.SHORT;
    const takes = request.type === 'market' || timeInForce === 'ioc' || timeInForce === 'fok';
    let price = limitPrice;
    if (request.type === 'market') {
      if (request.priceLimit !== undefined) price = this.priceAmount(info, request.priceLimit, 'priceLimit');
      else {
        // Oracle ± slippage tolerance, on the tick and never beyond the tolerance (exact integers).
        const bps = new BN(10_000 + (long ? 1 : -1) * this.options.slippageBps);
        const tick = (
          info.account.amm.orderTickSize.isZero() ? new BN(1) : info.account.amm.orderTickSize
        ).muln(10_000);
        const scaled = oracle.mul(bps);
        const ticks = long ? scaled.div(tick) : scaled.add(tick).subn(1).div(tick);
        price = ticks.mul(tick).divn(10_000);
      }
    }
    const maxTs = request.expiresAt === undefined ? undefined : new BN(Math.floor(request.expiresAt / 1000));
    const createdAt = Date.now();
    const what = `${request.side} ${request.quantity} ${info.symbol}`;
    let signature: string;
    try {
      if (takes) {
        const params =
          request.type === 'market'
            ? getMarketOrderParams({
                marketIndex: info.index,
                direction,
                baseAssetAmount: base,
                price: price as BN,
                reduceOnly,
                userOrderId,
              })
            : getLimitOrderParams({
                marketIndex: info.index,
                direction,
                baseAssetAmount: base,
                price: price as BN,
                reduceOnly,
                userOrderId,
              });
        signature = await client.placeAndTakePerpOrder(
          { ...params, marketType: MarketType.PERP },
          undefined,
          undefined,
          timeInForce === 'ioc' && request.type === 'limit'
            ? PlaceAndTakeOrderSuccessCondition.PartialFill
            : PlaceAndTakeOrderSuccessCondition.FullFill,
          undefined,
          undefined,
          state.subAccountId,
        );
      } else {
        signature = await client.placePerpOrder(
          getLimitOrderParams({
            marketIndex: info.index,
            direction,
            baseAssetAmount: base,
            price: price as BN,
            reduceOnly,
            userOrderId,
            postOnly: timeInForce === 'post-only' ? PostOnlyParams.MUST_POST_ONLY : PostOnlyParams.NONE,
            ...(maxTs ? { maxTs } : {}),
          }),
          undefined,
          state.subAccountId,
        );
      }
    } catch (error) {
      if (request.clientOrderId !== undefined) state.clientIds.delete(request.clientOrderId);
      this.translate(error, what, 'order');
    }

    // What happened, from the program's own events.
    const records = await this.orderRecords(signature);
    const mine = records.filter(
      (record) => record.taker?.toBase58() === state.address && record.marketIndex === info.index,
    );
    const orderId = mine[0]?.takerOrderId ?? undefined;
    if (orderId === undefined || orderId === null) {
      // The events were not readable: find the order in the account itself.
      await this.refresh(true).catch(() => undefined);
      const slot = this.user(state)
        .getUserAccount()
        .orders.filter((order) => order.marketIndex === info.index && getVariant(order.status) !== 'init')
        .sort((a, b) => b.orderId - a.orderId)[0];
      if (!slot)
        throw new ExchangeError(
          'EXCHANGE_PROTOCOL',
          `order ${signature} confirmed but not found in the account`,
          {
            exchange: this.id,
          },
        );
      return this.registerOrder(
        state,
        info,
        request,
        slot.orderId,
        timeInForce,
        createdAt,
        signature,
        [],
        base,
        current,
      );
    }
    return this.registerOrder(
      state,
      info,
      request,
      orderId,
      timeInForce,
      createdAt,
      signature,
      mine,
      base,
      current,
    );
  }

  private async orderRecords(signature: string): Promise<OrderActionRecord[]> {
    const connection = this.connection;
    const client = this.client;
    if (!connection || !client) return [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const transaction = await connection.getTransaction(signature, {
          commitment: this.options.commitment === 'finalized' ? 'finalized' : 'confirmed',
          maxSupportedTransactionVersion: 0,
        });
        if (transaction?.meta?.logMessages)
          return parseLogs(client.program, transaction.meta.logMessages)
            .filter((event) => event.name === 'OrderActionRecord')
            .map((event) => event.data as unknown as OrderActionRecord);
      } catch (error) {
        this.logger.warn('drift transaction lookup failed', { signature, error: messageOf(error) });
      }
      await sleep(200 * 2 ** attempt);
    }
    return [];
  }

  private async registerOrder(
    state: AccountState,
    info: MarketInfo,
    request: OrderRequest,
    orderId: number,
    timeInForce: NonNullable<OrderRequest['timeInForce']>,
    createdAt: number,
    signature: string,
    records: readonly OrderActionRecord[],
    base: BN,
    positionBefore: bigint,
  ): Promise<Order> {
    const now = Date.now();
    state.seenSignatures.add(signature);
    const tracked: TrackedOrder = {
      order: {
        id: String(orderId),
        ...(request.clientOrderId === undefined ? {} : { clientOrderId: request.clientOrderId }),
        exchange: this.id,
        account: state.id,
        symbol: info.symbol,
        side: request.side,
        type: request.type,
        timeInForce,
        reduceOnly: request.reduceOnly ?? false,
        quantity: Number(request.quantity),
        ...(request.price === undefined ? {} : { price: Number(request.price) }),
        status: 'open',
        filledQuantity: 0,
        averagePrice: 0,
        fee: 0,
        ...(request.expiresAt === undefined ? {} : { expiresAt: request.expiresAt }),
        createdAt,
        updatedAt: now,
      },
      filledBase: 0n,
      filledQuote: 0n,
      fee: 0n,
    };
    state.orders.set(orderId, tracked);
    for (const record of records) {
      if (getVariant(record.action) !== 'fill' || record.takerOrderId !== orderId) continue;
      const fillBase = BigInt(record.baseAssetAmountFilled?.toString() ?? '0');
      const fillQuote = BigInt(record.quoteAssetAmountFilled?.toString() ?? '0');
      const fee = BigInt(record.takerFee?.toString() ?? '0');
      tracked.filledBase = BigInt(
        record.takerOrderCumulativeBaseAssetAmountFilled?.toString() ?? String(tracked.filledBase + fillBase),
      );
      tracked.filledQuote = BigInt(
        record.takerOrderCumulativeQuoteAssetAmountFilled?.toString() ??
          String(tracked.filledQuote + fillQuote),
      );
      tracked.fee += fee;
      this.emitFill(state, tracked, orderId, fillBase, fillQuote, fee, 'taker', now);
    }
    const cancelled = records.some(
      (record) => getVariant(record.action) === 'cancel' && record.takerOrderId === orderId,
    );
    const takes = request.type === 'market' || timeInForce === 'ioc' || timeInForce === 'fok';
    const full = tracked.filledBase >= BigInt(base.toString());
    const status: OrderStatus = full
      ? 'filled'
      : takes || cancelled
        ? 'cancelled'
        : tracked.filledBase > 0n
          ? 'partially-filled'
          : 'open';
    tracked.order = {
      ...tracked.order,
      status,
      filledQuantity: Number(scaledToDecimal(tracked.filledBase, 'base')),
      averagePrice: tracked.filledBase === 0n ? 0 : averagePrice(tracked.filledQuote, tracked.filledBase),
      fee: Number(fromScaledInteger(tracked.fee, 6)),
      ...(status === 'cancelled'
        ? { reason: tracked.filledBase > 0n ? 'IOC_REMAINDER_CANCELLED' : 'NOT_FILLED' }
        : {}),
      updatedAt: now,
    };
    this.events.emit('order', tracked.order);

    // The account must show it: the position moved by the fill, or the order rests.
    const expectedBase = positionBefore + (request.side === 'buy' ? tracked.filledBase : -tracked.filledBase);
    await this.sync(state, {
      what: takes
        ? `the ${info.symbol} position at ${scaledToDecimal(expectedBase, 'base')} after order ${orderId}`
        : `open order ${orderId}`,
      check: (view, user) =>
        takes
          ? (view.positions.get(info.index)?.baseAssetAmount ?? 0n) === expectedBase
          : user
              .getUserAccount()
              .orders.some((order) => order.orderId === orderId && getVariant(order.status) !== 'init'),
    });
    return tracked.order;
  }

  async cancelOrder(request: CancelOrderRequest): Promise<Order> {
    const state = this.requireAccount(request.account);
    this.marketOf(request.symbol);
    this.assertTrading('cancel');
    await this.fresh();
    return this.serialize(state, async () => {
      const user = this.user(state);
      const open = user.getOpenOrders();
      let target: DriftOrder | undefined;
      if (request.orderId !== undefined) {
        const id = Number(request.orderId);
        target = Number.isSafeInteger(id) ? open.find((order) => order.orderId === id) : undefined;
      } else if (request.clientOrderId !== undefined) {
        const userOrderId = state.clientIds.get(request.clientOrderId);
        target =
          userOrderId === undefined ? undefined : open.find((order) => order.userOrderId === userOrderId);
      } else {
        throw new ExchangeError('INVALID_ARGUMENT', 'cancelOrder needs orderId or clientOrderId', {
          exchange: this.id,
        });
      }
      if (!target || this.markets.get(target.marketIndex)?.symbol !== request.symbol)
        throw new ExchangeError(
          'ORDER_NOT_FOUND',
          `no open order ${request.orderId ?? request.clientOrderId} on ${request.symbol} in account ${state.id}`,
          { exchange: this.id },
        );
      const orderId = target.orderId;
      try {
        await this.driftClient().cancelOrder(orderId, undefined, state.subAccountId);
      } catch (error) {
        this.translate(error, `cancel order ${orderId}`, 'capital');
      }
      await this.sync(state, {
        what: `order ${orderId} no longer open`,
        check: (_view, current) => !current.getOpenOrders().some((order) => order.orderId === orderId),
      });
      const tracked = state.orders.get(orderId);
      const slot = this.user(state)
        .getUserAccount()
        .orders.find((order) => order.orderId === orderId);
      const cancelled: Order = {
        ...(slot ? this.toOrder(state, slot) : (tracked?.order as Order)),
        status: 'cancelled',
        reason: 'CANCELLED_BY_USER',
        updatedAt: Date.now(),
      };
      if (tracked) tracked.order = cancelled;
      else state.orders.set(orderId, { order: cancelled, filledBase: 0n, filledQuote: 0n, fee: 0n });
      this.events.emit('order', cancelled);
      return cancelled;
    });
  }

  async cancelAllOrders(request: CancelAllRequest): Promise<number> {
    const state = this.requireAccount(request.account);
    const info = request.symbol === undefined ? undefined : this.marketOf(request.symbol);
    this.assertTrading('cancel');
    await this.fresh();
    return this.serialize(state, async () => {
      const open = this.user(state)
        .getOpenOrders()
        .filter(
          (order) =>
            getVariant(order.marketType) === 'perp' &&
            (info === undefined || order.marketIndex === info.index),
        );
      if (open.length === 0) return 0;
      try {
        await this.driftClient().cancelOrders(
          MarketType.PERP,
          info?.index,
          undefined,
          undefined,
          state.subAccountId,
        );
      } catch (error) {
        this.translate(error, 'cancel all orders', 'capital');
      }
      const ids = new Set(open.map((order) => order.orderId));
      await this.sync(state, {
        what: `${ids.size} orders no longer open`,
        check: (_view, user) => !user.getOpenOrders().some((order) => ids.has(order.orderId)),
      });
      for (const order of open) {
        const cancelled: Order = {
          ...this.toOrder(state, order),
          status: 'cancelled',
          reason: 'CANCELLED_BY_USER',
        };
        const tracked = state.orders.get(order.orderId);
        if (tracked) tracked.order = cancelled;
        this.events.emit('order', cancelled);
      }
      return open.length;
    });
  }

  /** Closes a position by an exact offsetting, reduce-only market order of its whole size. */
  async closePosition(account: string, symbol: string): Promise<Order | undefined> {
    const state = this.requireAccount(account);
    const info = this.marketOf(symbol);
    await this.fresh();
    const base = state.view?.positions.get(info.index)?.baseAssetAmount ?? 0n;
    if (base === 0n) return undefined;
    return this.submitOrder({
      account,
      symbol,
      side: base > 0n ? 'sell' : 'buy',
      type: 'market',
      quantity: scaledToDecimal(base < 0n ? -base : base, 'base'),
      reduceOnly: true,
    });
  }

  /** Settles a market's unsettled PnL into the USDC balance. Resolves with the amount settled (USD). */
  async settlePnl(account: string, symbol: string): Promise<number> {
    const state = this.requireAccount(account);
    const info = this.marketOf(symbol);
    this.assertTrading('capital');
    await this.fresh();
    return this.serialize(state, async () => {
      const before = state.view?.usdc ?? 0n;
      const position = state.view?.positions.get(info.index);
      if (!position || position.unsettledPnl === 0n) return 0;
      const user = this.user(state);
      try {
        await this.driftClient().settlePNL(new PublicKey(state.address), user.getUserAccount(), info.index);
      } catch (error) {
        this.translate(error, `settle ${symbol} PnL`, 'capital');
      }
      await this.sync(state, {
        what: `the ${symbol} PnL settled`,
        check: (view) => view.usdc !== before || (view.positions.get(info.index)?.unsettledPnl ?? 0n) === 0n,
      });
      const settled = (state.view?.usdc ?? before) - before;
      state.settledAt.set(info.index, Date.now());
      this.events.emit('balance', {
        exchange: this.id,
        account: state.id,
        timestamp: Date.now(),
        asset: 'USDC',
        amount: Number(fromScaledInteger(settled, 6)),
        kind: 'realized-pnl',
        balance: Number(fromScaledInteger(state.view?.usdc ?? 0n, 6)),
      });
      return Number(fromScaledInteger(settled, 6));
    });
  }

  // ------------------------------------------------------------------ capital

  private usdcAmount(asset: string, amount: number | string, field: string): BN {
    if (asset !== 'USDC')
      throw new ExchangeError('INVALID_ARGUMENT', `asset must be USDC (Drift spot market 0); got ${asset}`, {
        exchange: this.id,
      });
    if (typeof amount === 'number' && !Number.isFinite(amount))
      throw new ExchangeError('INVALID_ARGUMENT', `${field} must be a finite number`, { exchange: this.id });
    const scaled = decimalToScaled(amount, 'quote', 'exact', field);
    if (!scaled.gtn(0))
      throw new ExchangeError('INVALID_ARGUMENT', `${field} must be positive (got ${amount})`, {
        exchange: this.id,
      });
    return scaled;
  }

  private walletTokenAccount(): PublicKey {
    const mint = this.driftClient().getSpotMarketAccount(0)?.mint;
    if (!mint || !this.keypair)
      throw new ExchangeError('EXCHANGE_AUTH', 'no wallet to move USDC from', { exchange: this.id });
    return associatedTokenAccount(this.keypair.publicKey, mint);
  }

  /**
   * Deposits USDC from the wallet's associated token account: the amount is checked (positive, at
   * most 6 decimals, at most the wallet balance), simulated, sent, and confirmed within
   * `confirmTimeoutMs`.
   */
  async deposit(account: string, asset: string, amount: number | string): Promise<void> {
    const state = this.requireAccount(account);
    const scaled = this.usdcAmount(asset, amount, 'amount');
    this.assertTrading('capital');
    await this.fresh();
    await this.serialize(state, async () => {
      const source = this.walletTokenAccount();
      let walletBalance: bigint;
      try {
        walletBalance = BigInt((await this.connection?.getTokenAccountBalance(source))?.value.amount ?? '0');
      } catch (error) {
        throw new ExchangeError(
          'INSUFFICIENT_FUNDS',
          `the wallet has no USDC token account (${source.toBase58()})`,
          {
            exchange: this.id,
            cause: error,
          },
        );
      }
      const wanted = BigInt(scaled.toString());
      if (wanted > walletBalance)
        throw new ExchangeError(
          'INSUFFICIENT_FUNDS',
          `deposit of ${scaledToDecimal(scaled, 'quote')} USDC exceeds the wallet balance of ${fromScaledInteger(walletBalance, 6)}`,
          { exchange: this.id, reason: 'WALLET_BALANCE' },
        );
      const before = state.view?.usdc ?? 0n;
      try {
        await this.driftClient().deposit(scaled, 0, source, state.subAccountId);
      } catch (error) {
        this.translate(error, `deposit ${scaledToDecimal(scaled, 'quote')} USDC`, 'capital');
      }
      await this.sync(state, {
        what: `the deposit of ${scaledToDecimal(scaled, 'quote')} USDC`,
        check: (view) => view.usdc - before >= wanted - 1n,
      });
      this.events.emit('balance', {
        exchange: this.id,
        account: state.id,
        timestamp: Date.now(),
        asset: 'USDC',
        amount: Number(scaledToDecimal(scaled, 'quote')),
        kind: 'deposit',
        balance: Number(fromScaledInteger(state.view?.usdc ?? 0n, 6)),
      });
    });
  }

  /**
   * Withdraws USDC to the wallet. Refused when it exceeds the deposit (no borrowing: reduce-only)
   * or would leave account health below `withdrawHealthFloor` (80 % by default).
   */
  async withdraw(account: string, asset: string, amount: number | string): Promise<void> {
    const state = this.requireAccount(account);
    const scaled = this.usdcAmount(asset, amount, 'amount');
    this.assertTrading('capital');
    await this.fresh();
    await this.serialize(state, async () => {
      const view = state.view as AccountView;
      const wanted = BigInt(scaled.toString());
      if (wanted > view.usdc)
        throw new ExchangeError(
          'INSUFFICIENT_FUNDS',
          `withdrawal of ${scaledToDecimal(scaled, 'quote')} USDC exceeds the deposit of ${fromScaledInteger(view.usdc, 6)} (the adapter never borrows)`,
          { exchange: this.id, reason: 'BALANCE' },
        );
      const healthAfter = healthRatio(view.totalCollateralMaintenance - wanted, view.maintenanceRequirement);
      if (healthAfter < this.options.withdrawHealthFloor)
        throw new ExchangeError(
          'INSUFFICIENT_FUNDS',
          `withdrawal of ${scaledToDecimal(scaled, 'quote')} USDC would leave health at ${(healthAfter * 100).toFixed(1)} %, below the ${(this.options.withdrawHealthFloor * 100).toFixed(0)} % floor`,
          { exchange: this.id, reason: 'HEALTH_FLOOR', details: { healthAfter } },
        );
      const before = view.usdc;
      try {
        await this.driftClient().withdraw(scaled, 0, this.walletTokenAccount(), true, state.subAccountId);
      } catch (error) {
        this.translate(error, `withdraw ${scaledToDecimal(scaled, 'quote')} USDC`, 'capital');
      }
      await this.sync(state, {
        what: `the withdrawal of ${scaledToDecimal(scaled, 'quote')} USDC`,
        check: (current) => before - current.usdc >= wanted - 1n,
      });
      this.events.emit('balance', {
        exchange: this.id,
        account: state.id,
        timestamp: Date.now(),
        asset: 'USDC',
        amount: -Number(scaledToDecimal(scaled, 'quote')),
        kind: 'withdrawal',
        balance: Number(fromScaledInteger(state.view?.usdc ?? 0n, 6)),
      });
    });
  }
}

/** quote (QUOTE_PRECISION) / base (BASE_PRECISION) as a price, exact to 9 decimals before rounding to a double. */
function averagePrice(quote: bigint, base: bigint): number {
  if (base === 0n) return 0;
  const magnitudeQuote = quote < 0n ? -quote : quote;
  const magnitudeBase = base < 0n ? -base : base;
  // price = quote/1e6 ÷ base/1e9 = quote × 1e3 / base; kept to 9 decimals.
  const scaled = (magnitudeQuote * 1_000n * 1_000_000_000n) / magnitudeBase;
  return Number(fromScaledInteger(scaled, 9));
}
