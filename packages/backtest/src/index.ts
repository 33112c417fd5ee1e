export type {
  BacktestInstrument,
  BacktestOptions,
  BacktestProgress,
  BacktestResult,
  BacktestSummary,
  BacktestVenue,
  FileInstrument,
  InMemoryCandles,
} from './backtest';
export { runBacktest } from './backtest';
export type { CandleColumns } from './candle-columns';
export { ColumnCandleSource, loadCandleColumns } from './candle-columns';
export type {
  CandleBatch,
  CandleField,
  CandleFormat,
  CandleSourceOptions,
  DataQualityReport,
  GapRange,
} from './candles';
export { CandleFile, createCandleBatch, intervalMs, loadAllCandles, resampleBatches } from './candles';
export type {
  FundingFormat,
  FundingPoint,
  FundingReport,
  FundingSeries,
  FundingSourceOptions,
} from './funding';
export { FundingFile, loadFunding } from './funding';
export * from './metrics';
export { resultJsonChunks, TradeSpool, writeResultJson } from './output';
export { htmlReportChunks, renderHtmlReport, writeHtmlReport } from './report';
export type { ProgressListener, TimeFormat } from './text';
export { parseIsoTime, parseTime, readJsonRowBatches, readLineBatches } from './text';
