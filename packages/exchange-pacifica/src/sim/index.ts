export { bookAround, candleReplay, type PriceFeed, randomWalk, readCandleCsv } from './price-feed';
export {
  PacificaSimulator,
  type PacificaSimulatorOptions,
  type PacificaSimulatorOptionsInput,
  pacificaSimulatorOptionsSchema,
} from './server';
