import { z } from '@perpkit/core';

/** What the gate asks: one system message and one user message, answered in JSON. */
export interface OllamaQuestion {
  readonly model: string;
  readonly system: string;
  readonly prompt: string;
  /** `json` (JSON mode) or a JSON schema (structured outputs). */
  readonly format: 'json' | Readonly<Record<string, unknown>>;
  readonly temperature: number;
  readonly seed?: number;
  /** `num_predict`: the most tokens the model may generate. */
  readonly maxTokens?: number;
}

export interface OllamaConnection {
  /** Base URL, e.g. `http://127.0.0.1:11434`, or a proxy's `https://gateway.example/ollama`. */
  readonly host: string;
  /** `/api/chat` (system + user messages) or `/api/generate` (system + prompt). */
  readonly endpoint: 'chat' | 'generate';
  /** Ask for NDJSON streaming (`stream: true`) or one JSON object. */
  readonly stream: boolean;
  /** Sent with every request (an `Authorization` header for a remote Ollama). Never recorded. */
  readonly headers: Readonly<Record<string, string>>;
  /** A larger response is cut off and counts as malformed. */
  readonly maxResponseBytes: number;
  /** The call fails with `timeout` after this long, whatever the server does. */
  readonly timeoutMs: number;
  /** The engine clock's sleep: resolves after `ms`, or early when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type OllamaFailure =
  /** No complete answer within the timeout. */
  | 'timeout'
  /** The connection could not be made or broke (refused, DNS, reset). */
  | 'unreachable'
  /** The server answered with a non-2xx status. */
  | 'http'
  /** The server reported an error inside a 200 response (an `error` line mid-stream). */
  | 'model-error'
  /** The body is not what the Ollama API sends (not JSON, no content, a stream without `done`, too large). */
  | 'malformed';

export type OllamaResult =
  | {
      readonly ok: true;
      readonly status: number;
      /** The response body as received (NDJSON lines when streaming). */
      readonly raw: string;
      /** The model's text: `message.content` (chat) or `response` (generate), joined over a stream. */
      readonly content: string;
    }
  | {
      readonly ok: false;
      readonly failure: OllamaFailure;
      readonly message: string;
      readonly status?: number;
      /** Whatever body arrived before the failure. */
      readonly raw: string;
    };

/** Lenient: one response object or stream line, keeping only the fields the gate reads. */
const responseLine = z.object({
  message: z.object({ content: z.string().optional() }).optional(),
  response: z.string().optional(),
  done: z.boolean().optional(),
  error: z.string().optional(),
});

export function requestBody(question: OllamaQuestion, connection: OllamaConnection): Record<string, unknown> {
  const options: Record<string, number> = { temperature: question.temperature };
  if (question.seed !== undefined) options.seed = question.seed;
  if (question.maxTokens !== undefined) options.num_predict = question.maxTokens;
  const common = { model: question.model, stream: connection.stream, format: question.format, options };
  return connection.endpoint === 'chat'
    ? {
        ...common,
        messages: [
          { role: 'system', content: question.system },
          { role: 'user', content: question.prompt },
        ],
      }
    : { ...common, system: question.system, prompt: question.prompt };
}

class CallFailure extends Error {
  constructor(
    readonly failure: OllamaFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Asks Ollama one question. Never rejects: every failure is a result, and the result arrives by
 * the timeout at the latest (the request is aborted then, and the answer does not wait for the
 * abort to take effect).
 */
export async function askOllama(
  question: OllamaQuestion,
  connection: OllamaConnection,
): Promise<OllamaResult> {
  const request = new AbortController();
  const stopTimer = new AbortController();
  let raw = '';
  const timedOut = connection
    .sleep(connection.timeoutMs, stopTimer.signal)
    .then((): OllamaResult | undefined => {
      if (stopTimer.signal.aborted) return undefined;
      request.abort();
      return {
        ok: false,
        failure: 'timeout',
        message: `no complete answer within ${connection.timeoutMs} ms`,
        raw,
      };
    });
  const call = (async (): Promise<OllamaResult> => {
    try {
      // Appended, not resolved: a proxy may serve Ollama under a path prefix.
      const url = new URL(`${connection.host.replace(/\/+$/, '')}/api/${connection.endpoint}`);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...connection.headers },
          body: JSON.stringify(requestBody(question, connection)),
          signal: request.signal,
        });
      } catch (error) {
        throw new CallFailure('unreachable', `cannot reach ${url.origin}: ${describeFetchError(error)}`);
      }
      const status = response.status;
      raw = await readBody(response, connection.maxResponseBytes, (text) => {
        raw = text;
      });
      if (status < 200 || status > 299) {
        const error = errorOf(raw);
        throw new CallFailure('http', `HTTP ${status}${error ? `: ${error}` : ''}`, status);
      }
      const content = connection.stream ? contentOfStream(raw) : contentOfObject(raw);
      return { ok: true, status, raw, content };
    } catch (error) {
      if (error instanceof CallFailure) {
        return {
          ok: false,
          failure: error.failure,
          message: error.message,
          raw,
          ...(error.status === undefined ? {} : { status: error.status }),
        };
      }
      return { ok: false, failure: 'unreachable', message: describeFetchError(error), raw };
    }
  })();
  const first = await Promise.race([call, timedOut.then((result) => result ?? call)]);
  stopTimer.abort();
  return first;
}

/** Reads the body as text, up to `limit` bytes; `progress` sees what has arrived so far. */
async function readBody(
  response: Response,
  limit: number,
  progress: (text: string) => void,
): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw new CallFailure(
          'unreachable',
          `the connection broke while reading the response: ${describeFetchError(error)}`,
          response.status,
        );
      }
      if (chunk.done) break;
      bytes += chunk.value.byteLength;
      text += decoder.decode(chunk.value, { stream: true });
      progress(text);
      if (bytes > limit) {
        await reader.cancel().catch(() => undefined);
        throw new CallFailure('malformed', `the response is larger than ${limit} bytes`, response.status);
      }
    }
    text += decoder.decode();
    return text;
  } finally {
    reader.releaseLock();
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CallFailure('malformed', `${what} is not JSON: ${excerpt(text)}`);
  }
}

function errorOf(body: string): string | undefined {
  try {
    const parsed = responseLine.safeParse(JSON.parse(body));
    if (parsed.success && parsed.data.error !== undefined) return parsed.data.error;
  } catch {
    // not JSON: the excerpt says more than nothing
  }
  return body.trim() === '' ? undefined : excerpt(body);
}

function textOf(line: z.infer<typeof responseLine>): string | undefined {
  return line.message?.content ?? line.response;
}

function contentOfObject(body: string): string {
  const parsed = responseLine.safeParse(parseJson(body, 'the response'));
  if (!parsed.success) throw new CallFailure('malformed', 'the response is not an Ollama response object');
  if (parsed.data.error !== undefined) throw new CallFailure('model-error', parsed.data.error);
  const content = textOf(parsed.data);
  if (content === undefined)
    throw new CallFailure('malformed', 'the response has neither message.content nor response');
  return content;
}

/** Joins the text of an NDJSON stream; the last line must say `done: true`. */
function contentOfStream(body: string): string {
  let content = '';
  let done = false;
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    if (done) throw new CallFailure('malformed', 'the stream goes on after its done line');
    const parsed = responseLine.safeParse(parseJson(line, 'a stream line'));
    if (!parsed.success) throw new CallFailure('malformed', 'a stream line is not an Ollama response object');
    if (parsed.data.error !== undefined) throw new CallFailure('model-error', parsed.data.error);
    content += textOf(parsed.data) ?? '';
    done = parsed.data.done === true;
  }
  if (!done) throw new CallFailure('malformed', 'the stream ended without a done line');
  return content;
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > 200 ? `${flat.slice(0, 200)}…` : flat);
}

/** fetch hides the socket error in `cause`: ECONNREFUSED says more than "fetch failed". */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
}
