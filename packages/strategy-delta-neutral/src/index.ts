import { defineStrategy } from '@perpkit/core';
import { createFundingStrategy } from './funding';
import { type DeltaNeutralOptions, deltaNeutralOptions } from './options';
import { createPairedStrategy } from './paired';

export * from './book';
export * from './delta';
export * from './hedging';
export * from './options';
export { createFundingStrategy, createPairedStrategy };

/**
 * Strategy `delta-neutral`, in two shapes chosen by `mode`:
 * - `paired`: two accounts on one venue hold opposite positions in one market (see `createPairedStrategy`);
 * - `funding`: a funding-collecting short with long hedges in other accounts or venues (see `createFundingStrategy`).
 */
export default defineStrategy<DeltaNeutralOptions>({
  meta: {
    name: 'delta-neutral',
    kind: 'strategy',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Paired accounts or a funding short with its hedge, kept near zero net delta',
  },
  options: deltaNeutralOptions,
  setup(context, options) {
    return options.mode === 'paired'
      ? createPairedStrategy(context, options)
      : createFundingStrategy(context, options);
  },
});
