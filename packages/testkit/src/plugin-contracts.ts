import {
  type ExitRulePlugin,
  type LedgerPosition,
  type MonitorPlugin,
  type RiskGatePlugin,
  type Signal,
  type SignalInput,
  type StrategyPlugin,
  validatePlugin,
} from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import {
  createTestEngine,
  proposalFor,
  type ReplayInstrument,
  replayCandles,
  setupContextFor,
} from './harness';

const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const INTENTS = ['open', 'close', 'reduce', 'rebalance'];

function describePluginBasics(
  prefix: string,
  plugin: {
    meta: { kind: string; name: string };
    options: { safeParse(input: unknown): { success: boolean } };
  },
  options: unknown,
  expectedKind: 'strategy' | 'risk-gate' | 'exit-rule' | 'monitor',
) {
  it(`${prefix}-001 has valid metadata for the running core`, () => {
    expect(() => validatePlugin(plugin, plugin.meta.name, { expectedKind })).not.toThrow();
  });
  it(`${prefix}-002 accepts the given options and refuses an unknown key`, () => {
    expect(plugin.options.safeParse(options).success).toBe(true);
    if (typeof options === 'object' && options !== null && !Array.isArray(options)) {
      expect(plugin.options.safeParse({ ...options, definitelyNotAnOption: 1 }).success).toBe(false);
    }
  });
}

function signalShape(signal: Signal | SignalInput, exchange: string) {
  expect(INTENTS).toContain(signal.intent);
  expect(signal.exchange).toBe(exchange);
  expect(typeof signal.symbol).toBe('string');
  expect(signal.reasons.length).toBeGreaterThan(0);
  for (const entry of signal.reasons) {
    expect(entry.code).toMatch(CODE);
    expect(entry.message.length).toBeGreaterThan(0);
  }
  if (signal.intent === 'open') {
    expect(['buy', 'sell']).toContain(signal.side);
    expect(signal.quantity !== undefined || signal.notional !== undefined).toBe(true);
  }
}

const comparable = (signals: readonly Signal[]) =>
  signals.map((signal) => ({ ...signal, id: undefined, createdAt: signal.createdAt, cycle: signal.cycle }));

export interface StrategyContractOptions<Options> {
  readonly plugin: StrategyPlugin<Options>;
  /** Valid options, as a user would write them (they are parsed with the plugin's schema). */
  readonly options: unknown;
  /** Bars to replay on a FakeExchange with id `fake`; the strategy's options must trade `fake`. */
  readonly instruments: readonly ReplayInstrument[];
  /** Require at least one signal over the replay (proves the data reaches the strategy). Default true. */
  readonly expectSignals?: boolean;
}

/** The strategy contract: metadata, strict options, determinism, no shared state, well-formed signals. */
export function describeStrategyContract<Options>(
  name: string,
  contract: StrategyContractOptions<Options>,
): void {
  const parse = () => {
    const result = contract.plugin.options.safeParse(contract.options);
    if (!result.success) throw new Error('the contract options do not parse');
    return result.data;
  };
  describe(`strategy contract: ${name}`, () => {
    describePluginBasics('ST', contract.plugin, contract.options, 'strategy');

    it('ST-003 setup returns a strategy with an onCycle hook and survives a cycle with no data', async () => {
      const { engine } = await createTestEngine({
        strategies: [{ id: 'contract', create: (context) => contract.plugin.setup(context, parse()) }],
      });
      await expect(engine.runCycle()).resolves.toMatchObject({ ok: true });
    });

    it('ST-004 is deterministic: the same bars give the same signals', async () => {
      const first = await replayCandles(contract.plugin, parse(), contract.instruments);
      const second = await replayCandles(contract.plugin, parse(), contract.instruments);
      expect(comparable(second.signals)).toEqual(comparable(first.signals));
      if (contract.expectSignals ?? true) expect(first.signals.length).toBeGreaterThan(0);
    });

    it('ST-005 keeps state per instance: two instances side by side match two separate runs', async () => {
      const alone = await replayCandles(contract.plugin, parse(), contract.instruments);
      // Interleave: set up two instances before replaying either.
      const options = parse();
      const runs = await Promise.all([
        replayCandles(contract.plugin, options, contract.instruments),
        replayCandles(contract.plugin, options, contract.instruments),
      ]);
      for (const run of runs) expect(comparable(run.signals)).toEqual(comparable(alone.signals));
    });

    it('ST-006 emits well-formed signals: known intent, side and size for entries, coded reasons', async () => {
      const { signals } = await replayCandles(contract.plugin, parse(), contract.instruments);
      for (const signal of signals.filter((entry) => entry.strategyId === contract.plugin.meta.name))
        signalShape(signal, 'fake');
    });
  });
}

export interface RiskGateContractOptions<Options> {
  readonly plugin: RiskGatePlugin<Options>;
  readonly options: unknown;
}

/** The risk-gate contract: metadata, strict options, and decisions that are data with stable codes. */
export function describeRiskGateContract<Options>(
  name: string,
  contract: RiskGateContractOptions<Options>,
): void {
  describe(`risk gate contract: ${name}`, () => {
    describePluginBasics('RG', contract.plugin, contract.options, 'risk-gate');

    it('RG-003 answers allow, deny with a code, or a smaller resize, and never throws for a denial', async () => {
      const parsed = contract.plugin.options.safeParse(contract.options);
      if (!parsed.success) throw new Error('the contract options do not parse');
      const { engine } = await createTestEngine();
      const gate = contract.plugin.setup(setupContextFor(engine, 'contract'), parsed.data);
      expect(gate.name.length).toBeGreaterThan(0);
      for (const size of [0.01, 0.1, 10, 1000]) {
        for (const side of ['buy', 'sell'] as const) {
          const proposal = proposalFor(engine, {
            intent: 'open',
            exchange: 'fake',
            symbol: 'BTC',
            side,
            quantity: size,
            reasons: [{ code: 'TEST', message: 'contract' }],
          });
          const decision = await gate.evaluate(proposal, engine.state);
          expect(['allow', 'deny', 'resize']).toContain(decision.action);
          if (decision.action !== 'allow') {
            expect(decision.code).toMatch(CODE);
            expect(decision.message.length).toBeGreaterThan(0);
          }
          if (decision.action === 'resize') {
            expect(decision.quantity).toBeGreaterThanOrEqual(0);
            expect(decision.quantity).toBeLessThanOrEqual(proposal.quantity);
          }
        }
      }
    });
  });
}

export interface ExitRuleContractOptions<Options> {
  readonly plugin: ExitRulePlugin<Options>;
  readonly options: unknown;
  /** Positions to evaluate; defaults to a long and a short BTC position. */
  readonly positions?: readonly Partial<LedgerPosition>[];
}

/** The exit-rule contract: metadata, strict options, a valid layer, and coded decisions. */
export function describeExitRuleContract<Options>(
  name: string,
  contract: ExitRuleContractOptions<Options>,
): void {
  describe(`exit rule contract: ${name}`, () => {
    describePluginBasics('ER', contract.plugin, contract.options, 'exit-rule');

    it('ER-003 declares a layer and priority and decides with a code or not at all', async () => {
      const parsed = contract.plugin.options.safeParse(contract.options);
      if (!parsed.success) throw new Error('the contract options do not parse');
      const { engine } = await createTestEngine();
      const rule = contract.plugin.setup(setupContextFor(engine, 'contract'), parsed.data);
      expect([1, 2, 3]).toContain(rule.layer);
      expect(Number.isFinite(rule.priority)).toBe(true);
      const positions = contract.positions ?? [{ quantity: 1 }, { quantity: -1 }];
      for (const partial of positions) {
        const position: LedgerPosition = {
          exchange: 'fake',
          account: 'main',
          symbol: 'BTC',
          quantity: 1,
          entryPrice: 100,
          markPrice: 100,
          unrealizedPnl: 0,
          realizedPnl: 0,
          updatedAt: engine.state.now,
          fees: 0,
          fundingSettled: 0,
          openedAt: engine.state.now,
          entryReasons: ['TEST'],
          ...partial,
        };
        const decision = rule.evaluate(position, engine.state);
        if (decision) {
          expect(['close', 'reduce', 'rebalance']).toContain(decision.action);
          expect(decision.code).toMatch(CODE);
        }
      }
    });
  });
}

export interface MonitorContractOptions<Options> {
  readonly plugin: MonitorPlugin<Options>;
  readonly options: unknown;
}

/** The monitor contract: metadata, strict options, and well-formed reports. */
export function describeMonitorContract<Options>(
  name: string,
  contract: MonitorContractOptions<Options>,
): void {
  describe(`monitor contract: ${name}`, () => {
    describePluginBasics('MO', contract.plugin, contract.options, 'monitor');

    it('MO-003 reports coded alerts, valid phases and well-formed signals', async () => {
      const parsed = contract.plugin.options.safeParse(contract.options);
      if (!parsed.success) throw new Error('the contract options do not parse');
      const { engine } = await createTestEngine();
      const monitor = contract.plugin.setup(setupContextFor(engine, 'contract'), parsed.data);
      const report = await monitor.check(engine.state);
      for (const alert of report?.alerts ?? []) {
        expect(['info', 'warning', 'critical']).toContain(alert.level);
        expect(alert.code).toMatch(CODE);
      }
      if (report?.phase) expect(['active', 'reducing', 'halted']).toContain(report.phase.to);
      for (const signal of report?.signals ?? []) signalShape(signal, signal.exchange);
    });
  });
}
