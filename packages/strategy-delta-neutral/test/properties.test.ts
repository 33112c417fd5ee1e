import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clampPairTrades,
  cooldownRemaining,
  decidePair,
  deltaDrift,
  grossExposure,
  type LegExposure,
  netDelta,
  passesMinTradeSize,
  planRebalance,
  rebalanceDirection,
  resolveTarget,
} from '../src/index';

// The seed and run count come from the shared vitest setup (fc.configureGlobal, seed 20261121).

const LOT = '0.001';
/** A signed quantity on the 0.001 lot grid, up to ±50. */
const quantity = fc.integer({ min: -50_000, max: 50_000 }).map((units) => units / 1000);
const nonZeroQuantity = quantity.filter((value) => value !== 0);
const price = fc.integer({ min: 1, max: 20_000_000 }).map((cents) => cents / 100);
const leg = fc.record({ quantity, price });
const legs = fc.array(leg, { minLength: 1, maxLength: 5 });

describe('drift calculation', () => {
  it('net delta is the signed sum over legs, gross the absolute sum, drift their ratio in [−1, 1]', () => {
    fc.assert(
      fc.property(legs, (input) => {
        const net = input.reduce((sum, entry) => sum + entry.quantity * entry.price, 0);
        const gross = input.reduce((sum, entry) => sum + Math.abs(entry.quantity * entry.price), 0);
        expect(netDelta(input)).toBeCloseTo(net, 6);
        expect(grossExposure(input)).toBeCloseTo(gross, 6);
        const drift = deltaDrift(input);
        expect(Math.abs(drift)).toBeLessThanOrEqual(1 + 1e-12);
        if (gross === 0) expect(drift).toBe(0);
        else expect(drift).toBeCloseTo(net / gross, 12);
      }),
    );
  });

  it('a perfectly hedged book (every leg matched by its opposite) has zero drift', () => {
    fc.assert(
      fc.property(legs, (input) => {
        const hedged: LegExposure[] = input.flatMap((entry) => [
          entry,
          { ...entry, quantity: -entry.quantity },
        ]);
        expect(deltaDrift(hedged)).toBeCloseTo(0, 12);
      }),
    );
  });

  it('drift does not depend on the size of the book: scaling every leg leaves it unchanged', () => {
    fc.assert(
      fc.property(legs, fc.integer({ min: 2, max: 1000 }), (input, factor) => {
        const scaled = input.map((entry) => ({ ...entry, quantity: entry.quantity * factor }));
        expect(deltaDrift(scaled)).toBeCloseTo(deltaDrift(input), 9);
      }),
    );
  });
});

/** A short leg plus hedges, with the rebalance settings; the short is always short. */
const book = fc.record({
  short: fc.record({
    quantity: fc.integer({ min: -50_000, max: -1 }).map((units) => units / 1000),
    price,
  }),
  hedges: fc.array(leg, { minLength: 1, maxLength: 3 }),
  threshold: fc.double({ min: 0, max: 0.5, noNaN: true }),
  cooldownMs: fc.integer({ min: 0, max: 4 * 3_600_000 }),
  minTradeSize: fc.integer({ min: 0, max: 100 }).map((units) => units / 1000),
  lastRebalanceAt: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
  now: fc.integer({ min: 0, max: 20_000_000 }),
});
type Book = typeof book extends fc.Arbitrary<infer Value> ? Value : never;
const planFor = (input: Book) =>
  planRebalance({
    legs: [input.short, ...input.hedges],
    shortIndex: 0,
    now: input.now,
    lastRebalanceAt: input.lastRebalanceAt,
    threshold: input.threshold,
    cooldownMs: input.cooldownMs,
    minTradeSize: input.minTradeSize,
    lotSize: LOT,
  });

describe('rebalance rule', () => {
  it('cooldown: never a rebalance sooner than the cooldown after the last one; allowed at and after it', () => {
    fc.assert(
      fc.property(book, (input) => {
        const decision = planFor(input);
        const waited =
          input.lastRebalanceAt === undefined || input.now - input.lastRebalanceAt >= input.cooldownMs;
        if (!waited) expect(decision.action).not.toBe('rebalance');
        if (decision.action === 'skip' && decision.code === 'COOLDOWN') {
          expect(waited).toBe(false);
          expect(decision.waitMs).toBe(cooldownRemaining(input.now, input.lastRebalanceAt, input.cooldownMs));
          expect(decision.waitMs).toBe((input.lastRebalanceAt as number) + input.cooldownMs - input.now);
        }
        // The same book once the cooldown has passed is not held back by it.
        const later = planFor({
          ...input,
          now: (input.lastRebalanceAt ?? 0) + input.cooldownMs + (input.now % 1000),
        });
        expect(later.action === 'skip' && later.code === 'COOLDOWN').toBe(false);
      }),
    );
  });

  it('minimum size: a rebalance is never smaller than the minimum trade size, and is a whole number of lots', () => {
    fc.assert(
      fc.property(book, (input) => {
        const decision = planFor({ ...input, lastRebalanceAt: undefined });
        if (decision.action === 'rebalance') {
          expect(decision.quantity).toBeGreaterThanOrEqual(input.minTradeSize);
          expect(decision.quantity).toBeGreaterThan(0);
          expect(Math.abs(decision.quantity * 1000 - Math.round(decision.quantity * 1000))).toBeLessThan(
            1e-6,
          );
        }
        if (decision.action === 'skip' && decision.code === 'BELOW_MIN_TRADE_SIZE')
          expect(passesMinTradeSize(decision.quantity, input.minTradeSize)).toBe(false);
      }),
    );
  });

  it('direction: net long expands the short, net short reduces it, and only past the threshold', () => {
    fc.assert(
      fc.property(book, (input) => {
        const decision = planFor({ ...input, lastRebalanceAt: undefined, minTradeSize: 0 });
        const exposures = [input.short, ...input.hedges];
        const net = netDelta(exposures);
        const drift = deltaDrift(exposures);
        if (Math.abs(drift) <= input.threshold) {
          expect(decision.action).toBe('none');
          return;
        }
        expect(decision.action).not.toBe('none');
        if (decision.action === 'none') return;
        expect(decision.direction).toBe(net > 0 ? 'EXPAND_SHORT' : 'REDUCE_SHORT');
        expect(rebalanceDirection(net)).toBe(decision.direction);
        if (decision.action !== 'rebalance') return;
        // Trading the short by the decision brings net delta closer to zero and never flips the short.
        const after =
          input.short.quantity + (decision.direction === 'EXPAND_SHORT' ? -1 : 1) * decision.quantity;
        expect(after).toBeLessThanOrEqual(1e-9);
        expect(
          Math.abs(netDelta([{ ...input.short, quantity: after }, ...input.hedges])),
        ).toBeLessThanOrEqual(Math.abs(net) + 1e-6);
      }),
    );
  });

  it('the direction mapping itself: positive → EXPAND_SHORT, negative → REDUCE_SHORT, zero → none', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), (net) => {
        const direction = rebalanceDirection(net);
        if (net > 0) expect(direction).toBe('EXPAND_SHORT');
        else if (net < 0) expect(direction).toBe('REDUCE_SHORT');
        else expect(direction).toBeUndefined();
      }),
    );
  });
});

describe('conflicting signals never leave an account more exposed', () => {
  const candidates = fc.array(quantity, { minLength: 0, maxLength: 4 });

  it('one account: the resolved target is at most as exposed as the least exposing candidate, on their side', () => {
    fc.assert(
      fc.property(quantity, fc.array(quantity, { minLength: 1, maxLength: 5 }), (current, targets) => {
        const resolved = resolveTarget(current, targets);
        const least = Math.min(...targets.map(Math.abs));
        expect(Math.abs(resolved)).toBeLessThanOrEqual(least);
        // Never a side no candidate asked for.
        if (resolved > 0) expect(targets.every((target) => target >= 0)).toBe(true);
        if (resolved < 0) expect(targets.every((target) => target <= 0)).toBe(true);
        // A candidate that reduces the position means the account ends no more exposed than now.
        if (targets.some((target) => Math.abs(target) <= Math.abs(current)))
          expect(Math.abs(resolved)).toBeLessThanOrEqual(Math.abs(current));
      }),
    );
  });

  it('the whole decision step: conflicts resolve down, the partner is never pushed up, the pair cancels', () => {
    fc.assert(
      fc.property(
        quantity,
        quantity,
        candidates,
        candidates,
        fc.constantFrom('complete' as const, 'reduce' as const),
        (primary, secondary, primaryTargets, secondaryTargets, autoHedge) => {
          const decision = decidePair({
            current: { primary, secondary },
            candidates: { primary: primaryTargets, secondary: secondaryTargets },
            autoHedge,
            lotSize: LOT,
          });
          expect(decision.primary + decision.secondary).toBeCloseTo(0, 9);
          const asked = primaryTargets.length > 0 || secondaryTargets.length > 0;
          for (const [account, held, targets] of [
            ['primary', primary, primaryTargets],
            ['secondary', secondary, secondaryTargets],
          ] as const) {
            const final = Math.abs(decision[account]);
            if (targets.length > 0)
              expect(final).toBeLessThanOrEqual(Math.min(...targets.map(Math.abs)) + 1e-12);
            else if (asked) expect(final).toBeLessThanOrEqual(Math.abs(held) + 1e-12);
            if (targets.length > 1 && new Set(targets).size > 1)
              expect(decision.conflicts).toContain(account);
          }
          // With `reduce`, nothing ever grows; with `complete`, only a lagging leg, up to its partner.
          if (autoHedge === 'reduce' || asked) {
            if (!asked) {
              expect(Math.abs(decision.primary)).toBeLessThanOrEqual(Math.abs(primary) + 1e-12);
              expect(Math.abs(decision.secondary)).toBeLessThanOrEqual(Math.abs(secondary) + 1e-12);
            }
          } else {
            expect(Math.abs(decision.primary)).toBeLessThanOrEqual(
              Math.max(Math.abs(primary), Math.abs(secondary)),
            );
            expect(Math.abs(decision.secondary)).toBeLessThanOrEqual(
              Math.max(Math.abs(primary), Math.abs(secondary)),
            );
          }
        },
      ),
    );
  });

  it('the batch clamp keeps every trade within its cap, on the lot, and a symmetric pair symmetric', () => {
    fc.assert(
      fc.property(
        quantity,
        nonZeroQuantity,
        fc.double({ min: 0, max: 60, noNaN: true }),
        fc.double({ min: 0, max: 60, noNaN: true }),
        (held, target, primaryCap, secondaryCap) => {
          const trades = clampPairTrades(
            { primary: held, secondary: -held },
            { primary: target, secondary: -target },
            { primary: primaryCap, secondary: secondaryCap },
            LOT,
          );
          expect(Math.abs(trades.primary)).toBeLessThanOrEqual(primaryCap + 1e-9);
          expect(Math.abs(trades.secondary)).toBeLessThanOrEqual(secondaryCap + 1e-9);
          expect(trades.primary + trades.secondary).toBeCloseTo(0, 9);
          // Toward the target, never past it.
          const wanted = target - held;
          if (trades.primary !== 0) expect(Math.sign(trades.primary)).toBe(Math.sign(wanted));
          expect(Math.abs(trades.primary)).toBeLessThanOrEqual(Math.abs(wanted) + 1e-9);
          for (const trade of [trades.primary, trades.secondary])
            expect(Math.abs(trade * 1000 - Math.round(trade * 1000))).toBeLessThan(1e-6);
        },
      ),
    );
  });
});
