// A canary rollout's hosts and traffic: which hosts run the canary, and the split nginx on the
// front host applies over them (or, for a load balancer without weights, its membership:
// LoadBalancerMembershipRouter, its API calls on the provider's queue and its waits timers). Canary hosts are taken from the fleet a batch (maxUnavailable) at a
// time: out of nginx's upstream, the new images written and started, the health gate, then back
// in as canary servers. With maxSurge, the canary runs on surge droplets instead (made by
// surge-droplets.ts and given here once they serve): the fleet stays whole and stable until every
// step has passed, then its hosts change a batch at a time while the surge droplets carry the
// traffic. Every traffic change is one idempotent activity (the same split over the same servers
// writes nothing), so a retry or a replay after a worker kill never applies it twice.
import type { Activities } from '../../activities';
import type { LoadBalancerMembershipRouter } from '../../rollouts/traffic/membership-router';
import { TrafficWeightsError, type Weights } from '../../rollouts/traffic/router';
import { healthGate, SSH_STEP, type HealthCheck, type HostTarget } from '../environment/host-steps';
import { failure, STEP_FAILURE } from '../shared/failures';
import { summarizedActivities } from '../shared/summarized-activities';
import { composeUp, expectRunning, restore, setImages, type Images } from './deploy-release';

// The activity heartbeats every 2 s: a worker killed mid-change is noticed within 15 s and the
// change retried on another (it finds its split in place and applies nothing twice).
const traffic = summarizedActivities<Activities>({
  ...SSH_STEP,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
});

export interface FleetSetup {
  fleet: HostTarget[];
  /** nginx's front host, upstream and files (absent when the split is a load balancer's membership). */
  front?: HostTarget;
  /** Where each fleet host's application answers (nginx's upstream servers are address:port). */
  port: number;
  upstream?: string;
  upstreamFile?: string;
  pidFile?: string;
  /** The split by load balancer membership instead of nginx. */
  membership?: LoadBalancerMembershipRouter;
  directory: string;
  checks: HealthCheck[];
  stableImages: Images;
  canaryImages: Images;
  batchSize: number;
  /** The canary runs on surge droplets (addSurge): no fleet host leaves rotation for it. */
  surge?: boolean;
  changed: () => void;
}

export class RolloutFleet {
  stable: HostTarget[];
  canary: HostTarget[] = [];
  /** Out of rotation while their images change: neither version can be counted on there. */
  changing: HostTarget[] = [];
  /** Surge droplets in the upstream, on its canary side with the fleet's canary hosts. */
  surge: HostTarget[] = [];
  weights: Weights = { stable: 100, canary: 0 };
  /** The split really given (membership: the members' share, which may differ from the weight asked). */
  effective: Weights = { stable: 100, canary: 0 };
  /** Why they differ, for the status. */
  note?: string;
  /** Traffic changes applied (each one nginx -t and a reload on the front host). */
  trafficChanges = 0;

  constructor(private readonly setup: FleetSetup) {
    this.stable = [...setup.fleet];
  }

  /** Canary hosts a weight needs: its share of the fleet, at least one, and always one host left stable. */
  canaryHostsFor(weight: number): number {
    const n = this.setup.fleet.length;
    if (weight === 0) return this.canary.length;
    return Math.max(this.canary.length, Math.min(n - 1, Math.max(1, Math.ceil((weight * n) / 100))));
  }

  /** The canary side's instance names, for the status (the engine's CanaryTraffic). */
  get canaryNames(): string[] {
    return this.canarySide.map((h) => h.instance);
  }

  /** The stable hosts' instance names, for the status. */
  get stableNames(): string[] {
    return this.stable.map((h) => h.instance);
  }

  /** Every host on the upstream's canary side: the fleet's canary hosts, then the surge droplets. */
  get canarySide(): HostTarget[] {
    return [...this.canary, ...this.surge];
  }

  /** The split over the stable and canary hosts as they stand (hosts changing are in neither). */
  async route(weights: Weights): Promise<void> {
    const membership = this.setup.membership;
    if (membership) {
      const before = membership.changes;
      try {
        membership.setHosts(
          this.stable.map((h) => h.instance),
          this.canary.map((h) => h.instance),
        );
        await membership.setWeights(weights);
      } catch (err) {
        // A split that cannot be drawn fails the run (not its workflow task, which would retry for ever).
        if (err instanceof TrafficWeightsError) throw failure(STEP_FAILURE.TrafficRefused, err.message);
        throw err;
      }
      if (membership.changes > before) this.trafficChanges++;
      this.effective = membership.plan!.effective;
      this.note = membership.describe();
    } else {
      if (await applySplit(this.setup as SplitSetup, this.stable, this.canarySide, weights)) this.trafficChanges++;
      this.effective = weights;
    }
    this.weights = weights;
    this.setup.changed();
  }

  /** Enough canary hosts for `weight` (surge droplets need none from the fleet), then the split. */
  async setWeight(weight: number): Promise<void> {
    const needed = this.setup.surge ? 0 : this.canaryHostsFor(weight);
    while (this.canary.length < needed)
      await this.changeBatch(this.stable.slice(0, Math.min(this.setup.batchSize, needed - this.canary.length)));
    await this.route({ stable: 100 - weight, canary: weight });
  }

  /** The abort's first undo: all traffic to the hosts still on the stable version (false if none is left). */
  async trafficToStable(): Promise<boolean> {
    if (this.stable.length === 0) return false;
    await this.route({ stable: 100, canary: 0 });
    return true;
  }

  /** The abort's second undo: hosts that changed (or were changing) back on the stable images, healthy, and back in as stable. */
  async restoreCanaries(): Promise<string[]> {
    const restored: string[] = [];
    for (;;) {
      // Hosts out of rotation first; a canary host is taken out unless it still carries all the traffic.
      const batch = this.changing.length ? this.changing : this.canary.slice(0, this.setup.batchSize);
      if (batch.length === 0) break;
      if (batch !== this.changing) {
        this.canary = this.canary.filter((h) => !batch.includes(h));
        this.changing = batch;
        if (this.weights.canary === 0 || this.canarySide.length > 0) await this.route(this.weights);
      }
      await Promise.all(batch.map((host) => restore(host, this.setup.directory, this.setup.stableImages, this.setup.checks)));
      this.changing = [];
      this.stable = this.setup.fleet.filter((h) => this.stable.includes(h) || batch.includes(h));
      restored.push(...batch.map((h) => h.instance));
      // As soon as a stable host is back, it takes all the traffic.
      if (this.weights.canary > 0) await this.route({ stable: 100, canary: 0 });
    }
    await this.route({ stable: 100, canary: 0 });
    return restored;
  }

  /**
   * Every step passed: all traffic to the canary, the rest of the fleet updated, then all of it the
   * new stable. Surge droplets stay in the upstream at weight 0 (drained) for removeSurge.
   */
  async complete(): Promise<void> {
    if (this.canarySide.length === 0) await this.setWeight(100);
    if (this.weights.canary !== 100) await this.route({ stable: 0, canary: 100 });
    // The rest carry no traffic now (stable weight 0), so nothing waits on them while they change.
    while (this.stable.length > 0) await this.changeBatch(this.stable.slice(0, this.setup.batchSize));
    this.stable = [...this.setup.fleet];
    this.canary = [];
    await this.route({ stable: 100, canary: 0 });
  }

  /** Surge droplets that serve the canary image, on the upstream's canary side from the next split on. */
  addSurge(hosts: HostTarget[]): void {
    this.surge.push(...hosts.filter((h) => !this.surge.includes(h)));
    this.setup.changed();
  }

  /** Whether surge droplets still get requests: they are on the canary side, and it has weight. */
  get surgeCarriesTraffic(): boolean {
    return this.surge.length > 0 && this.weights.canary > 0;
  }

  /**
   * The surge droplets out of the upstream (they were drained at weight 0 first). Refused while
   * they carry traffic that no other host would take: that would drop requests.
   */
  async removeSurge(): Promise<string[]> {
    const removed = this.surge.map((h) => h.instance);
    if (this.surge.length === 0) return removed;
    if (this.surgeCarriesTraffic && this.canary.length === 0)
      throw new Error(
        `surge droplet${removed.length === 1 ? '' : 's'} ${removed.join(', ')} still carr${removed.length === 1 ? 'ies' : 'y'} ${this.weights.canary}% of the traffic and no other host would take it over`,
      );
    this.surge = [];
    await this.route(this.weights);
    return removed;
  }

  /** Stable hosts out of rotation, the new images started, healthy and running as asked, then in as canary servers. */
  private async changeBatch(batch: HostTarget[]): Promise<void> {
    this.stable = this.stable.filter((h) => !batch.includes(h));
    this.changing = batch;
    await this.route(this.weights);
    await Promise.all(batch.map((host) => this.deploy(host, this.setup.canaryImages)));
    this.canary.push(...batch);
    this.changing = [];
    await this.route(this.weights);
  }

  private deploy(host: HostTarget, images: Images): Promise<void> {
    return deployImages(host, this.setup.directory, images, this.setup.checks);
  }
}

/** Where nginx runs and what it splits: the part of a fleet's setup a traffic change needs. */
export type SplitSetup = Required<Pick<FleetSetup, 'front' | 'port' | 'upstream' | 'upstreamFile' | 'pidFile'>>;

/** One traffic change on the front host (one setNginxWeights activity); true if nginx's file changed. */
export async function applySplit(setup: SplitSetup, stable: HostTarget[], canary: HostTarget[], weights: Weights): Promise<boolean> {
  const servers = (hosts: HostTarget[]) => hosts.map((h) => `${h.host}:${setup.port}`);
  const { front } = setup;
  const result = await traffic.setNginxWeights({
    host: front.host,
    port: front.port,
    user: front.user,
    key: front.key,
    fingerprints: front.fingerprints,
    upstream: setup.upstream,
    upstreamFile: setup.upstreamFile,
    pidFile: setup.pidFile,
    stable: servers(stable),
    canary: servers(canary),
    weights,
  });
  return result.changed;
}

/** deployRelease's host steps on one host out of rotation: the images written and started, the health gate, running as asked. */
export async function deployImages(host: HostTarget, directory: string, images: Images, checks: HealthCheck[]): Promise<void> {
  await setImages(host, directory, images);
  await composeUp(host, directory);
  await healthGate(host.host, checks);
  await expectRunning(host, directory, images);
}
