// A canary rollout's traffic and workloads on Kubernetes, as the canary engine drives them
// (CanaryTraffic): the split is the HTTPRoute's weights (setHttpRouteWeights, one idempotent
// activity per change, through HttpRouteRouter on the worker), or with traffic.ingressCanary a
// canary Ingress's canary-weight (setIngressCanaryWeights); the canary is a Deployment beside
// the stable one behind its own Service (applyKubernetesCanary, server-side apply), judged while
// the stable Deployment keeps every replica. At the end the stable Deployment gets the new images
// (a strategic merge patch by container name) while the canary carries all traffic, then the
// stable takes it all back; the canary goes only after scaleDownDelay, so requests the ingress
// still sends it finish. A blue-green rollout (kubernetes-blue-green.ts) drives the same class with
// its preview as the canary: full size, `track: preview`, the split only ever 100/0 or 0/100.
// Every call is on the provider's queue, where the worker that holds the account's token fetches
// the cluster's kubeconfig: it never enters history.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { KubernetesActivities } from '../../activities/kubernetes';
import type { CanaryTarget } from '../../activities/kubernetes/canary-release';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import type { Weights } from '../../rollouts/traffic/router';
import type { KubernetesTraffic } from '../../specs/kubernetes-rollout';
import type { Images } from './deploy-release';
import type { CanaryTraffic } from './canary-engine';
import type { KubernetesCanaryView } from './kubernetes-canary-view';

export interface KubernetesCanarySetup {
  kubernetes: KubernetesActivities;
  /** Made from the stable version when the canary is removed (an abort, or the end). */
  undo: KubernetesActivities;
  clusterId: string;
  traffic: KubernetesTraffic;
  stableDeployment: string;
  canaryDeployment: string;
  replicas: number;
  canaryImages: Images;
  /** A blue-green rollout's preview (`track: preview`, the stable's size); else a canary. */
  track?: 'preview';
  /** The view the status shows (weights come from the engine; this is the objects). */
  view: KubernetesCanaryView;
  changed: () => void;
}

/** The status's view of the cluster's side before anything is read: the spec's names, both sides as they are. */
export function plannedView(traffic: KubernetesTraffic, track?: 'preview'): KubernetesCanaryView {
  return {
    cluster: traffic.cluster,
    namespace: traffic.namespace,
    route: traffic.route,
    ...(traffic.canaryIngress ? { canaryIngress: traffic.canaryIngress } : {}),
    stableService: traffic.stableService,
    canaryService: traffic.canaryService,
    stable: 'serving',
    canary: 'planned',
    ...(track ? { track } : {}),
  };
}

export interface KubernetesRolloutStart {
  kubernetes: KubernetesActivities;
  environment: string;
  traffic: KubernetesTraffic;
  images: Images;
  step: (name: string) => void;
  /** Records the failure in the status, then throws it. */
  fail: (err: unknown) => never;
  track?: 'preview';
}

/**
 * A Kubernetes rollout's first steps, canary or blue-green: searchable as the environment's
 * rollout, then the stable version read (every problem refused by name before anything changes).
 */
export async function readStableVersion(start: KubernetesRolloutStart): Promise<CanaryTarget> {
  const { traffic, step } = start;
  step('validate input');
  upsertSearchAttributes([
    { key: OpsEnvironment, value: start.environment },
    { key: OpsOperation, value: 'rollout' },
  ]);
  step('record running images');
  try {
    return await start.kubernetes.readKubernetesCanaryTarget({
      cluster: traffic.cluster,
      namespace: traffic.namespace,
      route: traffic.route,
      stableService: traffic.stableService,
      canaryService: traffic.canaryService,
      stableDeployment: traffic.stableDeployment,
      containers: Object.keys(start.images),
      ...(traffic.canaryIngress ? { canaryIngress: traffic.canaryIngress } : {}),
      ...(start.track ? { track: start.track } : {}),
    });
  } catch (err) {
    return start.fail(err);
  }
}

export class KubernetesCanary implements CanaryTraffic {
  weights: Weights = { stable: 100, canary: 0 };
  effective: Weights = { stable: 100, canary: 0 };
  /** Weight changes that changed the route (a retried or repeated one changes nothing). */
  trafficChanges = 0;
  /** Whether the route ever gave the canary weight (else nothing can still be on its way to it). */
  carriedTraffic = false;
  /** Whether complete() has begun changing the stable Deployment's images (the undo puts them back). */
  stableChanged = false;
  private canaryMade = false;

  constructor(private readonly setup: KubernetesCanarySetup) {}

  /** The side for the stable version read at the start (readStableVersion); the view gets its objects' names and sizes. */
  static forTarget(target: CanaryTarget, setup: Omit<KubernetesCanarySetup, 'clusterId' | 'stableDeployment'>): KubernetesCanary {
    Object.assign(setup.view, {
      clusterId: target.clusterId,
      stableDeployment: target.stableDeployment,
      stableReplicas: target.stableReplicas,
      canaryDeployment: setup.canaryDeployment,
      canaryReplicas: setup.replicas,
    });
    return new KubernetesCanary({ ...setup, clusterId: target.clusterId, stableDeployment: target.stableDeployment });
  }

  private get ns(): string {
    return this.setup.traffic.namespace;
  }

  get canaryNames(): string[] {
    return this.canaryMade ? [`Deployment ${this.ns}/${this.setup.canaryDeployment}`] : [];
  }

  get stableNames(): string[] {
    return [`Deployment ${this.ns}/${this.setup.stableDeployment}`];
  }

  async route(weights: Weights): Promise<void> {
    const { traffic, clusterId } = this.setup;
    const { namespace, stableService, canaryService } = traffic;
    // traffic.ingressCanary: the canary Ingress's weight, else the HTTPRoute's.
    const result = traffic.canaryIngress
      ? await this.setup.kubernetes.setIngressCanaryWeights({
          clusterId,
          namespace,
          ingress: traffic.route,
          canaryIngress: traffic.canaryIngress,
          stableService,
          canaryService,
          weights,
        })
      : await this.setup.kubernetes.setHttpRouteWeights({
          clusterId,
          namespace,
          route: traffic.route,
          stableService,
          canaryService,
          weights,
        });
    if (result.changed) this.trafficChanges++;
    if (weights.canary > 0) this.carriedTraffic = true;
    this.weights = weights;
    this.effective = weights;
    this.setup.changed();
  }

  async setWeight(weight: number): Promise<void> {
    await this.route({ stable: 100 - weight, canary: weight });
  }

  async trafficToStable(): Promise<boolean> {
    await this.route({ stable: 100, canary: 0 });
    return true;
  }

  /** The canary Deployment and Service applied, and the Deployment rolled out (every replica available). */
  async deployCanary(): Promise<void> {
    const { traffic, clusterId, view } = this.setup;
    view.canary = 'deploying';
    this.setup.changed();
    await this.setup.kubernetes.applyKubernetesCanary({
      clusterId,
      namespace: traffic.namespace,
      stableDeployment: this.setup.stableDeployment,
      stableService: traffic.stableService,
      canaryDeployment: this.setup.canaryDeployment,
      canaryService: traffic.canaryService,
      images: this.setup.canaryImages,
      replicas: this.setup.replicas,
      ...(this.setup.track ? { track: this.setup.track } : {}),
    });
    this.canaryMade = true;
    const progress = await this.setup.kubernetes.waitForDeploymentRollout({
      clusterId,
      namespace: traffic.namespace,
      name: this.setup.canaryDeployment,
    });
    view.canaryReadyReplicas = progress.available;
    view.canary = 'serving';
    this.setup.changed();
  }

  /**
   * Every step passed: the canary takes all traffic, the stable Deployment gets the new images and
   * rolls out (it carries none meanwhile), then it takes all traffic back. The canary stays until
   * removeCanary, after scaleDownDelay.
   */
  async complete(): Promise<void> {
    const { view } = this.setup;
    if (this.weights.canary !== 100) await this.route({ stable: 0, canary: 100 });
    view.stable = 'updating';
    this.stableChanged = true;
    this.setup.changed();
    view.stableReadyReplicas = await this.setStableImages(this.setup.kubernetes, this.setup.canaryImages);
    view.stable = 'updated';
    await this.route({ stable: 100, canary: 0 });
  }

  /**
   * The rollback's undo of complete() (a blue-green rollout's, whose preview still carries the
   * traffic then): the stable Deployment back on `images` and rolled out, so the switch back that
   * follows lands on the old version. Whether it had changed.
   */
  async restoreStable(images: Images): Promise<boolean> {
    if (!this.stableChanged) return false;
    await this.setStableImages(this.setup.undo, images);
    this.stableChanged = false;
    this.setup.view.stable = 'serving';
    this.setup.changed();
    return true;
  }

  /** The stable Deployment's containers on `images` (a strategic merge patch by name), then rolled out; its replicas available. */
  private async setStableImages(calls: KubernetesActivities, images: Images): Promise<number> {
    const { traffic, clusterId } = this.setup;
    await calls.patchKubernetesObject({
      clusterId,
      object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: traffic.namespace, name: this.setup.stableDeployment },
      patchType: 'strategic',
      patch: { spec: { template: { spec: { containers: Object.entries(images).map(([name, image]) => ({ name, image })) } } } },
    });
    const progress = await calls.waitForDeploymentRollout({ clusterId, namespace: traffic.namespace, name: this.setup.stableDeployment });
    return progress.available;
  }

  /** The canary Deployment and Service deleted (idempotent: gone ones count as done), once nothing routes to them. */
  async removeCanary(): Promise<string[]> {
    const { traffic, clusterId, view } = this.setup;
    if (this.weights.canary !== 0)
      throw new Error(`the canary still has ${this.weights.canary}% of the traffic: it is removed only once the route gives it none`);
    view.canary = 'removing';
    this.setup.changed();
    const result = await this.setup.undo.deleteKubernetesObjects({
      clusterId,
      objects: [
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: traffic.namespace, name: this.setup.canaryDeployment },
        { apiVersion: 'v1', kind: 'Service', namespace: traffic.namespace, name: traffic.canaryService },
        // traffic.ingressCanary: the canary Ingress (weight 0 by now) goes with them.
        ...(traffic.canaryIngress
          ? [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: traffic.namespace, name: traffic.canaryIngress }]
          : []),
      ],
    });
    this.canaryMade = false;
    view.canary = 'removed';
    view.canaryReadyReplicas = 0;
    this.setup.changed();
    return result.deleted;
  }
}
