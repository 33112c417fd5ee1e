/**
 * The raw REST client. Methods carry the venue's endpoint names; responses are checked with the
 * lenient schemas of `wire.ts`. Writes are multipart/form-data posts, as the venue takes them.
 */
import { type ErrorCode, ExchangeError, type z } from '@perpkit/core';
import {
  accountResponseSchema,
  errorResponseSchema,
  fundingRatesResponseSchema,
  fundingsResponseSchema,
  nextNonceResponseSchema,
  orderBookDetailsResponseSchema,
  orderBookOrdersResponseSchema,
  ordersResponseSchema,
  sendTxResponseSchema,
} from './wire';

/** A venue error body (`{ code, message }`), classified into a perpkit error code. */
export class LighterApiError extends ExchangeError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly venueCode: number | undefined,
    readonly venueMessage: string,
    options: { exchange: string; retryable?: boolean; reason?: string },
  ) {
    super(code, message, { ...options, details: { venueCode, venueMessage } });
  }

  get isInvalidNonce(): boolean {
    return /nonce/i.test(this.venueMessage) || this.venueCode === INVALID_NONCE_CODE;
  }
}

/** The code the venue answers an out-of-sequence nonce with (seen in public integrations). */
export const INVALID_NONCE_CODE = 21104;

type Query = Record<string, string | number | undefined>;

export interface RestClientOptions {
  readonly baseUrl: string;
  readonly exchangeId: string;
  readonly timeoutMs: number;
}

function classify(status: number, message: string): ErrorCode {
  if (status === 429 || /too many requests|rate limit/i.test(message)) return 'EXCHANGE_RATE_LIMITED';
  if (status >= 500) return 'EXCHANGE_UNAVAILABLE';
  if (/signature|auth|token|api key/i.test(message) || status === 401 || status === 403)
    return 'EXCHANGE_AUTH';
  if (/account.*not found/i.test(message)) return 'ACCOUNT_NOT_FOUND';
  if (/market.*not found|invalid market/i.test(message)) return 'MARKET_NOT_FOUND';
  return 'ORDER_REJECTED';
}

export class LighterRestClient {
  constructor(private readonly options: RestClientOptions) {}

  private url(path: string, query: Query = {}): string {
    const url = new URL(`/api/v1/${path}`, this.options.baseUrl);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  private async request<Schema extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: Schema,
    query: Query,
    body?: FormData,
  ): Promise<z.output<Schema>> {
    const exchange = this.options.exchangeId;
    let response: Response;
    try {
      response = await fetch(this.url(path, query), {
        method,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      // A write that timed out may have been applied: it is not safe to repeat blindly.
      throw new ExchangeError(
        timedOut ? 'EXCHANGE_TIMEOUT' : 'EXCHANGE_UNAVAILABLE',
        `${method} ${path} ${timedOut ? `timed out after ${this.options.timeoutMs} ms` : 'failed'}: ${(error as Error).message}`,
        { exchange, retryable: method === 'GET' || !timedOut, cause: error },
      );
    }
    const text = await response.text();
    let payload: unknown;
    try {
      payload = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      if (!response.ok) {
        throw new ExchangeError(
          classify(response.status, text),
          `${method} ${path}: HTTP ${response.status}`,
          {
            exchange,
            retryable: response.status === 429 || response.status >= 500,
          },
        );
      }
      throw new ExchangeError('EXCHANGE_PROTOCOL', `${method} ${path}: the response is not JSON`, {
        exchange,
      });
    }
    const error = errorResponseSchema.safeParse(payload);
    if (!response.ok || (error.success && error.data.code !== 200 && error.data.code !== 0)) {
      const venueCode = error.success ? error.data.code : undefined;
      const venueMessage = error.success ? error.data.message : `HTTP ${response.status}`;
      const code = classify(response.status, venueMessage);
      throw new LighterApiError(
        code,
        `${method} ${path}: ${venueMessage} (${venueCode ?? response.status})`,
        venueCode,
        venueMessage,
        {
          exchange,
          retryable: code === 'EXCHANGE_RATE_LIMITED' || code === 'EXCHANGE_UNAVAILABLE',
          ...(code === 'ORDER_REJECTED' ? { reason: `LIGHTER_${venueCode ?? response.status}` } : {}),
        },
      );
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ExchangeError(
        'EXCHANGE_PROTOCOL',
        `${method} ${path}: unexpected response (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
        { exchange },
      );
    }
    return parsed.data;
  }

  orderBookDetails(query: { market_id?: number; filter?: 'all' | 'perp' | 'spot' } = {}) {
    return this.request('GET', 'orderBookDetails', orderBookDetailsResponseSchema, query);
  }

  orderBookOrders(query: { market_id: number; limit: number }) {
    return this.request('GET', 'orderBookOrders', orderBookOrdersResponseSchema, query);
  }

  account(query: { by: 'index' | 'l1_address'; value: string | number }) {
    return this.request('GET', 'account', accountResponseSchema, query);
  }

  accountActiveOrders(query: { account_index: number; market_id: number; auth: string }) {
    return this.request('GET', 'accountActiveOrders', ordersResponseSchema, query);
  }

  accountInactiveOrders(query: { account_index: number; limit: number; market_id?: number; auth: string }) {
    return this.request('GET', 'accountInactiveOrders', ordersResponseSchema, query);
  }

  fundingRates() {
    return this.request('GET', 'funding-rates', fundingRatesResponseSchema, {});
  }

  fundings(query: {
    market_id: number;
    resolution: '1h' | '1d';
    start_timestamp: number;
    end_timestamp: number;
    count_back: number;
  }) {
    return this.request('GET', 'fundings', fundingsResponseSchema, query);
  }

  nextNonce(query: { account_index: number; api_key_index: number }) {
    return this.request('GET', 'nextNonce', nextNonceResponseSchema, query);
  }

  /** `POST /api/v1/sendTx` with form fields `tx_type`, `tx_info` (and `price_protection`). */
  sendTx(txType: number, txInfo: string, priceProtection?: boolean) {
    const form = new FormData();
    form.set('tx_type', String(txType));
    form.set('tx_info', txInfo);
    if (priceProtection !== undefined) form.set('price_protection', String(priceProtection));
    return this.request('POST', 'sendTx', sendTxResponseSchema, {}, form);
  }

  /** `POST /api/v1/sendTxBatch`: `tx_types` and `tx_infos` are JSON lists (the infos double-encoded). */
  sendTxBatch(txs: readonly { txType: number; txInfo: string }[]) {
    const form = new FormData();
    form.set('tx_types', JSON.stringify(txs.map((tx) => tx.txType)));
    form.set('tx_infos', JSON.stringify(txs.map((tx) => tx.txInfo)));
    return this.request('POST', 'sendTxBatch', sendTxResponseSchema, {}, form);
  }
}
