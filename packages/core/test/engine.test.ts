import { describe, expect, it } from 'vitest';
import type { CycleFailure, CycleReport, OrderDeniedEvent, PhaseChange } from '../src/events';
import type { ExitDecision, ExitLayer, ExitRule } from '../src/exit';
import { allow, deny, type RiskDecision, resize } from '../src/risk';
import type { Signal, SignalInput } from '../src/signal';
import type { StateView } from '../src/state';
import { MemoryStore } from '../src/store';
import type { Alert } from '../src/types';
import { gate, rule, scripted, setup, spec, why } from './helpers';

describe('cycle ordering', () => {
  it('sends exits before entries and supersedes a strategy signal on the exiting position', async () => {
    let cycle = 0;
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('s', () => {
          cycle += 1;
          if (cycle === 1)
            return [
              {
                intent: 'open',
                exchange: 'fake',
                symbol: 'BTC',
                side: 'buy',
                quantity: 1,
                reasons: why('ENTER_BTC'),
              },
            ];
          if (cycle === 2) {
            return [
              {
                intent: 'open',
                exchange: 'fake',
                symbol: 'ETH',
                side: 'buy',
                quantity: 2,
                reasons: why('ENTER_ETH'),
              },
              {
                intent: 'open',
                exchange: 'fake',
                symbol: 'BTC',
                side: 'buy',
                quantity: 1,
                reasons: why('ADD_BTC'),
              },
            ];
          }
          return undefined;
        }),
      ],
      exitRules: [
        rule('stop', 2, 0, (state) =>
          state.cycle === 2 ? { action: 'close', code: 'STOP_HIT', message: 'stop' } : null,
        ),
      ],
    });
    await engine.runCycle();
    expect(engine.state.position('fake', 'BTC')?.quantity).toBe(1);
    exchange.requests.length = 0;
    await engine.runCycle();
    // The exit (a reduce-only BTC sell) goes out before the ETH entry; the BTC add never goes out.
    expect(
      exchange.requests.map((request) => `${request.side} ${request.symbol} ${request.reduceOnly}`),
    ).toEqual(['sell BTC true', 'buy ETH false']);
    const superseded = of<OrderDeniedEvent>('order:denied').find(
      (event) => event.code === 'SUPERSEDED_BY_EXIT',
    );
    expect(superseded?.signal.reasons[0]?.code).toBe('ADD_BTC');
    expect(engine.state.position('fake', 'BTC')).toBeUndefined();
  });

  it('runs every gate before anything is sent, and a denial stops the order', async () => {
    const order: string[] = [];
    const { engine, exchange, log } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 1, reasons: why('A') },
          { intent: 'open', exchange: 'fake', symbol: 'ETH', side: 'buy', quantity: 5, reasons: why('B') },
        ]),
      ],
      riskGates: [
        gate('first', () => {
          order.push('first');
          return allow();
        }),
        gate('cap', (quantity) => {
          order.push('cap');
          return quantity > 2 ? deny('TOO_BIG', 'over the cap') : allow();
        }),
      ],
    });
    await engine.runCycle();
    expect(order).toEqual(['first', 'cap', 'first', 'cap']);
    expect(exchange.requests.map((request) => request.symbol)).toEqual(['BTC']);
    const events = log.map((entry) => entry.event);
    const lastDecision = events.lastIndexOf('risk:decision');
    expect(events.indexOf('order:submitted')).toBeGreaterThan(lastDecision);
    const denial = log.find((entry) => entry.event === 'order:denied')?.data as OrderDeniedEvent;
    expect(denial).toMatchObject({ gate: 'cap', code: 'TOO_BIG' });
    expect(denial.proposal?.request.symbol).toBe('ETH');
  });

  it('an allow may carry a reason, which reaches the risk:decision stream; allow() stays reason-free', async () => {
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 1, reasons: why('A') },
        ]),
      ],
      riskGates: [
        gate('latency', () => allow('LATENCY_STALE', 'no recent measurement')),
        gate('plain', () => allow()),
      ],
    });
    await engine.runCycle();
    expect(exchange.requests).toHaveLength(1);
    const decisions = of<{ gate: string; decision: RiskDecision }>('risk:decision');
    expect(decisions.map((entry) => [entry.gate, entry.decision])).toEqual([
      ['phase', { action: 'allow' }],
      ['latency', { action: 'allow', code: 'LATENCY_STALE', message: 'no recent measurement' }],
      ['plain', { action: 'allow' }],
    ]);
    expect(allow()).toBe(allow()); // the shared frozen verdict
    expect(Object.isFrozen(allow('X'))).toBe(true);
  });

  it('applies a resize, re-rounded to the lot, and passes the smaller order to the next gate', async () => {
    let seenByNext = 0;
    const { engine, exchange } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 3, reasons: why('A') },
        ]),
      ],
      riskGates: [
        gate('shrink', () => resize(1.23456, 'MAX_SIZE', 'clamped')),
        gate('observe', (quantity) => {
          seenByNext = quantity;
          return allow();
        }),
      ],
    });
    await engine.runCycle();
    expect(seenByNext).toBe(1.234);
    expect(exchange.requests[0]?.quantity).toBe('1.234');
  });

  it('lets a group of legs pass or fail together', async () => {
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('hedge', () => [
          {
            intent: 'open',
            exchange: 'fake',
            symbol: 'BTC',
            side: 'buy',
            quantity: 1,
            groupId: 'g1',
            reasons: why('LEG_LONG'),
          },
          {
            intent: 'open',
            exchange: 'fake',
            symbol: 'ETH',
            side: 'sell',
            quantity: 9,
            groupId: 'g1',
            reasons: why('LEG_SHORT'),
          },
        ]),
      ],
      riskGates: [gate('cap', (quantity) => (quantity > 5 ? deny('TOO_BIG', 'over the cap') : allow()))],
    });
    await engine.runCycle();
    expect(exchange.requests).toEqual([]);
    expect(
      of<OrderDeniedEvent>('order:denied')
        .map((event) => event.code)
        .sort(),
    ).toEqual(['GROUP_LEG_DENIED', 'TOO_BIG']);
  });
});

describe('exit rules', () => {
  async function withPosition(rules: NonNullable<Parameters<typeof setup>[0]>['exitRules'], minHoldMs = 0) {
    let opened = false;
    const context = await setup({
      minHoldMs,
      strategies: [
        scripted('s', () => {
          if (opened) return undefined;
          opened = true;
          return [
            {
              intent: 'open',
              exchange: 'fake',
              symbol: 'BTC',
              side: 'buy',
              quantity: 2,
              reasons: why('ENTER'),
            },
          ];
        }),
      ],
      exitRules: rules,
    });
    await context.engine.runCycle();
    return context;
  }

  it('first hit wins: layer before priority, one decision per position per tick', async () => {
    const fired: string[] = [];
    const decide = (name: string, code: string) => () => {
      fired.push(name);
      return { action: 'close' as const, code, message: name };
    };
    const { engine, exchange, of } = await withPosition([
      rule('take-profit', 3, 0, decide('take-profit', 'TAKE_PROFIT')),
      rule('funding-flip', 2, 5, decide('funding-flip', 'FUNDING_FLIP')),
      rule('net-ev', 2, 1, decide('net-ev', 'NET_EV_NEGATIVE')),
    ]);
    fired.length = 0;
    exchange.requests.length = 0;
    await engine.runCycle();
    expect(fired).toEqual(['net-ev']);
    const exits = of<{ code: string; layer: number }>('exit');
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ code: 'NET_EV_NEGATIVE', layer: 2 });
    expect(exchange.requests).toHaveLength(1);
    expect(exchange.requests[0]).toMatchObject({ side: 'sell', quantity: '2', reduceOnly: true });
  });

  it('an emergency rule beats every economic one, and the minimum hold blocks only non-emergency layers', async () => {
    let brokenHedge = false;
    const { engine, clock, exchange, of } = await withPosition(
      [
        rule('net-ev', 2, 0, () => ({ action: 'close', code: 'NET_EV_NEGATIVE', message: 'ev' })),
        rule('broken-hedge', 1, 9, () =>
          brokenHedge ? { action: 'close', code: 'BROKEN_HEDGE', message: 'leg missing' } : null,
        ),
      ],
      60_000,
    );
    exchange.requests.length = 0;
    clock.advance(1000);
    await engine.runCycle();
    expect(exchange.requests).toHaveLength(0); // held 1 s < 60 s: the economic exit is blocked
    brokenHedge = true;
    await engine.runCycle();
    expect(of<{ code: string }>('exit').map((exit) => exit.code)).toEqual(['BROKEN_HEDGE']);
    const exitSignal = of<Signal>('signal').at(-1);
    expect(exitSignal?.urgency).toBe('emergency');
    expect(exchange.requests).toHaveLength(1);
  });

  it('a rebalance decision resizes instead of closing', async () => {
    const { engine, exchange } = await withPosition([
      rule('rebalance', 2, 0, () => ({
        action: 'rebalance',
        code: 'REBALANCE_LEGS',
        message: 'drift',
        targetQuantity: 1.5,
      })),
    ]);
    exchange.requests.length = 0;
    await engine.runCycle();
    expect(exchange.requests[0]).toMatchObject({ side: 'sell', quantity: '0.5', reduceOnly: true });
    expect(engine.state.position('fake', 'BTC')?.quantity).toBe(1.5);
  });
});

describe('phases', () => {
  it('reducing lets only risk-reducing orders through; halted only emergency ones', async () => {
    let script: () => ReturnType<Parameters<typeof scripted>[1]> = () => undefined;
    const { engine, exchange, of } = await setup({ strategies: [scripted('s', () => script())] });
    script = () => [
      { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 2, reasons: why('ENTER') },
    ];
    await engine.runCycle();

    engine.setPhase('reducing', 'test');
    exchange.requests.length = 0;
    script = () => [
      { intent: 'open', exchange: 'fake', symbol: 'ETH', side: 'buy', quantity: 1, reasons: why('ENTER') },
      { intent: 'reduce', exchange: 'fake', symbol: 'BTC', quantity: 1, reasons: why('TRIM') },
    ];
    await engine.runCycle();
    expect(exchange.requests.map((request) => request.symbol)).toEqual(['BTC']);
    expect(of<OrderDeniedEvent>('order:denied').map((event) => event.code)).toEqual(['PHASE_REDUCING']);

    engine.setPhase('halted', 'test');
    exchange.requests.length = 0;
    script = () => [{ intent: 'close', exchange: 'fake', symbol: 'BTC', reasons: why('EXIT') }];
    await engine.runCycle();
    expect(exchange.requests).toHaveLength(0);
    script = () => [
      { intent: 'close', exchange: 'fake', symbol: 'BTC', urgency: 'emergency', reasons: why('EXIT') },
    ];
    await engine.runCycle();
    expect(exchange.requests).toHaveLength(1);
    expect(engine.state.position('fake', 'BTC')).toBeUndefined();
    expect(of<PhaseChange>('phase').map((change) => `${change.from}>${change.to}`)).toEqual([
      'active>reducing',
      'reducing>halted',
    ]);
  });

  it('halted stops strategy orders (entries and their own reductions) but protective reductions execute', async () => {
    let script: (state: StateView) => readonly SignalInput[] | undefined = () => undefined;
    let monitorFires = false;
    let exitsFire = false;
    const exit = (name: string, layer: ExitLayer, symbol: string, decision: ExitDecision) =>
      spec<ExitRule>(name, {
        name,
        layer,
        priority: 0,
        evaluate: (position) => (exitsFire && position.symbol === symbol ? decision : null),
      });
    const { engine, of } = await setup({
      exchange: { markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }, { symbol: 'SOL' }] },
      strategies: [scripted('s', (state) => script(state))],
      exitRules: [
        exit('hard-stop', 1, 'ETH', {
          action: 'reduce',
          quantity: 1,
          code: 'HARD_STOP',
          message: 'stop',
          urgency: 'high',
        }),
        exit('take-profit', 2, 'BTC', { action: 'close', code: 'TAKE_PROFIT', message: 'tp' }),
      ],
      monitors: [
        spec('health', {
          name: 'health',
          check: () =>
            monitorFires
              ? {
                  signals: [
                    {
                      intent: 'reduce' as const,
                      exchange: 'fake',
                      symbol: 'BTC',
                      fraction: 0.25,
                      urgency: 'high' as const,
                      reasons: why('HEALTH_CRITICAL'),
                    },
                  ],
                }
              : undefined,
        }),
      ],
    });
    const open = (symbol: string, quantity: number): SignalInput => ({
      intent: 'open',
      exchange: 'fake',
      symbol,
      side: 'buy',
      quantity,
      reasons: why('ENTER'),
    });
    script = () => [open('BTC', 4), open('ETH', 4), open('SOL', 4)];
    await engine.runCycle();
    engine.setPhase('halted', 'operator halts');
    const quantity = (symbol: string) => engine.state.position('fake', symbol)?.quantity;

    // A strategy entry and the strategy's own reduction are both stopped; the monitor's high-urgency
    // reduction executes.
    script = () => [
      open('ETH', 1),
      { intent: 'reduce', exchange: 'fake', symbol: 'SOL', quantity: 1, reasons: why('TRIM') },
    ];
    monitorFires = true;
    await engine.runCycle();
    monitorFires = false;
    expect(quantity('BTC')).toBe(3);
    expect(quantity('ETH')).toBe(4);
    expect(quantity('SOL')).toBe(4);
    expect(
      of<OrderDeniedEvent>('order:denied').map((event) => `${event.signal.strategyId}:${event.code}`),
    ).toEqual(['s:PHASE_HALTED', 's:PHASE_HALTED']);

    // A layer-1 exit (urgency high) and the operator's normal-urgency reduction execute; a layer-2
    // exit is economic and waits.
    script = () => undefined;
    exitsFire = true;
    engine.enqueueSignal({
      intent: 'reduce',
      exchange: 'fake',
      symbol: 'SOL',
      quantity: 2,
      reasons: why('OPERATOR'),
    });
    await engine.runCycle();
    expect(quantity('ETH')).toBe(3);
    expect(quantity('SOL')).toBe(2);
    expect(quantity('BTC')).toBe(3);
    expect(
      of<OrderDeniedEvent>('order:denied')
        .slice(2)
        .map((event) => `${event.signal.strategyId}:${event.code}`),
    ).toEqual(['exit:take-profit:PHASE_HALTED']);
    expect(engine.phase).toBe('halted');
  });

  it('automatic requests only escalate; the operator may de-escalate', async () => {
    const { engine } = await setup();
    engine.requestPhase('halted', 'loss cap', 'gate:loss');
    engine.requestPhase('reducing', 'drawdown', 'gate:drawdown');
    expect(engine.phase).toBe('halted');
    engine.setPhase('active', 'resume', 'operator');
    expect(engine.phase).toBe('active');
  });

  it('a gate may switch the phase with its denial', async () => {
    const { engine, of } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 1, reasons: why('A') },
        ]),
      ],
      riskGates: [
        spec('loss', {
          name: 'loss',
          evaluate: () => deny('DAILY_LOSS_CAP', 'cap hit', { to: 'halted', reason: 'daily loss cap' }),
        }),
      ],
    });
    await engine.runCycle();
    expect(engine.phase).toBe('halted');
    expect(of<PhaseChange>('phase')[0]).toMatchObject({ to: 'halted', source: 'gate:loss' });
  });
});

describe('error containment', () => {
  it('contains a throwing strategy, counts the failed cycle and keeps other strategies trading', async () => {
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('broken', () => {
          throw new Error('boom');
        }),
        scripted('healthy', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 0.01, reasons: why('A') },
        ]),
      ],
    });
    const report = await engine.runCycle();
    expect(report.ok).toBe(false);
    expect(exchange.requests).toHaveLength(1);
    expect(of<CycleFailure>('cycle:error')[0]).toMatchObject({
      stage: 'strategy:broken',
      message: 'boom',
      consecutiveFailures: 1,
    });
    await expect(engine.runCycle()).resolves.toMatchObject({ ok: false });
    expect(engine.consecutiveFailures).toBe(2);
  });

  it('repeated failures trip the cycle-failure monitor: a critical alert and halt', async () => {
    let failing = true;
    const { engine, of } = await setup({
      maxConsecutiveFailures: 3,
      strategies: [
        scripted('flaky', () => {
          if (failing) throw new Error('venue parse error');
          return undefined;
        }),
      ],
    });
    await engine.runCycle();
    await engine.runCycle();
    expect(engine.phase).toBe('active');
    failing = false;
    await engine.runCycle();
    expect(engine.consecutiveFailures).toBe(0); // a good cycle resets the count
    failing = true;
    for (let index = 0; index < 3; index += 1) await engine.runCycle();
    expect(engine.phase).toBe('halted');
    const alert = of<Alert>('alert').find((entry) => entry.code === 'CYCLE_FAILURES');
    expect(alert).toMatchObject({ level: 'critical', source: 'monitor:cycle-failures' });
  });

  it('a throwing gate fails closed', async () => {
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 1, reasons: why('A') },
        ]),
      ],
      riskGates: [
        spec('buggy', {
          name: 'buggy',
          evaluate: () => {
            throw new TypeError('undefined is not a function');
          },
        }),
      ],
    });
    const report = await engine.runCycle();
    expect(exchange.requests).toHaveLength(0);
    expect(report.ok).toBe(false);
    expect(of<OrderDeniedEvent>('order:denied')[0]).toMatchObject({ gate: 'buggy', code: 'GATE_ERROR' });
  });

  it('a venue rejection is data, not a failed cycle', async () => {
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 1, reasons: why('A') },
        ]),
      ],
    });
    const { OrderRejectedError } = await import('../src/errors');
    exchange.failNext('submitOrder', new OrderRejectedError('INSUFFICIENT_MARGIN', 'not enough margin'));
    const report = await engine.runCycle();
    expect(report.ok).toBe(true);
    expect(of<{ code: string; reason: string }>('order:failed')[0]).toMatchObject({
      code: 'ORDER_REJECTED',
      reason: 'INSUFFICIENT_MARGIN',
    });
  });

  it('planner refusals are recorded denials with a reason code', async () => {
    const { engine, of } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'close', exchange: 'fake', symbol: 'BTC', reasons: why('EXIT') },
          {
            intent: 'open',
            exchange: 'fake',
            symbol: 'BTC',
            side: 'buy',
            quantity: 0.0001,
            reasons: why('DUST'),
          },
          {
            intent: 'open',
            exchange: 'fake',
            symbol: 'DOGE',
            side: 'buy',
            quantity: 1,
            reasons: why('NOPE'),
          },
        ]),
      ],
    });
    await engine.runCycle();
    expect(of<OrderDeniedEvent>('order:denied').map((event) => `${event.gate}:${event.code}`)).toEqual([
      'planner:NO_POSITION',
      'planner:BELOW_LOT',
      'planner:UNKNOWN_MARKET',
    ]);
  });
});

describe('monitors', () => {
  it('a monitor signal goes through gates and the executor; alerts and phase requests are recorded', async () => {
    let opened = false;
    const { engine, exchange, clock, of } = await setup({
      strategies: [
        scripted('s', () => {
          if (opened) return undefined;
          opened = true;
          return [
            {
              intent: 'open',
              exchange: 'fake',
              symbol: 'BTC',
              side: 'buy',
              quantity: 4,
              reasons: why('ENTER'),
            },
          ];
        }),
      ],
      monitors: [
        spec('health', {
          name: 'health',
          intervalMs: 10_000,
          check: (state) =>
            state.position('fake', 'BTC')
              ? {
                  alerts: [{ level: 'warning', code: 'HEALTH_LOW', message: 'health under 50%' }],
                  signals: [
                    {
                      intent: 'reduce',
                      exchange: 'fake',
                      symbol: 'BTC',
                      fraction: 0.5,
                      reasons: why('HEALTH_LOW'),
                    },
                  ],
                  phase: { to: 'reducing', reason: 'health' },
                }
              : undefined,
        }),
      ],
    });
    await engine.runCycle(); // opens; the monitor saw no position yet when it ran? It runs after execution.
    expect(engine.state.position('fake', 'BTC')?.quantity).toBe(2);
    expect(engine.phase).toBe('reducing');
    expect(of<Alert>('alert')[0]).toMatchObject({ code: 'HEALTH_LOW', source: 'monitor:health' });
    exchange.requests.length = 0;
    clock.advance(5000);
    await engine.runCycle(); // not due yet
    expect(exchange.requests).toHaveLength(0);
    clock.advance(5000);
    await engine.runCycle();
    expect(exchange.requests[0]).toMatchObject({ side: 'sell', quantity: '1', reduceOnly: true });
  });
});

describe('shutdown', () => {
  it('stops the loop once, cancels open orders, closes positions when configured, and flushes', async () => {
    const store = new MemoryStore();
    let stops = 0;
    const { engine, exchange, of } = await setup({
      store,
      cycleIntervalMs: 1000,
      shutdown: { cancelOpenOrders: true, closePositions: true, timeoutMs: 2000 },
      strategies: [
        spec('s', {
          onCycle: (state) =>
            state.cycle === 1
              ? [
                  {
                    intent: 'open',
                    exchange: 'fake',
                    symbol: 'BTC',
                    side: 'buy',
                    quantity: 1,
                    reasons: why('ENTER'),
                  },
                  {
                    intent: 'open',
                    exchange: 'fake',
                    symbol: 'ETH',
                    side: 'buy',
                    quantity: 1,
                    orderType: 'limit',
                    price: 50,
                    reasons: why('BID'),
                  },
                ]
              : undefined,
          onStop: () => {
            stops += 1;
          },
        }),
      ],
    });
    await engine.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(engine.state.openOrders('fake', 'ETH')).toHaveLength(1);
    const first = engine.stop('SIGTERM');
    const second = engine.stop('SIGINT');
    expect(second).toBe(first);
    const stopped = await first;
    expect(stopped).toMatchObject({ reason: 'SIGTERM', cancelledOrders: 1, closedPositions: 1 });
    expect(stops).toBe(1);
    expect(await exchange.fetchOpenOrders('main')).toHaveLength(0);
    expect(await exchange.fetchPositions('main')).toHaveLength(0);
    expect(exchange.closed).toBe(true);
    expect(of('engine:stop')).toHaveLength(1);
    expect(store.ofType('engine:stop')).toHaveLength(1);
    expect(store.ofType('signal').map((record) => record.data.reasons[0]?.code)).toContain('SHUTDOWN_CLOSE');
    expect(engine.isRunning).toBe(false);
    await expect(engine.start()).rejects.toThrow(/stopped/);
  });

  it('keeps positions open on stop unless configured to close them', async () => {
    const { engine, exchange } = await setup({
      strategies: [
        scripted('s', (state) =>
          state.cycle === 1
            ? [
                {
                  intent: 'open',
                  exchange: 'fake',
                  symbol: 'BTC',
                  side: 'buy',
                  quantity: 1,
                  reasons: why('A'),
                },
              ]
            : undefined,
        ),
      ],
    });
    await engine.runCycle();
    await engine.stop();
    expect((await exchange.fetchPositions('main'))[0]?.quantity).toBe(1);
  });
});

describe('boot reconciliation', () => {
  it('adopts positions and orders the venue holds and flags them', async () => {
    const { FakeExchange } = await import('./helpers');
    const exchange = new FakeExchange({ markets: [{ symbol: 'BTC' }] });
    exchange.setPosition('main', 'BTC', -0.5, 101);
    await exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'limit',
      price: '90',
      quantity: '0.1',
    });
    const { Engine } = await import('../src/engine/engine');
    const engine = new Engine({ mode: 'paper', exchanges: [exchange] });
    const alerts: Alert[] = [];
    engine.events.on('alert', (alert) => alerts.push(alert));
    await engine.init();
    expect(engine.state.position('fake', 'BTC')).toMatchObject({
      quantity: -0.5,
      entryPrice: 101,
      entryReasons: ['ADOPTED'],
    });
    expect(engine.state.openOrders()).toHaveLength(1);
    expect(alerts.map((alert) => alert.code).sort()).toEqual(['ORDER_ADOPTED', 'POSITION_ADOPTED']);
  });
});

describe('reports', () => {
  it('emits one report per cycle with counts', async () => {
    const { engine, of } = await setup({
      strategies: [
        scripted('s', () => [
          { intent: 'open', exchange: 'fake', symbol: 'BTC', side: 'buy', quantity: 50, reasons: why('A') },
        ]),
      ],
      riskGates: [gate('cap', () => deny('TOO_BIG', 'no'))],
    });
    await engine.runCycle();
    await engine.runCycle();
    const reports = of<CycleReport>('cycle');
    expect(reports.map((report) => [report.cycle, report.signals, report.orders, report.denials])).toEqual([
      [1, 1, 0, 1],
      [2, 1, 0, 1],
    ]);
  });
});

describe('phase holds, emergency mode and asynchronous gates', () => {
  it("a gate's update hook holds and releases its phase", async () => {
    let breached = false;
    const { engine, of } = await setup({
      riskGates: [
        spec('loss', {
          name: 'loss',
          evaluate: () => allow(),
          update: () => ({
            phase: breached
              ? { to: 'halted' as const, reason: 'daily loss cap' }
              : { to: 'active' as const, reason: 'new day' },
          }),
        }),
      ],
    });
    await engine.runCycle();
    expect(engine.phase).toBe('active');
    breached = true;
    await engine.runCycle();
    expect(engine.phase).toBe('halted');
    expect(engine.state.phaseHolds()).toEqual([
      expect.objectContaining({ source: 'gate:loss', phase: 'halted', reason: 'daily loss cap' }),
    ]);
    breached = false;
    await engine.runCycle();
    expect(engine.phase).toBe('active');
    expect(of<PhaseChange>('phase').map((change) => `${change.to}:${change.reason}`)).toEqual([
      'halted:daily loss cap',
      'active:new day',
    ]);
  });

  it('emergency mode halts and closes every position, past the halted phase', async () => {
    let trigger = false;
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('s', (state) =>
          state.cycle === 1
            ? [
                {
                  intent: 'open',
                  exchange: 'fake',
                  symbol: 'BTC',
                  side: 'buy',
                  quantity: 1,
                  reasons: why('A'),
                },
                {
                  intent: 'open',
                  exchange: 'fake',
                  symbol: 'ETH',
                  side: 'sell',
                  quantity: 2,
                  reasons: why('B'),
                },
              ]
            : [
                {
                  intent: 'open',
                  exchange: 'fake',
                  symbol: 'BTC',
                  side: 'buy',
                  quantity: 1,
                  reasons: why('MORE'),
                },
              ],
        ),
      ],
      monitors: [
        spec('guard', {
          name: 'guard',
          check: () => (trigger ? { emergency: 'venue insolvent' } : undefined),
        }),
      ],
    });
    await engine.runCycle();
    trigger = true;
    await engine.runCycle(); // the monitor calls the emergency at the end of this cycle
    trigger = false;
    await engine.runCycle(); // the emergency closes go out first; the strategy's entry is denied
    expect(engine.phase).toBe('halted');
    expect(await exchange.fetchPositions('main')).toEqual([]);
    expect(of<Alert>('alert').map((alert) => alert.code)).toContain('EMERGENCY');
    expect(of<OrderDeniedEvent>('order:denied').map((event) => event.code)).toEqual(['SUPERSEDED_BY_EXIT']);
    await engine.runCycle(); // afterwards, entries meet the halted phase
    expect(of<OrderDeniedEvent>('order:denied').map((event) => event.code)).toEqual([
      'SUPERSEDED_BY_EXIT',
      'PHASE_HALTED',
    ]);
    expect(
      of<Signal>('signal').filter((signal) => signal.reasons[0]?.code === 'EMERGENCY_CLOSE'),
    ).toHaveLength(2);
  });

  it('an asynchronous gate parks its order without blocking the loop; the order goes out on approval', async () => {
    const { engine, exchange, of } = await setup({
      strategies: [
        scripted('s', (state) =>
          state.hasPendingOrder('fake', 'BTC') || state.position('fake', 'BTC')
            ? undefined
            : [
                {
                  intent: 'open',
                  exchange: 'fake',
                  symbol: 'BTC',
                  side: 'buy',
                  quantity: 5,
                  reasons: why('BIG'),
                },
              ],
        ),
      ],
    });
    // A confirmation gate built on the engine's approval desk.
    const approvals: string[] = [];
    (engine as unknown as { riskGates: unknown[] }).riskGates.push({
      name: 'confirm',
      async evaluate() {
        const { id, decision } = engine.approvals.request({
          source: 'gate:confirm',
          summary: 'buy 5 BTC',
          timeoutMs: 60_000,
        });
        approvals.push(id);
        const outcome = await decision;
        return outcome.outcome === 'approved' ? allow() : deny('NOT_CONFIRMED', outcome.outcome);
      },
    });
    await engine.runCycle();
    expect(engine.approvals.pending()).toHaveLength(1);
    expect(engine.state.hasPendingOrder('fake', 'BTC')).toBe(true);
    await engine.runCycle(); // the loop goes on, and the strategy does not signal again
    await engine.runCycle();
    expect(approvals).toHaveLength(1);
    expect(exchange.requests).toHaveLength(0);
    engine.approvals.approve(approvals[0] as string, 'test');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(exchange.requests).toHaveLength(1);
    expect(engine.state.position('fake', 'BTC')?.quantity).toBe(5);
    expect(of<{ latencyMs: number }>('order:submitted')[0]?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(engine.state.latency('fake')?.samples).toBe(1);
  });

  it('an unanswered confirmation expires and the parked order is denied; shutdown expires open ones', async () => {
    const { engine, exchange, clock, of } = await setup({
      strategies: [
        scripted('s', (state) =>
          state.cycle === 1
            ? [
                {
                  intent: 'open',
                  exchange: 'fake',
                  symbol: 'BTC',
                  side: 'buy',
                  quantity: 1,
                  reasons: why('X'),
                },
              ]
            : undefined,
        ),
      ],
    });
    (engine as unknown as { riskGates: unknown[] }).riskGates.push({
      name: 'confirm',
      async evaluate() {
        const outcome = await engine.approvals.request({
          source: 'gate:confirm',
          summary: 'buy 1 BTC',
          timeoutMs: 30_000,
        }).decision;
        return outcome.outcome === 'approved'
          ? allow()
          : deny('NOT_CONFIRMED', `confirmation ${outcome.outcome}`);
      },
    });
    await engine.runCycle();
    clock.advance(30_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(exchange.requests).toHaveLength(0);
    expect(
      of<OrderDeniedEvent>('order:denied').map((event) => [event.gate, event.code, event.message]),
    ).toEqual([['confirm', 'NOT_CONFIRMED', 'confirmation expired']]);
    expect(engine.state.hasPendingOrder('fake', 'BTC')).toBe(false);
  });
});
