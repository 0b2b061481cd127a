// The canary of a Kubernetes rollout as objects, from the stable Deployment and Service as the API
// server returns them (pure, so it is unit-tested without a cluster). The canary Deployment is a
// copy of the stable one with the new images, `track: canary` on its selector and pods, and its own
// replicas; the canary Service is the stable one's ports with the canary's selector. The stable
// Service must not select the canary's pods (its selector names `track` with another value), or it
// would send the canary its own share of the traffic behind the route's back: refused by name.
import type { KubeObject } from '../../integrations/kubernetes/client';
import type { Manifest } from '../../integrations/kubernetes/manifests';
import { describeRef } from '../../integrations/kubernetes/refs';
import { rolloutState } from '../../integrations/kubernetes/rollout-status';

/** The pod label that tells the canary's (or a blue-green preview's) pods from the stable ones. */
export const TRACK_LABEL = 'track';
export const CANARY_TRACK = 'canary';
/** A blue-green rollout's preview: the same copy of the stable Deployment, at its full size. */
export const PREVIEW_TRACK = 'preview';
export type Track = typeof CANARY_TRACK | typeof PREVIEW_TRACK;
/** On every object opsflow makes for a canary: which Deployment it is the canary of. */
export const CANARY_OF_LABEL = 'opsflow.dev/canary-of';

export class CanaryObjectProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanaryObjectProblem';
  }
}

type Labels = Record<string, string>;

interface Container {
  name: string;
  image?: string;
  [field: string]: unknown;
}

const selects = (selector: Labels, labels: Labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);

export function podLabels(deployment: KubeObject): Labels {
  return (deployment.spec?.template?.metadata?.labels ?? {}) as Labels;
}

export function serviceSelector(service: KubeObject): Labels {
  return (service.spec?.selector ?? {}) as Labels;
}

/** Whether `service` selects the pods of `deployment` (a Service with no selector selects none). */
export function serviceSelectsPods(service: KubeObject, deployment: KubeObject): boolean {
  const selector = serviceSelector(service);
  return Object.keys(selector).length > 0 && selects(selector, podLabels(deployment));
}

/** Each named container's image in the Deployment's pod template; refused naming the containers it has. */
export function containerImages(deployment: KubeObject, names: string[]): Record<string, string> {
  const containers = (deployment.spec?.template?.spec?.containers ?? []) as Container[];
  const missing = names.filter((n) => !containers.some((c) => c.name === n));
  if (missing.length)
    throw new CanaryObjectProblem(
      `${describeRef(refOf(deployment, 'Deployment'))} has no container ${missing.join(', ')} (its containers: ${containers.map((c) => c.name).join(', ') || 'none'}); images are given by container name`,
    );
  return Object.fromEntries(names.map((n) => [n, containers.find((c) => c.name === n)!.image ?? '']));
}

/** The stable Service must not select the canary's pods (they carry its labels, `track: canary` (or `preview`) added). */
export function checkStableService(service: KubeObject, stable: KubeObject, track: Track = CANARY_TRACK): void {
  const selector = serviceSelector(service);
  const canaryPods = { ...podLabels(stable), [TRACK_LABEL]: track };
  if (!serviceSelectsPods(service, stable))
    throw new CanaryObjectProblem(
      `${describeRef(refOf(service, 'Service'))} does not select the pods of ${describeRef(refOf(stable, 'Deployment'))} (selector ${text(selector)}, pod labels ${text(podLabels(stable))})`,
    );
  if (selects(selector, canaryPods))
    throw new CanaryObjectProblem(
      `${describeRef(refOf(service, 'Service'))} selects ${text(selector)}, which the canary's pods would carry too (${text(canaryPods)}), so it would send them part of the stable traffic: add ${TRACK_LABEL}: stable to its selector and to the pod labels of ${describeRef(refOf(stable, 'Deployment'))}`,
    );
}

/** The stable version is what the Deployment runs only once its own rollout is done: else refused, nothing changed. */
export function checkStableSettled(stable: KubeObject): void {
  const state = rolloutState(stable);
  if (state.state === 'done') return;
  throw new CanaryObjectProblem(
    `${describeRef(refOf(stable, 'Deployment'))} is not rolled out (${state.state === 'stalled' ? `${state.reason}: ${state.message}` : `waiting for ${state.waitingFor}`}), so it runs no one stable version: nothing was changed; finish or undo its last change first`,
  );
}

export interface CanaryObjects {
  deployment: Manifest;
  service: Manifest;
}

export interface CanaryPlan {
  stable: KubeObject;
  stableService: KubeObject;
  deploymentName: string;
  serviceName: string;
  images: Record<string, string>;
  replicas: number;
  /** The pods' `track` label: `canary` (default) or a blue-green rollout's `preview`. */
  track?: Track;
}

/** The canary Deployment and Service to server-side apply. */
export function canaryObjects(plan: CanaryPlan): CanaryObjects {
  const { stable, stableService } = plan;
  const track = plan.track ?? CANARY_TRACK;
  const namespace = stable.metadata.namespace ?? 'default';
  const stableName = stable.metadata.name;
  containerImages(stable, Object.keys(plan.images));
  const labels = { ...(stable.metadata.labels ?? {}), [CANARY_OF_LABEL]: stableName };
  const template = structuredClone(stable.spec?.template ?? {}) as {
    metadata?: { labels?: Labels; [k: string]: unknown };
    spec?: { containers?: Container[] };
  };
  template.metadata = { ...(template.metadata ?? {}), labels: { ...podLabels(stable), [TRACK_LABEL]: track } };
  // Generated on each pod; a copy of the stable's would be stale.
  delete (template.metadata as Record<string, unknown>).creationTimestamp;
  for (const container of template.spec?.containers ?? []) if (plan.images[container.name]) container.image = plan.images[container.name];
  const spec = structuredClone(stable.spec ?? {}) as Record<string, unknown>;
  delete spec.paused;
  const deployment: Manifest = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: plan.deploymentName, namespace, labels },
    spec: {
      ...spec,
      replicas: plan.replicas,
      selector: { matchLabels: { ...((stable.spec?.selector?.matchLabels ?? {}) as Labels), [TRACK_LABEL]: track } },
      template,
    },
  };
  const ports = ((stableService.spec?.ports ?? []) as Record<string, unknown>[]).map((p) => {
    const { nodePort: _nodePort, ...port } = p;
    return port;
  });
  const service: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: plan.serviceName, namespace, labels: { [CANARY_OF_LABEL]: stableName } },
    spec: { selector: { ...serviceSelector(stableService), [TRACK_LABEL]: track }, ports },
  };
  return { deployment, service };
}

/** An object's reference for messages; `kind` when the object read back carries none (a GET's answer may not). */
function refOf(o: KubeObject, kind: 'Deployment' | 'Service') {
  return { kind: o.kind ?? kind, namespace: o.metadata.namespace, name: o.metadata.name };
}

const text = (labels: Labels) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')}}`;
