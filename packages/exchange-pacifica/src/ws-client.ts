import { ExchangeError } from '@perpkit/core';
import { EventEmitter } from 'eventemitter3';
import WebSocket from 'ws';
import { type BackoffOptions, backoffDelay } from './backoff';
import { canonicalJson } from './signing';

export const MAINNET_WS_URL = 'wss://ws.pacifica.fi/ws';
export const TESTNET_WS_URL = 'wss://test-ws.pacifica.fi/ws';

/** Subscription params exactly as sent: `{ source: 'book', symbol: 'BTC', agg_level: 1 }`. */
export type SubscriptionParams = { readonly source: string } & Readonly<
  Record<string, string | number | boolean>
>;

export type WebSocketState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'circuit-open' | 'closed';

export interface PacificaWebSocketEvents {
  /** A channel message: `{"channel": ..., "data": ...}`. */
  message: (channel: string, data: unknown) => void;
  state: (state: WebSocketState, reason?: string) => void;
  /** A connection (first or re-established) is open and every subscription has been sent again. */
  open: (reconnect: boolean) => void;
  /** Problems that do not stop the client: malformed messages, stale streams, dropped sockets. */
  error: (error: ExchangeError) => void;
}

export interface PacificaWebSocketOptions {
  readonly url?: string;
  /** API config key, sent as the `PF-API-KEY` header on connect. */
  readonly apiKey?: string;
  /** Send `{"method":"ping"}` after this long without sending (the venue closes idle sockets after 60 s). Default 30 s. */
  readonly pingIntervalMs?: number;
  /** A ping without any answer for this long means the socket is dead. Default 10 s. */
  readonly pongTimeoutMs?: number;
  /** A `book`, `prices` or `bbo` stream silent this long is stale: reconnect. Default 15 s; 0 turns it off. */
  readonly staleAfterMs?: number;
  /** Replace the connection before the venue's 24 h limit (make before break). Default 23 h 50 min. */
  readonly maxConnectionAgeMs?: number;
  /** Reconnect delays: exponential with jitter. Default 500 ms doubling up to 30 s. */
  readonly reconnect?: BackoffOptions;
  /** After this many failed connections in a row, wait `cooldownMs` before one more try. Default 6 / 60 s. */
  readonly circuitBreaker?: { readonly failureThreshold: number; readonly cooldownMs: number };
  readonly exchangeId?: string;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Channels that stream continuously: silence means a stuck stream. */
const STREAMING_SOURCES = new Set(['book', 'prices', 'bbo']);

function subscriptionKey(params: SubscriptionParams): string {
  return canonicalJson(params);
}

/** The stream a message belongs to, for stale detection: `book:BTC`, `prices`. */
function streamKeyOf(channel: string, data: unknown): string {
  if (channel === 'prices') return 'prices';
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const symbol = (data as { s?: unknown }).s;
    if (typeof symbol === 'string') return `${channel}:${symbol}`;
  }
  return channel;
}

function streamKeyOfParams(params: SubscriptionParams): string | undefined {
  if (!STREAMING_SOURCES.has(params.source)) return undefined;
  return params.source === 'prices' ? 'prices' : `${params.source}:${String(params.symbol ?? '')}`;
}

interface Connection {
  readonly socket: WebSocket;
  readonly openedAt: number;
  lastSentAt: number;
  lastReceivedAt: number;
  pingSentAt: number | undefined;
  receivedAny: boolean;
}

/**
 * Pacifica's WebSocket: subscriptions that survive reconnects, a ping heartbeat, reconnects with
 * exponential backoff and jitter, stale-stream detection, a circuit breaker, and a make-before-break
 * rollover ahead of the venue's 24 h connection limit. Subscriptions are kept by the client and
 * sent again on every new connection, so callers never resubscribe themselves.
 */
export class PacificaWebSocket {
  readonly events = new EventEmitter<PacificaWebSocketEvents>();
  readonly url: string;
  private readonly options: PacificaWebSocketOptions;
  private readonly subscriptions = new Map<string, SubscriptionParams>();
  private readonly lastMessageAt = new Map<string, number>();
  private connection: Connection | undefined;
  /** The replacement being opened during a rollover. */
  private successor: Connection | undefined;
  private stateValue: WebSocketState = 'idle';
  private failures = 0;
  private attempt = 0;
  private hasConnected = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private connectWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private readonly random: () => number;
  private readonly now: () => number;
  /** Counters for tests and monitoring. */
  readonly stats = {
    connections: 0,
    reconnects: 0,
    staleReconnects: 0,
    rollovers: 0,
    malformed: 0,
    circuitOpens: 0,
  };

  constructor(options: PacificaWebSocketOptions = {}) {
    this.options = options;
    this.url = options.url ?? MAINNET_WS_URL;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  get state(): WebSocketState {
    return this.stateValue;
  }

  /** Opens the connection; resolves once it is open (or rejects if the first attempt fails). */
  connect(): Promise<void> {
    if (this.closed)
      return Promise.reject(new ExchangeError('EXCHANGE_UNAVAILABLE', 'the WebSocket client is closed'));
    if (this.stateValue === 'connected') return Promise.resolve();
    const waiter = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.stateValue === 'idle') this.open(false);
    return waiter;
  }

  /** Adds a subscription (idempotent); sent now if connected, and after every reconnect. */
  subscribe(params: SubscriptionParams): void {
    const key = subscriptionKey(params);
    if (this.subscriptions.has(key)) return;
    this.subscriptions.set(key, params);
    const streamKey = streamKeyOfParams(params);
    if (streamKey) this.lastMessageAt.set(streamKey, this.now());
    if (this.connection) this.send(this.connection, { method: 'subscribe', params });
  }

  unsubscribe(params: SubscriptionParams): void {
    const key = subscriptionKey(params);
    if (!this.subscriptions.delete(key)) return;
    const streamKey = streamKeyOfParams(params);
    if (streamKey) this.lastMessageAt.delete(streamKey);
    if (this.connection) this.send(this.connection, { method: 'unsubscribe', params });
  }

  /** The subscriptions the client keeps (what a reconnect sends again). */
  activeSubscriptions(): SubscriptionParams[] {
    return [...this.subscriptions.values()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    for (const connection of [this.connection, this.successor]) connection?.socket.terminate();
    this.connection = undefined;
    this.successor = undefined;
    this.setState('closed');
    for (const waiter of this.connectWaiters.splice(0))
      waiter.reject(new ExchangeError('EXCHANGE_UNAVAILABLE', 'the WebSocket client was closed'));
  }

  /** Drops the current socket as if the network did (tests and operators). */
  dropConnection(): void {
    this.connection?.socket.terminate();
  }

  // ---------------------------------------------------------------- connection lifecycle

  private open(asSuccessor: boolean): void {
    if (this.closed) return;
    if (!asSuccessor) this.setState(this.hasConnected ? 'reconnecting' : 'connecting');
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers['PF-API-KEY'] = this.options.apiKey;
    // The protocol-level ping is left to our JSON ping: the venue documents only that one.
    const socket = new WebSocket(this.url, { headers, handshakeTimeout: 10_000 });
    const now = this.now();
    const connection: Connection = {
      socket,
      openedAt: now,
      lastSentAt: now,
      lastReceivedAt: now,
      pingSentAt: undefined,
      receivedAny: false,
    };
    if (asSuccessor) this.successor = connection;
    socket.on('open', () => this.onOpen(connection));
    socket.on('message', (raw) => this.onMessage(connection, raw.toString()));
    socket.on('error', () => {
      // The close event follows and decides; the error itself carries nothing we act on.
    });
    socket.on('close', (code, reason) => this.onClose(connection, code, reason.toString()));
  }

  private onOpen(connection: Connection): void {
    if (this.closed) {
      connection.socket.terminate();
      return;
    }
    for (const params of this.subscriptions.values()) this.send(connection, { method: 'subscribe', params });
    if (this.successor === connection) {
      // Rollover: the replacement is subscribed; retire the old socket without a reconnect.
      const previous = this.connection;
      this.connection = connection;
      this.successor = undefined;
      this.stats.rollovers += 1;
      previous?.socket.close(1000, 'rollover');
      return;
    }
    const reconnect = this.hasConnected;
    this.connection = connection;
    this.hasConnected = true;
    this.attempt = 0;
    this.stats.connections += 1;
    if (reconnect) this.stats.reconnects += 1;
    const now = this.now();
    for (const key of this.lastMessageAt.keys()) this.lastMessageAt.set(key, now);
    this.startHeartbeat();
    this.setState('connected');
    this.events.emit('open', reconnect);
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
  }

  private onMessage(connection: Connection, text: string): void {
    const now = this.now();
    connection.lastReceivedAt = now;
    connection.pingSentAt = undefined;
    if (!connection.receivedAny) {
      connection.receivedAny = true;
      this.failures = 0;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.malformed(`not JSON: ${text.slice(0, 120)}`);
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.malformed(`not an object: ${text.slice(0, 120)}`);
      return;
    }
    const { channel, data } = message as { channel?: unknown; data?: unknown };
    if (typeof channel !== 'string') {
      // Trading responses carry `id`/`code`/`type` and no channel; they are not used here.
      if ('code' in (message as object) && 'id' in (message as object)) return;
      this.malformed(`no channel: ${text.slice(0, 120)}`);
      return;
    }
    if (channel === 'pong' || channel === 'subscribe' || channel === 'unsubscribe') return;
    if (connection !== this.connection) return; // a successor's early messages duplicate the current ones
    this.lastMessageAt.set(streamKeyOf(channel, data), now);
    this.events.emit('message', channel, data);
  }

  private malformed(detail: string): void {
    this.stats.malformed += 1;
    this.events.emit(
      'error',
      new ExchangeError('EXCHANGE_PROTOCOL', `Pacifica WebSocket sent a malformed message (${detail})`, {
        exchange: this.options.exchangeId,
      }),
    );
  }

  private onClose(connection: Connection, code: number, reason: string): void {
    if (connection === this.successor) {
      this.successor = undefined; // a failed rollover: the current connection carries on
      return;
    }
    if (connection !== this.connection && this.connection !== undefined) return; // a retired socket
    const wasOpen = this.connection === connection;
    this.connection = undefined;
    clearInterval(this.heartbeatTimer);
    if (this.closed) return;
    if (!connection.receivedAny) this.failures += 1;
    const detail = `socket closed (${code}${reason ? ` ${reason}` : ''})`;
    if (wasOpen)
      this.events.emit(
        'error',
        new ExchangeError('EXCHANGE_UNAVAILABLE', `Pacifica WebSocket ${detail}; reconnecting`, {
          exchange: this.options.exchangeId,
          retryable: true,
        }),
      );
    if (
      !this.hasConnected &&
      this.connectWaiters.length > 0 &&
      this.failures >= this.breaker().failureThreshold
    ) {
      for (const waiter of this.connectWaiters.splice(0))
        waiter.reject(
          new ExchangeError('EXCHANGE_UNAVAILABLE', `cannot connect to ${this.url}: ${detail}`, {
            exchange: this.options.exchangeId,
            retryable: true,
          }),
        );
    }
    this.scheduleReconnect(detail);
  }

  private breaker() {
    return this.options.circuitBreaker ?? { failureThreshold: 6, cooldownMs: 60_000 };
  }

  private scheduleReconnect(reason: string): void {
    clearTimeout(this.reconnectTimer);
    const breaker = this.breaker();
    let delay: number;
    if (this.failures >= breaker.failureThreshold) {
      // Open: stop hammering the venue; after the cooldown one attempt decides (half-open).
      this.stats.circuitOpens += 1;
      this.setState(
        'circuit-open',
        `${this.failures} failed connections in a row; retrying in ${breaker.cooldownMs} ms`,
      );
      delay = breaker.cooldownMs;
      this.failures = breaker.failureThreshold - 1;
    } else {
      this.setState('reconnecting', reason);
      delay = backoffDelay(
        this.attempt,
        this.options.reconnect ?? { baseDelayMs: 500, maxDelayMs: 30_000 },
        this.random,
      );
    }
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.open(false), delay);
    this.reconnectTimer.unref?.();
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    const pingInterval = this.options.pingIntervalMs ?? 30_000;
    const tick = Math.max(50, Math.min(pingInterval, this.options.staleAfterMs || pingInterval) / 4);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), tick);
    this.heartbeatTimer.unref?.();
  }

  private heartbeat(): void {
    const connection = this.connection;
    if (!connection || this.closed) return;
    const now = this.now();
    const pongTimeout = this.options.pongTimeoutMs ?? 10_000;
    if (connection.pingSentAt !== undefined && now - connection.pingSentAt > pongTimeout) {
      this.events.emit(
        'error',
        new ExchangeError(
          'EXCHANGE_TIMEOUT',
          `Pacifica WebSocket: no pong within ${pongTimeout} ms; reconnecting`,
          {
            exchange: this.options.exchangeId,
            retryable: true,
          },
        ),
      );
      connection.socket.terminate();
      return;
    }
    if (
      now - connection.lastSentAt >= (this.options.pingIntervalMs ?? 30_000) &&
      connection.pingSentAt === undefined
    ) {
      connection.pingSentAt = now;
      this.send(connection, { method: 'ping' });
    }
    const staleAfter = this.options.staleAfterMs ?? 15_000;
    if (staleAfter > 0) {
      for (const [stream, at] of this.lastMessageAt) {
        if (now - at <= staleAfter) continue;
        this.stats.staleReconnects += 1;
        this.events.emit(
          'error',
          new ExchangeError(
            'EXCHANGE_UNAVAILABLE',
            `Pacifica stream ${stream} silent for ${now - at} ms; reconnecting`,
            {
              exchange: this.options.exchangeId,
              retryable: true,
            },
          ),
        );
        connection.socket.terminate();
        return;
      }
    }
    const maxAge = this.options.maxConnectionAgeMs ?? 23 * 3_600_000 + 50 * 60_000;
    if (now - connection.openedAt >= maxAge && this.successor === undefined) this.open(true);
  }

  private send(connection: Connection, message: unknown): void {
    if (connection.socket.readyState !== WebSocket.OPEN) return;
    connection.lastSentAt = this.now();
    connection.socket.send(JSON.stringify(message));
  }

  private setState(state: WebSocketState, reason?: string): void {
    if (this.stateValue === state && state !== 'reconnecting') return;
    this.stateValue = state;
    this.events.emit('state', state, reason);
  }
}
