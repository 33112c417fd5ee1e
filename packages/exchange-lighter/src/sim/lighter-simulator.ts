/**
 * A loopback Lighter: the REST endpoints and the `/stream` WebSocket the adapter uses, speaking the
 * venue's wire format, backed by `SimExchange` from @perpkit/sim. Like the venue it checks every
 * transaction's Schnorr signature against the registered API key, its nonce, its deadline, and the
 * auth tokens of private reads.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  addDecimals,
  type Clock,
  type Fill,
  type FundingPayment,
  type FundingRate,
  fromScaledInteger,
  multiplyDecimals,
  type Order,
  OrderRejectedError,
  type Position,
  RealClock,
  roundToStep,
  type TimeInForce,
} from '@perpkit/core';
import { SimExchange, type SimOptionsInput } from '@perpkit/sim';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  authTokenMessageHash,
  type CancelOrderTx,
  type CreateOrderTx,
  cancelOrderTxHash,
  createOrderTxHash,
  LighterTxFieldError,
  parseAuthToken,
  schnorrVerify,
  TX_TYPE_CANCEL_ORDER,
  TX_TYPE_CREATE_ORDER,
} from '../signer/index';
import { FEE_TICK, stepOf } from '../units';

const HOUR = 3_600_000;
/** The account the simulated book trades against (the venue's treasury index). */
const HOUSE_ACCOUNT = 0;
const FIRST_ORDER_INDEX = 2 ** 48;
const RECENT = 50;

/** Venue error codes the simulator answers with. 21104 is the venue's; the others are its own. */
export const SIM_ERROR = {
  invalidParameter: 20001,
  invalidAuth: 20013,
  unsupportedTx: 21000,
  accountNotFound: 21100,
  invalidNonce: 21104,
  apiKeyNotFound: 21109,
  invalidSignature: 21120,
  duplicateClientOrderIndex: 21501,
  invalidMarket: 21600,
  expired: 21701,
  belowMinimum: 21706,
} as const;

export interface LighterSimMarket {
  readonly index: number;
  readonly symbol: string;
  readonly priceDecimals: number;
  readonly sizeDecimals: number;
  readonly minBaseAmount?: string;
  readonly minQuoteAmount?: string;
  /** In units of 1/10 000, as the venue reports it: 500 is 5 % (20×). */
  readonly minInitialMarginFraction?: number;
  readonly maintenanceMarginFraction?: number;
  /** Starting mark price. */
  readonly mark: number;
  /** Funding rate per hour as a fraction (positive: longs pay). */
  readonly fundingRatePerHour?: number;
}

export interface LighterSimAccount {
  readonly index: number;
  readonly balance?: number;
  /** Registered API keys: the public keys (40-byte hex) signatures are checked against. */
  readonly apiKeys: readonly {
    readonly index: number;
    readonly publicKey: string;
    readonly nonce?: number;
  }[];
}

export interface LighterSimulatorOptions {
  readonly markets: readonly LighterSimMarket[];
  readonly accounts: readonly LighterSimAccount[];
  /** Fee rates in millionths of the notional (the unit of the venue's trade fee fields). */
  readonly fees?: { readonly makerMillionths?: number; readonly takerMillionths?: number };
  readonly chainId?: number;
  readonly clock?: Clock;
  /** Passed to SimExchange: `mark` (default) or `book`. */
  readonly fillModel?: 'mark' | 'book';
  readonly slippage?: SimOptionsInput['slippage'];
  readonly seed?: number;
}

interface SimMarketInfo extends LighterSimMarket {
  readonly tick: string;
  readonly lot: string;
}

interface WireOrderRecord {
  order_index: number;
  client_order_index: number;
  market_index: number;
  owner_account_index: number;
  initial_base_amount: string;
  remaining_base_amount: string;
  filled_base_amount: string;
  filled_quote_amount: string;
  price: string;
  is_ask: boolean;
  type: 'limit' | 'market';
  time_in_force: 'good-till-time' | 'immediate-or-cancel' | 'post-only';
  reduce_only: boolean;
  order_expiry: number;
  status: string;
  nonce: number;
  timestamp: number;
  created_at: number;
  updated_at: number;
}

interface Client {
  readonly socket: WebSocket;
  readonly channels: Set<string>;
}

interface PendingUpdate {
  trades: Map<number, unknown[]>;
  orders: Map<number, Map<number, WireOrderRecord>>;
  positions: Map<number, unknown>;
  funding: Map<number, unknown[]>;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Go's JSON integers can exceed 2^53: long digit runs are read as bigints. */
function parseGoJson(text: string): Record<string, unknown> {
  const parsed = JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"')) as Record<
    string,
    unknown
  >;
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === 'string' && /^\d{16,}$/.test(value)) parsed[key] = BigInt(value);
  }
  return parsed;
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function money(value: number): string {
  return (Math.round(value * 1e6) / 1e6).toFixed(6);
}

export class LighterSimulator {
  readonly exchange: SimExchange;
  readonly chainId: number;
  /** What the simulator refused, newest last (code, message), for assertions. */
  readonly rejections: { code: number; message: string }[] = [];
  /** Transactions accepted, by type. */
  readonly accepted = { createOrder: 0, cancelOrder: 0 };
  /**
   * Called after each `nextNonce` answer: a test can play another client racing for the same key
   * (consuming the nonce just handed out).
   */
  afterNextNonce: ((accountIndex: number, apiKeyIndex: number) => void) | undefined;
  private injectedFailure: { code: number; message: string } | undefined;

  private readonly clock: Clock;
  private readonly markets = new Map<number, SimMarketInfo>();
  private readonly marketsBySymbol = new Map<string, SimMarketInfo>();
  private readonly accountIndexes = new Set<number>();
  private readonly apiKeys = new Map<string, { publicKey: string; nonce: number }>();
  private readonly fees: { maker: number; taker: number };
  private readonly orders = new Map<string, WireOrderRecord>();
  private readonly ordersBySimId = new Map<string, WireOrderRecord>();
  private readonly ordersByIndex = new Map<number, WireOrderRecord>();
  private readonly simIdByOrder = new Map<WireOrderRecord, string>();
  private readonly trades = new Map<number, { market: number; trade: unknown }[]>();
  private readonly fundingRows = new Map<number, { market: number; row: unknown }[]>();
  private readonly marketFunding = new Map<number, { timestamp: number; rate: number }[]>();
  private readonly lastBook = new Map<number, Map<string, string>[]>();
  private readonly bookOffsets = new Map<number, number>();
  private readonly pending = new Map<number, PendingUpdate>();
  private readonly clients = new Set<Client>();
  private readonly marks = new Map<string, number>();
  private server: Server | undefined;
  private sockets: WebSocketServer | undefined;
  private flushScheduled = false;
  private streamPaused = false;
  private orderSequence = FIRST_ORDER_INDEX;
  private tradeSequence = 1;
  private fundingSequence = 1;
  private offsetSequence = 1;

  constructor(options: LighterSimulatorOptions) {
    this.clock = options.clock ?? new RealClock();
    this.chainId = options.chainId ?? 304;
    this.fees = { maker: options.fees?.makerMillionths ?? 20, taker: options.fees?.takerMillionths ?? 200 };
    for (const market of options.markets) {
      const info: SimMarketInfo = {
        ...market,
        tick: stepOf(market.priceDecimals),
        lot: stepOf(market.sizeDecimals),
      };
      this.markets.set(market.index, info);
      this.marketsBySymbol.set(market.symbol, info);
    }
    for (const account of options.accounts) {
      this.accountIndexes.add(account.index);
      for (const key of account.apiKeys) {
        this.apiKeys.set(`${account.index}:${key.index}`, {
          publicKey: key.publicKey.replace(/^0x/, ''),
          nonce: key.nonce ?? 0,
        });
      }
    }
    this.exchange = new SimExchange(
      {
        venue: 'lighter',
        fillModel: options.fillModel ?? 'mark',
        ...(options.slippage === undefined ? {} : { slippage: options.slippage }),
        seed: options.seed ?? 1,
        fees: { maker: this.fees.maker / FEE_TICK, taker: this.fees.taker / FEE_TICK },
        defaultFundingRatePerHour: 0,
        markets: options.markets.map((market) => ({
          symbol: market.symbol,
          quote: 'USDC',
          tickSize: stepOf(market.priceDecimals),
          lotSize: stepOf(market.sizeDecimals),
          minNotional: Number(market.minQuoteAmount ?? 0),
          maxLeverage: Math.floor(10_000 / (market.minInitialMarginFraction ?? 500)),
          maintenanceMarginRate: (market.maintenanceMarginFraction ?? 120) / 10_000,
          fundingIntervalHours: 1,
          fundingRate: market.fundingRatePerHour ?? 0,
        })),
        accounts: options.accounts.map((account) => ({
          id: String(account.index),
          balance: account.balance ?? 100_000,
        })),
      },
      { id: 'lighter-sim', clock: this.clock },
    );
    const now = this.clock.now();
    for (const market of options.markets) {
      this.exchange.processTicker({
        symbol: market.symbol,
        mark: market.mark,
        index: market.mark,
        timestamp: now,
      });
    }
    this.exchange.events.on('order', (order) => this.onOrder(order));
    this.exchange.events.on('fill', (fill) => this.onFill(fill));
    this.exchange.events.on('position', (position) => this.onPosition(position));
    this.exchange.events.on('funding', (payment) => this.onFunding(payment));
    this.exchange.events.on('fundingRate', (rate) => this.onFundingRate(rate));
    this.exchange.events.on('ticker', (ticker) => {
      this.marks.set(ticker.symbol, ticker.mark);
      this.onTicker(ticker.symbol);
    });
  }

  // ------------------------------------------------------------------ lifecycle and controls

  /** Listens on 127.0.0.1 (an ephemeral port unless given) and returns the URLs to give the adapter. */
  async start(port = 0): Promise<{ baseUrl: string; streamUrl: string }> {
    const server = createServer((request, response) => {
      void this.handleHttp(request, response);
    });
    const sockets = new WebSocketServer({ noServer: true });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path !== '/stream' || this.streamPaused) {
        socket.write('HTTP/1.1 503 Service Unavailable\r\n\r\n');
        socket.destroy();
        return;
      }
      sockets.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws));
    });
    this.server = server;
    this.sockets = sockets;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address() as AddressInfo;
    return {
      baseUrl: `http://127.0.0.1:${address.port}`,
      streamUrl: `ws://127.0.0.1:${address.port}/stream`,
    };
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.socket.terminate();
    this.clients.clear();
    this.sockets?.close();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.exchange.close();
  }

  /** Moves the mark (and index): resting orders it crosses fill, and streams update. */
  setMark(symbol: string, mark: number): void {
    this.exchange.processTicker({ symbol, mark, index: mark, timestamp: this.clock.now() });
  }

  /** Sets the hourly funding rate the next settlement uses. */
  setFundingRate(symbol: string, ratePerHour: number): void {
    this.exchange.processFundingRate(symbol, ratePerHour, this.clock.now());
    this.onTicker(symbol);
  }

  /** Lets sim time pass: funding settles at each hour crossed (the mark is restated). */
  advanceTo(time: number): void {
    for (const info of this.markets.values()) {
      const mark = this.marks.get(info.symbol) ?? info.mark;
      this.exchange.processTicker({ symbol: info.symbol, mark, index: mark, timestamp: time });
    }
  }

  /** Closes every stream connection (the clients see a dropped socket). */
  dropConnections(): void {
    for (const client of this.clients) client.socket.terminate();
    this.clients.clear();
  }

  /** While paused, new stream connections are refused (a venue outage). */
  pauseStream(): void {
    this.streamPaused = true;
    this.dropConnections();
  }

  resumeStream(): void {
    this.streamPaused = false;
  }

  /** Sends raw text to every stream client (malformed-message tests). */
  broadcastRaw(text: string): void {
    for (const client of this.clients) client.socket.send(text);
  }

  /** The next `sendTx`/`sendTxBatch` fails at the API with this code (nothing executes, no nonce used). */
  failNextTx(code: number, message: string): void {
    this.injectedFailure = { code, message };
  }

  /** The next nonce the simulator expects for an API key. */
  nonceOf(accountIndex: number, apiKeyIndex: number): number {
    return this.requireKey(accountIndex, apiKeyIndex).nonce;
  }

  /** Moves an API key's nonce, as another client using the same key would. */
  setNonce(accountIndex: number, apiKeyIndex: number, nonce: number): void {
    this.requireKey(accountIndex, apiKeyIndex).nonce = nonce;
  }

  private requireKey(accountIndex: number, apiKeyIndex: number): { publicKey: string; nonce: number } {
    const key = this.apiKeys.get(`${accountIndex}:${apiKeyIndex}`);
    if (!key) throw new RangeError(`no API key ${apiKeyIndex} on account ${accountIndex}`);
    return key;
  }

  // ------------------------------------------------------------------ HTTP

  private send(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  private async handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = url.searchParams;
    try {
      const path = url.pathname.replace(/^\/api\/v1\//, '');
      let body: unknown;
      if (request.method === 'POST') {
        const form = await this.readForm(request);
        if (path === 'sendTx') body = this.sendTx(form);
        else if (path === 'sendTxBatch') body = this.sendTxBatch(form);
        else throw new ApiError(SIM_ERROR.invalidParameter, `no endpoint POST ${url.pathname}`, 404);
      } else {
        body = await this.get(path, query, request);
      }
      this.send(response, 200, body);
    } catch (error) {
      if (error instanceof ApiError) {
        this.rejections.push({ code: error.code, message: error.message });
        this.send(response, error.status, { code: error.code, message: error.message });
      } else {
        this.send(response, 500, {
          code: 500,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  private async readForm(request: IncomingMessage): Promise<FormData> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const contentType = request.headers['content-type'] ?? '';
    if (
      !contentType.startsWith('multipart/form-data') &&
      !contentType.startsWith('application/x-www-form-urlencoded')
    ) {
      throw new ApiError(SIM_ERROR.invalidParameter, 'the body must be multipart/form-data');
    }
    return new Request('http://localhost/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: Buffer.concat(chunks),
    }).formData();
  }

  private integerParameter(query: URLSearchParams, name: string, required = true): number | undefined {
    const value = query.get(name);
    if (value === null || value === '') {
      if (required) throw new ApiError(SIM_ERROR.invalidParameter, `missing parameter ${name}`);
      return undefined;
    }
    if (!/^-?\d+$/.test(value))
      throw new ApiError(SIM_ERROR.invalidParameter, `parameter ${name} must be an integer`);
    return Number(value);
  }

  private async get(path: string, query: URLSearchParams, request: IncomingMessage): Promise<unknown> {
    switch (path) {
      case 'orderBookDetails':
        return {
          code: 200,
          order_book_details: await this.orderBookDetails(this.integerParameter(query, 'market_id', false)),
        };
      case 'orderBookOrders':
        return this.orderBookOrders(
          this.integerParameter(query, 'market_id') as number,
          this.integerParameter(query, 'limit') as number,
        );
      case 'account':
        return this.account(query);
      case 'accountActiveOrders': {
        const account = this.authorize(query, request);
        const market = this.integerParameter(query, 'market_id') as number;
        const orders = [...this.orders.values()].filter(
          (order) =>
            order.owner_account_index === account && order.market_index === market && this.isOpen(order),
        );
        return { code: 200, orders };
      }
      case 'accountInactiveOrders': {
        const account = this.authorize(query, request);
        const market = this.integerParameter(query, 'market_id', false);
        const limit = this.integerParameter(query, 'limit') as number;
        const orders = [...this.orders.values()]
          .filter(
            (order) =>
              order.owner_account_index === account &&
              (market === undefined || order.market_index === market) &&
              !this.isOpen(order),
          )
          .sort((left, right) => right.updated_at - left.updated_at)
          .slice(0, limit);
        return { code: 200, orders, next_cursor: '' };
      }
      case 'funding-rates':
        return this.fundingRates();
      case 'fundings':
        return this.fundings(query);
      case 'nextNonce': {
        const account = this.integerParameter(query, 'account_index') as number;
        const apiKey = this.integerParameter(query, 'api_key_index') as number;
        const key = this.apiKeys.get(`${account}:${apiKey}`);
        if (!key) throw new ApiError(SIM_ERROR.apiKeyNotFound, 'api key not found');
        const answer = { code: 200, nonce: key.nonce };
        this.afterNextNonce?.(account, apiKey);
        return answer;
      }
      default:
        throw new ApiError(SIM_ERROR.invalidParameter, `no endpoint GET /api/v1/${path}`, 404);
    }
  }

  /** Checks the `auth` token (query or Authorization header) and returns the account it names. */
  private authorize(query: URLSearchParams, request: IncomingMessage): number {
    const account = this.integerParameter(query, 'account_index') as number;
    const token = query.get('auth') ?? query.get('authorization') ?? request.headers.authorization ?? '';
    const parsed = parseAuthToken(token);
    const now = seconds(this.clock.now());
    if (!parsed || Number(parsed.accountIndex) !== account)
      throw new ApiError(SIM_ERROR.invalidAuth, 'invalid auth token');
    if (parsed.deadline <= now || parsed.deadline > now + 8 * 3600 + 60) {
      throw new ApiError(SIM_ERROR.invalidAuth, 'auth token expired or too long-lived');
    }
    const key = this.apiKeys.get(`${account}:${parsed.apiKeyIndex}`);
    if (!key || !schnorrVerify(key.publicKey, authTokenMessageHash(parsed.message), parsed.signature)) {
      throw new ApiError(SIM_ERROR.invalidAuth, 'invalid auth token signature');
    }
    return account;
  }

  private async orderBookDetails(marketId: number | undefined): Promise<unknown[]> {
    const details: unknown[] = [];
    for (const info of this.markets.values()) {
      if (marketId !== undefined && info.index !== marketId) continue;
      const ticker = await this.exchange.fetchTicker(info.symbol);
      details.push({
        symbol: info.symbol,
        market_id: info.index,
        market_type: 'perp',
        status: 'active',
        taker_fee: String(this.fees.taker / FEE_TICK),
        maker_fee: String(this.fees.maker / FEE_TICK),
        min_base_amount: info.minBaseAmount ?? info.lot,
        min_quote_amount: info.minQuoteAmount ?? '0',
        supported_size_decimals: info.sizeDecimals,
        supported_price_decimals: info.priceDecimals,
        supported_quote_decimals: 6,
        size_decimals: info.sizeDecimals,
        price_decimals: info.priceDecimals,
        quote_multiplier: 1,
        default_initial_margin_fraction: info.minInitialMarginFraction ?? 500,
        min_initial_margin_fraction: info.minInitialMarginFraction ?? 500,
        maintenance_margin_fraction: info.maintenanceMarginFraction ?? 120,
        closeout_margin_fraction: Math.round((info.maintenanceMarginFraction ?? 120) * 0.66),
        last_trade_price: Number(roundToStep(ticker.last ?? ticker.mark, info.tick, 'nearest')),
        mark_price: roundToStep(ticker.mark, info.tick, 'nearest'),
        index_price: roundToStep(ticker.index ?? ticker.mark, info.tick, 'nearest'),
        open_interest: 0,
      });
    }
    return details;
  }

  private async bookLevels(
    info: SimMarketInfo,
    depth: number,
  ): Promise<{ bids: [string, string][]; asks: [string, string][] }> {
    const book = await this.exchange.fetchOrderBook(info.symbol, depth);
    const level = ([price, size]: readonly [number, number]): [string, string] => [
      roundToStep(price, info.tick, 'nearest'),
      roundToStep(size, info.lot, 'nearest'),
    ];
    return { bids: book.bids.map(level), asks: book.asks.map(level) };
  }

  private async orderBookOrders(marketId: number, limit: number): Promise<unknown> {
    const info = this.markets.get(marketId);
    if (!info) throw new ApiError(SIM_ERROR.invalidMarket, 'market not found');
    const { bids, asks } = await this.bookLevels(info, Math.min(limit, 50));
    let sequence = 1;
    const asOrders = (levels: [string, string][]) =>
      levels.map(([price, size]) => ({
        order_index: sequence++,
        order_id: String(sequence),
        owner_account_index: HOUSE_ACCOUNT,
        initial_base_amount: size,
        remaining_base_amount: size,
        price,
        order_expiry: 0,
      }));
    return {
      code: 200,
      total_asks: asks.length,
      asks: asOrders(asks),
      total_bids: bids.length,
      bids: asOrders(bids),
    };
  }

  private async account(query: URLSearchParams): Promise<unknown> {
    if (query.get('by') !== 'index')
      throw new ApiError(SIM_ERROR.invalidParameter, 'only by=index is simulated');
    const index = Number(query.get('value'));
    if (!this.accountIndexes.has(index)) throw new ApiError(SIM_ERROR.accountNotFound, 'account not found');
    return { code: 200, total: 1, accounts: [await this.detailedAccount(index)] };
  }

  private async detailedAccount(index: number): Promise<unknown> {
    const snapshot = await this.exchange.fetchAccount(String(index));
    const positions = new Map<number, unknown>();
    for (const position of snapshot.positions) {
      const info = this.marketsBySymbol.get(position.symbol) as SimMarketInfo;
      positions.set(info.index, this.wirePosition(position));
    }
    for (const order of this.orders.values()) {
      if (order.owner_account_index !== index || !this.isOpen(order) || positions.has(order.market_index))
        continue;
      const info = this.markets.get(order.market_index) as SimMarketInfo;
      positions.set(order.market_index, this.emptyPosition(info, index));
    }
    return {
      index,
      l1_address: `0x${index.toString(16).padStart(40, '0')}`,
      account_type: 0,
      status: 1,
      collateral: money(snapshot.collateral),
      available_balance: money(snapshot.freeCollateral),
      total_asset_value: money(snapshot.equity),
      cross_asset_value: money(snapshot.equity),
      positions: [...positions.values()],
    };
  }

  private openOrderCount(accountIndex: number, marketIndex: number): number {
    let count = 0;
    for (const order of this.orders.values()) {
      if (
        order.owner_account_index === accountIndex &&
        order.market_index === marketIndex &&
        this.isOpen(order)
      )
        count += 1;
    }
    return count;
  }

  private emptyPosition(info: SimMarketInfo, accountIndex: number): unknown {
    return {
      market_id: info.index,
      symbol: info.symbol,
      initial_margin_fraction: ((info.minInitialMarginFraction ?? 500) / 100).toFixed(2),
      open_order_count: this.openOrderCount(accountIndex, info.index),
      pending_order_count: 0,
      sign: 1,
      position: '0',
      avg_entry_price: '0',
      position_value: '0',
      unrealized_pnl: '0',
      realized_pnl: '0',
      liquidation_price: '0',
      margin_mode: 0,
      allocated_margin: '0',
    };
  }

  private wirePosition(position: Position): unknown {
    const info = this.marketsBySymbol.get(position.symbol) as SimMarketInfo;
    return {
      market_id: info.index,
      symbol: info.symbol,
      initial_margin_fraction: ((info.minInitialMarginFraction ?? 500) / 100).toFixed(2),
      open_order_count: this.openOrderCount(Number(position.account), info.index),
      pending_order_count: 0,
      sign: position.quantity < 0 ? -1 : 1,
      position: roundToStep(Math.abs(position.quantity), info.lot, 'nearest'),
      avg_entry_price: roundToStep(position.entryPrice, info.tick, 'nearest'),
      position_value: money(Math.abs(position.quantity) * position.markPrice),
      unrealized_pnl: money(position.unrealizedPnl),
      realized_pnl: money(position.realizedPnl),
      liquidation_price:
        position.liquidationPrice === undefined
          ? '0'
          : roundToStep(position.liquidationPrice, info.tick, 'nearest'),
      margin_mode: 0,
      allocated_margin: '0',
    };
  }

  private async fundingRates(): Promise<unknown> {
    const rates: unknown[] = [];
    for (const info of this.markets.values()) {
      const rate = await this.exchange.fetchFundingRate(info.symbol);
      // Read by the adapter as a fraction per 8 hours (see the README's funding units).
      rates.push({
        market_id: info.index,
        exchange: 'lighter',
        symbol: info.symbol,
        rate: String(rate.ratePerHour * 8),
      });
      rates.push({ market_id: info.index, exchange: 'binance', symbol: info.symbol, rate: '0.0001' });
    }
    return { code: 200, funding_rates: rates };
  }

  private fundings(query: URLSearchParams): unknown {
    const market = this.integerParameter(query, 'market_id') as number;
    if (!this.markets.has(market)) throw new ApiError(SIM_ERROR.invalidMarket, 'market not found');
    const start = (this.integerParameter(query, 'start_timestamp') as number) * 1000;
    const end = (this.integerParameter(query, 'end_timestamp') as number) * 1000;
    const countBack = this.integerParameter(query, 'count_back') as number;
    const rows = (this.marketFunding.get(market) ?? [])
      .filter((row) => row.timestamp >= start && row.timestamp <= end)
      .slice(-countBack)
      .map((row) => ({
        timestamp: seconds(row.timestamp),
        value: '0',
        // An unsigned percent per hour, and the side that pays (the adapter's reading).
        rate: String(Math.abs(row.rate) * 100),
        direction: row.rate >= 0 ? 'long' : 'short',
      }));
    return { code: 200, resolution: '1h', fundings: rows };
  }

  // ------------------------------------------------------------------ transactions

  private takeInjectedFailure(): void {
    const failure = this.injectedFailure;
    this.injectedFailure = undefined;
    if (failure) throw new ApiError(failure.code, failure.message);
  }

  private sendTx(form: FormData): unknown {
    this.takeInjectedFailure();
    const txType = Number(form.get('tx_type'));
    const txInfo = form.get('tx_info');
    if (typeof txInfo !== 'string') throw new ApiError(SIM_ERROR.invalidParameter, 'missing tx_info');
    const checked = this.check(txType, txInfo, undefined);
    this.consumeNonce(checked);
    this.execute(checked);
    return {
      code: 200,
      message: '{"ratelimit": "didn\'t use volume quota"}',
      tx_hash: checked.hash,
      predicted_execution_time_ms: 0,
    };
  }

  private sendTxBatch(form: FormData): unknown {
    this.takeInjectedFailure();
    let types: unknown;
    let infos: unknown;
    try {
      types = JSON.parse(String(form.get('tx_types')));
      infos = JSON.parse(String(form.get('tx_infos')));
    } catch {
      throw new ApiError(SIM_ERROR.invalidParameter, 'tx_types and tx_infos must be JSON lists');
    }
    if (
      !Array.isArray(types) ||
      !Array.isArray(infos) ||
      types.length !== infos.length ||
      types.length === 0 ||
      types.length > 15
    ) {
      throw new ApiError(
        SIM_ERROR.invalidParameter,
        'tx_types and tx_infos must be lists of the same length, 1 to 15',
      );
    }
    // Every transaction is checked (nonces in sequence) before any executes.
    const expected = new Map<string, number>();
    const checked = types.map((type, position) => {
      const result = this.check(Number(type), String(infos[position]), expected);
      expected.set(result.keyId, result.nonce + 1);
      return result;
    });
    for (const tx of checked) {
      this.consumeNonce(tx);
      this.execute(tx);
    }
    return { code: 200, message: '', tx_hash: checked.map((tx) => tx.hash), predicted_execution_time_ms: 0 };
  }

  private check(
    txType: number,
    text: string,
    batchNonces: Map<string, number> | undefined,
  ): { txType: number; tx: Record<string, unknown>; hash: string; keyId: string; nonce: number } {
    if (txType !== TX_TYPE_CREATE_ORDER && txType !== TX_TYPE_CANCEL_ORDER) {
      throw new ApiError(SIM_ERROR.unsupportedTx, `tx type ${txType} is not simulated`);
    }
    let tx: Record<string, unknown>;
    try {
      tx = parseGoJson(text);
    } catch {
      throw new ApiError(SIM_ERROR.invalidParameter, 'tx_info is not JSON');
    }
    const account = Number(tx.AccountIndex);
    if (!this.accountIndexes.has(account)) throw new ApiError(SIM_ERROR.accountNotFound, 'account not found');
    const keyId = `${account}:${Number(tx.ApiKeyIndex)}`;
    const key = this.apiKeys.get(keyId);
    if (!key) throw new ApiError(SIM_ERROR.apiKeyNotFound, 'api key not found');
    if (Number(tx.ExpiredAt) <= this.clock.now())
      throw new ApiError(SIM_ERROR.expired, 'transaction expired');
    let hash: string;
    try {
      hash =
        txType === TX_TYPE_CREATE_ORDER
          ? createOrderTxHash(tx as unknown as CreateOrderTx, this.chainId)
          : cancelOrderTxHash(tx as unknown as CancelOrderTx, this.chainId);
    } catch (error) {
      const field = error instanceof LighterTxFieldError ? error.field : 'tx_info';
      throw new ApiError(SIM_ERROR.invalidParameter, `invalid ${field}`);
    }
    const signature = typeof tx.Sig === 'string' ? Buffer.from(tx.Sig, 'base64') : Buffer.alloc(0);
    if (!schnorrVerify(key.publicKey, hash, signature))
      throw new ApiError(SIM_ERROR.invalidSignature, 'invalid signature');
    const expected = batchNonces?.get(keyId) ?? key.nonce;
    if (Number(tx.Nonce) !== expected) {
      throw new ApiError(
        SIM_ERROR.invalidNonce,
        `invalid nonce: expected ${expected}, got ${String(tx.Nonce)}`,
      );
    }
    if (txType === TX_TYPE_CREATE_ORDER) this.checkCreate(tx, account);
    return { txType, tx, hash, keyId, nonce: expected };
  }

  private checkCreate(tx: Record<string, unknown>, account: number): void {
    const info = this.markets.get(Number(tx.MarketIndex));
    if (!info) throw new ApiError(SIM_ERROR.invalidMarket, 'invalid market index');
    const client = Number(tx.ClientOrderIndex);
    const existing = this.orders.get(`${account}:${client}`);
    if (client !== 0 && existing && this.isOpen(existing)) {
      throw new ApiError(SIM_ERROR.duplicateClientOrderIndex, 'client order index already exists');
    }
    const base = fromScaledInteger(BigInt(tx.BaseAmount as number), info.sizeDecimals);
    const price = fromScaledInteger(BigInt(tx.Price as number), info.priceDecimals);
    if (Number(tx.ReduceOnly) !== 1) {
      if (
        Number(base) < Number(info.minBaseAmount ?? 0) ||
        Number(multiplyDecimals(base, price)) < Number(info.minQuoteAmount ?? 0)
      ) {
        if (Number(tx.Type) !== 1 || Number(base) < Number(info.minBaseAmount ?? 0)) {
          throw new ApiError(SIM_ERROR.belowMinimum, 'order size below the minimum');
        }
      }
    }
  }

  private consumeNonce(checked: { keyId: string }): void {
    const key = this.apiKeys.get(checked.keyId) as { nonce: number };
    key.nonce += 1;
  }

  private execute(checked: { txType: number; tx: Record<string, unknown> }): void {
    if (checked.txType === TX_TYPE_CREATE_ORDER) this.executeCreate(checked.tx);
    else this.executeCancel(checked.tx);
  }

  private executeCreate(tx: Record<string, unknown>): void {
    this.accepted.createOrder += 1;
    const account = Number(tx.AccountIndex);
    const info = this.markets.get(Number(tx.MarketIndex)) as SimMarketInfo;
    const now = this.clock.now();
    const base = fromScaledInteger(BigInt(tx.BaseAmount as number), info.sizeDecimals);
    const price = fromScaledInteger(BigInt(tx.Price as number), info.priceDecimals);
    const type = Number(tx.Type) === 1 ? 'market' : 'limit';
    const tif = Number(tx.TimeInForce);
    const order: WireOrderRecord = {
      order_index: this.orderSequence++,
      client_order_index: Number(tx.ClientOrderIndex),
      market_index: info.index,
      owner_account_index: account,
      initial_base_amount: base,
      remaining_base_amount: base,
      filled_base_amount: '0',
      filled_quote_amount: '0',
      price,
      is_ask: Number(tx.IsAsk) === 1,
      type,
      time_in_force: tif === 0 ? 'immediate-or-cancel' : tif === 2 ? 'post-only' : 'good-till-time',
      reduce_only: Number(tx.ReduceOnly) === 1,
      order_expiry: Number(tx.OrderExpiry),
      status: 'in-progress',
      nonce: Number(tx.Nonce),
      timestamp: seconds(now),
      created_at: seconds(now),
      updated_at: seconds(now),
    };
    this.orders.set(`${account}:${order.client_order_index || `o${order.order_index}`}`, order);
    this.ordersByIndex.set(order.order_index, order);
    if (Number(tx.Type) > 1) {
      // Trigger and TWAP orders are not simulated.
      this.finishOrder(order, 'canceled');
      return;
    }
    const timeInForce: TimeInForce = tif === 0 ? 'ioc' : tif === 2 ? 'post-only' : 'gtc';
    try {
      // A market order is an IOC limit at its worst acceptable price.
      this.exchange.submitOrderSync({
        account: String(account),
        symbol: info.symbol,
        side: order.is_ask ? 'sell' : 'buy',
        type: 'limit',
        price,
        quantity: base,
        timeInForce: type === 'market' ? 'ioc' : timeInForce,
        reduceOnly: order.reduce_only,
        clientOrderId: `${order.order_index}`,
        ...(order.order_expiry > 0 ? { expiresAt: order.order_expiry } : {}),
      });
    } catch (error) {
      const reason = error instanceof OrderRejectedError ? (error.reason ?? '') : '';
      this.finishOrder(order, this.cancelStatus(reason));
    }
  }

  private executeCancel(tx: Record<string, unknown>): void {
    this.accepted.cancelOrder += 1;
    const account = Number(tx.AccountIndex);
    const index = Number(tx.Index);
    const order =
      index < FIRST_ORDER_INDEX ? this.orders.get(`${account}:${index}`) : this.ordersByIndex.get(index);
    if (
      !order ||
      order.owner_account_index !== account ||
      !this.isOpen(order) ||
      order.market_index !== Number(tx.MarketIndex)
    )
      return;
    const simId = this.simIdByOrder.get(order);
    if (simId === undefined) return;
    void this.exchange
      .cancelOrder({
        account: String(account),
        symbol: (this.markets.get(order.market_index) as SimMarketInfo).symbol,
        orderId: simId,
      })
      .catch(() => undefined);
  }

  private cancelStatus(reason: string): string {
    switch (reason) {
      case 'POST_ONLY_WOULD_CROSS':
        return 'canceled-post-only';
      case 'REDUCE_ONLY_WOULD_INCREASE':
        return 'canceled-reduce-only';
      case 'INSUFFICIENT_MARGIN':
      case 'LEVERAGE_EXCEEDED':
        return 'canceled-margin-not-allowed';
      case 'IOC_NOT_FILLED':
      case 'NO_MARKET_DATA':
      case 'FOK_NOT_FILLED':
        return 'canceled-not-enough-liquidity';
      case 'LIQUIDATION':
        return 'canceled-liquidation';
      case 'EXPIRED':
        return 'canceled-expired';
      default:
        return 'canceled';
    }
  }

  private isOpen(order: WireOrderRecord): boolean {
    return order.status === 'open' || order.status === 'pending' || order.status === 'in-progress';
  }

  private finishOrder(order: WireOrderRecord, status: string): void {
    order.status = status;
    order.updated_at = seconds(this.clock.now());
    order.remaining_base_amount = '0';
    this.queueOrder(order);
  }

  // ------------------------------------------------------------------ SimExchange events → wire

  private orderOf(simOrder: Order): WireOrderRecord | undefined {
    const known = this.ordersBySimId.get(simOrder.id);
    if (known) return known;
    // The simulator hands SimExchange the venue order index as the client order id.
    const order = this.ordersByIndex.get(Number(simOrder.clientOrderId));
    if (order) {
      this.ordersBySimId.set(simOrder.id, order);
      this.simIdByOrder.set(order, simOrder.id);
    }
    return order;
  }

  private onOrder(simOrder: Order): void {
    const order = this.orderOf(simOrder);
    if (!order) return;
    const now = seconds(this.clock.now());
    switch (simOrder.status) {
      case 'pending':
        order.status = 'pending';
        break;
      case 'open':
      case 'partially-filled':
        order.status = 'open';
        break;
      case 'filled':
        order.status = 'filled';
        order.remaining_base_amount = '0';
        break;
      case 'expired':
        order.status = 'canceled-expired';
        order.remaining_base_amount = '0';
        break;
      default:
        // A cancelled remainder of a partly filled order is a plain cancel.
        order.status = simOrder.filledQuantity > 0 ? 'canceled' : this.cancelStatus(simOrder.reason ?? '');
        order.remaining_base_amount = '0';
    }
    order.updated_at = now;
    this.queueOrder(order);
  }

  private onFill(fill: Fill): void {
    const simOrder = { id: fill.orderId, clientOrderId: fill.clientOrderId } as Order;
    const order = this.orderOf(simOrder);
    const info = this.marketsBySymbol.get(fill.symbol);
    if (!order || !info) return;
    const size = roundToStep(fill.quantity, info.lot, 'nearest');
    const price = roundToStep(fill.price, info.tick, 'nearest');
    const notional = multiplyDecimals(size, price);
    order.filled_base_amount = addDecimals(order.filled_base_amount, size);
    order.filled_quote_amount = addDecimals(order.filled_quote_amount, notional);
    const remaining = addDecimals(order.initial_base_amount, `-${order.filled_base_amount}`);
    order.remaining_base_amount = Number(remaining) > 0 ? remaining : '0';
    const ours = order.owner_account_index;
    const weAreAsk = order.is_ask;
    const weAreMaker = fill.liquidity === 'maker';
    const trade = {
      trade_id: this.tradeSequence++,
      tx_hash: '',
      type: 'trade',
      market_id: info.index,
      size,
      price,
      usd_amount: notional,
      ask_id: weAreAsk ? order.order_index : 0,
      bid_id: weAreAsk ? 0 : order.order_index,
      ask_client_id: weAreAsk ? order.client_order_index : 0,
      bid_client_id: weAreAsk ? 0 : order.client_order_index,
      ask_account_id: weAreAsk ? ours : HOUSE_ACCOUNT,
      bid_account_id: weAreAsk ? HOUSE_ACCOUNT : ours,
      is_maker_ask: weAreAsk === weAreMaker,
      block_height: this.tradeSequence,
      timestamp: fill.timestamp,
      taker_fee: this.fees.taker,
      maker_fee: this.fees.maker,
    };
    const list = this.trades.get(ours) ?? [];
    list.push({ market: info.index, trade });
    if (list.length > RECENT) list.shift();
    this.trades.set(ours, list);
    const pending = this.pendingFor(ours);
    const marketTrades = pending.trades.get(info.index) ?? [];
    marketTrades.push(trade);
    pending.trades.set(info.index, marketTrades);
    this.queueOrder(order);
  }

  private onPosition(position: Position): void {
    const info = this.marketsBySymbol.get(position.symbol);
    if (!info) return;
    const account = Number(position.account);
    this.pendingFor(account).positions.set(info.index, this.wirePosition(position));
    this.scheduleFlush();
  }

  private onFunding(payment: FundingPayment): void {
    const info = this.marketsBySymbol.get(payment.symbol);
    if (!info) return;
    const account = Number(payment.account);
    const row = {
      timestamp: seconds(payment.fundingTime),
      market_id: info.index,
      funding_id: this.fundingSequence++,
      change: money(payment.amount),
      // A signed percent per hour (the adapter's reading of position-funding rates).
      rate: String(payment.rate * 100),
      position_size: roundToStep(Math.abs(payment.positionQuantity), info.lot, 'nearest'),
      position_side: payment.positionQuantity < 0 ? 'short' : 'long',
    };
    const list = this.fundingRows.get(account) ?? [];
    list.push({ market: info.index, row });
    if (list.length > RECENT) list.shift();
    this.fundingRows.set(account, list);
    const pending = this.pendingFor(account);
    const rows = pending.funding.get(info.index) ?? [];
    rows.push(row);
    pending.funding.set(info.index, rows);
    this.scheduleFlush();
  }

  private onFundingRate(rate: FundingRate): void {
    if (rate.predicted) return;
    const info = this.marketsBySymbol.get(rate.symbol);
    if (!info) return;
    const rows = this.marketFunding.get(info.index) ?? [];
    rows.push({ timestamp: rate.timestamp, rate: rate.ratePerHour });
    if (rows.length > 2_000) rows.shift();
    this.marketFunding.set(info.index, rows);
  }

  private onTicker(symbol: string): void {
    const info = this.marketsBySymbol.get(symbol);
    if (!info || this.clients.size === 0) return;
    void this.publishMarket(info);
  }

  private async publishMarket(info: SimMarketInfo): Promise<void> {
    const statsChannel = `market_stats/${info.index}`;
    const bookChannel = `order_book/${info.index}`;
    if (this.subscribers(statsChannel).length > 0) {
      const stats = await this.marketStats(info);
      this.publish(statsChannel, {
        type: 'update/market_stats',
        channel: `market_stats:${info.index}`,
        market_stats: stats,
      });
    }
    if (this.subscribers(bookChannel).length > 0) {
      const { bids, asks } = await this.bookLevels(info, 10);
      const previous = this.lastBook.get(info.index) ?? [
        new Map<string, string>(),
        new Map<string, string>(),
      ];
      const diff = (levels: [string, string][], before: Map<string, string>) => {
        const now = new Map(levels);
        const changes: { price: string; size: string }[] = [];
        for (const [price, size] of now) if (before.get(price) !== size) changes.push({ price, size });
        for (const price of before.keys()) if (!now.has(price)) changes.push({ price, size: '0' });
        return { now, changes };
      };
      const bidDiff = diff(bids, previous[0] as Map<string, string>);
      const askDiff = diff(asks, previous[1] as Map<string, string>);
      this.lastBook.set(info.index, [bidDiff.now, askDiff.now]);
      if (bidDiff.changes.length + askDiff.changes.length === 0) return;
      const offset = this.offsetSequence++;
      this.bookOffsets.set(info.index, offset);
      this.publish(bookChannel, {
        type: 'update/order_book',
        channel: `order_book:${info.index}`,
        offset,
        order_book: { code: 0, asks: askDiff.changes, bids: bidDiff.changes, offset },
      });
    }
  }

  private async marketStats(info: SimMarketInfo): Promise<unknown> {
    const ticker = await this.exchange.fetchTicker(info.symbol);
    const rate = await this.exchange.fetchFundingRate(info.symbol);
    const last = this.marketFunding.get(info.index)?.at(-1);
    const now = this.clock.now();
    return {
      market_id: info.index,
      index_price: roundToStep(ticker.index ?? ticker.mark, info.tick, 'nearest'),
      mark_price: roundToStep(ticker.mark, info.tick, 'nearest'),
      last_trade_price: roundToStep(ticker.last ?? ticker.mark, info.tick, 'nearest'),
      open_interest: '0',
      // Signed percents per hour (the adapter's reading of market_stats funding fields).
      current_funding_rate: String(rate.ratePerHour * 100),
      funding_rate: String((last?.rate ?? 0) * 100),
      funding_timestamp: Math.floor(now / HOUR) * HOUR + HOUR,
    };
  }

  // ------------------------------------------------------------------ stream

  private pendingFor(account: number): PendingUpdate {
    let pending = this.pending.get(account);
    if (!pending) {
      pending = { trades: new Map(), orders: new Map(), positions: new Map(), funding: new Map() };
      this.pending.set(account, pending);
    }
    return pending;
  }

  private queueOrder(order: WireOrderRecord): void {
    const pending = this.pendingFor(order.owner_account_index);
    const orders = pending.orders.get(order.market_index) ?? new Map<number, WireOrderRecord>();
    orders.set(order.order_index, order);
    pending.orders.set(order.market_index, orders);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** One `update/account_all` per account with everything that changed, keyed by market index. */
  private flush(): void {
    for (const [account, pending] of this.pending) {
      const keyed = <T>(map: Map<number, T>, each: (value: T) => unknown) =>
        Object.fromEntries([...map].map(([market, value]) => [String(market), each(value)]));
      const message = {
        type: 'update/account_all',
        channel: `account_all:${account}`,
        account,
        trades: keyed(pending.trades, (trades) => trades),
        orders: keyed(pending.orders, (orders) => [...orders.values()].map((order) => ({ ...order }))),
        positions: keyed(pending.positions, (position) => position),
        funding_histories: keyed(pending.funding, (rows) => rows),
      };
      this.publish(`account_all/${account}`, message);
    }
    this.pending.clear();
  }

  private subscribers(channel: string): Client[] {
    return [...this.clients].filter((client) => client.channels.has(channel));
  }

  private publish(channel: string, message: unknown): void {
    const text = JSON.stringify(message);
    for (const client of this.subscribers(channel)) client.socket.send(text);
  }

  private onConnection(socket: WebSocket): void {
    const client: Client = { socket, channels: new Set() };
    this.clients.add(client);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
    socket.on('message', (data) => {
      void this.onClientMessage(client, String(data));
    });
    socket.send(JSON.stringify({ type: 'connected', session_id: `sim-${this.clients.size}` }));
  }

  private async onClientMessage(client: Client, text: string): Promise<void> {
    let message: { type?: unknown; channel?: unknown };
    try {
      message = JSON.parse(text) as { type?: unknown; channel?: unknown };
    } catch {
      client.socket.send(
        JSON.stringify({ type: 'error', code: SIM_ERROR.invalidParameter, message: 'invalid JSON' }),
      );
      return;
    }
    if (message.type === 'ping') {
      client.socket.send(JSON.stringify({ type: 'pong' }));
      return;
    }
    if (message.type === 'pong') return;
    const channel = typeof message.channel === 'string' ? message.channel : '';
    if (message.type === 'unsubscribe') {
      client.channels.delete(channel);
      return;
    }
    if (message.type !== 'subscribe') {
      client.socket.send(
        JSON.stringify({
          type: 'error',
          code: SIM_ERROR.invalidParameter,
          message: `unknown type ${String(message.type)}`,
        }),
      );
      return;
    }
    const [name, id] = channel.split('/');
    const reply = `${name}:${id}`;
    if (name === 'order_book' || name === 'market_stats') {
      const info = this.markets.get(Number(id));
      if (!info) {
        client.socket.send(
          JSON.stringify({ type: 'error', code: SIM_ERROR.invalidMarket, message: `no market ${id}` }),
        );
        return;
      }
      client.channels.add(channel);
      if (name === 'market_stats') {
        client.socket.send(
          JSON.stringify({
            type: 'subscribed/market_stats',
            channel: reply,
            market_stats: await this.marketStats(info),
          }),
        );
      } else {
        const { bids, asks } = await this.bookLevels(info, 10);
        this.lastBook.set(info.index, [new Map(bids), new Map(asks)]);
        const offset = this.bookOffsets.get(info.index) ?? 0;
        const level = ([price, size]: [string, string]) => ({ price, size });
        client.socket.send(
          JSON.stringify({
            type: 'subscribed/order_book',
            channel: reply,
            offset,
            order_book: { code: 0, asks: asks.map(level), bids: bids.map(level), offset },
          }),
        );
      }
      return;
    }
    if (name === 'account_all') {
      const account = Number(id);
      if (!this.accountIndexes.has(account)) {
        client.socket.send(
          JSON.stringify({ type: 'error', code: SIM_ERROR.accountNotFound, message: 'account not found' }),
        );
        return;
      }
      client.channels.add(channel);
      client.socket.send(JSON.stringify(await this.accountSnapshot(account, reply)));
      return;
    }
    client.socket.send(
      JSON.stringify({
        type: 'error',
        code: SIM_ERROR.invalidParameter,
        message: `unknown channel ${channel}`,
      }),
    );
  }

  private async accountSnapshot(account: number, channel: string): Promise<unknown> {
    const group = (entries: readonly { market: number; value: unknown }[]) => {
      const out: Record<string, unknown[]> = {};
      for (const { market, value } of entries) {
        const list = out[String(market)] ?? [];
        list.push(value);
        out[String(market)] = list;
      }
      return out;
    };
    const detailed = (await this.detailedAccount(account)) as { positions: { market_id: number }[] };
    return {
      type: 'subscribed/account_all',
      channel,
      account,
      orders: group(
        [...this.orders.values()]
          .filter((order) => order.owner_account_index === account && this.isOpen(order))
          .map((order) => ({ market: order.market_index, value: { ...order } })),
      ),
      trades: group((this.trades.get(account) ?? []).map(({ market, trade }) => ({ market, value: trade }))),
      positions: Object.fromEntries(
        detailed.positions.map((position) => [String(position.market_id), position]),
      ),
      funding_histories: group(
        (this.fundingRows.get(account) ?? []).map(({ market, row }) => ({ market, value: row })),
      ),
    };
  }
}
