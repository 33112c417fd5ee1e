import { RealClock, SimulatedClock } from '@perpkit/core';
import { waitFor } from '@perpkit/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askOllama, type OllamaConnection, type OllamaQuestion } from '../src/ollama-client';
import { answer, FakeOllama, refusedHost } from './fake-ollama';

const question: OllamaQuestion = {
  model: 'test-model',
  system: 'you are a filter',
  prompt: 'buy 1 BTC?',
  format: 'json',
  temperature: 0,
};

let server: FakeOllama;
let host: string;
let clock: SimulatedClock;

beforeEach(async () => {
  server = new FakeOllama();
  host = await server.start();
  clock = new SimulatedClock(0);
});
afterEach(() => server.close());

const connect = (overrides: Partial<OllamaConnection> = {}): OllamaConnection => ({
  host,
  endpoint: 'chat',
  stream: false,
  headers: {},
  maxResponseBytes: 1 << 20,
  timeoutMs: 10_000,
  sleep: (ms, signal) => clock.sleep(ms, signal),
  ...overrides,
});

describe('the request', () => {
  it('chat: system and user messages, JSON mode, stream flag and model options', async () => {
    await askOllama(
      { ...question, temperature: 0.2, seed: 7, maxTokens: 128 },
      connect({ headers: { authorization: 'Bearer test' } }),
    );
    const [request] = server.requests;
    expect(request?.path).toBe('/api/chat');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBe('Bearer test');
    expect(request?.body).toEqual({
      model: 'test-model',
      stream: false,
      format: 'json',
      options: { temperature: 0.2, seed: 7, num_predict: 128 },
      messages: [
        { role: 'system', content: 'you are a filter' },
        { role: 'user', content: 'buy 1 BTC?' },
      ],
    });
  });

  it('a host with a path prefix (a reverse proxy) keeps it; a trailing slash is fine', async () => {
    server.prefix = '/ollama';
    expect(await askOllama(question, connect({ host: `${host}/ollama/` }))).toMatchObject({ ok: true });
    expect(server.requests[0]?.path).toBe('/ollama/api/chat');
  });

  it('generate: system and prompt fields; a JSON schema goes in format', async () => {
    const schema = { type: 'object', properties: { decision: { type: 'string' } } };
    await askOllama({ ...question, format: schema }, connect({ endpoint: 'generate', stream: true }));
    expect(server.requests[0]?.path).toBe('/api/generate');
    expect(server.requests[0]?.body).toEqual({
      model: 'test-model',
      stream: true,
      format: schema,
      options: { temperature: 0 },
      system: 'you are a filter',
      prompt: 'buy 1 BTC?',
    });
  });
});

describe('answers', () => {
  const content = answer('allow', 0.8, 'momentum and funding agree');

  for (const endpoint of ['chat', 'generate'] as const) {
    it(`${endpoint}: one JSON object (stream: false)`, async () => {
      server.behave = () => ({ kind: 'answer', content });
      const result = await askOllama(question, connect({ endpoint }));
      expect(result).toMatchObject({ ok: true, status: 200, content });
      expect(result.raw).toContain('"done":true');
    });

    it(`${endpoint}: an NDJSON stream is joined, and the raw body keeps every line`, async () => {
      server.behave = () => ({ kind: 'answer', content });
      const result = await askOllama(question, connect({ endpoint, stream: true }));
      expect(result).toMatchObject({ ok: true, content });
      const lines = result.raw.trim().split('\n');
      expect(lines.length).toBeGreaterThan(3);
      expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ done: true, done_reason: 'stop' });
    });
  }

  it('a slow answer inside the timeout is an answer', async () => {
    server.behave = () => ({ kind: 'answer', content, delayMs: 150 });
    expect(await askOllama(question, connect())).toMatchObject({ ok: true, content });
  });
});

describe('failures are results, never exceptions', () => {
  it('HTTP 500 with an Ollama error body', async () => {
    server.behave = () => ({ kind: 'error', status: 500, error: 'the model failed to generate a response' });
    expect(await askOllama(question, connect())).toEqual({
      ok: false,
      failure: 'http',
      status: 500,
      message: 'HTTP 500: the model failed to generate a response',
      raw: '{"error":"the model failed to generate a response"}',
    });
  });

  it('an unknown model: the 404 Ollama sends', async () => {
    const result = await askOllama({ ...question, model: 'llama9' }, connect());
    expect(result).toMatchObject({
      ok: false,
      failure: 'http',
      status: 404,
      message: 'HTTP 404: model "llama9" not found, try pulling it first',
    });
  });

  it('a body that is not JSON, and JSON that is not an Ollama response', async () => {
    server.behave = () => ({ kind: 'raw', body: '<html>502 Bad Gateway</html>', contentType: 'text/html' });
    expect(await askOllama(question, connect())).toMatchObject({
      ok: false,
      failure: 'malformed',
      message: 'the response is not JSON: "<html>502 Bad Gateway</html>"',
      raw: '<html>502 Bad Gateway</html>',
    });
    server.behave = () => ({ kind: 'raw', body: '{"choices":[{"text":"hi"}]}' });
    expect(await askOllama(question, connect())).toMatchObject({
      ok: false,
      failure: 'malformed',
      message: 'the response has neither message.content nor response',
    });
  });

  it('a stream with an error line mid-way, one without its done line, one with a broken line', async () => {
    server.behave = () => ({ kind: 'stream-error', content: '{"decision":"al', error: 'out of memory' });
    expect(await askOllama(question, connect({ stream: true }))).toMatchObject({
      ok: false,
      failure: 'model-error',
      message: 'out of memory',
    });
    server.behave = () => ({ kind: 'truncated', content: answer('allow', 0.9) });
    expect(await askOllama(question, connect({ stream: true }))).toMatchObject({
      ok: false,
      failure: 'malformed',
      message: 'the stream ended without a done line',
    });
    server.behave = () => ({
      kind: 'raw',
      body: '{"message":{"content":"x"},"done":false}\n{"mess',
      contentType: 'application/x-ndjson',
    });
    expect(await askOllama(question, connect({ stream: true }))).toMatchObject({
      ok: false,
      failure: 'malformed',
      message: 'a stream line is not JSON: "{\\"mess"',
    });
  });

  it('a refused connection', async () => {
    const result = await askOllama(question, connect({ host: await refusedHost() }));
    expect(result).toMatchObject({ ok: false, failure: 'unreachable', raw: '' });
    expect(result.ok === false && result.message).toMatch(
      /^cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
  });

  it('a connection cut after the headers', async () => {
    server.behave = () => ({ kind: 'reset' });
    expect(await askOllama(question, connect({ stream: true }))).toMatchObject({
      ok: false,
      failure: 'unreachable',
    });
  });

  it('a response larger than maxResponseBytes is cut off', async () => {
    server.behave = () => ({ kind: 'answer', content: answer('allow', 0.9, 'x'.repeat(5_000)) });
    expect(await askOllama(question, connect({ maxResponseBytes: 1_000 }))).toMatchObject({
      ok: false,
      failure: 'malformed',
      message: 'the response is larger than 1000 bytes',
    });
  });
});

describe('the timeout, on the engine clock', () => {
  it('no headers: pending until the timeout, then a timeout and the request is aborted', async () => {
    server.behave = () => ({ kind: 'hang' });
    let settled = false;
    const pending = askOllama(question, connect({ timeoutMs: 5_000 })).finally(() => {
      settled = true;
    });
    await waitFor(() => server.requests.length === 1, 5_000, 'the request');
    clock.advance(4_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    clock.advance(1);
    expect(await pending).toEqual({
      ok: false,
      failure: 'timeout',
      message: 'no complete answer within 5000 ms',
      raw: '',
    });
  });

  it('a stream that stalls part-way times out and keeps what arrived', async () => {
    server.behave = () => ({ kind: 'stall', content: '{"decision":"allow",' });
    const pending = askOllama(question, connect({ stream: true, timeoutMs: 5_000 }));
    await waitFor(() => server.requests.length === 1, 5_000, 'the request');
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(5_000);
    const result = await pending;
    expect(result).toMatchObject({ ok: false, failure: 'timeout' });
    expect(result.raw).toContain('"done":false');
  });

  it('with the real clock the call gives up by itself', async () => {
    server.behave = () => ({ kind: 'hang' });
    const real = new RealClock();
    const result = await askOllama(
      question,
      connect({ timeoutMs: 100, sleep: (ms, signal) => real.sleep(ms, signal) }),
    );
    expect(result).toMatchObject({ ok: false, failure: 'timeout' });
  });
});
