// checkWorker: the end-to-end round trip `opsflow doctor` uses to prove a worker really runs
// workflows and activities on the task queue (not just that something is polling it).
import type { Activities } from '../../activities';
import { StatusTracker } from './status';
import { summarizedActivities } from './summarized-activities';

const { describeWorker } = summarizedActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

export async function checkWorker(): Promise<Awaited<ReturnType<typeof describeWorker>>> {
  const status = new StatusTracker('checkWorker', ['describe worker']);
  status.step('describe worker');
  const worker = await describeWorker();
  status.finish('done');
  return worker;
}
