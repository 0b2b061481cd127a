// A DOKS cluster's life through the DigitalOcean API: made (or found again by name, so a retried or
// replayed create never makes a second one), waited for until running (heartbeating its state),
// and deleted until the API no longer knows it (one already gone counts as deleted).
import { DigitalOceanApiError } from '../../integrations/digitalocean/errors';
import type { KubernetesClusterCreate } from '../../integrations/digitalocean/resources/kubernetes-clusters';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { DEFAULT_KUBERNETES_POLL_MS, type KubernetesDeps } from './deps';
import { kubernetesStep, pause } from './failures';

export interface EnsureClusterResult {
  clusterId: string;
  /** True when this run made it (a retry finds the run's tag on it); false for one that was there before: not the run's to delete. */
  created: boolean;
}

/** Tag on every cluster opsflow makes, beside the environment's own. */
export const OPSFLOW_CLUSTER_TAG = 'opsflow';

export function clusterLifecycleActivities(deps: KubernetesDeps) {
  const pollMs = deps.pollMs ?? DEFAULT_KUBERNETES_POLL_MS;
  const clusters = () => {
    if (!deps.clusters) throw new Error('this worker has no cloud account for Kubernetes clusters (KubernetesDeps.clusters)');
    return deps.clusters();
  };
  return {
    async ensureKubernetesCluster(input: KubernetesClusterCreate & { runTag: string }): Promise<EnsureClusterResult> {
      return kubernetesStep(async () => {
        const existing = (await clusters().list()).find((c) => c.name === input.name);
        if (existing) {
          if (existing.region !== input.region)
            throw failure(
              STEP_FAILURE.KubernetesRejected,
              `a Kubernetes cluster named ${input.name} already exists in ${existing.region}, not ${input.region}: rename one of them`,
            );
          // Made by an earlier attempt of this step (its answer lost) when it carries the run's own tag.
          return { clusterId: existing.id, created: existing.tags?.includes(input.runTag) ?? false };
        }
        const { runTag, ...body } = input;
        const created = await clusters().create({ ...body, tags: [...new Set([OPSFLOW_CLUSTER_TAG, runTag, ...input.tags])] });
        return { clusterId: created.id, created: true };
      });
    },

    async waitForKubernetesCluster(input: { clusterId: string }): Promise<{ state: string; nodes: number }> {
      return kubernetesStep(async (progress) => {
        for (;;) {
          const cluster = await clusters().get(input.clusterId);
          const nodes = cluster.node_pools.reduce((n, p) => n + p.nodes.filter((node) => node.status.state === 'running').length, 0);
          progress({ state: cluster.status.state, runningNodes: nodes });
          if (cluster.status.state === 'running') return { state: 'running', nodes };
          if (cluster.status.state === 'error')
            throw failure(
              STEP_FAILURE.KubernetesRejected,
              `Kubernetes cluster ${cluster.name} failed: ${cluster.status.message ?? 'no message'}`,
            );
          await pause(pollMs);
        }
      });
    },

    /** The clusters opsflow made for an environment (both tags on them), for destroyEnvironment. */
    async listKubernetesClustersTagged(input: { tag: string }): Promise<{ id: string; name: string }[]> {
      return kubernetesStep(async () =>
        (await clusters().list())
          .filter((c) => c.tags?.includes(OPSFLOW_CLUSTER_TAG) && c.tags.includes(input.tag))
          .map((c) => ({ id: c.id, name: c.name })),
      );
    },

    async deleteKubernetesCluster(input: { clusterId: string }): Promise<'deleted' | 'already gone'> {
      return kubernetesStep(async () => {
        try {
          await clusters().delete(input.clusterId);
        } catch (err) {
          if (err instanceof DigitalOceanApiError && err.status === 404) return 'already gone';
          throw err;
        }
        for (;;) {
          try {
            await clusters().get(input.clusterId);
          } catch (err) {
            if (err instanceof DigitalOceanApiError && err.status === 404) return 'deleted';
            throw err;
          }
          await pause(pollMs);
        }
      });
    },
  };
}
