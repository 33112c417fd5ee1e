import {
  ConfigError,
  type Logger,
  parsePluginOptions,
  type RiskDecision,
  type RunMode,
  type SignalInput,
} from '@perpkit/core';
import {
  createTestEngine,
  describeRiskGateContract,
  proposalFor,
  setupContextFor,
  waitFor,
} from '@perpkit/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aiGate } from '../src/index';
import { answer, FakeOllama, refusedHost } from './fake-ollama';

describeRiskGateContract('ai-gate', { plugin: aiGate, options: { model: 'test-model' } });

/** A made-up key for tests: never a real credential. */
const TEST_API_KEY = 'test-only-api-key-3f9a7c1e';
const TEST_HEADER_SECRET = 'test-only-header-secret-b41d';

const entry: SignalInput = {
  intent: 'open',
  exchange: 'fake',
  symbol: 'BTC',
  side: 'buy',
  quantity: 1,
  regime: 'trend-up',
  features: { momentum: 1.5, funding: 0.0001 },
  reasons: [{ code: 'BREAKOUT_20', message: 'close 101 above the 20-bar high 100' }],
};

let server: FakeOllama;
let host: string;

beforeEach(async () => {
  server = new FakeOllama();
  host = await server.start();
});
afterEach(() => server.close());

interface Logged {
  level: string;
  message: string;
  fields: unknown;
}

function capturingLogger(lines: Logged[]): Logger {
  const logger: Logger = {
    debug: (message, fields) => lines.push({ level: 'debug', message, fields }),
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
    child: () => logger,
  };
  return logger;
}

async function harness(options: Record<string, unknown> = {}, mode: RunMode = 'paper') {
  const test = await createTestEngine({ exchange: { prices: { BTC: 100 } } });
  const records: Record<string, unknown>[] = [];
  test.engine.events.on('plugin:record', (event) =>
    records.push({ component: event.component, kind: event.kind, ...event.data }),
  );
  const logged: Logged[] = [];
  const context = { ...setupContextFor(test.engine, 'ai-gate', mode), logger: capturingLogger(logged) };
  const gate = aiGate.setup(context, parsePluginOptions(aiGate, { model: 'test-model', host, ...options }));
  const evaluate = (signal: SignalInput = entry) =>
    gate.evaluate(proposalFor(test.engine, signal), test.engine.state);
  return { ...test, gate, evaluate, records, logged };
}

const verdict = (decision: RiskDecision) =>
  decision.action === 'allow' ? (decision.code ?? 'allow') : decision.code;

const replying = (content: string) => () => ({ kind: 'answer' as const, content });

describe('the question', () => {
  it('renders the default prompt from the features, the reasons and the account', async () => {
    const { evaluate } = await harness();
    await evaluate();
    const messages = server.requests[0]?.body.messages as { role: string; content: string }[];
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toContain(
      '{"decision": "allow" or "deny", "confidence": a number from 0 to 1',
    );
    expect(messages[1]).toEqual({
      role: 'user',
      content: `Strategy test proposes to open: buy 1 BTC on fake, market order, notional 100.00 at 100.
Regime: trend-up

Reasons:
- BREAKOUT_20: close 101 above the 20-bar high 100

Features:
- funding: 0.0001
- momentum: 1.5

Account:
- equity: 10000.00
- free collateral: 10000.00
- margin used: 0.00
- leverage: 0.00
- health ratio: 1.000
- open positions: none

Position in BTC before the order: flat
Trading phase: active

Should this order go out?`,
    });
    expect(server.requests[0]?.body).toMatchObject({ model: 'test-model', stream: false, format: 'json' });
  });

  it('a custom template and system message; format: schema sends the reply schema', async () => {
    const { evaluate } = await harness({
      system: 'Answer in JSON.',
      prompt: '{{ side }} {{quantity}} {{symbol}} because {{reasons}}; {{position}}',
      format: 'schema',
      temperature: 0.3,
    });
    await evaluate();
    expect(server.requests[0]?.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Answer in JSON.' },
        {
          role: 'user',
          content: 'buy 1 BTC because - BREAKOUT_20: close 101 above the 20-bar high 100; flat',
        },
      ],
      format: {
        type: 'object',
        properties: { decision: { type: 'string', enum: ['allow', 'deny'] } },
        required: ['decision', 'confidence', 'rationale'],
      },
      options: { temperature: 0.3 },
    });
  });
});

describe('decisions', () => {
  it('allow at or above minConfidence confirms; below it, and any deny, deny', async () => {
    const cases = [
      [answer('allow', 0.9), 'AI_CONFIRMED'],
      [answer('allow', 0.6), 'AI_CONFIRMED'],
      [answer('allow', 0.59), 'AI_LOW_CONFIDENCE'],
      [answer('deny', 0.95), 'AI_REJECTED'],
      [answer('DENY', 0.2), 'AI_REJECTED'],
      [answer(' Allow ', 0.7), 'AI_CONFIRMED'],
    ] as const;
    for (const [content, expected] of cases) {
      server.behave = replying(content);
      const { evaluate } = await harness({ minConfidence: 0.6 });
      expect(verdict(await evaluate()), content).toBe(expected);
    }
  });

  it('the decision message quotes the model, its confidence and rationale', async () => {
    server.behave = replying(answer('deny', 0.85, 'funding is about to flip against the position'));
    const { evaluate } = await harness();
    expect(await evaluate()).toEqual({
      action: 'deny',
      code: 'AI_REJECTED',
      message: 'test-model answered deny with confidence 0.85: funding is about to flip against the position',
    });
  });

  it('sizing by confidence: the highest tier at or below it applies', async () => {
    const sizing = [
      { minConfidence: 0.9, multiplier: 1 },
      { minConfidence: 0.75, multiplier: 0.5 },
      { minConfidence: 0.6, multiplier: 0.25 },
    ];
    const cases = [
      [0.95, { action: 'allow' }],
      [0.9, { action: 'allow' }],
      [0.89, { action: 'resize', quantity: 0.5 }],
      [0.75, { action: 'resize', quantity: 0.5 }],
      [0.74, { action: 'resize', quantity: 0.25 }],
      [0.6, { action: 'resize', quantity: 0.25 }],
      [0.59, { action: 'deny', code: 'AI_LOW_CONFIDENCE' }],
    ] as const;
    for (const [confidence, expected] of cases) {
      server.behave = replying(answer('allow', confidence));
      const { evaluate } = await harness({ minConfidence: 0.6, sizing });
      expect(await evaluate(), String(confidence)).toMatchObject(expected);
    }
    server.behave = replying(answer('allow', 0.8));
    const { evaluate } = await harness({ sizing });
    expect(await evaluate()).toMatchObject({
      code: 'AI_RESIZED',
      message:
        'test-model answered allow with confidence 0.8: reasons hold (sized × 0.5 from confidence 0.75)',
    });
  });

  it('risk-reducing orders and other strategies pass unasked', async () => {
    const { evaluate, exchange } = await harness({ strategies: ['breakout'] });
    expect(await evaluate()).toEqual({ action: 'allow' }); // strategy "test" is not listed
    await exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    const reduce: SignalInput = {
      intent: 'reduce',
      exchange: 'fake',
      symbol: 'BTC',
      quantity: 0.5,
      reasons: entry.reasons,
    };
    expect(await evaluate(reduce)).toEqual({ action: 'allow' });
    expect(server.requests).toHaveLength(0);
    const strict = await harness({ applyToReducing: true });
    await strict.exchange.submitOrder({
      account: 'main',
      symbol: 'BTC',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(verdict(await strict.evaluate(reduce))).toBe('AI_CONFIRMED');
    expect(server.requests).toHaveLength(1);
  });
});

describe('fails closed', () => {
  const failures = [
    [
      'malformed JSON from the model',
      { stream: false },
      replying('{"decision": "allow", "confidence": 0.9'),
      'AI_MALFORMED_REPLY',
      'the model did not answer with JSON',
    ],
    [
      'an answer without confidence',
      {},
      replying('{"decision":"allow","rationale":"ok"}'),
      'AI_MALFORMED_REPLY',
      "the model's answer does not fit: confidence: Invalid input: expected number, received undefined",
    ],
    [
      'a confidence out of range',
      {},
      replying(answer('allow', 1.5)),
      'AI_MALFORMED_REPLY',
      "the model's answer does not fit: confidence: Too big: expected number to be <=1",
    ],
    [
      'a decision that is neither',
      {},
      replying(answer('maybe', 0.9)),
      'AI_MALFORMED_REPLY',
      'the model\'s answer does not fit: decision: Invalid option: expected one of "allow"|"deny"',
    ],
    [
      'a body that is not Ollama JSON',
      {},
      () => ({ kind: 'raw' as const, body: 'upstream connect error' }),
      'AI_MALFORMED_REPLY',
      'the response is not JSON: "upstream connect error"',
    ],
    [
      'HTTP 500',
      {},
      () => ({ kind: 'error' as const, status: 500, error: 'llama runner process has terminated' }),
      'AI_HTTP_ERROR',
      'HTTP 500: llama runner process has terminated',
    ],
    [
      'an error mid-stream',
      { stream: true },
      () => ({
        kind: 'stream-error' as const,
        content: '{"decision"',
        error: 'an error was encountered while running the model',
      }),
      'AI_MODEL_ERROR',
      'an error was encountered while running the model',
    ],
    [
      'a stream cut before done',
      { stream: true },
      () => ({ kind: 'truncated' as const, content: answer('allow', 0.9) }),
      'AI_MALFORMED_REPLY',
      'the stream ended without a done line',
    ],
  ] as const;

  for (const [what, options, behaviour, code, message] of failures) {
    it(`${what}: ${code}, recorded`, async () => {
      server.behave = behaviour;
      const { evaluate, records, logged } = await harness(options);
      expect(await evaluate()).toEqual({ action: 'deny', code, message: `test-model: ${message}` });
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        source: 'model',
        decision: 'deny',
        code,
        error: message,
        reply: null,
      });
      expect(logged).toContainEqual(
        expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ code }) }),
      );
    });
  }

  it('a refused connection: AI_UNREACHABLE', async () => {
    const { evaluate, records } = await harness({ host: await refusedHost() });
    const decision = await evaluate();
    expect(decision).toMatchObject({ action: 'deny', code: 'AI_UNREACHABLE' });
    expect(decision.action === 'deny' && decision.message).toMatch(
      /^test-model: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
    expect(records[0]).toMatchObject({ source: 'model', code: 'AI_UNREACHABLE', status: null, response: '' });
  });

  it('the timeout: the proposal waits no longer than the timeout, on the engine clock', async () => {
    server.behave = () => ({ kind: 'hang' });
    const { evaluate, clock, records } = await harness({ timeout: '15s' });
    const pending = evaluate() as Promise<RiskDecision>;
    expect(pending).toBeInstanceOf(Promise);
    let settled: RiskDecision | undefined;
    void pending.then((decision) => {
      settled = decision;
    });
    await waitFor(() => server.requests.length === 1, 5_000, 'the request');
    clock.advance(14_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBeUndefined();
    clock.advance(1);
    expect(await pending).toEqual({
      action: 'deny',
      code: 'AI_TIMEOUT',
      message: 'test-model: no complete answer within 15000 ms',
    });
    expect(records[0]).toMatchObject({ source: 'model', code: 'AI_TIMEOUT', response: '' });
  });

  it('health turns bad after three failed calls in a row and good again after an answer', async () => {
    server.behave = () => ({ kind: 'error', status: 503, error: 'busy' });
    const { evaluate, gate } = await harness({ cacheFor: 0 });
    for (let index = 0; index < 2; index += 1) await evaluate();
    expect(await gate.health?.()).toEqual({ ok: true });
    await evaluate();
    expect(await gate.health?.()).toEqual({
      ok: false,
      message: '3 model calls failed in a row; last AI_HTTP_ERROR: HTTP 503: busy',
    });
    server.behave = replying(answer('allow', 0.9));
    await evaluate();
    expect(await gate.health?.()).toEqual({ ok: true });
  });
});

describe('cache', () => {
  it('an identical prompt within the window is answered from the cache; after it, the model is asked again', async () => {
    const { evaluate, clock, records } = await harness({ cacheFor: '1m' });
    expect(verdict(await evaluate())).toBe('AI_CONFIRMED');
    clock.advance(60_000);
    expect(await evaluate()).toMatchObject({
      code: 'AI_CONFIRMED',
      message: expect.stringMatching(/^cached: /),
    });
    expect(server.requests).toHaveLength(1);
    expect(records.map((record) => record.source)).toEqual(['model', 'cache']);
    expect(records[1]).toMatchObject({ promptHash: records[0]?.promptHash, response: records[0]?.response });
    clock.advance(1);
    await evaluate();
    expect(server.requests).toHaveLength(2);
    await evaluate({ ...entry, quantity: 2 }); // another question
    expect(server.requests).toHaveLength(3);
  });

  it('identical questions asked while the first is in flight share its call', async () => {
    server.behave = () => ({ kind: 'answer', content: answer('allow', 0.9), delayMs: 100 });
    const { evaluate, records } = await harness();
    const decisions = await Promise.all([evaluate(), evaluate(), evaluate()]);
    expect(decisions.map(verdict)).toEqual(['AI_CONFIRMED', 'AI_CONFIRMED', 'AI_CONFIRMED']);
    expect(server.requests).toHaveLength(1);
    expect(records.map((record) => record.source).sort()).toEqual(['cache', 'cache', 'model']);
  });

  it('failures are not cached; cacheFor: 0 asks every time', async () => {
    server.behave = () => ({ kind: 'error', status: 500, error: 'boom' });
    const { evaluate } = await harness();
    expect(verdict(await evaluate())).toBe('AI_HTTP_ERROR');
    server.behave = replying(answer('allow', 0.9));
    expect(verdict(await evaluate())).toBe('AI_CONFIRMED');
    expect(server.requests).toHaveLength(2);
    const uncached = await harness({ cacheFor: 0 });
    await uncached.evaluate();
    await uncached.evaluate();
    expect(server.requests).toHaveLength(4);
  });
});

describe('rate limit', () => {
  it('maxCalls per window: over it, deny without a call; the window slides on the engine clock', async () => {
    const { evaluate, clock, records } = await harness({ rateLimit: { maxCalls: 2, window: '1m' } });
    await evaluate({ ...entry, quantity: 1 });
    clock.advance(30_000);
    await evaluate({ ...entry, quantity: 2 });
    clock.advance(29_999);
    expect(await evaluate({ ...entry, quantity: 3 })).toEqual({
      action: 'deny',
      code: 'AI_RATE_LIMITED',
      message: 'not asking test-model: 2 calls within the last 60000 ms (maxCalls 2)',
    });
    expect(server.requests).toHaveLength(2);
    expect(records.at(-1)).toMatchObject({ source: 'rate-limited', code: 'AI_RATE_LIMITED', quantity: '3' });
    expect(verdict(await evaluate({ ...entry, quantity: 1 }))).toBe('AI_CONFIRMED'); // cached: no call
    clock.advance(1); // the first call is a window old
    expect(verdict(await evaluate({ ...entry, quantity: 3 }))).toBe('AI_CONFIRMED');
    expect(server.requests).toHaveLength(3);
  });

  it('maxConcurrent: a question while the limit is in flight is denied', async () => {
    server.behave = () => ({ kind: 'answer', content: answer('allow', 0.9), delayMs: 150 });
    const { evaluate } = await harness({ rateLimit: { maxConcurrent: 1 } });
    const first = evaluate({ ...entry, quantity: 1 });
    expect(await evaluate({ ...entry, quantity: 2 })).toEqual({
      action: 'deny',
      code: 'AI_RATE_LIMITED',
      message: 'not asking test-model: 1 calls in flight (maxConcurrent 1)',
    });
    expect(verdict(await first)).toBe('AI_CONFIRMED');
    expect(verdict(await evaluate({ ...entry, quantity: 2 }))).toBe('AI_CONFIRMED');
  });
});

describe('secrets', () => {
  it('the API key and header values are sent, but never recorded or logged, even when echoed', async () => {
    // A proxy that rejects the key and quotes it back, the worst case for an audit log.
    server.behave = (request) => ({
      kind: 'error',
      status: 401,
      error: `invalid credentials: ${String(request.headers.authorization)} / ${String(request.headers['x-api-key'])}`,
    });
    const { evaluate, records, logged } = await harness({
      apiKey: TEST_API_KEY,
      headers: { 'x-api-key': TEST_HEADER_SECRET },
      stream: true,
    });
    const decision = await evaluate();
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    expect(server.requests[0]?.headers['x-api-key']).toBe(TEST_HEADER_SECRET);
    expect(decision).toEqual({
      action: 'deny',
      code: 'AI_HTTP_ERROR',
      message: 'test-model: HTTP 401: invalid credentials: Bearer [REDACTED] / [REDACTED]',
    });
    expect(records[0]?.response).toBe('{"error":"invalid credentials: Bearer [REDACTED] / [REDACTED]"}');
    const everything = JSON.stringify({ records, logged, decision });
    expect(everything).not.toContain(TEST_API_KEY);
    expect(everything).not.toContain(TEST_HEADER_SECRET);
    expect(everything).toContain('[REDACTED]');
  });

  it('a host with credentials in it is refused', () => {
    expect(() =>
      parsePluginOptions(aiGate, { model: 'm', host: `https://user:${TEST_API_KEY}@ollama.example` }),
    ).toThrow(/host: must not carry credentials; put them in apiKey or headers/);
    expect(() =>
      parsePluginOptions(aiGate, { model: 'm', host: `https://ollama.example/?key=${TEST_API_KEY}` }),
    ).toThrow(/host: must be a base URL, without a query or fragment/);
  });
});

describe('backtests never ask the model', () => {
  it('bypass (the default) allows with AI_BYPASSED and records it', async () => {
    const { evaluate, records } = await harness({}, 'backtest');
    expect(await evaluate()).toEqual({
      action: 'allow',
      code: 'AI_BYPASSED',
      message: 'a backtest does not ask the model (backtest: bypass)',
    });
    expect(records).toEqual([
      expect.objectContaining({
        kind: 'ai-gate:decision',
        source: 'bypassed',
        decision: 'allow',
        code: 'AI_BYPASSED',
      }),
    ]);
    expect(server.requests).toHaveLength(0);
  });

  it('deny denies with AI_UNAVAILABLE', async () => {
    const { evaluate, records } = await harness({ backtest: 'deny' }, 'backtest');
    expect(verdict(await evaluate())).toBe('AI_UNAVAILABLE');
    expect(records[0]).toMatchObject({ source: 'unavailable' });
    expect(server.requests).toHaveLength(0);
  });

  it('replay without a readable database stops the setup', async () => {
    await expect(
      harness({ backtest: 'replay', replay: { database: '/nonexistent/paper.db' } }, 'backtest'),
    ).rejects.toThrow(ConfigError);
  });
});

describe('options', () => {
  it('refuses unknown placeholders, naming the known ones', () => {
    expect(() => parsePluginOptions(aiGate, { model: 'm', prompt: 'buy {{symbol}} at {{bid}}?' })).toThrow(
      /prompt: unknown placeholder\(s\) \{\{bid\}\} \(known: strategy, intent, side/,
    );
  });

  it('sizing tiers must cover every confidence from minConfidence up', () => {
    expect(() =>
      parsePluginOptions(aiGate, {
        model: 'm',
        minConfidence: 0.5,
        sizing: [{ minConfidence: 0.7, multiplier: 0.5 }],
      }),
    ).toThrow(
      /sizing: the tiers must cover every confidence from minConfidence 0.5 up; the lowest starts at 0.7/,
    );
    expect(() =>
      parsePluginOptions(aiGate, { model: 'm', sizing: [{ minConfidence: 0.5, multiplier: 1.5 }] }),
    ).toThrow(/sizing\[0\]\.multiplier/);
  });

  it('backtest: replay needs a database; unknown keys are refused', () => {
    expect(() => parsePluginOptions(aiGate, { model: 'm', backtest: 'replay' })).toThrow(
      /replay: backtest: replay needs replay.database/,
    );
    expect(() => parsePluginOptions(aiGate, { model: 'm', temprature: 0 })).toThrow(/temprature/);
  });
});
