// verifyBackup: a backup counts only once it restored. The dump is restored into a scratch
// database beside the original, every table's row count and checksum is compared with what the
// dump recorded, and the scratch database is dropped whatever happened. A match is recorded next
// to the backup (`.verified.json`), which retention's floor counts on.
import { CancellationScope, upsertSearchAttributes, uuid4, workflowInfo } from '@temporalio/workflow';
import type { VerificationRecord } from '../../backups/keys';
import type { BackupPolicy } from '../../specs/backup-policy';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { policyEnvironment } from './policy-environment';
import { backupActivities, compareTables, validatedPolicy, type RetryTuning } from './backup-steps';
import { failure, STEP_FAILURE } from '../shared/failures';
import { StatusTracker } from '../shared/status';

export interface VerifyBackupInput {
  policy: BackupPolicy;
  target: string;
  key: string;
  retry?: RetryTuning;
}

export type VerifyBackupResult = VerificationRecord;

export async function verifyBackup(input: VerifyBackupInput): Promise<VerifyBackupResult> {
  const status = new StatusTracker('verifyBackup', [
    'read manifest',
    'restore into scratch database',
    'compare tables',
    'drop scratch database',
    'record verification',
  ]);
  status.step('read manifest');
  const policy = validatedPolicy(input.policy);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: policyEnvironment(policy) },
    { key: OpsOperation, value: 'backup-verify' },
  ]);
  const { long, short } = backupActivities(input.retry);
  const manifest = await short.readManifest({ policy, key: input.key });
  const verifiedAt = () => new Date().toISOString();

  if (manifest.kind === 'directory') {
    status.step('restore into scratch database'); // for an archive: read it through tar
    await long.verifyArchive({ policy, key: input.key });
    status.step('record verification');
    const record: VerificationRecord = { key: input.key, verifiedAt: verifiedAt(), restoredInto: '(tar -t)', tables: 0, rows: 0 };
    await short.recordVerification({ policy, record });
    status.finish('done');
    return record;
  }

  // Deterministic under replay (uuid4 is seeded by the workflow), unique per run.
  const scratch = `opsflow_verify_${uuid4().replace(/-/g, '').slice(0, 16)}`;
  status.recordResource({ kind: 'scratch-database', id: scratch });
  let problems: string[];
  try {
    status.step('restore into scratch database');
    await long.restoreIntoDatabase({ policy, target: input.target, key: input.key, database: scratch, replace: true });
    status.step('compare tables');
    problems = compareTables(manifest.tables, await short.tableStats({ policy, target: input.target, database: scratch }));
  } finally {
    status.step('drop scratch database');
    await CancellationScope.nonCancellable(() => short.dropDatabase({ policy, target: input.target, database: scratch }));
    status.forgetResource('scratch-database', scratch);
  }
  if (problems.length > 0) {
    status.finish('failed');
    throw failure(
      STEP_FAILURE.VerificationFailed,
      `${input.key} restored into ${scratch} but does not match its manifest: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
      { details: [problems] },
    );
  }
  status.step('record verification');
  const record: VerificationRecord = {
    key: input.key,
    verifiedAt: verifiedAt(),
    restoredInto: `${scratch} (dropped; run ${workflowInfo().workflowId})`,
    tables: manifest.tables.length,
    rows: manifest.tables.reduce((sum, t) => sum + t.rows, 0),
  };
  await short.recordVerification({ policy, record });
  status.finish('done');
  return record;
}
