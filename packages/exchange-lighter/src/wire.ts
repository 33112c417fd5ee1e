/**
 * Lenient schemas of the venue's REST and WebSocket payloads: only the fields the adapter reads,
 * numbers accepted as JSON numbers or strings, unknown fields dropped. Field names are the venue's.
 */
import { z } from '@perpkit/core';

/** A decimal the venue sends as a string or a number; kept as its exact string. */
const decimal = z.union([z.string(), z.number()]).transform((value) => String(value));
const integer = z.union([z.number(), z.string().regex(/^-?\d+$/)]).transform((value) => Number(value));

export const orderBookDetailSchema = z.object({
  symbol: z.string(),
  market_id: integer,
  market_type: z.string().optional(),
  status: z.string().default('active'),
  min_base_amount: decimal.default('0'),
  min_quote_amount: decimal.default('0'),
  size_decimals: integer,
  price_decimals: integer,
  min_initial_margin_fraction: integer.optional(),
  maintenance_margin_fraction: integer.optional(),
  last_trade_price: decimal.optional(),
  mark_price: decimal.optional(),
  index_price: decimal.optional(),
});
export type OrderBookDetail = z.output<typeof orderBookDetailSchema>;

export const orderBookDetailsResponseSchema = z.object({
  order_book_details: z.array(orderBookDetailSchema).default([]),
});

export const bookOrderSchema = z.object({
  price: decimal,
  remaining_base_amount: decimal,
});
export const orderBookOrdersResponseSchema = z.object({
  asks: z.array(bookOrderSchema).default([]),
  bids: z.array(bookOrderSchema).default([]),
});

export const positionSchema = z.object({
  market_id: integer,
  symbol: z.string().optional(),
  sign: integer.default(1),
  position: decimal,
  avg_entry_price: decimal.default('0'),
  position_value: decimal.default('0'),
  unrealized_pnl: decimal.default('0'),
  realized_pnl: decimal.default('0'),
  liquidation_price: decimal.optional(),
  allocated_margin: decimal.optional(),
  initial_margin_fraction: decimal.optional(),
  total_funding_paid_out: decimal.optional(),
  open_order_count: integer.optional(),
});
export type WirePosition = z.output<typeof positionSchema>;

export const detailedAccountSchema = z.object({
  index: integer,
  collateral: decimal.default('0'),
  available_balance: decimal.default('0'),
  total_asset_value: decimal.optional(),
  positions: z.array(positionSchema).default([]),
});
export type WireAccount = z.output<typeof detailedAccountSchema>;

export const accountResponseSchema = z.object({
  accounts: z.array(detailedAccountSchema).default([]),
});

export const orderSchema = z.object({
  order_index: integer.optional(),
  client_order_index: integer,
  market_index: integer,
  owner_account_index: integer.optional(),
  initial_base_amount: decimal,
  remaining_base_amount: decimal.optional(),
  filled_base_amount: decimal.default('0'),
  filled_quote_amount: decimal.default('0'),
  price: decimal,
  is_ask: z.boolean(),
  type: z.string().default('limit'),
  time_in_force: z.string().default('good-till-time'),
  reduce_only: z.boolean().default(false),
  order_expiry: integer.optional(),
  status: z.string(),
  timestamp: integer.optional(),
  created_at: integer.optional(),
  updated_at: integer.optional(),
});
export type WireOrder = z.output<typeof orderSchema>;

export const ordersResponseSchema = z.object({
  orders: z.array(orderSchema).default([]),
});

export const tradeSchema = z.object({
  trade_id: integer,
  market_id: integer,
  size: decimal,
  price: decimal,
  usd_amount: decimal.optional(),
  ask_account_id: integer.optional(),
  bid_account_id: integer.optional(),
  ask_client_id: integer.optional(),
  ask_id: integer.optional(),
  bid_id: integer.optional(),
  bid_client_id: integer.optional(),
  is_maker_ask: z.boolean(),
  /** Fee rates in millionths of the notional (lighter-go `FeeTick = 1_000_000`). */
  taker_fee: z.number().optional(),
  maker_fee: z.number().optional(),
  timestamp: integer,
});
export type WireTrade = z.output<typeof tradeSchema>;

export const positionFundingSchema = z.object({
  timestamp: integer,
  market_id: integer,
  funding_id: integer.optional(),
  change: decimal,
  rate: decimal,
  position_size: decimal,
  position_side: z.string(),
});
export type WirePositionFunding = z.output<typeof positionFundingSchema>;

export const fundingRatesResponseSchema = z.object({
  funding_rates: z
    .array(z.object({ market_id: integer, exchange: z.string(), symbol: z.string(), rate: decimal }))
    .default([]),
});

export const fundingsResponseSchema = z.object({
  fundings: z
    .array(z.object({ timestamp: integer, rate: decimal, direction: z.string(), value: decimal.optional() }))
    .default([]),
});

export const nextNonceResponseSchema = z.object({ nonce: integer });

export const sendTxResponseSchema = z.object({
  code: integer,
  message: z.string().optional(),
  tx_hash: z.union([z.string(), z.array(z.string())]).optional(),
});

/** An error body: `{ code, message }` with a code other than 200. */
export const errorResponseSchema = z.object({ code: integer, message: z.string().default('') });

/** A map keyed by market index, or already a flat list: both shapes appear in account channels. */
function byMarket<T extends z.ZodType>(item: T) {
  return z
    .union([z.array(item), z.record(z.string(), z.union([z.array(item), item]))])
    .transform((value): z.output<T>[] =>
      Array.isArray(value)
        ? value
        : Object.values(value).flatMap((entry) => (Array.isArray(entry) ? entry : [entry])),
    );
}

export const accountAllMessageSchema = z.object({
  type: z.string(),
  channel: z.string(),
  orders: byMarket(orderSchema).optional(),
  trades: byMarket(tradeSchema).optional(),
  positions: byMarket(positionSchema).optional(),
  funding_histories: byMarket(positionFundingSchema).optional(),
});

export const orderBookMessageSchema = z.object({
  type: z.string(),
  channel: z.string(),
  order_book: z.object({
    asks: z.array(z.object({ price: decimal, size: decimal })).default([]),
    bids: z.array(z.object({ price: decimal, size: decimal })).default([]),
    offset: integer.optional(),
  }),
});

export const marketStatsMessageSchema = z.object({
  type: z.string(),
  channel: z.string(),
  market_stats: z.object({
    market_id: integer,
    index_price: decimal.optional(),
    mark_price: decimal,
    last_trade_price: decimal.optional(),
    current_funding_rate: decimal.optional(),
    funding_rate: decimal.optional(),
    funding_timestamp: integer.optional(),
  }),
});
