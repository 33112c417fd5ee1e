import {
  type Candle,
  type ComponentSpec,
  type ExitRule,
  type ExitRulePlugin,
  parsePluginOptions,
  type SignalInput,
  type StateView,
  type Strategy,
} from '@perpkit/core';
import { createTestEngine, describeExitRuleContract, setupContextFor } from '@perpkit/testkit';
import { describe, expect, it } from 'vitest';
import exitRules, { atrStop, atrTakeProfit, stopLoss, takeProfit, timeStop } from '../src/index';

describeExitRuleContract('stop-loss', { plugin: stopLoss, options: { fraction: 0.02 } });
describeExitRuleContract('take-profit', { plugin: takeProfit, options: { fraction: 0.03 } });
describeExitRuleContract('time-stop', { plugin: timeStop, options: { after: '4h' } });
describeExitRuleContract('atr-stop', { plugin: atrStop, options: { multiple: 2, trailing: true } });
describeExitRuleContract('atr-take-profit', { plugin: atrTakeProfit, options: { multiple: 3 } });

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

/** A strategy that opens one position on its first cycle. */
function opener(id: string, side: 'buy' | 'sell', quantity = 1): ComponentSpec<Strategy> {
  let done = false;
  return {
    id,
    create: () => ({
      instruments: [{ exchange: 'fake', symbol: 'BTC', channels: ['candles', 'ticker'] }],
      onCycle(state: StateView): SignalInput[] | undefined {
        if (done || state.position('fake', 'BTC')) return undefined;
        done = true;
        return [
          {
            intent: 'open',
            exchange: 'fake',
            symbol: 'BTC',
            side,
            quantity,
            reasons: [{ code: 'TEST', message: 'test' }],
          },
        ];
      },
    }),
  };
}

function ruleSpec<Options>(
  plugin: ExitRulePlugin<Options>,
  options: unknown,
  id = plugin.meta.name,
): ComponentSpec<ExitRule> {
  const parsed = parsePluginOptions(plugin, options);
  return { id, create: (context) => plugin.setup(context, parsed) };
}

/** Bars of a flat market with a constant true range of 2 (so ATR = 2), closing at `price`. */
const flatBar = (index: number, price: number): Candle => ({
  timestamp: T0 + index * MINUTE,
  open: price,
  high: price + 1,
  low: price - 1,
  close: price,
  volume: 1,
});

async function harness(strategy: ComponentSpec<Strategy>, rules: ComponentSpec<ExitRule>[]) {
  const test = await createTestEngine({ strategies: [strategy], exitRules: rules, start: T0 });
  const exits: { code: string; message: string; rule: string }[] = [];
  test.engine.events.on('exit', (event) =>
    exits.push({ code: event.code, message: event.signal.reasons[0]?.message ?? '', rule: event.rule }),
  );
  let bar = 0;
  /** Moves the market to `price` with a new bar (or only a new mark) and runs a cycle. */
  const step = async (price: number, options: { bar?: boolean; advance?: number } = {}) => {
    const time = test.clock.now() + (options.advance ?? MINUTE);
    test.clock.advanceTo(time);
    test.exchange.setTime(time);
    if (options.bar ?? true) {
      test.exchange.pushCandle('BTC', flatBar(bar, price));
      bar += 1;
    } else test.exchange.setPrice('BTC', price);
    await test.engine.runCycle();
  };
  return { ...test, exits, step, position: () => test.engine.state.position('fake', 'BTC') };
}

describe('stop-loss and take-profit', () => {
  it('closes a long at 2 % below the entry, not before', async () => {
    const { step, exits, position } = await harness(opener('s', 'buy'), [
      ruleSpec(stopLoss, { fraction: 0.02 }),
    ]);
    await step(100); // entry at 100
    expect(position()?.entryPrice).toBe(100);
    await step(98.01);
    expect(exits).toEqual([]);
    await step(98);
    expect(exits).toEqual([
      {
        code: 'STOP_LOSS',
        rule: 'stop-loss',
        message: 'long BTC: price 98 reached the stop 98 (2% stop, entry 100)',
      },
    ]);
    await step(98);
    expect(position()).toBeUndefined();
  });

  it('closes a short at 2 % above the entry, and takes a short’s profit below it', async () => {
    const stop = await harness(opener('s', 'sell'), [ruleSpec(stopLoss, { fraction: 0.02 })]);
    await stop.step(100);
    await stop.step(101.9);
    expect(stop.exits).toEqual([]);
    await stop.step(102.5);
    expect(stop.exits.map((exit) => exit.code)).toEqual(['STOP_LOSS']);

    const target = await harness(opener('s', 'sell'), [ruleSpec(takeProfit, { fraction: 0.03 })]);
    await target.step(100);
    await target.step(97.5);
    expect(target.exits).toEqual([]);
    await target.step(96.9);
    expect(target.exits).toEqual([
      {
        code: 'TAKE_PROFIT',
        rule: 'take-profit',
        message: 'short BTC: price 96.9 reached the target 97 (3% target, entry 100)',
      },
    ]);
  });

  it('applies only to positions of the strategies it is scoped to', async () => {
    const scoped = await harness(opener('mine', 'buy'), [
      ruleSpec(stopLoss, { fraction: 0.02, strategies: ['other'] }),
    ]);
    await scoped.step(100);
    await scoped.step(90);
    expect(scoped.exits).toEqual([]);
    const mine = await harness(opener('mine', 'buy'), [
      ruleSpec(stopLoss, { fraction: 0.02, strategies: ['mine'] }),
    ]);
    await mine.step(100);
    await mine.step(90);
    expect(mine.exits.map((exit) => exit.code)).toEqual(['STOP_LOSS']);
  });

  it('sit in the stack as configured: stops before targets by default, layer and priority overridable', async () => {
    const { engine } = await createTestEngine();
    const build = <Options>(plugin: ExitRulePlugin<Options>, options: unknown) =>
      plugin.setup(setupContextFor(engine, plugin.meta.name), parsePluginOptions(plugin, options));
    const rules = [
      build(stopLoss, { fraction: 0.02 }),
      build(atrStop, { multiple: 2 }),
      build(takeProfit, { fraction: 0.02 }),
      build(atrTakeProfit, { multiple: 2 }),
      build(timeStop, { after: '1h' }),
      build(stopLoss, { fraction: 0.1, layer: 1, priority: 0 }),
    ];
    expect(rules.map((rule) => [rule.layer, rule.priority])).toEqual([
      [2, 10],
      [2, 11],
      [2, 20],
      [2, 21],
      [3, 30],
      [1, 0],
    ]);
  });
});

describe('time-stop', () => {
  it('closes a position held for the limit on the engine clock', async () => {
    const { step, exits } = await harness(opener('s', 'buy'), [ruleSpec(timeStop, { after: '1h' })]);
    await step(100); // opened now
    await step(100, { advance: 59 * MINUTE });
    expect(exits).toEqual([]);
    await step(100, { advance: MINUTE });
    expect(exits).toEqual([
      { code: 'TIME_STOP', rule: 'time-stop', message: 'BTC held 60 min, limit 60 min' },
    ]);
  });
});

describe('ATR exits', () => {
  it('stops a long 2 ATRs below the entry, with the ATR when the position was first seen', async () => {
    const { step, exits, engine } = await harness(opener('s', 'buy'), [
      ruleSpec(atrStop, { multiple: 2, period: 3 }),
    ]);
    for (let index = 0; index < 5; index += 1) await step(100); // ATR(3) = 2; the entry fills at 100
    expect(engine.state.position('fake', 'BTC')?.entryPrice).toBe(100);
    await step(96.5); // the bar's true range is 4.5: the ATR grows, the anchored one stays 2
    expect(exits).toEqual([]);
    await step(96);
    expect(exits).toEqual([
      {
        code: 'ATR_STOP',
        rule: 'atr-stop',
        message: 'long BTC: price 96 reached the stop 96 (2 × ATR 2 from entry, entry 100)',
      },
    ]);
    // The anchor lived in plugin memory and is forgotten once the position is closed.
    expect(engine.memory.snapshot()['atr-stop']?.anchors).toEqual(expect.any(Object));
    await step(96);
    expect(engine.memory.snapshot()['atr-stop']?.anchors).toEqual({});
  });

  it('trails the stop behind the best price since entry', async () => {
    const { step, exits } = await harness(opener('s', 'buy'), [
      ruleSpec(atrStop, { multiple: 2, period: 3, trailing: true }),
    ]);
    for (let index = 0; index < 5; index += 1) await step(100);
    await step(110, { bar: false }); // best price 110: the stop trails to 106
    await step(106.5, { bar: false });
    expect(exits).toEqual([]);
    await step(106, { bar: false });
    expect(exits.map((exit) => exit.code)).toEqual(['ATR_TRAILING_STOP']);
    expect(exits[0]?.message).toContain('behind the best price 110');
  });

  it('takes profit 3 ATRs above a long’s entry', async () => {
    const { step, exits } = await harness(opener('s', 'buy'), [
      ruleSpec(atrTakeProfit, { multiple: 3, period: 3 }),
    ]);
    for (let index = 0; index < 5; index += 1) await step(100);
    await step(105.9, { bar: false });
    expect(exits).toEqual([]);
    await step(106, { bar: false });
    expect(exits.map((exit) => exit.code)).toEqual(['ATR_TAKE_PROFIT']);
  });

  it('decides nothing while the ATR is warming up', async () => {
    const { step, exits } = await harness(opener('s', 'buy'), [
      ruleSpec(atrStop, { multiple: 0.1, period: 50 }),
    ]);
    await step(100);
    await step(50);
    expect(exits).toEqual([]);
  });
});

describe('options', () => {
  it('are strict and name the field', () => {
    expect(() =>
      parsePluginOptions(stopLoss, { fraction: 2 }, { pathPrefix: 'exitRules[0].options' }),
    ).toThrow(/exitRules\[0\]\.options\.fraction/);
    expect(() => parsePluginOptions(stopLoss, { percent: 2 })).toThrow(/percent/);
    expect(() => parsePluginOptions(timeStop, { after: 'soon' })).toThrow(/not a duration/);
    expect(() => parsePluginOptions(atrStop, { multiple: 0 })).toThrow(/multiple/);
  });

  it('exports every rule for the runner', () => {
    expect(exitRules.map((plugin) => plugin.meta.name)).toEqual([
      'stop-loss',
      'take-profit',
      'time-stop',
      'atr-stop',
      'atr-take-profit',
    ]);
  });
});
