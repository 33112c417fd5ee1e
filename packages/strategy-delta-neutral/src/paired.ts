import {
  type AccountSnapshot,
  type OrderBook,
  reason,
  roundToStepNumber,
  type SetupContext,
  type Side,
  type SignalInput,
  type SignalReason,
  type StateView,
  type Strategy,
} from '@perpkit/core';
import { checkBook, passivePrice, visibleDepth } from './book';
import { clampPairTrades, decidePair, type TargetCandidate } from './hedging';
import type { PairedOptions } from './options';

/** What the schedule remembers across restarts (plugin memory key `paired`). */
interface Schedule {
  /** The primary account's wanted side; absent: the pair is wanted flat. */
  side: Side | undefined;
  /** When the current side was chosen (the hold time counts from here). */
  since: number | undefined;
  /** No scheduled trade before this time. */
  nextActionAt: number;
  /** The primary's side for the next pair opened from flat. */
  nextSide: Side;
}

const opposite = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');
const signOf = (side: Side) => (side === 'buy' ? 1 : -1);

/**
 * The paired-accounts shape: two accounts on one venue hold opposite positions in one market, so
 * the combined delta is zero while both trade. Per cycle:
 *
 * 1. resting orders older than `orderTimeout` are cancelled (and nothing else is done);
 * 2. while an order is in flight, it waits;
 * 3. the book must be present, valid and tight (else no trade);
 * 4. rules propose targets: on the interval, the schedule (open, hold, flip or close, resize to
 *    the wanted size); every cycle, the margin guard;
 * 5. the hedging decision step resolves conflicting targets per account and applies the
 *    auto-hedge rules, so the two targets cancel;
 * 6. both trades are scaled by one factor to fit the max order value (clamped by each account's
 *    live equity) and the book's depth, and go out as one group (the gates pass or deny both).
 */
export function createPairedStrategy(context: SetupContext, options: PairedOptions): Strategy {
  const { exchange, symbol } = options;
  const [primaryAccount, secondaryAccount] = options.accounts;
  const saved = context.memory.get('paired') as Partial<Schedule> | undefined;
  const schedule: Schedule = {
    side: saved?.side,
    since: saved?.since,
    nextActionAt: saved?.nextActionAt ?? 0,
    nextSide: saved?.nextSide ?? options.primarySide,
  };
  const remember = () => context.memory.set('paired', { ...schedule });
  let lastNote = '';
  /** Records why the strategy is not trading, once per change of reason. */
  const note = (code: string, message: string): undefined => {
    if (code === lastNote) return undefined;
    lastNote = code;
    context.logger.debug(`delta-neutral: ${code}`, { message });
    context.record('skip', { code, message });
    return undefined;
  };

  return {
    instruments: [{ exchange, symbol, channels: ['ticker', 'orderBook', 'fundingRate'] }],
    onCycle(state: StateView): readonly SignalInput[] | undefined {
      const now = state.now;
      const market = state.market(exchange, symbol);
      if (!market) return note('NO_MARKET', `${exchange} has no market ${symbol}`);
      const lot = market.lotSize;

      // 1. Stale orders are cancelled first; nothing else goes out with the cancels.
      const ours = state
        .openOrders(exchange, symbol)
        .filter((order) => order.account === primaryAccount || order.account === secondaryAccount);
      const stale = ours.filter((order) => now - order.createdAt >= options.orderTimeout);
      if (stale.length > 0) {
        return stale.map((order) => ({
          intent: 'cancel',
          exchange,
          symbol,
          account: order.account,
          orderId: order.id,
          reasons: [
            reason(
              'STALE_ORDER',
              `order ${order.id} (${order.side} ${order.quantity}) rested ${now - order.createdAt} ms, timeout ${options.orderTimeout} ms`,
            ),
          ],
        }));
      }
      // 2. One step at a time: wait for what is in flight.
      if (
        ours.length > 0 ||
        state.hasPendingOrder(exchange, symbol, primaryAccount) ||
        state.hasPendingOrder(exchange, symbol, secondaryAccount)
      )
        return undefined;

      const primary = state.account(exchange, primaryAccount);
      const secondary = state.account(exchange, secondaryAccount);
      if (!primary || !secondary)
        return note('NO_ACCOUNT', `no account snapshot for ${!primary ? primaryAccount : secondaryAccount}`);

      // 3. Price, size and timing come from the book.
      const bookCheck = checkBook(state.orderBook(exchange, symbol), {
        now,
        maxAgeMs: options.book.maxAge,
        maxSpread: options.book.maxSpread,
      });
      let price: number;
      let book: OrderBook | undefined;
      let quote: { bid: number; ask: number } | undefined;
      if (bookCheck.ok) {
        price = bookCheck.mid;
        book = bookCheck.book;
        quote = bookCheck;
      } else if (bookCheck.code === 'BOOK_MISSING' && !options.book.required) {
        const reference = state.referencePrice(exchange, symbol);
        if (reference === undefined || !(reference > 0))
          return note('NO_PRICE', `no reference price for ${exchange}:${symbol}`);
        price = reference;
      } else {
        return note(bookCheck.code, bookCheck.message);
      }

      const current = {
        primary: state.position(exchange, symbol, primaryAccount)?.quantity ?? 0,
        secondary: state.position(exchange, symbol, secondaryAccount)?.quantity ?? 0,
      };
      const halfLot = Number(lot) / 2;
      const flat = Math.abs(current.primary) < halfLot && Math.abs(current.secondary) < halfLot;
      const legQuantity = roundToStepNumber(
        Math.min(
          options.legNotional,
          primary.equity * options.maxLeverage,
          secondary.equity * options.maxLeverage,
        ) / price,
        lot,
        'floor',
      );

      // 4. Rules propose targets.
      const candidates: { primary: TargetCandidate[]; secondary: TargetCandidate[] } = {
        primary: [],
        secondary: [],
      };
      const health = Math.min(primary.healthRatio, secondary.healthRatio);
      if (!flat && health < options.minHealthRatio) {
        const keep = 1 - options.deleverageFraction;
        const message = `health ratio ${health.toFixed(3)} is below ${options.minHealthRatio}: both legs cut by ${options.deleverageFraction}`;
        for (const account of ['primary', 'secondary'] as const) {
          const held = current[account];
          candidates[account].push({
            target: Math.sign(held) * roundToStepNumber(Math.abs(held) * keep, lot, 'floor'),
            code: 'MARGIN_GUARD',
            message,
          });
        }
      }
      let scheduled: Schedule | undefined;
      if (now >= schedule.nextActionAt) {
        const next: Schedule = { ...schedule, nextActionAt: now + options.interval };
        let code = 'PAIR_RESIZE';
        if (next.side === undefined && flat) {
          next.side = next.nextSide;
          next.since = now;
          if (options.alternate) next.nextSide = opposite(next.nextSide);
          code = 'PAIR_OPEN';
        } else if (next.side === undefined) {
          code = 'PAIR_CLOSE';
        } else if (next.since !== undefined && now - next.since >= options.holdTime) {
          if (options.unwind === 'flip') {
            next.side = opposite(next.side);
            next.since = now;
            code = 'PAIR_FLIP';
          } else {
            next.side = undefined;
            next.since = undefined;
            code = 'PAIR_CLOSE';
          }
        }
        next.since ??= next.side === undefined ? undefined : now;
        const wanted = next.side === undefined ? 0 : signOf(next.side) * legQuantity;
        const off =
          code !== 'PAIR_RESIZE' ||
          Math.sign(current.primary) !== Math.sign(wanted) ||
          Math.abs(Math.abs(current.primary) - Math.abs(wanted)) > options.resizeBand * Math.abs(wanted);
        if (off && (wanted !== 0 || !flat)) {
          const message = `${code.toLowerCase().replace('_', ' ')}: ${primaryAccount} to ${wanted}, ${secondaryAccount} to ${-wanted}`;
          candidates.primary.push({ target: wanted, code, message });
          candidates.secondary.push({ target: -wanted, code, message });
        }
        scheduled = next;
      }

      // 5. The hedging decision step.
      const decision = decidePair({
        current,
        candidates: {
          primary: candidates.primary.map((entry) => entry.target),
          secondary: candidates.secondary.map((entry) => entry.target),
        },
        autoHedge: options.autoHedge,
        lotSize: lot,
      });
      // The schedule moves on even when the trade is clamped or refused: it retries next interval.
      if (scheduled) {
        Object.assign(schedule, scheduled);
        remember();
      }

      // 6. Batch clamp: max order value by live equity, and the book's depth.
      const capFor = (account: AccountSnapshot, delta: number) => {
        let cap =
          Math.min(options.maxOrderValue ?? Infinity, account.equity * options.maxOrderLeverage) / price;
        if (book && delta !== 0)
          cap = Math.min(
            cap,
            options.book.maxDepthShare *
              visibleDepth(book, delta > 0 ? 'buy' : 'sell', options.book.depthLevels),
          );
        return Math.max(0, cap);
      };
      const trades = clampPairTrades(
        current,
        decision,
        {
          primary: capFor(primary, decision.primary - current.primary),
          secondary: capFor(secondary, decision.secondary - current.secondary),
        },
        lot,
      );
      if (trades.primary === 0 && trades.secondary === 0) {
        if (decision.rule !== 'NEUTRAL' || candidates.primary.length > 0)
          note('CLAMPED_TO_ZERO', 'the wanted trades round to zero within the caps');
        return undefined;
      }

      // The venue's minimum order applies to trades that add exposure: one leg refused there would
      // leave the other alone, so the whole batch waits instead.
      const minimumQuantity = Number(market.minQuantity ?? 0);
      for (const account of ['primary', 'secondary'] as const) {
        const trade = trades[account];
        if (trade === 0 || isReduction(current[account], trade)) continue;
        if (Math.abs(trade) < minimumQuantity || Math.abs(trade) * price < market.minNotional)
          return note(
            'BELOW_MIN_ORDER',
            `${account} trade ${Math.abs(trade)} (${(Math.abs(trade) * price).toFixed(2)} quote) is below the venue minimum`,
          );
      }

      const protective =
        decision.rule !== 'NEUTRAL' || candidates.primary.some((c) => c.code === 'MARGIN_GUARD');
      const limit = options.orderType === 'limit' && quote !== undefined && !protective;
      const groupId = `${context.id}-${state.cycle}`;
      const features: Record<string, number> = {
        primaryPosition: current.primary,
        secondaryPosition: current.secondary,
        netDelta: (current.primary + current.secondary) * price,
        healthRatio: health,
      };
      if (bookCheck.ok) features.spread = bookCheck.spread;
      const signals: SignalInput[] = [];
      lastNote = '';
      for (const account of ['primary', 'secondary'] as const) {
        const trade = trades[account];
        if (trade === 0) continue;
        const accountId = account === 'primary' ? primaryAccount : secondaryAccount;
        const reasons: SignalReason[] = candidates[account].map((entry) => reason(entry.code, entry.message));
        if (decision.conflicts.includes(account))
          reasons.push(
            reason(
              'CONFLICT_RESOLVED',
              `conflicting targets ${candidates[account].map((entry) => entry.target).join(', ')} resolved to ${decision[account]}`,
            ),
          );
        if (decision.rule !== 'NEUTRAL')
          reasons.push(
            reason(
              `AUTO_HEDGE_${decision.rule}`,
              `pair targets ${decision.primary} / ${decision.secondary} from positions ${current.primary} / ${current.secondary}`,
            ),
          );
        const side: Side = trade > 0 ? 'buy' : 'sell';
        const base = {
          exchange,
          symbol,
          account: accountId,
          quantity: Math.abs(trade),
          groupId,
          urgency: protective ? ('high' as const) : ('normal' as const),
          reasons,
          features,
          metadata: { shape: 'paired', rule: decision.rule },
          ...(limit
            ? {
                orderType: 'limit' as const,
                price: passivePrice(quote as { bid: number; ask: number }, side),
                timeInForce: 'post-only' as const,
                // A backstop at the venue; the strategy cancels them itself at orderTimeout.
                ttlMs: 2 * options.orderTimeout,
              }
            : {}),
        };
        signals.push(
          isReduction(current[account], trade)
            ? { ...base, intent: 'reduce' }
            : { ...base, intent: 'open', side },
        );
      }
      return signals;
    },
  };
}

/** A trade that only shrinks the position (no flip through zero). */
function isReduction(position: number, trade: number): boolean {
  return position !== 0 && Math.sign(trade) === -Math.sign(position) && Math.abs(trade) <= Math.abs(position);
}
