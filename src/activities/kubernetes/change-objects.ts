// Changes to what runs: scale a workload (the scale subresource, as `kubectl scale`), patch an
// object (merge, strategic merge or JSON patch, under field manager `opsflow`), and delete objects
// idempotently (one already gone counts as done), waiting until they are gone so that a following
// step (a namespace re-created, a saga's next undo) does not meet them still terminating.
import { describeRef, type ObjectRef } from '../../integrations/kubernetes/refs';
import type { PatchType } from '../../integrations/kubernetes/client';
import { failure, REFUSAL } from '../../workflows/shared/failures';
import { clusterClient, DEFAULT_KUBERNETES_POLL_MS, type KubernetesDeps } from './deps';
import { kubernetesStep, pause } from './failures';

export type ScalableKind = 'Deployment' | 'StatefulSet' | 'ReplicaSet';

export interface ScaleWorkloadInput {
  clusterId: string;
  namespace: string;
  kind: ScalableKind;
  name: string;
  replicas: number;
}

export interface PatchObjectInput {
  clusterId: string;
  object: ObjectRef;
  patchType: PatchType;
  /** A merge or strategic-merge patch object, or a JSON patch's operations. */
  patch: unknown;
}

export interface DeleteObjectsInput {
  clusterId: string;
  objects: ObjectRef[];
  /** Return only once each is gone (default true). */
  waitUntilGone?: boolean;
}

export interface DeleteResult {
  deleted: string[];
  alreadyGone: string[];
}

export function changeObjectActivities(deps: KubernetesDeps) {
  return {
    /** Returns the workload's generation after the change: waitForDeploymentRollout follows it. */
    async scaleKubernetesWorkload(input: ScaleWorkloadInput): Promise<{ replicas: number; generation: number }> {
      return kubernetesStep(async () => {
        if (!Number.isInteger(input.replicas) || input.replicas < 0)
          throw failure(
            REFUSAL.InvalidInput,
            `scale ${input.kind} ${input.namespace}/${input.name}: replicas must be a whole number >= 0, not ${input.replicas}`,
          );
        const ref: ObjectRef = { apiVersion: 'apps/v1', kind: input.kind, namespace: input.namespace, name: input.name };
        const client = await clusterClient(deps, input.clusterId);
        await client.scale(ref, input.replicas);
        const workload = await client.get(ref);
        return { replicas: input.replicas, generation: workload?.metadata.generation ?? 0 };
      });
    },

    async patchKubernetesObject(input: PatchObjectInput): Promise<{ generation?: number; resourceVersion?: string }> {
      return kubernetesStep(async () => {
        const client = await clusterClient(deps, input.clusterId);
        const patched = await client.patch(input.object, input.patch, input.patchType);
        return { generation: patched.metadata.generation, resourceVersion: patched.metadata.resourceVersion };
      });
    },

    async deleteKubernetesObjects(input: DeleteObjectsInput): Promise<DeleteResult> {
      return kubernetesStep(async (progress) => {
        const client = await clusterClient(deps, input.clusterId);
        const result: DeleteResult = { deleted: [], alreadyGone: [] };
        for (const object of input.objects) {
          const outcome = await client.delete(object);
          (outcome === 'deleted' ? result.deleted : result.alreadyGone).push(describeRef(object));
        }
        if (input.waitUntilGone ?? true) {
          for (let remaining = input.objects; ;) {
            const present = await Promise.all(remaining.map(async (o) => ((await client.get(o)) ? o : undefined)));
            remaining = present.filter((o): o is ObjectRef => o !== undefined);
            if (remaining.length === 0) break;
            progress({ waitingUntilGone: remaining.map(describeRef) });
            await pause(deps.pollMs ?? DEFAULT_KUBERNETES_POLL_MS);
          }
        }
        return result;
      });
    },
  };
}
