// The cloud-neutral vocabulary workflows speak: what a provider's activities take and return.
// Each provider (src/activities/<provider>/) implements CloudProviderActivities on its own task
// queue; sizes, images, region slugs, volume device paths and how ownership is marked (tags,
// labels) stay behind it. Pure types and data: safe in workflow code.
import type { Owner } from '../names/ownership-tags';
import type { SnapshotActivities } from './snapshots';

/** Every provider opsflow knows of; a spec's `cloud:` names one. */
export const PROVIDER_IDS = ['digitalocean', 'linode'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/**
 * Providers whose activities a worker can run. A spec may only name one of these: a run routed to
 * a queue no worker serves would wait for ever (the worker serves `opsflow-linode` with or without
 * LINODE_TOKEN, and a step there without one fails naming what to set).
 */
export const IMPLEMENTED_PROVIDERS = ['digitalocean', 'linode'] as const satisfies readonly ProviderId[];

export type ImplementedProviderId = (typeof IMPLEMENTED_PROVIDERS)[number];

/** Where an environment lives when its spec (or a destroy) names no cloud. */
export const DEFAULT_PROVIDER: ImplementedProviderId = 'digitalocean';

export const isImplementedProvider = (value: unknown): value is ImplementedProviderId =>
  (IMPLEMENTED_PROVIDERS as readonly unknown[]).includes(value);

/** Both providers opsflow targets number their servers. */
export type ServerId = number;

export interface ServerRef {
  id: ServerId;
  name: string;
}

/** A server that is running, with the addresses it answers on. */
export interface Server extends ServerRef {
  publicIp: string;
  privateIp: string;
}

export interface FirewallRule {
  protocol: string;
  /** A port or a range, such as "22" or "8081-8084". */
  ports: string;
  sources: string[];
}

export interface Volume {
  id: string;
  name: string;
  /** Where the attached volume appears on its server: the provider decides the path. */
  devicePath: string;
}

/** A load balancer in front of servers (not used by a workflow yet: Stack E's sites will). */
export interface LoadBalancerSpec {
  owner: Owner;
  name: string;
  region: string;
  forwarding: { protocol: 'http' | 'https' | 'tcp'; port: number; targetPort: number }[];
  healthCheck: { protocol: 'http' | 'tcp'; port: number; path?: string };
  serverIds: ServerId[];
}

export interface LoadBalancer {
  id: string;
  name: string;
  ip: string;
}

/** A load balancer that splits evenly among its members (DigitalOcean's), as the membership backend reads it. */
export interface LoadBalancerState {
  id: string;
  name: string;
  ip: string;
  /** new, active or errored. */
  status: string;
  /** Set when it selects its members by tag (members cannot then be added one by one). */
  tag?: string;
  /** Its members now, with the addresses that tell which fleet host each is. */
  members: { id: ServerId; name: string; publicIp: string; privateIp: string }[];
  forwarding: { entryProtocol: string; entryPort: number; targetPort: number }[];
  healthCheck: {
    protocol: string;
    port: number;
    intervalSeconds: number;
    timeoutSeconds: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
  };
}

/** Everything an environment owns at a provider, found by its ownership mark. */
export interface EnvironmentResources {
  /** The mark every server of the environment carries (deleteServersTagged takes it). */
  tag: string;
  servers: ServerRef[];
  volumes: { id: string; region: string; serverIds: ServerId[] }[];
  firewalls: string[];
  networks: string[];
  floatingIps: string[];
}

export type DeleteOutcome = 'deleted' | 'already gone';

/**
 * Set by a workflow that knows no earlier run left anything of its environment: a first attempt
 * then creates without looking for its own resource first (a retry always looks: only a lost
 * response can have made one). Absent (older runs) means look, as before.
 */
export interface Fresh {
  fresh?: boolean;
}

/** The activities a provider registers on its task queue (providerTaskQueue). */
export interface CloudProviderActivities extends SnapshotActivities {
  /** Makes sure the account holds the worker's named SSH key; returns its fingerprint (never the key). */
  ensureSshKey(input: { name: string }): Promise<{ fingerprint: string }>;
  ensureNetwork(input: { owner: Owner; name: string; region: string; ipRange: string } & Fresh): Promise<{ id: string }>;
  deleteNetwork(input: { id: string }): Promise<DeleteOutcome>;
  ensureFirewall(input: { owner: Owner; name: string; inbound: FirewallRule[] } & Fresh): Promise<{ id: string }>;
  deleteFirewall(input: { id: string }): Promise<DeleteOutcome>;
  /** Replaces the firewall's inbound rules (what it covers and its outbound rules stay). Idempotent. */
  setFirewallInbound(input: { id: string; inbound: FirewallRule[] }): Promise<void>;
  ensureServers(
    input: {
      owner: Owner;
      names: string[];
      region: string;
      size: string;
      image: string;
      tags: string[];
      networkId?: string;
      sshKeyFingerprints: string[];
    } & Fresh,
  ): Promise<ServerRef[]>;
  waitForServers(input: { servers: ServerRef[] }): Promise<Server[]>;
  /** Deletes every server carrying the mark, then waits until none is listed; returns how many there were. */
  deleteServersTagged(input: { tag: string }): Promise<number>;
  ensureVolume(input: { owner: Owner; name: string; region: string; sizeGb: number; filesystem: string } & Fresh): Promise<Volume>;
  attachVolume(input: { volumeId: string; serverId: ServerId; region: string } & Fresh): Promise<void>;
  detachVolume(input: { volumeId: string; serverId: ServerId; region: string }): Promise<void>;
  deleteVolume(input: { id: string }): Promise<DeleteOutcome>;
  /** An address that moves between servers (DigitalOcean's reserved IP, Linode's shared IP). */
  ensureFloatingIp(input: { serverId: ServerId } & Fresh): Promise<{ ip: string }>;
  releaseFloatingIp(input: { ip: string }): Promise<DeleteOutcome>;
  listEnvironmentResources(input: { environment: string }): Promise<EnvironmentResources>;
  /** A load balancer by id or name (a name must be unique), with its members; a rollout weights by its membership. */
  readLoadBalancer(input: { loadBalancer: string }): Promise<LoadBalancerState>;
  /** Makes the load balancer's members exactly these servers (adds, then removes; nothing when already so). */
  setLoadBalancerMembers(input: { loadBalancerId: string; members: ServerId[] }): Promise<{ added: ServerId[]; removed: ServerId[] }>;
}
