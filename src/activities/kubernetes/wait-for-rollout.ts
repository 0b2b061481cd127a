// Waits until a Deployment's rollout is done: the controller observed its latest generation and
// every desired replica is updated and available, none of an old revision left. Heartbeats carry
// the counts. When the rollout cannot progress (the Deployment's progressDeadlineSeconds passed:
// the controller says ProgressDeadlineExceeded) it fails at once, with the reasons its pods and
// events give (Unschedulable, FailedScheduling, ImagePullBackOff...), not after the activity's timeout.
import type { KubernetesClient } from '../../integrations/kubernetes/client';
import { eventView, explainStall, newestFirst, podView, type EventView, type PodView } from '../../integrations/kubernetes/pod-views';
import { describeRef, type ObjectRef } from '../../integrations/kubernetes/refs';
import { rolloutState, selectorText, type RolloutProgress } from '../../integrations/kubernetes/rollout-status';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { clusterClient, DEFAULT_KUBERNETES_POLL_MS, type KubernetesDeps } from './deps';
import { kubernetesStep, pause } from './failures';

export interface WaitForRolloutInput {
  clusterId: string;
  namespace: string;
  /** The Deployment's name. */
  name: string;
}

export const deploymentRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace,
  name,
});

/** The Deployment's pods, and the events of it, its ReplicaSets and its pods, newest first. */
export async function deploymentDiagnosis(
  client: KubernetesClient,
  namespace: string,
  name: string,
  selector: Parameters<typeof selectorText>[0] | undefined,
): Promise<{ pods: PodView[]; events: EventView[] }> {
  const labelSelector = selector ? selectorText(selector) : undefined;
  const pods = labelSelector ? (await client.list('v1', 'Pod', namespace, { labelSelector })).items : [];
  const replicaSets = labelSelector ? (await client.list('apps/v1', 'ReplicaSet', namespace, { labelSelector })).items : [];
  const involved = new Set([
    `Deployment ${name}`,
    ...replicaSets
      .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === name))
      .map((rs) => `ReplicaSet ${rs.metadata.name}`),
    ...pods.map((p) => `Pod ${p.metadata.name}`),
  ]);
  const events = (await client.list('v1', 'Event', namespace)).items.map(eventView).filter((e) => involved.has(e.object));
  return { pods: pods.map(podView), events: newestFirst(events) };
}

export function waitForRolloutActivity(deps: KubernetesDeps) {
  return async function waitForDeploymentRollout(input: WaitForRolloutInput): Promise<RolloutProgress> {
    return kubernetesStep(async (progress) => {
      const ref = deploymentRef(input.namespace, input.name);
      const client = await clusterClient(deps, input.clusterId);
      for (;;) {
        const deployment = await client.get(ref);
        if (!deployment)
          throw failure(STEP_FAILURE.KubernetesNotFound, `${describeRef(ref)} does not exist: there is no rollout to wait for`);
        const state = rolloutState(deployment);
        if (state.state === 'done') return state.progress;
        if (state.state === 'stalled') {
          const { pods, events } = await deploymentDiagnosis(client, input.namespace, input.name, deployment.spec?.selector);
          throw failure(
            STEP_FAILURE.RolloutStalled,
            `${describeRef(ref)} cannot progress (${state.reason}: ${state.message}); ${state.progress.available} of ${state.progress.desired} replicas available. ${explainStall(pods, events)}`,
            { details: [{ progress: state.progress, pods, events: events.slice(0, 20) }] },
          );
        }
        progress({ ...state.progress, waitingFor: state.waitingFor });
        await pause(deps.pollMs ?? DEFAULT_KUBERNETES_POLL_MS);
      }
    });
  };
}
