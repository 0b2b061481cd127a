// Server-side apply of a set of manifests (field manager `opsflow`, force off unless asked): first
// every object is validated by the API server (dryRun=All), so one it rejects fails the activity
// before anything changes; then each is applied in dependency order. Each object reports created,
// configured or unchanged (its resourceVersion did not move: applying the same manifest again
// changes nothing, not even the generation).
import { checkManifest, inApplyOrder, refOf, type Manifest } from '../../integrations/kubernetes/manifests';
import { KubernetesRequestError } from '../../integrations/kubernetes/errors';
import type { KubernetesClient } from '../../integrations/kubernetes/client';
import type { ObjectRef } from '../../integrations/kubernetes/refs';
import { clusterClient, type KubernetesDeps } from './deps';
import { kubernetesStep } from './failures';

export interface ApplyManifestsInput {
  clusterId: string;
  manifests: Manifest[];
  /** Take over fields another field manager owns (server-side apply's force). Default false. */
  force?: boolean;
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface AppliedObject {
  object: ObjectRef;
  outcome: ApplyOutcome;
  /** metadata.generation after the apply, for kinds that have one (a rollout waits for it). */
  generation?: number;
}

/**
 * A namespace or a custom kind the batch itself creates does not exist yet while the batch is
 * validated: the dry run of what lives in it is refused with 404, and that refusal is expected.
 */
function createdByBatch(err: unknown, manifest: Manifest, batch: Manifest[]): boolean {
  if (!(err instanceof KubernetesRequestError) || !err.notFound) return false;
  const missing = err.apiStatus.details;
  if (missing?.kind === 'namespaces') return batch.some((m) => m.kind === 'Namespace' && m.metadata.name === missing.name);
  const definesKind = (m: Manifest) =>
    m.kind === 'CustomResourceDefinition' && (m.spec as { names?: { kind?: string } } | undefined)?.names?.kind === manifest.kind;
  return batch.some(definesKind);
}

async function validateAll(client: KubernetesClient, manifests: Manifest[], force: boolean): Promise<void> {
  for (const manifest of manifests) {
    try {
      await client.apply(manifest, { force, dryRun: true });
    } catch (err) {
      if (!createdByBatch(err, manifest, manifests)) throw err;
    }
  }
}

export function applyManifestsActivity(deps: KubernetesDeps) {
  return async function applyKubernetesManifests(input: ApplyManifestsInput): Promise<AppliedObject[]> {
    return kubernetesStep(async (progress) => {
      const manifests = inApplyOrder(input.manifests.map((m, i) => checkManifest(m, `manifest ${i + 1}`)));
      const client = await clusterClient(deps, input.clusterId);
      const force = input.force ?? false;
      await validateAll(client, manifests, force);
      const applied: AppliedObject[] = [];
      for (const manifest of manifests) {
        const object = refOf(manifest);
        const before = await client.get(object);
        const after = await client.apply(manifest, { force });
        const outcome: ApplyOutcome = !before
          ? 'created'
          : before.metadata.resourceVersion === after.metadata.resourceVersion
            ? 'unchanged'
            : 'configured';
        applied.push({ object, outcome, ...(after.metadata.generation !== undefined ? { generation: after.metadata.generation } : {}) });
        progress({ applied: applied.length, of: manifests.length });
      }
      return applied;
    });
  };
}
