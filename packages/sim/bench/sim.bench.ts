/**
 * Sim throughput: simulated orders per second and book updates per second.
 * Run: pnpm --filter @perpkit/sim bench
 */
import { SimulatedClock } from '@perpkit/core';
import { SimExchange } from '../src/index';

function measure(name: string, unit: string, count: number, run: () => void): void {
  // Warm up the JIT on a tenth of the work, then time the rest.
  const started = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${name.padEnd(48)} ${Math.round(count / seconds)
      .toLocaleString('en-US')
      .padStart(12)} ${unit}/s  (${count.toLocaleString('en-US')} in ${(seconds * 1000).toFixed(0)} ms)`,
  );
}

const markets = [
  {
    symbol: 'BTC',
    tickSize: '0.1',
    lotSize: '0.001',
    minNotional: 0,
    maxLeverage: 50,
    fundingIntervalHours: 1,
  },
];

function marketOrders(count: number) {
  const clock = new SimulatedClock(Date.UTC(2025, 0, 1));
  const sim = new SimExchange(
    { fillModel: 'mark', markets, accounts: [{ id: 'main', balance: 1e9 }] },
    { clock },
  );
  sim.processTicker({ symbol: 'BTC', mark: 60_000, timestamp: clock.now() });
  const buy = { account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '0.01' } as const;
  const sell = { ...buy, side: 'sell' } as const;
  return () => {
    for (let index = 0; index < count; index += 1) sim.submitOrderSync(index % 2 === 0 ? buy : sell);
  };
}

/** Every bench runs on a simulated clock that agrees with its data's timestamps. */
const START = Date.UTC(2025, 0, 1);

function limitPlaceAndCancel(count: number) {
  const sim = new SimExchange(
    { fillModel: 'mark', markets, accounts: [{ id: 'main', balance: 1e9 }] },
    { clock: new SimulatedClock(START) },
  );
  sim.processTicker({ symbol: 'BTC', mark: 60_000, timestamp: START });
  return () => {
    for (let index = 0; index < count; index += 1) {
      const order = sim.submitOrderSync({
        account: 'main',
        symbol: 'BTC',
        side: 'buy',
        type: 'limit',
        price: '59000',
        quantity: '0.01',
      });
      void sim.cancelOrder({ account: 'main', symbol: 'BTC', orderId: order.id });
    }
  };
}

function bookUpdates(count: number, restingOrders: number) {
  const sim = new SimExchange(
    { fillModel: 'book', markets, accounts: [{ id: 'main', balance: 1e9 }] },
    { clock: new SimulatedClock(START) },
  );
  const books = Array.from({ length: 64 }, (_, variant) => {
    const mid = 60_000 + (variant % 16) * 0.5;
    return {
      symbol: 'BTC',
      timestamp: 0,
      bids: Array.from(
        { length: 20 },
        (_, level) => [Math.round((mid - 0.5 - level * 0.5) * 10) / 10, 0.1 + level * 0.05] as const,
      ),
      asks: Array.from(
        { length: 20 },
        (_, level) => [Math.round((mid + 0.5 + level * 0.5) * 10) / 10, 0.1 + level * 0.05] as const,
      ),
    };
  });
  sim.processOrderBook({ ...(books[0] as (typeof books)[number]), timestamp: START });
  for (let index = 0; index < restingOrders; index += 1) {
    sim.submitOrderSync({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'limit',
      price: String(59_000 - index),
      quantity: '0.01',
    });
  }
  return () => {
    for (let index = 0; index < count; index += 1) {
      const book = books[index & 63] as (typeof books)[number];
      sim.processOrderBook({
        symbol: book.symbol,
        bids: book.bids,
        asks: book.asks,
        timestamp: START + index + 1,
      });
    }
  };
}

function candles(count: number, holding = false) {
  const sim = new SimExchange(
    { fillModel: 'next-open', markets, accounts: [{ id: 'main', balance: 1e9 }] },
    { clock: new SimulatedClock(START) },
  );
  const start = START;
  if (holding) {
    // A position open through the run: every bar runs the liquidation check and funding pays.
    sim.processCandle(
      'BTC',
      { timestamp: start - 60_000, open: 60_000, high: 60_005, low: 59_995, close: 60_000, volume: 1 },
      60_000,
    );
    sim.submitOrderSync({ account: 'main', symbol: 'BTC', side: 'buy', type: 'market', quantity: '1' });
  }
  return () => {
    for (let index = 0; index < count; index += 1) {
      const price = 60_000 + (index % 100);
      sim.processCandle(
        'BTC',
        {
          timestamp: start + index * 60_000,
          open: price,
          high: price + 5,
          low: price - 5,
          close: price + 1,
          volume: 1,
        },
        60_000,
      );
    }
  };
}

console.log(`@perpkit/sim benchmark (node ${process.version}, ${process.arch})`);
marketOrders(20_000)();
measure('market orders, submit → fill (mark model)', 'orders', 200_000, marketOrders(200_000));
limitPlaceAndCancel(20_000)();
measure('limit orders, place + cancel', 'orders', 100_000, limitPlaceAndCancel(100_000));
bookUpdates(20_000, 0)();
measure('L2 book updates (20 levels/side)', 'updates', 500_000, bookUpdates(500_000, 0));
measure('L2 book updates with 50 resting orders', 'updates', 200_000, bookUpdates(200_000, 50));
candles(100_000)();
measure('candles, no orders (next-open model)', 'bars', 2_000_000, candles(2_000_000));
measure('candles, holding a position (next-open model)', 'bars', 2_000_000, candles(2_000_000, true));
