// The surge droplets a canary runs on when the spec sets maxSurge: made beside the fleet through
// the provider seam as provisioning makes droplets (the fleet's droplet group: size, image, tags;
// the environment's region and VPC; the firewall follows the environment's tag), reached over SSH
// with the host key pinned on first contact, bootstrapped and given the compose application with
// the canary's images, behind the health gate. Destroyed at the end, or by the saga on an abort.
//
// Names and tags make every create safe to repeat: a droplet is `<env>-<group>-surge-<n>` and
// carries the rollout run's owner tag (opsflow:rollout-<env>), so a retried create (a lost answer,
// a worker killed mid-call) finds the droplet it already made instead of making a second, and the
// destroy deletes by that tag, which also catches a droplet whose create answer never arrived.
//
// A blue-green rollout whose fleet cannot spare a host makes its preview droplets the same way
// (role `preview`: `<env>-<group>-preview-<n>`, tagged opsflow-preview), and a failover that scales
// the survivor its extra app servers (role `scale`: `<env>-<group>-scale-<n>`, tagged opsflow-scale,
// given the application's own images).
import { ActivityCancellationType, workflowInfo } from '@temporalio/workflow';
import { workflowTag, type Owner } from '../../names/ownership-tags';
import { serverName } from '../../names/resource-names';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import type { EnvironmentSpec } from '../../specs/environment';
import { previewInstance, surgeInstance } from '../../specs/rollout-release';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { COMPENSATION_RETRY } from '../shared/saga';
import { bootstrap, deployApplication, healthGate, waitForSsh, type HealthCheck, type HostTarget } from '../environment/host-steps';
import { expectRunning, runningImages, type Images } from './deploy-release';
import type { SurgeDropletView } from './rollout-api';

/** Every surge droplet carries it too, so a look at the account (or Prometheus's service discovery) tells them apart. */
export const SURGE_TAG = 'opsflow-surge';
/** The same for a blue-green rollout's preview droplets. */
export const PREVIEW_TAG = 'opsflow-preview';
/** The same for the app servers a failover adds to its survivor (scaleSurvivor). */
export const SCALE_TAG = 'opsflow-scale';

export type MadeDropletRole = 'surge' | 'preview' | 'scale';
const ROLE_TAGS: Record<MadeDropletRole, string> = { surge: SURGE_TAG, preview: PREVIEW_TAG, scale: SCALE_TAG };

/** The instance name of the n-th app server (1-based) a failover adds beside group `group`: `app-scale-1`. */
export const scaleInstance = (group: string, n: number) => `${group}-scale-${n}`;
const ROLE_INSTANCES: Record<MadeDropletRole, (group: string, n: number) => string> = {
  surge: surgeInstance,
  preview: previewInstance,
  scale: scaleInstance,
};

export interface SurgeSetup {
  environment: EnvironmentSpec;
  /** The droplet group of the fleet's hosts: what each surge droplet is made as. */
  group: EnvironmentSpec['droplets'][number];
  count: number;
  /** The environment's VPC (from its inventory), which the droplets join as the fleet did. */
  networkId?: string;
  directory: string;
  checks: HealthCheck[];
  canaryImages: Images;
  /** The status and the Web UI are told of every change. */
  changed: () => void;
  /** What the droplets are for (default surge: a canary's); names, tag and the steps' words follow it. */
  role?: MadeDropletRole;
}

export class SurgeDroplets {
  /** Shown in the rollout's status (`rollout.surge`), one per droplet, in name order. */
  readonly views: SurgeDropletView[];
  targets: HostTarget[] = [];
  private readonly owner: Owner;
  private cloud?: CloudProviderActivities;
  private undo?: CloudProviderActivities;

  constructor(private readonly setup: SurgeSetup) {
    this.owner = { workflowId: workflowInfo().workflowId, environment: setup.environment.name };
    this.views = Array.from({ length: setup.count }, (_, i) => {
      const instance = ROLE_INSTANCES[setup.role ?? 'surge'](setup.group.name, i + 1);
      return { instance, name: serverName(setup.environment.name, instance), state: 'planned' };
    });
  }

  /** `surge droplet stack-b-platform-surge-1` (or `surge droplets a, b`; `preview droplet ...`): how the steps name them. */
  get described(): string {
    const kind = this.role === 'scale' ? 'server' : 'droplet';
    return `${this.role} ${kind}${this.views.length === 1 ? '' : 's'} ${this.views.map((v) => v.name).join(', ')}`;
  }

  get role(): MadeDropletRole {
    return this.setup.role ?? 'surge';
  }

  /** The tag every surge droplet of this rollout carries, and the destroy deletes by. */
  get tag(): string {
    return workflowTag(this.owner);
  }

  /** The provider's activities; made inside the workflow on first use (the provider seam's patch check). */
  private activities(): { cloud: CloudProviderActivities; undo: CloudProviderActivities } {
    const provider = this.setup.environment.cloud;
    // On cancellation a create in flight is waited for: the cloud may still carry it out.
    this.cloud ??= cloudProvider(provider, { retry: CLOUD_RETRY, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });
    this.undo ??= cloudProvider(provider, { retry: COMPENSATION_RETRY });
    return { cloud: this.cloud, undo: this.undo };
  }

  /** Every droplet's state in the status (a preview droplet is `ready` out of rotation, `serving` once switched to). */
  mark(state: SurgeDropletView['state'], extra: Partial<SurgeDropletView> = {}): void {
    for (const view of this.views) Object.assign(view, { state, ...extra });
    this.setup.changed();
  }

  /** The droplets made (or found, made by an earlier attempt), active, and answering SSH with their host key pinned. */
  async create(): Promise<void> {
    const { environment, group, networkId } = this.setup;
    const { cloud } = this.activities();
    this.mark('creating');
    // The account keeps the key: the fleet's droplets were given it when they were made.
    const { fingerprint } = await cloud.ensureSshKey({ name: environment.ssh.key });
    const made = await cloud.ensureServers({
      owner: this.owner,
      names: this.views.map((v) => v.name),
      region: environment.region,
      size: group.size,
      image: group.image,
      tags: [...group.tags, ROLE_TAGS[this.role]],
      networkId,
      sshKeyFingerprints: [fingerprint],
    });
    for (const view of this.views) view.id = made.find((s) => s.name === view.name)?.id;
    this.setup.changed();
    const servers = await cloud.waitForServers({ servers: made });
    for (const view of this.views) view.address = servers.find((s) => s.name === view.name)?.publicIp;
    this.setup.changed();
    this.targets = await Promise.all(this.views.map((view) => waitForSsh(environment, view.instance, view.address!)));
  }

  /** The environment's bootstrap on each, as provisioning does it. */
  async bootstrap(): Promise<void> {
    this.mark('bootstrapping');
    await Promise.all(this.targets.map((target) => bootstrap(target, this.setup.environment.bootstrap)));
  }

  /**
   * The compose application on each, as the fleet runs it (each service's image read from `fleetHost`;
   * without one, the images the environment spec names) but with the canary's images; then the
   * health gate, and the canary images running as asked.
   */
  async deploy(fleetHost?: HostTarget): Promise<void> {
    const app = this.setup.environment.application!;
    const { directory, checks, canaryImages } = this.setup;
    this.mark('deploying');
    const running = fleetHost ? await runningImages(fleetHost, directory) : {};
    const fleetImages = Object.fromEntries(
      Object.entries(app.images).map(([service, image]) => [service, running[service]?.length === 1 ? running[service]![0]! : image]),
    );
    const images = { ...fleetImages, ...canaryImages };
    await Promise.all(
      this.targets.map(async (target) => {
        await deployApplication(target, { ...app, images });
        await healthGate(target.host, checks);
        await expectRunning(target, directory, canaryImages);
      }),
    );
    this.mark(this.role === 'surge' ? 'serving' : 'ready');
  }

  /** Out of rotation: requests under way finish until `until` (scaleDownDelay), then the droplets go. */
  draining(until: string): void {
    this.mark('draining', { until });
  }

  /** Every droplet carrying this rollout's tag deleted (also one whose create answer was lost); returns how many there were. */
  async destroy(): Promise<number> {
    const { undo } = this.activities();
    this.mark('destroying');
    const deleted = await undo.deleteServersTagged({ tag: this.tag });
    this.mark('destroyed', { until: undefined });
    return deleted;
  }
}
