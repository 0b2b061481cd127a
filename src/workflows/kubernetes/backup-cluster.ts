// backupCluster: one run of a cluster backup policy, as its Schedule starts it. Export the selected
// objects of the cluster (Velero's layout, ConfigMaps and Secrets encrypted) to Spaces, read the
// archive back to verify it lists what its manifest says, apply retention (every backup for
// keepDays, the newest of recent weeks and months, never fewer than the newest minVerified
// verified ones), and if anything failed post one notice naming it and fail, visibly.
import { patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ClusterBackupOutcome } from '../../activities/kubernetes/cluster-backup';
import type { ClusterVolumeSnapshots } from '../../activities/kubernetes/cluster-volume-snapshots';
import type { ClusterBackupPolicy } from '../../specs/cluster-backup-policy';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { backupActivities, type RetryTuning } from '../backups/backup-steps';
import { decideRetentionKeepingFloor } from '../backups/retention';
import { endBackupRun } from '../backups/report-failures';
import { endsInStatus } from '../shared/ends-in-status';
import { describeError } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { clusterBackupActivities, validatedClusterPolicy } from './cluster-backup-steps';

export interface BackupClusterInput {
  policy: ClusterBackupPolicy;
  /** Shorter retries for tests; schedules leave it out. */
  retry?: RetryTuning;
}

export interface BackupClusterResult {
  policy: string;
  takenAt: string;
  backup?: ClusterBackupOutcome;
  /** With volumeSnapshots: the DigitalOcean volume snapshots taken, and the claims skipped (why). */
  volumes?: ClusterVolumeSnapshots;
  verified?: boolean;
  retention?: { kept: number; removed: string[] };
  /** Volume snapshots kept and deleted (by name), per claim by the same retention rules. */
  snapshotRetention?: { kept: number; removed: string[] };
  failures: string[];
  notified: boolean;
}

const STEPS = ['validate policy', 'export', 'snapshot volumes', 'verify', 'apply retention', 'report'];

export async function backupCluster(input: BackupClusterInput): Promise<BackupClusterResult> {
  const status = new StatusTracker('backupCluster', STEPS);
  return endsInStatus(status, () => backUp(input, status));
}

async function backUp(input: BackupClusterInput, status: StatusTracker): Promise<BackupClusterResult> {
  status.step('validate policy');
  const policy = validatedClusterPolicy(input.policy);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: policy.environment },
    { key: OpsOperation, value: 'backup' },
  ]);
  const { long, short } = clusterBackupActivities(input.retry);
  // The key carries the run's start time: a retried export writes the same key.
  const takenAt = workflowInfo().runStartTime.toISOString();
  const result: BackupClusterResult = { policy: policy.name, takenAt, failures: [], notified: false };

  status.step('export');
  try {
    result.backup = await long.exportClusterBackup({ policy, takenAt });
    status.recordResource({ kind: 'backup', id: result.backup.key, name: `cluster ${policy.cluster}` });
  } catch (err) {
    status.failCurrent(describeError(err));
    result.failures.push(`export: ${describeError(err)}`);
  }

  // Policies recorded before volume snapshots parse with it off: their runs schedule what they did.
  if (policy.volumeSnapshots) {
    status.step('snapshot volumes');
    try {
      result.volumes = await long.snapshotClusterVolumes({ policy, takenAt });
      for (const v of result.volumes.taken) status.recordResource({ kind: 'volume_snapshot', id: v.snapshotId, name: v.name });
    } catch (err) {
      status.failCurrent(describeError(err));
      result.failures.push(`volume snapshots: ${describeError(err)}`);
    }
  }

  if (result.backup && policy.verify.archive) {
    status.step('verify');
    try {
      await long.verifyClusterBackup({ policy, key: result.backup.key });
      result.verified = true;
    } catch (err) {
      result.verified = false;
      status.failCurrent(describeError(err));
      result.failures.push(`verification failed: ${describeError(err)}`);
    }
  }

  status.step('apply retention');
  try {
    const listed = await short.listClusterBackups({ policy });
    const decision = decideRetentionKeepingFloor(listed, policy.retention, new Date());
    for (let i = 0; i < decision.remove.length; i += 200)
      await short.deleteClusterBackups({ policy, keys: decision.remove.slice(i, i + 200) });
    result.retention = { kept: decision.keep.length, removed: decision.remove };
  } catch (err) {
    status.failCurrent(describeError(err));
    result.failures.push(`retention: ${describeError(err)}`);
  }
  // The same rules per claim over its volume snapshots (runs recorded before this listed none).
  const claims = (result.volumes?.taken ?? []).map((v) => `${v.namespace}-${v.claim}`);
  if (claims.length && patched('cluster-volume-snapshot-retention')) {
    try {
      result.snapshotRetention = await volumeSnapshotRetention(policy, claims, input.retry);
    } catch (err) {
      status.failCurrent(describeError(err));
      result.failures.push(`volume snapshot retention: ${describeError(err)}`);
    }
  }

  return endBackupRun({
    policy,
    headline: () => `opsflow: cluster backup ${policy.name} of ${policy.cluster} failed (run ${workflowInfo().workflowId})`,
    what: `cluster backup ${policy.name}`,
    result,
    status,
    // The database backups' notice step: it needs only the webhook reference, resolved on the worker.
    postFailureNotice: backupActivities(input.retry).short.postFailureNotice,
  });
}

/**
 * Retention over the volume snapshots of the claims snapshotted this run: found by their names
 * (a claim gone since keeps its snapshots: nothing deletes what no run names), each counted as
 * verified (the API lists a snapshot only whole), so the newest minVerified always stay.
 */
async function volumeSnapshotRetention(policy: ClusterBackupPolicy, claims: string[], retry?: RetryTuning) {
  const { snapshotListing } = backupActivities(retry);
  const listed = await snapshotListing.listSnapshots({ policy: policy.name, targets: claims });
  const kept: string[] = [];
  const removed: { id: string; name: string }[] = [];
  for (const claim of claims) {
    const series = listed.filter((s) => s.target === claim);
    const decision = decideRetentionKeepingFloor(
      series.map((s) => ({ key: s.name, takenAt: s.takenAt, verified: true })),
      policy.retention,
      new Date(),
    );
    kept.push(...decision.keep);
    removed.push(...series.filter((s) => decision.remove.includes(s.name)).map(({ id, name }) => ({ id, name })));
  }
  for (let i = 0; i < removed.length; i += 50)
    await snapshotListing.deleteSnapshots({ policy: policy.name, snapshots: removed.slice(i, i + 50) });
  return { kept: kept.length, removed: removed.map((r) => r.name) };
}
