// Restoring a cluster backup's objects into new namespaces, as Velero's `--namespace-mappings`:
// each backed-up namespace is recreated under its new name with its objects, each moved there
// (references to the old namespace inside them too), by server-side apply under field manager
// opsflow. A target namespace that already holds objects is refused by name before anything is
// written: a restore never mixes with, or overwrites, what runs there.
import type { KubernetesClient } from '../../integrations/kubernetes/client';
import { inApplyOrder, type Manifest } from '../../integrations/kubernetes/manifests';
import { describeRef } from '../../integrations/kubernetes/refs';
import { remapNamespace } from '../../backups/cluster/clean-object';
import type { ArchiveObject } from '../../backups/cluster/read-archive';
import { readSelectedObjects } from '../../backups/cluster/read-resources';
import { failure, REFUSAL, STEP_FAILURE } from '../../workflows/shared/failures';

export interface RestoreIntoNamespacesResult {
  /** New namespace per backed-up one. */
  namespaces: Record<string, string>;
  /** Namespaces this restore created (a saga deletes them when a later step fails). */
  created: string[];
  applied: number;
  kinds: Record<string, number>;
}

/** What a namespace holds that was not made by the cluster for every namespace (its `default` ServiceAccount, kube-root-ca.crt). */
async function objectsIn(client: KubernetesClient, namespace: string): Promise<string[]> {
  const { objects } = await readSelectedObjects(client, { namespaces: [namespace] });
  return objects.filter((o) => !(o.kind === 'ServiceAccount' && o.name === 'default')).map((o) => describeRef(o));
}

export async function restoreIntoNamespaces(
  client: KubernetesClient,
  objects: ArchiveObject[],
  mapping: Record<string, string>,
  key: string,
  progress: (details: Record<string, unknown>) => void,
): Promise<RestoreIntoNamespacesResult> {
  const inBackup = new Set(objects.map((o) => o.entry.namespace ?? (o.entry.kind === 'Namespace' ? o.entry.name : '')));
  for (const [from, to] of Object.entries(mapping)) {
    if (!inBackup.has(from))
      throw failure(
        REFUSAL.InvalidInput,
        `namespace ${from} is not in backup ${key} (it holds ${[...inBackup].filter(Boolean).join(', ')})`,
      );
    if (from === to) throw failure(REFUSAL.InvalidInput, `namespace ${from} would be restored over itself: restore into a new namespace`);
  }
  const created: string[] = [];
  for (const to of Object.values(mapping)) {
    const existing = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: to });
    if (!existing) continue;
    const held = await objectsIn(client, to);
    if (held.length)
      throw failure(
        STEP_FAILURE.RestoreTargetNotEmpty,
        `namespace ${to} already exists and holds ${held.length} object(s) (${held.slice(0, 5).join(', ')}${held.length > 5 ? ', ...' : ''}): restore into a new namespace`,
      );
  }
  const moved = objects.flatMap(({ entry, object }) => {
    const from = entry.kind === 'Namespace' ? entry.name : entry.namespace;
    const to = from === undefined ? undefined : mapping[from];
    return to === undefined ? [] : [remapNamespace(object, from!, to) as Manifest];
  });
  // Namespaces the backup did not hold (kinds chosen without Namespace) are made bare.
  for (const to of Object.values(mapping))
    if (!moved.some((m) => m.kind === 'Namespace' && m.metadata.name === to))
      moved.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: to } });
  const kinds: Record<string, number> = {};
  let applied = 0;
  try {
    for (const manifest of inApplyOrder(moved)) {
      const isNew =
        manifest.kind === 'Namespace' && !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: manifest.metadata.name }));
      await client.apply(manifest, { force: false });
      if (isNew) created.push(manifest.metadata.name);
      kinds[manifest.kind] = (kinds[manifest.kind] ?? 0) + 1;
      // Counts only: the objects' contents (a Secret's values) never go into a heartbeat.
      progress({ phase: 'apply', applied: ++applied, of: moved.length });
    }
  } catch (err) {
    // Half a restore is worse than none, and would make a retry refuse the namespace as not empty.
    for (const name of created) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
    throw err;
  }
  return { namespaces: mapping, created, applied, kinds };
}
