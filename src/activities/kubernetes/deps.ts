// What the Kubernetes activities are built from: where a cluster's kubeconfig comes from (the
// provider's API, fetched on the worker at each activity: it holds a token that never enters
// history), and how often a wait polls.
import type { kubernetesClustersApi } from '../../integrations/digitalocean/resources/kubernetes-clusters';
import type { KubernetesClient } from '../../integrations/kubernetes/client';

export interface KubernetesDeps {
  /** The kubeconfig (YAML) of the provider's cluster `clusterId`, fetched on the worker. */
  kubeconfig: (clusterId: string) => Promise<string>;
  /** The account's cluster API (create, list, get, delete), for the cluster lifecycle activities. */
  clusters?: () => ReturnType<typeof kubernetesClustersApi>;
  /** How often waits read the cluster (default 1 s). */
  pollMs?: number;
}

export const DEFAULT_KUBERNETES_POLL_MS = 1000;

/** A client of the cluster, from a kubeconfig fetched now (tokens of real clusters expire). */
export async function clusterClient(deps: KubernetesDeps, clusterId: string): Promise<KubernetesClient> {
  const kubeconfig = await deps.kubeconfig(clusterId);
  // Loaded at first use: client-node is large, and every worker (and test) that registers these
  // activities without running one need not load it.
  const { KubernetesClient } = await import('../../integrations/kubernetes/client');
  return KubernetesClient.fromKubeconfig(kubeconfig, `the kubeconfig of cluster ${clusterId}`);
}
