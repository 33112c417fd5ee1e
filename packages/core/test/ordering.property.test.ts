import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SignalInput } from '../src/signal';
import type { OrderRequest } from '../src/types';
import { scripted, setup, spec, why } from './helpers';

const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP'] as const;

/** A cycle's worth of intents: per symbol, maybe an entry, maybe a close, maybe an exit-rule hit. */
const cyclePlan = fc.array(
  fc.record({
    symbol: fc.constantFrom(...SYMBOLS),
    entry: fc.boolean(),
    strategyClose: fc.boolean(),
    exitRule: fc.boolean(),
  }),
  { minLength: 1, maxLength: 8 },
);

describe('cycle ordering, over random mixes of entries, closes and exits', () => {
  it('gates see every proposal before anything is sent; exits and closes go out before entries; an exit decides its position alone', async () => {
    await fc.assert(
      fc.asyncProperty(cyclePlan, async (plan) => {
        const held = [...new Set(plan.map((step) => step.symbol))];
        const exiting = new Set<string>(plan.filter((step) => step.exitRule).map((step) => step.symbol));
        const gateSeen: { symbol: string; sentBefore: number }[] = [];
        let cycle = 0;
        const { engine, exchange } = await setup({
          exchange: { markets: SYMBOLS.map((symbol) => ({ symbol })) },
          strategies: [
            scripted('s', () => {
              cycle += 1;
              // First cycle: open every symbol the plan touches, so closes and exits have something to act on.
              if (cycle === 1)
                return held.map(
                  (symbol): SignalInput => ({
                    intent: 'open',
                    exchange: 'fake',
                    symbol,
                    side: 'buy',
                    quantity: 1,
                    reasons: why('SETUP'),
                  }),
                );
              const out: SignalInput[] = [];
              for (const step of plan) {
                if (step.entry)
                  out.push({
                    intent: 'open',
                    exchange: 'fake',
                    symbol: step.symbol,
                    side: 'buy',
                    quantity: 1,
                    reasons: why('ADD'),
                  });
                if (step.strategyClose)
                  out.push({ intent: 'close', exchange: 'fake', symbol: step.symbol, reasons: why('CLOSE') });
              }
              return out;
            }),
          ],
          riskGates: [
            spec('watch', {
              name: 'watch',
              evaluate: (proposal: { request: OrderRequest }) => {
                gateSeen.push({ symbol: proposal.request.symbol, sentBefore: exchange.requests.length });
                return { action: 'allow' } as const;
              },
            }),
          ],
          exitRules: [
            {
              id: 'planned-exit',
              create: () => ({
                name: 'planned-exit',
                layer: 1 as const,
                priority: 0,
                evaluate: (position: { symbol: string }, state: { cycle: number }) =>
                  state.cycle === 2 && exiting.has(position.symbol)
                    ? { action: 'close' as const, code: 'EXIT', message: 'planned' }
                    : null,
              }),
            },
          ],
        });
        await engine.runCycle();
        const sentInSetup = exchange.requests.length;
        gateSeen.length = 0;
        await engine.runCycle();
        const sent = exchange.requests.slice(sentInSetup);

        // Every gate evaluation of the cycle happened before its first order went out.
        for (const seen of gateSeen) expect(seen.sentBefore).toBe(sentInSetup);
        // Reduce-only orders (exits, closes) all precede every entry.
        const firstEntry = sent.findIndex((request) => !request.reduceOnly);
        const lastReduce = sent.map((request) => request.reduceOnly === true).lastIndexOf(true);
        if (firstEntry !== -1 && lastReduce !== -1) expect(lastReduce).toBeLessThan(firstEntry);
        // One decision per position per tick: an exiting symbol gets exactly one order, the exit.
        for (const symbol of exiting) {
          const forSymbol = sent.filter((request) => request.symbol === symbol);
          expect(forSymbol).toHaveLength(1);
          expect(forSymbol[0]?.reduceOnly).toBe(true);
        }
        await engine.stop('done');
      }),
      { numRuns: 40 },
    );
  });
});
