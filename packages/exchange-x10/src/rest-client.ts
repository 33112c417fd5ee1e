import { ExchangeError, OrderRejectedError, z } from '@perpkit/core';
import type { OrderRequestBody } from './signing';
import {
  accountInfoSchema,
  balanceSchema,
  envelopeSchema,
  feesSchema,
  fundingPaymentSchema,
  fundingPointSchema,
  marketSchema,
  marketStatsSchema,
  orderBookSchema,
  orderSchema,
  placedOrderSchema,
  positionSchema,
} from './venue-schemas';

/**
 * Extended's numeric error codes that perpkit acts on, by name. 1100–1102 are corroborated by
 * third-party clients; the order codes follow the venue's documented order (1120 onward) and are
 * not verified against the live venue.
 */
export const VENUE_ERROR_CODES = {
  MarketNotFound: 1001,
  AccountNotFound: 1006,
  InvalidStarkExPublicKey: 1100,
  InvalidStarkExSignature: 1101,
  InvalidStarkExVault: 1102,
  OrderQtyLessThanMinTradeSize: 1120,
  InvalidQtyWrongSizeIncrement: 1121,
  OrderValueExceedsMaxOrderValue: 1122,
  InvalidQtyPrecision: 1123,
  InvalidPriceWrongPriceMovement: 1124,
  InvalidPricePrecision: 1125,
  MaxOpenOrdersNumberExceeded: 1126,
  MaxPositionValueExceeded: 1127,
  InvalidTradingFees: 1128,
  InvalidPositionTpslQty: 1129,
  MissingOrderPrice: 1130,
  MissingTpslTrigger: 1131,
  NotAllowedOrderType: 1132,
  InvalidOrderParameters: 1133,
  DuplicateOrder: 1134,
  InvalidOrderExpiration: 1135,
  ReduceOnlyOrderSizeExceedsPositionSize: 1136,
  ReduceOnlyOrderPositionIsMissing: 1137,
  ReduceOnlyOrderPositionSameSide: 1138,
  MarketOrderMustBeIOC: 1139,
  OrderCostExceedsBalance: 1140,
  InvalidPriceAmount: 1141,
  EditOrderNotFound: 1142,
  OrderNotFound: 1143,
} as const;
export type VenueErrorName = keyof typeof VENUE_ERROR_CODES;

const NAMES_BY_CODE = new Map<number, string>(
  Object.entries(VENUE_ERROR_CODES).map(([name, code]) => [code as number, name]),
);

/** The venue's name for a numeric error code, or the code itself. */
export function venueErrorName(code: number | string): string {
  return NAMES_BY_CODE.get(Number(code)) ?? String(code);
}

export interface RestClientOptions {
  readonly baseUrl: string;
  readonly userAgent: string;
  readonly exchangeId: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly retryBaseDelayMs: number;
  /** Injectable for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  readonly query?: Record<string, string | number | readonly string[] | undefined>;
  readonly body?: unknown;
  readonly apiKey?: string;
  /** Repeating the request cannot do harm (reads, cancels). */
  readonly idempotent?: boolean;
  /** A 404 returns `undefined` instead of throwing. */
  readonly notFoundAsUndefined?: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A thin client of Extended's REST API, with the venue's endpoint names. */
export class X10RestClient {
  private readonly fetchFunction: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: RestClientOptions) {
    this.fetchFunction = options.fetch ?? fetch;
    this.sleep = options.sleep ?? defaultSleep;
  }

  private error(
    code: ConstructorParameters<typeof ExchangeError>[0],
    message: string,
    retryable: boolean,
    reason?: string,
  ) {
    return new ExchangeError(code, message, {
      retryable,
      exchange: this.options.exchangeId,
      ...(reason === undefined ? {} : { reason }),
    });
  }

  private url(path: string, query: RequestOptions['query']): string {
    const url = new URL(`${this.options.baseUrl.replace(/\/$/, '')}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) url.searchParams.append(key, item);
      else url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** Sends a request and returns the envelope's `data`, retrying what may be retried. */
  async request(path: string, request: RequestOptions = {}): Promise<unknown> {
    const method = request.method ?? 'GET';
    const idempotent = request.idempotent ?? method === 'GET';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(path, method, request);
      } catch (error) {
        if (!(error instanceof ExchangeError) || !error.retryable || attempt >= this.options.maxRetries)
          throw error;
        // A 429 was refused before processing, so even an order may be sent again; other
        // failures only for idempotent requests.
        const rateLimited = error.code === 'EXCHANGE_RATE_LIMITED';
        if (!rateLimited && !idempotent) throw error;
        const retryAfter = (error as ExchangeError & { retryAfterMs?: number }).retryAfterMs;
        await this.sleep(retryAfter ?? this.options.retryBaseDelayMs * 2 ** attempt);
      }
    }
  }

  private async once(path: string, method: string, request: RequestOptions): Promise<unknown> {
    const headers: Record<string, string> = {
      'User-Agent': this.options.userAgent,
      Accept: 'application/json',
    };
    if (request.apiKey !== undefined) headers['X-Api-Key'] = request.apiKey;
    if (request.body !== undefined) headers['Content-Type'] = 'application/json';
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    let response: Response;
    let text: string;
    const idempotent = request.idempotent ?? method === 'GET';
    try {
      response = await this.fetchFunction(this.url(path, request.query), {
        method,
        headers,
        signal: controller.signal,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
      text = await response.text();
    } catch (error) {
      const aborted = controller.signal.aborted;
      throw this.error(
        aborted ? 'EXCHANGE_TIMEOUT' : 'EXCHANGE_UNAVAILABLE',
        `${method} ${path}: ${aborted ? `no answer within ${this.options.timeoutMs} ms` : (error as Error).message}`,
        // The outcome of a write that timed out is unknown: only reads may be repeated blindly.
        idempotent || !aborted,
      );
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 429) {
      const error = this.error('EXCHANGE_RATE_LIMITED', `${method} ${path}: rate limited (429)`, true);
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0)
        Object.assign(error, { retryAfterMs: Math.min(retryAfter * 1000, 60_000) });
      throw error;
    }
    if (response.status >= 500)
      throw this.error('EXCHANGE_UNAVAILABLE', `${method} ${path}: HTTP ${response.status}`, true);
    if (response.status === 404 && request.notFoundAsUndefined) return undefined;
    if (response.status === 401 || response.status === 403)
      throw this.error(
        'EXCHANGE_AUTH',
        `${method} ${path}: HTTP ${response.status} (check the API key)`,
        false,
      );
    let parsed: z.output<typeof envelopeSchema>;
    try {
      parsed = envelopeSchema.parse(JSON.parse(text));
    } catch {
      throw this.error(
        'EXCHANGE_PROTOCOL',
        `${method} ${path}: HTTP ${response.status} with a body that is not the venue's envelope`,
        false,
      );
    }
    if (parsed.status !== 'OK' || parsed.error) {
      const code = parsed.error?.code ?? response.status;
      const name = venueErrorName(code);
      const message = `${method} ${path}: ${name} (${code}) ${parsed.error?.message ?? ''}`.trim();
      if (path === '/user/order' && method === 'POST') {
        throw new OrderRejectedError(name, message, { exchange: this.options.exchangeId });
      }
      if (name.startsWith('InvalidStarkEx')) throw this.error('EXCHANGE_AUTH', message, false, name);
      if (name === 'MarketNotFound') throw this.error('MARKET_NOT_FOUND', message, false, name);
      if (name === 'OrderNotFound' || response.status === 404)
        throw this.error('ORDER_NOT_FOUND', message, false, name);
      throw this.error('EXCHANGE_PROTOCOL', message, false, name);
    }
    return parsed.data;
  }

  private parse<T extends z.ZodType>(schema: T, data: unknown, what: string): z.output<T> {
    const result = schema.safeParse(data);
    if (!result.success)
      throw this.error(
        'EXCHANGE_PROTOCOL',
        `${what}: unexpected shape (${result.error.issues[0]?.message ?? ''})`,
        false,
      );
    return result.data;
  }

  // Public endpoints.

  async getMarkets(markets?: readonly string[]) {
    const data = await this.request('/info/markets', { query: { market: markets } });
    return this.parse(z.array(marketSchema), data, 'GET /info/markets');
  }

  async getMarketStats(market: string) {
    const data = await this.request(`/info/markets/${encodeURIComponent(market)}/stats`);
    return this.parse(marketStatsSchema, data, 'GET /info/markets/{market}/stats');
  }

  async getOrderbook(market: string) {
    const data = await this.request(`/info/markets/${encodeURIComponent(market)}/orderbook`);
    return this.parse(orderBookSchema, data, 'GET /info/markets/{market}/orderbook');
  }

  /** Applied hourly funding rates, newest first. Times in ms. */
  async getFundingHistory(market: string, query: { startTime: number; endTime: number; limit?: number }) {
    const data = await this.request(`/info/${encodeURIComponent(market)}/funding`, { query });
    return this.parse(z.array(fundingPointSchema), data, 'GET /info/{market}/funding');
  }

  // Private endpoints (X-Api-Key).

  async getAccountInfo(apiKey: string) {
    const data = await this.request('/user/account/info', { apiKey });
    return this.parse(accountInfoSchema, data, 'GET /user/account/info');
  }

  /** The balance, or `undefined` when the venue answers 404 (it does for a zero balance). */
  async getBalance(apiKey: string) {
    const data = await this.request('/user/balance', { apiKey, notFoundAsUndefined: true });
    return data === undefined ? undefined : this.parse(balanceSchema, data, 'GET /user/balance');
  }

  async getPositions(apiKey: string, market?: string) {
    const data = await this.request('/user/positions', { apiKey, query: { market } });
    return this.parse(z.array(positionSchema), data ?? [], 'GET /user/positions');
  }

  async getOpenOrders(apiKey: string, market?: string) {
    const data = await this.request('/user/orders', { apiKey, query: { market } });
    return this.parse(z.array(orderSchema), data ?? [], 'GET /user/orders');
  }

  async getOrder(apiKey: string, id: string) {
    const data = await this.request(`/user/orders/${encodeURIComponent(id)}`, {
      apiKey,
      notFoundAsUndefined: true,
    });
    return data === undefined ? undefined : this.parse(orderSchema, data, 'GET /user/orders/{id}');
  }

  /** The account's funding payments since `fromTime` (ms), one page, in the venue's order. */
  async getFundingPayments(apiKey: string, query: { fromTime: number; market?: string }) {
    const data = await this.request('/user/funding/history', { apiKey, query });
    return this.parse(z.array(fundingPaymentSchema), data ?? [], 'GET /user/funding/history');
  }

  async getFees(apiKey: string, markets?: readonly string[]) {
    const data = await this.request('/user/fees', { apiKey, query: { market: markets } });
    return this.parse(z.array(feesSchema), data ?? [], 'GET /user/fees');
  }

  /** `POST /user/order`. A venue refusal rejects with `OrderRejectedError` (reason: the venue's error name). */
  async placeOrder(apiKey: string, body: OrderRequestBody) {
    const data = await this.request('/user/order', { method: 'POST', apiKey, body, idempotent: false });
    return this.parse(placedOrderSchema, data, 'POST /user/order');
  }

  async cancelOrder(apiKey: string, id: string) {
    await this.request(`/user/order/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      apiKey,
      idempotent: true,
    });
  }

  async cancelOrderByExternalId(apiKey: string, externalId: string) {
    await this.request('/user/order', { method: 'DELETE', apiKey, query: { externalId }, idempotent: true });
  }

  async massCancel(
    apiKey: string,
    body: {
      markets?: readonly string[];
      orderIds?: readonly number[];
      externalOrderIds?: readonly string[];
      cancelAll?: boolean;
    },
  ) {
    await this.request('/user/order/massCancel', { method: 'POST', apiKey, body, idempotent: true });
  }
}
