// `opsflow restore`: registered on the CLI here; the choices and checks are in ./restore.
import type { Command } from 'commander';
import { restoreWorkflowId, uniqueSuffix } from '../names/workflow-ids';
import type { RestoreBackupResult } from '../workflows/backups/restore-backup';
import { startOperation, withClient } from './opsflow-client';
import { followProgress } from './progress';
import { policyEnvironment } from '../workflows/backups/policy-environment';
import { formatRestoreResult, isPolicyFile, policiesFromFile, policiesOfEnvironment, restoreInput, type RestoreOptions } from './restore';

export function registerRestoreCommand(program: Command): void {
  program
    .command('restore')
    .description('restore a database from its backups (the latest, or --backup <key>) into a database, showing progress until it ends')
    .argument('<policy-or-environment>', 'a backup policy file, or an environment whose applied backup policies to use')
    .option('--target <name>', 'the database target to restore from (default: the only one)')
    .option('--database <name>', "which of the target's databases (required when it has several and no --backup is given)")
    .option('--backup <key>', 'the backup to restore, an object key of the policy (default: the latest)')
    .option('--into <database>', "the database to restore into, created fresh on the target's server")
    .option('--overwrite', 'replace --into if it exists (it is refused otherwise)')
    .option('--policy <name>', 'which policy, when several have that target')
    .option('--detach', 'start it and return; follow with `opsflow status <workflow id>`')
    .option('--print-input', 'print the workflow input as JSON (for `temporal workflow start --type restoreBackup --input-file`) and exit')
    .action(async (source: string, opts: RestoreOptions & { detach?: boolean; printInput?: boolean }) => {
      // A policy file is checked whole before connecting; an environment's policies come from Temporal.
      const fromFile = isPolicyFile(source) ? restoreInput(policiesFromFile(source), opts) : undefined;
      if (fromFile && opts.printInput) {
        console.log(JSON.stringify(fromFile));
        return;
      }
      await withClient(async (client) => {
        const input = fromFile ?? restoreInput(await policiesOfEnvironment(client, source), opts);
        if (opts.printInput) {
          console.log(JSON.stringify(input));
          return;
        }
        const what = `${input.policy.name}/${input.target}${input.database ? `/${input.database}` : ''}`;
        const handle = await startOperation(
          client,
          'restoreBackup',
          restoreWorkflowId(input.policy.name, input.target, uniqueSuffix()),
          [input],
          `restore ${what} into ${input.intoDatabase}`,
          undefined,
          {
            environment: policyEnvironment(input.policy),
            operation: 'backup-restore',
            ...(isPolicyFile(source) ? { specFile: source } : {}),
          },
        );
        console.log(
          `Restoring ${input.backupKey ?? `the latest backup of ${what}`} into ${input.intoDatabase}: workflow ${handle.workflowId}`,
        );
        if (opts.detach) return;
        const result = await followProgress<RestoreBackupResult>(handle);
        console.log(formatRestoreResult(result));
        if (!result.matchesManifest) process.exitCode = 1;
      });
    });
}
