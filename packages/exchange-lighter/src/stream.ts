/**
 * The `/stream` WebSocket: one connection, subscriptions kept across reconnects, application
 * pings, exponential backoff. Channels are subscribed as `name/id` and answered as `name:id`.
 */
import { type ConnectionState, ExchangeError } from '@perpkit/core';
import { WebSocket } from 'ws';

export interface StreamOptions {
  readonly url: string;
  readonly exchangeId: string;
  readonly pingIntervalMs: number;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Subscribe frames wait for the server's `connected` greeting; this bounds the first wait. */
  readonly connectTimeoutMs: number;
  onMessage(message: Record<string, unknown>): void;
  onState(state: ConnectionState, reason?: string): void;
  onError(error: ExchangeError): void;
}

/** Turns `order_book/0` into the `order_book:0` form the server answers with. */
export function replyChannel(channel: string): string {
  return channel.replace('/', ':');
}

export class LighterStream {
  /** channel → a function giving a fresh auth token, or undefined for public channels. */
  private readonly subscriptions = new Map<string, (() => string) | undefined>();
  private socket: WebSocket | undefined;
  private ready = false;
  private closed = false;
  private delay: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private firstConnection: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly options: StreamOptions) {
    this.delay = options.reconnect.initialDelayMs;
  }

  get isConnected(): boolean {
    return this.ready;
  }

  /** Connects and resolves once the server greeted us; later drops reconnect on their own. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.firstConnection = undefined;
        reject(
          new ExchangeError(
            'EXCHANGE_TIMEOUT',
            `the stream did not connect within ${this.options.connectTimeoutMs} ms`,
            {
              exchange: this.options.exchangeId,
              retryable: true,
            },
          ),
        );
      }, this.options.connectTimeoutMs);
      this.firstConnection = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.open();
    });
  }

  subscribe(channel: string, auth?: () => string): void {
    this.subscriptions.set(channel, auth);
    if (this.ready) this.sendSubscribe(channel, auth);
  }

  unsubscribe(channel: string): void {
    if (!this.subscriptions.delete(channel)) return;
    if (this.ready) this.send({ type: 'unsubscribe', channel });
  }

  close(): void {
    this.closed = true;
    this.ready = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
    }
  }

  private open(): void {
    if (this.closed) return;
    this.options.onState(this.firstConnection ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(this.options.url);
    this.socket = socket;
    socket.on('message', (data) => this.receive(String(data)));
    socket.on('error', (error) => {
      // 'close' follows every 'error'; reconnecting happens there.
      this.options.onError(
        new ExchangeError('EXCHANGE_UNAVAILABLE', `stream error: ${error.message}`, {
          exchange: this.options.exchangeId,
          retryable: true,
        }),
      );
    });
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.ready = false;
      clearInterval(this.pingTimer);
      if (this.closed) return;
      this.options.onState('reconnecting', `socket closed (${code})`);
      this.reconnectTimer = setTimeout(() => this.open(), this.delay);
      this.reconnectTimer.unref?.();
      this.delay = Math.min(this.delay * 2, this.options.reconnect.maxDelayMs);
    });
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.options.onError(
        new ExchangeError('EXCHANGE_PROTOCOL', `malformed stream message (not JSON): ${text.slice(0, 120)}`, {
          exchange: this.options.exchangeId,
        }),
      );
      return;
    }
    if (
      typeof message !== 'object' ||
      message === null ||
      typeof (message as { type?: unknown }).type !== 'string'
    ) {
      this.options.onError(
        new ExchangeError('EXCHANGE_PROTOCOL', `stream message without a type: ${text.slice(0, 120)}`, {
          exchange: this.options.exchangeId,
        }),
      );
      return;
    }
    const record = message as Record<string, unknown>;
    switch (record.type) {
      case 'connected':
        this.onConnected();
        return;
      case 'ping':
        this.send({ type: 'pong' });
        return;
      case 'pong':
        return;
      case 'error':
        this.options.onError(
          new ExchangeError(
            'EXCHANGE_PROTOCOL',
            `stream error from the venue: ${JSON.stringify(record).slice(0, 200)}`,
            {
              exchange: this.options.exchangeId,
            },
          ),
        );
        return;
      default:
        this.options.onMessage(record);
    }
  }

  private onConnected(): void {
    this.ready = true;
    this.delay = this.options.reconnect.initialDelayMs;
    for (const [channel, auth] of this.subscriptions) this.sendSubscribe(channel, auth);
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), this.options.pingIntervalMs);
    this.pingTimer.unref?.();
    this.options.onState('connected');
    const first = this.firstConnection;
    this.firstConnection = undefined;
    first?.resolve();
  }

  private sendSubscribe(channel: string, auth: (() => string) | undefined): void {
    this.send(auth ? { type: 'subscribe', channel, auth: auth() } : { type: 'subscribe', channel });
  }

  private send(message: Record<string, unknown>): void {
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }
}
