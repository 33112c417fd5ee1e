import { defineExchange } from '@perpkit/core';
import { PacificaExchange } from './exchange';
import { pacificaOptionsSchema } from './options';

/**
 * The `pacifica` exchange plugin. Importing it does nothing: sockets open on `connect()`. Keys come
 * only from the options, which the runner fills from the environment (`${PACIFICA_...}`).
 */
export default defineExchange({
  meta: {
    name: 'pacifica',
    kind: 'exchange',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'Pacifica perpetuals: signed REST orders, WebSocket streams, several accounts',
  },
  options: pacificaOptionsSchema,
  create(context, options) {
    return new PacificaExchange(options, { id: context.id, logger: context.logger });
  },
});
