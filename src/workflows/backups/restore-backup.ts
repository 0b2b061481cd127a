// restoreBackup: a chosen backup, or the latest, restored into a named database on the target's
// server. It never restores over an existing database unless asked to (`overwrite: true`); the
// restored tables are compared with the manifest and the result says whether they match.
import { ActivityFailure, ApplicationFailure, upsertSearchAttributes } from '@temporalio/workflow';
import type { BackupPolicy } from '../../specs/backup-policy';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { policyEnvironment } from './policy-environment';
import { backupActivities, compareTables, validatedPolicy, type RetryTuning } from './backup-steps';
import { restoreRefusal } from './restore-checks';
import { failure, invalidInput, STEP_FAILURE } from '../shared/failures';
import { StatusTracker } from '../shared/status';
import { endsInStatus } from '../shared/ends-in-status';

export interface RestoreBackupInput {
  policy: BackupPolicy;
  target: string;
  /** Which database's backups, when the target has several and no backupKey is given. */
  database?: string;
  /** The backup to restore; default: the latest of the target (and database). */
  backupKey?: string;
  intoDatabase: string;
  overwrite?: boolean;
  retry?: RetryTuning;
}

export interface RestoreBackupResult {
  key: string;
  database: string;
  takenAt: string;
  bytesRestored: number;
  durationMs: number;
  /** The restored tables against the manifest's row counts and checksums. */
  matchesManifest: boolean;
  differences: string[];
}

const invalid = (message: string) => invalidInput(message, [message]);

export async function restoreBackup(input: RestoreBackupInput): Promise<RestoreBackupResult> {
  const status = new StatusTracker('restoreBackup', ['choose backup', 'check target database', 'restore', 'compare tables']);
  // A refused input, a missing backup or an existing database ends "failed" with its reason.
  return endsInStatus(status, () => restore(input, status));
}

async function restore(input: RestoreBackupInput, status: StatusTracker): Promise<RestoreBackupResult> {
  status.step('choose backup');
  const policy = validatedPolicy(input.policy);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: policyEnvironment(policy) },
    { key: OpsOperation, value: 'backup-restore' },
  ]);
  const checked = restoreRefusal(policy, input);
  if ('problem' in checked) throw invalid(checked.problem);
  const { target } = checked;
  const { long, short } = backupActivities(input.retry);

  let key = input.backupKey;
  if (!key) {
    const [latest] = await short.listBackups({ policy, target: target.name, database: input.database ?? target.databases[0] });
    if (!latest)
      throw failure(
        STEP_FAILURE.NotFound,
        `no backup of ${target.name}/${input.database ?? target.databases[0]} in ${policy.destination.bucket}`,
      );
    key = latest.key;
  }
  const manifest = await short.readManifest({ policy, key });
  status.recordResource({ kind: 'backup', id: key });

  status.step('check target database');
  // Refuses (DatabaseExists) unless overwrite; past this point a database of that name is ours to replace.
  await short
    .checkRestoreTarget({ policy, target: target.name, database: input.intoDatabase, overwrite: input.overwrite === true })
    .catch((err: unknown) => {
      // Said by the workflow itself, so the Web UI shows the refusal, not an activity's retry story.
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === STEP_FAILURE.DatabaseExists)
        throw failure(STEP_FAILURE.DatabaseExists, cause.message);
      throw err;
    });

  status.step('restore');
  const restored = await long.restoreIntoDatabase({ policy, target: target.name, key, database: input.intoDatabase, replace: true });
  status.recordResource({ kind: 'database', id: input.intoDatabase });

  status.step('compare tables');
  const differences = compareTables(manifest.tables, await short.tableStats({ policy, target: target.name, database: input.intoDatabase }));
  status.finish('done');
  return {
    key,
    database: input.intoDatabase,
    takenAt: manifest.takenAt,
    bytesRestored: restored.bytesRestored,
    durationMs: restored.durationMs,
    matchesManifest: differences.length === 0,
    differences,
  };
}
