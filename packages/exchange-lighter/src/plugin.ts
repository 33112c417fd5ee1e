import { defineExchange } from '@perpkit/core';
import { LighterExchange } from './lighter-exchange';
import { lighterOptionsSchema } from './options';

/**
 * The `lighter` exchange plugin. Secrets (API private keys) arrive only through the validated
 * options the host passes in; the plugin never reads the environment.
 */
export default defineExchange({
  meta: {
    name: 'lighter',
    kind: 'exchange',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Lighter perpetuals (zkLighter): REST + WebSocket, TypeScript Schnorr/Poseidon2 signer',
  },
  options: lighterOptionsSchema,
  create(context, options) {
    return new LighterExchange(options, { id: context.id, clock: context.clock, logger: context.logger });
  },
});
