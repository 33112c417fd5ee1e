export type { PairMarks, ReadbackTolerances } from './accounting';
export {
  applyFill,
  applyOrderReport,
  combinePnl,
  legFlows,
  legPnl,
  pairPnl,
  reconcileReadback,
} from './accounting';
export type { BookContext, PairSignalMetadata } from './book';
export { legKey, legPosition, PairBook } from './book';
export { bookMid, quantityWithin, walkBook } from './depth';
export type { EntryEvaluation, LegMarket } from './economics';
export { commonQuantity, evaluateEntry, feeRate, legCosts, legSlippage } from './economics';
export type { Alternative, ExitCode, LegView, PairExitRule, PairSubject } from './exits';
export {
  brokenHedgeRule,
  buildExitStack,
  EXIT_CODES,
  fundingFlipRule,
  hedgeRebalanceRule,
  liquidationRule,
  netEvRule,
  opportunityCostRule,
  takeProfitRule,
  velocityRule,
  zScoreRule,
} from './exits';
export { accrualStart, annualize, HOURS_PER_YEAR, hourlyRate, pairSpreadPerHour } from './funding';
export { OrientedHistory, SpreadHistory } from './history';
export type { FundingArbOptions, FundingArbOptionsInput } from './options';
export { fundingArbOptions } from './options';
export type { ExitEvaluationRecord, FundingArbStrategy } from './strategy';
export { default } from './strategy';
export type * from './types';
