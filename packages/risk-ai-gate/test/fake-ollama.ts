import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake server received. */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
}

/** How the server answers one request. */
export type Behaviour =
  /** A model answer, as Ollama sends it: one object, or NDJSON chunks when the request streams. */
  | { readonly kind: 'answer'; readonly content: string; readonly delayMs?: number }
  /** A status with an Ollama error body `{"error": ...}`. */
  | { readonly kind: 'error'; readonly status: number; readonly error: string }
  /** A 200 with any body. */
  | { readonly kind: 'raw'; readonly body: string; readonly contentType?: string }
  /** Never answers (until the client gives up or the server closes). */
  | { readonly kind: 'hang' }
  /** Streams the first part of the answer, then stalls. */
  | { readonly kind: 'stall'; readonly content: string }
  /** Streams part of the answer, then an `{"error": ...}` line, as Ollama does mid-stream. */
  | { readonly kind: 'stream-error'; readonly content: string; readonly error: string }
  /** Streams the answer but ends without the done line. */
  | { readonly kind: 'truncated'; readonly content: string }
  /** Cuts the connection after the headers. */
  | { readonly kind: 'reset' };

const CREATED_AT = '2025-01-01T00:00:00.000000Z';
const STATS = {
  total_duration: 812_000_000,
  load_duration: 12_000_000,
  prompt_eval_count: 212,
  prompt_eval_duration: 300_000_000,
  eval_count: 31,
  eval_duration: 500_000_000,
};

/** Splits text into small chunks, the way a model streams tokens. */
function tokens(text: string): string[] {
  return text.match(/.{1,7}/gs) ?? [''];
}

/**
 * A local server that speaks the Ollama wire format (`POST /api/chat`, `POST /api/generate`):
 * streaming NDJSON by default and one JSON object with `stream: false`, `message.content` for chat
 * and `response` for generate, `{"error": ...}` bodies, and mid-stream error lines. Unknown models
 * get the 404 Ollama sends. `behave` scripts the answers.
 */
export class FakeOllama {
  readonly requests: ReceivedRequest[] = [];
  readonly models = new Set(['test-model']);
  /** A path prefix the server lives under, as behind a reverse proxy. */
  prefix = '';
  behave: (request: ReceivedRequest) => Behaviour = () => ({
    kind: 'answer',
    content: '{"decision":"allow","confidence":0.9,"rationale":"trend and funding agree"}',
  });
  private server: Server | undefined;
  private readonly open = new Set<ServerResponse>();

  async start(): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const response of this.open) response.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.open.add(response);
    response.on('close', () => this.open.delete(response));
    let text = '';
    for await (const chunk of request) text += chunk;
    const path = request.url ?? '/';
    // Behind a proxy Ollama may live under a prefix: /ollama/api/chat.
    const endpoint = path.slice(this.prefix.length);
    if (
      request.method !== 'POST' ||
      !path.startsWith(this.prefix) ||
      (endpoint !== '/api/chat' && endpoint !== '/api/generate')
    ) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.json(response, 400, { error: 'invalid character in request body' });
      return;
    }
    const received: ReceivedRequest = { path, headers: request.headers, body };
    this.requests.push(received);
    const model = String(body.model);
    if (!this.models.has(model)) {
      this.json(response, 404, { error: `model "${model}" not found, try pulling it first` });
      return;
    }
    const chat = endpoint === '/api/chat';
    // Ollama streams unless told not to.
    const stream = body.stream !== false;
    const line = (content: string, done: boolean) => ({
      model,
      created_at: CREATED_AT,
      ...(chat ? { message: { role: 'assistant', content } } : { response: content }),
      done,
      ...(done ? { done_reason: 'stop', ...STATS } : {}),
    });
    const behaviour = this.behave(received);
    switch (behaviour.kind) {
      case 'answer': {
        if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
        if (!stream) {
          this.json(response, 200, line(behaviour.content, true));
          return;
        }
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const token of tokens(behaviour.content))
          response.write(`${JSON.stringify(line(token, false))}\n`);
        response.end(`${JSON.stringify(line('', true))}\n`);
        return;
      }
      case 'error':
        this.json(response, behaviour.status, { error: behaviour.error });
        return;
      case 'raw':
        response.writeHead(200, {
          'content-type': behaviour.contentType ?? 'application/json; charset=utf-8',
        });
        response.end(behaviour.body);
        return;
      case 'hang':
        return;
      case 'stall': {
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const token of tokens(behaviour.content))
          response.write(`${JSON.stringify(line(token, false))}\n`);
        return;
      }
      case 'stream-error': {
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const token of tokens(behaviour.content))
          response.write(`${JSON.stringify(line(token, false))}\n`);
        response.end(`${JSON.stringify({ error: behaviour.error })}\n`);
        return;
      }
      case 'truncated': {
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const token of tokens(behaviour.content))
          response.write(`${JSON.stringify(line(token, false))}\n`);
        response.end();
        return;
      }
      case 'reset':
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        response.flushHeaders();
        response.socket?.destroy();
        return;
    }
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
  }
}

/** A loopback address where nothing listens: a port that was just free. */
export async function refusedHost(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A model answer as JSON text. */
export function answer(decision: string, confidence: number, rationale = 'reasons hold'): string {
  return JSON.stringify({ decision, confidence, rationale });
}
