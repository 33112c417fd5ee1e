/**
 * Retry timing shared by the REST client (HTTP 429) and the WebSocket client (reconnects):
 * exponential backoff with full jitter, bounded, and the server's `Retry-After` when it gives one.
 */
export interface BackoffOptions {
  /** First delay, before jitter. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay. */
  readonly maxDelayMs: number;
}

/**
 * Delay before retry number `attempt` (0 = the first retry): a uniform draw in
 * [base·2^attempt / 2, base·2^attempt], capped at `maxDelayMs`. Half the window is kept so that
 * jitter never collapses a delay to zero.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Reads `Retry-After` (seconds or an HTTP date) as milliseconds, or Pacifica's `ratelimit` header
 * (`"credits";r=0;t=32`: `t` is the seconds until the window refreshes) when credits are exhausted.
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const limit = parseRateLimitHeader(headers.get('ratelimit'));
  if (limit && limit.remaining !== undefined && limit.remaining <= 0 && limit.resetSeconds !== undefined)
    return limit.resetSeconds * 1000;
  return undefined;
}

export interface RateLimitState {
  /** Remaining credits (the header's value ÷ 10). */
  readonly remaining: number | undefined;
  /** Seconds until the credits refresh. */
  readonly resetSeconds: number | undefined;
}

/** Parses `ratelimit: "credits";r=1200;t=32` (credits are ×10 on the wire). */
export function parseRateLimitHeader(value: string | null): RateLimitState | undefined {
  if (!value) return undefined;
  const field = (name: string) => {
    const match = new RegExp(`(?:^|;)\\s*${name}=(\\d+(?:\\.\\d+)?)`).exec(value);
    return match ? Number(match[1]) : undefined;
  };
  const remaining = field('r');
  return { remaining: remaining === undefined ? undefined : remaining / 10, resetSeconds: field('t') };
}
