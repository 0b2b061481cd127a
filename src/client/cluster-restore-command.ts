// `opsflow restore-cluster <policy file>`: restoreClusterBackup of a cluster policy's latest backup
// (or --backup <key>) into new namespaces (`--namespace shop=shop-restored`, Velero's namespace
// mappings), with the workflow's own start checks made first, so a wrong choice is named before
// anything starts; then its steps are shown until it ends.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { uniqueSuffix } from '../names/workflow-ids';
import type { ClusterBackupPolicy } from '../specs/cluster-backup-policy';
import { loadBackupPolicies } from '../specs/load';
import type { RestoreClusterBackupInput, RestoreClusterBackupResult } from '../workflows/kubernetes/restore-cluster-backup';
import { startOperation, withClient } from './opsflow-client';
import { followProgress } from './progress';

interface ClusterRestoreOptions {
  namespace: string[];
  policy?: string;
  backup?: string;
  cluster?: string;
  detach?: boolean;
  printInput?: boolean;
}

const refused = (problem: string) => new Error(`restore-cluster: ${problem}`);

/** The workflow input from a policy file and the options, or an error naming the choices there were. */
export function clusterRestoreInput(file: string, opts: ClusterRestoreOptions): RestoreClusterBackupInput {
  if (!existsSync(file)) throw refused(`no policy file ${file}`);
  const all = loadBackupPolicies(file).clusterPolicies;
  const names = all.map((p) => p.name).join(', ') || 'none';
  const chosen: ClusterBackupPolicy[] = opts.policy === undefined ? all : all.filter((p) => p.name === opts.policy);
  if (chosen.length !== 1)
    throw refused(
      opts.policy === undefined
        ? `${file} has ${all.length} cluster policies (${names}): name one with --policy`
        : `--policy: ${file} has no cluster policy ${opts.policy} (it has ${names})`,
    );
  const policy = chosen[0]!;
  if (opts.namespace.length === 0) throw refused('--namespace: give at least one <backed-up>=<new> namespace, such as shop=shop-restored');
  const namespaces: Record<string, string> = {};
  for (const mapping of opts.namespace) {
    const [from, to, ...rest] = mapping.split('=');
    if (!from || !to || rest.length) throw refused(`--namespace ${mapping}: write it as <backed-up>=<new>, such as shop=shop-restored`);
    if (!policy.resources.namespaces.includes(from))
      throw refused(`--namespace ${mapping}: policy ${policy.name} backs up ${policy.resources.namespaces.join(', ')}, not ${from}`);
    if (from === to) throw refused(`--namespace ${mapping}: restore into a new namespace, not over ${from} itself`);
    namespaces[from] = to;
  }
  return { policy, namespaces, ...(opts.backup ? { backupKey: opts.backup } : {}), ...(opts.cluster ? { cluster: opts.cluster } : {}) };
}

export function registerClusterRestoreCommand(program: Command): void {
  program
    .command('restore-cluster')
    .description("restore a cluster policy's backup (the latest, or --backup <key>) into new namespaces, showing progress until it ends")
    .argument('<policy-file>', 'a backup policy file with `kind: cluster` policies, such as examples/backup-stack-d-cluster.yaml')
    .option(
      '--namespace <from=to>',
      'a backed-up namespace and the new one to restore it into (repeat for several)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--policy <name>', 'which cluster policy of the file (required when it has several)')
    .option('--backup <key>', 'the backup to restore, an object key of the policy (default: the latest)')
    .option('--cluster <name-or-id>', "the cluster to restore into (default: the policy's)")
    .option('--detach', 'start it and return; follow with `opsflow status <workflow id>`')
    .option(
      '--print-input',
      'print the workflow input as JSON (for `temporal workflow start --type restoreClusterBackup --input-file`) and exit',
    )
    .action(async (file: string, opts: ClusterRestoreOptions) => {
      const input = clusterRestoreInput(file, opts);
      if (opts.printInput) {
        console.log(JSON.stringify(input));
        return;
      }
      const into = Object.entries(input.namespaces)
        .map(([from, to]) => `${from} → ${to}`)
        .join(', ');
      await withClient(async (client) => {
        const handle = await startOperation(
          client,
          'restoreClusterBackup',
          `restore-cluster-${input.policy.name}-${uniqueSuffix()}`,
          [input],
          `restore cluster backup ${input.policy.name} into ${into}`,
          undefined,
          { environment: input.policy.environment, operation: 'backup-restore', specFile: file },
        );
        console.log(`Restoring ${input.backupKey ?? `the latest backup of ${input.policy.name}`} (${into}): workflow ${handle.workflowId}`);
        if (opts.detach) return;
        const result = await followProgress<RestoreClusterBackupResult>(handle);
        console.log(
          `Restored ${result.key}: ${result.applied} objects (${Object.entries(result.kinds)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')}) into ${into}`,
        );
      });
    });
}
