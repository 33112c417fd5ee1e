import type { FundingPayment } from '@perpkit/core';
import type { VenueFundingPayment } from './venue-schemas';

/**
 * A venue funding payment (`GET /user/funding/history`) as perpkit's: `amount` positive when the
 * account received it. Extended documents the payment as size × mark × (−rate) from the holder's
 * side (a positive rate: longs pay shorts) but not the sign of `fundingFee`, so the amount is the
 * magnitude of `fundingFee` with the direction the side and the rate give. The settlement time is
 * `paidTime`; the rate is the applied 1-hour rate.
 */
export function fundingPaymentFromVenue(
  exchangeId: string,
  accountId: string,
  payment: VenueFundingPayment,
): FundingPayment {
  const size = Math.abs(Number(payment.size));
  const quantity = payment.side === 'SHORT' ? -size : size;
  const rate = Number(payment.fundingRate);
  const amount = -Math.sign(quantity) * Math.sign(rate) * Math.abs(Number(payment.fundingFee));
  const mark = Number(payment.markPrice ?? 0);
  return {
    id: `x10:${accountId}:${payment.id}`,
    exchange: exchangeId,
    account: accountId,
    symbol: payment.market,
    timestamp: payment.paidTime,
    fundingTime: payment.paidTime,
    rate,
    intervalHours: 1,
    positionQuantity: quantity,
    markPrice: mark > 0 ? mark : size > 0 && rate !== 0 ? Math.abs(amount / (size * rate)) : 0,
    // −0 (a zero fee on a short) reads as 0.
    amount: amount === 0 ? 0 : amount,
    settled: true,
  };
}
