import { allow, defineRiskGate, deny, duration, type RiskDecision, z } from '@perpkit/core';

export const OPERATIONAL_CODES = {
  STALE_DATA: 'the market data behind the decision is older than maxAge',
  NO_MARKET_DATA: 'no market data has arrived for the instrument',
  VENUE_LATENCY_HIGH: "the venue's measured order round trip is above maxLatency",
  LATENCY_UNMEASURED:
    'an allow: fewer than minSamples round trips measured within the window, so the order goes out and measures the venue',
  NATIVE_RESERVE_LOW: 'the native-token balance for fees would fall below the reserve',
  NATIVE_RESERVE_UNKNOWN: 'the account reports no balance of the native token (fails closed)',
  CONFIRMATION_REJECTED: 'a human rejected the order',
  CONFIRMATION_EXPIRED: 'no human answered in time',
  CONFIRMATION_UNAVAILABLE: 'confirmation is required but nobody can answer in a backtest',
} as const;

export const stalenessOptions = z
  .object({
    /** Oldest acceptable market data. */
    maxAge: duration.default(30_000),
    /** Check risk-reducing orders too (off: a close is better late than never). */
    applyToReducing: z.boolean().default(false),
  })
  .strict();

/** Denies orders decided on market data older than `maxAge`. */
export const staleness = defineRiskGate({
  meta: {
    name: 'staleness',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Deny on stale market data',
  },
  options: stalenessOptions,
  setup(_context, options) {
    return {
      name: 'staleness',
      evaluate(proposal, state): RiskDecision {
        if (proposal.riskReducing && !options.applyToReducing) return allow();
        const updated = state.lastUpdate(proposal.exchange, proposal.request.symbol);
        if (updated === undefined)
          return deny('NO_MARKET_DATA', `no market data for ${proposal.exchange}:${proposal.request.symbol}`);
        const age = state.now - updated;
        if (age > options.maxAge)
          return deny('STALE_DATA', `market data is ${age} ms old, more than ${options.maxAge} ms`);
        return allow();
      },
    };
  },
});

export const latencyOptions = z
  .object({
    /** Highest acceptable order round trip. */
    maxLatency: duration.default(2_000),
    /** Compare the mean of the recent round trips or the newest one. */
    measure: z.enum(['average', 'last']).default('average'),
    /** Recent measurements needed before the gate judges. */
    minSamples: z.number().int().positive().default(1),
    /** Round trips older than this (engine clock) are ignored. */
    window: duration.default(60_000),
    applyToReducing: z.boolean().default(false),
  })
  .strict();

/** Samples kept per exchange, newest last; older ones leave with the window anyway. */
const LATENCY_SAMPLES_KEPT = 256;

/**
 * Denies entries while the venue's measured order round trip is too slow. It judges only round
 * trips measured within `window` (from the engine's `order:submitted` events): without enough
 * recent ones it lets the order through, and that order measures the venue again. Denying on an
 * old measurement would lock entries out for good, since only sent orders are measured.
 */
export const latency = defineRiskGate({
  meta: {
    name: 'latency',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Deny on high venue latency',
  },
  options: latencyOptions,
  setup(context, options) {
    const samples = new Map<string, { at: number; ms: number }[]>();
    context.events.on('order:submitted', (event) => {
      let list = samples.get(event.proposal.exchange);
      if (!list) {
        list = [];
        samples.set(event.proposal.exchange, list);
      }
      list.push({ at: event.at, ms: event.latencyMs });
      if (list.length > LATENCY_SAMPLES_KEPT) list.splice(0, list.length - LATENCY_SAMPLES_KEPT);
    });
    return {
      name: 'latency',
      evaluate(proposal, state): RiskDecision {
        if (proposal.riskReducing && !options.applyToReducing) return allow();
        const list = samples.get(proposal.exchange) ?? [];
        let first = list.length;
        while (first > 0 && state.now - (list[first - 1] as { at: number }).at <= options.window) first -= 1;
        const recent = list.slice(first);
        if (recent.length < options.minSamples) {
          return allow(
            'LATENCY_UNMEASURED',
            `${recent.length} round trip(s) to ${proposal.exchange} in the last ${options.window} ms, ${options.minSamples} needed to judge`,
          );
        }
        const measured =
          options.measure === 'average'
            ? recent.reduce((sum, sample) => sum + sample.ms, 0) / recent.length
            : (recent[recent.length - 1] as { ms: number }).ms;
        if (measured > options.maxLatency) {
          return deny(
            'VENUE_LATENCY_HIGH',
            `${proposal.exchange} round trip ${measured.toFixed(0)} ms (${options.measure} of ${recent.length} in the last ${options.window} ms) is above ${options.maxLatency} ms`,
          );
        }
        return allow();
      },
    };
  },
});

export const nativeReserveOptions = z
  .object({
    /** The fee token, e.g. SOL. */
    asset: z.string().min(1),
    /** Balance kept free for fees, e.g. 0.017 SOL. */
    minimum: z.number().positive(),
    /** Expected fee per order in the asset, subtracted before comparing. */
    feePerOrder: z.number().min(0).default(0),
    /** Exchanges it applies to; all when left out. */
    exchanges: z.array(z.string()).optional(),
    applyToReducing: z.boolean().default(false),
  })
  .strict();

/** Keeps a reserve of the venue's native token for fees. */
export const nativeReserve = defineRiskGate({
  meta: {
    name: 'native-reserve',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Keep a native-token reserve for fees',
  },
  options: nativeReserveOptions,
  setup(_context, options) {
    return {
      name: 'native-reserve',
      evaluate(proposal, state): RiskDecision {
        if (options.exchanges && !options.exchanges.includes(proposal.exchange)) return allow();
        if (proposal.riskReducing && !options.applyToReducing) return allow();
        const account = state.account(proposal.exchange, proposal.request.account);
        const balance = account?.balances.find((entry) => entry.asset === options.asset);
        if (!balance)
          return deny(
            'NATIVE_RESERVE_UNKNOWN',
            `${proposal.exchange}/${proposal.request.account} reports no ${options.asset} balance`,
          );
        const after = balance.free - options.feePerOrder;
        if (after < options.minimum) {
          return deny(
            'NATIVE_RESERVE_LOW',
            `${options.asset} free ${balance.free} − fee ${options.feePerOrder} = ${after} is below the reserve ${options.minimum}`,
          );
        }
        return allow();
      },
    };
  },
});

export const confirmationOptions = z
  .object({
    /** Orders with a larger notional wait for a human. */
    aboveNotional: z.number().min(0),
    /** How long the order waits for an answer. */
    timeout: duration.default(120_000),
    /** In backtests nobody can answer: deny (default) or allow. */
    backtest: z.enum(['deny', 'allow']).default('deny'),
    applyToReducing: z.boolean().default(false),
  })
  .strict();

/**
 * Orders above a notional wait for a human approval that arrives through the runner (its console
 * or the dashboard) and expire when none does. The cycle is not blocked: the engine parks the order
 * until the answer.
 */
export const confirmation = defineRiskGate({
  meta: {
    name: 'confirmation',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Human confirmation above a notional',
  },
  options: confirmationOptions,
  setup(context, options) {
    return {
      name: 'confirmation',
      evaluate(proposal): RiskDecision | Promise<RiskDecision> {
        if (proposal.riskReducing && !options.applyToReducing) return allow();
        if (proposal.notional <= options.aboveNotional) return allow();
        if (context.mode === 'backtest') {
          return options.backtest === 'allow'
            ? allow()
            : deny('CONFIRMATION_UNAVAILABLE', 'a backtest cannot ask a human');
        }
        const { request } = proposal;
        const summary = `${request.side} ${request.quantity} ${request.symbol} on ${proposal.exchange}/${request.account} (${request.type}, notional ${proposal.notional.toFixed(2)}) for ${proposal.signal.strategyId}: ${proposal.signal.reasons.map((entry) => entry.code).join(', ')}`;
        const { decision } = context.approvals.request({
          source: 'gate:confirmation',
          summary,
          details: {
            proposalId: proposal.id,
            exchange: proposal.exchange,
            symbol: request.symbol,
            side: request.side,
            quantity: request.quantity,
            notional: proposal.notional,
          },
          timeoutMs: options.timeout,
        });
        return decision.then((answer) => {
          if (answer.outcome === 'approved') return allow();
          if (answer.outcome === 'rejected')
            return deny(
              'CONFIRMATION_REJECTED',
              `rejected by ${answer.by ?? 'unknown'}${answer.reason ? `: ${answer.reason}` : ''}`,
            );
          return deny('CONFIRMATION_EXPIRED', `no answer within ${options.timeout} ms`);
        });
      },
    };
  },
});

export const plugins = [staleness, latency, nativeReserve, confirmation];
export default plugins;
