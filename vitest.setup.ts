import fc from 'fast-check';

// Property tests are deterministic in CI: a fixed seed, overridable to explore (FC_SEED=123 pnpm test).
fc.configureGlobal({
  seed: Number(process.env.FC_SEED ?? 20_261_121),
  numRuns: Number(process.env.FC_RUNS ?? 100),
});
