// DOKS clusters: /v2/kubernetes/clusters, created, listed (every page), read and deleted by id,
// and the kubeconfig that reaches a cluster's API server. The kubeconfig holds a bearer token: callers keep it in memory on the worker only.
import type { DigitalOceanClient } from '../client';
import type { ApiKubernetesCluster } from './types';

/** DigitalOcean names clusters by UUID; anything else is refused before it reaches a URL path. */
const CLUSTER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkClusterId(id: string): string {
  if (!CLUSTER_ID.test(id)) throw new Error(`Kubernetes cluster id ${JSON.stringify(id)} is not a UUID`);
  return id;
}

/** The body of POST /v2/kubernetes/clusters, as opsflow sends it. */
export interface KubernetesClusterCreate {
  name: string;
  region: string;
  version: string;
  vpc_uuid?: string;
  tags: string[];
  node_pools: {
    name: string;
    size: string;
    count: number;
    auto_scale?: boolean;
    min_nodes?: number;
    max_nodes?: number;
    tags?: string[];
  }[];
}

export function kubernetesClustersApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiKubernetesCluster>('/kubernetes/clusters', 'kubernetes_clusters', {}),
    create: async (body: KubernetesClusterCreate) =>
      (await client.request<{ kubernetes_cluster: ApiKubernetesCluster }>('POST', '/kubernetes/clusters', { body })).kubernetes_cluster,
    delete: (id: string) => client.request<void>('DELETE', `/kubernetes/clusters/${checkClusterId(id)}`),
    get: async (id: string) =>
      (await client.request<{ kubernetes_cluster: ApiKubernetesCluster }>('GET', `/kubernetes/clusters/${checkClusterId(id)}`))
        .kubernetes_cluster,
    /** The cluster's kubeconfig (YAML, with a token): for a client on this worker, never for history or logs. */
    kubeconfig: (id: string) =>
      client.request<string>('GET', `/kubernetes/clusters/${checkClusterId(id)}/kubeconfig`, { responseType: 'text' }),
  };
}
