import { type ConnectionState, type FundingPayment, type FundingRate, SimulatedClock } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT, startVenue, type Venue } from './helpers';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1, 0, 30);
const account = String(ACCOUNT);
let venue: Venue | undefined;

afterEach(async () => {
  await venue?.close();
  venue = undefined;
});

describe('hourly funding through the wire protocol', () => {
  it('normalizes every funding source to the same hourly rate, and payments match the simulator ledger', async () => {
    const clock = new SimulatedClock(T0);
    venue = await startVenue({ clock });
    const { exchange, simulator } = venue;
    const rates: FundingRate[] = [];
    const payments: FundingPayment[] = [];
    const states: ConnectionState[] = [];
    exchange.events.on('fundingRate', (rate) => rates.push(rate));
    exchange.events.on('funding', (payment) => payments.push(payment));
    exchange.events.on('connection', (state) => states.push(state));
    simulator.setFundingRate('ETH', 0.0001);
    await exchange.connect();

    // The predicted rate: /funding-rates (8-hour fraction) and market_stats (percent per hour).
    const current = await exchange.fetchFundingRate('ETH');
    expect(current).toMatchObject({ intervalHours: 1, predicted: true });
    expect(current.ratePerHour).toBeCloseTo(0.0001, 15);
    expect(current.rate).toBeCloseTo(0.0001, 15);
    await exchange.subscribe({ channel: 'fundingRate', symbol: 'ETH' });
    await waitFor(() => rates.length > 0, 5_000, 'a streamed funding rate');
    expect(rates[0]?.ratePerHour).toBeCloseTo(0.0001, 15);

    // A 1 ETH long pays at 01:00: 1 × 3000 × 0.0001 = 0.3.
    await exchange.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '1' });
    clock.advanceTo(T0 + HOUR / 2 + 1);
    simulator.advanceTo(clock.now());
    await waitFor(() => payments.length === 1, 5_000, 'the first funding payment');
    expect(payments[0]).toMatchObject({
      symbol: 'ETH',
      fundingTime: T0 + HOUR / 2,
      positionQuantity: 1,
      settled: true,
    });
    expect(payments[0]?.amount).toBeCloseTo(-0.3, 9);
    expect(payments[0]?.rate).toBeCloseTo(0.0001, 15);
    expect(payments[0]?.markPrice).toBeCloseTo(3000, 6);

    // A negative rate: the long receives at 02:00.
    simulator.setFundingRate('ETH', -0.00005);
    clock.advanceTo(T0 + HOUR + HOUR / 2);
    simulator.advanceTo(clock.now());
    await waitFor(() => payments.length === 2, 5_000, 'the second funding payment');
    expect(payments[1]?.amount).toBeCloseTo(0.15, 9);

    // The adapter's payments add up to the simulator's own ledger.
    const ledger = simulator.exchange.totals(account).funding;
    expect(payments.reduce((sum, payment) => sum + payment.amount, 0)).toBeCloseTo(ledger, 9);

    // History: /fundings rows (unsigned percent + direction) come back signed and hourly.
    const history = await exchange.fetchFundingHistory({ symbol: 'ETH', from: T0, to: clock.now() });
    expect(history.map((rate) => rate.timestamp)).toEqual([T0 + HOUR / 2, T0 + 1.5 * HOUR]);
    expect(history[0]?.ratePerHour).toBeCloseTo(0.0001, 15);
    expect(history[1]?.ratePerHour).toBeCloseTo(-0.00005, 15);

    // A reconnect repeats the funding history in the account snapshot: no payment twice.
    simulator.dropConnections();
    await waitFor(() => states.filter((state) => state === 'connected').length >= 2, 5_000, 'reconnect');
    await exchange.fetchAccount(account);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(payments).toHaveLength(2);
  });
});
