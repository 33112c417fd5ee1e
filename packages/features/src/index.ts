export {
  FEATURE_HUB_KEY,
  type FeatureCounters,
  FeatureHub,
  FeatureView,
  featureHub,
  IndicatorView,
} from './hub';
export {
  AverageTrueRange,
  type BarIndicator,
  RealizedVolatility,
  trueRange,
  VolumeZScore,
} from './indicators';
export { FeaturePipeline } from './pipeline';
export { bookImbalance, premiumPercent, spreadBps } from './quotes';
export {
  decideRegime,
  REGIMES,
  type Regime,
  RegimeClassifier,
  type RegimeDecision,
  type RegimePolicy,
  type RegimeReading,
  type RegimeRule,
  regimePolicySchema,
} from './regime';
export { NumberRing, RollingMoments, type WindowMoments } from './rolling';
export {
  defaultFeatureSettings,
  FEATURE_NAMES,
  type FeatureName,
  type FeatureSettings,
  type FeatureSnapshot,
  featureSettingsSchema,
  featureValues,
} from './settings';
export { type BarFeatures, buildSnapshot, type QuoteFeatures, quoteFeatures } from './snapshot';
