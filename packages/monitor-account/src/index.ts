import {
  type AlertInput,
  defineMonitor,
  duration,
  type MonitorReport,
  type SignalInput,
  type StateView,
  z,
} from '@perpkit/core';
import { type Level, LevelTracker } from './levels';

export const ACCOUNT_MONITOR_CODES = {
  HEALTH_LOW: 'health ratio under warnBelow (warning)',
  HEALTH_CRITICAL: 'health ratio under criticalBelow (critical: reduce signals, phase hold)',
  HEALTH_RECOVERED: 'health back above warnBelow',
  MARGIN_UTILIZATION_HIGH: 'margin used / equity over warnAbove (warning)',
  MARGIN_UTILIZATION_CRITICAL:
    'margin used / equity over criticalAbove (critical: reduce signals, phase hold)',
  MARGIN_UTILIZATION_RECOVERED: 'margin utilization back under warnAbove',
  EXPOSURE_SYMBOL_LIMIT: 'a position is larger than maxPositionNotional (reduce signal for the excess)',
  EXPOSURE_TOTAL_LIMIT: 'gross notional is larger than maxTotalNotional (proportional reduce signals)',
  EXPOSURE_RECOVERED: 'exposure back within its limits',
  LIQUIDATION_NEAR: 'the mark is within warnBelow of the liquidation price (warning)',
  LIQUIDATION_IMMINENT: 'the mark is within criticalBelow of the liquidation price (critical: reduce signal)',
  LIQUIDATION_RECOVERED: 'liquidation distance back above warnBelow',
} as const;

const common = {
  /** How often to check, on the engine clock. */
  interval: duration.default(5_000),
  /** Exchanges to watch; all when left out. */
  exchanges: z.array(z.string()).optional(),
};

const inScope = (exchanges: readonly string[] | undefined, exchange: string) =>
  !exchanges || exchanges.includes(exchange);

/** Reduce signals for every position of an account, skipping instruments with an order in flight. */
function reduceAccount(
  state: StateView,
  exchange: string,
  account: string,
  fraction: number,
  code: string,
  message: string,
): SignalInput[] {
  if (!(fraction > 0)) return [];
  return state
    .positions()
    .filter(
      (position) =>
        position.exchange === exchange &&
        position.account === account &&
        !state.hasPendingOrder(exchange, position.symbol, account),
    )
    .map((position) => ({
      intent: 'reduce' as const,
      exchange,
      symbol: position.symbol,
      account,
      fraction,
      urgency: 'high' as const,
      reasons: [{ code, message }],
    }));
}

const phaseOptions = {
  /** Phase held while any account is critical (`none`: alerts and signals only). */
  holdPhase: z.enum(['none', 'reducing', 'halted']).default('reducing'),
  /** Share of each position to reduce per check while critical (0: no signals). */
  reduceFraction: z.number().min(0).max(1).default(0.25),
};

function phaseReport(
  holdPhase: 'none' | 'reducing' | 'halted',
  critical: boolean,
  wasHolding: { value: boolean },
  reason: string,
): MonitorReport['phase'] {
  if (holdPhase === 'none') return undefined;
  if (critical) {
    wasHolding.value = true;
    return { to: holdPhase, reason };
  }
  if (wasHolding.value) {
    wasHolding.value = false;
    return { to: 'active', reason: `${reason}: recovered` };
  }
  return undefined;
}

export const healthOptions = z
  .object({
    ...common,
    ...phaseOptions,
    /** Warning under this health ratio. */
    warnBelow: z.number().min(0).max(1).default(0.5),
    /** Critical under this health ratio. */
    criticalBelow: z.number().min(0).max(1).default(0.2),
    /** Emergency mode (halt and close everything) under this health ratio; off when left out. */
    emergencyBelow: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((options) => options.criticalBelow <= options.warnBelow, {
    message: 'criticalBelow must not be above warnBelow',
    path: ['criticalBelow'],
  });

/** Health ratio per account: warn under 50 %, critical under 20 % (reduce and hold the phase). */
export const health = defineMonitor({
  meta: {
    name: 'health',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Account health ratio',
  },
  options: healthOptions,
  setup(_context, options) {
    const levels = new LevelTracker();
    const holding = { value: false };
    return {
      name: 'health',
      intervalMs: options.interval,
      check(state): MonitorReport {
        const alerts: AlertInput[] = [];
        const signals: SignalInput[] = [];
        let emergency: string | undefined;
        for (const account of state.accounts()) {
          if (!inScope(options.exchanges, account.exchange)) continue;
          const ratio = account.healthRatio;
          const level: Level =
            ratio < options.criticalBelow ? 'critical' : ratio < options.warnBelow ? 'warning' : 'ok';
          const key = `${account.exchange}/${account.account}`;
          const message = `${key} health ${(ratio * 100).toFixed(1)}% (warn < ${options.warnBelow * 100}%, critical < ${options.criticalBelow * 100}%)`;
          const alert = levels.update(key, level, {
            code: level === 'critical' ? 'HEALTH_CRITICAL' : 'HEALTH_LOW',
            recoveredCode: 'HEALTH_RECOVERED',
            message,
            data: { exchange: account.exchange, account: account.account, healthRatio: ratio },
          });
          if (alert) alerts.push(alert);
          if (level === 'critical')
            signals.push(
              ...reduceAccount(
                state,
                account.exchange,
                account.account,
                options.reduceFraction,
                'HEALTH_CRITICAL',
                message,
              ),
            );
          if (options.emergencyBelow !== undefined && ratio < options.emergencyBelow)
            emergency = `${key} health ${(ratio * 100).toFixed(1)}% under ${options.emergencyBelow * 100}%`;
        }
        return {
          alerts,
          signals,
          phase: phaseReport(options.holdPhase, levels.anyCritical(), holding, 'health critical'),
          emergency,
        };
      },
    };
  },
});

export const marginOptions = z
  .object({
    ...common,
    ...phaseOptions,
    /** Warning over this utilization (margin used / equity). */
    warnAbove: z.number().positive().default(0.6),
    /** Critical over this utilization. */
    criticalAbove: z.number().positive().default(0.8),
  })
  .strict()
  .refine((options) => options.criticalAbove >= options.warnAbove, {
    message: 'criticalAbove must not be below warnAbove',
    path: ['criticalAbove'],
  });

/** Margin utilization per account (margin used / equity). */
export const margin = defineMonitor({
  meta: {
    name: 'margin',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Margin utilization',
  },
  options: marginOptions,
  setup(_context, options) {
    const levels = new LevelTracker();
    const holding = { value: false };
    return {
      name: 'margin',
      intervalMs: options.interval,
      check(state): MonitorReport {
        const alerts: AlertInput[] = [];
        const signals: SignalInput[] = [];
        for (const account of state.accounts()) {
          if (!inScope(options.exchanges, account.exchange)) continue;
          const utilization =
            account.equity > 0
              ? account.marginUsed / account.equity
              : account.marginUsed > 0
                ? Number.POSITIVE_INFINITY
                : 0;
          const level: Level =
            utilization > options.criticalAbove
              ? 'critical'
              : utilization > options.warnAbove
                ? 'warning'
                : 'ok';
          const key = `${account.exchange}/${account.account}`;
          const message = `${key} margin utilization ${(utilization * 100).toFixed(1)}% (warn > ${options.warnAbove * 100}%, critical > ${options.criticalAbove * 100}%)`;
          const alert = levels.update(key, level, {
            code: level === 'critical' ? 'MARGIN_UTILIZATION_CRITICAL' : 'MARGIN_UTILIZATION_HIGH',
            recoveredCode: 'MARGIN_UTILIZATION_RECOVERED',
            message,
            data: { utilization },
          });
          if (alert) alerts.push(alert);
          if (level === 'critical')
            signals.push(
              ...reduceAccount(
                state,
                account.exchange,
                account.account,
                options.reduceFraction,
                'MARGIN_UTILIZATION_CRITICAL',
                message,
              ),
            );
        }
        return {
          alerts,
          signals,
          phase: phaseReport(options.holdPhase, levels.anyCritical(), holding, 'margin utilization critical'),
        };
      },
    };
  },
});

export const exposureMonitorOptions = z
  .object({
    ...common,
    /** Largest notional per position. */
    maxPositionNotional: z.number().positive().optional(),
    /** Largest gross notional over the watched exchanges. */
    maxTotalNotional: z.number().positive().optional(),
    /** Send reduce signals for the excess (off: alerts only). */
    reduce: z.boolean().default(true),
  })
  .strict();

/** Exposure per symbol and in total; reduce signals bring it back within the limits. */
export const exposure = defineMonitor({
  meta: {
    name: 'exposure',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Exposure per symbol and in total',
  },
  options: exposureMonitorOptions,
  setup(_context, options) {
    const levels = new LevelTracker();
    return {
      name: 'exposure',
      intervalMs: options.interval,
      check(state): MonitorReport {
        const alerts: AlertInput[] = [];
        const signals: SignalInput[] = [];
        const positions = state
          .positions()
          .filter((position) => inScope(options.exchanges, position.exchange));
        const reduced = new Set<string>();
        for (const position of positions) {
          if (options.maxPositionNotional === undefined) break;
          const notional = Math.abs(position.quantity * position.markPrice);
          const key = `${position.exchange}/${position.account}/${position.symbol}`;
          const over = notional > options.maxPositionNotional;
          const message = `${key} notional ${notional.toFixed(2)} over ${options.maxPositionNotional}`;
          const alert = levels.update(key, over ? 'warning' : 'ok', {
            code: 'EXPOSURE_SYMBOL_LIMIT',
            recoveredCode: 'EXPOSURE_RECOVERED',
            message,
            data: { notional },
          });
          if (alert) alerts.push(alert);
          if (
            over &&
            options.reduce &&
            !state.hasPendingOrder(position.exchange, position.symbol, position.account)
          ) {
            reduced.add(key);
            signals.push({
              intent: 'reduce',
              exchange: position.exchange,
              symbol: position.symbol,
              account: position.account,
              quantity: (notional - options.maxPositionNotional) / position.markPrice,
              urgency: 'high',
              reasons: [{ code: 'EXPOSURE_SYMBOL_LIMIT', message }],
            });
          }
        }
        if (options.maxTotalNotional !== undefined) {
          const gross = positions.reduce(
            (sum, position) => sum + Math.abs(position.quantity * position.markPrice),
            0,
          );
          const over = gross > options.maxTotalNotional;
          const message = `gross notional ${gross.toFixed(2)} over ${options.maxTotalNotional}`;
          const alert = levels.update('(total)', over ? 'warning' : 'ok', {
            code: 'EXPOSURE_TOTAL_LIMIT',
            recoveredCode: 'EXPOSURE_RECOVERED',
            message,
            data: { gross },
          });
          if (alert) alerts.push(alert);
          if (over && options.reduce) {
            const fraction = (gross - options.maxTotalNotional) / gross;
            for (const position of positions) {
              const key = `${position.exchange}/${position.account}/${position.symbol}`;
              if (
                reduced.has(key) ||
                state.hasPendingOrder(position.exchange, position.symbol, position.account)
              )
                continue;
              signals.push({
                intent: 'reduce',
                exchange: position.exchange,
                symbol: position.symbol,
                account: position.account,
                fraction,
                urgency: 'high',
                reasons: [{ code: 'EXPOSURE_TOTAL_LIMIT', message }],
              });
            }
          }
        }
        return { alerts, signals };
      },
    };
  },
});

export const liquidationOptions = z
  .object({
    ...common,
    /** Warning when the mark is within this fraction of the liquidation price. */
    warnBelow: z.number().positive().max(1).default(0.15),
    /** Critical within this fraction. */
    criticalBelow: z.number().positive().max(1).default(0.05),
    /** Share of the position to reduce per check while critical (0: no signals). */
    reduceFraction: z.number().min(0).max(1).default(0.5),
  })
  .strict()
  .refine((options) => options.criticalBelow <= options.warnBelow, {
    message: 'criticalBelow must not be above warnBelow',
    path: ['criticalBelow'],
  });

/** Distance of each position's mark from its liquidation price. */
export const liquidationDistance = defineMonitor({
  meta: {
    name: 'liquidation-distance',
    kind: 'monitor',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Distance to liquidation',
  },
  options: liquidationOptions,
  setup(_context, options) {
    const levels = new LevelTracker();
    return {
      name: 'liquidation-distance',
      intervalMs: options.interval,
      check(state): MonitorReport {
        const alerts: AlertInput[] = [];
        const signals: SignalInput[] = [];
        for (const position of state.positions()) {
          if (
            !inScope(options.exchanges, position.exchange) ||
            position.liquidationPrice === undefined ||
            !(position.markPrice > 0)
          )
            continue;
          const distance = Math.abs(position.markPrice - position.liquidationPrice) / position.markPrice;
          const level: Level =
            distance < options.criticalBelow ? 'critical' : distance < options.warnBelow ? 'warning' : 'ok';
          const key = `${position.exchange}/${position.account}/${position.symbol}`;
          const message = `${key} mark ${position.markPrice} is ${(distance * 100).toFixed(2)}% from liquidation at ${position.liquidationPrice.toFixed(2)}`;
          const alert = levels.update(key, level, {
            code: level === 'critical' ? 'LIQUIDATION_IMMINENT' : 'LIQUIDATION_NEAR',
            recoveredCode: 'LIQUIDATION_RECOVERED',
            message,
            data: { distance },
          });
          if (alert) alerts.push(alert);
          if (
            level === 'critical' &&
            options.reduceFraction > 0 &&
            !state.hasPendingOrder(position.exchange, position.symbol, position.account)
          ) {
            signals.push({
              intent: 'reduce',
              exchange: position.exchange,
              symbol: position.symbol,
              account: position.account,
              fraction: options.reduceFraction,
              urgency: 'high',
              reasons: [{ code: 'LIQUIDATION_IMMINENT', message }],
            });
          }
        }
        return { alerts, signals };
      },
    };
  },
});

export const plugins = [health, margin, exposure, liquidationDistance];
export default plugins;
