// Everything the local cloud knows, as one JSON-serialisable object. Resources are kept in the
// shape the API returns them; what the API never shows lives in `internal`.
import type { Image, Region, Size } from './catalog';
import { emptyLinodeState, type LinodeState } from './api/routes/linode/state';
import type { LinodeStatusChange } from './api/routes/linode/status';

export interface Action {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
  started_at: string;
  completed_at: string | null;
  resource_id: number | null;
  resource_type: string;
  region: Region | null;
  region_slug: string | null;
}

export interface NetworkV4 {
  ip_address: string;
  netmask: string;
  gateway: string;
  type: 'public' | 'private';
}

export interface Droplet {
  id: number;
  name: string;
  memory: number;
  vcpus: number;
  disk: number;
  locked: boolean;
  status: 'new' | 'active' | 'off' | 'archive';
  created_at: string;
  features: string[];
  backup_ids: number[];
  next_backup_window: null;
  snapshot_ids: number[];
  image: Image;
  volume_ids: string[];
  size: Size;
  size_slug: string;
  networks: { v4: NetworkV4[]; v6: [] };
  region: Region;
  tags: string[];
  vpc_uuid: string;
  kernel: null;
}

export interface SshKey {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

export interface Volume {
  id: string;
  region: Region;
  droplet_ids: number[];
  name: string;
  description: string;
  size_gigabytes: number;
  created_at: string;
  filesystem_type: string;
  filesystem_label: string;
  tags: string[];
}

export interface Snapshot {
  id: string;
  name: string;
  created_at: string;
  regions: string[];
  resource_id: string;
  resource_type: 'droplet' | 'volume';
  min_disk_size: number;
  size_gigabytes: number;
  tags: string[];
}

export interface FirewallRule {
  protocol: 'tcp' | 'udp' | 'icmp';
  ports: string;
  sources?: Record<string, unknown>;
  destinations?: Record<string, unknown>;
}

export interface Firewall {
  id: string;
  name: string;
  status: 'waiting' | 'succeeded' | 'failed';
  created_at: string;
  pending_changes: { droplet_id: number; removing: boolean; status: string }[];
  inbound_rules: FirewallRule[];
  outbound_rules: FirewallRule[];
  droplet_ids: number[];
  tags: string[];
}

export interface Vpc {
  id: string;
  urn: string;
  name: string;
  description: string;
  region: string;
  ip_range: string;
  default: boolean;
  created_at: string;
}

export interface ReservedIp {
  ip: string;
  region: Region;
  droplet: Droplet | null;
  locked: boolean;
  project_id: string;
}

export interface ForwardingRule {
  entry_protocol: string;
  entry_port: number;
  target_protocol: string;
  target_port: number;
  certificate_id?: string;
  tls_passthrough?: boolean;
}

export interface LoadBalancer {
  id: string;
  name: string;
  ip: string;
  size_unit: number;
  algorithm: 'round_robin' | 'least_connections';
  status: 'new' | 'active' | 'errored';
  created_at: string;
  forwarding_rules: ForwardingRule[];
  health_check: Record<string, unknown>;
  sticky_sessions: { type: 'none' | 'cookies' };
  redirect_http_to_https: boolean;
  enable_proxy_protocol: boolean;
  enable_backend_keepalive: boolean;
  vpc_uuid: string;
  region: Region;
  droplet_ids: number[];
  tag: string;
}

export interface Domain {
  name: string;
  ttl: number;
  zone_file: string;
}

export interface DomainRecord {
  id: number;
  domain: string;
  type: string;
  name: string;
  data: string;
  priority: number | null;
  port: number | null;
  ttl: number;
  weight: number | null;
  flags: number | null;
  tag: string | null;
}

/** What completing an action does; serialisable so pending actions survive a restart. */
export type ActionEffect =
  | { kind: 'droplet-active'; dropletId: number }
  | { kind: 'droplet-power'; dropletId: number; status: 'active' | 'off' }
  | { kind: 'droplet-snapshot'; dropletId: number; snapshotName: string; createdAt?: string }
  | { kind: 'droplet-resize'; dropletId: number; sizeSlug: string }
  | { kind: 'droplet-rename'; dropletId: number; name: string }
  | { kind: 'volume-attach'; volumeId: string; dropletId: number }
  | { kind: 'volume-detach'; volumeId: string; dropletId: number }
  | { kind: 'volume-resize'; volumeId: string; sizeGigabytes: number }
  | { kind: 'reserved-ip-assign'; ip: string; dropletId: number }
  | { kind: 'reserved-ip-unassign'; ip: string }
  | LinodeStatusChange
  | { kind: 'none' };

export interface PendingAction {
  dueAt: number;
  effect: ActionEffect;
  /** Failing on purpose (fault injection): the action ends `errored` and the effect is skipped. */
  fail: boolean;
  /** Droplet locked while this action runs, if any. */
  lockedDropletId?: number;
}

export interface DropletHostRecord {
  /** Loopback address the droplet's host answers on, reported as its public IPv4. */
  address: string;
  sshPort: number;
  authorizedKeys: string[];
  /** Address inside its VPC, reported as its private IPv4. */
  privateAddress: string;
  /** Which of its cloud's uid ranges the droplet's users get (uid-range.ts); set when it first boots. */
  uidSlot?: number;
}

export interface CloudState {
  nextId: number;
  actions: Action[];
  droplets: Droplet[];
  sshKeys: SshKey[];
  volumes: Volume[];
  snapshots: Snapshot[];
  firewalls: Firewall[];
  vpcs: Vpc[];
  reservedIps: ReservedIp[];
  /** Tags created explicitly; tags named by resources exist implicitly too. */
  tags: string[];
  loadBalancers: LoadBalancer[];
  domains: Domain[];
  domainRecords: DomainRecord[];
  /** The Linode account the same cloud serves (API v4). */
  linode: LinodeState;
  internal: {
    pendingActions: Record<string, PendingAction>;
    hosts: Record<string, DropletHostRecord>;
    /** Volume actions report no numeric resource id; this maps action id to volume id. */
    volumeActions: Record<string, string>;
    nextHostAddress: number;
    nextReservedAddress: number;
  };
}

export function emptyState(): CloudState {
  return {
    nextId: 1000,
    actions: [],
    droplets: [],
    sshKeys: [],
    volumes: [],
    snapshots: [],
    firewalls: [],
    vpcs: [],
    reservedIps: [],
    tags: [],
    loadBalancers: [],
    domains: [],
    domainRecords: [],
    linode: emptyLinodeState(),
    internal: { pendingActions: {}, hosts: {}, volumeActions: {}, nextHostAddress: 1, nextReservedAddress: 1 },
  };
}
