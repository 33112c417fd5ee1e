import WebSocket from 'ws';

/**
 * One Extended stream (one WebSocket per path). Answers the server's ping frames with a pong at
 * once (the venue pings every 15 s and drops a client that has not answered within 10 s),
 * reconnects with exponential backoff, and treats a silent connection as dead.
 */
export interface StreamOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly reconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
  readonly staleAfterMs: number;
  /** Every text frame, parsed; a frame that is not JSON goes to `onProtocolError`. */
  readonly onMessage: (message: unknown) => void;
  readonly onProtocolError: (message: string) => void;
  /** Connected (true) or lost (false, with the reason). */
  readonly onState: (connected: boolean, reason?: string) => void;
}

export class StreamConnection {
  private socket: WebSocket | undefined;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private opened: Promise<void> | undefined;

  constructor(private readonly options: StreamOptions) {}

  /** Opens the socket; resolves once connected the first time (or rejects on the first failure). */
  start(): Promise<void> {
    if (!this.opened) this.opened = this.open();
    return this.opened;
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let opened = false;
      const socket = new WebSocket(this.options.url, { headers: { ...this.options.headers } });
      this.socket = socket;
      socket.on('open', () => {
        opened = true;
        this.attempt = 0;
        this.touch();
        this.options.onState(true);
        settled = true;
        resolve();
      });
      // ws answers ping frames with a pong by itself (autoPong); a ping still proves liveness.
      socket.on('ping', () => this.touch());
      socket.on('message', (data, isBinary) => {
        this.touch();
        if (isBinary) return this.options.onProtocolError('binary frame on a JSON stream');
        let message: unknown;
        try {
          message = JSON.parse(data.toString());
        } catch {
          return this.options.onProtocolError(`a frame that is not JSON: ${data.toString().slice(0, 80)}`);
        }
        this.options.onMessage(message);
      });
      socket.on('error', (error) => {
        if (!settled) {
          settled = true;
          reject(error);
        }
      });
      socket.on('close', (code, reason) => {
        if (this.socket !== socket) return;
        this.clearStale();
        this.socket = undefined;
        if (this.closed) return;
        this.options.onState(false, `closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
        // A socket that never opened failed its handshake: the caller of open() decides (the first
        // start() rejects; a reconnect attempt schedules the next one).
        if (opened) this.scheduleReconnect();
      });
    });
  }

  private touch(): void {
    this.clearStale();
    this.staleTimer = setTimeout(
      () => this.restart('no message or ping for too long'),
      this.options.staleAfterMs,
    );
    this.staleTimer.unref?.();
  }

  private clearStale(): void {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = Math.min(
      this.options.reconnectDelayMs * 2 ** this.attempt,
      this.options.maxReconnectDelayMs,
    );
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.open().catch(() => this.scheduleReconnect());
    }, delay);
    this.reconnectTimer.unref?.();
  }

  /** Drops the socket and reconnects (a sequence gap, a stale stream). */
  restart(reason: string): void {
    if (this.closed) return;
    const socket = this.socket;
    this.socket = undefined;
    this.clearStale();
    if (socket) {
      socket.removeAllListeners('close');
      socket.on('error', () => {});
      socket.terminate();
    }
    this.options.onState(false, reason);
    this.scheduleReconnect();
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearStale();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.on('error', () => {});
      socket.terminate();
    });
  }
}
