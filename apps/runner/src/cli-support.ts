import { isPerpkitError } from '@perpkit/core';
import { type CliIo, EXIT } from './io';

export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean);
}

export class UsageError extends Error {}

/** Runs an argument parse, turning its errors into usage errors. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Prints an error the way an operator wants to read it: the message, the code, no stack. */
export function report(io: CliIo, error: unknown): number {
  if (error instanceof UsageError) {
    io.stderr.write(`runner: ${error.message}\nRun "runner --help" for usage.\n`);
    return EXIT.usage;
  }
  if (isPerpkitError(error)) {
    io.stderr.write(`runner: ${error.message}\n  [${error.code}]\n`);
    const usage = [
      'CONFIG_INVALID',
      'CONFIG_NOT_FOUND',
      'CONFIG_ENV_MISSING',
      'PLUGIN_NOT_FOUND',
      'PLUGIN_INVALID',
      'PLUGIN_INCOMPATIBLE',
      'LIVE_NOT_CONFIRMED',
    ];
    return usage.includes(error.code) ? EXIT.usage : EXIT.failure;
  }
  io.stderr.write(
    `runner: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return EXIT.failure;
}
