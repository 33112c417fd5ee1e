export * from './analysis';
export { serveTasks, TaskError, type TaskFailure, WorkerPool, type WorkerPoolOptions } from './pool';
export {
  DEFAULT_QUEUE_NAME,
  type QueuedResult,
  QueueExecutor,
  type QueueSettings,
  type QueueWorkerOptions,
  redactUrl,
  startQueueWorker,
} from './queue';
export { type StudyInfo, type StudyRow, StudyStore, type TrialRecord } from './store';
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
