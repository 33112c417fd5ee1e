import { Engine, SimulatedClock } from '@perpkit/core';
import { FakeExchange } from '@perpkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseListen, type RunnerHttpServer, startHttpServer } from '../src/http';
import { LiveState } from '../src/live-state';
import { createMetrics } from '../src/metrics';

const T0 = Date.UTC(2025, 5, 1);
const CONTROL = 'control-token-0123456789';
const READ = 'read-token-0123456789';
const servers: RunnerHttpServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(
  options: { controlToken?: string; readToken?: string; healthy?: boolean; hangOrders?: boolean } = {},
) {
  const clock = new SimulatedClock(T0);
  const exchange = new FakeExchange({ markets: [{ symbol: 'BTC' }] });
  exchange.setTime(T0);
  let healthy = options.healthy ?? true;
  Object.assign(exchange, { health: () => (healthy ? { ok: true } : { ok: false, message: 'stream down' }) });
  // A venue that never answers: the cycle waiting for it never ends.
  if (options.hangOrders) Object.assign(exchange, { submitOrder: () => new Promise(() => undefined) });
  let opened = false;
  const engine = new Engine({
    mode: 'paper',
    clock,
    exchanges: [exchange],
    cycleIntervalMs: 1000,
    shutdown: { timeoutMs: 200 },
    strategies: [
      {
        id: 'once',
        create: () => ({
          instruments: [{ exchange: 'fake', symbol: 'BTC', channels: ['ticker'] }],
          onCycle: () => {
            if (opened) return undefined;
            opened = true;
            return [
              {
                intent: 'open',
                exchange: 'fake',
                symbol: 'BTC',
                side: 'buy',
                quantity: 1,
                reasons: [{ code: 'GO', message: 'go' }],
              },
            ];
          },
        }),
      },
    ],
  });
  const live = new LiveState(engine, { dryRun: false });
  const metrics = createMetrics(engine);
  await engine.start();
  await new Promise((resolve) => setImmediate(resolve));
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    engine,
    live,
    metrics,
    logger: {
      debug() {},
      info() {},
      warn() {},
      error() {},
      child() {
        return this;
      },
    },
    controlToken: options.controlToken,
    readToken: options.readToken,
    staleAfterMs: 60_000,
    cycleIntervalMs: 1000,
    pushIntervalMs: 20,
  });
  servers.push({
    ...server,
    close: async () => {
      await server.close();
      await engine.stop('test');
    },
  });
  return { engine, exchange, clock, server, setHealthy: (value: boolean) => (healthy = value) };
}

const post = (url: string, body: unknown, token?: string) =>
  fetch(`${url}/api/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe('/health', () => {
  it('is 200 while the loop runs, data is fresh and plugins are well; 503 naming each failure', async () => {
    const { server, clock, exchange, setHealthy } = await serve();
    const good = await fetch(`${server.url}/health`);
    expect(good.status).toBe(200);
    expect(((await good.json()) as { ok: boolean }).ok).toBe(true);

    // The last ticker is from T0: 61 s of engine time later it is stale.
    clock.advanceTo(T0 + 61_000);
    setHealthy(false);
    const bad = await fetch(`${server.url}/health`);
    expect(bad.status).toBe(503);
    const body = (await bad.json()) as { checks: { name: string; ok: boolean; message?: string }[] };
    const failing = body.checks
      .filter((check) => !check.ok)
      .map((check) => check.name)
      .sort();
    expect(failing).toEqual(['data:fake:BTC', 'exchange:fake']);
    expect(body.checks.find((check) => check.name === 'exchange:fake')?.message).toBe('stream down');

    // Fresh data and a well plugin again; the loop catches up once the clock lets it sleep.
    setHealthy(true);
    exchange.setTime(clock.now());
    exchange.setPrice('BTC', 101);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const recovered = (await (await fetch(`${server.url}/health`)).json()) as {
      checks: { name: string; ok: boolean }[];
    };
    expect(recovered.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual([]);
  });
  it('fails when the loop is stuck: no cycle for more than twice the interval', async () => {
    const { server, clock, exchange } = await serve({ hangOrders: true });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    // Twice the 1 s interval, plus a quarter second of slack.
    clock.advanceTo(T0 + 2_249);
    exchange.setTime(clock.now());
    exchange.setPrice('BTC', 100);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    clock.advanceTo(T0 + 2_251);
    exchange.setTime(clock.now());
    exchange.setPrice('BTC', 100);
    const stuck = await fetch(`${server.url}/health`);
    expect(stuck.status).toBe(503);
    const body = (await stuck.json()) as { checks: { name: string; ok: boolean; message?: string }[] };
    expect(body.checks.find((check) => check.name === 'loop')).toMatchObject({ ok: false });
  });
});

describe('/metrics', () => {
  it('serves Prometheus text with the engine figures', async () => {
    const { server } = await serve();
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/perpkit_orders_total\{exchange="fake",outcome="submitted",run_id="[^"]+"\} 1/);
    expect(text).toMatch(/perpkit_fills_total\{exchange="fake",liquidity="taker",run_id="[^"]+"\} 1/);
    expect(text).toMatch(/perpkit_phase\{phase="active",run_id="[^"]+"\} 1/);
    expect(text).toMatch(/perpkit_equity\{exchange="fake",account="main",run_id="[^"]+"\} \d/);
    expect(text).toContain('perpkit_cycle_duration_seconds_bucket');
  });
});

describe('controls', () => {
  it('are off without a control token, refused with a wrong one, and act with the right one', async () => {
    const off = await serve();
    const disabled = await post(off.server.url, { action: 'pause' }, 'anything');
    expect(disabled.status).toBe(403);
    expect(off.engine.pausedState).toBeUndefined();

    const { server, engine } = await serve({ controlToken: CONTROL });
    expect((await post(server.url, { action: 'pause' })).status).toBe(401);
    expect((await post(server.url, { action: 'pause' }, `${CONTROL}x`)).status).toBe(401);
    expect(engine.pausedState).toBeUndefined();

    expect((await post(server.url, { action: 'pause', reason: 'lunch' }, CONTROL)).status).toBe(200);
    expect(engine.pausedState).toMatchObject({ reason: 'lunch', source: 'dashboard' });
    expect((await post(server.url, { action: 'resume' }, CONTROL)).status).toBe(200);
    expect(engine.pausedState).toBeUndefined();

    expect(
      (await post(server.url, { action: 'phase', phase: 'reducing', reason: 'check' }, CONTROL)).status,
    ).toBe(200);
    expect(engine.phase).toBe('reducing');
    expect((await post(server.url, { action: 'phase', phase: 'sideways' }, CONTROL)).status).toBe(400);

    expect(engine.state.position('fake', 'BTC')?.quantity).toBe(1);
    const close = await post(server.url, { action: 'close', exchange: 'fake', symbol: 'BTC' }, CONTROL);
    expect(close.status).toBe(202);
    await engine.runCycle();
    expect(engine.state.position('fake', 'BTC')).toBeUndefined();
    expect(
      (await post(server.url, { action: 'close', exchange: 'fake', symbol: 'BTC' }, CONTROL)).status,
    ).toBe(404);
    expect((await post(server.url, { action: 'approve', id: 'nope' }, CONTROL)).status).toBe(404);
    expect((await post(server.url, { action: 'explode' }, CONTROL)).status).toBe(400);
    const malformed = await fetch(`${server.url}/api/control`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CONTROL}` },
      body: '{not json',
    });
    expect(malformed.status).toBe(400);
  });
});

describe('read-only view', () => {
  it('is open by default, and needs the read (or control) token when one is set', async () => {
    const open = await serve();
    expect((await fetch(`${open.server.url}/`)).status).toBe(200);
    expect((await fetch(`${open.server.url}/api/state`)).status).toBe(200);

    const { server } = await serve({ readToken: READ, controlToken: CONTROL });
    expect((await fetch(`${server.url}/`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/state`)).status).toBe(401);
    expect((await fetch(`${server.url}/?token=${READ}`)).status).toBe(200);
    const state = await fetch(`${server.url}/api/state`, { headers: { authorization: `Bearer ${CONTROL}` } });
    expect(state.status).toBe(200);
    expect((await state.json()).positions).toHaveLength(1);
    // The socket too.
    const refused = await new Promise<string>((resolve) => {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
      socket.on('unexpected-response', (_request, response) => resolve(String(response.statusCode)));
      socket.on('open', () => resolve('open'));
      socket.on('error', () => undefined);
    });
    expect(refused).toBe('401');
  });

  it('pushes a fresh state over the socket soon after a change', async () => {
    const { server, engine } = await serve();
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    const states: { phase: string; paused: unknown }[] = [];
    socket.on('message', (data) =>
      states.push((JSON.parse(String(data)) as { state: { phase: string; paused: unknown } }).state),
    );
    await new Promise((resolve) => socket.on('open', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = states.length;
    engine.setPhase('halted', 'test');
    const started = Date.now();
    while (states.length === before && Date.now() - started < 2000)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(states.at(-1)?.phase).toBe('halted');
    socket.close();
  });
});

describe('--http', () => {
  it('parses host:port, :port and bracketed IPv6, and refuses the rest', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('8080')).toThrow(/host:port/);
    expect(() => parseListen('localhost:99999')).toThrow(/host:port/);
  });
});
