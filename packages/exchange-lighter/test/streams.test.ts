import type { OrderBook } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startVenue, type Venue } from './helpers';

let venue: Venue | undefined;

afterEach(async () => {
  await venue?.close();
  venue = undefined;
});

describe('order book stream', () => {
  it('snapshot plus absolute-size updates rebuild the same book the REST endpoint serves', async () => {
    venue = await startVenue();
    const { exchange, simulator } = venue;
    const books: OrderBook[] = [];
    exchange.events.on('orderBook', (book) => books.push(book));
    await exchange.connect();
    await exchange.subscribe({ channel: 'orderBook', symbol: 'ETH' });
    await waitFor(() => books.length > 0, 5_000, 'the snapshot');
    expect(books[0]?.bids[0]?.[0]).toBeLessThan(3000);
    expect(books[0]?.asks[0]?.[0]).toBeGreaterThan(3000);

    for (const mark of [3003.5, 2998.25, 3100]) {
      simulator.setMark('ETH', mark);
      await waitFor(
        () => {
          const last = books.at(-1);
          return last !== undefined && (last.bids[0]?.[0] ?? 0) < mark && (last.asks[0]?.[0] ?? 0) > mark;
        },
        5_000,
        `the book around ${mark}`,
      );
      const streamed = books.at(-1) as OrderBook;
      const rest = await exchange.fetchOrderBook('ETH', 10);
      expect(streamed.bids).toEqual(rest.bids);
      expect(streamed.asks).toEqual(rest.asks);
    }
    // Levels that left the book were removed (size 0), not kept at stale sizes.
    const last = books.at(-1) as OrderBook;
    expect(last.bids.every(([price]) => price < 3100)).toBe(true);
    expect(last.bids).toHaveLength(10);

    await exchange.unsubscribe({ channel: 'orderBook', symbol: 'ETH' });
    const count = books.length;
    simulator.setMark('ETH', 3200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(books).toHaveLength(count);
  });
});
