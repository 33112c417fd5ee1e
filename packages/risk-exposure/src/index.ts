import { allow, defineRiskGate, deny, type OrderProposal, type RiskDecision, resize, z } from '@perpkit/core';

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

const FINAL_STATUSES = new Set(['filled', 'cancelled', 'rejected', 'expired']);

/** An order this gate allowed that the venue does not show yet (not sent, or sent and filling). */
interface Reservation {
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  readonly direction: 1 | -1;
  readonly quantity: number;
  readonly price: number;
  readonly clientOrderId?: string;
  /** Filled so far (cumulative), as reported by fills already in the ledger. */
  filled: number;
  /** Sent, and final at the acknowledgement: only fills still to arrive keep it. */
  sent: boolean;
}

/** One instrument's exposure: the position plus entry orders that may still fill, each side apart. */
interface Exposure {
  readonly exchange: string;
  readonly account: string;
  readonly symbol: string;
  position: number;
  buys: number;
  sells: number;
  price: number;
}

/** The largest |position| the instrument can reach if every pending entry order of one side fills. */
const worstQuantity = (entry: Exposure) =>
  Math.max(Math.abs(entry.position + entry.buys), Math.abs(entry.position - entry.sells));
const isOpen = (entry: Exposure) => entry.position !== 0 || entry.buys > 0 || entry.sells > 0;

/**
 * Size and exposure limits on entries. Each limit gives the largest quantity it allows; the order
 * passes when it fits all of them, is resized to the tightest when `resize` is on, or is denied
 * with the binding limit's code. Risk-reducing orders always pass.
 *
 * Exposure counts what may still fill, not only positions: open entry orders (their unfilled
 * rest), and the orders this gate already allowed that the venue does not show yet. The engine
 * gates every order of a cycle before sending any, so without this three entries in one cycle
 * would each be judged against the positions from before the cycle. An allowed order stops
 * counting here when a later gate or the venue refuses it, when the venue shows it as an open
 * order, or when its fills are in the position.
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
  setup(context, options) {
    const equityBased =
      options.maxOrderEquityFraction !== undefined ||
      options.maxLeverage !== undefined ||
      options.minHealthRatio !== undefined;

    const reservations = new Map<string, Reservation>(); // by proposal id
    const byClientOrderId = new Map<string, string>();
    const release = (proposalId: string) => {
      const reservation = reservations.get(proposalId);
      if (!reservation) return;
      reservations.delete(proposalId);
      if (reservation.clientOrderId !== undefined) byClientOrderId.delete(reservation.clientOrderId);
    };
    context.events.on('order:denied', (event) => {
      if (event.proposal) release(event.proposal.id);
    });
    context.events.on('order:failed', (event) => release(event.proposal.id));
    context.events.on('order:submitted', (event) => {
      const reservation = reservations.get(event.proposal.id);
      if (!reservation) return;
      const { order } = event;
      // A live order is visible from now on as an open order (its rest) plus its fills.
      if (!FINAL_STATUSES.has(order.status)) return release(event.proposal.id);
      // Final at the ack: only fills the ledger has not applied yet still count.
      reservation.sent = true;
      if (order.status !== 'filled' || reservation.filled >= order.filledQuantity - 1e-12)
        release(event.proposal.id);
    });
    context.events.on('fill', (fill) => {
      const proposalId =
        fill.clientOrderId === undefined ? undefined : byClientOrderId.get(fill.clientOrderId);
      const reservation = proposalId === undefined ? undefined : reservations.get(proposalId);
      if (!reservation || proposalId === undefined) return;
      reservation.filled = Math.max(reservation.filled, fill.cumulativeQuantity);
      if (reservation.filled >= reservation.quantity - 1e-12) release(proposalId);
    });
    let cycleSeen = Number.NaN;

    const reserve = (proposal: OrderProposal, quantity: number, direction: 1 | -1) => {
      const { request } = proposal;
      reservations.set(proposal.id, {
        exchange: proposal.exchange,
        account: request.account,
        symbol: request.symbol,
        direction,
        quantity,
        price: proposal.referencePrice,
        clientOrderId: request.clientOrderId,
        filled: 0,
        sent: false,
      });
      if (request.clientOrderId !== undefined) byClientOrderId.set(request.clientOrderId, proposal.id);
    };

    return {
      name: 'exposure',
      evaluate(proposal, state): RiskDecision {
        if (state.cycle !== cycleSeen) {
          // Orders final at their ack whose fills never showed up stop counting with the cycle
          // they were sent in; allowed orders not sent yet (parked for a human) keep counting.
          cycleSeen = state.cycle;
          for (const [id, reservation] of reservations) if (reservation.sent) release(id);
        }
        if (proposal.riskReducing) return allow();
        const { exchange, request, referencePrice: price } = proposal;
        const account = state.account(exchange, request.account);
        if (equityBased && (!account || !(account.equity > 0))) {
          return deny('EXPOSURE_NO_ACCOUNT', `no positive equity known for ${exchange}/${request.account}`);
        }
        const direction = request.side === 'buy' ? 1 : -1;
        const inScope = (entryExchange: string, entryAccount: string) =>
          options.scope === 'all' || (entryExchange === exchange && entryAccount === request.account);

        // Positions, open entry orders and allowed-but-unseen orders, per instrument in scope.
        const exposures = new Map<string, Exposure>();
        const exposureOf = (entryExchange: string, entryAccount: string, symbol: string) => {
          const key = `${entryExchange}\u0000${entryAccount}\u0000${symbol}`;
          let entry = exposures.get(key);
          if (!entry) {
            const position = state.position(entryExchange, symbol, entryAccount);
            entry = {
              exchange: entryExchange,
              account: entryAccount,
              symbol,
              position: position?.quantity ?? 0,
              buys: 0,
              sells: 0,
              price: position?.markPrice ?? state.referencePrice(entryExchange, symbol) ?? 0,
            };
            exposures.set(key, entry);
          }
          return entry;
        };
        const own = exposureOf(exchange, request.account, request.symbol);
        for (const position of state.positions())
          if (inScope(position.exchange, position.account))
            exposureOf(position.exchange, position.account, position.symbol);
        for (const order of state.openOrders()) {
          if (order.reduceOnly || !inScope(order.exchange, order.account)) continue;
          if (order.clientOrderId !== undefined && byClientOrderId.has(order.clientOrderId)) continue;
          const rest = Math.max(0, order.quantity - order.filledQuantity);
          const entry = exposureOf(order.exchange, order.account, order.symbol);
          if (order.side === 'buy') entry.buys += rest;
          else entry.sells += rest;
          if (!(entry.price > 0) && order.price !== undefined) entry.price = order.price;
        }
        for (const reservation of reservations.values()) {
          if (!inScope(reservation.exchange, reservation.account)) continue;
          const rest = Math.max(0, reservation.quantity - reservation.filled);
          const entry = exposureOf(reservation.exchange, reservation.account, reservation.symbol);
          if (reservation.direction > 0) entry.buys += rest;
          else entry.sells += rest;
          if (!(entry.price > 0)) entry.price = reservation.price;
        }

        // The position this order adds to: the current one plus pending entries on the same side.
        const base = own.position + direction * (direction > 0 ? own.buys : own.sells);
        let otherGross = 0;
        let otherPendingMaintenanceNotional = 0;
        for (const entry of exposures.values()) {
          if (entry === own) continue;
          const worst = worstQuantity(entry) * entry.price;
          otherGross += worst;
          if (entry.exchange === exchange && entry.account === request.account)
            otherPendingMaintenanceNotional += worst - Math.abs(entry.position) * entry.price;
        }
        // Largest size such that |base + direction × q| × price ≤ limit.
        const fitPosition = (limitNotional: number) => limitNotional / price - direction * base;
        const pendingNote =
          reservations.size > 0 || own.buys > 0 || own.sells > 0 ? ' (pending orders included)' : '';

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
            detail: `position cap ${options.maxPositionNotional}${pendingNote}`,
          });
        }
        if (options.maxTotalNotional !== undefined) {
          limits.push({
            code: 'EXPOSURE_TOTAL_NOTIONAL',
            quantity: fitPosition(options.maxTotalNotional - otherGross),
            detail: `gross cap ${options.maxTotalNotional} (others hold ${otherGross.toFixed(2)})${pendingNote}`,
          });
        }
        if (options.maxLeverage !== undefined) {
          // Leverage over the same scope as the gross: this account, or every account.
          const scopeEquity =
            options.scope === 'all'
              ? state.accounts().reduce((sum, entry) => sum + Math.max(0, entry.equity), 0)
              : equity;
          limits.push({
            code: 'EXPOSURE_LEVERAGE',
            quantity: fitPosition(options.maxLeverage * scopeEquity - otherGross),
            detail: `leverage cap ${options.maxLeverage}× on equity ${scopeEquity.toFixed(2)}${pendingNote}`,
          });
        }
        if (options.minHealthRatio !== undefined && account) {
          const rate = options.maintenanceMarginRate;
          const otherMaintenance =
            Math.max(0, account.maintenanceMargin - Math.abs(own.position) * price * rate) +
            otherPendingMaintenanceNotional * rate;
          const roomNotional =
            rate > 0
              ? ((1 - options.minHealthRatio) * equity - otherMaintenance) / rate
              : Number.POSITIVE_INFINITY;
          limits.push({
            code: 'EXPOSURE_HEALTH',
            quantity: fitPosition(roomNotional),
            detail: `health floor ${options.minHealthRatio}${pendingNote}`,
          });
        }
        if (options.maxPositions !== undefined && !isOpen(own)) {
          let open = 0;
          for (const entry of exposures.values()) if (entry !== own && isOpen(entry)) open += 1;
          if (open >= options.maxPositions)
            return deny(
              'EXPOSURE_MAX_POSITIONS',
              `${open} open positions (pending orders included) reach the limit of ${options.maxPositions}`,
            );
        }

        let binding: (typeof limits)[number] | undefined;
        for (const limit of limits)
          if (limit.quantity < proposal.quantity && (!binding || limit.quantity < binding.quantity))
            binding = limit;
        if (!binding) {
          reserve(proposal, proposal.quantity, direction);
          return allow();
        }
        const message = `${request.side} ${proposal.quantity} ${request.symbol} (notional ${proposal.notional.toFixed(2)}) exceeds the ${binding.detail}`;
        if (options.resize && binding.quantity > 0) {
          reserve(proposal, binding.quantity, direction);
          return resize(binding.quantity, binding.code, `${message}; resized to ${binding.quantity}`);
        }
        return deny(binding.code, message);
      },
    };
  },
});
