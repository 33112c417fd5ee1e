import type { Fill, Order } from '@perpkit/core';
import type { LegName, LegPnl, OrderRecord, PairPnl, PairState, ReadbackCorrection } from './types';

const FINAL = new Set(['filled', 'cancelled', 'rejected', 'expired']);
const RELATIVE_EPSILON = 1e-12;

/**
 * Folds a fill report into its order's record. Fill fields are treated as cumulative: the record
 * keeps the cumulative quantity, notional and fee it has applied, and only the difference counts,
 * so a re-sent or duplicated report never counts twice and a report whose per-fill fields are
 * wrong (some venues repeat the cumulative size there) still books the right delta. Returns the
 * base quantity added (0 for nothing new).
 */
export function applyFill(record: OrderRecord, fill: Fill): number {
  const delta = fill.cumulativeQuantity - record.filled;
  if (delta <= RELATIVE_EPSILON * Math.max(1, fill.cumulativeQuantity)) return 0;
  const cumulativeNotional = fill.averagePrice * fill.cumulativeQuantity;
  // Slippage is a per-fill field: scale it when the report's own size is not the delta.
  const sameAsReport = Math.abs(fill.quantity - delta) <= RELATIVE_EPSILON * Math.max(1, delta);
  const slippage =
    fill.slippage === undefined ? 0 : sameAsReport ? fill.slippage : (fill.slippage * delta) / fill.quantity;
  record.filled = fill.cumulativeQuantity;
  record.notional = cumulativeNotional;
  record.fee = fill.cumulativeFee;
  record.slippage += Number.isFinite(slippage) ? slippage : 0;
  return delta;
}

/**
 * Keeps the venue's own cumulative report of an order (the readback). Reports can arrive out of
 * order; cumulative fields never go down, and a final status sticks.
 */
export function applyOrderReport(record: OrderRecord, order: Order, at: number): void {
  if (order.filledQuantity + RELATIVE_EPSILON >= record.venueFilled) {
    record.venueFilled = order.filledQuantity;
    record.venueAverage = order.averagePrice;
    record.venueFee = order.fee;
  }
  record.reported = true;
  if (!FINAL.has(record.status)) {
    record.status = order.status;
    if (FINAL.has(order.status)) record.finalAt = at;
  }
}

export function isFinal(record: OrderRecord): boolean {
  return FINAL.has(record.status);
}

interface Flows {
  buyQuantity: number;
  buyNotional: number;
  sellQuantity: number;
  sellNotional: number;
  fees: number;
  slippage: number;
}

/** A leg's traded flows, from the fills (`local`) or from the venue's order reports (`readback`). */
export function legFlows(pair: PairState, leg: LegName, source: 'local' | 'readback'): Flows {
  const flows: Flows = {
    buyQuantity: 0,
    buyNotional: 0,
    sellQuantity: 0,
    sellNotional: 0,
    fees: 0,
    slippage: 0,
  };
  for (const record of pair.orders) {
    if (record.leg !== leg) continue;
    // An order the venue never reported on is read back as the fills say.
    const useVenue = source === 'readback' && record.reported;
    const quantity = useVenue ? record.venueFilled : record.filled;
    const notional = useVenue ? record.venueFilled * record.venueAverage : record.notional;
    const fee = useVenue ? record.venueFee : record.fee;
    if (record.side === 'buy') {
      flows.buyQuantity += quantity;
      flows.buyNotional += notional;
    } else {
      flows.sellQuantity += quantity;
      flows.sellNotional += notional;
    }
    flows.fees += fee;
    flows.slippage += record.slippage;
  }
  return flows;
}

/** Net signed base quantity a leg's orders have traded (long positive). */
export function legTraded(pair: PairState, leg: LegName): number {
  const flows = legFlows(pair, leg, 'local');
  return flows.buyQuantity - flows.sellQuantity;
}

/**
 * One leg's money. Price PnL is what the trades realized plus the open remainder at `mark`:
 * sells − buys + net position × mark, which is exact for any order of entries, partial exits,
 * unwinds and rebalances.
 */
export function legPnl(
  pair: PairState,
  leg: LegName,
  source: 'local' | 'readback',
  mark: number,
  fundingAccrued: number,
): LegPnl {
  const flows = legFlows(pair, leg, source);
  const long = leg === 'long';
  const entryQuantity = long ? flows.buyQuantity : flows.sellQuantity;
  const entryNotional = long ? flows.buyNotional : flows.sellNotional;
  const exitQuantity = long ? flows.sellQuantity : flows.buyQuantity;
  const exitNotional = long ? flows.sellNotional : flows.buyNotional;
  const open = flows.buyQuantity - flows.sellQuantity;
  const openValue = Math.abs(open) > RELATIVE_EPSILON * Math.max(1, entryQuantity) ? open * mark : 0;
  return {
    quantity: entryQuantity,
    entryVwap: entryQuantity > 0 ? entryNotional / entryQuantity : 0,
    exitVwap: exitQuantity > 0 ? exitNotional / exitQuantity : 0,
    pricePnl: flows.sellNotional - flows.buyNotional + openValue,
    fees: flows.fees,
    slippage: flows.slippage,
    fundingCollected: pair[leg].fundingCollected,
    fundingAccrued,
  };
}

export function combinePnl(long: LegPnl, short: LegPnl): PairPnl {
  const pricePnl = long.pricePnl + short.pricePnl;
  const fees = long.fees + short.fees;
  const fundingCollected = long.fundingCollected + short.fundingCollected;
  const fundingAccrued = long.fundingAccrued + short.fundingAccrued;
  const totalPnl = pricePnl + fundingCollected + fundingAccrued;
  return {
    long,
    short,
    pricePnl,
    fees,
    slippage: long.slippage + short.slippage,
    fundingCollected,
    fundingAccrued,
    totalPnl,
    netPnl: totalPnl - fees,
  };
}

export interface PairMarks {
  readonly long: number;
  readonly short: number;
  readonly longAccrued: number;
  readonly shortAccrued: number;
}

export function pairPnl(pair: PairState, source: 'local' | 'readback', marks: PairMarks): PairPnl {
  return combinePnl(
    legPnl(pair, 'long', source, marks.long, marks.longAccrued),
    legPnl(pair, 'short', source, marks.short, marks.shortAccrued),
  );
}

export interface ReadbackTolerances {
  readonly vwapToleranceBps: number;
  readonly pnlTolerance: number;
}

/**
 * The post-close readback: the venue's own order reports are the source of truth. A leg whose
 * entry or exit VWAP differs from them by more than the tolerance, or a net PnL that differs by
 * more than its tolerance, is a correction: the result takes the venue's numbers and says what
 * changed. Within tolerance the fills' numbers stand.
 */
export function reconcileReadback(
  pair: PairState,
  marks: PairMarks,
  tolerances: ReadbackTolerances,
): { pnl: PairPnl; corrections: ReadbackCorrection[] } {
  const local = pairPnl(pair, 'local', marks);
  const readback = pairPnl(pair, 'readback', marks);
  const corrections: ReadbackCorrection[] = [];
  for (const leg of ['long', 'short'] as const) {
    for (const which of ['entryVwap', 'exitVwap'] as const) {
      const ours = local[leg][which];
      const theirs = readback[leg][which];
      if (!(theirs > 0)) continue;
      const bps = (Math.abs(ours - theirs) / theirs) * 10_000;
      if (bps > tolerances.vwapToleranceBps)
        corrections.push({
          code: 'READBACK_VWAP_MISMATCH',
          leg,
          local: ours,
          readback: theirs,
          message: `${pair.id} ${leg} ${which === 'entryVwap' ? 'entry' : 'exit'} VWAP ${ours} from fills differs from the venue's ${theirs} by ${bps.toFixed(2)} bps (> ${tolerances.vwapToleranceBps})`,
        });
    }
  }
  const difference = Math.abs(local.netPnl - readback.netPnl);
  if (difference > tolerances.pnlTolerance)
    corrections.push({
      code: 'READBACK_PNL_MISMATCH',
      local: local.netPnl,
      readback: readback.netPnl,
      message: `${pair.id} net PnL ${local.netPnl.toFixed(4)} from fills differs from the venue's ${readback.netPnl.toFixed(4)} by ${difference.toFixed(4)} (> ${tolerances.pnlTolerance})`,
    });
  return { pnl: corrections.length > 0 ? readback : local, corrections };
}
