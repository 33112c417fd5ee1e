import { Engine, type MonitorPlugin, parsePluginOptions, SimulatedClock } from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { createTestEngine, describeMonitorContract, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import { exposure, health, liquidationDistance, margin } from '../src/index';
import { stateOf } from './state';

describeMonitorContract('health', { plugin: health, options: {} });
describeMonitorContract('margin', { plugin: margin, options: {} });
describeMonitorContract('exposure', { plugin: exposure, options: { maxTotalNotional: 1000 } });
describeMonitorContract('liquidation-distance', { plugin: liquidationDistance, options: {} });

async function monitorOf<Options>(plugin: MonitorPlugin<Options>, options: Record<string, unknown>) {
  const { engine } = await createTestEngine();
  return plugin.setup(setupContextFor(engine, plugin.meta.name), parsePluginOptions(plugin, options));
}

const codes = (report: { alerts?: readonly { code: string }[] } | undefined) =>
  (report?.alerts ?? []).map((alert) => alert.code);

describe('health monitor', () => {
  it('warns under 50 %, goes critical under 20 % (at the limits it does not), and recovers', async () => {
    const monitor = await monitorOf(health, {});
    const at = (healthRatio: number) =>
      monitor.check(stateOf([{ healthRatio }], [{ quantity: 2 }])) as Awaited<
        ReturnType<typeof monitor.check>
      >;
    expect(codes(await at(0.5))).toEqual([]); // at the warning limit: fine
    expect(codes(await at(0.499))).toEqual(['HEALTH_LOW']);
    expect(codes(await at(0.3))).toEqual([]); // still a warning: no new alert
    expect(codes(await at(0.2))).toEqual([]); // at the critical limit: still a warning, no new alert
    const critical = await at(0.199);
    expect(codes(critical)).toEqual(['HEALTH_CRITICAL']);
    expect(critical?.signals).toEqual([
      expect.objectContaining({
        intent: 'reduce',
        symbol: 'BTC',
        fraction: 0.25,
        reasons: [expect.objectContaining({ code: 'HEALTH_CRITICAL' })],
      }),
    ]);
    expect(critical?.phase).toEqual({ to: 'reducing', reason: 'health critical' });
    const recovered = await at(0.6);
    expect(codes(recovered)).toEqual(['HEALTH_RECOVERED']);
    expect(recovered?.phase).toEqual({ to: 'active', reason: 'health critical: recovered' });
  });

  it('emergency below its floor; no reduce signal on an instrument with an order in flight', async () => {
    const monitor = await monitorOf(health, { emergencyBelow: 0.1 });
    const report = await monitor.check(stateOf([{ healthRatio: 0.05 }], [{ quantity: 2 }], ['sim:BTC']));
    expect(report?.emergency).toMatch(/sim\/main health 5\.0% under 10%/);
    expect(report?.signals).toEqual([]);
  });
});

describe('margin monitor', () => {
  it('warning over 60 %, critical over 80 % of equity', async () => {
    const monitor = await monitorOf(margin, {});
    const at = (marginUsed: number) =>
      monitor.check(stateOf([{ equity: 1000, marginUsed }], [{ quantity: 1 }])) as Awaited<
        ReturnType<typeof monitor.check>
      >;
    expect(codes(await at(600))).toEqual([]);
    expect(codes(await at(600.01))).toEqual(['MARGIN_UTILIZATION_HIGH']);
    expect(codes(await at(800))).toEqual([]);
    const critical = await at(800.01);
    expect(codes(critical)).toEqual(['MARGIN_UTILIZATION_CRITICAL']);
    expect(critical?.signals?.[0]).toMatchObject({ intent: 'reduce', fraction: 0.25 });
    expect(codes(await at(100))).toEqual(['MARGIN_UTILIZATION_RECOVERED']);
  });
});

describe('exposure monitor', () => {
  it('reduces the excess of a position over its limit, and total excess proportionally', async () => {
    const monitor = await monitorOf(exposure, { maxPositionNotional: 1000, maxTotalNotional: 1500 });
    const atLimit = await monitor.check(stateOf([{}], [{ symbol: 'BTC', quantity: 10, markPrice: 100 }]));
    expect(codes(atLimit)).toEqual([]);
    const over = await monitor.check(
      stateOf(
        [{}],
        [
          { symbol: 'BTC', quantity: 12, markPrice: 100 },
          { symbol: 'ETH', quantity: -100, markPrice: 8 },
        ],
      ),
    );
    expect(codes(over)).toEqual(['EXPOSURE_SYMBOL_LIMIT', 'EXPOSURE_TOTAL_LIMIT']);
    expect(over?.signals).toEqual([
      expect.objectContaining({ symbol: 'BTC', quantity: expect.closeTo(2, 12) }), // 1 200 − 1 000 = 200 → 2 BTC
      expect.objectContaining({ symbol: 'ETH', fraction: expect.closeTo(500 / 2000, 12) }), // gross 2 000 vs 1 500
    ]);
  });
});

describe('liquidation distance monitor', () => {
  it('warns within 15 %, critical within 5 %, reducing half', async () => {
    const monitor = await monitorOf(liquidationDistance, {});
    const at = (mark: number) =>
      monitor.check(stateOf([{}], [{ markPrice: mark, liquidationPrice: 100 }])) as Awaited<
        ReturnType<typeof monitor.check>
      >;
    expect(codes(await at(100 / 0.85))).toEqual([]); // exactly 15 % away
    expect(codes(await at(117))).toEqual(['LIQUIDATION_NEAR']); // 14.5 %
    expect(codes(await at(100 / 0.95))).toEqual([]); // exactly 5 %: still a warning
    const critical = await at(105);
    expect(codes(critical)).toEqual(['LIQUIDATION_IMMINENT']);
    expect(critical?.signals?.[0]).toMatchObject({ intent: 'reduce', fraction: 0.5 });
  });
});

describe('health in the engine, on SimExchange', () => {
  it('a health drop triggers a reduce signal that executes', async () => {
    const clock = new SimulatedClock(Date.UTC(2025, 0, 1));
    const sim = new SimExchange(
      {
        fillModel: 'mark',
        slippage: 0,
        fees: { maker: 0, taker: 0 },
        markets: [{ symbol: 'BTC', tickSize: '0.1', lotSize: '0.001', maxLeverage: 20 }],
        accounts: [{ id: 'main', balance: 1000 }],
      },
      { clock },
    );
    const engine = new Engine({
      mode: 'backtest',
      clock,
      exchanges: [sim],
      strategies: [
        {
          id: 's',
          create: () => ({
            onCycle: (state) =>
              state.cycle === 1
                ? [
                    {
                      intent: 'open',
                      exchange: 'sim',
                      symbol: 'BTC',
                      side: 'buy',
                      quantity: 1.5,
                      reasons: [{ code: 'ENTER', message: 'e' }],
                    },
                  ]
                : undefined,
          }),
        },
      ],
      monitors: [
        {
          id: 'health',
          create: (context) => health.setup(context, parsePluginOptions(health, { interval: 0 })),
        },
      ],
    });
    const alerts: string[] = [];
    engine.events.on('alert', (alert) => alerts.push(alert.code));
    await engine.init();
    sim.processTicker({ symbol: 'BTC', mark: 10_000, timestamp: clock.now() });
    await engine.runCycle(); // 1.5 BTC at 10 000 with 1 000 equity: health 1 − 750/1000 = 25 %
    expect(engine.state.account('sim', 'main')?.healthRatio).toBeCloseTo(0.25, 12);
    clock.advance(1000);
    sim.processTicker({ symbol: 'BTC', mark: 9_950, timestamp: clock.now() }); // equity 925, maintenance 746.25: 19.3 %
    await engine.runCycle();
    expect(alerts).toContain('HEALTH_CRITICAL');
    expect(engine.phase).toBe('reducing');
    expect((await sim.fetchPositions('main'))[0]?.quantity).toBeCloseTo(1.125, 12); // reduced by a quarter
    expect(engine.state.account('sim', 'main')?.healthRatio).toBeGreaterThan(0.19);
  });
});
