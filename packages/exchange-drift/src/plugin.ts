import { defineExchange } from '@perpkit/core';
import { DriftExchange } from './exchange';
import { driftOptionsSchema } from './options';

/**
 * The `drift` exchange plugin. Importing it does nothing: the RPC is contacted on `connect()`. The
 * key comes only from the options, which the runner fills from the environment
 * (`secretKey: ${DRIFT_SECRET_KEY}`).
 */
export default defineExchange({
  meta: {
    name: 'drift',
    kind: 'exchange',
    core: '^0.1.0',
    version: '0.1.0',
    description:
      'Drift Protocol v2 perpetuals on Solana: polled accounts, guarded trading, RPC or Jito senders',
  },
  options: driftOptionsSchema,
  create(context, options) {
    return new DriftExchange(options, { id: context.id, logger: context.logger });
  },
});
