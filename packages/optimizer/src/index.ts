export * from './analysis';
export { type TaskFailure, TaskError, serveTasks, WorkerPool, type WorkerPoolOptions } from './pool';
export {
  DEFAULT_QUEUE_NAME,
  type QueuedResult,
  QueueExecutor,
  type QueueSettings,
  type QueueWorkerOptions,
  redactUrl,
  startQueueWorker,
} from './queue';
export {
  recordOf,
  runSearch,
  runWalkForward,
  type SearchOptions,
  type TrialExecutor,
  type TrialResult,
  type TrialTask,
  type WalkForwardResult,
} from './study';
export { type StudyInfo, type StudyRow, StudyStore, type TrialRecord } from './store';
