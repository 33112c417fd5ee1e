import { defineConfig } from 'vitest/config';

/**
 * The shared test config (`vitest.shared.ts`) plus its resolve conditions minus `module` and
 * `import`: Vitest hands those conditions to Node (`--conditions`), and with `import` set, the
 * `require()` calls inside `@drift-labs/sdk` (CommonJS) resolve dual packages to their ES builds,
 * some of which do not load in Node (`@metaplex-foundation/beet-solana`). `module` would also pick
 * the SDK's browser build. Node adds `import` or `require` itself, as each call needs.
 */
const conditions = ['@perpkit/source', 'node', 'default'];

export default defineConfig({
  resolve: { conditions, mainFields: ['main'] },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    setupFiles: [new URL('../../vitest.setup.ts', import.meta.url).pathname],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Perpkit packages are TypeScript sources here (the source condition): Vite transforms them,
    // also when the runner test loads this package through a bot directory's node_modules.
    server: { deps: { inline: [/@perpkit\//, /packages\/exchange-drift\/src/] } },
  },
});
