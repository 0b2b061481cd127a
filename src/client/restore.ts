// `opsflow restore <policy file | environment>`: restoreBackup started with the same checks the
// workflow makes at its start, said before anything starts. The policy comes from a policy file, or
// from the schedules of the policies with targets in an environment, as applied.
import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { checkedEnvironmentName } from '../names/environment-name';
import type { BackupPolicy } from '../specs/backup-policy';
import { loadBackupPolicies } from '../specs/load';
import type { RestoreBackupInput, RestoreBackupResult } from '../workflows/backups/restore-backup';
import { restoreRefusal, type DatabaseTarget } from '../workflows/backups/restore-checks';
import { schedulesOfEnvironment } from './schedules';

export interface RestoreOptions {
  target?: string;
  database?: string;
  backup?: string;
  into?: string;
  overwrite?: boolean;
  /** Which policy, when the source has several with that target. */
  policy?: string;
}

export interface RestoreSource {
  policies: BackupPolicy[];
  /** Said in errors: `examples/backup-stack-b.yaml`, `environment stack-b`. */
  from: string;
}

const refused = (problem: string) => new Error(`restore: ${problem}`);

/** A path that exists, or a name with a file's ending, is a policy file; anything else names an environment. */
export const isPolicyFile = (source: string) => existsSync(source) || /\.(ya?ml|json)$/i.test(source) || source.includes('/');

/** The policies a file holds, refused with the file's own messages when it is wrong. */
export function policiesFromFile(file: string): RestoreSource {
  if (!existsSync(file)) throw refused(`no policy file ${file}`);
  return { policies: loadBackupPolicies(file).policies, from: file };
}

/** The policies applied for an environment (`schedules apply`), as their schedules run them. */
export async function policiesOfEnvironment(client: Client, environment: string): Promise<RestoreSource> {
  checkedEnvironmentName(environment);
  const policies = (await schedulesOfEnvironment(client, environment)).map((s) => s.policy);
  if (policies.length === 0)
    throw refused(
      `no applied backup policy has targets in environment ${environment} (apply one with \`opsflow schedules apply <file>\`, or give the policy file instead)`,
    );
  return { policies, from: `environment ${environment}` };
}

const describeTarget = (policy: BackupPolicy, t: DatabaseTarget) => `${policy.name}/${t.name} (${t.kind}: ${t.databases.join(', ')})`;

/** The workflow input, or an error naming every choice there was when one is missing or wrong. */
export function restoreInput(source: RestoreSource, opts: RestoreOptions): RestoreBackupInput {
  const policies = opts.policy === undefined ? source.policies : source.policies.filter((p) => p.name === opts.policy);
  if (policies.length === 0)
    throw refused(`--policy: ${source.from} has no policy ${opts.policy} (it has ${source.policies.map((p) => p.name).join(', ')})`);
  const restorable = policies.flatMap((policy) =>
    policy.targets.filter((t): t is DatabaseTarget => 'databases' in t).map((target) => ({ policy, target })),
  );
  const choices = restorable.map((c) => describeTarget(c.policy, c.target)).join('; ') || 'none';
  if (!opts.target) {
    if (restorable.length !== 1) throw refused(`--target: say which database target to restore from: ${choices}`);
    opts = { ...opts, target: restorable[0]!.target.name };
  }
  const matching = restorable.filter((c) => c.target.name === opts.target);
  const other = policies.flatMap((p) => p.targets).find((t) => t.name === opts.target && !('databases' in t));
  if (matching.length === 0)
    throw refused(
      other
        ? `--target: ${other.name} is a ${other.kind}; restore restores databases (${choices})`
        : `--target: ${source.from} has no database target ${opts.target} (${choices})`,
    );
  if (matching.length > 1)
    throw refused(
      `--target: ${opts.target} is in several policies (${matching.map((c) => c.policy.name).join(', ')}): add --policy <name>`,
    );
  const { policy, target } = matching[0]!;
  if (opts.database !== undefined && !target.databases.includes(opts.database))
    throw refused(`--database: target ${target.name} has no database ${opts.database} (it has ${target.databases.join(', ')})`);
  if (!opts.into) throw refused('--into: name the database to restore into (a new one; an existing one needs --overwrite)');
  const input: RestoreBackupInput = {
    policy,
    target: target.name,
    ...(opts.database !== undefined ? { database: opts.database } : {}),
    ...(opts.backup !== undefined ? { backupKey: opts.backup } : {}),
    intoDatabase: opts.into,
    ...(opts.overwrite ? { overwrite: true } : {}),
  };
  // The workflow's own checks, in its words (with the CLI's option names alongside).
  const checked = restoreRefusal(policy, input);
  if ('problem' in checked) throw refused(checked.problem.replace(/^(\w+):/, (field) => `${OPTION_OF[field.slice(0, -1)] ?? field}`));
  return input;
}

const OPTION_OF: Record<string, string> = {
  target: '--target:',
  intoDatabase: '--into:',
  backupKey: '--backup:',
  database: '--database:',
};

export function formatRestoreResult(result: RestoreBackupResult): string {
  const lines = [
    `Restored ${result.key} (taken ${result.takenAt}) into database ${result.database}: ${result.bytesRestored} bytes in ${(result.durationMs / 1000).toFixed(1)} s.`,
  ];
  if (result.matchesManifest) lines.push('Every table matches the manifest (row counts and checksums).');
  else lines.push(`The restored tables differ from the manifest:`, ...result.differences.map((d) => `  - ${d}`));
  return lines.join('\n');
}
