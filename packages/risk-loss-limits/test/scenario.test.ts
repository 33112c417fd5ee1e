/*
 * The risk issue's "done when" scenario, end to end: every gate composed in a configured order over
 * one SimExchange, with the account monitors watching. One run shows a burst of signals paced by
 * the gates, a daily loss that stops new entries while reductions still pass, and a health drop
 * whose reduce signal executes; the risk:decision stream holds every gate's verdict and reason.
 */

import {
  type Alert,
  type ComponentSpec,
  Engine,
  type OrderDeniedEvent,
  type PhaseChange,
  parsePluginOptions,
  type RiskDecisionEvent,
  type RiskGate,
  type RiskGatePlugin,
  type SignalInput,
  SimulatedClock,
} from '@perpkit/core';
import { health } from '@perpkit/monitor-account';
import exposure from '@perpkit/risk-exposure';
import { confirmation, latency, nativeReserve, staleness } from '@perpkit/risk-operational';
import pacing from '@perpkit/risk-pacing';
import profitability from '@perpkit/risk-profitability';
import { SimExchange } from '@perpkit/sim';
import { describe, expect, it } from 'vitest';
import lossLimits from '../src/index';

function gateSpec<Options>(
  plugin: RiskGatePlugin<Options>,
  options: Record<string, unknown>,
): ComponentSpec<RiskGate> {
  return {
    id: plugin.meta.name,
    create: (context) => plugin.setup(context, parsePluginOptions(plugin, options)),
  };
}

/** The configured order; the engine's own phase gate runs before all of them. */
const GATES: ComponentSpec<RiskGate>[] = [
  gateSpec(staleness, { maxAge: '30s' }),
  gateSpec(latency, { maxLatency: '2s' }),
  gateSpec(nativeReserve, { asset: 'USD', minimum: 100 }),
  gateSpec(pacing, { maxTradesPerHour: 3 }),
  gateSpec(lossLimits, { dailyLossCap: 200 }), // the default action: reducing
  gateSpec(exposure, { maxPositionNotional: 2_500 }),
  gateSpec(profitability, { revenue: 'metadata', slippageFromBook: false }),
  gateSpec(confirmation, { aboveNotional: 10_000 }),
];
const CHAIN = GATES.map((spec) => spec.id);

const sell = (quantity: number, code: string): SignalInput => ({
  intent: 'open',
  exchange: 'sim',
  symbol: 'BTC',
  side: 'sell',
  quantity,
  reasons: [{ code, message: code.toLowerCase() }],
  metadata: { expectedRevenue: 10 },
});
const coverBy = (quantity: number): SignalInput => ({
  intent: 'reduce',
  exchange: 'sim',
  symbol: 'BTC',
  quantity,
  reasons: [{ code: 'TRIM', message: 'trim' }],
});

/** `gate:action[:code]` for a verdict. */
const label = (event: RiskDecisionEvent) => {
  const { decision } = event;
  if (decision.action === 'allow') return `${event.gate}:allow${decision.code ? `:${decision.code}` : ''}`;
  return `${event.gate}:${decision.action}:${decision.code}`;
};

describe('risk gates and monitors on SimExchange, end to end', () => {
  it('a paced burst, a daily loss that stops entries but not reductions, and a health reduce that executes', async () => {
    const clock = new SimulatedClock(Date.UTC(2025, 0, 1, 9));
    // 2 000 of collateral and a 20 % maintenance rate: a short goes critical (health < 20 %) once
    // its notional is over 4 × equity.
    const sim = new SimExchange(
      {
        fillModel: 'mark',
        slippage: 0,
        fees: { maker: 0, taker: 0 },
        maintenanceMarginRate: 0.2,
        defaultFundingRatePerHour: 0,
        markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 10 }],
        accounts: [{ id: 'main', balance: 2_000 }],
      },
      { clock },
    );
    const script: Record<number, SignalInput[]> = {
      1: Array.from({ length: 6 }, (_, index) => sell(1, `BURST_${index + 1}`)),
      2: [sell(0.5, 'ADD'), coverBy(0.5)],
    };
    const engine = new Engine({
      mode: 'backtest',
      clock,
      exchanges: [sim],
      strategies: [{ id: 'short', create: () => ({ onCycle: (state) => script[state.cycle] }) }],
      riskGates: GATES,
      monitors: [
        {
          id: 'health',
          create: (context) => health.setup(context, parsePluginOptions(health, { interval: 0 })),
        },
      ],
    });
    const decisions: RiskDecisionEvent[] = [];
    const denied: OrderDeniedEvent[] = [];
    const phases: PhaseChange[] = [];
    const alerts: Alert[] = [];
    engine.events.on('risk:decision', (event) => decisions.push(event));
    engine.events.on('order:denied', (event) => denied.push(event));
    engine.events.on('phase', (change) => phases.push(change));
    engine.events.on('alert', (alert) => alerts.push(alert));
    await engine.init();
    const cycleAt = async (minute: number, mark: number) => {
      clock.advanceTo(Date.UTC(2025, 0, 1, 9, minute));
      sim.processTicker({ symbol: 'BTC', mark, timestamp: clock.now() });
      await engine.runCycle();
    };
    const position = async () => (await sim.fetchPositions('main'))[0]?.quantity ?? 0;
    /** Each proposal's verdicts, gate by gate, in the order they were given. */
    const chains = (cycle: number) => {
      const byProposal = new Map<string, string[]>();
      for (const event of decisions) {
        if (event.proposal.signal.cycle !== cycle) continue;
        const key = `${event.proposal.signal.strategyId} ${event.proposal.signal.reasons[0]?.code}`;
        byProposal.set(key, [...(byProposal.get(key) ?? []), label(event)]);
      }
      return Object.fromEntries(byProposal);
    };
    const allowAll = (...gates: string[]) => gates.map((gate) => `${gate}:allow`);

    // 1. A burst of six 1-BTC shorts at 1 000: pacing lets three through; exposure resizes the
    //    third to fit 2 500 of position notional. Every gate's verdict is in the stream, in order.
    await cycleAt(0, 1_000);
    const pacedOut = [
      'phase:allow',
      'staleness:allow',
      'latency:allow:LATENCY_UNMEASURED',
      'native-reserve:allow',
      'pacing:deny:PACING_HOURLY_LIMIT',
    ];
    expect(chains(1)).toEqual({
      'short BURST_1': [
        'phase:allow',
        'staleness:allow',
        'latency:allow:LATENCY_UNMEASURED', // nothing measured before the first orders
        ...allowAll('native-reserve', 'pacing', 'loss-limits', 'exposure', 'profitability', 'confirmation'),
      ],
      'short BURST_2': [
        'phase:allow',
        'staleness:allow',
        'latency:allow:LATENCY_UNMEASURED',
        ...allowAll('native-reserve', 'pacing', 'loss-limits', 'exposure', 'profitability', 'confirmation'),
      ],
      'short BURST_3': [
        'phase:allow',
        'staleness:allow',
        'latency:allow:LATENCY_UNMEASURED',
        ...allowAll('native-reserve', 'pacing', 'loss-limits'),
        'exposure:resize:EXPOSURE_POSITION_NOTIONAL', // 2 000 already allowed this cycle: 500 of room
        ...allowAll('profitability', 'confirmation'),
      ],
      'short BURST_4': pacedOut,
      'short BURST_5': pacedOut,
      'short BURST_6': pacedOut,
    });
    expect(await position()).toBeCloseTo(-2.5, 12);
    expect(denied.map((event) => `${event.gate}:${event.code}`)).toEqual(
      Array(3).fill('pacing:PACING_HOURLY_LIMIT'),
    );
    expect(engine.phase).toBe('active');

    // 2. BTC rises to 1 100: the short loses 250 today, over the 200 cap. The loss-limits gate holds
    //    `reducing` before strategies run: the strategy's add is stopped, its own trim goes through
    //    every gate.
    await cycleAt(1, 1_100);
    expect(phases[0]).toMatchObject({
      from: 'active',
      to: 'reducing',
      source: 'gate:loss-limits',
      reason: 'day loss 250.00 reached the cap 200.00',
    });
    expect(chains(2)).toEqual({
      'short ADD': ['phase:deny:PHASE_REDUCING'],
      'short TRIM': ['phase:allow', ...allowAll(...CHAIN)],
    });
    expect(await position()).toBeCloseTo(-2, 12);
    expect(denied.slice(3).map((event) => `${event.gate}:${event.code}`)).toEqual(['phase:PHASE_REDUCING']);

    // 3. BTC jumps to 1 600: equity 750 against 640 of maintenance, health 14.7 %. The health
    //    monitor goes critical and its reduce signal (a quarter) passes every gate and executes.
    await cycleAt(2, 1_600);
    expect(engine.state.account('sim', 'main')?.healthRatio).toBeCloseTo(1 - 480 / 750, 6); // after the reduce: 1.5 BTC, equity unchanged
    expect(alerts.map((alert) => `${alert.source}:${alert.code}`)).toContain(
      'monitor:health:HEALTH_CRITICAL',
    );
    expect(chains(3)).toEqual({ 'monitor:health HEALTH_CRITICAL': ['phase:allow', ...allowAll(...CHAIN)] });
    expect(await position()).toBeCloseTo(-1.5, 12);
    expect(engine.state.phaseHolds().map((hold) => `${hold.source}:${hold.phase}`)).toEqual([
      'gate:loss-limits:reducing',
      'monitor:health:reducing',
    ]);

    // Every configured gate gave a verdict with its reason somewhere in the stream.
    const seen = new Set(decisions.map((event) => event.gate));
    expect([...seen]).toEqual(['phase', ...CHAIN]);
    for (const code of [
      'PACING_HOURLY_LIMIT',
      'EXPOSURE_POSITION_NOTIONAL',
      'PHASE_REDUCING',
      'LATENCY_UNMEASURED',
    ])
      expect(decisions.some((event) => 'code' in event.decision && event.decision.code === code)).toBe(true);
  });
});
