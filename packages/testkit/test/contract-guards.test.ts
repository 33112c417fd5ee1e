import { describe, expect, it } from 'vitest';
import { EXCHANGE_CONTRACT_CASES } from '../src/exchange-contract';

describe('contract case ids', () => {
  it('are unique and stable in form', () => {
    const ids = EXCHANGE_CONTRACT_CASES.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^EX-\d{3}$/);
  });

  it('are never deleted: every id from EX-001 up to the highest is present', () => {
    const numbers = EXCHANGE_CONTRACT_CASES.map((entry) => Number(entry.id.slice(3))).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, index) => index + 1));
    expect(numbers.length).toBeGreaterThanOrEqual(21);
  });
});
