import { ExchangeError, OrderRejectedError } from '@perpkit/core';

/** What the venue said when a request failed: HTTP status, the envelope's `error` text and `code`. */
export interface VenueFailure {
  readonly status: number;
  readonly message: string;
  /** The envelope's `code` (an HTTP-like code, or a 422 business code). */
  readonly code: number | undefined;
  readonly path: string;
}

/** Pacifica's business error codes (HTTP 422), from the docs' error-code table. */
export const BUSINESS_ERROR_CODES: Readonly<Record<number, string>> = {
  0: 'UNKNOWN',
  1: 'ACCOUNT_NOT_FOUND',
  2: 'BOOK_NOT_FOUND',
  3: 'INVALID_TICK_LEVEL',
  4: 'INSUFFICIENT_BALANCE',
  5: 'ORDER_NOT_FOUND',
  6: 'OVER_WITHDRAWAL',
  7: 'INVALID_LEVERAGE',
  8: 'CANNOT_UPDATE_MARGIN',
  9: 'POSITION_NOT_FOUND',
  10: 'POSITION_TPSL_LIMIT_EXCEEDED',
};

/** The venue's signature errors (docs "Signing / Error handling"). */
const AUTH_MESSAGES = [
  'invalid signature',
  'invalid message',
  'invalid public key',
  'verification failed',
  'invalid signer',
];

/** Venue texts and business codes → the perpkit reason an `OrderRejectedError` carries. */
const REJECTION_REASONS: readonly [RegExp, string][] = [
  [/insufficient|margin|balance/i, 'INSUFFICIENT_MARGIN'],
  [/post.?only|would cross|\balo\b/i, 'POST_ONLY_WOULD_CROSS'],
  [/reduce.?only/i, 'REDUCE_ONLY_WOULD_INCREASE'],
  [/client.?order.?id|duplicate/i, 'DUPLICATE_CLIENT_ORDER_ID'],
  [/min(imum)?.*(size|notional|order)|below.*min/i, 'BELOW_MIN_NOTIONAL'],
  [/tick/i, 'INVALID_PRICE'],
  [/lot|amount/i, 'INVALID_QUANTITY'],
  [/leverage/i, 'INVALID_LEVERAGE'],
  [/book not found|no market data/i, 'NO_MARKET_DATA'],
];

const BUSINESS_REASONS: Readonly<Record<number, string>> = {
  2: 'NO_MARKET_DATA',
  3: 'INVALID_PRICE',
  4: 'INSUFFICIENT_MARGIN',
  7: 'INVALID_LEVERAGE',
  9: 'POSITION_NOT_FOUND',
  10: 'POSITION_TPSL_LIMIT_EXCEEDED',
};

export function isAuthFailure(failure: VenueFailure): boolean {
  const text = failure.message.toLowerCase();
  return failure.status === 401 || AUTH_MESSAGES.some((message) => text.includes(message));
}

/** The perpkit reason for a venue rejection of an order. */
export function rejectionReason(failure: VenueFailure): string {
  if (failure.status === 422 && failure.code !== undefined && BUSINESS_REASONS[failure.code])
    return BUSINESS_REASONS[failure.code] as string;
  for (const [pattern, reason] of REJECTION_REASONS) if (pattern.test(failure.message)) return reason;
  return 'VENUE_REJECTED';
}

function describe(failure: VenueFailure): string {
  const business =
    failure.status === 422 && failure.code !== undefined
      ? ` ${BUSINESS_ERROR_CODES[failure.code] ?? ''}`
      : '';
  return `Pacifica ${failure.path} answered ${failure.status}${business}: ${failure.message || '(no message)'}`;
}

/**
 * Turns a venue failure into the right perpkit error. `kind` says what the request was: an order
 * placement maps business errors to `OrderRejectedError`, a cancel maps "not found" to
 * `ORDER_NOT_FOUND`.
 */
export function venueError(
  failure: VenueFailure,
  kind: 'read' | 'order' | 'cancel' | 'action',
  exchange?: string,
): ExchangeError {
  const details = {
    status: failure.status,
    venueCode: failure.code,
    venueError: failure.message,
    path: failure.path,
  };
  const message = describe(failure);
  if (failure.status === 429)
    return new ExchangeError('EXCHANGE_RATE_LIMITED', message, { exchange, retryable: true, details });
  if (isAuthFailure(failure)) {
    const expired = /invalid message/i.test(failure.message);
    return new ExchangeError(
      'EXCHANGE_AUTH',
      expired
        ? `${message} (the signature expired or the message is malformed: check the clock and expiry window)`
        : message,
      // A fresh signature may pass an expiry failure; a wrong key never passes.
      { exchange, retryable: expired, details, reason: failure.message.toUpperCase().replace(/\W+/g, '_') },
    );
  }
  const text = failure.message.toLowerCase();
  if (failure.code === 1 || /account not found/.test(text))
    return new ExchangeError('ACCOUNT_NOT_FOUND', message, { exchange, details });
  if (/market not found|unknown symbol|invalid symbol/.test(text))
    return new ExchangeError('MARKET_NOT_FOUND', message, { exchange, details });
  if (kind === 'cancel' && (failure.code === 5 || /not found/.test(text)))
    return new ExchangeError('ORDER_NOT_FOUND', message, { exchange, details });
  if (failure.status >= 500 || failure.status === 0)
    return new ExchangeError('EXCHANGE_UNAVAILABLE', message, { exchange, retryable: true, details });
  if (kind === 'order')
    return new OrderRejectedError(rejectionReason(failure), message, { exchange, details });
  // Any other 4xx: the venue refused what we sent (a leverage out of range, a bad parameter).
  return new ExchangeError('INVALID_ARGUMENT', message, {
    exchange,
    details,
    reason: rejectionReason(failure),
  });
}
