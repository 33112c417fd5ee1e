import { roundPrice, roundQuantity } from '../decimal';
import type { OrderProposal } from '../risk';
import type { Signal } from '../signal';
import type { StateView } from '../state';
import type { OrderRequest, Side, TimeInForce } from '../types';

export interface PlanRejection {
  readonly code: string;
  readonly message: string;
}

export type PlanResult = { readonly proposal: OrderProposal } | { readonly rejection: PlanRejection };

const reject = (code: string, message: string): PlanResult => ({ rejection: { code, message } });

/**
 * Turns a signal into an exact order request, or says why it cannot:
 * sizes are resolved from the intent and the current position, rounded toward zero to the lot,
 * limit prices rounded to the tick on the passive side, reduce-only set for risk-reducing intents,
 * and minimum quantity and notional checked for entries.
 */
export function planSignal(
  signal: Signal,
  state: StateView,
  proposalId: string,
  clientOrderId: string,
): PlanResult {
  const { exchange, symbol } = signal;
  const market = state.market(exchange, symbol);
  if (!market) return reject('UNKNOWN_MARKET', `${exchange} has no market ${symbol}`);
  const account = signal.account ?? state.defaultAccount(exchange);
  if (account === undefined) return reject('UNKNOWN_ACCOUNT', `${exchange} has no account`);

  const position = state.position(exchange, symbol, account)?.quantity ?? 0;
  const referencePrice = signal.orderType === 'limit' ? signal.price : state.referencePrice(exchange, symbol);
  if (referencePrice === undefined || !(referencePrice > 0)) {
    return reject(
      'NO_PRICE',
      `no ${signal.orderType === 'limit' ? 'limit' : 'reference'} price for ${exchange}:${symbol}`,
    );
  }

  let side: Side;
  let quantity: number;
  let reduceOnly = false;
  switch (signal.intent) {
    case 'open': {
      if (!signal.side) return reject('SIDE_MISSING', 'an open signal needs a side');
      side = signal.side;
      if (signal.quantity !== undefined) quantity = signal.quantity;
      else if (signal.notional !== undefined) quantity = signal.notional / referencePrice;
      else return reject('SIZE_MISSING', 'an open signal needs quantity or notional');
      break;
    }
    case 'close': {
      if (position === 0)
        return reject('NO_POSITION', `no ${symbol} position to close on ${exchange}/${account}`);
      side = position > 0 ? 'sell' : 'buy';
      quantity = Math.abs(position);
      reduceOnly = true;
      break;
    }
    case 'reduce': {
      if (position === 0)
        return reject('NO_POSITION', `no ${symbol} position to reduce on ${exchange}/${account}`);
      side = position > 0 ? 'sell' : 'buy';
      if (signal.quantity !== undefined) quantity = signal.quantity;
      else if (signal.fraction !== undefined) quantity = Math.abs(position) * signal.fraction;
      else return reject('SIZE_MISSING', 'a reduce signal needs quantity or fraction');
      quantity = Math.min(quantity, Math.abs(position));
      reduceOnly = true;
      break;
    }
    case 'rebalance': {
      let target: number;
      if (signal.targetQuantity !== undefined) target = signal.targetQuantity;
      else if (signal.side && signal.quantity !== undefined)
        target = position + (signal.side === 'buy' ? 1 : -1) * signal.quantity;
      else return reject('SIZE_MISSING', 'a rebalance signal needs targetQuantity, or side and quantity');
      const difference = target - position;
      side = difference > 0 ? 'buy' : 'sell';
      quantity = Math.abs(difference);
      // Moving toward zero without crossing it only reduces risk.
      reduceOnly =
        position !== 0 && Math.sign(target) !== -Math.sign(position) && Math.abs(target) < Math.abs(position);
      break;
    }
    case 'cancel':
      // The engine executes cancels itself; they never become order requests.
      return reject('NOT_AN_ORDER', 'a cancel signal does not plan an order');
  }

  if (!(quantity > 0) || !Number.isFinite(quantity))
    return reject('SIZE_INVALID', `quantity must be positive (got ${quantity})`);
  const quantityText = roundQuantity(quantity, market.lotSize);
  const roundedQuantity = Number(quantityText);
  if (roundedQuantity === 0) {
    return reject('BELOW_LOT', `quantity ${quantity} rounds to zero at lot ${market.lotSize}`);
  }
  const riskReducing =
    reduceOnly ||
    (position !== 0 && (side === 'sell') === position > 0 && roundedQuantity <= Math.abs(position));
  if (!riskReducing) {
    if (market.minQuantity !== undefined && roundedQuantity < Number(market.minQuantity)) {
      return reject(
        'BELOW_MIN_QUANTITY',
        `quantity ${quantityText} is below the minimum ${market.minQuantity}`,
      );
    }
    const notional = roundedQuantity * referencePrice;
    if (notional < market.minNotional) {
      return reject(
        'BELOW_MIN_NOTIONAL',
        `notional ${notional.toFixed(2)} is below the minimum ${market.minNotional}`,
      );
    }
  }

  const orderType = signal.orderType;
  const timeInForce: TimeInForce = signal.timeInForce ?? (orderType === 'market' ? 'ioc' : 'gtc');
  let priceText: string | undefined;
  if (orderType === 'limit') priceText = roundPrice(referencePrice, market.tickSize, side);
  const request: OrderRequest = {
    account,
    symbol,
    side,
    type: orderType,
    quantity: quantityText,
    price: priceText,
    timeInForce,
    reduceOnly,
    clientOrderId,
    expiresAt: signal.ttlMs === undefined ? undefined : state.now + signal.ttlMs,
  };
  const price = priceText === undefined ? referencePrice : Number(priceText);
  return {
    proposal: {
      id: proposalId,
      signal,
      request,
      exchange,
      market,
      referencePrice: price,
      quantity: roundedQuantity,
      notional: roundedQuantity * price,
      riskReducing,
      positionBefore: position,
    },
  };
}

/** The same proposal with a new (already lot-rounded) quantity. */
export function resizeProposal(proposal: OrderProposal, quantityText: string): OrderProposal {
  const quantity = Number(quantityText);
  return {
    ...proposal,
    request: { ...proposal.request, quantity: quantityText },
    quantity,
    notional: quantity * proposal.referencePrice,
  };
}
