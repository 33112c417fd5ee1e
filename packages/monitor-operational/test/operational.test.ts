import { Engine, parsePluginOptions, SimulatedClock } from '@perpkit/core';
import { createTestEngine, describeMonitorContract, FakeExchange, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import { cycleFailures, staleData } from '../src/index';

describeMonitorContract('stale-data', { plugin: staleData, options: {} });
describeMonitorContract('cycle-failures', { plugin: cycleFailures, options: {} });

describe('stale-data monitor', () => {
  it('at the age is fresh; just over is stale (once); fresh data recovers and releases the phase', async () => {
    const { engine, exchange, clock } = await createTestEngine({ exchange: { prices: { BTC: 100 } } });
    const monitor = staleData.setup(
      setupContextFor(engine, 'stale-data'),
      parsePluginOptions(staleData, { maxAge: '1m', instruments: ['fake:BTC'], holdPhase: 'reducing' }),
    );
    const at = async (ms: number) => {
      clock.advanceTo(1_700_000_000_000 + ms);
      (engine.state as { now: number }).now = clock.now();
      return (await monitor.check(engine.state)) ?? {};
    };
    expect((await at(60_000)).alerts).toEqual([]);
    const stale = await at(60_001);
    expect(stale.alerts?.map((alert) => alert.code)).toEqual(['STALE_DATA']);
    expect(stale.phase).toMatchObject({ to: 'reducing' });
    expect((await at(70_000)).alerts).toEqual([]);
    exchange.setTime(clock.now());
    exchange.publishPrices();
    const back = await at(70_001);
    expect(back.alerts?.map((alert) => alert.code)).toEqual(['DATA_RECOVERED']);
    expect(back.phase).toEqual({ to: 'active', reason: 'market data flows again' });
  });
});

describe('stale-data monitor: defaults', () => {
  it('by default watches the instruments with open positions, and holds no phase (holdPhase: none)', async () => {
    const { engine, exchange, clock } = await createTestEngine({
      exchange: { prices: { BTC: 100, ETH: 100 }, markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }] },
    });
    const monitor = staleData.setup(
      setupContextFor(engine, 'stale-data'),
      parsePluginOptions(staleData, { maxAge: '1m' }),
    );
    const at = async (ms: number) => {
      clock.advanceTo(1_700_000_000_000 + ms);
      (engine.state as { now: number }).now = clock.now();
      return (await monitor.check(engine.state)) ?? {};
    };
    expect(await at(120_000)).toEqual({ alerts: [], phase: undefined }); // no positions: nothing watched
    exchange.setTime(clock.now());
    await exchange.submitOrder({
      account: 'main',
      symbol: 'ETH',
      side: 'buy',
      type: 'market',
      quantity: '1',
    }); // a fill, no ticker
    const stale = await at(120_001); // ETH's last market data is from t = 0; BTC (no position) is not watched
    expect(stale.alerts?.map((alert) => `${alert.code} ${alert.data?.instrument}`)).toEqual([
      'STALE_DATA fake:ETH',
    ]);
    expect(stale.phase).toBeUndefined(); // holdPhase none: alert only
    await exchange.submitOrder({
      account: 'main',
      symbol: 'ETH',
      side: 'sell',
      type: 'market',
      quantity: '1',
    });
    expect((await at(130_000)).alerts).toEqual([]); // closed: no longer watched, and forgotten quietly
  });
});

describe('cycle-failures monitor', () => {
  it('warns at warnAfter failures in a row (not before), once, and reports the recovery', async () => {
    let failing = true;
    const clock = new SimulatedClock(0);
    const engine = new Engine({
      mode: 'backtest',
      clock,
      exchanges: [new FakeExchange()],
      strategies: [
        {
          id: 'flaky',
          create: () => ({
            onCycle: () => {
              if (failing) throw new Error('parse error');
              return undefined;
            },
          }),
        },
      ],
      monitors: [
        {
          id: 'cycle-failures',
          create: (context) =>
            cycleFailures.setup(context, parsePluginOptions(cycleFailures, { warnAfter: 3 })),
        },
      ],
      maxConsecutiveFailures: 10,
    });
    const alerts: string[] = [];
    engine.events.on('alert', (alert) => alerts.push(alert.code));
    await engine.init();
    // A monitor sees the failures of the cycles before its own: after three failed cycles, the
    // fourth cycle's check warns.
    for (let cycle = 0; cycle < 3; cycle += 1) await engine.runCycle();
    expect(alerts).toEqual([]);
    await engine.runCycle();
    expect(alerts).toEqual(['CYCLE_FAILURES_REPEATED']);
    await engine.runCycle();
    expect(alerts).toEqual(['CYCLE_FAILURES_REPEATED']);
    failing = false;
    await engine.runCycle();
    await engine.runCycle();
    expect(alerts).toEqual(['CYCLE_FAILURES_REPEATED', 'CYCLES_RECOVERED']);
  });
});
