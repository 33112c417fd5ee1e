import { duration, z } from '@perpkit/core';
import {
  DEFAULT_PROMPT_TEMPLATE,
  DEFAULT_SYSTEM_PROMPT,
  PROMPT_VARIABLES,
  unknownPlaceholders,
} from './prompt';

const host = z.string().superRefine((value, context) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    context.addIssue({ code: 'custom', message: `not a URL: ${JSON.stringify(value)}` });
    return;
  }
  if (url.search !== '' || url.hash !== '')
    context.addIssue({ code: 'custom', message: 'must be a base URL, without a query or fragment' });
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    context.addIssue({ code: 'custom', message: `must be an http or https URL (got ${url.protocol})` });
  // A URL is logged and recorded; credentials in it would be too.
  if (url.username !== '' || url.password !== '')
    context.addIssue({
      code: 'custom',
      message: 'must not carry credentials; put them in apiKey or headers, filled from the environment',
    });
});

const template = z
  .string()
  .min(1)
  .superRefine((value, context) => {
    const unknown = unknownPlaceholders(value);
    if (unknown.length > 0)
      context.addIssue({
        code: 'custom',
        message: `unknown placeholder(s) ${unknown.map((name) => `{{${name}}}`).join(', ')} (known: ${Object.keys(PROMPT_VARIABLES).join(', ')})`,
      });
  });

const sizingTier = z
  .object({
    /** From this confidence up (to the next tier)... */
    minConfidence: z.number().min(0).max(1),
    /** ...the order is sized by this factor. */
    multiplier: z.number().gt(0).max(1),
  })
  .strict();

export const aiGateOptions = z
  .object({
    /** The Ollama model, e.g. `qwen2.5:7b-instruct`. */
    model: z.string().min(1),
    /** The Ollama server. */
    host: host.default('http://127.0.0.1:11434'),
    endpoint: z.enum(['chat', 'generate']).default('chat'),
    /** Ask for an NDJSON stream (read whole before judging) or one JSON object. */
    stream: z.boolean().default(false),
    /** `json`: JSON mode; `schema`: the reply's JSON schema (structured outputs, Ollama 0.5+). */
    format: z.enum(['json', 'schema']).default('json'),
    temperature: z.number().min(0).max(2).default(0),
    seed: z.number().int().optional(),
    /** The most tokens the model may generate (`num_predict`). */
    maxTokens: z.number().int().positive().optional(),
    /** How long a proposal may wait for the model, on the engine clock; then it is denied. */
    timeout: duration.default(20_000),
    /** The system message. */
    system: template.default(DEFAULT_SYSTEM_PROMPT),
    /** The user message; `{{name}}` placeholders are filled per proposal. */
    prompt: template.default(DEFAULT_PROMPT_TEMPLATE),
    /** An allow below this confidence is denied. */
    minConfidence: z.number().min(0).max(1).default(0.6),
    /** Size the order by confidence; the tier with the highest minConfidence at or below it applies. */
    sizing: z.array(sizingTier).min(1).optional(),
    /** Identical prompts within this window get the same answer without a call (0: no cache). */
    cacheFor: duration.default(60_000),
    rateLimit: z
      .object({
        /** Model calls allowed per window (cached answers do not count). */
        maxCalls: z.number().int().positive().default(30),
        window: duration.default(60_000),
        /** Calls in flight at once. */
        maxConcurrent: z.number().int().positive().default(2),
      })
      .strict()
      .prefault({}),
    /** Sent as `Authorization: Bearer <apiKey>` (a remote Ollama). From the environment: `${OLLAMA_API_KEY}`. */
    apiKey: z.string().min(1).optional(),
    /** Extra request headers; every value is treated as a secret. */
    headers: z.record(z.string().min(1), z.string()).optional(),
    /** A larger response is cut off and counts as malformed. */
    maxResponseBytes: z.number().int().positive().default(1_048_576),
    /** Only these strategies' orders are asked about; all when left out. */
    strategies: z.array(z.string().min(1)).min(1).optional(),
    /** Ask about risk-reducing orders too (off: a close never waits for a model). */
    applyToReducing: z.boolean().default(false),
    /** In backtests: allow with `AI_BYPASSED`, replay recorded answers, or deny. */
    backtest: z.enum(['bypass', 'replay', 'deny']).default('bypass'),
    replay: z
      .object({
        /** The SQLite audit log of a paper or live run with this gate (read-only). */
        database: z.string().min(1),
        /** Only this run's answers; every run in the file when left out. */
        runId: z.string().min(1).optional(),
        /** The gate's id in that run; this gate's own id when left out. */
        component: z.string().min(1).optional(),
        /** A question nobody recorded an answer for: deny (`AI_REPLAY_MISS`) or allow (`AI_BYPASSED`). */
        onMiss: z.enum(['deny', 'bypass']).default('deny'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((options, context) => {
    if (options.backtest === 'replay' && options.replay === undefined)
      context.addIssue({
        code: 'custom',
        path: ['replay'],
        message: 'backtest: replay needs replay.database (the audit log of a run with this gate)',
      });
    if (options.sizing) {
      const lowest = Math.min(...options.sizing.map((tier) => tier.minConfidence));
      if (lowest > options.minConfidence)
        context.addIssue({
          code: 'custom',
          path: ['sizing'],
          message: `the tiers must cover every confidence from minConfidence ${options.minConfidence} up; the lowest starts at ${lowest}`,
        });
      const starts = options.sizing.map((tier) => tier.minConfidence);
      if (new Set(starts).size !== starts.length)
        context.addIssue({
          code: 'custom',
          path: ['sizing'],
          message: 'two tiers start at the same confidence',
        });
    }
  });

export type AiGateOptions = z.infer<typeof aiGateOptions>;
