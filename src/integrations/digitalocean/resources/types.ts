// DigitalOcean API v2 resources as opsflow reads them: one type per resource, the fields opsflow
// uses (the API sends more). Shared by every module that talks to the API.

export interface ApiDroplet {
  id: number;
  name: string;
  /** new, active, off or archive. */
  status: string;
  /** True while an action (a snapshot, a resize) is under way on the droplet. */
  locked: boolean;
  tags: string[];
  networks: { v4: { ip_address: string; type: 'public' | 'private' | string }[] };
}

export interface ApiVolume {
  id: string;
  name: string;
  region: { slug: string };
  droplet_ids: number[];
  tags: string[];
}

export interface ApiVpc {
  id: string;
  name: string;
  /** Where opsflow writes its owner mark: VPCs take no tags. */
  description: string;
}

export interface ApiFirewall {
  id: string;
  name: string;
  tags: string[];
  droplet_ids?: number[];
  inbound_rules?: ApiFirewallRule[];
  outbound_rules?: ApiFirewallRule[];
}

export interface ApiReservedIp {
  ip: string;
  /** True while an assignment is under way. */
  locked: boolean;
  droplet: { id: number } | null;
}

export interface ApiSnapshot {
  id: string | number;
  name: string;
  resource_id: string;
  resource_type: 'droplet' | 'volume';
  size_gigabytes: number;
  created_at: string;
}

export interface ApiAction {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
}

export interface ApiSshKey {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

export interface ApiTag {
  name: string;
}

/** Inbound and outbound rules as the firewall endpoints take them. */
export interface ApiFirewallRule {
  protocol: string;
  ports: string;
  sources?: { addresses: string[] };
  destinations?: { addresses: string[] };
}

/** A DOKS cluster (/v2/kubernetes/clusters). */
export interface ApiKubernetesCluster {
  id: string;
  name: string;
  region: string;
  /** The API server's URL. */
  endpoint: string;
  tags: string[];
  /** provisioning, running, degraded, error, deleted, upgrading or deleting. */
  status: { state: string; message?: string };
  node_pools: { id: string; name: string; count: number; nodes: { name: string; status: { state: string } }[] }[];
}

/** A load balancer (/v2/load_balancers): splits evenly among its droplets (it has no weights). */
export interface ApiLoadBalancer {
  id: string;
  name: string;
  ip: string;
  status: string;
  droplet_ids: number[];
  tag: string;
  forwarding_rules: { entry_protocol: string; entry_port: number; target_protocol: string; target_port: number }[];
  health_check: {
    protocol: string;
    port: number;
    path?: string;
    check_interval_seconds: number;
    response_timeout_seconds: number;
    healthy_threshold: number;
    unhealthy_threshold: number;
  };
}
