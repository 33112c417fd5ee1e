import { ExchangeError } from '@perpkit/core';
import { describe, expect, it } from 'vitest';
import { PacificaRestClient } from '../src/rest-client';

/*
 * The response examples of the Pacifica docs (docs.pacifica.fi, REST API pages), as printed there
 * (the orderbook example's trailing comma removed: it is not JSON), served to the real client by a
 * stand-in for the network.
 */
const DOCS: Record<string, unknown> = {
  '/info': {
    success: true,
    data: [
      {
        symbol: 'ETH',
        tick_size: '0.1',
        min_tick: '0',
        max_tick: '1000000',
        lot_size: '0.0001',
        max_leverage: 50,
        isolated_only: false,
        min_order_size: '10',
        max_order_size: '5000000',
        funding_rate: '0.0000125',
        next_funding_rate: '0.0000125',
        created_at: 1748881333944,
      },
      {
        symbol: 'BTC',
        tick_size: '1',
        min_tick: '0',
        max_tick: '1000000',
        lot_size: '0.00001',
        max_leverage: 50,
        isolated_only: false,
        min_order_size: '10',
        max_order_size: '5000000',
        funding_rate: '0.0000125',
        next_funding_rate: '0.0000125',
        created_at: 1748881333944,
      },
    ],
    error: null,
    code: null,
  },
  '/info/prices': {
    success: true,
    data: [
      {
        funding: '0.00010529',
        mark: '1.084819',
        mid: '1.08615',
        next_funding: '0.00011096',
        open_interest: '3634796',
        oracle: '1.084524',
        symbol: 'XPL',
        timestamp: 1759222967974,
        volume_24h: '20896698.0672',
        yesterday_price: '1.3412',
      },
    ],
    error: null,
    code: null,
  },
  '/book?symbol=BTC': {
    success: true,
    data: {
      s: 'BTC',
      l: [
        [
          { p: '106504', a: '0.26203', n: 1 },
          { p: '106498', a: '0.29281', n: 1 },
        ],
        [
          { p: '106559', a: '0.26802', n: 1 },
          { p: '106564', a: '0.3002', n: 1 },
        ],
      ],
      t: 1751370536325,
    },
    error: null,
    code: null,
  },
  '/account?account=42trU9A5': {
    success: true,
    data: [
      {
        balance: '2000.000000',
        fee_level: 0,
        account_equity: '2150.250000',
        available_to_spend: '1800.750000',
        available_to_withdraw: '1500.850000',
        pending_balance: '0.000000',
        total_margin_used: '349.500000',
        cross_mmr: '420.690000',
        positions_count: 2,
        orders_count: 3,
        stop_orders_count: 1,
        updated_at: 1716200000000,
        use_ltp_for_stop_orders: false,
      },
    ],
    error: null,
    code: null,
  },
  '/positions?account=42trU9A5': {
    success: true,
    data: [
      {
        symbol: 'AAVE',
        side: 'ask',
        amount: '223.72',
        entry_price: '279.283134',
        margin: '0',
        funding: '13.159593',
        isolated: false,
        created_at: 1754928414996,
        updated_at: 1759223365538,
      },
    ],
    error: null,
    code: null,
  },
  '/orders?account=42trU9A5': {
    success: true,
    data: [
      {
        order_id: 315979358,
        client_order_id: 'add9a4b5-c7f7-4124-b57f-86982d86d479',
        symbol: 'ASTER',
        side: 'ask',
        price: '1.836',
        initial_amount: '85.33',
        filled_amount: '0',
        cancelled_amount: '0',
        stop_price: null,
        order_type: 'limit',
        stop_parent_order_id: null,
        reduce_only: false,
        created_at: 1759224706737,
        updated_at: 1759224706737,
      },
    ],
    error: null,
    code: null,
  },
  '/funding/history?account=42trU9A5&limit=20': {
    success: true,
    data: [
      {
        history_id: 2287920,
        symbol: 'PUMP',
        side: 'ask',
        amount: '39033804',
        payout: '2.617479',
        rate: '0.0000125',
        created_at: 1759222804122,
      },
    ],
    next_cursor: '11114Lz77',
    has_more: true,
  },
  '/funding_rate/history?symbol=BTC': {
    success: true,
    data: [
      {
        oracle_price: '117170.410304',
        bid_impact_price: '117126',
        ask_impact_price: '117142',
        funding_rate: '0.0000125',
        next_funding_rate: '0.0000125',
        created_at: 1753806934249,
      },
    ],
    next_cursor: '11114Lz77',
    has_more: true,
  },
};

function clientServing(bodies: Record<string, unknown>, status = 200) {
  return new PacificaRestClient({
    baseUrl: 'https://venue.invalid/api/v1',
    maxRetries: 0,
    fetch: async (input) => {
      const path = String(input).replace('https://venue.invalid/api/v1', '');
      if (!(path in bodies)) return new Response('{"error":"Not found","code":404}', { status: 404 });
      return new Response(JSON.stringify(bodies[path]), { status });
    },
  });
}

const allFinite = (value: unknown): boolean =>
  typeof value === 'number'
    ? Number.isFinite(value)
    : Array.isArray(value)
      ? value.every(allFinite)
      : value !== null && typeof value === 'object'
        ? Object.values(value).every(allFinite)
        : true;

describe('the documented payload shapes', () => {
  const client = clientServing(DOCS);

  it('market info keeps tick and lot exact', async () => {
    const markets = await client.getMarketInfo();
    expect(
      markets.map((market) => [market.symbol, market.tick_size, market.lot_size, market.max_leverage]),
    ).toEqual([
      ['ETH', '0.1', '0.0001', 50],
      ['BTC', '1', '0.00001', 50],
    ]);
    expect(markets[0]?.min_order_size).toBe(10);
  });

  it('prices, book, account (an array in the docs), positions, orders, funding', async () => {
    expect((await client.getPrices())[0]).toMatchObject({
      symbol: 'XPL',
      mark: 1.084819,
      oracle: 1.084524,
      next_funding: 0.00011096,
    });
    const book = await client.getOrderbook('BTC');
    expect(book.l[0][0]).toMatchObject({ p: 106504, a: 0.26203 });
    expect(book.l[1][1]).toMatchObject({ p: 106564, a: 0.3002 });
    const account = await client.getAccountInfo('42trU9A5');
    expect(account).toMatchObject({
      balance: 2000,
      account_equity: 2150.25,
      available_to_spend: 1800.75,
      cross_mmr: 420.69,
    });
    expect((await client.getPositions('42trU9A5'))[0]).toMatchObject({
      symbol: 'AAVE',
      side: 'ask',
      amount: 223.72,
      funding: 13.159593,
    });
    const order = (await client.getOpenOrders('42trU9A5'))[0];
    expect(order).toMatchObject({
      order_id: '315979358',
      initial_amount: 85.33,
      filled_amount: 0,
      price: 1.836,
    });
    expect(order?.stop_price).toBeUndefined();
    const funding = await client.getFundingHistory('42trU9A5', { limit: 20 });
    expect(funding).toMatchObject({ nextCursor: '11114Lz77', hasMore: true });
    expect(funding.items[0]).toMatchObject({ payout: 2.617479, rate: 0.0000125 });
    expect((await client.getHistoricalFunding('BTC')).items[0]?.funding_rate).toBe(0.0000125);
  });

  it('odd payloads never produce NaN: a bad price row is skipped, a bad position fails loudly', async () => {
    const odd = clientServing({
      '/info/prices': {
        success: true,
        data: [
          { symbol: 'BTC', mark: 'NaN' },
          { symbol: 'ETH', mark: '3500.5', funding: '', oracle: null, timestamp: 'soon' },
        ],
      },
      '/account?account=x': { success: true, data: { balance: '10', account_equity: '12' } },
      '/positions?account=x': {
        success: true,
        data: [{ symbol: 'BTC', side: 'bid', amount: 'lots', entry_price: '1' }],
      },
      '/orders?account=x': { data: null, success: true },
    });
    const prices = await odd.getPrices();
    expect(prices.map((price) => price.symbol)).toEqual(['ETH']);
    expect(allFinite(prices)).toBe(true);
    expect(prices[0]?.funding).toBeUndefined();
    const account = await odd.getAccountInfo('x');
    expect(allFinite(account)).toBe(true);
    expect(account.cross_mmr).toBeUndefined();
    await expect(odd.getPositions('x')).rejects.toMatchObject({ code: 'EXCHANGE_PROTOCOL' });
    expect(await odd.getOpenOrders('x')).toEqual([]);
  });

  it('bare and wrapped POST answers and the documented error shapes', async () => {
    const failing = new PacificaRestClient({
      baseUrl: 'https://venue.invalid/api/v1',
      maxRetries: 0,
      fetch: async () => new Response('{"error":"Invalid leverage","code":400}', { status: 400 }),
    });
    const { createCredentials } = await import('../src/rest-client');
    const { SDK_EXAMPLE_PRIVATE_KEY } = await import('./helpers');
    const credentials = createCredentials({ secretKey: SDK_EXAMPLE_PRIVATE_KEY });
    const error = await failing
      .updateLeverage(credentials, { symbol: 'BTC', leverage: 99 })
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(ExchangeError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', reason: 'INVALID_LEVERAGE' });
    for (const body of [
      '{"order_id":12345}',
      '{"success":true,"data":{"order_id":12345},"error":null,"code":null}',
    ]) {
      const creating = new PacificaRestClient({
        baseUrl: 'https://venue.invalid/api/v1',
        fetch: async () => new Response(body, { status: 200 }),
      });
      const result = await creating.createOrder(credentials, {
        symbol: 'BTC',
        price: '100000',
        amount: '0.1',
        side: 'bid',
        tif: 'GTC',
        reduce_only: false,
      });
      expect(result.orderId).toBe('12345');
    }
    const business = new PacificaRestClient({
      baseUrl: 'https://venue.invalid/api/v1',
      fetch: async () =>
        new Response('{"success":false,"data":null,"error":"Insufficient balance","code":4}', {
          status: 422,
        }),
    });
    const rejected = await business
      .createMarketOrder(credentials, {
        symbol: 'BTC',
        amount: '1',
        side: 'bid',
        slippage_percent: '0.5',
        reduce_only: false,
      })
      .catch((caught) => caught);
    expect(rejected).toMatchObject({
      code: 'ORDER_REJECTED',
      reason: 'INSUFFICIENT_MARGIN',
      retryable: false,
    });
  });
});

describe('the streamed book parser', () => {
  it('reads the documented book message and agrees with the schema', async () => {
    const { parseBook, bookSchema } = await import('../src/schemas');
    const data = {
      l: [
        [{ a: '37.86', n: 4, p: '157.47' }],
        [
          { a: '12.7', n: 2, p: '157.49' },
          { a: '44.45', n: 3, p: '157.5' },
        ],
      ],
      s: 'SOL',
      t: 1749051881187,
    };
    expect(parseBook(data)).toEqual(bookSchema.parse(data));
    expect(parseBook({ s: 'SOL', l: 'x' })).toBe('l: expected [[bids], [asks]]');
    const odd = parseBook({
      s: 'SOL',
      l: [
        [
          { p: 'NaN', a: '1' },
          { p: '1', a: '2' },
        ],
        [],
      ],
    });
    expect(odd).toEqual({ s: 'SOL', l: [[{ p: 1, a: 2, n: undefined }], []], t: undefined });
  });
});
