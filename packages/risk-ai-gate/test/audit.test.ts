import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePluginOptions, type RiskDecisionEvent, type SignalInput } from '@perpkit/core';
import { SqliteStore } from '@perpkit/store-sqlite';
import { createTestEngine, waitFor } from '@perpkit/testkit';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aiGate, RecordedAnswers } from '../src/index';
import { FakeOllama } from './fake-ollama';

/** A made-up key for tests: never a real credential. */
const TEST_API_KEY = 'test-only-api-key-5d2e8b90';

const breakout: SignalInput = {
  intent: 'open',
  exchange: 'fake',
  symbol: 'BTC',
  side: 'buy',
  quantity: 0.4,
  features: { momentum: 1.5, atr: 2.25 },
  reasons: [{ code: 'BREAKOUT_20', message: 'close above the 20-bar high' }],
};

let server: FakeOllama;
let host: string;

beforeEach(async () => {
  server = new FakeOllama();
  host = await server.start();
});
afterEach(() => server.close());

/** One run: a strategy that signals once, the ai-gate, and optionally a SQLite store. */
async function run(
  mode: 'paper' | 'backtest',
  gateOptions: Record<string, unknown>,
  options: { store?: SqliteStore; signal?: SignalInput } = {},
) {
  let signalled = false;
  const test = await createTestEngine({
    mode,
    runId: `run-${mode}`,
    exchange: { prices: { BTC: 100 } },
    ...(options.store ? { store: options.store } : {}),
    strategies: [
      {
        id: 'breakout',
        create: () => ({
          instruments: [],
          onCycle: () => {
            if (signalled) return undefined;
            signalled = true;
            return [options.signal ?? breakout];
          },
        }),
      },
    ],
    riskGates: [
      {
        id: 'ai-gate',
        create: (context) =>
          aiGate.setup(context, parsePluginOptions(aiGate, { model: 'test-model', host, ...gateOptions })),
      },
    ],
  });
  const decisions: RiskDecisionEvent[] = [];
  test.engine.events.on('risk:decision', (event) => {
    if (event.gate === 'ai-gate') decisions.push(event);
  });
  await test.engine.runCycle();
  return { ...test, decisions };
}

describe('the audit trail in a real SQLite store', () => {
  it('a paper run keeps one complete row per decision, without the secret; a backtest replays it', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'ai-gate-'));
    const file = path.join(directory, 'paper.db');
    // The worst case for a leak: the model's rationale quotes the credential it was called with.
    server.behave = (request) => ({
      kind: 'answer',
      content: JSON.stringify({
        decision: 'allow',
        confidence: 0.8,
        rationale: `breakout confirmed by momentum (caller ${String(request.headers.authorization)})`,
      }),
    });
    const store = new SqliteStore({ path: file });
    const paper = await run(
      'paper',
      { apiKey: TEST_API_KEY, stream: true, sizing: [{ minConfidence: 0.6, multiplier: 0.5 }] },
      { store },
    );
    await waitFor(() => paper.exchange.requests.length === 1, 5_000, 'the parked order to go out');
    expect(paper.exchange.requests[0]?.quantity).toBe('0.2'); // resized × 0.5 by confidence
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    await paper.engine.stop('done', { cancelOpenOrders: false, timeoutMs: 2_000 });
    await store.close();

    const database = new Database(file, { readonly: true });
    const rows = database
      .prepare('SELECT run_id, component, kind, data FROM plugin_records ORDER BY seq')
      .all() as { run_id: string; component: string; kind: string; data: string }[];
    const decisionRows = database
      .prepare("SELECT gate, action, code, message, quantity FROM risk_decisions WHERE gate = 'ai-gate'")
      .all();
    database.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ run_id: 'run-paper', component: 'ai-gate', kind: 'ai-gate:decision' });
    const data = JSON.parse(rows[0]?.data as string) as Record<string, unknown>;
    const signal = paper.signals.find((entry) => entry.strategyId === 'breakout');
    expect(data).toMatchObject({
      signalId: signal?.id,
      proposalId: paper.decisions[0]?.proposal.id,
      strategyId: 'breakout',
      exchange: 'fake',
      symbol: 'BTC',
      side: 'buy',
      quantity: '0.4',
      source: 'model',
      model: 'test-model',
      host,
      endpoint: 'chat',
      stream: true,
      status: 200,
      decision: 'resize',
      code: 'AI_RESIZED',
      resizedQuantity: 0.2,
      confidence: 0.8,
      reply: {
        decision: 'allow',
        confidence: 0.8,
        rationale: 'breakout confirmed by momentum (caller Bearer [REDACTED])',
      },
      content:
        '{"decision":"allow","confidence":0.8,"rationale":"breakout confirmed by momentum (caller Bearer [REDACTED])"}',
    });
    expect(data.promptHash).toMatch(/^[0-9a-f]{64}$/);
    expect(data.prompt).toContain('- BREAKOUT_20: close above the 20-bar high');
    expect(data.prompt).toContain('- atr: 2.25\n- momentum: 1.5');
    expect(data.prompt).toContain('- equity: 10000.00');
    expect(data.system).toContain('risk filter');
    expect(typeof data.latencyMs).toBe('number');
    expect(data.latencyMs).toBeGreaterThanOrEqual(0);
    // The raw NDJSON stream, line by line, as received.
    const lines = (data.response as string).trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ done: true });
    expect(decisionRows).toEqual([
      {
        gate: 'ai-gate',
        action: 'resize',
        code: 'AI_RESIZED',
        message:
          'test-model answered allow with confidence 0.8: breakout confirmed by momentum (caller Bearer [REDACTED]) (sized × 0.5 from confidence 0.6)',
        quantity: 0.2,
      },
    ]);
    // Not in any table, nor anywhere in the files.
    for (const name of ['paper.db', 'paper.db-wal']) {
      const target = path.join(directory, name);
      if (existsSync(target)) expect(readFileSync(target).includes(TEST_API_KEY)).toBe(false);
    }

    // The backtest asks the same question and gets the recorded answer, without a call.
    const calls = server.requests.length;
    const replay = await run('backtest', {
      backtest: 'replay',
      replay: { database: file },
      sizing: [{ minConfidence: 0.6, multiplier: 0.5 }],
    });
    expect(replay.decisions).toHaveLength(1);
    expect(replay.decisions[0]?.decision).toMatchObject({
      action: 'resize',
      quantity: 0.2,
      code: 'AI_RESIZED',
      message: expect.stringMatching(/^replayed: test-model answered allow with confidence 0\.8/),
    });
    expect(replay.exchange.requests[0]?.quantity).toBe('0.2');
    // Stricter thresholds judge the same recorded answer differently.
    const stricter = await run('backtest', {
      backtest: 'replay',
      replay: { database: file },
      minConfidence: 0.9,
    });
    expect(stricter.decisions[0]?.decision).toMatchObject({ action: 'deny', code: 'AI_LOW_CONFIDENCE' });
    // Another question, or another run id: nothing recorded, denied.
    const other = await run(
      'backtest',
      { backtest: 'replay', replay: { database: file } },
      { signal: { ...breakout, features: { momentum: 0.2, atr: 2.25 } } },
    );
    expect(other.decisions[0]?.decision).toMatchObject({ action: 'deny', code: 'AI_REPLAY_MISS' });
    const otherRun = await run('backtest', {
      backtest: 'replay',
      replay: { database: file, runId: 'run-elsewhere' },
    });
    expect(otherRun.decisions[0]?.decision).toMatchObject({ action: 'deny', code: 'AI_REPLAY_MISS' });
    const lenient = await run('backtest', {
      backtest: 'replay',
      replay: { database: file, runId: 'run-elsewhere', onMiss: 'bypass' },
    });
    expect(lenient.decisions[0]?.decision).toMatchObject({ action: 'allow', code: 'AI_BYPASSED' });
    expect(server.requests).toHaveLength(calls);
  });

  it('a paper run whose model times out denies, and the row says so', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'ai-gate-'));
    const file = path.join(directory, 'paper.db');
    server.behave = () => ({ kind: 'hang' });
    const store = new SqliteStore({ path: file });
    const paper = await run('paper', { timeout: '10s' }, { store });
    await waitFor(() => server.requests.length === 1, 5_000, 'the model call');
    paper.clock.advance(10_000);
    await waitFor(() => paper.decisions.length === 1, 5_000, 'the decision');
    expect(paper.decisions[0]?.decision).toEqual({
      action: 'deny',
      code: 'AI_TIMEOUT',
      message: 'test-model: no complete answer within 10000 ms',
    });
    expect(paper.exchange.requests).toHaveLength(0);
    await paper.engine.stop('done', { cancelOpenOrders: false, timeoutMs: 2_000 });
    const rows = store.recent('plugin_records');
    await store.close();
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]?.data as string)).toMatchObject({
      source: 'model',
      decision: 'deny',
      code: 'AI_TIMEOUT',
      error: 'no complete answer within 10000 ms',
      status: null,
      response: '',
      reply: null,
      confidence: null,
    });
  });
});

describe('recorded answers', () => {
  it('are replayed in recorded order per prompt, and the last one repeats', () => {
    const first = { decision: 'allow' as const, confidence: 0.9, rationale: 'a' };
    const second = { decision: 'deny' as const, confidence: 0.7, rationale: 'b' };
    const answers = new RecordedAnswers(new Map([['h1', [first, second]]]));
    expect([answers.next('h1'), answers.next('h1'), answers.next('h1')]).toEqual([first, second, second]);
    expect(answers.next('h2')).toBeUndefined();
  });
});
