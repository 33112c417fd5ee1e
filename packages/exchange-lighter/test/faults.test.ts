import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ConnectionState, ExchangeError, type Fill, type Ticker } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { LighterExchange } from '../src/lighter-exchange';
import { signCreateOrder } from '../src/signer/index';
import { SIM_ERROR } from '../src/sim/index';
import {
  ACCOUNT,
  API_KEY,
  POSEIDON_CRYPTO_TEST_KEY_0,
  POSEIDON_CRYPTO_TEST_KEY_1,
  startVenue,
  type Venue,
} from './helpers';

const account = String(ACCOUNT);
let venue: Venue | undefined;

afterEach(async () => {
  await venue?.close();
  venue = undefined;
});

async function caught(promise: Promise<unknown>): Promise<ExchangeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExchangeError);
    return error as ExchangeError;
  }
  throw new Error('expected a rejection');
}

describe('fault: nonce conflict', () => {
  it('resyncs from nextNonce after the venue calls a nonce invalid, and the retry goes through', async () => {
    venue = await startVenue();
    const { exchange, simulator } = venue;
    await exchange.connect();
    await exchange.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '0.01' });
    expect(simulator.nonceOf(ACCOUNT, API_KEY)).toBe(1);
    // Another client used the same API key three times: our local counter (1) is now stale.
    simulator.setNonce(ACCOUNT, API_KEY, 4);
    const order = await exchange.submitOrder({
      account,
      symbol: 'ETH',
      side: 'sell',
      type: 'market',
      quantity: '0.01',
    });
    expect(order.status).toBe('filled');
    expect(simulator.rejections.map((rejection) => rejection.code)).toEqual([SIM_ERROR.invalidNonce]);
    expect(simulator.nonceOf(ACCOUNT, API_KEY)).toBe(5);
    expect(simulator.accepted.createOrder).toBe(2);
  });

  it('gives up after one resync when another client keeps taking the nonce', async () => {
    venue = await startVenue();
    const { exchange, simulator } = venue;
    await exchange.connect();
    // Every nonce the venue hands out is consumed at once by a racing client.
    simulator.afterNextNonce = (accountIndex, apiKeyIndex) =>
      simulator.setNonce(accountIndex, apiKeyIndex, simulator.nonceOf(accountIndex, apiKeyIndex) + 1);
    const error = await caught(
      exchange.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '0.01' }),
    );
    expect(error.code).toBe('ORDER_REJECTED');
    expect(error.reason).toBe(`LIGHTER_${SIM_ERROR.invalidNonce}`);
    // One send, one resync, one retry: no loop.
    expect(simulator.rejections.map((rejection) => rejection.code)).toEqual([
      SIM_ERROR.invalidNonce,
      SIM_ERROR.invalidNonce,
    ]);
    expect(simulator.accepted.createOrder).toBe(0);
    simulator.afterNextNonce = undefined;
    expect(await exchange.fetchOpenOrders(account, 'ETH')).toEqual([]);
  });

  it('any rejection drops the local counter: the next order re-reads the nonce and succeeds', async () => {
    venue = await startVenue();
    const { exchange, simulator } = venue;
    await exchange.connect();
    await exchange.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '0.01' });
    simulator.failNextTx(21999, 'order book is paused');
    const error = await caught(
      exchange.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '0.01' }),
    );
    expect(error.code).toBe('ORDER_REJECTED');
    expect(error.reason).toBe('LIGHTER_21999');
    // Meanwhile another client used the key twice; the adapter does not trust its old counter.
    simulator.setNonce(ACCOUNT, API_KEY, simulator.nonceOf(ACCOUNT, API_KEY) + 2);
    await expect(
      exchange.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '0.01' }),
    ).resolves.toMatchObject({ status: 'filled' });
    expect(simulator.rejections.map((rejection) => rejection.code)).toEqual([21999]);
  });
});

describe('fault: dropped socket', () => {
  it('reconnects, resubscribes, and recovers fills made while disconnected, each once', async () => {
    venue = await startVenue();
    const { exchange, simulator } = venue;
    const states: ConnectionState[] = [];
    const fills: Fill[] = [];
    const tickers: Ticker[] = [];
    exchange.events.on('connection', (state) => states.push(state));
    exchange.events.on('fill', (fill) => fills.push(fill));
    exchange.events.on('ticker', (ticker) => tickers.push(ticker));
    exchange.events.on('error', () => {});
    await exchange.connect();
    await exchange.subscribe({ channel: 'ticker', symbol: 'ETH' });

    simulator.pauseStream();
    await waitFor(() => states.includes('reconnecting'), 5_000, 'reconnecting');
    // The order goes out over REST while the stream is down; submit learns its fate by polling.
    const order = await exchange.submitOrder({
      account,
      symbol: 'ETH',
      side: 'buy',
      type: 'market',
      quantity: '0.02',
    });
    expect(order.status).toBe('filled');
    expect(fills).toHaveLength(0);

    simulator.resumeStream();
    await waitFor(() => states.at(-1) === 'connected', 5_000, 'reconnected');
    await waitFor(() => fills.length === 1, 5_000, 'the missed fill from the account snapshot');
    expect(fills[0]).toMatchObject({ orderId: order.id, quantity: 0.02, cumulativeQuantity: 0.02 });

    // The ticker subscription came back with the connection.
    simulator.setMark('ETH', 3010);
    await waitFor(() => tickers.some((ticker) => ticker.mark === 3010), 5_000, 'ticker after resubscribe');

    // Another drop: the snapshot repeats the trade, which must not count twice.
    simulator.dropConnections();
    await waitFor(
      () => states.filter((state) => state === 'connected').length >= 3,
      5_000,
      'second reconnect',
    );
    simulator.setMark('ETH', 3020);
    await waitFor(
      () => tickers.some((ticker) => ticker.mark === 3020),
      5_000,
      'ticker after the second drop',
    );
    expect(fills).toHaveLength(1);
  });
});

describe('fault: bad signature', () => {
  it('a key the venue does not know signs: EXCHANGE_AUTH, not retryable, no nonce consumed, no order left', async () => {
    // The venue has the public key of test key 0; the adapter signs with test key 1.
    venue = await startVenue({ apiKeys: [{ index: API_KEY, privateKey: POSEIDON_CRYPTO_TEST_KEY_0 }] });
    await venue.exchange.close();
    const { simulator } = venue;
    const impostor = new LighterExchange(
      {
        baseUrl: venue.baseUrl,
        streamUrl: venue.streamUrl,
        accounts: [{ index: ACCOUNT, apiKeys: [{ index: API_KEY, privateKey: POSEIDON_CRYPTO_TEST_KEY_1 }] }],
        orderAckTimeoutMs: 2_000,
      },
      { id: 'impostor' },
    );
    try {
      await impostor.connect();
      const error = await caught(
        impostor.submitOrder({ account, symbol: 'ETH', side: 'buy', type: 'market', quantity: '0.01' }),
      );
      expect(error.code).toBe('EXCHANGE_AUTH');
      expect(error.retryable).toBe(false);
      expect(error.message).not.toContain(POSEIDON_CRYPTO_TEST_KEY_1);
      expect(simulator.nonceOf(ACCOUNT, API_KEY)).toBe(0);
      expect(simulator.accepted.createOrder).toBe(0);
      // Private reads use an auth token signed by the same wrong key.
      expect((await caught(impostor.fetchOpenOrders(account, 'ETH'))).code).toBe('EXCHANGE_AUTH');
    } finally {
      await impostor.close();
    }
  });

  it('the simulator refuses a signature with one flipped byte and a hash signed for another chain', async () => {
    venue = await startVenue();
    const { simulator, baseUrl } = venue;
    const tx = {
      AccountIndex: ACCOUNT,
      ApiKeyIndex: API_KEY,
      MarketIndex: 0,
      ClientOrderIndex: 7,
      BaseAmount: 100,
      Price: 300_000,
      IsAsk: 0,
      Type: 0,
      TimeInForce: 1,
      ReduceOnly: 0,
      TriggerPrice: 0,
      OrderExpiry: Date.now() + 3_600_000,
      ExpiredAt: Date.now() + 60_000,
      Nonce: 0,
    };
    const post = async (txInfo: string) => {
      const form = new FormData();
      form.set('tx_type', '14');
      form.set('tx_info', txInfo);
      const response = await fetch(`${baseUrl}/api/v1/sendTx`, { method: 'POST', body: form });
      return (await response.json()) as { code: number };
    };
    const signed = signCreateOrder(tx, POSEIDON_CRYPTO_TEST_KEY_0, simulator.chainId);
    const info = JSON.parse(signed.txInfo) as { Sig: string };
    const bytes = Buffer.from(info.Sig, 'base64');
    bytes[10] = (bytes[10] as number) ^ 0x01;
    expect((await post(signed.txInfo.replace(info.Sig, bytes.toString('base64')))).code).toBe(
      SIM_ERROR.invalidSignature,
    );
    const otherChain = signCreateOrder(tx, POSEIDON_CRYPTO_TEST_KEY_0, 300);
    expect((await post(otherChain.txInfo)).code).toBe(SIM_ERROR.invalidSignature);
    expect(simulator.nonceOf(ACCOUNT, API_KEY)).toBe(0);
    // The untouched one is accepted.
    expect((await post(signed.txInfo)).code).toBe(200);
    expect(simulator.nonceOf(ACCOUNT, API_KEY)).toBe(1);
  });
});

describe('fault: malformed messages', () => {
  it('stream garbage is reported as EXCHANGE_PROTOCOL and the stream keeps working', async () => {
    venue = await startVenue();
    const { exchange, simulator } = venue;
    const errors: ExchangeError[] = [];
    const tickers: Ticker[] = [];
    exchange.events.on('error', (error) => errors.push(error));
    exchange.events.on('ticker', (ticker) => tickers.push(ticker));
    await exchange.connect();
    await exchange.subscribe({ channel: 'ticker', symbol: 'ETH' });
    await exchange.subscribe({ channel: 'orderBook', symbol: 'ETH' });

    simulator.broadcastRaw('{not json');
    simulator.broadcastRaw(JSON.stringify([1, 2, 3]));
    simulator.broadcastRaw(
      JSON.stringify({ type: 'update/account_all', channel: `account_all:${ACCOUNT}`, trades: 'garbage' }),
    );
    simulator.broadcastRaw(
      JSON.stringify({
        type: 'update/order_book',
        channel: 'order_book:0',
        order_book: { asks: [{ price: 'abc', size: '1' }], bids: [] },
      }),
    );
    simulator.broadcastRaw(
      JSON.stringify({
        type: 'update/market_stats',
        channel: 'market_stats:0',
        market_stats: { market_id: 0 },
      }),
    );
    await waitFor(() => errors.length >= 5, 5_000, 'five protocol errors');
    expect(errors.every((error) => error.code === 'EXCHANGE_PROTOCOL')).toBe(true);

    simulator.setMark('ETH', 3050);
    await waitFor(() => tickers.some((ticker) => ticker.mark === 3050), 5_000, 'ticker after garbage');
    const order = await exchange.submitOrder({
      account,
      symbol: 'ETH',
      side: 'buy',
      type: 'market',
      quantity: '0.01',
    });
    expect(order.status).toBe('filled');
  });

  it('a REST response that is not JSON, or not the documented shape, is EXCHANGE_PROTOCOL', async () => {
    let body = 'this is not json';
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const exchange = new LighterExchange(
      {
        baseUrl: `http://127.0.0.1:${port}`,
        stream: false,
        accounts: [{ index: ACCOUNT, apiKeys: [{ index: API_KEY, privateKey: POSEIDON_CRYPTO_TEST_KEY_0 }] }],
      },
      { id: 'broken' },
    );
    try {
      expect((await caught(exchange.fetchMarkets())).code).toBe('EXCHANGE_PROTOCOL');
      body = JSON.stringify({ code: 200, order_book_details: [{ symbol: 3, market_id: 'x' }] });
      expect((await caught(exchange.fetchMarkets())).code).toBe('EXCHANGE_PROTOCOL');
    } finally {
      await exchange.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
