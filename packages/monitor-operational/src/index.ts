import { type AlertInput, defineMonitor, duration, type MonitorReport, z } from '@perpkit/core';

export const OPERATIONAL_MONITOR_CODES = {
  STALE_DATA: 'no market data for an instrument for longer than maxAge',
  DATA_RECOVERED: 'market data flows again',
  CYCLE_FAILURES_REPEATED:
    'cycles failed warnAfter times in a row (the engine halts itself at its own limit)',
  CYCLES_RECOVERED: 'a cycle succeeded after repeated failures',
} as const;

export const staleDataOptions = z
  .object({
    interval: duration.default(5_000),
    /** Data older than this is stale. */
    maxAge: duration.default(60_000),
    /** Instruments to watch as `exchange:symbol`; by default those with open positions. */
    instruments: z.array(z.string().regex(/^[^:]+:.+$/, 'use exchange:symbol')).optional(),
    /** Phase held while any watched instrument is stale. */
    holdPhase: z.enum(['none', 'reducing', 'halted']).default('none'),
  })
  .strict();

/** Alerts (and optionally holds the phase) when market data stops arriving. */
export const staleData = defineMonitor({
  meta: {
    name: 'stale-data',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Stale market data',
  },
  options: staleDataOptions,
  setup(_context, options) {
    const stale = new Set<string>();
    let holding = false;
    return {
      name: 'stale-data',
      intervalMs: options.interval,
      check(state): MonitorReport {
        const alerts: AlertInput[] = [];
        const watched = options.instruments ?? [
          ...new Set(state.positions().map((position) => `${position.exchange}:${position.symbol}`)),
        ];
        for (const instrument of watched) {
          const [exchange, symbol] = instrument.split(/:(.*)/s) as [string, string];
          const updated = state.lastUpdate(exchange, symbol);
          const age = updated === undefined ? Number.POSITIVE_INFINITY : state.now - updated;
          const isStale = age > options.maxAge;
          if (isStale && !stale.has(instrument)) {
            stale.add(instrument);
            alerts.push({
              level: 'warning',
              code: 'STALE_DATA',
              message: `${instrument}: no market data for ${Number.isFinite(age) ? `${age} ms` : 'ever'} (max ${options.maxAge} ms)`,
              data: { instrument, age },
            });
          } else if (!isStale && stale.delete(instrument)) {
            alerts.push({
              level: 'info',
              code: 'DATA_RECOVERED',
              message: `${instrument}: market data flows again`,
            });
          }
        }
        for (const instrument of [...stale]) if (!watched.includes(instrument)) stale.delete(instrument);
        let phase: MonitorReport['phase'];
        if (options.holdPhase !== 'none') {
          if (stale.size > 0) {
            holding = true;
            phase = { to: options.holdPhase, reason: `stale data: ${[...stale].join(', ')}` };
          } else if (holding) {
            holding = false;
            phase = { to: 'active', reason: 'market data flows again' };
          }
        }
        return { alerts, phase };
      },
    };
  },
});

export const cycleFailuresOptions = z
  .object({
    interval: duration.default(0),
    /** Warn after this many failed cycles in a row. */
    warnAfter: z.number().int().positive().default(2),
  })
  .strict();

/**
 * Warns on repeated cycle failures before the engine's own limit halts it. A check sees the failed
 * cycles before the current one.
 */
export const cycleFailures = defineMonitor({
  meta: {
    name: 'cycle-failures',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Repeated cycle failures',
  },
  options: cycleFailuresOptions,
  setup(_context, options) {
    let warned = false;
    return {
      name: 'cycle-failures',
      intervalMs: options.interval,
      check(state): MonitorReport {
        const failures = state.consecutiveFailures;
        if (failures >= options.warnAfter && !warned) {
          warned = true;
          return {
            alerts: [
              {
                level: 'warning',
                code: 'CYCLE_FAILURES_REPEATED',
                message: `${failures} cycles in a row failed`,
                data: { failures },
              },
            ],
          };
        }
        if (failures === 0 && warned) {
          warned = false;
          return { alerts: [{ level: 'info', code: 'CYCLES_RECOVERED', message: 'cycles succeed again' }] };
        }
        return {};
      },
    };
  },
});

export const plugins = [staleData, cycleFailures];
export default plugins;
