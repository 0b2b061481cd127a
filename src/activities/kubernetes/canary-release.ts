// The Kubernetes side of a canary rollout, as activities on the provider's queue (the kubeconfig is
// fetched on the worker by cluster id at each call, never in history):
// - readKubernetesCanaryTarget: the cluster found by name or id, the stable Service, the stable
//   Deployment (named, or the one its Service selects), the images it runs, the route's rule;
//   everything a rollout checks before it changes anything, each problem named.
// - applyKubernetesCanary: the canary Deployment and Service (canary-objects.ts) by server-side
//   apply under field manager opsflow; applying the same again changes nothing.
// - setHttpRouteWeights: the split on the HTTPRoute through HttpRouteRouter (idempotent);
//   setIngressCanaryWeights the same on a canary Ingress through IngressCanaryRouter.
import type { KubeObject, KubernetesClient } from '../../integrations/kubernetes/client';
import { describeRef, type ObjectRef } from '../../integrations/kubernetes/refs';
import {
  CanaryObjectProblem,
  canaryObjects,
  checkStableSettled,
  checkStableService,
  containerImages,
  serviceSelectsPods,
  type Track,
} from '../../rollouts/kubernetes/canary-objects';
import { HttpRouteRouter } from '../../rollouts/traffic/http-route-router';
import { IngressCanaryRouter } from '../../rollouts/traffic/ingress-canary-router';
import { TrafficWeightsError, type Weights } from '../../rollouts/traffic/router';
import { failure, REFUSAL, STEP_FAILURE } from '../../workflows/shared/failures';
import { clusterClient, type KubernetesDeps } from './deps';
import { kubernetesStep } from './failures';

export interface CanaryTargetInput {
  /** The DOKS cluster by name or id. */
  cluster: string;
  namespace: string;
  route: string;
  stableService: string;
  canaryService: string;
  stableDeployment?: string;
  /** The containers the rollout changes (their images now are the stable version). */
  containers: string[];
  /** With traffic.ingressCanary: `route` is the main Ingress, and this the canary Ingress beside it. */
  canaryIngress?: string;
  /** The pods' `track` the rollout will make: `canary` (default) or a blue-green `preview`. */
  track?: Track;
}

export interface CanaryTarget {
  clusterId: string;
  stableDeployment: string;
  stableReplicas: number;
  /** The images the named containers run now: the stable version. */
  stableImages: Record<string, string>;
  /** The split the route gives now. */
  weights: Weights;
}

export interface ApplyCanaryInput {
  clusterId: string;
  namespace: string;
  stableDeployment: string;
  stableService: string;
  canaryDeployment: string;
  canaryService: string;
  images: Record<string, string>;
  replicas: number;
  /** `canary` (default), or `preview` for a blue-green rollout's full-size copy. */
  track?: Track;
}

export interface RouteWeightsInput {
  clusterId: string;
  namespace: string;
  route: string;
  stableService: string;
  canaryService: string;
  weights: Weights;
}

/** The split on a canary Ingress: `ingress` is the main one, `canaryIngress` the one opsflow makes beside it. */
export interface IngressWeightsInput {
  clusterId: string;
  namespace: string;
  ingress: string;
  canaryIngress: string;
  stableService: string;
  canaryService: string;
  weights: Weights;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const deploymentRef = (namespace: string, name: string): ObjectRef => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
const serviceRef = (namespace: string, name: string): ObjectRef => ({ apiVersion: 'v1', kind: 'Service', namespace, name });

const refused = (message: string) => failure(REFUSAL.InvalidInput, message);

/** The cluster's id from its name or id (the environment may know either). */
export async function clusterIdOf(deps: KubernetesDeps, cluster: string): Promise<string> {
  if (!deps.clusters) return cluster;
  const clusters = await deps.clusters().list();
  const found = clusters.find((c) => c.id === cluster) ?? clusters.filter((c) => c.name === cluster);
  if (!Array.isArray(found)) return found.id;
  if (found.length === 1) return found[0]!.id;
  if (found.length === 0 && UUID.test(cluster)) return cluster;
  throw refused(
    found.length === 0
      ? `no Kubernetes cluster is named or has the id ${cluster} (the account has ${clusters.map((c) => c.name).join(', ') || 'none'})`
      : `${found.length} Kubernetes clusters are named ${cluster}: give the cluster's id`,
  );
}

async function mustGet(client: KubernetesClient, ref: ObjectRef, why: string): Promise<KubeObject> {
  const object = await client.get(ref);
  if (!object) throw refused(`${describeRef(ref)} does not exist: ${why}`);
  return object;
}

/** The Deployment named, or the one Deployment whose pods the stable Service selects. */
async function stableDeploymentOf(client: KubernetesClient, input: CanaryTargetInput, service: KubeObject): Promise<KubeObject> {
  if (input.stableDeployment)
    return mustGet(client, deploymentRef(input.namespace, input.stableDeployment), 'traffic.httpRoute.stableDeployment names it');
  const all = (await client.list('apps/v1', 'Deployment', input.namespace)).items;
  const selected = all.filter((d) => serviceSelectsPods(service, d));
  if (selected.length !== 1)
    throw refused(
      `${describeRef(serviceRef(input.namespace, input.stableService))} selects the pods of ${selected.length === 0 ? 'no Deployment' : `${selected.length} Deployments (${selected.map((d) => d.metadata.name).join(', ')})`}: name the stable one in traffic.httpRoute.stableDeployment`,
    );
  return selected[0]!;
}

export function canaryReleaseActivities(deps: KubernetesDeps) {
  return {
    async readKubernetesCanaryTarget(input: CanaryTargetInput): Promise<CanaryTarget> {
      return kubernetesStep(async () => {
        const clusterId = await clusterIdOf(deps, input.cluster);
        const client = await clusterClient(deps, clusterId);
        const service = await mustGet(client, serviceRef(input.namespace, input.stableService), 'traffic.httpRoute.stableService names it');
        const stable = await stableDeploymentOf(client, input, service);
        try {
          checkStableSettled(stable);
          checkStableService(service, stable, input.track);
          const stableImages = containerImages(stable, input.containers);
          const router = routerFor(client, input);
          const weights = await router.weightsNow();
          return {
            clusterId,
            stableDeployment: stable.metadata.name,
            stableReplicas: (stable.spec?.replicas as number | undefined) ?? 1,
            stableImages,
            weights,
          };
        } catch (err) {
          if (err instanceof CanaryObjectProblem || err instanceof TrafficWeightsError) throw refused(err.message);
          throw err;
        }
      });
    },

    async applyKubernetesCanary(input: ApplyCanaryInput): Promise<{ deployment: string; service: string; generation?: number }> {
      return kubernetesStep(async () => {
        const client = await clusterClient(deps, input.clusterId);
        const stable = await mustGet(client, deploymentRef(input.namespace, input.stableDeployment), 'the rollout read it at its start');
        const stableService = await mustGet(client, serviceRef(input.namespace, input.stableService), 'the rollout read it at its start');
        let objects;
        try {
          objects = canaryObjects({
            stable,
            stableService,
            deploymentName: input.canaryDeployment,
            serviceName: input.canaryService,
            images: input.images,
            replicas: input.replicas,
            track: input.track,
          });
        } catch (err) {
          if (err instanceof CanaryObjectProblem) throw refused(err.message);
          throw err;
        }
        // opsflow's own objects: a leftover of an earlier aborted run is taken over, not refused.
        const deployment = await client.apply(objects.deployment, { force: true });
        await client.apply(objects.service, { force: true });
        return {
          deployment: describeRef(deploymentRef(input.namespace, input.canaryDeployment)),
          service: describeRef(serviceRef(input.namespace, input.canaryService)),
          generation: deployment.metadata.generation,
        };
      });
    },

    async setHttpRouteWeights(input: RouteWeightsInput): Promise<{ weights: Weights; changed: boolean }> {
      return setWeights(deps, input.clusterId, input.weights, (client) => routerFor(client, input));
    },

    /** The split on a canary Ingress (traffic.ingressCanary), made beside the main one at the first change. */
    async setIngressCanaryWeights(input: IngressWeightsInput): Promise<{ weights: Weights; changed: boolean }> {
      const { ingress, ...rest } = input;
      return setWeights(deps, input.clusterId, input.weights, (client) => routerFor(client, { ...rest, route: ingress }));
    },
  };
}

/** One idempotent weight change through `router`: whether it changed the split opsflow last recorded. */
async function setWeights(
  deps: KubernetesDeps,
  clusterId: string,
  weights: Weights,
  router: (client: KubernetesClient) => HttpRouteRouter | IngressCanaryRouter,
): Promise<{ weights: Weights; changed: boolean }> {
  return kubernetesStep(async () => {
    const r = router(await clusterClient(deps, clusterId));
    try {
      const before = await r.currentWeights();
      await r.setWeights(weights);
      const changed = !before || before.stable !== weights.stable || before.canary !== weights.canary;
      return { weights, changed };
    } catch (err) {
      if (err instanceof TrafficWeightsError) throw failure(STEP_FAILURE.TrafficRefused, err.message);
      throw err;
    }
  });
}

/** The HTTPRoute's router, or with `canaryIngress` the canary Ingress router (`route` then names the main Ingress). */
function routerFor(
  client: KubernetesClient,
  r: Pick<RouteWeightsInput, 'namespace' | 'route' | 'stableService' | 'canaryService'> & { canaryIngress?: string },
) {
  const { namespace, stableService, canaryService } = r;
  if (r.canaryIngress)
    return new IngressCanaryRouter({ client, namespace, ingress: r.route, canaryIngress: r.canaryIngress, stableService, canaryService });
  return new HttpRouteRouter({ client, namespace, route: r.route, stableService, canaryService });
}

export type CanaryReleaseActivities = ReturnType<typeof canaryReleaseActivities>;
