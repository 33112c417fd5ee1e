import type { Options } from 'tsup';

/** Shared build settings: ESM + CJS + declarations for every publishable package. */
export function packageBuild(
  entry: Record<string, string> | string[],
  overrides: Partial<Options> = {},
): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}
