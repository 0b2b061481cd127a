// Reading what a cluster backup holds from the API server: every namespaced kind the cluster serves
// that can be listed (API discovery: /api/v1, then each group's preferred version under /apis, so
// custom kinds such as HTTPRoute come along), each listed per namespace (with the label selector,
// page by page), cleaned (clean-object.ts) and with what the cluster made itself left out.
import type { KubernetesClient } from '../../integrations/kubernetes/client';
import { cleanObject, generatedBecause, SKIPPED_RESOURCES, type KubeJson } from './clean-object';
import { groupOf } from './velero-layout';

export interface ServedResource {
  apiVersion: string;
  kind: string;
  /** Plural name, as in the URL. */
  resource: string;
}

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}
interface ApiGroupList {
  groups: { name: string; preferredVersion: { groupVersion: string } }[];
}

/** The namespaced kinds the cluster can list and that a backup may hold, core first. */
export async function namespacedResources(client: KubernetesClient): Promise<ServedResource[]> {
  const groupVersions = ['v1', ...(await client.read<ApiGroupList>('/apis')).groups.map((g) => g.preferredVersion.groupVersion)];
  const served: ServedResource[] = [];
  for (const apiVersion of groupVersions) {
    const list = await client.read<ApiResourceList>(apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`);
    for (const r of list.resources) {
      const group = groupOf(apiVersion);
      const qualified = group ? `${r.name}.${group}` : r.name;
      // Subresources (pods/log) have a slash; kinds without list (bindings) cannot be read back.
      if (!r.namespaced || r.name.includes('/') || !r.verbs.includes('list') || SKIPPED_RESOURCES.has(qualified)) continue;
      served.push({ apiVersion, kind: r.kind, resource: r.name });
    }
  }
  return served;
}

export interface ResourceSelection {
  namespaces: string[];
  labelSelector?: string;
  /** Kinds to keep (`ConfigMap`, `Deployment`); all when absent. */
  kinds?: string[];
}

export interface ReadObject extends ServedResource {
  namespace: string;
  name: string;
  object: KubeJson;
}

async function listAll(client: KubernetesClient, r: ServedResource, namespace: string, labelSelector?: string): Promise<KubeJson[]> {
  const base = `${r.apiVersion === 'v1' ? '/api/v1' : `/apis/${r.apiVersion}`}/namespaces/${encodeURIComponent(namespace)}/${r.resource}`;
  const items: KubeJson[] = [];
  let next: string | undefined;
  do {
    const page = await client.read<{ items: KubeJson[]; metadata?: { continue?: string } }>(base, {
      labelSelector,
      limit: 500,
      continue: next,
    });
    items.push(...page.items);
    next = page.metadata?.continue || undefined;
  } while (next);
  return items;
}

/** The selected objects, cleaned, in a stable order (kind, namespace, name), and what was left out as generated. */
export async function readSelectedObjects(
  client: KubernetesClient,
  selection: ResourceSelection,
): Promise<{ objects: ReadObject[]; generated: number }> {
  const kinds = selection.kinds ? new Set(selection.kinds) : undefined;
  const served = (await namespacedResources(client)).filter((r) => !kinds || kinds.has(r.kind));
  const objects: ReadObject[] = [];
  let generated = 0;
  for (const namespace of selection.namespaces) {
    const perResource = await Promise.all(
      served.map(async (r) => ({ r, items: await listAll(client, r, namespace, selection.labelSelector) })),
    );
    const servicesWithSelector = new Set(
      (await listAll(client, { apiVersion: 'v1', kind: 'Service', resource: 'services' }, namespace))
        .filter((s) => Object.keys(((s.spec as Record<string, unknown> | undefined)?.selector as object | undefined) ?? {}).length > 0)
        .map((s) => String(s.metadata?.name)),
    );
    for (const { r, items } of perResource)
      for (const item of items) {
        const object = { ...item, apiVersion: r.apiVersion, kind: r.kind };
        if (generatedBecause(object, servicesWithSelector)) {
          generated++;
          continue;
        }
        objects.push({ ...r, namespace, name: String(item.metadata?.name), object: cleanObject(object) });
      }
  }
  objects.sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
  return { objects, generated };
}
