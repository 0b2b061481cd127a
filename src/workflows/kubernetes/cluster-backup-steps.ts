// What the cluster backup workflows share: the policy check at their start (the same schema as the
// client), and the cluster backup activities on the provider's queue, where the kubeconfig is
// fetched. Exports and restores heartbeat; listing and deleting are short.
import type { ClusterBackupActivities } from '../../activities/kubernetes/cluster-backup';
import { DEFAULT_PROVIDER } from '../../providers/cloud-provider';
import { parseClusterBackupPolicy, type ClusterBackupPolicy } from '../../specs/cluster-backup-policy';
import { providerTaskQueue } from '../../temporal/task-queues';
import { BACKUP_RETRY, LONG_STEP, SHORT_RETRY, SHORT_STEP, type RetryTuning } from '../backups/backup-steps';
import { summarizedActivities } from '../shared/summarized-activities';
import { validated } from '../shared/validated';

export function validatedClusterPolicy(policy: ClusterBackupPolicy): ClusterBackupPolicy {
  return validated('spec', parseClusterBackupPolicy, policy);
}

export function clusterBackupActivities(tuning: RetryTuning = {}) {
  const taskQueue = providerTaskQueue(DEFAULT_PROVIDER);
  const tuned = {
    ...(tuning.maximumAttempts ? { maximumAttempts: tuning.maximumAttempts } : {}),
    ...(tuning.initialInterval ? { initialInterval: tuning.initialInterval as typeof BACKUP_RETRY.initialInterval } : {}),
  };
  return {
    long: summarizedActivities<ClusterBackupActivities>({ ...LONG_STEP, taskQueue, retry: { ...BACKUP_RETRY, ...tuned } }),
    short: summarizedActivities<ClusterBackupActivities>({ ...SHORT_STEP, taskQueue, retry: { ...SHORT_RETRY, ...tuned } }),
  };
}
