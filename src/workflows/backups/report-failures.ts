// How a backup run ends, its `report` step: done when nothing failed; otherwise one notice to the
// policy's webhook naming every failure (each said once), then the run fails with BackupsFailed
// and its result in the details, visibly in the Web UI. Database runs (runBackups) and cluster
// runs (backupCluster) end the same way.
import { saidOnce } from '../../messages/said-once';
import type { BackupPolicy } from '../../specs/backup-policy';
import { failure, STEP_FAILURE } from '../shared/failures';
import { describeError } from '../shared/saga';
import type { StatusTracker } from '../shared/status';

export async function endBackupRun<R extends { failures: string[]; notified: boolean }>(input: {
  policy: Pick<BackupPolicy, 'name' | 'notify'>;
  /** The notice's first line, made only when something failed. */
  headline: () => string;
  /** What failed, for the run's reason: `backups of stack-b-nightly`. */
  what: string;
  result: R;
  status: StatusTracker;
  postFailureNotice: (input: { policy: Pick<BackupPolicy, 'name' | 'notify'>; text: string }) => Promise<{ sent: boolean }>;
}): Promise<R> {
  const { policy, result, status } = input;
  status.step('report');
  if (result.failures.length === 0) {
    status.finish('done');
    return result;
  }
  const text = `${input.headline()}\n${saidOnce(result.failures)
    .map((f) => `• ${f}`)
    .join('\n')}`;
  let noticeProblem = '';
  if (policy.notify) {
    try {
      result.notified = (await input.postFailureNotice({ policy, text })).sent;
    } catch (err) {
      noticeProblem = `; the failure notice could not be posted either: ${describeError(err)}`;
    }
  }
  const reason = `${input.what} failed: ${saidOnce(result.failures).join('; ')}${noticeProblem}`;
  status.failed(reason, { stepFailed: false });
  throw failure(STEP_FAILURE.BackupsFailed, reason, {
    details: [result],
  });
}
