import { defineExchange } from '@perpkit/core';
import { x10OptionsSchema } from './options';
import { X10Exchange } from './x10-exchange';

/**
 * The `x10` exchange plugin (Extended, formerly X10). Secrets (API keys, Stark private keys) come
 * only through options; the runner fills them from `${ENV}` references. Importing does nothing.
 */
export default defineExchange({
  meta: {
    name: 'x10',
    kind: 'exchange',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Extended (formerly X10) perpetuals: REST, WebSocket streams and Stark-signed orders',
  },
  options: x10OptionsSchema,
  create(context, options) {
    return new X10Exchange(options, { id: context.id, clock: context.clock });
  },
});
