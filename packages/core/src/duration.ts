import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `250`, `'250ms'`, `'5s'`, `'1m'`, `'2h'`, `'1d'` → milliseconds. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (UNITS[match[2] ?? 'ms'] as number);
}

/** A zod schema for durations in options: a number of ms or a string with a unit. */
export const duration = z.union([z.number(), z.string()]).transform((value, context) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    context.addIssue({
      code: 'custom',
      message: `not a duration: ${JSON.stringify(value)} (use ms, or a string like "500ms", "5s", "1m", "2h")`,
    });
    return z.NEVER;
  }
  return ms;
});
