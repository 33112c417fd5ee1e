import type { ComponentSpec, StateView, Strategy } from '@perpkit/core';
import { createTestEngine } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import {
  defaultFeatureSettings,
  FeatureHub,
  FeaturePipeline,
  type FeatureSnapshot,
  featureHub,
} from '../src/index';
import { BYBIT_BTC_1M, readCandles } from './data';

const BAR_FIELDS = [
  'barTime',
  'open',
  'close',
  'atr',
  'bodyOverAtr',
  'volumeZ',
  'realizedVol',
  'regime',
  'efficiency',
] as const;
const barFields = (snapshot: FeatureSnapshot) =>
  Object.fromEntries(BAR_FIELDS.map((field) => [field, snapshot[field]]));

/** A strategy that only reads features, recording what it saw each cycle. */
function reader(
  id: string,
  settings: Parameters<typeof defaultFeatureSettings>[0],
  seen: { id: string; cycle: number; snapshot: FeatureSnapshot }[],
  hubs: FeatureHub[],
): ComponentSpec<Strategy> {
  return {
    id,
    create(context) {
      const hub = featureHub(context);
      hubs.push(hub);
      const view = hub.view('fake', 'BTC', defaultFeatureSettings(settings));
      return {
        instruments: [{ exchange: 'fake', symbol: 'BTC', channels: ['candles', 'ticker'] }],
        onCycle(state: StateView) {
          seen.push({ id, cycle: state.cycle, snapshot: view.read(state) });
          return undefined;
        },
      };
    },
  };
}

async function run(
  strategies: (seen: never[], hubs: FeatureHub[]) => ComponentSpec<Strategy>[],
  bars: number,
) {
  const candles = await readCandles(BYBIT_BTC_1M, bars);
  const seen: { id: string; cycle: number; snapshot: FeatureSnapshot }[] = [];
  const hubs: FeatureHub[] = [];
  const { engine, exchange, clock } = await createTestEngine({
    strategies: strategies(seen as never[], hubs),
    start: candles[0]?.timestamp ?? 0,
    exchange: { prices: { BTC: candles[0]?.open ?? 1 } },
  });
  for (const candle of candles) {
    exchange.setTime(candle.timestamp + 60_000);
    exchange.pushCandle('BTC', candle);
    clock.advanceTo(candle.timestamp + 60_000);
    await engine.runCycle();
  }
  await engine.stop('done', { cancelOpenOrders: false, timeoutMs: 1000 });
  return { candles, seen, hubs };
}

describe('FeatureHub in an engine', () => {
  it('computes each distinct indicator once per cycle, whoever reads it, with the pipeline’s values', async () => {
    const bars = 2000;
    const { candles, seen, hubs } = await run(
      (seen, hubs) => [
        reader('first', {}, seen, hubs),
        reader('second', {}, seen, hubs),
        reader('longer-atr', { atrPeriod: 30 }, seen, hubs),
      ],
      bars,
    );
    // One hub for the engine, shared by all three.
    expect(hubs).toHaveLength(3);
    expect(hubs[1]).toBe(hubs[0]);
    expect(hubs[2]).toBe(hubs[0]);
    const hub = hubs[0] as FeatureHub;
    // ATR(14), ATR(30), volume z, realized vol, regime: five distinct indicators, not nine.
    expect(hub.indicatorCount).toBe(5);
    expect(hub.counters.previews).toBe(5 * bars);
    expect(hub.counters.commits).toBe(5 * (bars - 1));
    expect(hub.counters.quoteReads).toBe(bars);

    // Readers with the same settings get the very same snapshot object each cycle.
    const byCycle = new Map<number, Map<string, FeatureSnapshot>>();
    for (const { id, cycle, snapshot } of seen) {
      if (!byCycle.has(cycle)) byCycle.set(cycle, new Map());
      byCycle.get(cycle)?.set(id, snapshot);
    }
    for (const readers of byCycle.values()) expect(readers.get('second')).toBe(readers.get('first'));

    // Values equal a pipeline fed the same bars directly.
    const pipeline = new FeaturePipeline('fake', 'BTC');
    const longer = new FeaturePipeline('fake', 'BTC', { atrPeriod: 30 });
    const first = seen.filter((entry) => entry.id === 'first');
    const third = seen.filter((entry) => entry.id === 'longer-atr');
    expect(first).toHaveLength(bars);
    candles.forEach((candle, index) => {
      pipeline.onBar(candle);
      longer.onBar(candle);
      expect(barFields((first[index] as { snapshot: FeatureSnapshot }).snapshot)).toEqual(
        barFields(pipeline.snapshot(0)),
      );
      expect(barFields((third[index] as { snapshot: FeatureSnapshot }).snapshot)).toEqual(
        barFields(longer.snapshot(0)),
      );
    });
    const last = (first.at(-1) as { snapshot: FeatureSnapshot }).snapshot;
    expect(last.atr).toBeGreaterThan(0);
    // FakeExchange quotes mark ± 0.5: the spread comes from the fresh ticker.
    expect(last.spreadBps).toBeCloseTo((1 / (last.close as number)) * 10_000, 9);
  });

  it('keeps engines apart: two engines in one process never share a hub', async () => {
    const one = await run((seen, hubs) => [reader('a', {}, seen, hubs)], 50);
    const two = await run((seen, hubs) => [reader('a', {}, seen, hubs)], 80);
    expect(one.hubs[0]).not.toBe(two.hubs[0]);
    expect(one.hubs[0]?.counters.previews).toBe(4 * 50);
    expect(two.hubs[0]?.counters.previews).toBe(4 * 80);
  });

  it('shares an exit rule’s ATR with a strategy reading the same ATR', () => {
    const hub = new FeatureHub();
    hub.view('sim', 'BTC', defaultFeatureSettings({ atrPeriod: 14 }));
    expect(hub.indicatorCount).toBe(4);
    hub.averageTrueRange('sim', 'BTC', 14);
    expect(hub.indicatorCount).toBe(4);
    hub.averageTrueRange('sim', 'BTC', 21);
    hub.averageTrueRange('sim', 'ETH', 14);
    expect(hub.indicatorCount).toBe(6);
  });

  it('gives a host without shared services a private hub', () => {
    expect(featureHub({})).not.toBe(featureHub({}));
  });
});
