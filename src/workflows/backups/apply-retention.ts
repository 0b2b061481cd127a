// applyRetention: per database (or directory, or snapshot target) of each target, keep what the
// policy's retention keeps (decideRetention: every backup for N days, the newest of recent weeks
// and months, and the newest `minVerified` verified ones whatever their age) and delete the rest.
// Dumps and archives live in Spaces; droplet and volume snapshots in the DigitalOcean account,
// found by their names, and counted as verified: the API lists a snapshot only once it is whole.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { BackupPolicy } from '../../specs/backup-policy';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { policyEnvironment } from './policy-environment';
import { backupActivities, validatedPolicy, type RetryTuning } from './backup-steps';
import { decideRetentionKeepingFloor, type BackupRecord } from './retention';
import { StatusTracker } from '../shared/status';

export interface ApplyRetentionInput {
  policy: BackupPolicy;
  /** The moment retention is judged at; default: the workflow's current time. For simulations. */
  now?: string;
  retry?: RetryTuning;
}

export interface ApplyRetentionResult {
  kept: string[];
  removed: string[];
  /** Why each kept backup is kept. */
  reasons: Record<string, string[]>;
}

export async function applyRetention(input: ApplyRetentionInput): Promise<ApplyRetentionResult> {
  const status = new StatusTracker('applyRetention', ['list backups', 'decide', 'delete']);
  status.step('list backups');
  const policy = validatedPolicy(input.policy);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: policyEnvironment(policy) },
    { key: OpsOperation, value: 'backup-retention' },
  ]);
  const { short, snapshotListing } = backupActivities(input.retry);
  const listed = await short.listBackups({ policy });
  const snapshotTargets = policy.targets.filter((t) => t.kind === 'droplet-snapshot' || t.kind === 'volume-snapshot').map((t) => t.name);
  const snapshots = snapshotTargets.length ? await snapshotListing.listSnapshots({ policy: policy.name, targets: snapshotTargets }) : [];

  status.step('decide');
  const now = input.now ? new Date(input.now) : new Date();
  const series = new Map<string, BackupRecord[]>();
  const add = (id: string, b: BackupRecord) => series.set(id, [...(series.get(id) ?? []), b]);
  for (const b of listed) add(`${b.target}/${b.database ?? 'archive'}`, b);
  for (const s of snapshots) add(`${s.target}/snapshot`, { key: s.name, takenAt: s.takenAt, verified: true });
  const result: ApplyRetentionResult = { kept: [], removed: [], reasons: {} };
  for (const backups of series.values()) {
    const decision = decideRetentionKeepingFloor(backups, policy.retention, now);
    result.kept.push(...decision.keep);
    result.removed.push(...decision.remove);
    Object.assign(result.reasons, decision.reasons);
  }

  status.step('delete');
  const snapshotByName = new Map(snapshots.map((s) => [s.name, s]));
  const removedObjects = result.removed.filter((k) => !snapshotByName.has(k));
  const removedSnapshots = result.removed.flatMap((k) => snapshotByName.get(k) ?? []).map(({ id, name }) => ({ id, name }));
  // Bounded batches keep each activity's input small whatever the backlog.
  for (let i = 0; i < removedObjects.length; i += 200) await short.deleteBackups({ policy, keys: removedObjects.slice(i, i + 200) });
  for (let i = 0; i < removedSnapshots.length; i += 50)
    await snapshotListing.deleteSnapshots({ policy: policy.name, snapshots: removedSnapshots.slice(i, i + 50) });
  status.finish('done');
  return result;
}
