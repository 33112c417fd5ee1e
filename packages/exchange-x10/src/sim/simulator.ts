import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BookLevel,
  type Clock,
  ExchangeError,
  isMultipleOf,
  type Order,
  OrderRejectedError,
  type Position,
  RealClock,
  roundToStepNumber,
  z,
} from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { type WebSocket, WebSocketServer } from 'ws';
import { parseDecimal } from '../amounts';
import { VENUE_ERROR_CODES, type VenueErrorName } from '../rest-client';
import {
  settlementAmounts,
  settlementExpiration,
  starkOrderMessageHash,
  verifyMessageSignature,
} from '../signing';

/**
 * A loopback Extended venue for tests: the REST API under `/api/v1` and the streams under
 * `/stream.extended.exchange/v1`, backed by `SimExchange`. Orders are checked as the venue checks
 * them (Stark signature over the recomputed amounts, public key, vault, fee, expiry, tick and lot),
 * and refused with the venue's error envelope.
 */

const simMarketSchema = z
  .object({
    name: z.string().min(1),
    assetName: z.string().optional(),
    tickSize: z.string(),
    lotSize: z.string(),
    minOrderSize: z.string(),
    maxLeverage: z.number().positive().default(20),
    maxPositionValue: z.string().default('10000000'),
    /** l2Config.syntheticId (hex). */
    syntheticId: z.string(),
    syntheticResolution: z.number().int().positive(),
    collateralId: z.string().default('0x35596841893e0d17079c27b2d72db1694f26a1932a7429144b439ba0807d29c'),
    collateralResolution: z.number().int().positive().default(1_000_000),
    /** Starting mark (and book mid). */
    price: z.number().positive(),
    /**
     * Hourly funding rate, settled on the hour of the simulator's clock. Tests may load a schedule
     * of settlements (times and rates) with `sim.setFundingSeries`.
     */
    fundingRate: z.number().default(0.0000125),
  })
  .strict();

const simAccountSchema = z
  .object({
    apiKey: z.string().min(1),
    vault: z.union([z.number(), z.string()]).transform(String),
    starkPublicKey: z.string(),
    balance: z.number().min(0).default(100_000),
    accountId: z.number().int().optional(),
  })
  .strict();

export const x10SimulatorOptionsSchema = z
  .object({
    markets: z.array(simMarketSchema).min(1),
    accounts: z.array(simAccountSchema).min(1),
    chainId: z.string().default('SN_SEPOLIA'),
    fees: z
      .object({ maker: z.number().default(0), taker: z.number().default(0.00025) })
      .strict()
      .default({ maker: 0, taker: 0.00025 }),
    /** Levels per side of the generated book, and the spread between them in ticks. */
    bookLevels: z.number().int().positive().default(10),
    levelSpacingTicks: z.number().int().positive().default(10),
    /** Size of each generated level, in lots × 100. */
    levelLots: z.number().positive().default(1_000),
    maxExpiryMs: z
      .number()
      .int()
      .positive()
      .default(90 * 24 * 3_600_000),
    /** Server ping cadence and how long a client may take to pong (the venue: 15 s and 10 s). */
    pingIntervalMs: z.number().int().positive().default(15_000),
    pongTimeoutMs: z.number().int().positive().default(10_000),
    /** Require the User-Agent header as the venue does. */
    requireUserAgent: z.boolean().default(true),
  })
  .strict();

export type X10SimulatorOptionsInput = z.input<typeof x10SimulatorOptionsSchema>;
type X10SimulatorOptions = z.output<typeof x10SimulatorOptionsSchema>;
type SimMarketOptions = X10SimulatorOptions['markets'][number];
type SimAccountOptions = X10SimulatorOptions['accounts'][number];

const REST_PREFIX = '/api/v1';
const STREAM_PREFIX = '/stream.extended.exchange/v1';

class VenueError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | string,
    message: string,
  ) {
    super(message);
  }
}

function venueError(name: VenueErrorName, message: string, status = 400): VenueError {
  return new VenueError(status, VENUE_ERROR_CODES[name], message);
}

const orderBodySchema = z.object({
  id: z.string().min(1),
  market: z.string(),
  type: z.enum(['LIMIT', 'MARKET', 'CONDITIONAL', 'TPSL']),
  side: z.enum(['BUY', 'SELL']),
  qty: z.string(),
  price: z.string(),
  reduceOnly: z.boolean().default(false),
  postOnly: z.boolean().default(false),
  timeInForce: z.enum(['GTT', 'IOC', 'FOK']),
  expiryEpochMillis: z.number().int(),
  fee: z.string(),
  nonce: z.string().regex(/^\d+$/),
  selfTradeProtectionLevel: z.string().optional(),
  cancelId: z.string().nullish(),
  settlement: z.object({
    signature: z.object({ r: z.string().regex(/^0x[0-9a-fA-F]+$/), s: z.string().regex(/^0x[0-9a-fA-F]+$/) }),
    starkKey: z.string().regex(/^0x[0-9a-fA-F]+$/),
    collateralPosition: z.string().regex(/^\d+$/),
  }),
});

interface Socket {
  readonly socket: WebSocket;
  readonly path: string;
  readonly apiKey?: string;
  sequence: number;
  /** When the last pong arrived (performance.now()). */
  lastPong: number;
}

interface VenueOrderRecord {
  venueId: string;
  externalId: string;
  account: SimAccountOptions;
  timeInForce: 'GTT' | 'IOC';
  postOnly: boolean;
  type: 'LIMIT' | 'MARKET';
  priceText: string;
  rejected?: { reason: string; order: Record<string, unknown> };
}

/** A running simulator: REST at `restUrl`, streams at `streamUrl`, and controls for tests. */
export class X10Simulator {
  readonly sim: SimExchange;
  readonly options: X10SimulatorOptions;
  private readonly clock: Clock;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly markets = new Map<string, SimMarketOptions>();
  private readonly accountsByKey = new Map<string, SimAccountOptions>();
  private readonly accountsByVault = new Map<string, SimAccountOptions>();
  private readonly books = new Map<string, { bids: BookLevel[]; asks: BookLevel[] }>();
  private readonly records = new Map<string, VenueOrderRecord>(); // by venue id
  private readonly venueIdBySimId = new Map<string, string>();
  private readonly simIdByVenueId = new Map<string, string>();
  private readonly pendingByExternalId = new Map<string, VenueOrderRecord>();
  private readonly externalIds = new Set<string>();
  private nextVenueId = 1_811_000_000_000_000_000n;
  private nextTradeId = 9_000_000n;
  private pingTimer: NodeJS.Timeout | undefined;
  /** When the simulator started: funding history before it is the configured constant rate. */
  private readonly startedAt: number;
  /** Funding payments of each vault, oldest first (`GET /user/funding/history`). */
  private readonly fundingPayments = new Map<string, Record<string, unknown>[]>();
  private nextFundingPaymentId = 1;
  private dropBookDeltas = 0;
  private rateLimitedRequests = 0;
  /** Every request's method, path and headers, for tests. */
  readonly requests: { method: string; path: string; headers: IncomingMessage['headers'] }[] = [];
  restUrl = '';
  streamUrl = '';

  private constructor(options: X10SimulatorOptionsInput, clock: Clock) {
    this.options = x10SimulatorOptionsSchema.parse(options);
    this.clock = clock;
    this.startedAt = clock.now();
    for (const market of this.options.markets) this.markets.set(market.name, market);
    for (const account of this.options.accounts) {
      this.accountsByKey.set(account.apiKey, account);
      this.accountsByVault.set(account.vault, account);
    }
    this.sim = new SimExchange(
      {
        venue: 'x10-sim',
        fillModel: 'book',
        fees: { maker: this.options.fees.maker, taker: this.options.fees.taker },
        defaultFundingRatePerHour: 0,
        markets: this.options.markets.map((market) => ({
          symbol: market.name,
          tickSize: market.tickSize,
          lotSize: market.lotSize,
          minQuantity: market.minOrderSize,
          maxLeverage: market.maxLeverage,
          fundingIntervalHours: 1,
          fundingRate: market.fundingRate,
        })),
        accounts: this.options.accounts.map((account) => ({ id: account.vault, balance: account.balance })),
      },
      { id: 'x10-sim', clock },
    );
    this.sim.events.on('order', (order) => this.onSimOrder(order));
    this.sim.events.on('fill', (fill) => {
      const venueId = this.venueIdBySimId.get(fill.orderId);
      if (!venueId) return;
      const trade = {
        id: String(this.nextTradeId++),
        accountId: Number(fill.account),
        market: fill.symbol,
        orderId: venueId,
        side: fill.side === 'buy' ? 'BUY' : 'SELL',
        price: String(fill.price),
        qty: String(fill.quantity),
        value: String(fill.price * fill.quantity),
        fee: String(fill.fee),
        isTaker: fill.liquidity === 'taker',
        tradeType: 'TRADE',
        createdTime: fill.timestamp,
      };
      this.pushAccount(fill.account, 'TRADE', { trades: [trade] });
    });
    this.sim.events.on('position', (position) =>
      this.pushAccount(position.account, 'POSITION', { positions: [this.venuePosition(position)] }),
    );
    // Each settlement: the applied rate on `/funding/{market}`, each holder's payment in its history.
    this.sim.events.on('fundingRate', (rate) => {
      if (rate.predicted) return;
      this.broadcast(`/funding/${rate.symbol}`, (entry) => ({
        ts: this.clock.now(),
        seq: ++entry.sequence,
        data: { m: rate.symbol, T: rate.timestamp, f: String(rate.rate) },
      }));
    });
    this.sim.events.on('funding', (payment) => {
      const size = Math.abs(payment.positionQuantity);
      const list = this.fundingPayments.get(payment.account) ?? [];
      list.push({
        id: this.nextFundingPaymentId++,
        accountId: Number(payment.account),
        market: payment.symbol,
        positionId: 1,
        side: payment.positionQuantity < 0 ? 'SHORT' : 'LONG',
        size: String(size),
        value: String(size * payment.markPrice),
        markPrice: String(payment.markPrice),
        // The simulator's convention: the amount credited to the account (negative when paid).
        fundingFee: String(payment.amount),
        fundingRate: String(payment.rate),
        paidTime: payment.fundingTime,
      });
      this.fundingPayments.set(payment.account, list);
    });
    this.sim.events.on('account', (snapshot) => {
      const balance = this.venueBalance(snapshot.account);
      if (balance) this.pushAccount(snapshot.account, 'BALANCE', { balance });
    });
    for (const market of this.options.markets) this.setPriceQuietly(market.name, market.price);
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error) =>
        this.send(response, 500, { status: 'ERROR', error: { code: 500, message: String(error) } }),
      );
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (request, socket, head) => this.upgrade(request, socket as never, head));
  }

  /** Starts a simulator on 127.0.0.1 with an ephemeral port. */
  static async start(
    options: X10SimulatorOptionsInput,
    context: { clock?: Clock } = {},
  ): Promise<X10Simulator> {
    const simulator = new X10Simulator(options, context.clock ?? new RealClock());
    await new Promise<void>((resolve) => simulator.server.listen(0, '127.0.0.1', resolve));
    const { port } = simulator.server.address() as AddressInfo;
    simulator.restUrl = `http://127.0.0.1:${port}${REST_PREFIX}`;
    simulator.streamUrl = `ws://127.0.0.1:${port}${STREAM_PREFIX}`;
    simulator.pingTimer = setInterval(() => simulator.pingAll(), simulator.options.pingIntervalMs);
    simulator.pingTimer.unref?.();
    return simulator;
  }

  async close(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const entry of this.sockets) entry.socket.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
    await this.sim.close();
  }

  // Test controls.

  /** Moves a market: a new book around `price`, a book delta, a mark price message. */
  setPrice(market: string, price: number): void {
    this.setPriceQuietly(market, price);
    this.publishBook(market);
    this.publishMark(market);
  }

  /** The next book delta of every book stream is counted but never sent: clients see a gap. */
  dropNextBookDelta(count = 1): void {
    this.dropBookDeltas += count;
  }

  /** Closes every stream socket abruptly (a network drop). */
  dropConnections(): void {
    for (const entry of this.sockets) entry.socket.terminate();
  }

  /** Sends raw text to every socket on a stream path (malformed messages). */
  sendRaw(path: string, text: string): void {
    for (const entry of this.sockets) if (entry.path === path) entry.socket.send(text);
  }

  /** The next `count` REST requests are refused with HTTP 429. */
  rateLimitNext(count: number): void {
    this.rateLimitedRequests += count;
  }

  /** Publishes an applied hourly funding rate on `/funding/{market}`. */
  publishFunding(market: string, rate: number, time = this.clock.now()): void {
    this.sim.processFundingRate(market, rate, time);
    this.broadcast(`/funding/${market}`, (entry) => ({
      ts: this.clock.now(),
      seq: ++entry.sequence,
      data: { m: market, T: time, f: String(rate) },
    }));
  }

  /** Number of open stream sockets on a path (or all). */
  connections(path?: string): number {
    let count = 0;
    for (const entry of this.sockets) if (path === undefined || entry.path === path) count++;
    return count;
  }

  // Books.

  private setPriceQuietly(market: string, price: number): void {
    const options = this.requireMarket(market);
    const tick = Number(options.tickSize);
    const mid = roundToStepNumber(price, options.tickSize, 'nearest');
    const size = Number(options.lotSize) * this.options.levelLots;
    const bids: BookLevel[] = [];
    const asks: BookLevel[] = [];
    for (let level = 1; level <= this.options.bookLevels; level++) {
      const offset = level * this.options.levelSpacingTicks * tick;
      bids.push([roundToStepNumber(mid - offset, options.tickSize, 'nearest'), size]);
      asks.push([roundToStepNumber(mid + offset, options.tickSize, 'nearest'), size]);
    }
    this.books.set(market, { bids, asks });
    this.sim.processOrderBook({ symbol: market, timestamp: this.clock.now(), bids, asks });
  }

  private publishBook(market: string): void {
    const book = this.books.get(market);
    const last = this.lastPublished.get(market);
    if (!book) return;
    this.lastPublished.set(market, book);
    if (!last) return;
    const diff = (before: readonly BookLevel[], after: readonly BookLevel[]) => {
      const changes = new Map<number, number>();
      for (const [price, quantity] of before) changes.set(price, -quantity);
      for (const [price, quantity] of after) changes.set(price, (changes.get(price) ?? 0) + quantity);
      return [...changes.entries()]
        .filter(([, change]) => change !== 0)
        .map(([price, change]) => ({ p: String(price), q: String(change) }));
    };
    const data = { m: market, b: diff(last.bids, book.bids), a: diff(last.asks, book.asks) };
    const drop = this.dropBookDeltas > 0;
    if (drop) this.dropBookDeltas--;
    for (const entry of this.sockets) {
      if (entry.path !== `/orderbooks/${market}`) continue;
      entry.sequence++;
      if (drop) continue;
      entry.socket.send(JSON.stringify({ type: 'DELTA', ts: this.clock.now(), seq: entry.sequence, data }));
    }
  }

  private readonly lastPublished = new Map<string, { bids: BookLevel[]; asks: BookLevel[] }>();

  private publishMark(market: string): void {
    const price = this.mark(market);
    this.broadcast(`/prices/mark/${market}`, (entry) => ({
      type: 'MP',
      ts: this.clock.now(),
      seq: ++entry.sequence,
      data: { m: market, p: String(price), ts: this.clock.now() },
    }));
  }

  private mark(market: string): number {
    const book = this.books.get(market);
    const bid = book?.bids[0]?.[0];
    const ask = book?.asks[0]?.[0];
    const options = this.requireMarket(market);
    return bid !== undefined && ask !== undefined
      ? roundToStepNumber((bid + ask) / 2, options.tickSize, 'nearest')
      : options.price;
  }

  private snapshotMessage(market: string, sequence: number) {
    const book = this.books.get(market) ?? { bids: [], asks: [] };
    if (!this.lastPublished.has(market)) this.lastPublished.set(market, book);
    return {
      type: 'SNAPSHOT',
      ts: this.clock.now(),
      seq: sequence,
      data: {
        m: market,
        b: book.bids.map(([price, quantity]) => ({ p: String(price), q: String(quantity) })),
        a: book.asks.map(([price, quantity]) => ({ p: String(price), q: String(quantity) })),
      },
    };
  }

  // Streams.

  private upgrade(request: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.startsWith(STREAM_PREFIX) ? url.pathname.slice(STREAM_PREFIX.length) : '';
    const refuse = (status: number, text: string) => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n\r\n`);
      socket.destroy();
    };
    if (this.options.requireUserAgent && !request.headers['user-agent']) {
      refuse(400, 'User-Agent required');
      return;
    }
    let apiKey: string | undefined;
    if (path === '/account') {
      apiKey = String(request.headers['x-api-key'] ?? '');
      if (!this.accountsByKey.has(apiKey)) {
        refuse(401, 'Unauthorized');
        return;
      }
    } else {
      const match = /^\/(orderbooks|funding|prices\/mark)\/(.+)$/.exec(path);
      if (!match || !this.markets.has(decodeURIComponent(match[2] as string))) {
        refuse(404, 'Not Found');
        return;
      }
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const entry: Socket = {
        socket: ws,
        path: decodeURIComponent(path),
        ...(apiKey ? { apiKey } : {}),
        sequence: 0,
        lastPong: performance.now(),
      };
      this.sockets.add(entry);
      ws.on('pong', () => {
        entry.lastPong = performance.now();
      });
      ws.on('close', () => this.sockets.delete(entry));
      ws.on('error', () => this.sockets.delete(entry));
      this.greet(entry);
    });
  }

  private greet(entry: Socket): void {
    if (entry.path.startsWith('/orderbooks/')) {
      const market = entry.path.slice('/orderbooks/'.length);
      entry.sequence = 1;
      entry.socket.send(JSON.stringify(this.snapshotMessage(market, 1)));
    } else if (entry.path === '/account' && entry.apiKey) {
      const account = this.accountsByKey.get(entry.apiKey) as SimAccountOptions;
      const orders = [...this.records.values()]
        .filter((record) => record.account === account)
        .map((record) => this.venueOrderOf(record))
        .filter(
          (order): order is Record<string, unknown> =>
            order !== undefined && ['NEW', 'PARTIALLY_FILLED'].includes(order.status as string),
        );
      const positions = this.venuePositions(account);
      const balance = this.venueBalance(account.vault);
      entry.sequence = 1;
      entry.socket.send(
        JSON.stringify({
          type: 'SNAPSHOT',
          ts: this.clock.now(),
          seq: 1,
          data: { orders, positions, ...(balance ? { balance } : {}) },
        }),
      );
    }
  }

  private pingAll(): void {
    const deadline = this.options.pongTimeoutMs;
    for (const entry of this.sockets) {
      const sentAt = performance.now();
      entry.socket.ping();
      // Each ping has its own deadline: no pong since it was sent means the client is gone.
      const timer = setTimeout(() => {
        if (entry.lastPong < sentAt) entry.socket.terminate();
      }, deadline);
      timer.unref?.();
    }
  }

  private broadcast(path: string, build: (entry: Socket) => unknown): void {
    for (const entry of this.sockets)
      if (entry.path === path) entry.socket.send(JSON.stringify(build(entry)));
  }

  private pushAccount(vault: string, type: string, data: Record<string, unknown>): void {
    const account = this.accountsByVault.get(vault);
    if (!account) return;
    for (const entry of this.sockets) {
      if (entry.path !== '/account' || entry.apiKey !== account.apiKey) continue;
      entry.socket.send(JSON.stringify({ type, ts: this.clock.now(), seq: ++entry.sequence, data }));
    }
  }

  // Venue shapes.

  private onSimOrder(order: Order): void {
    this.simOrders.set(order.id, order);
    let venueId = this.venueIdBySimId.get(order.id);
    if (venueId === undefined) {
      const record =
        order.clientOrderId !== undefined ? this.pendingByExternalId.get(order.clientOrderId) : undefined;
      if (!record) return;
      venueId = record.venueId;
      this.venueIdBySimId.set(order.id, venueId);
      this.simIdByVenueId.set(venueId, order.id);
    }
    // The venue reports an order once it is live; the engine's `pending` is internal.
    if (order.status === 'pending') return;
    const record = this.records.get(venueId);
    const venue = record ? this.venueOrderOf(record, order) : undefined;
    if (venue) this.pushAccount(order.account, 'ORDER', { orders: [venue] });
  }

  private venueOrderOf(record: VenueOrderRecord, known?: Order): Record<string, unknown> | undefined {
    if (record.rejected) return record.rejected.order;
    const simId = this.simIdByVenueId.get(record.venueId);
    const order = known ?? (simId ? this.simOrders.get(simId) : undefined);
    if (!order) return undefined;
    const status = {
      pending: 'NEW',
      open: 'NEW',
      'partially-filled': 'PARTIALLY_FILLED',
      filled: 'FILLED',
      cancelled: 'CANCELLED',
      rejected: 'REJECTED',
      expired: 'EXPIRED',
    }[order.status];
    const statusReason =
      order.status === 'cancelled' && order.reason !== 'CANCELLED_BY_USER'
        ? order.reason?.startsWith('IOC') || order.reason?.startsWith('FOK')
          ? 'NO_LIQUIDITY'
          : order.reason?.startsWith('REDUCE_ONLY')
            ? 'REDUCE_ONLY_FAILED'
            : 'UNKNOWN'
        : order.status === 'expired'
          ? 'EXPIRED'
          : 'NONE';
    return {
      id: record.venueId,
      accountId: record.account.accountId ?? Number(record.account.vault),
      externalId: record.externalId,
      market: order.symbol,
      type: record.type,
      side: order.side === 'buy' ? 'BUY' : 'SELL',
      status,
      statusReason,
      price: record.priceText,
      averagePrice: String(order.averagePrice),
      qty: String(order.quantity),
      filledQty: String(order.filledQuantity),
      payedFee: String(order.fee),
      reduceOnly: order.reduceOnly,
      postOnly: record.postOnly,
      timeInForce: record.timeInForce,
      createdTime: order.createdAt,
      updatedTime: order.updatedAt,
      ...(order.expiresAt ? { expireTime: order.expiresAt } : {}),
    };
  }

  /** The latest engine view of each order, kept from the order events. */
  private readonly simOrders = new Map<string, Order>();

  private venuePosition(position: Position): Record<string, unknown> {
    return {
      id: 1,
      accountId: Number(position.account),
      market: position.symbol,
      side: position.quantity < 0 ? 'SHORT' : 'LONG',
      leverage: String(position.leverage ?? 1),
      size: String(Math.abs(position.quantity)),
      value: String(Math.abs(position.quantity) * position.markPrice),
      openPrice: String(position.entryPrice),
      markPrice: String(position.markPrice),
      liquidationPrice: position.liquidationPrice === undefined ? null : String(position.liquidationPrice),
      margin: String(position.marginUsed ?? 0),
      unrealisedPnl: String(position.unrealizedPnl),
      realisedPnl: String(position.realizedPnl),
      createdAt: position.openedAt ?? position.updatedAt,
      updatedAt: position.updatedAt,
    };
  }

  private venuePositions(account: SimAccountOptions, market?: string): Record<string, unknown>[] {
    const snapshot = this.sim.snapshotAccount(account.vault);
    return (snapshot?.positions ?? [])
      .filter((position) => position.quantity !== 0 && (market === undefined || position.symbol === market))
      .map((position) => this.venuePosition(position));
  }

  private venueBalance(vault: string): Record<string, unknown> | undefined {
    const snapshot = this.sim.snapshotAccount(vault);
    if (!snapshot || snapshot.collateral === 0) return undefined;
    return {
      collateralName: 'USD',
      balance: String(snapshot.collateral),
      equity: String(snapshot.equity),
      availableForTrade: String(snapshot.freeCollateral),
      availableForWithdrawal: String(Math.max(0, snapshot.freeCollateral)),
      unrealisedPnl: String(snapshot.equity - snapshot.collateral),
      initialMargin: String(snapshot.marginUsed),
      marginRatio: String(snapshot.equity > 0 ? snapshot.maintenanceMargin / snapshot.equity : 0),
      exposure: String(snapshot.leverage * snapshot.equity),
      leverage: String(snapshot.leverage),
      updatedTime: snapshot.timestamp,
    };
  }

  private async venueMarket(market: SimMarketOptions): Promise<Record<string, unknown>> {
    const mark = this.mark(market.name);
    const book = this.books.get(market.name);
    return {
      name: market.name,
      assetName: market.assetName ?? market.name.split('-')[0],
      assetPrecision: Math.max(0, market.lotSize.split('.')[1]?.length ?? 0),
      collateralAssetName: 'USD',
      collateralAssetPrecision: 6,
      active: true,
      status: 'ACTIVE',
      marketStats: await this.stats(market.name, mark, book),
      tradingConfig: {
        minOrderSize: market.minOrderSize,
        minOrderSizeChange: market.lotSize,
        minPriceChange: market.tickSize,
        maxMarketOrderValue: '1000000',
        maxLimitOrderValue: '5000000',
        maxPositionValue: market.maxPositionValue,
        maxLeverage: market.maxLeverage.toFixed(2),
        maxNumOrders: '200',
        limitPriceCap: '0.05',
        limitPriceFloor: '0.05',
      },
      l2Config: {
        type: 'STARKX',
        collateralId: market.collateralId,
        collateralResolution: market.collateralResolution,
        syntheticId: market.syntheticId,
        syntheticResolution: market.syntheticResolution,
      },
    };
  }

  /** Market stats; the funding rate is the one the next settlement applies, and when. */
  private async stats(
    name: string,
    mark: number,
    book: { bids: BookLevel[]; asks: BookLevel[] } | undefined,
  ) {
    this.requireMarket(name);
    const hour = 3_600_000;
    const rate = await this.sim.fetchFundingRate(name);
    const next = rate.nextFundingTime;
    return {
      markPrice: String(mark),
      indexPrice: String(mark),
      lastPrice: String(mark),
      bidPrice: String(book?.bids[0]?.[0] ?? 0),
      askPrice: String(book?.asks[0]?.[0] ?? 0),
      fundingRate: String(rate.rate),
      nextFundingRate:
        next !== undefined && Number.isFinite(next)
          ? next
          : Math.floor(this.clock.now() / hour) * hour + hour,
      openInterest: '0',
    };
  }

  private requireMarket(name: string): SimMarketOptions {
    const market = this.markets.get(name);
    if (!market) throw venueError('MarketNotFound', `market ${name} not found`, 404);
    return market;
  }

  // REST.

  private send(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const path = url.pathname.startsWith(REST_PREFIX) ? url.pathname.slice(REST_PREFIX.length) : url.pathname;
    this.requests.push({ method, path, headers: request.headers });
    if (this.rateLimitedRequests > 0) {
      this.rateLimitedRequests--;
      response.writeHead(429, { 'Content-Type': 'text/plain' });
      response.end('Too Many Requests');
      return;
    }
    let body: unknown;
    if (method === 'POST' || method === 'PATCH') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
      } catch {
        return this.send(response, 400, { status: 'ERROR', error: { code: 400, message: 'malformed JSON' } });
      }
    }
    try {
      if (this.options.requireUserAgent && !request.headers['user-agent'])
        throw new VenueError(400, 400, 'User-Agent header is required');
      const data = await this.route(method, path, url.searchParams, request.headers, body);
      if (data === NOT_FOUND_EMPTY)
        return this.send(response, 404, { status: 'ERROR', error: { code: 404, message: 'Not found' } });
      this.send(response, 200, { status: 'OK', data });
    } catch (error) {
      if (error instanceof VenueError)
        return this.send(response, error.status, {
          status: 'ERROR',
          error: { code: error.code, message: error.message },
        });
      throw error;
    }
  }

  private authenticate(headers: IncomingMessage['headers']): SimAccountOptions {
    const account = this.accountsByKey.get(String(headers['x-api-key'] ?? ''));
    if (!account) throw new VenueError(401, 401, 'Unauthorized: unknown X-Api-Key');
    return account;
  }

  private async route(
    method: string,
    path: string,
    query: URLSearchParams,
    headers: IncomingMessage['headers'],
    body: unknown,
  ): Promise<unknown> {
    let match: RegExpExecArray | null;
    if (method === 'GET' && path === '/info/markets') {
      const names = query.getAll('market');
      return Promise.all(
        this.options.markets
          .filter((market) => names.length === 0 || names.includes(market.name))
          .map((market) => this.venueMarket(market)),
      );
    }
    match = /^\/info\/markets\/([^/]+)\/stats$/.exec(path);
    if (method === 'GET' && match) {
      const name = decodeURIComponent(match[1] as string);
      this.requireMarket(name);
      return this.stats(name, this.mark(name), this.books.get(name));
    }
    match = /^\/info\/markets\/([^/]+)\/orderbook$/.exec(path);
    if (method === 'GET' && match) {
      const name = decodeURIComponent(match[1] as string);
      this.requireMarket(name);
      const book = this.books.get(name) ?? { bids: [], asks: [] };
      return {
        market: name,
        bid: book.bids.map(([price, quantity]) => ({ qty: String(quantity), price: String(price) })),
        ask: book.asks.map(([price, quantity]) => ({ qty: String(quantity), price: String(price) })),
      };
    }
    match = /^\/info\/([^/]+)\/funding$/.exec(path);
    if (method === 'GET' && match) {
      const name = decodeURIComponent(match[1] as string);
      const market = this.requireMarket(name);
      const hour = 3_600_000;
      const end = Number(query.get('endTime') ?? this.clock.now());
      const start = Number(query.get('startTime') ?? end - 24 * hour);
      const limit = Math.min(Number(query.get('limit') ?? 10_000), 10_000);
      // Settlements the simulator applied; before it started, the configured rate every hour.
      const applied = await this.sim.fetchFundingHistory({ symbol: name, from: start, to: end });
      const points: { m: string; T: number; f: string }[] = applied
        .map((rate) => ({ m: name, T: rate.timestamp, f: String(rate.rate) }))
        .reverse();
      for (
        let time = Math.floor(Math.min(end, this.startedAt - 1) / hour) * hour;
        time >= start && points.length < limit;
        time -= hour
      )
        points.push({ m: name, T: time, f: String(market.fundingRate) });
      return points.slice(0, limit); // newest first, as the venue sends them
    }
    // Private endpoints.
    const account = this.authenticate(headers);
    if (method === 'GET' && path === '/user/account/info')
      return {
        accountId: account.accountId ?? Number(account.vault),
        status: 'ACTIVE',
        l2Key: account.starkPublicKey,
        l2Vault: account.vault,
      };
    if (method === 'GET' && path === '/user/balance')
      return this.venueBalance(account.vault) ?? NOT_FOUND_EMPTY;
    if (method === 'GET' && path === '/user/positions')
      return this.venuePositions(account, query.get('market') ?? undefined);
    if (method === 'GET' && path === '/user/funding/history') {
      const market = query.get('market');
      const side = query.get('side');
      const from = Number(query.get('fromTime') ?? 0);
      return (this.fundingPayments.get(account.vault) ?? [])
        .filter(
          (payment) =>
            (!market || payment.market === market) &&
            (!side || payment.side === side) &&
            (payment.paidTime as number) >= from,
        )
        .reverse(); // newest first
    }
    if (method === 'GET' && path === '/user/fees')
      return this.options.markets.map((market) => ({
        market: market.name,
        makerFeeRate: String(this.options.fees.maker),
        takerFeeRate: String(this.options.fees.taker),
        builderFeeRate: '0',
      }));
    if (method === 'GET' && path === '/user/orders') {
      const market = query.get('market');
      return [...this.records.values()]
        .filter((record) => record.account === account)
        .map((record) => this.venueOrderOf(record))
        .filter(
          (order): order is Record<string, unknown> =>
            order !== undefined &&
            ['NEW', 'PARTIALLY_FILLED'].includes(order.status as string) &&
            (!market || order.market === market),
        );
    }
    match = /^\/user\/orders\/(\d+)$/.exec(path);
    if (method === 'GET' && match) {
      const record = this.records.get(match[1] as string);
      const order = record && record.account === account ? this.venueOrderOf(record) : undefined;
      if (!order) throw venueError('OrderNotFound', `order ${match[1]} not found`, 404);
      return order;
    }
    if (method === 'POST' && path === '/user/order') return this.placeOrder(account, body);
    match = /^\/user\/order\/(\d+)$/.exec(path);
    if (method === 'DELETE' && match) {
      this.cancel(account, match[1] as string);
      return {};
    }
    if (method === 'DELETE' && path === '/user/order') {
      const externalId = query.get('externalId') ?? '';
      const record = [...this.records.values()].find(
        (candidate) => candidate.account === account && candidate.externalId === externalId,
      );
      if (!record) throw venueError('OrderNotFound', `order ${externalId} not found`, 404);
      this.cancel(account, record.venueId);
      return {};
    }
    if (method === 'POST' && path === '/user/order/massCancel') {
      const request = z
        .object({ markets: z.array(z.string()).optional(), cancelAll: z.boolean().optional() })
        .passthrough()
        .safeParse(body);
      if (!request.success) throw venueError('InvalidOrderParameters', 'malformed mass cancel');
      if (request.data.cancelAll) void this.sim.cancelAllOrders({ account: account.vault });
      for (const market of request.data.markets ?? [])
        void this.sim.cancelAllOrders({ account: account.vault, symbol: market });
      return {};
    }
    throw new VenueError(404, 404, `no route ${method} ${path}`);
  }

  private cancel(account: SimAccountOptions, venueId: string): void {
    const record = this.records.get(venueId);
    const simId = this.simIdByVenueId.get(venueId);
    const order = simId ? this.simOrders.get(simId) : undefined;
    if (
      !record ||
      record.account !== account ||
      !simId ||
      !order ||
      ['filled', 'cancelled', 'rejected', 'expired'].includes(order.status)
    )
      throw venueError('OrderNotFound', `order ${venueId} not found or not open`, 404);
    void this.sim
      .cancelOrder({ account: account.vault, symbol: order.symbol, orderId: simId })
      .catch(() => {});
  }

  /** `POST /user/order`, checked as the venue checks it. */
  private placeOrder(account: SimAccountOptions, body: unknown): { id: string; externalId: string } {
    const parsed = orderBodySchema.safeParse(body);
    if (!parsed.success)
      throw venueError(
        'InvalidOrderParameters',
        `invalid order: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
      );
    const order = parsed.data;
    const market = this.requireMarket(order.market);
    if (order.type !== 'LIMIT' && order.type !== 'MARKET')
      throw venueError('NotAllowedOrderType', `${order.type} orders are not simulated`);
    if (order.timeInForce === 'FOK') throw venueError('InvalidOrderParameters', 'FOK is deprecated');
    if (order.type === 'MARKET' && order.timeInForce !== 'IOC')
      throw venueError('MarketOrderMustBeIOC', 'market orders must be IOC');
    if (BigInt(order.settlement.starkKey) !== BigInt(account.starkPublicKey))
      throw venueError('InvalidStarkExPublicKey', 'the stark key is not the account key');
    if (order.settlement.collateralPosition !== account.vault)
      throw venueError('InvalidStarkExVault', 'the vault is not the account vault');
    const nonce = BigInt(order.nonce);
    if (nonce < 1n || nonce >= 2n ** 31n)
      throw venueError('InvalidOrderParameters', 'nonce must be in [1, 2^31)');
    const now = this.clock.now();
    if (order.expiryEpochMillis <= now || order.expiryEpochMillis > now + this.options.maxExpiryMs)
      throw venueError(
        'InvalidOrderExpiration',
        `expiry ${order.expiryEpochMillis} is in the past or too far ahead`,
      );
    let qty: ReturnType<typeof parseDecimal>;
    let price: ReturnType<typeof parseDecimal>;
    let fee: ReturnType<typeof parseDecimal>;
    try {
      qty = parseDecimal(order.qty, 'qty');
      price = parseDecimal(order.price, 'price');
      fee = parseDecimal(order.fee, 'fee');
    } catch (error) {
      throw venueError('InvalidOrderParameters', (error as Error).message);
    }
    if (qty.numerator === 0n || !isMultipleOf(order.qty, market.lotSize))
      throw venueError(
        'InvalidQtyWrongSizeIncrement',
        `qty ${order.qty} is not a multiple of ${market.lotSize}`,
      );
    if (!order.reduceOnly && Number(order.qty) < Number(market.minOrderSize))
      throw venueError('OrderQtyLessThanMinTradeSize', `qty ${order.qty} is below ${market.minOrderSize}`);
    if (price.numerator === 0n || !isMultipleOf(order.price, market.tickSize))
      throw venueError(
        'InvalidPriceWrongPriceMovement',
        `price ${order.price} is not a multiple of ${market.tickSize}`,
      );
    const requiredFee = order.postOnly ? this.options.fees.maker : this.options.fees.taker;
    if (Number(order.fee) < requiredFee)
      throw venueError('InvalidTradingFees', `fee ${order.fee} is below ${requiredFee}`);
    // The signature must cover exactly the amounts the venue derives from qty, price and fee.
    const amounts = settlementAmounts({
      side: order.side,
      qty,
      price,
      feeRate: fee,
      syntheticResolution: BigInt(market.syntheticResolution),
      collateralResolution: BigInt(market.collateralResolution),
    });
    const hash = starkOrderMessageHash(
      {
        positionId: BigInt(account.vault),
        baseAssetId: BigInt(market.syntheticId),
        baseAmount: amounts.synthetic,
        quoteAssetId: BigInt(market.collateralId),
        quoteAmount: amounts.collateral,
        feeAssetId: BigInt(market.collateralId),
        feeAmount: amounts.fee,
        expiration: settlementExpiration(order.expiryEpochMillis),
        salt: nonce,
      },
      BigInt(account.starkPublicKey),
      this.options.chainId,
    );
    const signature = { r: BigInt(order.settlement.signature.r), s: BigInt(order.settlement.signature.s) };
    if (!verifyMessageSignature(hash, signature, account.starkPublicKey))
      throw venueError('InvalidStarkExSignature', 'the signature does not match the order');
    const externalKey = `${account.vault}:${order.id}`;
    if (this.externalIds.has(externalKey))
      throw venueError('DuplicateOrder', `order id ${order.id} was already used`);
    this.externalIds.add(externalKey);

    const record: VenueOrderRecord = {
      venueId: String(this.nextVenueId++),
      externalId: order.id,
      account,
      timeInForce: order.timeInForce,
      postOnly: order.postOnly,
      type: order.type,
      priceText: order.price,
    };
    this.records.set(record.venueId, record);
    this.pendingByExternalId.set(order.id, record);
    try {
      this.sim.submitOrderSync({
        account: account.vault,
        symbol: market.name,
        side: order.side === 'BUY' ? 'buy' : 'sell',
        type: order.type === 'MARKET' ? 'market' : 'limit',
        quantity: order.qty,
        ...(order.type === 'MARKET' ? { priceLimit: order.price } : { price: order.price }),
        timeInForce: order.postOnly ? 'post-only' : order.timeInForce === 'IOC' ? 'ioc' : 'gtc',
        reduceOnly: order.reduceOnly,
        clientOrderId: order.id,
        expiresAt: order.expiryEpochMillis,
      });
    } catch (error) {
      if (!(error instanceof OrderRejectedError) && !(error instanceof ExchangeError)) throw error;
      // The venue accepts the request and rejects the order asynchronously, on the account stream.
      const reason = rejectionReason((error as ExchangeError).reason);
      record.rejected = {
        reason,
        order: {
          id: record.venueId,
          accountId: account.accountId ?? Number(account.vault),
          externalId: order.id,
          market: market.name,
          type: order.type,
          side: order.side,
          status: 'REJECTED',
          statusReason: reason,
          price: order.price,
          averagePrice: '0',
          qty: order.qty,
          filledQty: '0',
          payedFee: '0',
          reduceOnly: order.reduceOnly,
          postOnly: order.postOnly,
          timeInForce: order.timeInForce,
          createdTime: now,
          updatedTime: now,
        },
      };
      const rejected = record.rejected.order;
      setImmediate(() => this.pushAccount(account.vault, 'ORDER', { orders: [rejected] }));
    } finally {
      this.pendingByExternalId.delete(order.id);
    }
    return { id: record.venueId, externalId: order.id };
  }
}

const NOT_FOUND_EMPTY = Symbol('not found');

function rejectionReason(reason: string | undefined): string {
  switch (reason) {
    case 'POST_ONLY_WOULD_CROSS':
      return 'POST_ONLY_FAILED';
    case 'REDUCE_ONLY_WOULD_INCREASE':
      return 'REDUCE_ONLY_FAILED';
    case 'INSUFFICIENT_MARGIN':
    case 'LEVERAGE_EXCEEDED':
      return 'NOT_ENOUGH_FUNDS';
    case 'INVALID_QUANTITY':
    case 'BELOW_MIN_QUANTITY':
      return 'INVALID_QTY';
    case 'INVALID_PRICE':
      return 'INVALID_PRICE';
    case 'BELOW_MIN_NOTIONAL':
      return 'INVALID_VALUE';
    case 'NO_MARKET_DATA':
      return 'NO_LIQUIDITY';
    default:
      return 'UNKNOWN';
  }
}
