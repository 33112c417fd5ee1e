import {
  allow,
  defineRiskGate,
  deny,
  type HealthStatus,
  type OrderProposal,
  type RiskDecision,
  type RiskGate,
  resize,
  type SetupContext,
  type StateView,
} from '@perpkit/core';
import { askOllama, type OllamaConnection, type OllamaFailure, type OllamaQuestion } from './ollama-client';
import { type AiGateOptions, aiGateOptions } from './options';
import { promptHash, promptValues, renderTemplate } from './prompt';
import { createRedactor } from './redact';
import { loadRecordedAnswers, RECORD_KIND, type RecordedAnswers } from './replay';
import { MODEL_REPLY_JSON_SCHEMA, type ModelReply, parseModelReply } from './reply';

/** Every reason code the gate answers with. */
export const AI_GATE_CODES = {
  AI_CONFIRMED: 'an allow: the model confirmed with at least minConfidence',
  AI_RESIZED: 'the model confirmed; the sizing tier for its confidence shrinks the order',
  AI_REJECTED: 'the model answered deny',
  AI_LOW_CONFIDENCE: 'the model answered allow with less than minConfidence',
  AI_TIMEOUT: 'no complete answer within timeout (fails closed)',
  AI_UNREACHABLE: 'the host could not be reached or the connection broke (fails closed)',
  AI_HTTP_ERROR: 'the host answered with a non-2xx HTTP status (fails closed)',
  AI_MODEL_ERROR: 'Ollama reported an error inside a 200 response, e.g. mid-stream (fails closed)',
  AI_MALFORMED_REPLY:
    "the response is not Ollama's format, or the model's answer is not the JSON asked for (fails closed)",
  AI_RATE_LIMITED:
    'rateLimit.maxCalls calls within the window, or maxConcurrent in flight: no call is made (fails closed)',
  AI_BYPASSED:
    'an allow: a backtest with backtest: bypass, or a replay miss with onMiss: bypass; no model is asked',
  AI_REPLAY_MISS: 'a backtest replay found no recorded answer for the prompt',
  AI_UNAVAILABLE: 'a backtest with backtest: deny',
} as const;

export type AiGateCode = keyof typeof AI_GATE_CODES;

const FAILURE_CODES: Record<OllamaFailure, AiGateCode> = {
  timeout: 'AI_TIMEOUT',
  unreachable: 'AI_UNREACHABLE',
  http: 'AI_HTTP_ERROR',
  'model-error': 'AI_MODEL_ERROR',
  malformed: 'AI_MALFORMED_REPLY',
};

/** Where a decision came from, in the audit record. */
export type DecisionSource = 'model' | 'cache' | 'replay' | 'bypassed' | 'unavailable' | 'rate-limited';

/** A model call's outcome, shared by every proposal that asked the same question. */
type Answer =
  | {
      readonly ok: true;
      readonly reply: ModelReply;
      readonly status: number;
      readonly raw: string;
      readonly content: string;
      readonly latencyMs: number;
    }
  | {
      readonly ok: false;
      readonly code: AiGateCode;
      readonly message: string;
      readonly status?: number;
      readonly raw: string;
      readonly content?: string;
      readonly latencyMs: number;
    };

/** Cache entries kept at most; expired ones leave first. */
const CACHE_CAPACITY = 1_000;
/** Failed calls in a row before `health()` reports the gate unhealthy. */
const UNHEALTHY_AFTER = 3;
/** Longest rationale quoted in a decision message (the record keeps it whole). */
const MESSAGE_RATIONALE_LIMIT = 300;

function deepMap(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => deepMap(item, map));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, deepMap(item, map)]));
  return value;
}

function secretsOf(options: AiGateOptions): string[] {
  const secrets: string[] = [];
  if (options.apiKey) secrets.push(options.apiKey);
  for (const value of Object.values(options.headers ?? {})) {
    secrets.push(value);
    // `Bearer <token>`: a server may quote the token alone.
    const credential = value.trim().split(/\s+/).slice(1).join(' ');
    if (credential) secrets.push(credential);
  }
  return secrets;
}

function quote(text: string): string {
  return text.length > MESSAGE_RATIONALE_LIMIT ? `${text.slice(0, MESSAGE_RATIONALE_LIMIT)}…` : text;
}

/** Builds the gate; `aiGate.setup` is this with the options validated. */
export function createAiGate(context: SetupContext, options: AiGateOptions): RiskGate {
  const redact = createRedactor(secretsOf(options));
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const connection: OllamaConnection = {
    host: options.host,
    endpoint: options.endpoint,
    stream: options.stream,
    headers,
    maxResponseBytes: options.maxResponseBytes,
    timeoutMs: options.timeout,
    // The engine clock: real in paper and live, scaled in a replay at N× speed.
    sleep: (ms, signal) => context.clock.sleep(ms, signal),
  };
  const sizing = [...(options.sizing ?? [])].sort((a, b) => b.minConfidence - a.minConfidence);
  const recorded: RecordedAnswers | undefined =
    context.mode === 'backtest' && options.backtest === 'replay' && options.replay
      ? loadRecordedAnswers({
          database: options.replay.database,
          component: options.replay.component ?? context.id,
          ...(options.replay.runId === undefined ? {} : { runId: options.replay.runId }),
        })
      : undefined;

  const cache = new Map<string, { at: number; answer: Promise<Answer> }>();
  const calls: number[] = [];
  let inFlight = 0;
  let failuresInARow = 0;
  let lastFailure: string | undefined;

  const applies = (proposal: OrderProposal) => {
    if (proposal.riskReducing && !options.applyToReducing) return false;
    return options.strategies === undefined || options.strategies.includes(proposal.signal.strategyId);
  };

  /** The gate's verdict on the model's answer; the same live, from the cache and replayed. */
  const judge = (reply: ModelReply, proposal: OrderProposal, prefix: string): RiskDecision => {
    const summary = `${prefix}${options.model} answered ${reply.decision} with confidence ${reply.confidence}: ${quote(redact(reply.rationale))}`;
    if (reply.decision === 'deny') return deny('AI_REJECTED', summary);
    if (reply.confidence < options.minConfidence)
      return deny('AI_LOW_CONFIDENCE', `${summary} (minConfidence ${options.minConfidence})`);
    const tier = sizing.find((entry) => entry.minConfidence <= reply.confidence);
    if (tier && tier.multiplier < 1)
      return resize(
        proposal.quantity * tier.multiplier,
        'AI_RESIZED',
        `${summary} (sized × ${tier.multiplier} from confidence ${tier.minConfidence})`,
      );
    return allow('AI_CONFIRMED', summary);
  };

  const record = (
    base: Readonly<Record<string, unknown>>,
    source: DecisionSource,
    decision: RiskDecision,
    details: Readonly<Record<string, unknown>>,
  ) => {
    context.record(
      RECORD_KIND,
      deepMap(
        {
          ...base,
          source,
          ...details,
          decision: decision.action,
          code: decision.action === 'allow' ? (decision.code ?? null) : decision.code,
          message: decision.action === 'allow' ? (decision.message ?? null) : decision.message,
          ...(decision.action === 'resize' ? { resizedQuantity: decision.quantity } : {}),
        },
        redact,
      ) as Record<string, unknown>,
    );
  };

  const ask = (question: OllamaQuestion): Promise<Answer> => {
    const started = performance.now();
    inFlight += 1;
    return askOllama(question, connection)
      .then((result): Answer => {
        const latencyMs = Math.round(performance.now() - started);
        if (!result.ok)
          return {
            ok: false,
            code: FAILURE_CODES[result.failure],
            message: result.message,
            raw: result.raw,
            latencyMs,
            ...(result.status === undefined ? {} : { status: result.status }),
          };
        const parsed = parseModelReply(result.content);
        if (!parsed.ok)
          return {
            ok: false,
            code: 'AI_MALFORMED_REPLY',
            message: parsed.message,
            status: result.status,
            raw: result.raw,
            content: result.content,
            latencyMs,
          };
        return {
          ok: true,
          reply: parsed.reply,
          status: result.status,
          raw: result.raw,
          content: result.content,
          latencyMs,
        };
      })
      .then((answer) => {
        if (answer.ok) failuresInARow = 0;
        else {
          failuresInARow += 1;
          lastFailure = `${answer.code}: ${redact(answer.message)}`;
          context.logger.warn('ai-gate: the model call failed; the order is denied', {
            code: answer.code,
            message: redact(answer.message),
            model: options.model,
          });
        }
        return answer;
      })
      .finally(() => {
        inFlight -= 1;
      });
  };

  /** Turns an answer into the proposal's decision and records it. */
  const conclude = (
    answer: Answer,
    proposal: OrderProposal,
    base: Readonly<Record<string, unknown>>,
    source: 'model' | 'cache',
    started: number,
  ): RiskDecision => {
    const decision = answer.ok
      ? judge(answer.reply, proposal, source === 'cache' ? 'cached: ' : '')
      : deny(answer.code, `${options.model}: ${redact(answer.message)}`);
    record(base, source, decision, {
      status: answer.status ?? null,
      response: answer.raw,
      content: answer.content ?? null,
      reply: answer.ok ? answer.reply : null,
      confidence: answer.ok ? answer.reply.confidence : null,
      latencyMs: source === 'model' ? answer.latencyMs : Math.round(performance.now() - started),
      ...(answer.ok ? {} : { error: answer.message }),
    });
    return decision;
  };

  const backtestDecision = (
    proposal: OrderProposal,
    hash: string,
    base: Readonly<Record<string, unknown>>,
  ): RiskDecision => {
    if (options.backtest === 'deny') {
      const decision = deny('AI_UNAVAILABLE', 'a backtest does not ask the model (backtest: deny)');
      record(base, 'unavailable', decision, {});
      return decision;
    }
    const reply = recorded?.next(hash);
    if (reply) {
      const decision = judge(reply, proposal, 'replayed: ');
      record(base, 'replay', decision, { reply, confidence: reply.confidence });
      return decision;
    }
    if (options.backtest === 'replay' && options.replay?.onMiss !== 'bypass') {
      const decision = deny(
        'AI_REPLAY_MISS',
        `no recorded answer for this prompt (hash ${hash.slice(0, 12)}) in ${options.replay?.database}`,
      );
      record(base, 'replay', decision, { reply: null, confidence: null });
      return decision;
    }
    const decision = allow(
      'AI_BYPASSED',
      options.backtest === 'replay'
        ? `no recorded answer for this prompt (hash ${hash.slice(0, 12)}); onMiss: bypass`
        : 'a backtest does not ask the model (backtest: bypass)',
    );
    record(base, 'bypassed', decision, {});
    return decision;
  };

  const pruneCache = (now: number) => {
    for (const [key, entry] of cache) {
      if (now - entry.at <= options.cacheFor && cache.size <= CACHE_CAPACITY) break;
      cache.delete(key);
    }
  };

  return {
    name: 'ai-gate',
    evaluate(proposal: OrderProposal, state: StateView): RiskDecision | Promise<RiskDecision> {
      if (!applies(proposal)) return allow();
      const started = performance.now();
      const values = promptValues(proposal, state);
      const system = renderTemplate(options.system, values);
      const prompt = renderTemplate(options.prompt, values);
      const hash = promptHash(options.model, system, prompt);
      const base = {
        signalId: proposal.signal.id,
        proposalId: proposal.id,
        strategyId: proposal.signal.strategyId,
        exchange: proposal.exchange,
        symbol: proposal.request.symbol,
        side: proposal.request.side,
        quantity: proposal.request.quantity,
        model: options.model,
        host: options.host,
        endpoint: options.endpoint,
        stream: options.stream,
        temperature: options.temperature,
        promptHash: hash,
        system,
        prompt,
      };
      if (context.mode === 'backtest') return backtestDecision(proposal, hash, base);

      const now = context.clock.now();
      pruneCache(now);
      const cached = cache.get(hash);
      if (cached && now - cached.at <= options.cacheFor)
        return cached.answer.then((answer) => conclude(answer, proposal, base, 'cache', started));

      while (calls.length > 0 && now - (calls[0] as number) >= options.rateLimit.window) calls.shift();
      const limited =
        calls.length >= options.rateLimit.maxCalls
          ? `${calls.length} calls within the last ${options.rateLimit.window} ms (maxCalls ${options.rateLimit.maxCalls})`
          : inFlight >= options.rateLimit.maxConcurrent
            ? `${inFlight} calls in flight (maxConcurrent ${options.rateLimit.maxConcurrent})`
            : undefined;
      if (limited) {
        const decision = deny('AI_RATE_LIMITED', `not asking ${options.model}: ${limited}`);
        record(base, 'rate-limited', decision, {});
        return decision;
      }
      calls.push(now);
      const answer = ask({
        model: options.model,
        system,
        prompt,
        format: options.format === 'schema' ? MODEL_REPLY_JSON_SCHEMA : 'json',
        temperature: options.temperature,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
      });
      if (options.cacheFor > 0) {
        cache.delete(hash); // re-inserted at the end: the map stays in time order for pruning
        cache.set(hash, { at: now, answer });
        // Only answers are cached: the next identical question after a failure asks again.
        void answer.then((settled) => {
          if (!settled.ok && cache.get(hash)?.answer === answer) cache.delete(hash);
        });
      }
      return answer.then((settled) => conclude(settled, proposal, base, 'model', started));
    },
    health(): HealthStatus {
      if (context.mode === 'backtest') return { ok: true, message: `backtest: ${options.backtest}` };
      if (failuresInARow >= UNHEALTHY_AFTER)
        return { ok: false, message: `${failuresInARow} model calls failed in a row; last ${lastFailure}` };
      return { ok: true };
    },
  };
}

/**
 * A local LLM (Ollama) confirms or rejects each proposed entry with a confidence. The proposal is
 * parked while the model thinks (the cycle goes on); a timeout, an unreachable host, an HTTP error
 * or a malformed answer denies it. Every decision is recorded in the audit log.
 */
export const aiGate = defineRiskGate({
  meta: {
    name: 'ai-gate',
    kind: 'risk-gate',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'LLM (Ollama) confirmation of entries, fail-closed, audited',
  },
  options: aiGateOptions,
  setup: createAiGate,
});
