/**
 * Dashboard update latency: from a state change in the engine to the new state arriving at a
 * WebSocket client (the dashboard's own transport), through the real HTTP server.
 * Run: pnpm --filter @perpkit/runner bench
 */
import { Engine, SimulatedClock } from '@perpkit/core';
import { FakeExchange } from '@perpkit/testkit';
import WebSocket from 'ws';
import { startHttpServer } from '../src/http';
import { LiveState } from '../src/live-state';
import { createMetrics } from '../src/metrics';

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

async function measure(pushIntervalMs: number, samples: number) {
  const clock = new SimulatedClock(Date.UTC(2025, 0, 1));
  const exchange = new FakeExchange({ markets: [{ symbol: 'BTC' }, { symbol: 'ETH' }] });
  const engine = new Engine({ mode: 'paper', clock, exchanges: [exchange] });
  await engine.init();
  const live = new LiveState(engine, { dryRun: false });
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    engine,
    live,
    metrics: createMetrics(engine),
    logger: silent,
    staleAfterMs: 60_000,
    cycleIntervalMs: 1000,
    pushIntervalMs,
  });
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  let resolveNext: ((phase: string) => void) | undefined;
  socket.on('message', (data) => {
    const state = (JSON.parse(String(data)) as { state: { phase: string } }).state;
    resolveNext?.(state.phase);
  });
  await new Promise((resolve) => socket.on('open', resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const latencies: number[] = [];
  const phases = ['reducing', 'active'] as const;
  for (let index = 0; index < samples; index += 1) {
    const wanted = phases[index % 2] as 'reducing' | 'active';
    const arrived = new Promise<void>((resolve) => {
      resolveNext = (phase) => {
        if (phase === wanted) resolve();
      };
    });
    const started = performance.now();
    engine.setPhase(wanted, 'bench');
    await arrived;
    latencies.push(performance.now() - started);
  }
  socket.close();
  await server.close();
  latencies.sort((a, b) => a - b);
  const at = (fraction: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))] as number;
  console.log(
    `dashboard update latency (push interval ${pushIntervalMs} ms): median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${at(1).toFixed(1)} ms over ${samples} changes`,
  );
}

await measure(100, 100);
await measure(10, 200);
