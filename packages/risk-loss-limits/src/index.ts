import { allow, defineRiskGate, deny, type RiskDecision, totalEquity, z } from '@perpkit/core';

const DAY = 86_400_000;

export const lossLimitsOptions = z
  .object({
    /** Largest loss allowed in one trading day, in the quote asset. */
    dailyLossCap: z.number().positive().optional(),
    /** Largest daily loss as a fraction of the day's starting equity (0.03 = 3 %). */
    dailyLossCapFraction: z.number().positive().max(1).optional(),
    /**
     * Phase while the daily cap is hit; released when the next trading day starts. `reducing`
     * (the default) stops new entries and lets every risk-reducing order through.
     */
    dailyAction: z.enum(['reducing', 'halted']).default('reducing'),
    /** Circuit breaker: largest fall from the equity peak, as a fraction (0.2 = 20 %). */
    maxDrawdown: z.number().positive().max(1).optional(),
    /** Phase while the breaker is tripped; only the operator resets it (setting the phase active). */
    drawdownAction: z.enum(['reducing', 'halted']).default('halted'),
    /** Hour (UTC) a trading day starts. */
    dayStartHourUtc: z.number().int().min(0).max(23).default(0),
    /** Exchanges whose accounts count; all when left out. */
    exchanges: z.array(z.string()).optional(),
  })
  .strict()
  .refine(
    (options) =>
      options.dailyLossCap !== undefined ||
      options.dailyLossCapFraction !== undefined ||
      options.maxDrawdown !== undefined,
    {
      message: 'set dailyLossCap, dailyLossCapFraction or maxDrawdown',
    },
  );

export type LossLimitsOptions = z.output<typeof lossLimitsOptions>;

export const LOSS_LIMIT_CODES = {
  LOSS_DAILY_CAP: "the day's loss reached the daily cap: entries are denied until the next trading day",
  LOSS_DRAWDOWN_BREAKER:
    'equity fell from its peak by maxDrawdown: entries are denied until the operator resets',
} as const;

/** What the gate remembers across restarts (plugin memory key `state`). */
interface Remembered {
  readonly day: number;
  readonly dayStartEquity: number;
  readonly peak: number | null;
  readonly dailyHit: string | null;
  readonly drawdownHit: string | null;
}

const MEMORY_KEY = 'state';

/**
 * Loss limits over live equity (all accounts in scope): a daily loss cap that resets when the next
 * trading day starts, and a drawdown circuit breaker from the equity peak that only the operator
 * resets. Each holds the engine's phase at its action (`reducing` or `halted`) while tripped, and
 * denies entries; risk-reducing orders are left to the phase. The day's baseline, the peak and
 * both trips are kept in plugin memory, so a restart does not forget a tripped breaker.
 */
export default defineRiskGate({
  meta: {
    name: 'loss-limits',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Daily loss cap and drawdown breaker',
  },
  options: lossLimitsOptions,
  setup(context, options) {
    const remembered = context.memory.get<Remembered>(MEMORY_KEY);
    let day = remembered?.day ?? Number.NaN;
    let dayStartEquity = remembered?.dayStartEquity ?? 0;
    let peak = remembered?.peak ?? Number.NEGATIVE_INFINITY;
    let dailyHit: string | undefined = remembered?.dailyHit ?? undefined;
    let drawdownHit: string | undefined = remembered?.drawdownHit ?? undefined;
    let lastEquity: number | undefined;

    const save = () => {
      const value: Remembered = {
        day,
        dayStartEquity,
        peak: Number.isFinite(peak) ? peak : null,
        dailyHit: dailyHit ?? null,
        drawdownHit: drawdownHit ?? null,
      };
      context.memory.set(MEMORY_KEY, value);
    };

    // The operator's resume (phase set to active by hand) resets the breaker and the peak.
    context.events.on('phase', (change) => {
      if (change.source === 'operator' && change.to === 'active' && drawdownHit !== undefined) {
        drawdownHit = undefined;
        if (lastEquity !== undefined) peak = lastEquity;
        save();
      }
    });

    const review = (now: number, equity: number) => {
      lastEquity = equity;
      let changed = false;
      const today = Math.floor((now - options.dayStartHourUtc * 3_600_000) / DAY);
      if (today !== day) {
        day = today;
        dayStartEquity = equity;
        dailyHit = undefined;
        changed = true;
      }
      if (equity > peak) {
        peak = equity;
        changed = true;
      }
      const loss = dayStartEquity - equity;
      const caps: number[] = [];
      if (options.dailyLossCap !== undefined) caps.push(options.dailyLossCap);
      if (options.dailyLossCapFraction !== undefined)
        caps.push(options.dailyLossCapFraction * dayStartEquity);
      if (dailyHit === undefined && caps.length > 0) {
        const cap = Math.min(...caps);
        if (loss >= cap) {
          dailyHit = `day loss ${loss.toFixed(2)} reached the cap ${cap.toFixed(2)}`;
          changed = true;
        }
      }
      if (drawdownHit === undefined && options.maxDrawdown !== undefined && peak > 0) {
        const drawdown = (peak - equity) / peak;
        if (drawdown >= options.maxDrawdown) {
          drawdownHit = `drawdown ${(drawdown * 100).toFixed(2)}% from the peak ${peak.toFixed(2)} reached ${(options.maxDrawdown * 100).toFixed(2)}%`;
          changed = true;
        }
      }
      if (changed) save();
    };

    const strictest = ():
      | { to: 'reducing' | 'halted'; reason: string; code: keyof typeof LOSS_LIMIT_CODES }
      | undefined => {
      const hits: { to: 'reducing' | 'halted'; reason: string; code: keyof typeof LOSS_LIMIT_CODES }[] = [];
      if (drawdownHit)
        hits.push({ to: options.drawdownAction, reason: drawdownHit, code: 'LOSS_DRAWDOWN_BREAKER' });
      if (dailyHit) hits.push({ to: options.dailyAction, reason: dailyHit, code: 'LOSS_DAILY_CAP' });
      return hits.find((hit) => hit.to === 'halted') ?? hits[0];
    };

    return {
      name: 'loss-limits',
      update(state) {
        const equity = totalEquity(state, options.exchanges);
        if (equity !== undefined) review(state.now, equity);
        const hit = strictest();
        // Without equity (accounts not read yet after a restart) a remembered trip still holds.
        if (equity === undefined && !hit) return undefined;
        return {
          phase: hit ? { to: hit.to, reason: hit.reason } : { to: 'active', reason: 'loss limits clear' },
        };
      },
      evaluate(proposal, state): RiskDecision {
        const equity = totalEquity(state, options.exchanges);
        if (equity !== undefined) review(state.now, equity);
        const hit = strictest();
        if (!hit || proposal.riskReducing) return allow();
        return deny(hit.code, hit.reason, { to: hit.to, reason: hit.reason });
      },
    };
  },
});
