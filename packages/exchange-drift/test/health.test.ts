import { type Alert, Engine, parsePluginOptions, RealClock } from '@perpkit/core';
import { health } from '@perpkit/monitor-account';
import { afterEach, describe, expect, it } from 'vitest';
import { startVenue, type Venue } from './helpers';

let venue: Venue | undefined;
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  await venue?.stop();
  venue = undefined;
  engine = undefined;
});

describe('a Drift account going down in health, through the health monitor', () => {
  it('warns under 50 %, goes critical under 20 %, and the reduce it asks for executes on Drift', async () => {
    // 1,000 USDC and a 33 SOL long at 150 (4.95× leverage); SOL's maintenance margin is 5 %.
    venue = await startVenue({ usdc: '1000' });
    const v = venue;
    engine = new Engine({
      mode: 'live',
      clock: new RealClock(),
      exchanges: [v.exchange],
      monitors: [
        { id: 'health', create: (context) => health.setup(context, parsePluginOptions(health, {})) },
      ],
    });
    const alerts: Alert[] = [];
    engine.events.on('alert', (alert) => alerts.push(alert));
    // The position is on the account before the engine starts: it adopts it at boot.
    await v.exchange.connect();
    await v.exchange.submitOrder({
      account: 'main',
      symbol: 'SOL',
      side: 'buy',
      type: 'market',
      quantity: '33',
    });
    await engine.init();

    // The adapter's account view follows the chain by polling: wait until it has priced the move.
    const healthAt = async (price: string) => {
      v.rpc.setPrice('SOL', price);
      const deadline = Date.now() + 8_000;
      for (;;) {
        const mark = (await v.exchange.fetchPositions('main')).find(
          (item) => item.symbol === 'SOL',
        )?.markPrice;
        if (mark === Number(price)) return (await v.exchange.fetchAccount('main')).healthRatio;
        if (Date.now() > deadline) throw new Error(`the account view never saw SOL at ${price}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const healthNow = async () => (await v.exchange.fetchAccount('main')).healthRatio;
    // Cycles until the engine has seen the account at the new price and the monitor has spoken.
    const cycleUntil = async (done: () => boolean) => {
      const deadline = Date.now() + 8_000;
      while (!done()) {
        if (Date.now() > deadline)
          throw new Error(`no such alert; alerts: ${JSON.stringify(alerts.map((a) => a.code))}`);
        await engine?.runCycle();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const codes = () => alerts.map((alert) => alert.code).filter((code) => code.startsWith('HEALTH_'));
    expect(alerts.map((alert) => alert.code)).toEqual(['POSITION_ADOPTED']);

    // 140: health about 65 %, no alert.
    expect(await healthAt('140')).toBeGreaterThan(0.5);
    for (let cycle = 0; cycle < 5; cycle += 1) await engine.runCycle();
    expect(codes()).toEqual([]);

    // 132: health about 46 %, a warning.
    const warned = await healthAt('132');
    expect(warned).toBeLessThan(0.5);
    expect(warned).toBeGreaterThan(0.2);
    await cycleUntil(() => codes().includes('HEALTH_LOW'));
    expect(alerts.find((alert) => alert.code === 'HEALTH_LOW')?.level).toBe('warning');

    // 127: health about 13 %, critical; the monitor asks to reduce a quarter of the position.
    const critical = await healthAt('127');
    expect(critical).toBeLessThan(0.2);
    expect(critical).toBeGreaterThan(0);
    await cycleUntil(() => codes().includes('HEALTH_CRITICAL'));
    expect(alerts.find((alert) => alert.code === 'HEALTH_CRITICAL')?.level).toBe('critical');
    const deadline = Date.now() + 8_000;
    let held = 33;
    while (held === 33 && Date.now() < deadline) {
      await engine.runCycle();
      await new Promise((resolve) => setTimeout(resolve, 50));
      held = (await v.exchange.fetchPositions('main')).find((item) => item.symbol === 'SOL')?.quantity ?? 0;
    }
    // A quarter of 33 on SOL's 0.01 step: 8.25 sold, 24.75 left.
    expect(held).toBeCloseTo(24.75, 9);
    const after = Date.now() + 8_000;
    while ((await healthNow()) <= critical && Date.now() < after)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await healthNow()).toBeGreaterThan(critical);
  });
});
