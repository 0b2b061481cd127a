// What opsflow knows about one environment, kept by its entity workflow (environment-entity.ts) and
// changed only by the operations that claim it. Pure data and pure functions: the workflow, the
// CLI (`opsflow env show`, `opsflow deploy`) and the backup activities share them.
import type { ProviderId } from '../../providers/cloud-provider';

/** Operations that change an environment; one at a time per environment. */
export type OperationKind = 'provision' | 'deploy' | 'destroy' | 'rollout' | 'failover' | 'failback' | 'dr drill';

export type OperationOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'abandoned';

/** The workflow run holding (or asking for) an environment's claim. */
export interface Holder {
  workflowId: string;
  runId: string;
  operation: OperationKind;
  /**
   * The parent run that started this one. When the parent holds the environment, the child's claim
   * is granted inside it (a DR drill's failover and failback) and the parent holds it again after.
   */
  within?: { workflowId: string; runId: string };
}

export interface OperationRecord extends Holder {
  startedAt: string;
  endedAt?: string;
  outcome: OperationOutcome;
  /** One line: what failed, or what an abandoned claim's run was found to be. */
  detail?: string;
}

export interface InventoryHost {
  instance: string;
  dropletId?: number;
  address: string;
  privateAddress?: string;
  /** The host key fingerprint pinned on first contact: what deploys and backups trust. */
  hostKey: string;
}

export interface InventoryHealthCheck {
  name: string;
  port: number;
  path: string;
  paths?: string[];
  expectStatus: number;
  expectBodyContains?: string;
  expectBodyMatches?: string;
  expectHeaders?: Record<string, string>;
  intervalSeconds: number;
  attempts: number;
}

export interface AttachedBackups {
  policy: string;
  scheduleId: string;
  /** The policy's targets in this environment, as `name (kind)`. */
  targets: string[];
  attachedAt: string;
}

export interface Inventory {
  environment: string;
  state: 'new' | 'provisioned' | 'destroyed';
  cloud?: string;
  region?: string;
  hosts: InventoryHost[];
  ssh?: { user: string; port: number; key: string };
  application?: { directory: string; images: Record<string, string> };
  healthChecks: InventoryHealthCheck[];
  resources: {
    vpcId?: string;
    firewallId?: string;
    volumes: { name: string; id: string }[];
    reservedIp?: string;
    /** A Kubernetes environment's DOKS cluster (stack D): destroy deletes it. */
    kubernetesCluster?: { id: string; name: string };
  };
  backups: AttachedBackups[];
  /**
   * A failover that stands: traffic and the primary moved from `from` onto `to` by that run. Set
   * when a failover succeeds, cleared when a failback brings `from` back.
   */
  failover?: StandingFailover;
  /** The run holding the environment now, if any; `outer`: the parent it holds it inside, which holds it again after. */
  holder?: Holder & { since: string; outer?: Holder & { since: string } };
  /** Newest last, at most MAX_OPERATIONS. */
  operations: OperationRecord[];
}

export interface StandingFailover {
  from: string;
  to: string;
  workflowId: string;
  at: string;
  /** The survivor's scale servers the failover made (scaleSurvivor): the failback removes them. */
  scale?: StandingScale;
}

export interface StandingScale {
  /** The provider that made them, and the tag each carries (deleteServersTagged). */
  cloud: ProviderId;
  tag: string;
  /** Their origins in the survivor's pool. */
  origins: { name: string; address: string; port: number }[];
}

/** What an operation that ends well changes (sent with its release). */
export type InventoryChange =
  | {
      kind: 'provisioned';
      cloud: string;
      region: string;
      hosts: InventoryHost[];
      /** None for a Kubernetes environment: it has no hosts to log in to. */
      ssh?: { user: string; port: number; key: string };
      application?: { directory: string; images: Record<string, string> };
      healthChecks: InventoryHealthCheck[];
      resources: Inventory['resources'];
    }
  | { kind: 'deployed'; images: Record<string, string> }
  | { kind: 'destroyed' }
  | ({ kind: 'failed over' } & StandingFailover)
  | { kind: 'failed back'; from: string; to: string };

/** Sent by an operation when it ends, however it ends. */
export interface Release {
  holder: Holder;
  outcome: Exclude<OperationOutcome, 'running' | 'abandoned'>;
  detail?: string;
  change?: InventoryChange;
}

export interface ClaimRequest {
  holder: Holder;
  /** Wait for the running operation to end instead of being refused. */
  wait?: boolean;
}

export const MAX_OPERATIONS = 50;

export const emptyInventory = (environment: string): Inventory => ({
  environment,
  state: 'new',
  hosts: [],
  healthChecks: [],
  resources: { volumes: [] },
  backups: [],
  operations: [],
});

export function applyChange(inventory: Inventory, change: InventoryChange): void {
  if (change.kind === 'provisioned') {
    Object.assign(inventory, {
      state: 'provisioned',
      cloud: change.cloud,
      region: change.region,
      hosts: change.hosts,
      ssh: change.ssh,
      application: change.application,
      healthChecks: change.healthChecks,
      resources: change.resources,
    });
  } else if (change.kind === 'deployed') {
    if (inventory.application) inventory.application.images = { ...inventory.application.images, ...change.images };
  } else if (change.kind === 'failed over') {
    const { kind: _kind, ...standing } = change;
    inventory.failover = standing;
  } else if (change.kind === 'failed back') {
    delete inventory.failover;
  } else {
    // Backups and their schedules are kept (and stay listed): destroy never deletes them.
    Object.assign(inventory, { state: 'destroyed', hosts: [], application: undefined, resources: { volumes: [] } });
  }
}

/** The host key pinned for an instance, for a backup that names no hostKey of its own. */
export function pinnedHostKey(inventory: Inventory, instance: string): string | undefined {
  return inventory.hosts.find((h) => h.instance === instance)?.hostKey;
}

export const describeHolder = (h: Holder) => `${h.operation} ${h.workflowId} (run ${h.runId})`;
