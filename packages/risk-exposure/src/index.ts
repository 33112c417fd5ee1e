import { allow, defineRiskGate, deny, type RiskDecision, resize, z } from '@perpkit/core';

export const exposureOptions = z
  .object({
    /** Largest order notional (quote). */
    maxOrderNotional: z.number().positive().optional(),
    /** Largest order notional as a fraction of the account's live equity (clamps `maxOrderNotional`). */
    maxOrderEquityFraction: z.number().positive().optional(),
    /** Largest position notional per symbol after the trade. */
    maxPositionNotional: z.number().positive().optional(),
    /** Largest gross notional after the trade (over `scope`). */
    maxTotalNotional: z.number().positive().optional(),
    /** Most open positions at once (over `scope`); a new position beyond it is denied. */
    maxPositions: z.number().int().positive().optional(),
    /** Largest account leverage after the trade (gross notional / equity). */
    maxLeverage: z.number().positive().optional(),
    /** Smallest account health ratio after the trade (1 − maintenance / equity). */
    minHealthRatio: z.number().min(0).max(1).optional(),
    /** Maintenance margin rate used to estimate health after the trade. */
    maintenanceMarginRate: z.number().min(0).max(1).default(0.05),
    /** Count totals and positions per account, or over every account. */
    scope: z.enum(['account', 'all']).default('account'),
    /** Shrink an order to fit a notional, leverage or health limit instead of denying it. */
    resize: z.boolean().default(true),
  })
  .strict();

export type ExposureOptions = z.output<typeof exposureOptions>;

export const EXPOSURE_CODES = {
  EXPOSURE_ORDER_NOTIONAL: 'the order is larger than maxOrderNotional or maxOrderEquityFraction × equity',
  EXPOSURE_POSITION_NOTIONAL: 'the position would exceed maxPositionNotional',
  EXPOSURE_TOTAL_NOTIONAL: 'gross notional would exceed maxTotalNotional',
  EXPOSURE_MAX_POSITIONS: 'a new position beyond maxPositions',
  EXPOSURE_LEVERAGE: 'account leverage would exceed maxLeverage',
  EXPOSURE_HEALTH: 'account health would fall below minHealthRatio',
  EXPOSURE_NO_ACCOUNT: 'no account data to check an equity-based limit against (fails closed)',
} as const;

type Code = keyof typeof EXPOSURE_CODES;

/**
 * Size and exposure limits on entries. Each limit gives the largest quantity it allows; the order
 * passes when it fits all of them, is resized to the tightest when `resize` is on, or is denied
 * with the binding limit's code. Risk-reducing orders always pass.
 */
export default defineRiskGate({
  meta: {
    name: 'exposure',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Order, position, total, leverage and health limits',
  },
  options: exposureOptions,
  setup(_context, options) {
    const equityBased =
      options.maxOrderEquityFraction !== undefined ||
      options.maxLeverage !== undefined ||
      options.minHealthRatio !== undefined;
    return {
      name: 'exposure',
      evaluate(proposal, state): RiskDecision {
        if (proposal.riskReducing) return allow();
        const { exchange, request, referencePrice: price } = proposal;
        const account = state.account(exchange, request.account);
        if (equityBased && (!account || !(account.equity > 0))) {
          return deny('EXPOSURE_NO_ACCOUNT', `no positive equity known for ${exchange}/${request.account}`);
        }
        const direction = request.side === 'buy' ? 1 : -1;
        const position = state.position(exchange, request.symbol, request.account)?.quantity ?? 0;
        const inScope = state
          .positions()
          .filter(
            (entry) =>
              options.scope === 'all' || (entry.exchange === exchange && entry.account === request.account),
          );
        const otherGross = inScope
          .filter(
            (entry) =>
              !(
                entry.exchange === exchange &&
                entry.symbol === request.symbol &&
                entry.account === request.account
              ),
          )
          .reduce((sum, entry) => sum + Math.abs(entry.quantity * entry.markPrice), 0);
        // Largest size such that |position + direction × q| × price ≤ limit.
        const fitPosition = (limitNotional: number) => limitNotional / price - direction * position;

        const limits: { code: Code; quantity: number; detail: string }[] = [];
        const equity = account?.equity ?? 0;
        if (options.maxOrderNotional !== undefined || options.maxOrderEquityFraction !== undefined) {
          const cap = Math.min(
            options.maxOrderNotional ?? Number.POSITIVE_INFINITY,
            (options.maxOrderEquityFraction ?? Number.POSITIVE_INFINITY) * equity,
          );
          limits.push({
            code: 'EXPOSURE_ORDER_NOTIONAL',
            quantity: cap / price,
            detail: `order notional cap ${cap.toFixed(2)}`,
          });
        }
        if (options.maxPositionNotional !== undefined) {
          limits.push({
            code: 'EXPOSURE_POSITION_NOTIONAL',
            quantity: fitPosition(options.maxPositionNotional),
            detail: `position cap ${options.maxPositionNotional}`,
          });
        }
        if (options.maxTotalNotional !== undefined) {
          limits.push({
            code: 'EXPOSURE_TOTAL_NOTIONAL',
            quantity: fitPosition(options.maxTotalNotional - otherGross),
            detail: `gross cap ${options.maxTotalNotional}`,
          });
        }
        if (options.maxLeverage !== undefined) {
          limits.push({
            code: 'EXPOSURE_LEVERAGE',
            quantity: fitPosition(options.maxLeverage * equity - otherGross),
            detail: `leverage cap ${options.maxLeverage}×`,
          });
        }
        if (options.minHealthRatio !== undefined && account) {
          const rate = options.maintenanceMarginRate;
          const otherMaintenance = Math.max(0, account.maintenanceMargin - Math.abs(position) * price * rate);
          const roomNotional =
            rate > 0
              ? ((1 - options.minHealthRatio) * equity - otherMaintenance) / rate
              : Number.POSITIVE_INFINITY;
          limits.push({
            code: 'EXPOSURE_HEALTH',
            quantity: fitPosition(roomNotional),
            detail: `health floor ${options.minHealthRatio}`,
          });
        }
        if (options.maxPositions !== undefined && position === 0) {
          const open = inScope.filter((entry) => entry.quantity !== 0).length;
          if (open >= options.maxPositions)
            return deny(
              'EXPOSURE_MAX_POSITIONS',
              `${open} open positions reach the limit of ${options.maxPositions}`,
            );
        }

        let binding: (typeof limits)[number] | undefined;
        for (const limit of limits)
          if (limit.quantity < proposal.quantity && (!binding || limit.quantity < binding.quantity))
            binding = limit;
        if (!binding) return allow();
        const message = `${request.side} ${proposal.quantity} ${request.symbol} (notional ${proposal.notional.toFixed(2)}) exceeds the ${binding.detail}`;
        if (options.resize && binding.quantity > 0)
          return resize(binding.quantity, binding.code, `${message}; resized to ${binding.quantity}`);
        return deny(binding.code, message);
      },
    };
  },
});
