import { toDecimalString, z } from '@perpkit/core';

/*
 * Lenient schemas for Pacifica's responses: only the fields the adapter reads, unknown fields
 * ignored, decimals accepted as strings or numbers. A required number that is not finite fails
 * the parse (an EXCHANGE_PROTOCOL error), an optional one becomes `undefined`: never NaN.
 */

function finite(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value);
    return Number.isFinite(number) ? number : undefined;
  }
  return undefined;
}

/** A required decimal (string or number) as a finite number. */
export const decimal = z.unknown().transform((value, context) => {
  const number = finite(value);
  if (number === undefined) {
    context.addIssue({ code: 'custom', message: `expected a decimal, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return number;
});

/** An optional decimal: missing, null, empty or malformed become `undefined`. */
export const optionalDecimal = z
  .unknown()
  .transform((value) => finite(value))
  .optional();

/** A positive decimal kept as an exact decimal string (tick and lot sizes). */
export const exactDecimal = z.unknown().transform((value, context) => {
  const number = finite(value);
  if (number === undefined || number <= 0) {
    context.addIssue({
      code: 'custom',
      message: `expected a positive decimal, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())
    ? toDecimalString(value.trim())
    : toDecimalString(number);
});

/** Milliseconds: an integer, a numeric string or an ISO date; else `undefined`. */
export const optionalTime = z
  .unknown()
  .transform((value) => {
    const number = finite(value);
    if (number !== undefined) return number;
    if (typeof value === 'string') {
      const parsed = Date.parse(value);
      return Number.isFinite(parsed) ? parsed : undefined;
    }
    return undefined;
  })
  .optional();

/** An order id: integers on the wire, kept as strings in perpkit. */
export const orderId = z.union([z.number(), z.string()]).transform((value) => String(value));

const optionalText = z
  .unknown()
  .transform((value) => (typeof value === 'string' && value !== '' ? value : undefined))
  .optional();
const optionalBoolean = z
  .unknown()
  .transform((value) => (typeof value === 'boolean' ? value : undefined))
  .optional();
const side = z.string().transform((value) => value.toLowerCase());

// ------------------------------------------------------------------------------ REST

export const marketInfoSchema = z.object({
  symbol: z.string().min(1),
  tick_size: exactDecimal,
  lot_size: exactDecimal,
  max_leverage: optionalDecimal,
  min_order_size: optionalDecimal,
  max_order_size: optionalDecimal,
  isolated_only: optionalBoolean,
  funding_rate: optionalDecimal,
  next_funding_rate: optionalDecimal,
  created_at: optionalTime,
});
export type MarketInfo = z.output<typeof marketInfoSchema>;

export const priceInfoSchema = z.object({
  symbol: z.string().min(1),
  mark: decimal,
  mid: optionalDecimal,
  oracle: optionalDecimal,
  funding: optionalDecimal,
  next_funding: optionalDecimal,
  open_interest: optionalDecimal,
  volume_24h: optionalDecimal,
  timestamp: optionalTime,
});
export type PriceInfo = z.output<typeof priceInfoSchema>;

const bookLevelSchema = z.object({ p: decimal, a: decimal, n: optionalDecimal });
export const bookSchema = z.object({
  s: z.string().min(1),
  l: z.tuple([z.array(bookLevelSchema), z.array(bookLevelSchema)]),
  t: optionalTime,
});
export type Book = z.output<typeof bookSchema>;

export const accountInfoSchema = z.object({
  balance: decimal,
  account_equity: decimal,
  available_to_spend: optionalDecimal,
  available_to_withdraw: optionalDecimal,
  pending_balance: optionalDecimal,
  total_margin_used: optionalDecimal,
  cross_mmr: optionalDecimal,
  fee_level: optionalDecimal,
  positions_count: optionalDecimal,
  orders_count: optionalDecimal,
  updated_at: optionalTime,
});
export type AccountInfo = z.output<typeof accountInfoSchema>;

export const accountSettingSchema = z.object({
  symbol: z.string().min(1),
  isolated: optionalBoolean,
  leverage: optionalDecimal,
});
export type AccountSetting = z.output<typeof accountSettingSchema>;

export const positionSchema = z.object({
  symbol: z.string().min(1),
  side,
  amount: decimal,
  entry_price: decimal,
  margin: optionalDecimal,
  funding: optionalDecimal,
  isolated: optionalBoolean,
  created_at: optionalTime,
  updated_at: optionalTime,
});
export type PositionInfo = z.output<typeof positionSchema>;

export const openOrderSchema = z.object({
  order_id: orderId,
  client_order_id: optionalText,
  symbol: z.string().min(1),
  side,
  price: optionalDecimal,
  initial_amount: decimal,
  filled_amount: optionalDecimal,
  cancelled_amount: optionalDecimal,
  stop_price: optionalDecimal,
  order_type: z.string().default('limit'),
  reduce_only: optionalBoolean,
  created_at: optionalTime,
  updated_at: optionalTime,
});
export type OpenOrderInfo = z.output<typeof openOrderSchema>;

export const orderHistorySchema = z.object({
  history_id: optionalDecimal,
  order_id: orderId,
  client_order_id: optionalText,
  symbol: z.string().min(1),
  side,
  price: optionalDecimal,
  initial_price: optionalDecimal,
  average_filled_price: optionalDecimal,
  initial_amount: optionalDecimal,
  amount: optionalDecimal,
  filled_amount: optionalDecimal,
  cancelled_amount: optionalDecimal,
  event_type: optionalText,
  order_status: optionalText,
  order_type: z.string().default('limit'),
  reduce_only: optionalBoolean,
  reason: optionalText,
  created_at: optionalTime,
  updated_at: optionalTime,
});
export type OrderHistoryInfo = z.output<typeof orderHistorySchema>;

export const fundingRateHistorySchema = z.object({
  funding_rate: decimal,
  next_funding_rate: optionalDecimal,
  oracle_price: optionalDecimal,
  created_at: optionalTime,
});
export type FundingRateHistoryInfo = z.output<typeof fundingRateHistorySchema>;

export const accountFundingSchema = z.object({
  history_id: optionalDecimal,
  symbol: z.string().min(1),
  side,
  amount: optionalDecimal,
  payout: decimal,
  rate: optionalDecimal,
  created_at: optionalTime,
});
export type AccountFundingInfo = z.output<typeof accountFundingSchema>;

export const tradeHistorySchema = z.object({
  history_id: optionalDecimal,
  order_id: orderId,
  client_order_id: optionalText,
  symbol: z.string().min(1),
  amount: decimal,
  price: decimal,
  fee: optionalDecimal,
  pnl: optionalDecimal,
  event_type: optionalText,
  side: optionalText,
  created_at: optionalTime,
});
export type TradeHistoryInfo = z.output<typeof tradeHistorySchema>;

export const createOrderResultSchema = z.object({ order_id: orderId });
export const cancelAllResultSchema = z.object({ cancelled_count: optionalDecimal });
export const batchResultSchema = z.object({
  results: z.array(
    z.object({
      success: z.boolean().catch(false),
      order_id: orderId.optional().catch(undefined),
      error: optionalText,
    }),
  ),
});

// ------------------------------------------------------------------------------ WebSocket

export const wsTradeSchema = z.object({
  h: optionalDecimal,
  s: z.string().min(1),
  p: decimal,
  a: decimal,
  d: optionalText,
  t: optionalTime,
  tc: optionalText,
});

export const wsAccountInfoSchema = z.object({
  ae: decimal,
  b: decimal,
  as: optionalDecimal,
  aw: optionalDecimal,
  mu: optionalDecimal,
  cm: optionalDecimal,
  pb: optionalDecimal,
  t: optionalTime,
});
export type WsAccountInfo = z.output<typeof wsAccountInfoSchema>;

export const wsPositionSchema = z.object({
  s: z.string().min(1),
  d: side,
  a: decimal,
  p: decimal,
  m: optionalDecimal,
  f: optionalDecimal,
  i: optionalBoolean,
  l: optionalDecimal,
  t: optionalTime,
});
export type WsPosition = z.output<typeof wsPositionSchema>;

export const wsOrderUpdateSchema = z.object({
  i: orderId,
  I: optionalText,
  u: optionalText,
  s: z.string().min(1),
  d: side,
  p: optionalDecimal,
  ip: optionalDecimal,
  a: decimal,
  f: optionalDecimal,
  oe: optionalText,
  os: optionalText,
  ot: z.string().default('limit'),
  r: optionalBoolean,
  ct: optionalTime,
  ut: optionalTime,
});
export type WsOrderUpdate = z.output<typeof wsOrderUpdateSchema>;

export const wsAccountTradeSchema = z.object({
  h: z.union([z.number(), z.string()]).transform((value) => String(value)),
  i: orderId,
  I: optionalText,
  u: optionalText,
  s: z.string().min(1),
  ts: optionalText,
  p: decimal,
  a: decimal,
  f: optionalDecimal,
  n: optionalDecimal,
  te: optionalText,
  tc: optionalText,
  t: optionalTime,
});
export type WsAccountTrade = z.output<typeof wsAccountTradeSchema>;

/**
 * The book payload without zod: books stream every 100 ms per symbol, so this hot path is checked
 * by hand. Same leniency as `bookSchema`: a level whose price or amount is not a finite decimal is
 * dropped, a payload without `s` or the two sides is refused (returns why).
 */
export function parseBook(data: unknown): Book | string {
  if (data === null || typeof data !== 'object') return 'not an object';
  const { s, l, t } = data as { s?: unknown; l?: unknown; t?: unknown };
  if (typeof s !== 'string' || s === '') return 's: expected a symbol';
  if (!Array.isArray(l) || l.length < 2 || !Array.isArray(l[0]) || !Array.isArray(l[1]))
    return 'l: expected [[bids], [asks]]';
  const side = (levels: unknown[]) => {
    const out: { p: number; a: number; n: number | undefined }[] = [];
    for (const level of levels) {
      if (level === null || typeof level !== 'object') continue;
      const { p, a, n } = level as { p?: unknown; a?: unknown; n?: unknown };
      const price = finite(p);
      const amount = finite(a);
      if (price !== undefined && amount !== undefined) out.push({ p: price, a: amount, n: finite(n) });
    }
    return out;
  };
  return { s, l: [side(l[0]), side(l[1])], t: finite(t) };
}
