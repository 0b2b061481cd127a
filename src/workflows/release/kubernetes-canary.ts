// A canary rollout's traffic and workloads on Kubernetes, as the canary engine drives them
// (CanaryTraffic): the split is the HTTPRoute's weights (setHttpRouteWeights, one idempotent
// activity per change, through HttpRouteRouter on the worker); the canary is a Deployment beside
// the stable one behind its own Service (applyKubernetesCanary, server-side apply), judged while
// the stable Deployment keeps every replica. At the end the stable Deployment gets the new images
// (a strategic merge patch by container name) while the canary carries all traffic, then the
// stable takes it all back; the canary goes only after scaleDownDelay, so requests the ingress
// still sends it finish. Every call is on the provider's queue, where the worker that holds the
// account's token fetches the cluster's kubeconfig: it never enters history.
import type { KubernetesActivities } from '../../activities/kubernetes';
import type { Weights } from '../../rollouts/traffic/router';
import type { HttpRouteTraffic } from '../../specs/kubernetes-rollout';
import type { Images } from './deploy-release';
import type { CanaryTraffic } from './canary-engine';
import type { KubernetesCanaryView } from './kubernetes-canary-view';

export interface KubernetesCanarySetup {
  kubernetes: KubernetesActivities;
  /** Made from the stable version when the canary is removed (an abort, or the end). */
  undo: KubernetesActivities;
  clusterId: string;
  traffic: HttpRouteTraffic;
  stableDeployment: string;
  canaryDeployment: string;
  replicas: number;
  canaryImages: Images;
  /** The view the status shows (weights come from the engine; this is the objects). */
  view: KubernetesCanaryView;
  changed: () => void;
}

export class KubernetesCanary implements CanaryTraffic {
  weights: Weights = { stable: 100, canary: 0 };
  effective: Weights = { stable: 100, canary: 0 };
  /** Weight changes that changed the route (a retried or repeated one changes nothing). */
  trafficChanges = 0;
  /** Whether the route ever gave the canary weight (else nothing can still be on its way to it). */
  carriedTraffic = false;
  private canaryMade = false;

  constructor(private readonly setup: KubernetesCanarySetup) {}

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
    const result = await this.setup.kubernetes.setHttpRouteWeights({
      clusterId,
      namespace: traffic.namespace,
      route: traffic.route,
      stableService: traffic.stableService,
      canaryService: traffic.canaryService,
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
    const { traffic, clusterId, view } = this.setup;
    if (this.weights.canary !== 100) await this.route({ stable: 0, canary: 100 });
    view.stable = 'updating';
    this.setup.changed();
    await this.setup.kubernetes.patchKubernetesObject({
      clusterId,
      object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: traffic.namespace, name: this.setup.stableDeployment },
      patchType: 'strategic',
      patch: {
        spec: { template: { spec: { containers: Object.entries(this.setup.canaryImages).map(([name, image]) => ({ name, image })) } } },
      },
    });
    const progress = await this.setup.kubernetes.waitForDeploymentRollout({
      clusterId,
      namespace: traffic.namespace,
      name: this.setup.stableDeployment,
    });
    view.stableReadyReplicas = progress.available;
    view.stable = 'updated';
    await this.route({ stable: 100, canary: 0 });
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
      ],
    });
    this.canaryMade = false;
    view.canary = 'removed';
    view.canaryReadyReplicas = 0;
    this.setup.changed();
    return result.deleted;
  }
}
