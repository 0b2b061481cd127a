// What restoreBackup refuses at its start, before anything is read: said by the workflow (a run
// started by hand) and by `opsflow restore` (before it starts one), in the same words. Pure.
import type { BackupPolicy, BackupTarget } from '../../specs/backup-policy';
import { restoreKeyProblem } from '../../specs/restore-key';

export const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

export type DatabaseTarget = Extract<BackupTarget, { databases: string[] }>;

export interface RestoreChoice {
  target: string;
  database?: string;
  backupKey?: string;
  intoDatabase: string;
}

/** The target to restore from, or the one problem (`field: what is wrong`) that refuses the restore. */
export function restoreRefusal(policy: BackupPolicy, input: RestoreChoice): { target: DatabaseTarget } | { problem: string } {
  const target = policy.targets.find((t) => t.name === input.target);
  if (!target) return { problem: `target: policy ${policy.name} has no target ${input.target}` };
  if (!('databases' in target)) return { problem: `target: ${target.name} is a ${target.kind}; restoreBackup restores databases` };
  if (!DATABASE_NAME.test(input.intoDatabase)) return { problem: 'intoDatabase: must be a database name (letters, digits, _, $ and -)' };
  const keyProblem = input.backupKey === undefined ? undefined : restoreKeyProblem(policy, input.backupKey);
  if (keyProblem) return { problem: `backupKey: ${keyProblem}` };
  if (!input.backupKey && !input.database && target.databases.length > 1)
    return { problem: `database: target ${target.name} has ${target.databases.join(', ')}; say which, or give backupKey` };
  return { target };
}
