// rolloutRelease for a canary on Kubernetes (spec.traffic.httpRoute): the Kubernetes side of the
// one canary engine (canary-engine.ts). At its start it reads the stable version (the cluster by
// name or id, the stable Service and Deployment, the images its containers run, the route's rule:
// all refused by name before anything changes); after the take-over (the route at 100/0) it makes
// the canary Deployment and Service and waits until every canary replica is available; the spec's
// steps move the route's weights; at the end the stable Deployment gets the new images and the
// canary goes. An abort or a failed analysis puts all traffic on stable first, then, after
// scaleDownDelay, deletes the canary (saga); the stable Deployment is never touched by an abort.
// A blueGreen spec runs kubernetes-blue-green.ts under the same claim (patch
// `rollout-kubernetes-blue-green`: runs from before it refused blue-green at their start).
import { patched, type ActivityOptions } from '@temporalio/workflow';
import type { KubernetesActivities } from '../../activities/kubernetes';
import { DEFAULT_PROVIDER } from '../../providers/cloud-provider';
import {
  canaryDeploymentName,
  canaryReplicas,
  describeTrafficObject,
  parseKubernetesRolloutInput,
  type KubernetesRolloutInput,
} from '../../specs/kubernetes-rollout';
import { durationMs } from '../../specs/rollout';
import { providerTaskQueue } from '../../temporal/task-queues';
import { CLOUD_CALL, CLOUD_RETRY } from '../shared/cloud-activity-options';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { COMPENSATION_RETRY } from '../shared/saga';
import { summarizedActivities } from '../shared/summarized-activities';
import { refuse, validated } from '../shared/validated';
import { runCanary, waitFor, type CanaryPlan } from './canary-engine';
import { blueGreenOnKubernetes, type KubernetesCalls } from './kubernetes-blue-green';
import { KubernetesCanary, plannedView, readStableVersion } from './kubernetes-canary';
import type { RolloutResult } from './rollout-api';

// A rollout waits on the cluster (pods becoming available) for minutes; the activities heartbeat.
const CALL: ActivityOptions = {
  ...CLOUD_CALL,
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  taskQueue: providerTaskQueue(DEFAULT_PROVIDER),
};

/** Runs started before blue-green on Kubernetes was built refused it before any command; they replay that way. */
export const KUBERNETES_BLUE_GREEN_PATCH = 'rollout-kubernetes-blue-green';

export async function rollOutOnKubernetes(input: KubernetesRolloutInput): Promise<RolloutResult> {
  const parsed = validated('input', parseKubernetesRolloutInput, input);
  if (parsed.spec.blueGreen && !patched(KUBERNETES_BLUE_GREEN_PATCH))
    refuse('input', 'spec.blueGreen', 'blue-green on Kubernetes is not built yet: use a canary (traffic.httpRoute weights) for now');
  const calls: KubernetesCalls = {
    kubernetes: summarizedActivities<KubernetesActivities>({ ...CALL, retry: CLOUD_RETRY }),
    undo: summarizedActivities<KubernetesActivities>({ ...CALL, retry: COMPENSATION_RETRY }),
  };
  // One claim, two strategies: blue-green switches the same route between whole Deployments.
  const run = () => (parsed.spec.blueGreen ? blueGreenOnKubernetes(parsed, calls) : rollOut(parsed, calls));
  return withEnvironmentClaim(parsed.environment, 'rollout', run, {
    change: (result) => ({ kind: 'deployed', images: result.images }),
  });
}

async function rollOut(
  parsed: ReturnType<typeof parseKubernetesRolloutInput>,
  { kubernetes, undo }: KubernetesCalls,
): Promise<RolloutResult> {
  const { environment, images, spec, requestedBy, traffic } = parsed;
  const canary = spec.canary!;
  const objects = plannedView(traffic);
  const canaryWords = `canary Deployment ${traffic.canaryDeployment ?? `<stable>-canary`} and Service ${traffic.canaryService}`;
  const plan: CanaryPlan = {
    environment,
    requestedBy,
    spec,
    canaryImages: images,
    prepareSteps: ['deploy the canary'],
    finishSteps: ['remove the canary'],
    view: { kubernetes: objects },
    heading: ' (Kubernetes)',
  };
  return runCanary(plan, async ({ view, changed, step, fail }) => {
    const target = await readStableVersion({ kubernetes, environment, traffic, images, step, fail });
    const canaryDeployment = canaryDeploymentName(traffic, target.stableDeployment);
    const replicas = canaryReplicas(canary.maxSurge, target.stableReplicas);
    view.kubernetes = objects;
    const side = KubernetesCanary.forTarget(target, {
      kubernetes,
      undo,
      traffic,
      canaryDeployment,
      replicas,
      canaryImages: images,
      view: objects,
      changed,
    });
    let removed: string[] = [];
    /**
     * Nothing routes to the canary now: kept scaleDownDelay so requests under way finish (none can
     * be if it never had weight), then deleted.
     */
    const remove = async () => {
      const delay = side.carriedTraffic ? durationMs(canary.scaleDownDelay) : 0;
      objects.canaryRemovedAfter = new Date(Date.now() + delay).toISOString();
      changed();
      await waitFor(delay);
      removed = await side.removeCanary();
    };
    return {
      traffic: side,
      stableImages: target.stableImages,
      // Registered before the apply: the delete is safe when nothing was made, and catches a canary
      // whose apply answer was lost.
      undo: [{ name: `remove the ${canaryWords}`, run: remove }],
      prepare: async () => {
        step('deploy the canary');
        await side.deployCanary();
      },
      finish: async () => {
        step('remove the canary');
        await remove();
      },
      result: () => ({ hosts: [], kubernetes: { ...objects, removed } }),
      aborted: () => ({ canaryRemoved: removed }),
      undone: () => (removed.length ? `${removed.join(' and ')} deleted` : 'no canary object was left to delete'),
      checkByHand: `${describeTrafficObject(traffic)} and the canary Deployment ${traffic.namespace}/${canaryDeployment} on cluster ${traffic.cluster}`,
      rollbackDetails: () => ({ canaryRemoved: removed }),
    };
  });
}
