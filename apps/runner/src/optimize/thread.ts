// Entry of the optimizer's worker threads (built as dist/optimize-thread.js).
import { serveTasks } from '@perpkit/optimizer';
import { evaluateTrial, PreparedStudies, type ThreadTask } from './trial';

const studies = new PreparedStudies();

serveTasks<ThreadTask, Awaited<ReturnType<typeof evaluateTrial>>>(async (message) => {
  const prepared = await studies.get(message.study);
  return evaluateTrial(prepared, message.columns, message.task);
});
