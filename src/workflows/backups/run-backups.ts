// runBackups: one run of a backup policy, as a Schedule starts it. Every target (each database of
// it; a directory; a droplet or volume snapshot taken through the API) is backed up in parallel up
// to `parallelism`, each a retried step; one that still fails does not stop the others. Then each new backup is verified by a restore (verifyBackup), retention is
// applied (applyRetention), and if anything failed, one notice names every failed target and why,
// and the run fails, visibly, in the Web UI.
import { executeChild, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { BackupOutcome } from '../../activities/backups/backup-steps';
import type { BackupPolicy, BackupTarget } from '../../specs/backup-policy';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { policyEnvironment } from './policy-environment';
import { applyRetention, type ApplyRetentionResult } from './apply-retention';
import { backupActivities, validatedPolicy, type RetryTuning } from './backup-steps';
import { describeError } from '../shared/saga';
import { failure, STEP_FAILURE } from '../shared/failures';
import { retentionWorkflowId, verifyBackupWorkflowId } from '../../names/workflow-ids';
import { StatusTracker } from '../shared/status';
import { endsInStatus } from '../shared/ends-in-status';
import { verifyBackup } from './verify-backup';
import { endBackupRun } from './report-failures';

export interface RunBackupsInput {
  policy: BackupPolicy;
  /** Shorter retries for tests; schedules leave it out. */
  retry?: RetryTuning;
}

export interface TargetResult {
  target: string;
  database?: string;
  ok: boolean;
  key?: string;
  compressedBytes?: number;
  uncompressedBytes?: number;
  sha256?: string;
  durationMs?: number;
  /** False when the restore that verifies a dump failed; snapshots are not restored (see README). */
  verified?: boolean;
  /** Droplet and volume snapshots: the snapshot's id and size; `key` is its name. */
  snapshotId?: string;
  sizeGigabytes?: number;
  error?: string;
}

export interface RunBackupsResult {
  policy: string;
  takenAt: string;
  results: TargetResult[];
  retention?: { kept: number; removed: string[] };
  /** `target[/database]: reason` for each failure (backup, verification, retention). */
  failures: string[];
  notified: boolean;
}

interface Unit {
  target: BackupTarget;
  database?: string;
}

const STEPS = ['validate policy', 'back up', 'verify', 'apply retention', 'report'];

/** Runs `fn` over `items`, at most `limit` at a time, results in input order. */
async function mapWithLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

const label = (r: { target: string; database?: string }) => (r.database ? `${r.target}/${r.database}` : r.target);

export async function runBackups(input: RunBackupsInput): Promise<RunBackupsResult> {
  const status = new StatusTracker('runBackups', STEPS);
  // A policy refused at the start ends "failed" with its reason too.
  return endsInStatus(status, () => backUp(input, status));
}

async function backUp(input: RunBackupsInput, status: StatusTracker): Promise<RunBackupsResult> {
  status.step('validate policy');
  const policy = validatedPolicy(input.policy);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: policyEnvironment(policy) },
    { key: OpsOperation, value: 'backup' },
  ]);
  const { long, short, snapshots } = backupActivities(input.retry);
  const runId = workflowInfo().workflowId;
  // Every backup of this run carries the run's start time in its key: a retried step writes the same key.
  const takenAt = workflowInfo().runStartTime.toISOString();
  const result: RunBackupsResult = { policy: policy.name, takenAt, results: [], failures: [], notified: false };

  status.step('back up');
  const units = policy.targets.flatMap((target): Unit[] =>
    'databases' in target ? target.databases.map((database) => ({ target, database })) : [{ target }],
  );
  result.results = await mapWithLimit(units, policy.parallelism, async ({ target, database }): Promise<TargetResult> => {
    try {
      if (target.kind === 'droplet-snapshot' || target.kind === 'volume-snapshot') {
        // Runs recorded before snapshots were supported failed such targets at once; they replay so.
        if (!patched('snapshot-targets')) throw failure(STEP_FAILURE.NotYetSupported, `${target.kind} targets are not supported yet`);
        const snapshot = await snapshots.takeSnapshot({ policy: policy.name, target, takenAt });
        status.recordResource({ kind: `${snapshot.resourceType}_snapshot`, id: snapshot.id, name: snapshot.name });
        return {
          target: target.name,
          ok: true,
          key: snapshot.name,
          snapshotId: snapshot.id,
          sizeGigabytes: snapshot.sizeGigabytes,
          durationMs: snapshot.durationMs,
        };
      }
      let outcome: BackupOutcome;
      if (database !== undefined) outcome = await long.backupDatabase({ policy, target: target.name, database, takenAt });
      else outcome = await long.backupDirectory({ policy, target: target.name, takenAt });
      status.recordResource({ kind: 'backup', id: outcome.key, name: label({ target: target.name, database }) });
      const { key, compressedBytes, uncompressedBytes, sha256, durationMs } = outcome;
      return { target: target.name, database, ok: true, key, compressedBytes, uncompressedBytes, sha256, durationMs };
    } catch (err) {
      status.failCurrent(`${label({ target: target.name, database })}: ${describeError(err)}`);
      return { target: target.name, database, ok: false, error: describeError(err) };
    }
  });
  for (const r of result.results) if (!r.ok) result.failures.push(`${label(r)}: ${r.error}`);

  if (policy.verify.restore) {
    status.step('verify');
    await mapWithLimit(
      // A snapshot is whole once the API lists it; restoring one would mean a new droplet or volume.
      result.results.filter((r) => r.ok && r.snapshotId === undefined),
      policy.parallelism,
      async (r) => {
        try {
          await executeChild(verifyBackup, {
            workflowId: verifyBackupWorkflowId(runId, r.target, r.database),
            args: [{ policy, target: r.target, key: r.key as string, retry: input.retry }],
            staticSummary: `verify s3://${policy.destination.bucket}/${r.key} by restoring it into a scratch database`,
          });
          r.verified = true;
        } catch (err) {
          r.verified = false;
          status.failCurrent(`${label(r)}: ${describeError(err)}`);
          result.failures.push(`${label(r)}: verification failed: ${describeError(err)}`);
        }
      },
    );
  }

  status.step('apply retention');
  try {
    const retention: ApplyRetentionResult = await executeChild(applyRetention, {
      workflowId: retentionWorkflowId(runId),
      args: [{ policy, retry: input.retry }],
      staticSummary: `apply retention of ${policy.name} (keep ${policy.retention.keepDays} days, ${policy.retention.keepWeekly} weekly, ${policy.retention.keepMonthly} monthly)`,
    });
    result.retention = { kept: retention.kept.length, removed: retention.removed };
  } catch (err) {
    status.failCurrent(describeError(err));
    result.failures.push(`retention: ${describeError(err)}`);
  }

  const failedTargets = [...new Set(result.results.filter((r) => !r.ok || r.verified === false).map((r) => r.target))];
  return endBackupRun({
    policy,
    headline: () =>
      `opsflow: backups of ${policy.name} failed for ${failedTargets.length ? failedTargets.join(', ') : 'retention'} (run ${runId})`,
    what: `backups of ${policy.name}`,
    result,
    status,
    postFailureNotice: short.postFailureNotice,
  });
}
