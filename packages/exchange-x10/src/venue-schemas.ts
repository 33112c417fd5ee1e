import { z } from '@perpkit/core';

/**
 * Extended's wire formats, lenient: only the fields perpkit reads, unknown fields ignored, numbers
 * accepted as strings or numbers (the venue sends decimals as strings).
 */

const decimal = z.union([z.string(), z.number()]).transform((value) => String(value));
const optionalDecimal = decimal.nullish();
const integer = z.union([z.number(), z.string().regex(/^-?\d+$/)]).transform((value) => Number(value));

export const errorSchema = z.object({
  code: z.union([z.number(), z.string()]),
  message: z.string().default(''),
});

export const envelopeSchema = z.object({
  status: z.string(),
  data: z.unknown().optional(),
  error: errorSchema.nullish(),
  pagination: z.object({ cursor: z.union([z.number(), z.string()]).nullish() }).nullish(),
});

export const marketSchema = z.object({
  name: z.string(),
  assetName: z.string().default(''),
  collateralAssetName: z.string().default('USD'),
  active: z.boolean().default(true),
  status: z.string().optional(),
  marketStats: z
    .object({
      markPrice: optionalDecimal,
      indexPrice: optionalDecimal,
      lastPrice: optionalDecimal,
      bidPrice: optionalDecimal,
      askPrice: optionalDecimal,
      fundingRate: optionalDecimal,
      nextFundingRate: integer.nullish(),
    })
    .partial()
    .nullish(),
  tradingConfig: z.object({
    minOrderSize: decimal,
    minOrderSizeChange: decimal,
    minPriceChange: decimal,
    maxLeverage: decimal.default('1'),
    maxPositionValue: optionalDecimal,
  }),
  l2Config: z.object({
    collateralId: z.string(),
    collateralResolution: integer,
    syntheticId: z.string(),
    syntheticResolution: integer,
  }),
});
export type VenueMarket = z.output<typeof marketSchema>;

export const marketStatsSchema = z.object({
  markPrice: decimal,
  indexPrice: optionalDecimal,
  lastPrice: optionalDecimal,
  bidPrice: optionalDecimal,
  askPrice: optionalDecimal,
  fundingRate: optionalDecimal,
  nextFundingRate: integer.nullish(),
});
export type VenueMarketStats = z.output<typeof marketStatsSchema>;

const levelSchema = z.object({ qty: decimal, price: decimal });
export const orderBookSchema = z.object({
  market: z.string(),
  bid: z.array(levelSchema).default([]),
  ask: z.array(levelSchema).default([]),
});

export const fundingPointSchema = z.object({ m: z.string(), T: integer, f: decimal });

export const accountInfoSchema = z.object({
  accountId: integer.optional(),
  l2Key: z.string().optional(),
  l2Vault: z.union([z.string(), z.number()]).transform(String).optional(),
});

export const balanceSchema = z.object({
  balance: decimal,
  equity: decimal,
  availableForTrade: decimal,
  unrealisedPnl: decimal.default('0'),
  initialMargin: decimal.default('0'),
  marginRatio: decimal.default('0'),
  exposure: decimal.default('0'),
  leverage: decimal.default('0'),
  updatedTime: integer.optional(),
});
export type VenueBalance = z.output<typeof balanceSchema>;

export const positionSchema = z.object({
  market: z.string(),
  side: z.string(),
  size: decimal,
  openPrice: decimal,
  markPrice: decimal,
  unrealisedPnl: decimal.default('0'),
  realisedPnl: decimal.default('0'),
  liquidationPrice: optionalDecimal,
  margin: optionalDecimal,
  leverage: optionalDecimal,
  createdAt: integer.optional(),
  updatedAt: integer.optional(),
});
export type VenuePosition = z.output<typeof positionSchema>;

export const orderSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  externalId: z.string().nullish(),
  market: z.string(),
  type: z.string(),
  side: z.enum(['BUY', 'SELL']),
  status: z.string(),
  statusReason: z.string().nullish(),
  price: optionalDecimal,
  averagePrice: optionalDecimal,
  qty: decimal,
  filledQty: optionalDecimal,
  payedFee: optionalDecimal,
  reduceOnly: z.boolean().default(false),
  postOnly: z.boolean().default(false),
  timeInForce: z.string().nullish(),
  createdTime: integer.optional(),
  updatedTime: integer.optional(),
  expireTime: integer.nullish(),
  expiryTime: integer.nullish(),
});
export type VenueOrder = z.output<typeof orderSchema>;

export const tradeSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  orderId: z.union([z.string(), z.number()]).transform(String),
  market: z.string(),
  side: z.enum(['BUY', 'SELL']),
  price: decimal,
  qty: decimal,
  fee: decimal.default('0'),
  isTaker: z.boolean().default(true),
  createdTime: integer.optional(),
});
export type VenueTrade = z.output<typeof tradeSchema>;

export const feesSchema = z.object({ market: z.string(), makerFeeRate: decimal, takerFeeRate: decimal });

/**
 * One funding payment of the account (`GET /user/funding/history`). `fundingRate` is the applied
 * 1-hour rate; `fundingFee` is the amount, whose sign convention the venue does not document (the
 * adapter reads its magnitude and takes the direction from `side` and the rate).
 */
export const fundingPaymentSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  market: z.string(),
  side: z.string(),
  size: decimal,
  markPrice: optionalDecimal,
  fundingFee: decimal,
  fundingRate: decimal,
  paidTime: integer,
});
export type VenueFundingPayment = z.output<typeof fundingPaymentSchema>;

export const placedOrderSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  externalId: z.string(),
});

// Streams: every message has a sequence number per connection.
export const bookMessageSchema = z.object({
  type: z.enum(['SNAPSHOT', 'DELTA']),
  ts: integer,
  seq: integer,
  data: z.object({
    m: z.string(),
    b: z.array(z.object({ p: decimal, q: decimal })).default([]),
    a: z.array(z.object({ p: decimal, q: decimal })).default([]),
  }),
});

export const fundingMessageSchema = z.object({ ts: integer, seq: integer, data: fundingPointSchema });

export const markPriceMessageSchema = z.object({
  ts: integer,
  seq: integer,
  data: z.object({ m: z.string(), p: decimal, ts: integer.optional() }),
});

export const accountMessageSchema = z.object({
  type: z.string(),
  ts: integer,
  seq: integer,
  data: z
    .object({
      orders: z.array(orderSchema).nullish(),
      trades: z.array(tradeSchema).nullish(),
      positions: z.array(positionSchema).nullish(),
      balance: balanceSchema.nullish(),
    })
    .nullish(),
});
