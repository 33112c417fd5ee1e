import { aiGate } from './gate';

export { AI_GATE_CODES, type AiGateCode, aiGate, createAiGate, type DecisionSource } from './gate';
export {
  askOllama,
  type OllamaConnection,
  type OllamaFailure,
  type OllamaQuestion,
  type OllamaResult,
  requestBody,
} from './ollama-client';
export { type AiGateOptions, aiGateOptions } from './options';
export {
  DEFAULT_PROMPT_TEMPLATE,
  DEFAULT_SYSTEM_PROMPT,
  PROMPT_VARIABLES,
  type PromptVariable,
  promptHash,
  promptValues,
  renderTemplate,
} from './prompt';
export { REDACTED } from './redact';
export { loadRecordedAnswers, RECORD_KIND, RecordedAnswers, type ReplaySource } from './replay';
export { MODEL_REPLY_JSON_SCHEMA, type ModelReply, modelReplySchema, parseModelReply } from './reply';

export default aiGate;
