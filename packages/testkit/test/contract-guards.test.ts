import { readFileSync } from 'node:fs';
import type { ExchangeCapabilities } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { contractCasesFor } from '../src/exchange-contract';
import { FakeExchange } from '../src/fake-exchange';
import { currentContractCases } from './contract-cases';

/** The released cases: ids and titles, committed. A case is added here, never removed or renamed. */
const released = JSON.parse(
  readFileSync(new URL('../contract-cases.json', import.meta.url), 'utf8'),
) as Record<string, string>;

describe('contract case ids', () => {
  const current = currentContractCases();

  it('have a stable form', () => {
    for (const id of Object.keys(current)) expect(id).toMatch(/^(EX|ST|RG|ER|MO)-\d{3}$/);
  });

  it('are never deleted or renamed: every released case is still there with its title', () => {
    for (const [id, title] of Object.entries(released)) expect(current[id], id).toBe(title);
  });

  it('are registered when added: every case is in the released list', () => {
    const unregistered = Object.keys(current).filter((id) => !(id in released));
    expect(unregistered, 'add new cases to packages/testkit/contract-cases.json').toEqual([]);
  });
});

describe('skipping by declared capability', () => {
  it('skips exactly the cases whose capability the exchange does not declare', () => {
    const full = new FakeExchange({ markets: [{ symbol: 'BTC' }] });
    const everything = contractCasesFor(full.capabilities, {
      exchange: full,
      symbol: 'BTC',
      setPrice: () => undefined,
    });
    expect(everything.skip).toEqual([]);

    const limited: Partial<ExchangeCapabilities> = {
      orderTypes: ['limit'],
      timeInForce: ['gtc'],
      reduceOnly: false,
      clientOrderId: false,
      cancelAll: false,
    };
    const venue = new FakeExchange({ markets: [{ symbol: 'BTC' }], capabilities: limited });
    const { run, skip } = contractCasesFor(venue.capabilities, { exchange: venue, symbol: 'BTC' });
    // Market orders (EX-008, EX-009), cancel-all (EX-011), client ids (EX-014), reduce-only
    // (EX-015, EX-018) and post-only (EX-016) are not declared: those cases skip, the rest run.
    expect(skip).toEqual(
      expect.arrayContaining(['EX-008', 'EX-009', 'EX-011', 'EX-014', 'EX-015', 'EX-016', 'EX-018']),
    );
    expect(run).toEqual(expect.arrayContaining(['EX-001', 'EX-002', 'EX-010', 'EX-012']));
    expect(run.length + skip.length).toBe(Object.keys(released).filter((id) => id.startsWith('EX-')).length);
  });
});
