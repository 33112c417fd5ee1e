import type { FundingPayment, FundingRate, Position } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { fundingPaymentFromVenue } from '../src/funding';
import type { X10Exchange } from '../src/x10-exchange';
import { ACCOUNT, BTC, startPair } from './helpers';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function pair(...args: Parameters<typeof startPair>) {
  const started = await startPair(...args);
  cleanup = started.close;
  await started.exchange.connect();
  return started;
}

function collect<T>(exchange: X10Exchange, event: 'funding' | 'fundingRate' | 'position') {
  const items: T[] = [];
  exchange.events.on(event, (item: unknown) => items.push(item as T));
  return items;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a position of `quantity` BTC (positive long) with an IOC through the book. */
async function hold(exchange: X10Exchange, quantity: number) {
  const positions = collect<Position>(exchange, 'position');
  await exchange.submitOrder({
    account: 'main',
    symbol: BTC.name,
    side: quantity > 0 ? 'buy' : 'sell',
    type: 'market',
    quantity: String(Math.abs(quantity)),
  });
  await waitFor(() => positions.some((position) => position.quantity === quantity), 5_000, 'the position');
}

describe('funding payments (GET /user/funding/history)', () => {
  it('each settlement of a held position is one funding event with the amount the venue credited', async () => {
    const { simulator, exchange } = await pair({}, { fundingPollMs: 0 });
    const payments = collect<FundingPayment>(exchange, 'funding');
    await hold(exchange, 0.5);
    const now = Date.now();
    // Two settlements due at once: longs pay the first (positive) rate and receive the second.
    simulator.sim.setFundingSeries(BTC.name, [
      { time: now + 5, rate: 0.0002 },
      { time: now + 10, rate: -0.0001 },
    ]);
    await sleep(20);
    simulator.sim.advanceTime();
    await exchange.pollFunding();
    expect(payments.map((payment) => [payment.fundingTime, payment.rate, payment.positionQuantity])).toEqual([
      [now + 5, 0.0002, 0.5],
      [now + 10, -0.0001, 0.5],
    ]);
    // The book's mid is the mark the settlement used: 60 000.
    expect(payments[0]?.amount).toBeCloseTo(-0.5 * 60_000 * 0.0002, 9);
    expect(payments[1]?.amount).toBeCloseTo(0.5 * 60_000 * 0.0001, 9);
    expect(payments.every((payment) => payment.settled && payment.intervalHours === 1)).toBe(true);
    const credited = payments.reduce((sum, payment) => sum + payment.amount, 0);
    expect(credited).toBeCloseTo(simulator.sim.totals(String(ACCOUNT.vault)).funding, 9);
    // Another round finds nothing new: each payment is reported once.
    await exchange.pollFunding();
    expect(payments).toHaveLength(2);
  });

  it('a short receives a positive rate; the poll runs by itself every fundingPollMs', async () => {
    const { simulator, exchange } = await pair({}, { fundingPollMs: 50 });
    const payments = collect<FundingPayment>(exchange, 'funding');
    await hold(exchange, -0.2);
    simulator.sim.setFundingSeries(BTC.name, [{ time: Date.now() + 5, rate: 0.0003 }]);
    await sleep(20);
    simulator.sim.advanceTime();
    await waitFor(() => payments.length === 1, 5_000, 'the polled payment');
    expect(payments[0]).toMatchObject({ positionQuantity: -0.2, rate: 0.0003 });
    expect(payments[0]?.amount).toBeCloseTo(0.2 * 60_000 * 0.0003, 9);
  });

  it('a refused poll is an error event; the next round reports what it missed, once', async () => {
    const { simulator, exchange } = await pair({}, { fundingPollMs: 0, maxRetries: 0 });
    const payments = collect<FundingPayment>(exchange, 'funding');
    const errors: { code: string; retryable: boolean }[] = [];
    exchange.events.on('error', (error) => errors.push(error));
    await hold(exchange, 0.1);
    simulator.sim.setFundingSeries(BTC.name, [{ time: Date.now() + 5, rate: 0.0001 }]);
    await sleep(20);
    simulator.sim.advanceTime();
    simulator.rateLimitNext(1);
    await exchange.pollFunding();
    expect(payments).toEqual([]);
    expect(errors).toMatchObject([{ code: 'EXCHANGE_RATE_LIMITED', retryable: true }]);
    await exchange.pollFunding();
    await exchange.pollFunding();
    expect(payments).toHaveLength(1);
    expect(payments[0]?.amount).toBeCloseTo(-0.1 * 60_000 * 0.0001, 9);
  });

  it('stats, the funding stream and the history follow the settlements the simulator applies', async () => {
    const { simulator, exchange } = await pair({}, { fundingPollMs: 0 });
    const rates = collect<FundingRate>(exchange, 'fundingRate');
    const now = Date.now();
    simulator.sim.setFundingSeries(BTC.name, [
      { time: now + 5, rate: 0.0004 },
      { time: now + 3_600_000, rate: -0.0002 },
    ]);
    // The predicted rate is the next settlement's, and the next funding time is its time.
    const predicted = await exchange.fetchFundingRate(BTC.name);
    expect(predicted).toMatchObject({ rate: 0.0004, nextFundingTime: now + 5, predicted: true });
    await exchange.subscribe({ channel: 'fundingRate', symbol: BTC.name });
    expect(rates.at(-1)).toMatchObject({ rate: 0.0004, predicted: true });
    await sleep(20);
    simulator.sim.advanceTime();
    // The stream carries the applied rate at its settlement time.
    await waitFor(
      () => rates.some((rate) => rate.timestamp === now + 5 && !rate.predicted),
      5_000,
      'applied',
    );
    expect(rates.find((rate) => rate.timestamp === now + 5)?.rate).toBe(0.0004);
    expect(await exchange.fetchFundingRate(BTC.name)).toMatchObject({
      rate: -0.0002,
      nextFundingTime: now + 3_600_000,
    });
    const history = await exchange.fetchFundingHistory({ symbol: BTC.name, from: now, to: now + 60_000 });
    expect(history.map((rate) => [rate.timestamp, rate.rate])).toEqual([[now + 5, 0.0004]]);
  });
});

describe('fundingPaymentFromVenue', () => {
  const venue = {
    id: '77',
    market: 'BTC-USD',
    size: '0.5',
    markPrice: '60000',
    fundingRate: '0.0002',
    paidTime: 1_750_000_000_000,
  };

  it('takes the direction from the side and the rate, whatever the sign of fundingFee', () => {
    for (const fundingFee of ['6', '-6']) {
      expect(fundingPaymentFromVenue('extended', 'main', { ...venue, side: 'LONG', fundingFee }).amount).toBe(
        -6,
      );
      expect(
        fundingPaymentFromVenue('extended', 'main', { ...venue, side: 'SHORT', fundingFee }).amount,
      ).toBe(6);
      expect(
        fundingPaymentFromVenue('extended', 'main', {
          ...venue,
          side: 'LONG',
          fundingFee,
          fundingRate: '-0.0002',
        }).amount,
      ).toBe(6);
    }
  });

  it('is settled hourly funding of the account, identified by the venue id', () => {
    expect(fundingPaymentFromVenue('extended', 'main', { ...venue, side: 'SHORT', fundingFee: '0' })).toEqual(
      {
        id: 'x10:main:77',
        exchange: 'extended',
        account: 'main',
        symbol: 'BTC-USD',
        timestamp: 1_750_000_000_000,
        fundingTime: 1_750_000_000_000,
        rate: 0.0002,
        intervalHours: 1,
        positionQuantity: -0.5,
        markPrice: 60_000,
        amount: 0,
        settled: true,
      },
    );
  });
});
