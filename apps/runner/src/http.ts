import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Engine, EngineError, type Logger, type TradingPhase } from '@perpkit/core';
import type { Registry } from 'prom-client';
import { type WebSocket, WebSocketServer } from 'ws';
import { DASHBOARD_HTML } from './dashboard';
import type { LiveState } from './live-state';

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly engine: Engine;
  readonly live: LiveState;
  readonly metrics: Registry;
  readonly logger: Logger;
  /** Needed for every control (pause, resume, close, phase, approvals); controls are off without it. */
  readonly controlToken?: string;
  /** When set, the dashboard, its API and its socket need it too (or the control token). */
  readonly readToken?: string;
  /** Market data older than this (engine-clock ms) makes `/health` fail. */
  readonly staleAfterMs: number;
  /** The loop counts as stuck when its last cycle is older than twice this. */
  readonly cycleIntervalMs: number;
  /** How fast the engine clock runs against real time (a replay's speed; 1 otherwise). */
  readonly clockSpeed?: number;
  /** The longest the dashboard waits for a state change to be pushed. */
  readonly pushIntervalMs?: number;
  /** Extra health checks (the store, the replay). */
  readonly checks?: () => readonly HealthCheck[];
}

export interface HealthCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly message?: string;
}

export interface RunnerHttpServer {
  readonly url: string;
  readonly port: number;
  /** Health as `/health` reports it. */
  health(): Promise<{ ok: boolean; checks: HealthCheck[] }>;
  close(): Promise<void>;
}

const CONTROL_ACTIONS = ['pause', 'resume', 'close', 'phase', 'approve', 'reject'] as const;

function sameSecret(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || expected === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function tokenOf(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7);
  return url.searchParams.get('token') ?? undefined;
}

function send(response: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  response.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new EngineError('INVALID_ARGUMENT', 'request body over 64 KiB');
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return {};
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new EngineError('INVALID_ARGUMENT', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * The runner's HTTP server: `/health`, `/metrics` (Prometheus), the dashboard (`/`), its state
 * (`/api/state`), live updates over a WebSocket (`/ws`) and the operator controls (`POST
 * /api/control`). Loopback by default; the controls need a token.
 */
export async function startHttpServer(options: HttpOptions): Promise<RunnerHttpServer> {
  const { engine, live, logger } = options;
  const sockets = new Set<WebSocket>();
  const pushIntervalMs = options.pushIntervalMs ?? 100;

  // Before the first cycle finishes, the loop is measured from when the server started.
  const servingSince = engine.clock.now();
  const canRead = (token: string | undefined) =>
    options.readToken === undefined ||
    sameSecret(token, options.readToken) ||
    sameSecret(token, options.controlToken);

  async function health(): Promise<{ ok: boolean; checks: HealthCheck[] }> {
    const now = engine.clock.now();
    const slack = 250 * (options.clockSpeed ?? 1);
    const checks: HealthCheck[] = [];
    const lastCycle = engine.lastCycleAt ?? servingSince;
    // Twice the interval, plus a quarter second of real time for timers and garbage collection:
    // at a replay's high speed the interval alone can be a few real milliseconds. Data ages get
    // the same slack.
    const stuckAfter = 2 * options.cycleIntervalMs + slack;
    if (!engine.isRunning) checks.push({ name: 'loop', ok: false, message: 'the engine is not running' });
    else
      checks.push({
        name: 'loop',
        ok: now - lastCycle <= stuckAfter,
        message: `${engine.lastCycleAt === undefined ? 'no cycle finished since the start' : 'last cycle'} ${now - lastCycle} ms ago (stuck after ${stuckAfter} ms)`,
      });
    for (const market of engine.state.markets()) {
      const updated = engine.state.lastUpdate(market.exchange, market.symbol);
      if (updated === undefined) continue;
      const age = now - updated;
      if (age > options.staleAfterMs + slack)
        checks.push({
          name: `data:${market.exchange}:${market.symbol}`,
          ok: false,
          message: `market data is ${Math.round(age / 1000)} s old (limit ${Math.round(options.staleAfterMs / 1000)} s)`,
        });
    }
    if (!checks.some((check) => check.name.startsWith('data:')))
      checks.push({ name: 'data', ok: true, message: 'market data is fresh' });
    for (const result of await engine.health())
      checks.push({
        name: result.component,
        ok: result.ok,
        ...(result.message ? { message: result.message } : {}),
      });
    checks.push(...(options.checks?.() ?? []));
    return { ok: checks.every((check) => check.ok), checks };
  }

  async function control(body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const action = body.action;
    const reason =
      typeof body.reason === 'string' && body.reason.length > 0 ? body.reason : 'from the dashboard';
    switch (action) {
      case 'pause':
        engine.pause(reason, 'dashboard');
        return { status: 200, body: { ok: true, paused: true } };
      case 'resume':
        engine.resume(reason, 'dashboard');
        return { status: 200, body: { ok: true, paused: false } };
      case 'phase': {
        const phase = body.phase;
        if (phase !== 'active' && phase !== 'reducing' && phase !== 'halted')
          return { status: 400, body: { error: 'phase must be active, reducing or halted' } };
        engine.setPhase(phase as TradingPhase, reason, 'dashboard');
        return { status: 200, body: { ok: true, phase: engine.phase } };
      }
      case 'close': {
        const { exchange, symbol, account } = body;
        if (typeof exchange !== 'string' || typeof symbol !== 'string')
          return { status: 400, body: { error: 'close needs exchange and symbol' } };
        const position = engine.state.position(
          exchange,
          symbol,
          typeof account === 'string' ? account : undefined,
        );
        if (!position) return { status: 404, body: { error: `no open position ${exchange}:${symbol}` } };
        const signal = engine.enqueueSignal(
          {
            intent: 'close',
            exchange,
            symbol,
            account: position.account,
            urgency: 'high',
            reasons: [{ code: 'OPERATOR_CLOSE', message: reason }],
          },
          'operator',
        );
        return { status: 202, body: { ok: true, signal: signal.id } };
      }
      case 'approve':
      case 'reject': {
        if (typeof body.id !== 'string')
          return { status: 400, body: { error: `${action} needs the approval id` } };
        const done =
          action === 'approve'
            ? engine.approvals.approve(body.id, 'dashboard')
            : engine.approvals.reject(body.id, 'dashboard', reason);
        return done
          ? { status: 200, body: { ok: true } }
          : { status: 404, body: { error: `no pending approval ${body.id}` } };
      }
      default:
        return { status: 400, body: { error: `action must be one of ${CONTROL_ACTIONS.join(', ')}` } };
    }
  }

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const token = tokenOf(request, url);
      try {
        if (request.method === 'GET' && url.pathname === '/health') {
          const result = await health();
          return send(response, result.ok ? 200 : 503, result);
        }
        if (request.method === 'GET' && url.pathname === '/metrics') {
          return send(
            response,
            200,
            await options.metrics.metrics(),
            options.metrics.contentType.split(';')[0],
          );
        }
        if (request.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
          if (!canRead(token))
            return send(response, 401, 'this dashboard needs ?token=<read token>', 'text/plain');
          return send(response, 200, DASHBOARD_HTML, 'text/html');
        }
        if (request.method === 'GET' && url.pathname === '/api/state') {
          if (!canRead(token)) return send(response, 401, { error: 'a read token is required' });
          return send(response, 200, live.snapshot());
        }
        if (request.method === 'POST' && url.pathname === '/api/control') {
          if (options.controlToken === undefined)
            return send(response, 403, { error: 'controls are disabled: no control token is configured' });
          if (!sameSecret(token, options.controlToken))
            return send(response, 401, { error: 'a valid control token is required' });
          const body = await readJson(request);
          const result = await control(body);
          logger.warn('dashboard control', { action: body.action, status: result.status });
          if (result.status < 300) schedulePush();
          return send(response, result.status, result.body);
        }
        return send(response, 404, { error: 'not found' });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return send(response, error instanceof SyntaxError || error instanceof EngineError ? 400 : 500, {
          error: message,
        });
      }
    })();
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws' || !canRead(tokenOf(request, url))) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      ws.send(JSON.stringify({ type: 'state', state: live.snapshot() }));
    });
  });

  // Any engine event may change what the dashboard shows: push a fresh state soon after, at most
  // once per push interval, so a burst of events costs one message.
  let pushTimer: ReturnType<typeof setTimeout> | undefined;
  function schedulePush(): void {
    if (pushTimer || sockets.size === 0) return;
    pushTimer = setTimeout(() => {
      pushTimer = undefined;
      const text = JSON.stringify({ type: 'state', state: live.snapshot() });
      for (const socket of sockets) if (socket.readyState === socket.OPEN) socket.send(text);
    }, pushIntervalMs);
  }
  const pushOn = [
    'cycle',
    'signal',
    'order:denied',
    'order:submitted',
    'fill',
    'position',
    'phase',
    'alert',
    'engine:paused',
    'approval:requested',
    'approval:resolved',
    'trade:closed',
  ] as const;
  for (const event of pushOn) engine.events.on(event, schedulePush);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    health,
    async close() {
      for (const event of pushOn) engine.events.off(event, schedulePush);
      if (pushTimer) clearTimeout(pushTimer);
      for (const socket of sockets) socket.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Parses `--http host:port` (`:port` alone means 127.0.0.1). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]+))?:(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || !(port >= 0 && port <= 65535))
    throw new EngineError(
      'INVALID_ARGUMENT',
      `--http must be host:port, e.g. 127.0.0.1:8080 (got "${text}")`,
    );
  const host = (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  return { host, port };
}
