// What the backup workflows share: how they call backup activities (timeouts, retries), the
// policy check at workflow start, and the pure comparison of restored tables with a manifest.
import { type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { BackupActivities } from '../../activities/backups/backup-steps';
import { DEFAULT_PROVIDER, type ProviderId } from '../../providers/cloud-provider';
import type { SnapshotActivities } from '../../providers/snapshots';
import type { TableStats } from '../../backups/keys';
import { parseBackupPolicy, type BackupPolicy } from '../../specs/backup-policy';
import { validated } from '../shared/validated';
import { providerTaskQueue } from '../../temporal/task-queues';
import { summarizedActivities } from '../shared/summarized-activities';

/** Dumps and restores run as long as the database needs; a 5 s keep-alive heartbeat proves the worker lives. */
export const LONG_STEP: ActivityOptions = { startToCloseTimeout: '24 hours', heartbeatTimeout: '1 minute' };
/** Listing, reading a manifest, deleting, posting a notice. */
export const SHORT_STEP: ActivityOptions = { startToCloseTimeout: '10 minutes', heartbeatTimeout: '1 minute' };

export const BACKUP_RETRY: RetryPolicy = {
  initialInterval: '30s',
  backoffCoefficient: 2,
  maximumInterval: '10 minutes',
  maximumAttempts: 5,
};
export const SHORT_RETRY: RetryPolicy = { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6 };

/** Optional tuning of the retry of each backup step (tests shorten it; schedules leave it out). */
export interface RetryTuning {
  maximumAttempts?: number;
  initialInterval?: string;
}

/** `provider`: whose snapshots a policy takes (policies name no cloud yet: the default provider's). */
export function backupActivities(tuning: RetryTuning = {}, provider: ProviderId = DEFAULT_PROVIDER) {
  const retry: RetryPolicy = {
    ...BACKUP_RETRY,
    ...(tuning.maximumAttempts ? { maximumAttempts: tuning.maximumAttempts } : {}),
    ...(tuning.initialInterval ? { initialInterval: tuning.initialInterval as RetryPolicy['initialInterval'] } : {}),
  };
  const shortRetry: RetryPolicy = {
    ...SHORT_RETRY,
    ...(tuning.initialInterval ? { initialInterval: tuning.initialInterval as RetryPolicy['initialInterval'] } : {}),
  };
  return {
    long: summarizedActivities<BackupActivities>({ ...LONG_STEP, retry }),
    short: summarizedActivities<BackupActivities>({ ...SHORT_STEP, retry: shortRetry }),
    // Snapshots are provider API calls: on its rate-limited queue, heartbeating while they wait.
    // A worker that serves no provider queue must not leave a run waiting for ever.
    snapshots: summarizedActivities<SnapshotActivities>({
      taskQueue: providerTaskQueue(provider),
      scheduleToCloseTimeout: '12 hours',
      startToCloseTimeout: '6 hours',
      heartbeatTimeout: '1 minute',
      retry,
    }),
    snapshotListing: summarizedActivities<SnapshotActivities>({
      taskQueue: providerTaskQueue(provider),
      scheduleToCloseTimeout: '1 hour',
      ...SHORT_STEP,
      retry: shortRetry,
    }),
  };
}

/** Rule 7: the same schema again at workflow start; a bad policy fails before any side effect. */
export function validatedPolicy(policy: BackupPolicy): BackupPolicy {
  return validated('spec', parseBackupPolicy, policy);
}

/** Every difference between the tables a dump recorded and those a restore produced, in words. */
export function compareTables(recorded: TableStats[], restored: TableStats[]): string[] {
  const problems: string[] = [];
  const after = new Map(restored.map((t) => [t.table, t]));
  for (const t of recorded) {
    const r = after.get(t.table);
    if (!r) problems.push(`${t.table}: missing after restore`);
    else if (r.rows !== t.rows) problems.push(`${t.table}: ${r.rows} rows restored, ${t.rows} dumped`);
    else if (r.checksum !== t.checksum)
      problems.push(`${t.table}: content checksum differs (${r.checksum} restored, ${t.checksum} dumped)`);
    after.delete(t.table);
  }
  for (const extra of after.keys()) problems.push(`${extra}: restored but not in the manifest`);
  return problems;
}

export const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;
