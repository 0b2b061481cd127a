// Reads for status and diagnosis: the pods of a namespace (optionally by label selector) and the
// events of a namespace (optionally of one object), in the small views of pod-views.ts.
import { eventView, newestFirst, podView, type EventView, type PodView } from '../../integrations/kubernetes/pod-views';
import { failure, REFUSAL } from '../../workflows/shared/failures';
import { clusterClient, type KubernetesDeps } from './deps';
import { kubernetesStep } from './failures';

export interface ReadPodsInput {
  clusterId: string;
  namespace: string;
  /** A label selector such as `app=web` or `app in (web,api)`. */
  labelSelector?: string;
}

export interface ReadEventsInput {
  clusterId: string;
  namespace: string;
  /** Only the events of this object. */
  object?: { kind: string; name: string };
  /** At most this many, newest first (default 50). */
  limit?: number;
}

/** The object's kind and name as a field selector; refused when they could carry another selector. */
function objectSelector(object: { kind: string; name: string }): string {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(object.kind) || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(object.name))
    throw failure(REFUSAL.InvalidInput, `events of ${object.kind} ${object.name}: not a Kubernetes kind and object name`);
  return `involvedObject.kind=${object.kind},involvedObject.name=${object.name}`;
}

export function readClusterActivities(deps: KubernetesDeps) {
  return {
    async readKubernetesPods(input: ReadPodsInput): Promise<PodView[]> {
      return kubernetesStep(async () => {
        const client = await clusterClient(deps, input.clusterId);
        const pods = await client.list('v1', 'Pod', input.namespace, { labelSelector: input.labelSelector });
        return pods.items.map(podView).sort((a, b) => a.name.localeCompare(b.name));
      });
    },
    async readKubernetesEvents(input: ReadEventsInput): Promise<EventView[]> {
      return kubernetesStep(async () => {
        const client = await clusterClient(deps, input.clusterId);
        const fieldSelector = input.object ? objectSelector(input.object) : undefined;
        const events = await client.list('v1', 'Event', input.namespace, { fieldSelector });
        return newestFirst(events.items.map(eventView)).slice(0, input.limit ?? 50);
      });
    },
  };
}
