// restoreClusterBackup: a chosen cluster backup, or the policy's latest, restored into new
// namespaces (`namespaces: {shop: shop-restored}`). The archive is authenticated and read whole
// before anything is applied; a target namespace that already holds objects is refused by name;
// a restore that fails midway removes the namespaces it created.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { RestoreIntoNamespacesResult } from '../../activities/kubernetes/cluster-restore';
import { dnsLabel } from '../../specs/common';
import type { ClusterBackupPolicy } from '../../specs/cluster-backup-policy';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import type { RetryTuning } from '../backups/backup-steps';
import { endsInStatus } from '../shared/ends-in-status';
import { failure, invalidInput, STEP_FAILURE } from '../shared/failures';
import { StatusTracker } from '../shared/status';
import { clusterBackupActivities, validatedClusterPolicy } from './cluster-backup-steps';

export interface RestoreClusterBackupInput {
  policy: ClusterBackupPolicy;
  /** The backup to restore; default: the policy's latest. */
  backupKey?: string;
  /** Backed-up namespace → the new namespace it is restored into. */
  namespaces: Record<string, string>;
  /** The cluster to restore into (name or id); default: the policy's. */
  cluster?: string;
  retry?: RetryTuning;
}

export interface RestoreClusterBackupResult extends RestoreIntoNamespacesResult {
  key: string;
}

const invalid = (message: string) => invalidInput(message, [message]);

function checkMapping(input: RestoreClusterBackupInput, policy: ClusterBackupPolicy): void {
  const entries = Object.entries(input.namespaces ?? {});
  if (entries.length === 0)
    throw invalid(
      'namespaces: name at least one backed-up namespace and the new namespace to restore it into, such as {"shop": "shop-restored"}',
    );
  for (const [from, to] of entries) {
    if (!policy.resources.namespaces.includes(from))
      throw invalid(`namespaces.${from}: policy ${policy.name} backs up ${policy.resources.namespaces.join(', ')}, not ${from}`);
    if (!dnsLabel.safeParse(to).success)
      throw invalid(`namespaces.${from}: ${JSON.stringify(to)} is not a namespace name (lowercase letters, digits and dashes)`);
    if (to === from) throw invalid(`namespaces.${from}: restore into a new namespace, not over ${from} itself`);
  }
  const targets = entries.map(([, to]) => to);
  if (new Set(targets).size !== targets.length) throw invalid('namespaces: two backed-up namespaces would be restored into the same one');
}

export async function restoreClusterBackup(input: RestoreClusterBackupInput): Promise<RestoreClusterBackupResult> {
  const status = new StatusTracker('restoreClusterBackup', ['choose backup', 'restore']);
  return endsInStatus(status, async () => {
    status.step('choose backup');
    const policy = validatedClusterPolicy(input.policy);
    checkMapping(input, policy);
    upsertSearchAttributes([
      { key: OpsEnvironment, value: policy.environment },
      { key: OpsOperation, value: 'backup-restore' },
    ]);
    const { long, short } = clusterBackupActivities(input.retry);
    let key = input.backupKey;
    if (!key) {
      const [latest] = await short.listClusterBackups({ policy });
      if (!latest) throw failure(STEP_FAILURE.NotFound, `policy ${policy.name} has no backup of cluster ${policy.cluster} yet`);
      key = latest.key;
    }
    status.recordResource({ kind: 'backup', id: key, name: `cluster ${policy.cluster}` });

    status.step('restore');
    const restored = await long.restoreClusterObjects({ policy, key, namespaces: input.namespaces, cluster: input.cluster });
    for (const name of restored.created) status.recordResource({ kind: 'namespace', id: name, name });
    status.finish('done');
    return { key, ...restored };
  });
}
