import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AccountSnapshot,
  ExchangeError,
  type Fill,
  type FundingPayment,
  formatFixed,
  isMultipleOf,
  type Order,
  type Position,
  z,
} from '@perpkit/core';
import { SimExchange } from '@perpkit/sim';
import { WebSocket, WebSocketServer } from 'ws';
import { type SignablePayload, verifySignature } from '../signing';
import { bookAround, candleReplay, type PriceFeed, randomWalk, readCandleCsv } from './price-feed';

const decimalText = z.string().regex(/^\d+(\.\d+)?$/);

const marketSchema = z
  .object({
    symbol: z.string().min(1),
    tickSize: decimalText,
    lotSize: decimalText,
    maxLeverage: z.number().int().positive().default(50),
    /** Smallest order notional in USD (Pacifica's `min_order_size`). */
    minOrderSize: z.number().min(0).default(10),
    /** Starting mid price (random walk) or a price scale for replayed candles. */
    price: z.number().positive(),
    /** Funding per hour (fraction). */
    fundingRatePerHour: z.number().min(-0.04).max(0.04).default(0.0000125),
    /** Replay this candle CSV (a `../shared/data` file) instead of the random walk. */
    candles: z.string().min(1).optional(),
  })
  .strict();

export const pacificaSimulatorOptionsSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port. */
    port: z.number().int().min(0).max(65_535).default(0),
    markets: z
      .array(marketSchema)
      .min(1)
      .default([
        {
          symbol: 'BTC',
          tickSize: '1',
          lotSize: '0.00001',
          maxLeverage: 50,
          minOrderSize: 10,
          price: 100_000,
          fundingRatePerHour: 0.0000125,
        },
        {
          symbol: 'ETH',
          tickSize: '0.1',
          lotSize: '0.0001',
          maxLeverage: 50,
          minOrderSize: 10,
          price: 3_500,
          fundingRatePerHour: 0.0000125,
        },
      ]),
    /** Accounts by address (base58 public key) with their starting USDC balance. */
    accounts: z
      .array(z.object({ address: z.string().min(32), balance: z.number().min(0).default(10_000) }).strict())
      .min(1),
    /** Agent wallets already bound: agent public key → main account address. `/agent/bind` adds more. */
    agentWallets: z.record(z.string(), z.string()).default({}),
    /** Time between price steps (and book and price pushes). Pacifica pushes books every 100 ms. */
    tickIntervalMs: z.number().int().positive().default(100),
    /** Random-walk volatility per tick (fraction). */
    volatility: z.number().min(0).max(0.1).default(0.0002),
    seed: z.number().int().default(1),
    fees: z
      .object({ maker: z.number().default(0.00015), taker: z.number().default(0.0004) })
      .strict()
      .default({ maker: 0.00015, taker: 0.0004 }),
    /** Book shape: notional per level and half spread (fraction of the mid). */
    levelNotional: z.number().positive().default(50_000),
    halfSpread: z.number().positive().max(0.05).default(0.0001),
    /** The venue closes sockets silent for 60 s and any socket after 24 h. */
    idleTimeoutMs: z.number().int().positive().default(60_000),
    maxConnectionAgeMs: z
      .number()
      .int()
      .positive()
      .default(24 * 3_600_000),
  })
  .strict();

export type PacificaSimulatorOptionsInput = z.input<typeof pacificaSimulatorOptionsSchema>;
export type PacificaSimulatorOptions = z.output<typeof pacificaSimulatorOptionsSchema>;
type SimMarketOptions = PacificaSimulatorOptions['markets'][number];

/** The operation type each signed endpoint expects (docs "Operation types"). */
const OPERATION_TYPES: Readonly<Record<string, string>> = {
  '/orders/create': 'create_order',
  '/orders/create_market': 'create_market_order',
  '/orders/stop/create': 'create_stop_order',
  '/orders/stop/cancel': 'cancel_stop_order',
  '/positions/tpsl': 'set_position_tpsl',
  '/orders/cancel': 'cancel_order',
  '/orders/cancel_all': 'cancel_all_orders',
  '/account/leverage': 'update_leverage',
  '/account/margin': 'update_margin_mode',
  '/agent/bind': 'bind_agent_wallet',
};

const HEADER_FIELDS = new Set(['account', 'agent_wallet', 'signature', 'timestamp', 'expiry_window']);
const API_PREFIX = '/api/v1';

/** A failure answered in the venue's shape: `{"success": false, "data": null, "error": ..., "code": ...}`. */
class VenueReply extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: number = status,
  ) {
    super(message);
  }
}

interface Client {
  readonly socket: WebSocket;
  readonly subscriptions: Set<string>;
  readonly openedAt: number;
  lastClientMessageAt: number;
  ignorePings: boolean;
}

interface StopOrder {
  readonly id: number;
  readonly account: string;
  readonly symbol: string;
  readonly side: string;
  readonly stopPrice: string;
  readonly limitPrice: string | undefined;
  readonly amount: string;
  readonly clientOrderId: string | undefined;
  readonly createdAt: number;
}

/**
 * A Pacifica venue on loopback: REST under `/api/v1` and a WebSocket at `/ws`, speaking the
 * venue's protocol, with accounts, orders, fills, margin and funding from `SimExchange`.
 * Every signed request is verified (signature, signer, expiry window) and rejected as the venue
 * would; prices and amounts off the tick or lot get the venue's HTTP 500.
 */
export class PacificaSimulator {
  readonly options: PacificaSimulatorOptions;
  readonly sim: SimExchange;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly clients = new Set<Client>();
  private readonly feeds = new Map<string, PriceFeed>();
  private readonly mids = new Map<string, number>();
  /** The last book streamed per market (the sim keeps its own copy to fill against). */
  private readonly books = new Map<
    string,
    { bids: [number, number][]; asks: [number, number][]; timestamp: number }
  >();
  private readonly marketsBySymbol = new Map<string, SimMarketOptions>();
  private readonly agentWallets = new Map<string, string>();
  private readonly leverage = new Map<string, number>();
  /** Pacifica order ids are integers: sim order id ↔ venue id. */
  private readonly venueIds = new Map<string, number>();
  private readonly simIds = new Map<number, { simId: string; account: string }>();
  private readonly stopOrders = new Map<number, StopOrder>();
  private readonly fundingHistory = new Map<string, FundingPayment[]>();
  private nextOrderId = 1_000;
  private nextHistoryId = 1;
  private timer: NodeJS.Timeout | undefined;
  private baseUrl = '';
  private paused = new Set<string>();
  /** Fault injection state. */
  private rateLimitRemaining = 0;
  private rateLimitRetryAfterSeconds: number | undefined;
  private refuseConnections = 0;
  /** Added to the server clock (an expired-signature test moves it forward). */
  clockOffsetMs = 0;
  /** Counters a test can read. */
  readonly stats = { requests: 0, rejectedSignatures: 0, rateLimited: 0, misaligned: 0, connections: 0 };

  constructor(input: PacificaSimulatorOptionsInput) {
    const parsed = pacificaSimulatorOptionsSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
      );
      throw new ExchangeError(
        'INVALID_ARGUMENT',
        `invalid Pacifica simulator options: ${problems.join('; ')}`,
      );
    }
    this.options = parsed.data;
    for (const [agent, account] of Object.entries(this.options.agentWallets))
      this.agentWallets.set(agent, account);
    this.sim = new SimExchange(
      {
        venue: 'pacifica',
        fillModel: 'book',
        fees: this.options.fees,
        seed: this.options.seed,
        markets: this.options.markets.map((market) => ({
          symbol: market.symbol,
          tickSize: market.tickSize,
          lotSize: market.lotSize,
          minNotional: market.minOrderSize,
          maxLeverage: market.maxLeverage,
          fundingIntervalHours: 1,
          fundingRate: market.fundingRatePerHour,
          // Maintenance margin is half the initial margin at max leverage (Pacifica's rule).
          maintenanceMarginRate: 1 / (2 * market.maxLeverage),
        })),
        accounts: this.options.accounts.map((account) => ({ id: account.address, balance: account.balance })),
      },
      { id: 'pacifica-sim' },
    );
    this.options.markets.forEach((market, index) => {
      this.marketsBySymbol.set(market.symbol, market);
      const candles = market.candles ? readCandleCsv(market.candles) : undefined;
      this.feeds.set(
        market.symbol,
        candles
          ? candleReplay(candles, market.price / (candles[0] as { open: number }).open)
          : randomWalk(market.price, this.options.volatility, this.options.seed + index),
      );
    });
    this.sim.events.on('fill', (fill) => this.pushFill(fill));
    this.sim.events.on('order', (order) => this.pushOrder(order));
    this.sim.events.on('position', (position) => this.pushPositions(position.account));
    this.sim.events.on('account', (snapshot) => this.pushAccount(snapshot));
    this.sim.events.on('funding', (payment) => {
      const list = this.fundingHistory.get(payment.account) ?? [];
      list.push(payment);
      this.fundingHistory.set(payment.account, list.slice(-1_000));
    });
  }

  /** The REST base (`http://127.0.0.1:port/api/v1`) and the WebSocket URL, once started. */
  get urls(): { restUrl: string; wsUrl: string } {
    return { restUrl: `${this.baseUrl}${API_PREFIX}`, wsUrl: `${this.baseUrl.replace(/^http/, 'ws')}/ws` };
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Starts the HTTP and WebSocket server and the price loop. */
  async start(): Promise<{ restUrl: string; wsUrl: string }> {
    for (const symbol of this.marketsBySymbol.keys()) this.step(symbol);
    const server = createServer((request, response) => {
      this.handleHttp(request, response).catch(() => response.destroy());
    });
    this.server = server;
    this.wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (request, socket, head) => {
      if (!request.url?.startsWith('/ws')) {
        socket.destroy();
        return;
      }
      if (this.refuseConnections > 0) {
        this.refuseConnections -= 1;
        socket.destroy();
        return;
      }
      this.wss?.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws));
    });
    await new Promise<void>((resolve) => server.listen(this.options.port, this.options.host, resolve));
    const address = server.address() as AddressInfo;
    this.baseUrl = `http://${this.options.host}:${address.port}`;
    this.timer = setInterval(() => this.tick(), this.options.tickIntervalMs);
    this.timer.unref?.();
    return this.urls;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const client of this.clients) client.socket.terminate();
    this.clients.clear();
    this.wss?.close();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }

  // ---------------------------------------------------------------- market

  private tick(): void {
    const now = this.now();
    for (const client of [...this.clients]) {
      if (now - client.lastClientMessageAt > this.options.idleTimeoutMs)
        client.socket.close(1000, 'idle timeout');
      else if (now - client.openedAt > this.options.maxConnectionAgeMs)
        client.socket.close(1000, 'connection age limit');
    }
    for (const symbol of this.marketsBySymbol.keys()) if (!this.paused.has(symbol)) this.step(symbol);
    this.broadcastPrices();
  }

  /** Moves a market one step along its feed (or to `price`) and streams its book. */
  private step(symbol: string, price?: number): void {
    const market = this.marketsBySymbol.get(symbol) as SimMarketOptions;
    const mid = price ?? (this.feeds.get(symbol) as PriceFeed).next();
    this.mids.set(symbol, mid);
    const { bids, asks } = bookAround(mid, {
      tickSize: market.tickSize,
      lotSize: market.lotSize,
      levels: 10,
      levelNotional: this.options.levelNotional,
      halfSpread: this.options.halfSpread,
    });
    const timestamp = this.now();
    this.books.set(symbol, { bids, asks, timestamp });
    this.sim.processOrderBook({ symbol, timestamp, bids, asks });
    this.broadcast(`book:${symbol}`, 'book', this.bookPayload(symbol));
  }

  /** Moves a market to a price now (tests, demos): the book re-centres and fills what it crosses. */
  setPrice(symbol: string, price: number): void {
    this.requireMarket(symbol);
    // The market goes on from here: later ticks walk from the new price, not back to the old path.
    (this.feeds.get(symbol) as PriceFeed).moveTo(price);
    this.step(symbol, price);
    this.broadcastPrices();
  }

  private bookPayload(symbol: string) {
    const market = this.marketsBySymbol.get(symbol) as SimMarketOptions;
    const price = (value: number) => formatFixed(value, decimalsOf(market.tickSize));
    const amount = (value: number) => formatFixed(value, decimalsOf(market.lotSize));
    const book = this.books.get(symbol) ?? { bids: [], asks: [], timestamp: this.now() };
    const level = ([p, a]: readonly [number, number]) => ({ p: price(p), a: amount(a), n: 1 });
    return { s: symbol, l: [book.bids.map(level), book.asks.map(level)], t: book.timestamp };
  }

  private pricesPayload() {
    const now = this.now();
    return [...this.marketsBySymbol.values()].map((market) => {
      const mid = this.mids.get(market.symbol) ?? market.price;
      const text = (value: number) => formatFixed(value, decimalsOf(market.tickSize) + 2);
      return {
        funding: String(market.fundingRatePerHour),
        mark: text(mid),
        mid: text(mid),
        next_funding: String(market.fundingRatePerHour),
        open_interest: text(this.openInterest(market.symbol) * mid),
        oracle: text(mid),
        symbol: market.symbol,
        timestamp: now,
        volume_24h: '0',
        yesterday_price: text(market.price),
      };
    });
  }

  /** Open interest in base units: the long side summed over the simulated accounts. */
  private openInterest(symbol: string): number {
    let longs = 0;
    for (const account of this.options.accounts)
      for (const position of this.sim.snapshotAccount(account.address)?.positions ?? [])
        if (position.symbol === symbol && position.quantity > 0) longs += position.quantity;
    return longs;
  }

  private broadcastPrices(): void {
    this.broadcast('prices', 'prices', this.pricesPayload());
  }

  // ---------------------------------------------------------------- fault injection

  /** The next `count` HTTP requests answer 429 (with `Retry-After` when given). */
  rateLimitNext(count: number, retryAfterSeconds?: number): void {
    this.rateLimitRemaining = count;
    this.rateLimitRetryAfterSeconds = retryAfterSeconds;
  }

  /** Terminates every WebSocket connection, as a network failure would. */
  dropConnections(): number {
    const count = this.clients.size;
    for (const client of this.clients) client.socket.terminate();
    return count;
  }

  /** Refuses the next `count` WebSocket connection attempts. */
  refuseNextConnections(count: number): void {
    this.refuseConnections = count;
  }

  /** Sends raw text to every connected socket (a malformed message). */
  sendRaw(text: string): void {
    for (const client of this.clients) client.socket.send(text);
  }

  /** Stops (or resumes) price steps and book pushes of a market: a stalled stream. */
  pauseMarket(symbol: string, paused = true): void {
    if (paused) this.paused.add(symbol);
    else this.paused.delete(symbol);
  }

  /** Connected WebSocket clients (tests check reconnects and rollovers). */
  connectionCount(): number {
    return this.clients.size;
  }

  /** Stop orders and TP/SL legs received (acknowledged and listed; this simulator does not trigger them). */
  stops(): StopOrder[] {
    return [...this.stopOrders.values()];
  }

  leverageOf(account: string, symbol: string): number | undefined {
    return this.leverage.get(`${account}:${symbol}`);
  }

  // ---------------------------------------------------------------- WebSocket

  private onConnection(socket: WebSocket): void {
    const now = this.now();
    const client: Client = {
      socket,
      subscriptions: new Set(),
      openedAt: now,
      lastClientMessageAt: now,
      ignorePings: false,
    };
    this.clients.add(client);
    this.stats.connections += 1;
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
    socket.on('message', (raw) => {
      client.lastClientMessageAt = this.now();
      let message: { method?: unknown; params?: Record<string, unknown> };
      try {
        message = JSON.parse(raw.toString());
      } catch {
        socket.send(JSON.stringify({ code: 400, err: 'Invalid message', t: this.now() }));
        return;
      }
      if (message.method === 'ping') {
        if (!client.ignorePings) socket.send(JSON.stringify({ channel: 'pong' }));
        return;
      }
      const params = message.params ?? {};
      const key = this.subscriptionKey(params);
      if (message.method === 'subscribe' && key) {
        client.subscriptions.add(key);
        socket.send(JSON.stringify({ channel: 'subscribe', data: params }));
        this.sendSnapshot(client, params);
      } else if (message.method === 'unsubscribe' && key) {
        client.subscriptions.delete(key);
        socket.send(JSON.stringify({ channel: 'unsubscribe', data: params }));
      }
    });
  }

  /** Makes every connected client ignore pings (a half-dead connection). */
  ignorePings(ignore = true): void {
    for (const client of this.clients) client.ignorePings = ignore;
  }

  private subscriptionKey(params: Record<string, unknown>): string | undefined {
    const source = params.source;
    if (typeof source !== 'string') return undefined;
    if (source === 'prices') return 'prices';
    if (typeof params.symbol === 'string') return `${source}:${params.symbol}`;
    if (typeof params.account === 'string') return `${source}:${params.account}`;
    return undefined;
  }

  private sendSnapshot(client: Client, params: Record<string, unknown>): void {
    const send = (channel: string, data: unknown) => client.socket.send(JSON.stringify({ channel, data }));
    if (
      params.source === 'book' &&
      typeof params.symbol === 'string' &&
      this.marketsBySymbol.has(params.symbol)
    )
      send('book', this.bookPayload(params.symbol));
    if (params.source === 'prices') send('prices', this.pricesPayload());
    // account_positions answers with a snapshot on subscribe (docs, 2025-11-19).
    if (
      params.source === 'account_positions' &&
      typeof params.account === 'string' &&
      this.hasAccount(params.account)
    )
      send('account_positions', this.positionsPayload(params.account));
  }

  private broadcast(key: string, channel: string, data: unknown): void {
    let text: string | undefined;
    for (const client of this.clients) {
      if (!client.subscriptions.has(key) || client.socket.readyState !== WebSocket.OPEN) continue;
      text ??= JSON.stringify({ channel, data });
      client.socket.send(text);
    }
  }

  private pushFill(fill: Fill): void {
    const market = this.marketsBySymbol.get(fill.symbol) as SimMarketOptions;
    const position = this.sim
      .snapshotAccount(fill.account)
      ?.positions.find((item) => item.symbol === fill.symbol);
    const after = position?.quantity ?? 0;
    const tradeSide =
      fill.side === 'buy'
        ? after > 0
          ? 'open_long'
          : 'close_short'
        : after < 0
          ? 'open_short'
          : 'close_long';
    this.broadcast(`account_trades:${fill.account}`, 'account_trades', [
      {
        h: this.nextHistoryId++,
        i: this.venueIdOf(fill.orderId, fill.account),
        I: fill.clientOrderId ?? null,
        u: fill.account,
        s: fill.symbol,
        ts: tradeSide,
        p: formatFixed(fill.price, decimalsOf(market.tickSize)),
        a: formatFixed(fill.quantity, decimalsOf(market.lotSize)),
        o: formatFixed(position?.entryPrice ?? fill.price, 6),
        te: fill.liquidity === 'maker' ? 'fulfill_maker' : 'fulfill_taker',
        tc: 'normal',
        n: '0',
        f: formatFixed(fill.fee, 8),
        t: fill.timestamp,
      },
    ]);
  }

  private orderRow(order: Order) {
    const market = this.marketsBySymbol.get(order.symbol) as SimMarketOptions;
    const event =
      order.status === 'cancelled'
        ? order.reason === 'CANCELLED_BY_USER'
          ? 'cancel'
          : order.reason === 'POST_ONLY_WOULD_CROSS'
            ? 'post_only_rejected'
            : 'force_cancel'
        : order.filledQuantity > 0
          ? order.type === 'market'
            ? 'fulfill_market'
            : 'fulfill_limit'
          : 'make';
    const status =
      order.status === 'partially-filled'
        ? 'partially_filled'
        : order.status === 'pending'
          ? 'open'
          : order.status;
    return {
      i: this.venueIdOf(order.id, order.account),
      I: order.clientOrderId ?? null,
      u: order.account,
      s: order.symbol,
      d: order.side === 'buy' ? 'bid' : 'ask',
      p: formatFixed(order.averagePrice, decimalsOf(market.tickSize) + 2),
      ip: order.price === undefined ? null : formatFixed(order.price, decimalsOf(market.tickSize)),
      a: formatFixed(order.quantity, decimalsOf(market.lotSize)),
      f: formatFixed(order.filledQuantity, decimalsOf(market.lotSize)),
      oe: event,
      os: status,
      ot: order.type,
      sp: null,
      si: null,
      r: order.reduceOnly,
      ct: order.createdAt,
      ut: order.updatedAt,
    };
  }

  private pushOrder(order: Order): void {
    if (order.status === 'pending') return; // the venue reports orders once they are live
    this.broadcast(`account_order_updates:${order.account}`, 'account_order_updates', [this.orderRow(order)]);
  }

  private positionsPayload(account: string) {
    const snapshot = this.sim.snapshotAccount(account);
    return (snapshot?.positions ?? [])
      .filter((position) => position.quantity !== 0)
      .map((position) => this.positionRow(position));
  }

  private positionRow(position: Position) {
    const market = this.marketsBySymbol.get(position.symbol) as SimMarketOptions;
    return {
      s: position.symbol,
      d: position.quantity > 0 ? 'bid' : 'ask',
      a: formatFixed(Math.abs(position.quantity), decimalsOf(market.lotSize)),
      p: formatFixed(position.entryPrice, 6),
      m: '0',
      f: formatFixed(position.fundingSettled ?? 0, 8),
      i: false,
      l: position.liquidationPrice === undefined ? null : formatFixed(position.liquidationPrice, 6),
      t: position.updatedAt,
    };
  }

  private pushPositions(account: string): void {
    this.broadcast(`account_positions:${account}`, 'account_positions', this.positionsPayload(account));
  }

  private accountRow(snapshot: AccountSnapshot) {
    const money = (value: number) => formatFixed(value, 6);
    return {
      balance: money(snapshot.collateral),
      fee_level: 0,
      account_equity: money(snapshot.equity),
      available_to_spend: money(snapshot.freeCollateral),
      available_to_withdraw: money(Math.max(0, Math.min(snapshot.freeCollateral, snapshot.collateral))),
      pending_balance: '0.000000',
      total_margin_used: money(snapshot.marginUsed),
      cross_mmr: money(snapshot.maintenanceMargin),
      positions_count: snapshot.positions.length,
      orders_count: 0,
      stop_orders_count: [...this.stopOrders.values()].filter((stop) => stop.account === snapshot.account)
        .length,
      updated_at: snapshot.timestamp,
      use_ltp_for_stop_orders: false,
    };
  }

  private pushAccount(snapshot: AccountSnapshot): void {
    const row = this.accountRow(snapshot);
    this.broadcast(`account_info:${snapshot.account}`, 'account_info', {
      ae: row.account_equity,
      as: row.available_to_spend,
      aw: row.available_to_withdraw,
      b: row.balance,
      f: 0,
      mu: row.total_margin_used,
      cm: row.cross_mmr,
      oc: row.orders_count,
      pb: row.pending_balance,
      pc: row.positions_count,
      sc: row.stop_orders_count,
      t: row.updated_at,
    });
  }

  // ---------------------------------------------------------------- HTTP

  private async handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.stats.requests += 1;
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    if (this.rateLimitRemaining > 0) {
      this.rateLimitRemaining -= 1;
      this.stats.rateLimited += 1;
      reply(
        429,
        { success: false, data: null, error: 'Too many requests', code: 429 },
        {
          ratelimit: '"credits";r=0;t=1',
          'ratelimit-policy': '"credits";q=1250;w=60',
          ...(this.rateLimitRetryAfterSeconds === undefined
            ? {}
            : { 'retry-after': String(this.rateLimitRetryAfterSeconds) }),
        },
      );
      return;
    }
    try {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (!url.pathname.startsWith(API_PREFIX)) throw new VenueReply(404, 'Not found');
      const path = url.pathname.slice(API_PREFIX.length);
      let data: unknown;
      if (request.method === 'GET') data = await this.handleGet(path, url.searchParams);
      else if (request.method === 'POST') data = await this.handlePost(path, await readBody(request));
      else throw new VenueReply(404, 'Not found');
      reply(200, { success: true, data, error: null, code: null }, { ratelimit: '"credits";r=1240;t=60' });
    } catch (error) {
      if (error instanceof VenueReply) {
        reply(error.status, { success: false, data: null, error: error.message, code: error.code });
        return;
      }
      reply(500, { success: false, data: null, error: 'Internal server error', code: 500 });
    }
  }

  private async handleGet(path: string, query: URLSearchParams): Promise<unknown> {
    const account = () => {
      const address = query.get('account') ?? '';
      if (!this.hasAccount(address)) throw new VenueReply(422, 'Account not found', 1);
      return address;
    };
    switch (path) {
      case '/info':
        return [...this.marketsBySymbol.values()].map((market) => ({
          symbol: market.symbol,
          tick_size: market.tickSize,
          min_tick: '0',
          max_tick: '1000000',
          lot_size: market.lotSize,
          max_leverage: market.maxLeverage,
          isolated_only: false,
          min_order_size: String(market.minOrderSize),
          max_order_size: '5000000',
          funding_rate: String(market.fundingRatePerHour),
          next_funding_rate: String(market.fundingRatePerHour),
          created_at: 1_748_881_333_944,
        }));
      case '/info/prices':
        return this.pricesPayload();
      case '/book': {
        const symbol = query.get('symbol') ?? '';
        this.requireMarket(symbol);
        return this.bookPayload(symbol);
      }
      case '/funding_rate/history': {
        const market = this.requireMarket(query.get('symbol') ?? '');
        const hour = Math.floor(this.now() / 3_600_000) * 3_600_000;
        const limit = Math.min(Number(query.get('limit') ?? 100) || 100, 4_000);
        return Array.from({ length: Math.min(limit, 48) }, (_, index) => ({
          oracle_price: formatFixed(this.mids.get(market.symbol) ?? market.price, 6),
          bid_impact_price: '0',
          ask_impact_price: '0',
          funding_rate: String(market.fundingRatePerHour),
          next_funding_rate: String(market.fundingRatePerHour),
          created_at: hour - index * 3_600_000,
        }));
      }
      case '/account': {
        const snapshot = this.sim.snapshotAccount(account()) as AccountSnapshot;
        return this.accountRow(snapshot);
      }
      case '/account/settings': {
        const address = account();
        return [...this.leverage]
          .filter(([key]) => key.startsWith(`${address}:`))
          .map(([key, value]) => ({
            symbol: key.slice(address.length + 1),
            isolated: false,
            leverage: value,
            created_at: 0,
            updated_at: 0,
          }));
      }
      case '/positions': {
        const address = account();
        return (this.sim.snapshotAccount(address)?.positions ?? [])
          .filter((position) => position.quantity !== 0)
          .map((position) => {
            const row = this.positionRow(position);
            return {
              symbol: row.s,
              side: row.d,
              amount: row.a,
              entry_price: row.p,
              margin: '0',
              funding: row.f,
              isolated: false,
              created_at: position.openedAt ?? position.updatedAt,
              updated_at: position.updatedAt,
            };
          });
      }
      case '/orders': {
        const address = account();
        return (await this.openOrdersOf(address)).map((order) => {
          const row = this.orderRow(order);
          return {
            order_id: row.i,
            client_order_id: row.I,
            symbol: row.s,
            side: row.d,
            price: row.ip,
            initial_amount: row.a,
            filled_amount: row.f,
            cancelled_amount: '0',
            stop_price: null,
            order_type: row.ot,
            stop_parent_order_id: null,
            reduce_only: row.r,
            created_at: row.ct,
            updated_at: row.ut,
          };
        });
      }
      case '/orders/history_by_id': {
        const entry = this.simIds.get(Number(query.get('order_id')));
        if (!entry) return [];
        const order = await this.orderOf(entry.simId, entry.account);
        if (!order) return [];
        const row = this.orderRow(order);
        return [
          {
            history_id: this.nextHistoryId++,
            order_id: row.i,
            client_order_id: row.I,
            symbol: row.s,
            side: row.d,
            price: row.ip,
            initial_price: row.ip,
            average_filled_price: row.p,
            initial_amount: row.a,
            filled_amount: row.f,
            cancelled_amount:
              order.status === 'cancelled' ? formatFixed(order.quantity - order.filledQuantity, 8) : '0',
            event_type: row.oe,
            order_type: row.ot,
            order_status: row.os,
            stop_price: null,
            stop_parent_order_id: null,
            reduce_only: row.r,
            reason: order.status === 'cancelled' ? row.oe : null,
            created_at: row.ct,
            updated_at: row.ut,
          },
        ];
      }
      case '/funding/history': {
        const address = account();
        return [...(this.fundingHistory.get(address) ?? [])].reverse().map((payment, index) => ({
          history_id: index + 1,
          symbol: payment.symbol,
          side: payment.positionQuantity > 0 ? 'bid' : 'ask',
          amount: String(Math.abs(payment.positionQuantity)),
          payout: formatFixed(payment.amount, 6),
          rate: String(payment.rate),
          created_at: payment.timestamp,
        }));
      }
      default:
        throw new VenueReply(404, 'Not found');
    }
  }

  private async handlePost(path: string, body: unknown): Promise<unknown> {
    if (path === '/orders/batch') {
      const actions = (body as { actions?: unknown })?.actions;
      if (!Array.isArray(actions) || actions.length === 0 || actions.length > 10)
        throw new VenueReply(400, 'Invalid batch operation parameters');
      const results = [];
      // Executed in order; a failed action does not stop the ones after it.
      for (const action of actions as { type?: unknown; data?: unknown }[]) {
        const target =
          action?.type === 'Create'
            ? '/orders/create'
            : action?.type === 'Cancel'
              ? '/orders/cancel'
              : undefined;
        try {
          if (!target) throw new VenueReply(400, 'Invalid batch action type');
          const result = (await this.handleSigned(target, action.data)) as { order_id?: number } | undefined;
          results.push({ success: true, order_id: result?.order_id ?? null, error: null });
        } catch (error) {
          results.push({
            success: false,
            order_id: null,
            error: error instanceof VenueReply ? error.message : 'Internal server error',
          });
        }
      }
      return { results };
    }
    return this.handleSigned(path, body);
  }

  /** Verifies a signed body and runs its operation. */
  private async handleSigned(path: string, body: unknown): Promise<unknown> {
    const type = OPERATION_TYPES[path];
    if (!type) throw new VenueReply(404, 'Not found');
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new VenueReply(400, 'Invalid request');
    const record = body as Record<string, unknown>;
    const account = record.account;
    const agentWallet = record.agent_wallet ?? undefined;
    const { signature, timestamp } = record;
    const expiryWindow = record.expiry_window ?? 30_000;
    if (
      typeof account !== 'string' ||
      typeof signature !== 'string' ||
      typeof timestamp !== 'number' ||
      typeof expiryWindow !== 'number'
    )
      throw new VenueReply(400, 'Invalid message');
    const data: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) if (!HEADER_FIELDS.has(key)) data[key] = value;
    // bind_agent_wallet carries agent_wallet as payload, signed by the main key.
    if (type === 'bind_agent_wallet' && typeof agentWallet === 'string') data.agent_wallet = agentWallet;
    const signer = type !== 'bind_agent_wallet' && typeof agentWallet === 'string' ? agentWallet : account;
    if (timestamp + expiryWindow < this.now()) {
      this.stats.rejectedSignatures += 1;
      throw new VenueReply(400, 'Invalid message');
    }
    const failure = verifySignature(
      { type, timestamp, expiryWindow, data: data as SignablePayload },
      signature,
      signer,
    );
    if (failure) {
      this.stats.rejectedSignatures += 1;
      const text = {
        INVALID_SIGNATURE: 'Invalid signature',
        INVALID_PUBLIC_KEY: 'Invalid public key',
        VERIFICATION_FAILED: 'Verification failed',
        INVALID_MESSAGE: 'Invalid message',
      }[failure];
      throw new VenueReply(400, text);
    }
    if (!this.hasAccount(account)) throw new VenueReply(422, 'Account not found', 1);
    if (signer !== account && this.agentWallets.get(signer) !== account)
      throw new VenueReply(403, 'Invalid signer', 402);
    return this.execute(type, account, data);
  }

  private async execute(type: string, account: string, data: Record<string, unknown>): Promise<unknown> {
    switch (type) {
      case 'create_order':
      case 'create_market_order':
        return this.createOrder(type, account, data);
      case 'cancel_order': {
        const symbol = this.requireMarket(stringField(data, 'symbol')).symbol;
        const simId = await this.findSimOrder(account, data);
        const order = simId === undefined ? undefined : await this.orderOf(simId, account);
        if (!simId || !order || order.symbol !== symbol) throw new VenueReply(400, 'Order not found');
        try {
          await this.sim.cancelOrder({ account, symbol, orderId: simId });
        } catch {
          throw new VenueReply(400, 'Order not found');
        }
        return null;
      }
      case 'cancel_all_orders': {
        const all = data.all_symbols === true;
        const symbol = all ? undefined : this.requireMarket(stringField(data, 'symbol')).symbol;
        let count = 0;
        for (const order of await this.openOrdersOf(account)) {
          if (symbol !== undefined && order.symbol !== symbol) continue;
          if (data.exclude_reduce_only === true && order.reduceOnly) continue;
          await this.sim.cancelOrder({ account, symbol: order.symbol, orderId: order.id });
          count += 1;
        }
        return { cancelled_count: count };
      }
      case 'update_leverage': {
        const market = this.requireMarket(stringField(data, 'symbol'));
        const leverage = data.leverage;
        if (
          typeof leverage !== 'number' ||
          !Number.isInteger(leverage) ||
          leverage < 1 ||
          leverage > market.maxLeverage
        )
          throw new VenueReply(400, 'Invalid leverage');
        this.leverage.set(`${account}:${market.symbol}`, leverage);
        return null;
      }
      case 'update_margin_mode':
        this.requireMarket(stringField(data, 'symbol'));
        return null;
      case 'bind_agent_wallet':
        this.agentWallets.set(stringField(data, 'agent_wallet'), account);
        return null;
      case 'create_stop_order': {
        const market = this.requireMarket(stringField(data, 'symbol'));
        const stop = data.stop_order as Record<string, unknown> | undefined;
        if (!stop || typeof stop !== 'object') throw new VenueReply(400, 'Invalid stop order parameters');
        return { order_id: this.recordStop(account, market, stringField(data, 'side'), stop, true) };
      }
      case 'set_position_tpsl': {
        const market = this.requireMarket(stringField(data, 'symbol'));
        const position = this.sim
          .snapshotAccount(account)
          ?.positions.find((item) => item.symbol === market.symbol);
        if (!position || position.quantity === 0) throw new VenueReply(400, 'Position not found');
        for (const leg of ['take_profit', 'stop_loss']) {
          const stop = data[leg] as Record<string, unknown> | undefined;
          if (stop) this.recordStop(account, market, stringField(data, 'side'), stop, false);
        }
        return null;
      }
      case 'cancel_stop_order': {
        const id = Number(data.order_id);
        const stop = this.stopOrders.get(id);
        if (!stop || stop.account !== account) throw new VenueReply(400, 'Stop order not found');
        this.stopOrders.delete(id);
        return null;
      }
      default:
        throw new VenueReply(404, 'Not found');
    }
  }

  private createOrder(type: string, account: string, data: Record<string, unknown>): { order_id: number } {
    const market = this.requireMarket(stringField(data, 'symbol'));
    const side = stringField(data, 'side');
    if (side !== 'bid' && side !== 'ask') throw new VenueReply(400, 'Invalid order parameters');
    const amount = stringField(data, 'amount');
    const price = type === 'create_order' ? stringField(data, 'price') : undefined;
    if (typeof data.reduce_only !== 'boolean') throw new VenueReply(400, 'Invalid order parameters');
    // The venue answers a price off the tick or an amount off the lot with a bare 500.
    if (
      !decimalText.safeParse(amount).success ||
      !isMultipleOf(amount, market.lotSize) ||
      Number(amount) <= 0
    ) {
      this.stats.misaligned += 1;
      throw new VenueReply(500, 'Internal server error');
    }
    if (
      price !== undefined &&
      (!decimalText.safeParse(price).success || !isMultipleOf(price, market.tickSize) || Number(price) <= 0)
    ) {
      this.stats.misaligned += 1;
      throw new VenueReply(500, 'Internal server error');
    }
    const clientOrderId = data.client_order_id;
    if (
      clientOrderId !== undefined &&
      (typeof clientOrderId !== 'string' || !/^[0-9a-f-]{36}$/i.test(clientOrderId))
    )
      throw new VenueReply(400, 'Invalid client order id: a full UUID is required');
    const tif = type === 'create_order' ? stringField(data, 'tif') : 'IOC';
    const timeInForce = { GTC: 'gtc', IOC: 'ioc', ALO: 'post-only', TOB: 'post-only' }[tif] as
      | 'gtc'
      | 'ioc'
      | 'post-only'
      | undefined;
    if (!timeInForce) throw new VenueReply(400, 'Invalid order parameters');
    let priceLimit: string | undefined;
    if (type === 'create_market_order') {
      const slippage = Number(stringField(data, 'slippage_percent'));
      if (!(slippage >= 0)) throw new VenueReply(400, 'Invalid order parameters');
    }
    let order: Order;
    try {
      order = this.sim.submitOrderSync({
        account,
        symbol: market.symbol,
        side: side === 'bid' ? 'buy' : 'sell',
        type: type === 'create_order' ? 'limit' : 'market',
        quantity: amount,
        ...(price === undefined ? {} : { price }),
        ...(priceLimit === undefined ? {} : { priceLimit }),
        timeInForce,
        reduceOnly: data.reduce_only,
        ...(typeof clientOrderId === 'string' ? { clientOrderId } : {}),
      });
    } catch (error) {
      throw rejection(error);
    }
    return { order_id: this.venueIdOf(order.id, account) };
  }

  private recordStop(
    account: string,
    market: SimMarketOptions,
    side: string,
    stop: Record<string, unknown>,
    needsAmount: boolean,
  ): number {
    const stopPrice = stop.stop_price;
    const limitPrice = stop.limit_price;
    const amount = stop.amount;
    const aligned = (value: unknown, step: string) =>
      typeof value === 'string' && decimalText.safeParse(value).success && isMultipleOf(value, step);
    if (
      !aligned(stopPrice, market.tickSize) ||
      (limitPrice !== undefined && !aligned(limitPrice, market.tickSize))
    ) {
      this.stats.misaligned += 1;
      throw new VenueReply(500, 'Internal server error');
    }
    if ((needsAmount || amount !== undefined) && !aligned(amount, market.lotSize)) {
      this.stats.misaligned += 1;
      throw new VenueReply(500, 'Internal server error');
    }
    const id = this.nextOrderId++;
    this.stopOrders.set(id, {
      id,
      account,
      symbol: market.symbol,
      side,
      stopPrice: stopPrice as string,
      limitPrice: limitPrice as string | undefined,
      amount: (amount as string | undefined) ?? 'position',
      clientOrderId: stop.client_order_id as string | undefined,
      createdAt: this.now(),
    });
    return id;
  }

  // ---------------------------------------------------------------- helpers

  private hasAccount(address: string): boolean {
    return this.sim.snapshotAccount(address) !== undefined;
  }

  private requireMarket(symbol: string): SimMarketOptions {
    const market = this.marketsBySymbol.get(symbol);
    if (!market) throw new VenueReply(400, `Market not found: ${symbol}`);
    return market;
  }

  private venueIdOf(simId: string, account: string): number {
    let id = this.venueIds.get(simId);
    if (id === undefined) {
      id = this.nextOrderId++;
      this.venueIds.set(simId, id);
      this.simIds.set(id, { simId, account });
    }
    return id;
  }

  private orderOf(simId: string, account: string): Promise<Order | undefined> {
    return this.sim.fetchOrder(account, simId);
  }

  private async openOrdersOf(account: string): Promise<readonly Order[]> {
    return this.sim.fetchOpenOrders(account);
  }

  private async findSimOrder(account: string, data: Record<string, unknown>): Promise<string | undefined> {
    if (typeof data.order_id === 'number') {
      const entry = this.simIds.get(data.order_id);
      return entry && entry.account === account ? entry.simId : undefined;
    }
    if (typeof data.client_order_id === 'string')
      return (await this.openOrdersOf(account)).find((order) => order.clientOrderId === data.client_order_id)
        ?.id;
    throw new VenueReply(400, 'Invalid request: order_id or client_order_id is required');
  }
}

function stringField(data: Record<string, unknown>, field: string): string {
  const value = data[field];
  if (typeof value !== 'string') throw new VenueReply(400, `Invalid request: ${field} is required`);
  return value;
}

function decimalsOf(step: string): number {
  const dot = step.indexOf('.');
  return dot < 0 ? 0 : step.length - dot - 1;
}

/** A `SimExchange` rejection as the venue would answer it. */
function rejection(error: unknown): VenueReply {
  if (!(error instanceof ExchangeError)) return new VenueReply(500, 'Internal server error');
  switch (error.reason) {
    case 'INSUFFICIENT_MARGIN':
    case 'LEVERAGE_EXCEEDED':
      return new VenueReply(422, 'Insufficient balance', 4);
    case 'POST_ONLY_WOULD_CROSS':
      return new VenueReply(400, 'Post only order would cross the book');
    case 'REDUCE_ONLY_WOULD_INCREASE':
      return new VenueReply(400, 'Reduce only order would increase the position');
    case 'DUPLICATE_CLIENT_ORDER_ID':
      return new VenueReply(409, 'Duplicate client order id');
    case 'BELOW_MIN_NOTIONAL':
    case 'BELOW_MIN_QUANTITY':
      return new VenueReply(400, 'Order size below the minimum order size');
    case 'NO_MARKET_DATA':
      return new VenueReply(422, 'Book not found', 2);
    default:
      return new VenueReply(400, 'Invalid order parameters');
  }
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new VenueReply(413, 'Request too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new VenueReply(400, 'Invalid request: the body is not JSON');
  }
}
