import { ExchangeError, type z } from '@perpkit/core';
import {
  type BackoffOptions,
  backoffDelay,
  parseRateLimitHeader,
  type RateLimitState,
  retryAfterMs,
} from './backoff';
import { type VenueFailure, venueError } from './errors';
import {
  type AccountFundingInfo,
  type AccountInfo,
  type AccountSetting,
  accountFundingSchema,
  accountInfoSchema,
  accountSettingSchema,
  type Book,
  batchResultSchema,
  bookSchema,
  cancelAllResultSchema,
  createOrderResultSchema,
  type FundingRateHistoryInfo,
  fundingRateHistorySchema,
  type MarketInfo,
  marketInfoSchema,
  type OpenOrderInfo,
  type OrderHistoryInfo,
  openOrderSchema,
  orderHistorySchema,
  type PositionInfo,
  type PriceInfo,
  positionSchema,
  priceInfoSchema,
  type TradeHistoryInfo,
  tradeHistorySchema,
} from './schemas';
import {
  buildSignedRequest,
  keyPairFromSecretKey,
  type PacificaKeyPair,
  type SecretKeyInput,
  type SignablePayload,
  type SignedRequestBody,
} from './signing';

export const MAINNET_REST_URL = 'https://api.pacifica.fi/api/v1';
export const TESTNET_REST_URL = 'https://test-api.pacifica.fi/api/v1';

/** Who signs: the main account, and the key that signs for it (its own, or an agent wallet's). */
export interface PacificaCredentials {
  /** The main account's public key (base58). */
  readonly account: string;
  readonly keyPair: PacificaKeyPair;
  /** Set when an agent wallet signs for `account`. */
  readonly agentWallet: string | undefined;
}

/**
 * Reads credentials. Without `account`, the key is the account's own. With an `account` that is
 * not the key's public key, the key is an agent wallet of that account (sent as `agent_wallet`).
 */
export function createCredentials(input: {
  readonly secretKey: SecretKeyInput;
  readonly account?: string;
  readonly agentWallet?: string;
}): PacificaCredentials {
  const keyPair = keyPairFromSecretKey(input.secretKey);
  const account = input.account ?? keyPair.publicKey;
  if (input.agentWallet !== undefined && input.agentWallet !== keyPair.publicKey)
    throw new ExchangeError('INVALID_ARGUMENT', 'agentWallet is not the public key of the given secret key');
  const agentWallet = account === keyPair.publicKey ? undefined : keyPair.publicKey;
  return { account, keyPair, agentWallet };
}

// ------------------------------------------------------------------------------ payloads

export type PacificaSide = 'bid' | 'ask';
export type PacificaTimeInForce = 'GTC' | 'IOC' | 'ALO' | 'TOB';

export interface StopLegPayload {
  readonly stop_price: string;
  readonly limit_price?: string;
  readonly amount?: string;
  readonly client_order_id?: string;
}

export interface CreateOrderPayload {
  readonly symbol: string;
  readonly price: string;
  readonly amount: string;
  readonly side: PacificaSide;
  readonly tif: PacificaTimeInForce;
  readonly reduce_only: boolean;
  readonly client_order_id?: string;
  readonly take_profit?: StopLegPayload;
  readonly stop_loss?: StopLegPayload;
}

export interface CreateMarketOrderPayload {
  readonly symbol: string;
  readonly amount: string;
  readonly side: PacificaSide;
  readonly slippage_percent: string;
  readonly reduce_only: boolean;
  readonly client_order_id?: string;
  readonly take_profit?: StopLegPayload;
  readonly stop_loss?: StopLegPayload;
}

export interface CreateStopOrderPayload {
  readonly symbol: string;
  readonly side: PacificaSide;
  readonly reduce_only: boolean;
  readonly stop_order: StopLegPayload & { readonly amount: string };
}

export interface SetPositionTpslPayload {
  readonly symbol: string;
  /** The closing side (`ask` for a long). */
  readonly side: PacificaSide;
  readonly take_profit?: StopLegPayload;
  readonly stop_loss?: StopLegPayload;
}

export type CancelOrderPayload =
  | { readonly symbol: string; readonly order_id: number }
  | { readonly symbol: string; readonly client_order_id: string };

export interface CancelAllOrdersPayload {
  readonly all_symbols: boolean;
  readonly exclude_reduce_only: boolean;
  readonly symbol?: string;
}

export interface EditOrderPayload {
  readonly symbol: string;
  readonly price: string;
  readonly amount: string;
  readonly order_id?: number;
  readonly client_order_id?: string;
}

export type BatchAction =
  | { readonly type: 'Create'; readonly payload: CreateOrderPayload }
  | { readonly type: 'Cancel'; readonly payload: CancelOrderPayload };

export interface BatchActionResult {
  readonly success: boolean;
  readonly orderId: string | undefined;
  readonly error: string | undefined;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | undefined;
  readonly hasMore: boolean;
}

/** The maximum number of actions in one batch (docs "Batch order"). */
export const MAX_BATCH_ACTIONS = 10;

// ------------------------------------------------------------------------------ client

export interface PacificaRestClientOptions {
  /** REST base including `/api/v1`. Default: mainnet. */
  readonly baseUrl?: string;
  /** An API config key, sent as `PF-API-KEY` for the higher rate-limit tier. */
  readonly apiKey?: string;
  /** Per-request timeout. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Retries after HTTP 429 (every request) and after 5xx or network errors (reads only). Default 5. */
  readonly maxRetries?: number;
  /** Retry delays when the venue gives no `Retry-After`. Default 250 ms doubling up to 10 s. */
  readonly backoff?: BackoffOptions;
  /** Signature expiry window sent with each signed request. Default 5 000 ms. */
  readonly expiryWindowMs?: number;
  /** Exchange instance id stamped on errors. */
  readonly exchangeId?: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** Called on every 429 with the delay chosen before the retry. */
  readonly onRateLimited?: (event: { path: string; attempt: number; delayMs: number }) => void;
}

type RequestKind = 'read' | 'order' | 'cancel' | 'action';

interface Envelope {
  readonly data: unknown;
  readonly nextCursor: string | undefined;
  readonly hasMore: boolean;
}

const defaultSleep = (milliseconds: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, milliseconds).unref?.());

/**
 * Pacifica's REST API. Method names follow the venue's endpoint names; reads take an account
 * address, signed actions take `PacificaCredentials`. Responses are parsed leniently (see
 * `schemas.ts`); failures become perpkit errors that say whether they are retryable.
 */
export class PacificaRestClient {
  readonly baseUrl: string;
  private readonly options: PacificaRestClientOptions;
  private readonly fetchImplementation: typeof fetch;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (milliseconds: number) => Promise<void>;
  private lastRateLimit: RateLimitState | undefined;

  constructor(options: PacificaRestClientOptions = {}) {
    this.options = options;
    this.baseUrl = (options.baseUrl ?? MAINNET_REST_URL).replace(/\/+$/, '');
    this.fetchImplementation = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** The last `ratelimit` header seen (credits remaining, seconds to refresh). */
  rateLimit(): RateLimitState | undefined {
    return this.lastRateLimit;
  }

  // ---------------------------------------------------------------- markets

  /** `GET /info`: every market with tick, lot and max leverage. */
  async getMarketInfo(): Promise<MarketInfo[]> {
    const { data } = await this.get('/info');
    return this.parseList(marketInfoSchema, data, '/info', true);
  }

  /** `GET /info/prices`: mark, mid, oracle and funding of every market. */
  async getPrices(): Promise<PriceInfo[]> {
    const { data } = await this.get('/info/prices');
    return this.parseList(priceInfoSchema, data, '/info/prices', true);
  }

  /** `GET /book`: the order book, bids then asks, up to 10 levels each. */
  async getOrderbook(symbol: string, aggLevel?: number): Promise<Book> {
    const { data } = await this.get('/book', { symbol, agg_level: aggLevel });
    return this.parse(bookSchema, data, '/book');
  }

  /** `GET /funding_rate/history`: settled hourly funding rates of a market, newest first. */
  async getHistoricalFunding(
    symbol: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<Page<FundingRateHistoryInfo>> {
    const envelope = await this.get('/funding_rate/history', { symbol, ...page });
    return this.page(fundingRateHistorySchema, envelope, '/funding_rate/history');
  }

  // ---------------------------------------------------------------- account reads

  /** `GET /account`: balance, equity, margin. The docs show `data` as an object or a one-element array. */
  async getAccountInfo(account: string): Promise<AccountInfo> {
    const { data } = await this.get('/account', { account });
    const record = Array.isArray(data) ? data[0] : data;
    if (record === undefined || record === null)
      throw new ExchangeError('ACCOUNT_NOT_FOUND', `Pacifica has no account ${account}`, {
        exchange: this.options.exchangeId,
      });
    return this.parse(accountInfoSchema, record, '/account');
  }

  /** `GET /account/settings`: leverage and margin mode of markets changed from the defaults. */
  async getAccountSettings(account: string): Promise<AccountSetting[]> {
    const { data } = await this.get('/account/settings', { account });
    return this.parseList(accountSettingSchema, data ?? [], '/account/settings', false);
  }

  /** `GET /positions`: open positions (`bid` long, `ask` short). */
  async getPositions(account: string): Promise<PositionInfo[]> {
    const { data } = await this.get('/positions', { account });
    return this.parseList(positionSchema, data ?? [], '/positions', false);
  }

  /** `GET /orders`: open orders. */
  async getOpenOrders(account: string): Promise<OpenOrderInfo[]> {
    const { data } = await this.get('/orders', { account });
    return this.parseList(openOrderSchema, data ?? [], '/orders', false);
  }

  /** `GET /orders/history`: orders of an account, newest first. */
  async getOrderHistory(
    account: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<Page<OrderHistoryInfo>> {
    const envelope = await this.get('/orders/history', { account, ...page });
    return this.page(orderHistorySchema, envelope, '/orders/history');
  }

  /** `GET /orders/history_by_id`: every event of one order, newest first. */
  async getOrderHistoryById(orderId: string | number): Promise<OrderHistoryInfo[]> {
    const { data } = await this.get('/orders/history_by_id', { order_id: orderId });
    return this.parseList(orderHistorySchema, data ?? [], '/orders/history_by_id', false);
  }

  /** `GET /trades/history`: fills of an account. */
  async getTradeHistory(
    account: string,
    page: { symbol?: string; limit?: number; cursor?: string } = {},
  ): Promise<Page<TradeHistoryInfo>> {
    const envelope = await this.get('/trades/history', { account, ...page });
    return this.page(tradeHistorySchema, envelope, '/trades/history');
  }

  /** `GET /funding/history`: funding payments of an account (payout in USD). */
  async getFundingHistory(
    account: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<Page<AccountFundingInfo>> {
    const envelope = await this.get('/funding/history', { account, ...page });
    return this.page(accountFundingSchema, envelope, '/funding/history');
  }

  // ---------------------------------------------------------------- signed actions

  /** Signs one operation into the exact body the venue expects (fresh timestamp). */
  sign(credentials: PacificaCredentials, type: string, payload: object): SignedRequestBody {
    return buildSignedRequest({
      type,
      timestamp: this.now(),
      expiryWindow: this.options.expiryWindowMs ?? 5_000,
      data: payload as SignablePayload,
      account: credentials.account,
      secretKey: credentials.keyPair,
      ...(credentials.agentWallet === undefined ? {} : { agentWallet: credentials.agentWallet }),
    });
  }

  /** `POST /orders/create` (`create_order`): a limit order. */
  async createOrder(
    credentials: PacificaCredentials,
    payload: CreateOrderPayload,
  ): Promise<{ orderId: string }> {
    return this.placeOrder(credentials, '/orders/create', 'create_order', payload);
  }

  /** `POST /orders/create_market` (`create_market_order`). */
  async createMarketOrder(
    credentials: PacificaCredentials,
    payload: CreateMarketOrderPayload,
  ): Promise<{ orderId: string }> {
    return this.placeOrder(credentials, '/orders/create_market', 'create_market_order', payload);
  }

  /** `POST /orders/stop/create` (`create_stop_order`). */
  async createStopOrder(
    credentials: PacificaCredentials,
    payload: CreateStopOrderPayload,
  ): Promise<{ orderId: string }> {
    return this.placeOrder(credentials, '/orders/stop/create', 'create_stop_order', payload);
  }

  /** `POST /positions/tpsl` (`set_position_tpsl`): take profit and/or stop loss on a position. */
  async setPositionTpsl(credentials: PacificaCredentials, payload: SetPositionTpslPayload): Promise<void> {
    await this.post('/positions/tpsl', 'order', () => this.sign(credentials, 'set_position_tpsl', payload));
  }

  /** `POST /orders/cancel` (`cancel_order`), by `order_id` or `client_order_id`. */
  async cancelOrder(credentials: PacificaCredentials, payload: CancelOrderPayload): Promise<void> {
    await this.post('/orders/cancel', 'cancel', () => this.sign(credentials, 'cancel_order', payload));
  }

  /** `POST /orders/stop/cancel` (`cancel_stop_order`). */
  async cancelStopOrder(credentials: PacificaCredentials, payload: CancelOrderPayload): Promise<void> {
    await this.post('/orders/stop/cancel', 'cancel', () =>
      this.sign(credentials, 'cancel_stop_order', payload),
    );
  }

  /** `POST /orders/cancel_all` (`cancel_all_orders`): returns the number cancelled. */
  async cancelAllOrders(credentials: PacificaCredentials, payload: CancelAllOrdersPayload): Promise<number> {
    const data = await this.post('/orders/cancel_all', 'cancel', () =>
      this.sign(credentials, 'cancel_all_orders', payload),
    );
    return this.parse(cancelAllResultSchema, data ?? {}, '/orders/cancel_all').cancelled_count ?? 0;
  }

  /** `POST /orders/edit` (`edit_order`): cancels and re-creates as ALO under a new order id. */
  async editOrder(credentials: PacificaCredentials, payload: EditOrderPayload): Promise<{ orderId: string }> {
    return this.placeOrder(credentials, '/orders/edit', 'edit_order', payload);
  }

  /**
   * `POST /orders/batch`: up to 10 creates and cancels, each signed on its own, executed in order;
   * one failing action does not stop the others.
   */
  async batchOrders(
    credentials: PacificaCredentials,
    actions: readonly BatchAction[],
  ): Promise<BatchActionResult[]> {
    if (actions.length === 0 || actions.length > MAX_BATCH_ACTIONS)
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `a batch holds 1 to ${MAX_BATCH_ACTIONS} actions (got ${actions.length})`,
      );
    const data = await this.post('/orders/batch', 'action', () => ({
      actions: actions.map((action) => ({
        type: action.type,
        data: this.sign(
          credentials,
          action.type === 'Create' ? 'create_order' : 'cancel_order',
          action.payload,
        ),
      })),
    }));
    const parsed = this.parse(batchResultSchema, data, '/orders/batch');
    return parsed.results.map((result) => ({
      success: result.success,
      orderId: result.order_id,
      error: result.error,
    }));
  }

  /** `POST /account/leverage` (`update_leverage`). */
  async updateLeverage(
    credentials: PacificaCredentials,
    payload: { symbol: string; leverage: number },
  ): Promise<void> {
    await this.post('/account/leverage', 'action', () => this.sign(credentials, 'update_leverage', payload));
  }

  /** `POST /account/margin` (`update_margin_mode`). */
  async updateMarginMode(
    credentials: PacificaCredentials,
    payload: { symbol: string; is_isolated: boolean },
  ): Promise<void> {
    await this.post('/account/margin', 'action', () => this.sign(credentials, 'update_margin_mode', payload));
  }

  // ---------------------------------------------------------------- transport

  private async placeOrder(
    credentials: PacificaCredentials,
    path: string,
    type: string,
    payload: object,
  ): Promise<{ orderId: string }> {
    const data = await this.post(path, 'order', () => this.sign(credentials, type, payload));
    return { orderId: this.parse(createOrderResultSchema, data, path).order_id };
  }

  private get(path: string, query: Record<string, string | number | undefined> = {}): Promise<Envelope> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
    const suffix = search.size > 0 ? `?${search.toString()}` : '';
    return this.send('GET', path, suffix, undefined, 'read');
  }

  private async post(path: string, kind: RequestKind, body: () => unknown): Promise<unknown> {
    return (await this.send('POST', path, '', body, kind)).data;
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    suffix: string,
    body: (() => unknown) | undefined,
    kind: RequestKind,
  ): Promise<Envelope> {
    const maxRetries = this.options.maxRetries ?? 5;
    const backoff = this.options.backoff ?? { baseDelayMs: 250, maxDelayMs: 10_000 };
    for (let attempt = 0; ; attempt += 1) {
      let failure: VenueFailure;
      let retryDelay: number | undefined;
      try {
        // Signed bodies are rebuilt on every attempt: a retry after a long wait needs a fresh timestamp.
        const response = await this.fetchWithTimeout(method, path + suffix, body?.());
        this.lastRateLimit = parseRateLimitHeader(response.headers.get('ratelimit')) ?? this.lastRateLimit;
        const text = await response.text();
        const json = parseJson(text);
        const envelope = readEnvelope(json);
        if (response.ok && envelope.failure === undefined) return envelope;
        failure = {
          status: response.ok ? 400 : response.status,
          message: envelope.failure?.message ?? (text.length <= 200 ? text : `${text.slice(0, 200)}…`),
          code: envelope.failure?.code,
          path,
        };
        if (response.status === 429) retryDelay = retryAfterMs(response.headers, this.now());
      } catch (error) {
        if (error instanceof ExchangeError) throw error;
        failure = {
          status: 0,
          message: error instanceof Error ? error.message : String(error),
          code: undefined,
          path,
        };
      }
      const retryable =
        failure.status === 429 ||
        (kind === 'read' && (failure.status === 0 || failure.status === 502 || failure.status >= 503));
      if (!retryable || attempt >= maxRetries) {
        if (failure.status === 0)
          throw new ExchangeError(
            kind === 'read' ? 'EXCHANGE_UNAVAILABLE' : 'EXCHANGE_TIMEOUT',
            `Pacifica ${path}: ${failure.message}`,
            // A signed action that never answered may or may not have happened.
            { exchange: this.options.exchangeId, retryable: kind === 'read' },
          );
        throw venueError(failure, kind, this.options.exchangeId);
      }
      const delay = Math.min(
        backoff.maxDelayMs * 6,
        retryDelay ?? backoffDelay(attempt, backoff, this.random),
      );
      if (failure.status === 429) this.options.onRateLimited?.({ path, attempt, delayMs: delay });
      await this.sleep(delay);
    }
  }

  private async fetchWithTimeout(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body: unknown,
  ): Promise<Response> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (this.options.apiKey) headers['PF-API-KEY'] = this.options.apiKey;
      return await this.fetchImplementation(`${this.baseUrl}${pathAndQuery}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timeout);
    }
  }

  private parse<T extends z.ZodType>(schema: T, data: unknown, path: string): z.output<T> {
    const result = schema.safeParse(data);
    if (!result.success) throw this.protocolError(path, result.error);
    return result.data;
  }

  /** Lists: a malformed row fails the read, or is skipped (`skipInvalid`) where one bad market must not hide the rest. */
  private parseList<T extends z.ZodType>(
    schema: T,
    data: unknown,
    path: string,
    skipInvalid: boolean,
  ): z.output<T>[] {
    if (!Array.isArray(data))
      throw new ExchangeError('EXCHANGE_PROTOCOL', `Pacifica ${path}: expected a list`, {
        exchange: this.options.exchangeId,
      });
    const out: z.output<T>[] = [];
    for (const row of data) {
      const result = schema.safeParse(row);
      if (result.success) out.push(result.data);
      else if (!skipInvalid) throw this.protocolError(path, result.error);
    }
    return out;
  }

  private page<T extends z.ZodType>(schema: T, envelope: Envelope, path: string): Page<z.output<T>> {
    return {
      items: this.parseList(schema, envelope.data ?? [], path, false),
      nextCursor: envelope.nextCursor,
      hasMore: envelope.hasMore,
    };
  }

  private protocolError(path: string, error: z.ZodError): ExchangeError {
    const issue = error.issues[0];
    const where = issue ? issue.path.join('.') || '(root)' : '(root)';
    return new ExchangeError(
      'EXCHANGE_PROTOCOL',
      `Pacifica ${path}: unexpected payload at ${where}: ${issue?.message ?? 'invalid'}`,
      { exchange: this.options.exchangeId },
    );
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Pacifica answers `{success, data, error, code}`, history endpoints add `next_cursor`/`has_more`,
 * and some POSTs answer bare (`{"order_id": 1}`) or `{"error": "...", "code": 400}`: accept all.
 */
function readEnvelope(json: unknown): Envelope & { failure?: { message: string; code: number | undefined } } {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return { data: json, nextCursor: undefined, hasMore: false };
  const object = json as Record<string, unknown>;
  const code = typeof object.code === 'number' ? object.code : undefined;
  const errorText = typeof object.error === 'string' ? object.error : undefined;
  if (object.success === false || (errorText !== undefined && !('data' in object) && !('success' in object)))
    return {
      data: undefined,
      nextCursor: undefined,
      hasMore: false,
      failure: { message: errorText ?? '', code },
    };
  const data = 'success' in object ? ('data' in object ? object.data : object) : object;
  return {
    data,
    nextCursor: typeof object.next_cursor === 'string' ? object.next_cursor : undefined,
    hasMore: object.has_more === true,
  };
}
