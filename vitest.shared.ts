import { defineConfig } from 'vitest/config';

/**
 * Inside the monorepo, tests resolve sibling packages to their TypeScript sources through the
 * `@perpkit/source` export condition, so a change in core is seen by every test without a rebuild.
 * Published consumers never set that condition and get `dist/`.
 */
export function packageTestConfig(overrides: { testTimeout?: number; include?: string[] } = {}) {
  return defineConfig({
    resolve: { conditions: ['@perpkit/source', 'module', 'node', 'import', 'default'] },
    ssr: { resolve: { conditions: ['@perpkit/source', 'module', 'node', 'import', 'default'] } },
    test: {
      setupFiles: [new URL('./vitest.setup.ts', import.meta.url).pathname],
      include: overrides.include ?? ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 20_000,
      pool: 'forks',
    },
  });
}
