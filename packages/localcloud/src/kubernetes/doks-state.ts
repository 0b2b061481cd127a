// DOKS clusters as the API returns them (DigitalOcean's kubernetes_cluster and node_pool shapes),
// kept in the local cloud's state. Secrets (tokens, keys) are never here: they stay in the
// cluster's folder, read by the plane.

export type ClusterState = 'running' | 'provisioning' | 'degraded' | 'error' | 'deleted' | 'upgrading' | 'deleting';
export type NodeState = 'provisioning' | 'running' | 'draining' | 'deleting';

export interface KubernetesNode {
  id: string;
  name: string;
  status: { state: NodeState };
  droplet_id: string;
  created_at: string;
  updated_at: string;
}

export interface Taint {
  key: string;
  value: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface KubernetesNodePool {
  id: string;
  name: string;
  size: string;
  count: number;
  tags: string[];
  labels: Record<string, string> | null;
  taints: Taint[];
  auto_scale: boolean;
  min_nodes: number;
  max_nodes: number;
  nodes: KubernetesNode[];
}

export interface KubernetesCluster {
  id: string;
  name: string;
  region: string;
  version: string;
  cluster_subnet: string;
  service_subnet: string;
  vpc_uuid: string;
  ipv4: string;
  endpoint: string;
  tags: string[];
  node_pools: KubernetesNodePool[];
  maintenance_policy: { start_time: string; duration: string; day: string };
  auto_upgrade: boolean;
  surge_upgrade: boolean;
  ha: boolean;
  registry_enabled: boolean;
  status: { state: ClusterState; message: string };
  created_at: string;
  updated_at: string;
}
