import { packageTestConfig } from '../../vitest.shared.ts';

// Real backtests and a Redis server run in some tests: generous under a loaded CI machine
// (timing claims live in the benchmark).
export default packageTestConfig({ testTimeout: 120_000 });
