import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ExchangeError, OrderRejectedError, PerpkitError } from './errors';

describe('error codes', () => {
  it('every code is listed in docs/errors.md, and the page lists no code that does not exist', () => {
    const page = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const table = page.slice(page.indexOf('## Error codes'), page.indexOf('## Not errors'));
    const documented = [...table.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('codes are SCREAMING_SNAKE', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^[A-Z]+(?:_[A-Z]+)*$/);
  });

  it('errors carry code, retryable and the venue reason', () => {
    const rejected = new OrderRejectedError('POST_ONLY_WOULD_CROSS', 'would take', { exchange: 'sim' });
    expect(rejected).toBeInstanceOf(ExchangeError);
    expect(rejected).toBeInstanceOf(PerpkitError);
    expect(rejected).toMatchObject({
      code: 'ORDER_REJECTED',
      reason: 'POST_ONLY_WOULD_CROSS',
      exchange: 'sim',
      retryable: false,
    });
    expect(new ExchangeError('EXCHANGE_RATE_LIMITED', '429', { retryable: true }).retryable).toBe(true);
    expect(rejected.name).toBe('OrderRejectedError');
  });
});
