import type { SlippageOptions } from './options';

/**
 * Size-based slippage for fills without a book: a fraction of price from `min` for small orders
 * rising linearly to `max` at `notionalAtMax`. A number is a flat fraction.
 */
export function slippageFraction(model: SlippageOptions, notional: number): number {
  if (typeof model === 'number') return model;
  const share = model.notionalAtMax > 0 ? Math.min(1, Math.abs(notional) / model.notionalAtMax) : 1;
  return model.min + (model.max - model.min) * share;
}

/** The price a taker gets: worse than `price` by the model's fraction. */
export function slippedPrice(
  model: SlippageOptions,
  side: 'buy' | 'sell',
  price: number,
  quantity: number,
): number {
  const fraction = slippageFraction(model, price * quantity);
  return side === 'buy' ? price * (1 + fraction) : price * (1 - fraction);
}
