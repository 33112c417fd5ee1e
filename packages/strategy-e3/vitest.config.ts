import { packageTestConfig } from '../../vitest.shared.ts';

// Replays of real data: generous under a loaded CI machine (timing claims live in the benchmark).
export default packageTestConfig({ testTimeout: 60_000 });
