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

type Report = Awaited<ReturnType<Awaited<ReturnType<typeof monitorOf>>['check']>>;

describe('account monitors: more boundaries', () => {
  it('health: non-default warnBelow and criticalBelow (at each: the better level; just under: the worse)', async () => {
    const monitor = await monitorOf(health, { warnBelow: 0.7, criticalBelow: 0.4 });
    const at = async (healthRatio: number) =>
      codes((await monitor.check(stateOf([{ healthRatio }], [{ quantity: 2 }]))) as Report);
    expect(await at(0.7)).toEqual([]);
    expect(await at(0.699)).toEqual(['HEALTH_LOW']);
    expect(await at(0.4)).toEqual([]);
    expect(await at(0.399)).toEqual(['HEALTH_CRITICAL']);
    expect(await at(0.7)).toEqual(['HEALTH_RECOVERED']);
  });

  it('health: emergencyBelow is strict too (at it: no emergency; just under: emergency)', async () => {
    const monitor = await monitorOf(health, { emergencyBelow: 0.1 });
    const at = async (healthRatio: number) =>
      (await monitor.check(stateOf([{ healthRatio }], [{ quantity: 2 }]))) as Report;
    expect((await at(0.1))?.emergency).toBeUndefined();
    expect((await at(0.099))?.emergency).toBe('sim/main health 9.9% under 10%');
  });

  it('health: holdPhase none sends signals but never touches the phase; halted holds halted', async () => {
    const none = await monitorOf(health, { holdPhase: 'none' });
    const critical = (await none.check(stateOf([{ healthRatio: 0.1 }], [{ quantity: 2 }]))) as Report;
    expect(critical?.phase).toBeUndefined();
    expect(critical?.signals).toHaveLength(1);
    expect(
      ((await none.check(stateOf([{ healthRatio: 0.9 }], [{ quantity: 2 }]))) as Report)?.phase,
    ).toBeUndefined();
    const halted = await monitorOf(health, { holdPhase: 'halted' });
    expect(
      ((await halted.check(stateOf([{ healthRatio: 0.1 }], [{ quantity: 2 }]))) as Report)?.phase,
    ).toEqual({
      to: 'halted',
      reason: 'health critical',
    });
  });

  it('health: reduceFraction 0 alerts and holds the phase without signals', async () => {
    const monitor = await monitorOf(health, { reduceFraction: 0 });
    const report = (await monitor.check(stateOf([{ healthRatio: 0.1 }], [{ quantity: 2 }]))) as Report;
    expect(codes(report)).toEqual(['HEALTH_CRITICAL']);
    expect(report?.signals).toEqual([]);
    expect(report?.phase).toMatchObject({ to: 'reducing' });
  });

  it('exchanges: accounts and positions of other exchanges are not watched', async () => {
    const monitor = await monitorOf(health, { exchanges: ['other'] });
    const report = (await monitor.check(stateOf([{ healthRatio: 0.1 }], [{ quantity: 2 }]))) as Report;
    expect(codes(report)).toEqual([]);
    expect(report?.signals).toEqual([]);
    const liquidation = await monitorOf(liquidationDistance, { exchanges: ['other'] });
    expect(
      codes((await liquidation.check(stateOf([{}], [{ markPrice: 101, liquidationPrice: 100 }]))) as Report),
    ).toEqual([]);
    const watched = await monitorOf(exposure, { maxTotalNotional: 100, exchanges: ['sim'] });
    expect(codes((await watched.check(stateOf([{}], [{ quantity: 2 }]))) as Report)).toEqual([
      'EXPOSURE_TOTAL_LIMIT',
    ]);
  });

  it('margin: holds its phase while critical and releases it when utilization recovers', async () => {
    const monitor = await monitorOf(margin, { warnAbove: 0.5, criticalAbove: 0.7, holdPhase: 'halted' });
    const at = async (marginUsed: number) =>
      (await monitor.check(stateOf([{ equity: 1000, marginUsed }], [{ quantity: 1 }]))) as Report;
    expect((await at(700))?.phase).toBeUndefined(); // exactly at critical: a warning, no hold
    const critical = await at(700.01);
    expect(codes(critical)).toEqual(['MARGIN_UTILIZATION_CRITICAL']);
    expect(critical?.phase).toEqual({ to: 'halted', reason: 'margin utilization critical' });
    expect((await at(600))?.phase).toEqual({
      to: 'active',
      reason: 'margin utilization critical: recovered',
    });
    expect((await at(100))?.phase).toBeUndefined(); // released once, not on every check
  });

  it('exposure: total exactly at the limit is fine; recovery alerts once; reduce: false only alerts', async () => {
    const monitor = await monitorOf(exposure, { maxTotalNotional: 1500, reduce: false });
    const at = async (btc: number) =>
      (await monitor.check(
        stateOf(
          [{}],
          [
            { symbol: 'BTC', quantity: btc, markPrice: 100 },
            { symbol: 'ETH', quantity: -50, markPrice: 10 },
          ],
        ),
      )) as Report;
    expect(codes(await at(10))).toEqual([]); // 1 000 + 500 = the limit
    const over = await at(10.01);
    expect(codes(over)).toEqual(['EXPOSURE_TOTAL_LIMIT']);
    expect(over?.signals).toEqual([]);
    expect(codes(await at(11))).toEqual([]); // still over: no repeat
    expect(codes(await at(9))).toEqual(['EXPOSURE_RECOVERED']);
    const symbol = await monitorOf(exposure, { maxPositionNotional: 1000, reduce: false });
    const bigger = (await symbol.check(
      stateOf([{}], [{ symbol: 'BTC', quantity: 12, markPrice: 100 }]),
    )) as Report;
    expect(codes(bigger)).toEqual(['EXPOSURE_SYMBOL_LIMIT']);
    expect(bigger?.signals).toEqual([]);
  });

  it('liquidation distance: recovery alerts once; reduceFraction 0 alerts without a signal', async () => {
    const monitor = await monitorOf(liquidationDistance, { reduceFraction: 0 });
    const at = async (mark: number) =>
      (await monitor.check(stateOf([{}], [{ markPrice: mark, liquidationPrice: 100 }]))) as Report;
    const critical = await at(104);
    expect(codes(critical)).toEqual(['LIQUIDATION_IMMINENT']);
    expect(critical?.signals).toEqual([]);
    expect(codes(await at(110))).toEqual(['LIQUIDATION_NEAR']); // 9.1 %: back to a warning
    expect(codes(await at(120))).toEqual(['LIQUIDATION_RECOVERED']);
    expect(codes(await at(125))).toEqual([]);
  });
});
