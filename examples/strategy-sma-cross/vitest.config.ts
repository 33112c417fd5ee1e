import { defineConfig } from 'vitest/config';

// An outside package: no source conditions, so tests run against the built @perpkit/* packages.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000 } });
