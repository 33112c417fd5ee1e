export * from './options';
export { default as simExchange, default } from './plugin';
export { createRandom } from './random';
export type { AccountTotals, SimState } from './sim-exchange';
export { SimExchange } from './sim-exchange';
export { slippageFraction, slippedPrice } from './slippage';
