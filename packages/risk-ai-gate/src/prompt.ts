import { createHash } from 'node:crypto';
import type { OrderProposal, StateView } from '@perpkit/core';

/** The system message: the model's role and the exact answer format the gate parses. */
export const DEFAULT_SYSTEM_PROMPT = `You are the risk filter of a perpetual-futures trading bot. A rule-based strategy proposes an order; you confirm or reject it.
Judge only from the facts given. Reject when the reasons do not support the trade, when the features contradict them, or when the account cannot afford the risk.
Answer with one JSON object and nothing else:
{"decision": "allow" or "deny", "confidence": a number from 0 to 1, "rationale": "one or two sentences"}`;

/** The user message, rendered for each proposal. `{{name}}` placeholders are listed in `PROMPT_VARIABLES`. */
export const DEFAULT_PROMPT_TEMPLATE = `Strategy {{strategy}} proposes to {{intent}}: {{side}} {{quantity}} {{symbol}} on {{exchange}}, {{orderType}} order, notional {{notional}} at {{price}}.
Regime: {{regime}}

Reasons:
{{reasons}}

Features:
{{features}}

Account:
{{account}}

Position in {{symbol}} before the order: {{position}}
Trading phase: {{phase}}

Should this order go out?`;

/** What a template may use, and what each renders to. */
export const PROMPT_VARIABLES = {
  strategy: 'the strategy instance id',
  intent: 'open, close, reduce or rebalance',
  side: 'buy or sell',
  quantity: 'the order quantity, exact as it would be sent',
  symbol: 'the instrument',
  exchange: 'the exchange id',
  orderType: 'market, limit, ...',
  price: 'the reference price (the limit price, else the mark or last price)',
  notional: 'quantity × price, 2 decimals',
  regime: "the signal's regime label, or (none)",
  reasons: 'one line per reason: "- CODE: message"',
  features: 'one line per feature, sorted by name: "- name: value", or (none)',
  account:
    'equity, free collateral, margin used, leverage, health ratio and open positions of the account, or (no account data)',
  position: 'the signed position before the order: flat, long 0.5, short 0.5',
  phase: 'the trading phase: active, reducing or halted',
} as const;

export type PromptVariable = keyof typeof PROMPT_VARIABLES;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

/** Placeholders a template uses that the gate does not know. */
export function unknownPlaceholders(template: string): string[] {
  const unknown = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] as string;
    if (!(name in PROMPT_VARIABLES)) unknown.add(name);
  }
  return [...unknown];
}

export function renderTemplate(template: string, values: Readonly<Record<PromptVariable, string>>): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => values[name as PromptVariable]);
}

const money = (value: number) => value.toFixed(2);

function describePosition(quantity: number): string {
  if (quantity === 0) return 'flat';
  return `${quantity > 0 ? 'long' : 'short'} ${Math.abs(quantity)}`;
}

/**
 * The values a template renders, from the proposal and the engine state. Everything is derived
 * from market and account facts, never from ids or wall time, so the same situation renders the
 * same prompt: that is what makes caching and backtest replay by prompt hash possible.
 */
export function promptValues(proposal: OrderProposal, state: StateView): Record<PromptVariable, string> {
  const { signal, request } = proposal;
  const features = Object.entries(signal.features ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const account = state.account(proposal.exchange, request.account);
  let accountText = '(no account data)';
  if (account) {
    const positions = account.positions
      .filter((position) => position.quantity !== 0)
      .map(
        (position) =>
          `  - ${position.symbol} ${describePosition(position.quantity)} entry ${position.entryPrice} unrealized PnL ${money(position.unrealizedPnl)}`,
      );
    accountText = [
      `- equity: ${money(account.equity)}`,
      `- free collateral: ${money(account.freeCollateral)}`,
      `- margin used: ${money(account.marginUsed)}`,
      `- leverage: ${account.leverage.toFixed(2)}`,
      `- health ratio: ${account.healthRatio.toFixed(3)}`,
      positions.length === 0 ? '- open positions: none' : `- open positions:\n${positions.join('\n')}`,
    ].join('\n');
  }
  return {
    strategy: signal.strategyId,
    intent: signal.intent,
    side: request.side,
    quantity: request.quantity,
    symbol: request.symbol,
    exchange: proposal.exchange,
    orderType: request.type,
    price: String(proposal.referencePrice),
    notional: money(proposal.notional),
    regime: signal.regime ?? '(none)',
    reasons:
      signal.reasons.length === 0
        ? '(none)'
        : signal.reasons.map((entry) => `- ${entry.code}: ${entry.message}`).join('\n'),
    features:
      features.length === 0 ? '(none)' : features.map(([name, value]) => `- ${name}: ${value}`).join('\n'),
    account: accountText,
    position: describePosition(proposal.positionBefore),
    phase: state.phase,
  };
}

/**
 * Identifies a question: the model, the system message and the rendered prompt. Identical
 * questions share cached answers, and a backtest finds recorded answers by it.
 */
export function promptHash(model: string, system: string, prompt: string): string {
  return createHash('sha256')
    .update(JSON.stringify([model, system, prompt]))
    .digest('hex');
}
