export { StrictAccountLoader } from './account-loader';
export {
  type AccountView,
  accountView,
  healthRatio,
  type MarketRef,
  type PositionState,
} from './account-view';
export * from './address';
export { DriftCoder } from './coder';
export * from './decode';
export { associatedTokenAccount, DriftExchange, type TradingHold } from './exchange';
export { parseSecretKey } from './keys';
export * from './options';
export { default, default as driftExchange } from './plugin';
export * from './precision';
export * from './tx-sender';
