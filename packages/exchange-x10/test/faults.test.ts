import type { ConnectionState, ExchangeError, Fill, Order, OrderBook, Ticker } from '@perpkit/core';
import { OrderRejectedError } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createOrderRequest } from '../src/signing';
import { X10Simulator } from '../src/sim';
import { X10Exchange } from '../src/x10-exchange';
import { KEY_DERIVATION } from './fixtures/official-vectors';
import { ACCOUNT, adapterOptions, BTC, simulatorOptions, startPair } from './helpers';

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

function collect<T>(
  exchange: X10Exchange,
  event: 'orderBook' | 'error' | 'ticker' | 'fill' | 'order' | 'fundingRate' | 'account',
) {
  const items: T[] = [];
  exchange.events.on(event, (item: unknown) => items.push(item as T));
  return items;
}

async function restBook(simulator: X10Simulator) {
  const response = await fetch(`${simulator.restUrl}/info/markets/${BTC.name}/orderbook`, {
    headers: { 'User-Agent': 'test' },
  });
  const body = (await response.json()) as {
    data: { bid: { price: string; qty: string }[]; ask: { price: string; qty: string }[] };
  };
  return {
    bids: body.data.bid.map((level) => [Number(level.price), Number(level.qty)]),
    asks: body.data.ask.map((level) => [Number(level.price), Number(level.qty)]),
  };
}

function signedBody(overrides: Partial<Parameters<typeof createOrderRequest>[0]> = {}) {
  return createOrderRequest({
    market: {
      name: BTC.name,
      syntheticAssetId: BTC.syntheticId,
      syntheticResolution: BTC.syntheticResolution,
      collateralAssetId: BTC.collateralId,
      collateralResolution: 1_000_000,
    },
    account: ACCOUNT,
    side: 'BUY',
    type: 'LIMIT',
    qty: '0.01',
    price: '50000',
    timeInForce: 'GTT',
    feeRate: '0.00025',
    nonce: 4242,
    expiryEpochMillis: Date.now() + 3_600_000,
    chainId: 'SN_SEPOLIA',
    ...overrides,
  });
}

async function postOrder(simulator: X10Simulator, body: unknown) {
  const response = await fetch(`${simulator.restUrl}/user/order`, {
    method: 'POST',
    headers: { 'User-Agent': 'test', 'X-Api-Key': ACCOUNT.apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { status: string; error?: { code: number; message: string } },
  };
}

describe('order book stream', () => {
  it('applies deltas as size changes and matches the venue book', async () => {
    const { simulator, exchange } = await pair();
    const books = collect<OrderBook>(exchange, 'orderBook');
    await exchange.subscribe({ channel: 'orderBook', symbol: BTC.name });
    await waitFor(() => books.length > 0, 5_000, 'snapshot');
    simulator.setPrice(BTC.name, 60_003.5);
    simulator.setPrice(BTC.name, 59_998.2);
    await waitFor(() => books.some((book) => book.sequence === 3), 5_000, 'two deltas');
    const last = books.at(-1) as OrderBook;
    expect({ bids: last.bids, asks: last.asks }).toEqual(await restBook(simulator));
  });

  it('a sequence gap raises an error, resynchronizes from a fresh snapshot and ends on the right book', async () => {
    const { simulator, exchange } = await pair();
    const books = collect<OrderBook>(exchange, 'orderBook');
    const errors = collect<ExchangeError>(exchange, 'error');
    await exchange.subscribe({ channel: 'orderBook', symbol: BTC.name });
    await waitFor(() => books.length > 0, 5_000, 'snapshot');
    simulator.dropNextBookDelta();
    simulator.setPrice(BTC.name, 60_050); // seq 2, never sent
    simulator.setPrice(BTC.name, 60_100); // seq 3 arrives after 1: a gap
    await waitFor(() => errors.some((error) => /sequence gap/.test(error.message)), 5_000, 'gap error');
    expect(errors.find((error) => /sequence gap/.test(error.message))?.retryable).toBe(true);
    // The gapped delta is never applied: the next book is the resync snapshot (sequence 1).
    await waitFor(() => books.filter((book) => book.sequence === 1).length >= 2, 5_000, 'resync snapshot');
    expect(books.some((book) => book.sequence === 3)).toBe(false);
    const last = books.at(-1) as OrderBook;
    expect({ bids: last.bids, asks: last.asks }).toEqual(await restBook(simulator));
    expect(last.bids[0]?.[0]).toBeCloseTo(60_099, 6);
  });

  it('a malformed message is reported, ignored, and the stream goes on', async () => {
    const { simulator, exchange } = await pair();
    const books = collect<OrderBook>(exchange, 'orderBook');
    const errors = collect<ExchangeError>(exchange, 'error');
    await exchange.subscribe({ channel: 'orderBook', symbol: BTC.name });
    await waitFor(() => books.length > 0, 5_000, 'snapshot');
    simulator.sendRaw(`/orderbooks/${BTC.name}`, '{"type":"DELTA","seq":"x"');
    simulator.sendRaw(
      `/orderbooks/${BTC.name}`,
      JSON.stringify({ type: 'DELTA', ts: 1, seq: 2, data: { m: 5 } }),
    );
    await waitFor(() => errors.length >= 2, 5_000, 'two protocol errors');
    expect(errors.every((error) => error.code === 'EXCHANGE_PROTOCOL')).toBe(true);
    simulator.setPrice(BTC.name, 60_010);
    await waitFor(() => books.some((book) => book.sequence === 2), 5_000, 'next delta');
    expect(simulator.connections(`/orderbooks/${BTC.name}`)).toBe(1);
  });
});

describe('connections', () => {
  it('answers the server ping in time and keeps the socket; a client that does not pong is dropped', async () => {
    const { simulator, exchange } = await pair({ pingIntervalMs: 100, pongTimeoutMs: 2_000 });
    const states: ConnectionState[] = [];
    exchange.events.on('connection', (state) => states.push(state));
    await exchange.subscribe({ channel: 'ticker', symbol: BTC.name });
    // Many pings, each answered in time (the deadline is generous so a loaded machine cannot fail it).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(states).not.toContain('reconnecting');
    expect(simulator.connections(`/prices/mark/${BTC.name}`)).toBe(1);

    const silent = new WebSocket(`${simulator.streamUrl}/prices/mark/${BTC.name}`, {
      headers: { 'User-Agent': 'test' },
      autoPong: false,
    });
    const closed = new Promise<void>((resolve) => silent.on('close', () => resolve()));
    await closed;
    await waitFor(
      () => simulator.connections(`/prices/mark/${BTC.name}`) === 1,
      5_000,
      'the silent client gone',
    );
    expect(states).not.toContain('reconnecting');
  });

  it('reconnects after a dropped socket and streams again (ticker and account)', async () => {
    const { simulator, exchange } = await pair();
    const states: ConnectionState[] = [];
    exchange.events.on('connection', (state) => states.push(state));
    const tickers = collect<Ticker>(exchange, 'ticker');
    const orders = collect<Order>(exchange, 'order');
    await exchange.subscribe({ channel: 'ticker', symbol: BTC.name });
    simulator.dropConnections();
    await waitFor(() => states.includes('reconnecting'), 5_000, 'reconnecting');
    await waitFor(
      () =>
        simulator.connections(`/prices/mark/${BTC.name}`) === 1 && simulator.connections('/account') === 1,
      5_000,
      'both streams back',
    );
    simulator.setPrice(BTC.name, 61_000);
    await waitFor(() => tickers.some((ticker) => ticker.mark === 61_000), 5_000, 'ticker after reconnect');
    const order = await exchange.submitOrder({
      account: 'main',
      symbol: BTC.name,
      side: 'buy',
      type: 'limit',
      price: '50000',
      quantity: '0.01',
    });
    await waitFor(() => orders.some((item) => item.id === order.id), 5_000, 'order event after reconnect');
  });

  it('backs off and retries on HTTP 429; gives up with a retryable rate-limit error', async () => {
    const { simulator, exchange } = await pair({}, { maxRetries: 2 });
    simulator.rateLimitNext(2);
    const ticker = await exchange.fetchTicker(BTC.name);
    expect(ticker.mark).toBeGreaterThan(0);
    simulator.rateLimitNext(3);
    await expect(exchange.fetchTicker(BTC.name)).rejects.toMatchObject({
      code: 'EXCHANGE_RATE_LIMITED',
      retryable: true,
    });
  });

  it('sends User-Agent on every request and X-Api-Key on private ones', async () => {
    const { simulator, exchange } = await pair();
    await exchange.fetchAccount('main');
    expect(simulator.requests.length).toBeGreaterThan(0);
    for (const request of simulator.requests) {
      expect(request.headers['user-agent']).toBe('perpkit-exchange-x10/0.1');
      if (request.path.startsWith('/user/')) expect(request.headers['x-api-key']).toBe(ACCOUNT.apiKey);
    }
  });

  it('refuses an account whose API key belongs to another vault', async () => {
    const simulator = await X10Simulator.start(simulatorOptions());
    const exchange = new X10Exchange(
      adapterOptions(simulator, {
        accounts: [
          { id: 'main', apiKey: ACCOUNT.apiKey, starkPrivateKey: ACCOUNT.starkPrivateKey, vault: 99 },
        ],
      }),
    );
    cleanup = async () => {
      await exchange.close();
      await simulator.close();
    };
    await expect(exchange.connect()).rejects.toMatchObject({ code: 'EXCHANGE_AUTH' });
  });
});

describe('venue checks on orders (simulator)', () => {
  it('a tampered order fails the signature check with the venue error envelope', async () => {
    const { simulator } = await pair();
    const body = signedBody();
    const tampered = { ...body, qty: '0.02' }; // the signature covers 0.01
    const result = await postOrder(simulator, tampered);
    expect(result.status).toBe(400);
    expect(result.body).toEqual({ status: 'ERROR', error: { code: 1101, message: expect.any(String) } });
    const accepted = await postOrder(simulator, body);
    expect(accepted.body.status).toBe('OK');
  });

  it('a signature by another key, a foreign stark key and a foreign vault are refused', async () => {
    const { simulator } = await pair();
    const otherKey = signedBody({
      account: { ...ACCOUNT, starkPrivateKey: KEY_DERIVATION.starkPrivateKey },
      nonce: 1,
    });
    expect((await postOrder(simulator, otherKey)).body.error?.code).toBe(1101);
    const foreignKey = signedBody({
      account: { ...ACCOUNT, starkPublicKey: KEY_DERIVATION.starkPublicKey },
      nonce: 2,
    });
    expect((await postOrder(simulator, foreignKey)).body.error?.code).toBe(1100);
    const foreignVault = signedBody({ account: { ...ACCOUNT, vault: 7 }, nonce: 3 });
    expect((await postOrder(simulator, foreignVault)).body.error?.code).toBe(1102);
  });

  it('amounts rounded the wrong way fail the signature check', async () => {
    const { simulator } = await pair();
    // A buyer's collateral must round up; a body whose fee is lowered after signing no longer verifies.
    const body = signedBody({ price: '50000.1', qty: '0.0011', feeRate: '0.0003' });
    expect((await postOrder(simulator, { ...body, fee: '0.00025' })).body.error?.code).toBe(1101);
  });

  it('a stale expiry is refused by the venue, and by the adapter as an order rejection', async () => {
    const { simulator, exchange } = await pair();
    const stale = signedBody({ expiryEpochMillis: Date.now() - 1_000 });
    expect((await postOrder(simulator, stale)).body.error?.code).toBe(1135);
    const error = await exchange
      .submitOrder({
        account: 'main',
        symbol: BTC.name,
        side: 'buy',
        type: 'limit',
        price: '50000',
        quantity: '0.01',
        expiresAt: Date.now() - 1_000,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OrderRejectedError);
    expect((error as OrderRejectedError).reason).toBe('InvalidOrderExpiration');
  });

  it('a fee below the account rate and an off-grid quantity are refused', async () => {
    const { simulator } = await pair();
    expect((await postOrder(simulator, signedBody({ feeRate: '0.0001' }))).body.error?.code).toBe(1128);
    expect((await postOrder(simulator, signedBody({ qty: '0.01005' }))).body.error?.code).toBe(1121);
  });
});

describe('client order ids', () => {
  it('an order placed by another process is cancelled by its client id', async () => {
    const { simulator, exchange } = await pair();
    // Another process (plain REST) places the order; this adapter only knows the client id.
    const body = signedBody({ externalId: 'desk-order-7', nonce: 77 });
    expect((await postOrder(simulator, body)).body.status).toBe('OK');
    const listed = await exchange.fetchOpenOrders('main', BTC.name);
    expect(listed.map((order) => order.clientOrderId)).toContain('desk-order-7');
    const cancelled = await exchange.cancelOrder({
      account: 'main',
      symbol: BTC.name,
      clientOrderId: 'desk-order-7',
    });
    expect(cancelled.status).toBe('cancelled');
    await expect(
      exchange.cancelOrder({ account: 'main', symbol: BTC.name, clientOrderId: 'desk-order-7' }),
    ).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });
});

describe('fills and funding', () => {
  it('fills across levels are reported once each, with cumulative fields; a reconnect snapshot adds none', async () => {
    const { simulator, exchange } = await pair();
    const fills = collect<Fill>(exchange, 'fill');
    const orders = collect<Order>(exchange, 'order');
    // Each generated level holds 0.1 BTC; a limit buy through two ask levels fills 0.2 and rests 0.05.
    const order = await exchange.submitOrder({
      account: 'main',
      symbol: BTC.name,
      side: 'buy',
      type: 'limit',
      price: '60002.0',
      quantity: '0.25',
    });
    await waitFor(
      () => orders.some((item) => item.id === order.id && item.status === 'partially-filled'),
      5_000,
      'partial',
    );
    const mine = () => fills.filter((fill) => fill.orderId === order.id);
    await waitFor(() => mine().at(-1)?.cumulativeQuantity === 0.2, 5_000, 'fills');
    expect(mine().map((fill) => [fill.price, fill.quantity])).toEqual([
      [60_001, 0.1],
      [60_002, 0.1],
    ]);
    expect(mine().map((fill) => fill.liquidity)).toEqual(['taker', 'taker']);
    const last = mine().at(-1) as Fill;
    expect(last.cumulativeFee).toBeCloseTo(
      mine().reduce((sum, fill) => sum + fill.fee, 0),
      12,
    );
    expect(last.averagePrice).toBeCloseTo(60_001.5, 9);
    const accountEvents = collect<unknown>(exchange, 'account');
    simulator.dropConnections();
    // The reconnect snapshot (orders, positions, balance) produces an account event once applied.
    await waitFor(() => accountEvents.length > 0, 5_000, 'the reconnect snapshot');
    expect(mine()).toHaveLength(2);
  });

  it('funding is hourly: the rate, the history and the stream are per hour', async () => {
    const { simulator, exchange } = await pair();
    const rate = await exchange.fetchFundingRate(BTC.name);
    expect(rate.intervalHours).toBe(1);
    expect(rate.ratePerHour).toBe(rate.rate);
    const now = Date.now();
    const history = await exchange.fetchFundingHistory({
      symbol: BTC.name,
      from: now - 5 * 3_600_000,
      to: now,
    });
    expect(history.length).toBe(5);
    for (let index = 1; index < history.length; index++)
      expect((history[index]?.timestamp ?? 0) - (history[index - 1]?.timestamp ?? 0)).toBe(3_600_000);
    const rates = collect<{ rate: number; ratePerHour: number; predicted?: boolean }>(
      exchange,
      'fundingRate',
    );
    await exchange.subscribe({ channel: 'fundingRate', symbol: BTC.name });
    // The subscription starts from the predicted rate (the stream carries only applied rates).
    expect(rates[0]).toMatchObject({ rate: 0.0000125, ratePerHour: 0.0000125, predicted: true });
    simulator.publishFunding(BTC.name, 0.00004);
    await waitFor(() => rates.length > 1, 5_000, 'funding event');
    expect(rates[1]).toMatchObject({ rate: 0.00004, ratePerHour: 0.00004 });
  });

  it('a zero balance (the venue answers 404) is an empty account, not an error', async () => {
    const simulator = await X10Simulator.start(
      simulatorOptions({
        accounts: [
          {
            apiKey: ACCOUNT.apiKey,
            vault: ACCOUNT.vault,
            starkPublicKey: ACCOUNT.starkPublicKey,
            balance: 0,
          },
        ],
      }),
    );
    const exchange = new X10Exchange(adapterOptions(simulator));
    cleanup = async () => {
      await exchange.close();
      await simulator.close();
    };
    const snapshot = await exchange.fetchAccount('main');
    expect(snapshot).toMatchObject({ equity: 0, collateral: 0, freeCollateral: 0, positions: [] });
  });
});
