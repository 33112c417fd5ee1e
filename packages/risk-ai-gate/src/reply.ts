import { z } from '@perpkit/core';

/**
 * The model's answer. Unknown fields are ignored; the three the gate reads must be there and
 * valid, or the reply is malformed and the gate fails closed.
 */
export const modelReplySchema = z.object({
  decision: z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(['allow', 'deny'])),
  confidence: z.number().min(0).max(1),
  rationale: z.string(),
});

export type ModelReply = z.infer<typeof modelReplySchema>;

/** The same shape as a JSON schema, sent as `format` with `format: schema` (structured outputs). */
export const MODEL_REPLY_JSON_SCHEMA = {
  type: 'object',
  properties: {
    decision: { type: 'string', enum: ['allow', 'deny'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    rationale: { type: 'string' },
  },
  required: ['decision', 'confidence', 'rationale'],
} as const;

export function parseModelReply(
  content: string,
): { ok: true; reply: ModelReply } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(content.trim());
  } catch {
    return { ok: false, message: 'the model did not answer with JSON' };
  }
  const parsed = modelReplySchema.safeParse(json);
  if (parsed.success) return { ok: true, reply: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'the answer';
  return { ok: false, message: `the model's answer does not fit: ${where}: ${issue?.message ?? 'invalid'}` };
}
