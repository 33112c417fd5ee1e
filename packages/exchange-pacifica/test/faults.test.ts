import { ExchangeError, type Order, type OrderBook, roundPrice } from '@perpkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createCredentials, PacificaRestClient } from '../src/rest-client';
import { PacificaWebSocket } from '../src/ws-client';
import {
  PRIMARY,
  RFC8032_TEST1_SEED,
  RFC8032_TEST3_SEED,
  SDK_EXAMPLE_PRIVATE_KEY,
  startVenue,
} from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function venue(...args: Parameters<typeof startVenue>) {
  const started = await startVenue(...args);
  cleanups.push(
    () => started.simulator.stop(),
    () => started.exchange.close(),
  );
  return started;
}

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 8_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function caught(promise: Promise<unknown>): Promise<ExchangeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExchangeError);
    return error as ExchangeError;
  }
  throw new Error('expected a rejection');
}

describe('dropped sockets', () => {
  it('reconnects, resubscribes, and catches up on an order filled while disconnected', async () => {
    const { simulator, exchange } = await venue();
    await exchange.connect();
    await exchange.subscribe({ channel: 'orderBook', symbol: 'BTC' });
    const books: OrderBook[] = [];
    const orders: Order[] = [];
    exchange.events.on('orderBook', (book) => books.push(book));
    exchange.events.on('order', (order) => orders.push(order));
    const errors: ExchangeError[] = [];
    exchange.events.on('error', (error) => errors.push(error));

    const mark = (await exchange.fetchTicker('BTC')).mark;
    const price = roundPrice(mark * 0.98, '1', 'buy');
    const order = await exchange.submitOrder({
      account: 'primary',
      symbol: 'BTC',
      side: 'buy',
      type: 'limit',
      price,
      quantity: '0.01',
    });
    await until(
      () => orders.some((item) => item.id === order.id && item.status === 'open'),
      'the order on the book',
    );

    // Down for a while: refused reconnects, and meanwhile the market trades through the order.
    simulator.refuseNextConnections(4);
    simulator.dropConnections();
    simulator.pauseMarket('BTC');
    simulator.setPrice('BTC', Number(price) - 500);
    expect(
      (await exchange.fetchPositions('primary')).find((position) => position.symbol === 'BTC')?.quantity,
    ).toBe(0.01);
    const booksBefore = books.length;
    simulator.pauseMarket('BTC', false);

    await until(() => (exchange.sockets().market?.stats.reconnects ?? 0) >= 1, 'a market-data reconnect');
    await until(() => books.length > booksBefore + 2, 'book snapshots after the reconnect');
    await until(
      () => orders.some((item) => item.id === order.id && item.status === 'filled'),
      'the fill missed while disconnected',
    );
    expect(exchange.sockets().market?.activeSubscriptions()).toEqual([
      { source: 'book', symbol: 'BTC', agg_level: 1 },
    ]);
    expect(errors.some((error) => error.code === 'EXCHANGE_UNAVAILABLE' && error.retryable)).toBe(true);
    expect(await exchange.fetchOrder('primary', order.id)).toMatchObject({
      status: 'filled',
      filledQuantity: 0.01,
    });
  });

  it('opens the circuit after repeated failures and recovers after the cooldown', async () => {
    const { simulator, wsUrl } = await venue();
    const socket = new PacificaWebSocket({
      url: wsUrl,
      reconnect: { baseDelayMs: 10, maxDelayMs: 20 },
      circuitBreaker: { failureThreshold: 3, cooldownMs: 300 },
    });
    cleanups.push(() => socket.close());
    const states: string[] = [];
    socket.events.on('state', (state) => states.push(state));
    socket.subscribe({ source: 'prices' });
    await socket.connect();
    simulator.refuseNextConnections(5);
    socket.dropConnection();
    await until(() => states.includes('circuit-open'), 'the circuit to open');
    await until(
      () => socket.state === 'connected' && socket.stats.reconnects >= 1,
      'recovery after the cooldown',
    );
    expect(socket.stats.circuitOpens).toBeGreaterThanOrEqual(1);
    const messages: string[] = [];
    socket.events.on('message', (channel) => messages.push(channel));
    await until(() => messages.includes('prices'), 'prices after recovery');
  });
});

describe('heartbeat, stale streams and connection limits', () => {
  it('pings keep an idle connection alive past the server idle timeout', async () => {
    const { simulator, exchange } = await venue({ idleTimeoutMs: 1_000 }, { pingIntervalMs: 100 });
    await exchange.connect();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(exchange.sockets().market?.stats.reconnects).toBe(0);
    expect(simulator.connectionCount()).toBe(3); // market data + two accounts
  });

  it('without pings the venue closes idle sockets, and the client reconnects and resubscribes', async () => {
    const { exchange } = await venue({ idleTimeoutMs: 300 }, { pingIntervalMs: 60_000 });
    await exchange.connect();
    await exchange.subscribe({ channel: 'ticker', symbol: 'BTC' });
    await until(
      () => (exchange.sockets().market?.stats.reconnects ?? 0) >= 1,
      'a reconnect after the idle close',
    );
    const tickers: number[] = [];
    exchange.events.on('ticker', (ticker) => tickers.push(ticker.mark));
    await until(() => tickers.length > 2, 'tickers after the reconnect');
  });

  it('a silent book stream is detected as stale and the connection is replaced', async () => {
    const { simulator, exchange } = await venue({}, { staleAfterMs: 300 });
    await exchange.connect();
    await exchange.subscribe({ channel: 'orderBook', symbol: 'ETH' });
    simulator.pauseMarket('ETH');
    await until(() => (exchange.sockets().market?.stats.staleReconnects ?? 0) >= 1, 'stale detection');
    simulator.pauseMarket('ETH', false);
    const books: OrderBook[] = [];
    exchange.events.on('orderBook', (book) => books.push(book));
    await until(() => books.length > 2, 'books after the stale reconnect');
  });

  it('rolls the connection over before the age limit without a reconnect gap', async () => {
    const { wsUrl } = await venue();
    const socket = new PacificaWebSocket({ url: wsUrl, maxConnectionAgeMs: 300, pingIntervalMs: 100 });
    cleanups.push(() => socket.close());
    socket.subscribe({ source: 'book', symbol: 'BTC', agg_level: 1 });
    await socket.connect();
    await until(() => socket.stats.rollovers >= 2, 'two rollovers');
    const channels: string[] = [];
    socket.events.on('message', (channel) => channels.push(channel));
    await until(
      () => channels.filter((channel) => channel === 'book').length > 2,
      'books on the new connection',
    );
    expect(socket.stats.reconnects).toBe(0);
    expect(socket.state).toBe('connected');
  });
});

describe('rate limits (HTTP 429)', () => {
  it('a 429 storm is waited out: Retry-After honoured, else exponential backoff with jitter, bounded', async () => {
    const { simulator, restUrl } = await venue();
    const delays: number[] = [];
    const client = new PacificaRestClient({
      baseUrl: restUrl,
      sleep: async (milliseconds) => {
        delays.push(milliseconds);
      },
      random: () => 0.5,
      backoff: { baseDelayMs: 100, maxDelayMs: 1_000 },
    });
    simulator.rateLimitNext(4);
    // The simulator's 429 says `ratelimit: r=0;t=1`: no credits for one second.
    expect((await client.getPrices()).length).toBe(2);
    expect(delays).toEqual([1_000, 1_000, 1_000, 1_000]);

    delays.length = 0;
    simulator.rateLimitNext(2, 3);
    await client.getPrices();
    expect(delays).toEqual([3_000, 3_000]);

    const credentials = createCredentials({ secretKey: SDK_EXAMPLE_PRIVATE_KEY });
    simulator.rateLimitNext(6);
    const error = await caught(
      client.createMarketOrder(credentials, {
        symbol: 'BTC',
        amount: '0.001',
        side: 'bid',
        slippage_percent: '0.5',
        reduce_only: false,
      }),
    );
    expect(error.code).toBe('EXCHANGE_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(simulator.stats.rateLimited).toBe(12);
  });

  it('backoff without Retry-After doubles with jitter and stays under the cap', async () => {
    const { restUrl } = await venue();
    const delays: number[] = [];
    let calls = 0;
    const client = new PacificaRestClient({
      baseUrl: restUrl,
      maxRetries: 6,
      backoff: { baseDelayMs: 100, maxDelayMs: 1_000 },
      random: () => 1,
      sleep: async (milliseconds) => {
        delays.push(milliseconds);
      },
      fetch: async () => {
        calls += 1;
        return new Response('{"error":"Too many requests","code":429}', { status: 429 });
      },
    });
    const error = await caught(client.getPrices());
    expect(error.code).toBe('EXCHANGE_RATE_LIMITED');
    expect(calls).toBe(7);
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('a signed order sent during a storm is re-signed on each attempt and goes through', async () => {
    const { simulator, exchange } = await venue();
    await exchange.connect();
    simulator.rateLimitNext(2, 0);
    const order = await exchange.submitOrder({
      account: 'primary',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '0.001',
    });
    expect(order.id).toMatch(/^\d+$/);
    expect(simulator.stats.rejectedSignatures).toBe(0);
  });
});

describe('tick and lot', () => {
  it('the venue answers a misaligned price with a 500; after rounding it cannot happen', async () => {
    const { simulator, exchange, restUrl } = await venue({}, { offGrid: 'round' });
    await exchange.connect();
    const client = new PacificaRestClient({ baseUrl: restUrl });
    const credentials = createCredentials({ secretKey: SDK_EXAMPLE_PRIVATE_KEY });
    const error = await caught(
      client.createOrder(credentials, {
        symbol: 'BTC',
        price: '90000.5',
        amount: '0.001',
        side: 'bid',
        tif: 'GTC',
        reduce_only: false,
      }),
    );
    expect(error.code).toBe('EXCHANGE_UNAVAILABLE');
    expect(error.details?.status).toBe(500);
    expect(simulator.stats.misaligned).toBe(1);

    // The same intent through the adapter: the price is rounded down (a buy), the size to the lot.
    const order = await exchange.submitOrder({
      account: 'primary',
      symbol: 'BTC',
      side: 'buy',
      type: 'limit',
      price: '90000.5',
      quantity: '0.0010049',
      timeInForce: 'post-only',
    });
    expect(order.price).toBe(90_000);
    expect(order.quantity).toBe(0.001);
    expect(simulator.stats.misaligned).toBe(1);
  });

  it('with offGrid: reject, a misaligned order is refused before anything is sent', async () => {
    const { simulator, exchange } = await venue();
    await exchange.connect();
    const requests = simulator.stats.requests;
    const error = await caught(
      exchange.submitOrder({
        account: 'primary',
        symbol: 'BTC',
        side: 'buy',
        type: 'limit',
        price: '90000.5',
        quantity: '0.001',
      }),
    );
    expect(error.code).toBe('ORDER_REJECTED');
    expect(error.reason).toBe('INVALID_PRICE');
    expect(simulator.stats.requests).toBe(requests);
  });
});

describe('signatures', () => {
  it('an expired signature is refused as the venue does, and the adapter keeps trading', async () => {
    const { simulator, exchange } = await venue();
    await exchange.connect();
    simulator.clockOffsetMs = 60_000; // the venue's clock is a minute ahead: every 5 s window has expired
    const error = await caught(
      exchange.submitOrder({
        account: 'primary',
        symbol: 'BTC',
        side: 'buy',
        type: 'market',
        quantity: '0.001',
      }),
    );
    expect(error.code).toBe('EXCHANGE_AUTH');
    expect(error.message).toMatch(/Invalid message.*expired/);
    expect(error.retryable).toBe(true);
    expect(simulator.stats.rejectedSignatures).toBe(1);
    simulator.clockOffsetMs = 0;
    const order = await exchange.submitOrder({
      account: 'primary',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '0.001',
    });
    expect(order.status).not.toBe('rejected');
  });

  it('a body changed after signing fails verification; a wrong key is not retryable', async () => {
    const { restUrl } = await venue();
    const credentials = createCredentials({ secretKey: SDK_EXAMPLE_PRIVATE_KEY });
    const client = new PacificaRestClient({ baseUrl: restUrl });
    const body = client.sign(credentials, 'create_market_order', {
      symbol: 'BTC',
      amount: '0.001',
      side: 'bid',
      slippage_percent: '0.5',
      reduce_only: false,
    });
    const response = await fetch(`${restUrl}/orders/create_market`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, amount: '0.002' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      success: false,
      data: null,
      error: 'Verification failed',
      code: 400,
    });
  });

  it('an agent wallet signs for the main account; an unbound agent is refused', async () => {
    const { simulator, restUrl, wsUrl } = await venue();
    const { PacificaExchange } = await import('../src/exchange');
    const agent = new PacificaExchange(
      {
        baseUrl: restUrl,
        wsUrl,
        websocket: false,
        accounts: [
          { id: 'bound', account: PRIMARY, secretKey: RFC8032_TEST1_SEED },
          { id: 'unbound', account: PRIMARY, secretKey: RFC8032_TEST3_SEED },
        ],
      },
      { id: 'agent' },
    );
    cleanups.push(() => agent.close());
    await agent.connect();
    const order = await agent.submitOrder({
      account: 'bound',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '0.001',
    });
    expect(order.account).toBe('bound');
    await until(
      async () =>
        ((await simulator.sim.fetchPositions(PRIMARY)).find((item) => item.symbol === 'BTC')?.quantity ?? 0) >
        0,
      'the main account position',
    );
    const error = await caught(
      agent.submitOrder({
        account: 'unbound',
        symbol: 'BTC',
        side: 'buy',
        type: 'market',
        quantity: '0.001',
      }),
    );
    expect(error.code).toBe('EXCHANGE_AUTH');
    expect(error.retryable).toBe(false);
  });
});

describe('malformed messages', () => {
  it('are reported as EXCHANGE_PROTOCOL errors and the stream carries on', async () => {
    const { simulator, exchange } = await venue();
    await exchange.connect();
    await exchange.subscribe({ channel: 'orderBook', symbol: 'BTC' });
    const errors: ExchangeError[] = [];
    exchange.events.on('error', (error) => errors.push(error));
    simulator.sendRaw('{not json');
    simulator.sendRaw(JSON.stringify({ channel: 'book', data: { s: 'BTC', l: 'garbage' } }));
    simulator.sendRaw(JSON.stringify({ channel: 'prices', data: [{ symbol: 'BTC', mark: 'NaN' }] }));
    await until(() => errors.length >= 3, 'three protocol errors');
    for (const error of errors.slice(0, 3)) expect(error.code).toBe('EXCHANGE_PROTOCOL');
    expect(errors[0]?.message).toMatch(/malformed message \(not JSON/);
    expect(errors.some((error) => /book message does not match the protocol/.test(error.message))).toBe(true);
    const books: OrderBook[] = [];
    exchange.events.on('orderBook', (book) => books.push(book));
    await until(() => books.length > 2, 'books after the malformed messages');
    for (const book of books)
      for (const [price, size] of [...book.bids, ...book.asks])
        expect(Number.isFinite(price + size)).toBe(true);
  });
});
