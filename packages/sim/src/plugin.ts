import { defineExchange } from '@perpkit/core';
import { simOptionsSchema } from './options';
import { SimExchange } from './sim-exchange';

/**
 * The `sim` exchange plugin: a `SimExchange` built from validated options. In backtests the
 * backtest runner feeds it data; in paper mode a market-data source does.
 */
export default defineExchange({
  meta: {
    name: 'sim',
    kind: 'exchange',
    core: '^0.1.0',
    version: '0.1.0',
    description: 'The simulated venue (fills, margin, funding, liquidation)',
  },
  options: simOptionsSchema,
  create(context, options) {
    return new SimExchange(options, { id: context.id, clock: context.clock });
  },
});
