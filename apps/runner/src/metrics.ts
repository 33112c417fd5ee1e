import type { Engine } from '@perpkit/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const PHASES = ['active', 'reducing', 'halted'] as const;

/**
 * Prometheus metrics of one engine, in a registry of their own (never the global one, so two
 * runners in one process do not collide). Counters follow events; gauges are read at scrape time.
 */
export function createMetrics(
  engine: Engine,
  extras: { storePending?: () => number; replayBars?: () => number } = {},
): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ run_id: engine.runId });

  const cycleDuration = new Histogram({
    name: 'perpkit_cycle_duration_seconds',
    help: 'Wall-clock duration of engine cycles.',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const cycles = new Counter({
    name: 'perpkit_cycles_total',
    help: 'Engine cycles, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const orders = new Counter({
    name: 'perpkit_orders_total',
    help: 'Orders by outcome: submitted, failed (venue said no), dry_run.',
    labelNames: ['exchange', 'outcome'],
    registers: [registry],
  });
  const fills = new Counter({
    name: 'perpkit_fills_total',
    help: 'Fills applied to the ledger.',
    labelNames: ['exchange', 'liquidity'],
    registers: [registry],
  });
  const denials = new Counter({
    name: 'perpkit_denials_total',
    help: 'Orders denied before the venue, by gate and reason code.',
    labelNames: ['gate', 'code'],
    registers: [registry],
  });
  const alerts = new Counter({
    name: 'perpkit_alerts_total',
    help: 'Alerts raised, by level and code.',
    labelNames: ['level', 'code'],
    registers: [registry],
  });

  engine.events.on('cycle', (report) => {
    cycleDuration.observe(report.durationMs / 1000);
    cycles.inc({ outcome: report.ok ? 'ok' : 'failed' });
  });
  engine.events.on('order:submitted', (event) =>
    orders.inc({ exchange: event.proposal.exchange, outcome: 'submitted' }),
  );
  engine.events.on('order:failed', (event) =>
    orders.inc({ exchange: event.proposal.exchange, outcome: 'failed' }),
  );
  engine.events.on('order:dry-run', (event) =>
    orders.inc({ exchange: event.proposal.exchange, outcome: 'dry_run' }),
  );
  engine.events.on('fill', (fill) => fills.inc({ exchange: fill.exchange, liquidity: fill.liquidity }));
  engine.events.on('order:denied', (event) => denials.inc({ gate: event.gate, code: event.code }));
  engine.events.on('alert', (alert) => alerts.inc({ level: alert.level, code: alert.code }));

  new Gauge({
    name: 'perpkit_equity',
    help: 'Account equity in the quote asset.',
    labelNames: ['exchange', 'account'],
    registers: [registry],
    collect() {
      this.reset();
      for (const account of engine.state.accounts())
        this.set({ exchange: account.exchange, account: account.account }, account.equity);
    },
  });
  new Gauge({
    name: 'perpkit_health_ratio',
    help: 'Account health ratio: 1 − maintenance margin / equity (0 at liquidation).',
    labelNames: ['exchange', 'account'],
    registers: [registry],
    collect() {
      this.reset();
      for (const account of engine.state.accounts())
        this.set({ exchange: account.exchange, account: account.account }, account.healthRatio);
    },
  });
  new Gauge({
    name: 'perpkit_leverage',
    help: 'Account leverage: position notional / equity.',
    labelNames: ['exchange', 'account'],
    registers: [registry],
    collect() {
      this.reset();
      for (const account of engine.state.accounts())
        this.set({ exchange: account.exchange, account: account.account }, account.leverage);
    },
  });
  new Gauge({
    name: 'perpkit_funding_pnl',
    help: 'Funding in the quote asset: settled since start, and accrued on open positions.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      let accrued = 0;
      for (const position of engine.state.positions()) accrued += position.fundingAccrued ?? 0;
      this.set({ kind: 'settled' }, engine.ledger.totals.fundingSettled);
      this.set({ kind: 'accrued' }, accrued);
    },
  });
  new Gauge({
    name: 'perpkit_fees_paid',
    help: 'Trading fees paid since start, in the quote asset.',
    registers: [registry],
    collect() {
      this.set(engine.ledger.totals.fees);
    },
  });
  new Gauge({
    name: 'perpkit_realized_pnl',
    help: 'Price PnL realized since start (fees and funding excluded).',
    registers: [registry],
    collect() {
      this.set(engine.ledger.totals.realizedPnl);
    },
  });
  new Gauge({
    name: 'perpkit_open_positions',
    help: 'Open positions in the ledger.',
    registers: [registry],
    collect() {
      this.set(engine.state.positions().length);
    },
  });
  new Gauge({
    name: 'perpkit_phase',
    help: 'Trading phase: 1 for the current phase, 0 for the others.',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      for (const phase of PHASES) this.set({ phase }, engine.phase === phase ? 1 : 0);
    },
  });
  new Gauge({
    name: 'perpkit_paused',
    help: '1 while strategies are paused by the operator.',
    registers: [registry],
    collect() {
      this.set(engine.pausedState ? 1 : 0);
    },
  });
  new Gauge({
    name: 'perpkit_last_cycle_age_seconds',
    help: 'Engine-clock seconds since the last finished cycle.',
    registers: [registry],
    collect() {
      const last = engine.lastCycleAt;
      if (last !== undefined) this.set((engine.clock.now() - last) / 1000);
    },
  });
  if (extras.storePending) {
    const pending = extras.storePending;
    new Gauge({
      name: 'perpkit_store_pending_records',
      help: 'Audit records queued but not yet committed.',
      registers: [registry],
      collect() {
        this.set(pending());
      },
    });
  }
  if (extras.replayBars) {
    const bars = extras.replayBars;
    new Gauge({
      name: 'perpkit_replay_bars',
      help: 'Bars fed by the replay so far.',
      registers: [registry],
      collect() {
        this.set(bars());
      },
    });
  }
  return registry;
}
