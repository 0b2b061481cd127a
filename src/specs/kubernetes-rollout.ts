// The rollout spec and input of a canary or blue-green rollout on Kubernetes: the same canary steps,
// blueGreen phases, analyses and notify as a droplet rollout (src/specs/rollout.ts), with traffic
// weighted on a Gateway API HTTPRoute of a DOKS cluster (or on a canary Ingress beside the main one,
// ingress-nginx's canary-weight) instead of nginx on a droplet. No fleet: the
// stable version is a Deployment behind the stable Service, and the canary (or the blue-green
// preview, at the stable's full size) a copy of it behind the canary Service. What rolloutRelease
// takes for it is the environment, the new images by container name, the spec and who asks.
// Pure: the CLI and the workflow call the same functions.
import { z } from 'zod';
import { parseSpec, SpecError } from './common';
import { IMAGE_REF } from './deploy-release';
import { environmentName } from './environment-name';
import { whenAnObject } from './messages';
import { actorName, resolveSurge } from './rollout-release';
import { checkStrategyAndAnalyses, rolloutShape } from './rollout';

/** A Kubernetes object name (RFC 1123 label: Services, Deployments and routes all accept it). */
const objectName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes name: lowercase letters, digits and "-", at most 63');

/** What both ways of weighting share: the cluster, the Services and the Deployments. */
const kubernetesTarget = {
  /** The DOKS cluster, by name or id, as the environment knows it. */
  cluster: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be a DOKS cluster name or id'),
  namespace: objectName,
  /** The Service in front of the stable Deployment; its selector must include `track` (see README). */
  stableService: objectName,
  /** The Service opsflow makes in front of the canary Deployment, or a blue-green rollout's preview (deleted at the end). */
  canaryService: objectName,
  /** The stable Deployment; default: the one Deployment whose pods the stable Service selects. */
  stableDeployment: objectName.optional(),
  /** The canary Deployment opsflow makes; default `<stable Deployment>-canary` (blue-green: `-preview`). */
  canaryDeployment: objectName.optional(),
};

const twoServices = {
  message: 'stableService and canaryService must be two Services',
  path: ['canaryService'],
  when: whenAnObject,
};

const httpRoute = z
  .strictObject({
    ...kubernetesTarget,
    /** The HTTPRoute; exactly one of its rules must name both Services in its backendRefs. */
    route: objectName,
  })
  .refine((r) => r.stableService !== r.canaryService, twoServices);

const ingressCanary = z
  .strictObject({
    ...kubernetesTarget,
    /** The main Ingress; every path of its rules must send to stableService. */
    ingress: objectName,
    /** The canary Ingress opsflow makes beside it (ingress-nginx's canary annotations); default `<ingress>-canary`. */
    canaryIngress: objectName.optional(),
  })
  .refine((r) => r.stableService !== r.canaryService, twoServices)
  .refine((r) => r.canaryIngress === undefined || r.canaryIngress !== r.ingress, {
    message: 'must not be the main Ingress',
    path: ['canaryIngress'],
    when: whenAnObject,
  });

export const kubernetesRolloutShape = rolloutShape.omit({ fleet: true, traffic: true }).extend({
  /** Weights on a Gateway API HTTPRoute (first choice), or on a canary Ingress beside the main one. */
  traffic: z
    .strictObject({ httpRoute: httpRoute.optional(), ingressCanary: ingressCanary.optional() })
    .refine((t) => (t.httpRoute === undefined) !== (t.ingressCanary === undefined), {
      message: 'give exactly one of httpRoute or ingressCanary',
      when: whenAnObject,
    }),
});

export const kubernetesRolloutSchema = kubernetesRolloutShape.superRefine(
  (spec, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    checkStrategyAndAnalyses(spec, issue);
    const preview = spec.blueGreen?.previewFleet;
    if (preview?.size !== undefined || preview?.create !== undefined)
      issue(
        ['blueGreen', 'previewFleet', preview.size !== undefined ? 'size' : 'create'],
        'has no meaning on Kubernetes: the preview is a copy of the stable Deployment at its full size, made in the cluster; remove it (previewFleet.drain is how long the preview stays once traffic left it)',
      );
    const canary = spec.canary;
    if (canary && (canary.maxSurge === 0 || canary.maxSurge === '0%'))
      issue(
        ['canary', 'maxSurge'],
        "is the canary Deployment's size on Kubernetes (pods, or a percentage of the stable Deployment's replicas): give 1 or more",
      );
    if (canary && canary.maxUnavailable !== undefined && canary.maxUnavailable !== 0 && canary.maxUnavailable !== '0%')
      issue(
        ['canary', 'maxUnavailable'],
        'has no meaning on Kubernetes: the stable Deployment keeps all its replicas while the canary runs beside it; remove it',
      );
  },
  { when: whenAnObject },
);

export type KubernetesRolloutSpecInput = z.input<typeof kubernetesRolloutSchema>;
export type KubernetesRolloutSpec = z.output<typeof kubernetesRolloutSchema>;
/**
 * The traffic a Kubernetes rollout weights, either way: `route` is the HTTPRoute, or with
 * `canaryIngress` the main Ingress (and the canary Ingress opsflow makes beside it).
 */
export type KubernetesTraffic = NonNullable<KubernetesRolloutSpec['traffic']['httpRoute']> & { canaryIngress?: string };
export type HttpRouteTraffic = KubernetesTraffic;

/** `HTTPRoute shop/web`, or `Ingress shop/web (canary Ingress shop/web-canary)`: what carries the split, for messages. */
export function describeTrafficObject(t: KubernetesTraffic): string {
  return t.canaryIngress
    ? `Ingress ${t.namespace}/${t.route} (canary Ingress ${t.namespace}/${t.canaryIngress})`
    : `HTTPRoute ${t.namespace}/${t.route}`;
}

function trafficOf(spec: KubernetesRolloutSpec): KubernetesTraffic {
  if (spec.traffic.httpRoute) return spec.traffic.httpRoute;
  const { ingress, canaryIngress, ...target } = spec.traffic.ingressCanary!;
  return { ...target, route: ingress, canaryIngress: canaryIngress ?? `${ingress}-canary` };
}

/** The container name a Deployment's pod template uses (images are given by container). */
export const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const kubernetesReleaseSchema = z.strictObject({
  environment: environmentName,
  /** The new images by container name of the stable Deployment's pod template. */
  images: z
    .record(z.string(), z.string().regex(IMAGE_REF, 'must be an image with a tag, like ghcr.io/acme/auth:2.0.2'))
    .superRefine((images, ctx) => {
      const names = Object.keys(images);
      if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'names no container to change' });
      for (const name of names)
        if (!CONTAINER_NAME.test(name))
          ctx.addIssue({ code: 'custom', path: [name], message: 'is not a container name (lowercase letters, digits and "-")' });
    }),
  spec: z.unknown(),
  requestedBy: actorName,
});

/** What rolloutRelease takes for a canary on Kubernetes. */
export interface KubernetesRolloutInput {
  environment: string;
  images: Record<string, string>;
  spec: KubernetesRolloutSpecInput;
  requestedBy: string;
}

export interface KubernetesRollout {
  environment: string;
  images: Record<string, string>;
  spec: KubernetesRolloutSpec;
  requestedBy: string;
  traffic: KubernetesTraffic;
}

/** Whether rolloutRelease's input is for Kubernetes: its spec weights traffic on an HTTPRoute or a canary Ingress. */
export function isKubernetesRolloutInput(input: unknown): input is KubernetesRolloutInput {
  const spec = (input as { spec?: { traffic?: { httpRoute?: unknown; ingressCanary?: unknown } } } | null | undefined)?.spec;
  return typeof spec === 'object' && spec !== null && (spec.traffic?.httpRoute !== undefined || spec.traffic?.ingressCanary !== undefined);
}

/** Parses the whole input; throws SpecError listing every problem (`spec.canary.maxSurge: ...`). */
export function parseKubernetesRolloutInput(input: unknown): KubernetesRollout {
  const problems: string[] = [];
  const release = kubernetesReleaseSchema.safeParse(input);
  if (!release.success)
    for (const issue of release.error.issues)
      problems.push(
        `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.code === 'unrecognized_keys' ? `${issue.message} (a Kubernetes rollout takes environment, images, spec and requestedBy; no hosts, SSH or directory)` : issue.message}`,
      );
  let spec: KubernetesRolloutSpec | undefined;
  try {
    spec = parseSpec('rollout', kubernetesRolloutSchema, (input as { spec?: unknown } | null)?.spec);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    for (const p of err.problems) problems.push(p.startsWith('(top level)') ? `spec${p.slice('(top level)'.length)}` : `spec.${p}`);
  }
  if (release.success && spec && spec.environment !== release.data.environment)
    problems.push(`spec.environment: is ${spec.environment}, but this rollout is for ${release.data.environment}`);
  if (problems.length || !release.success || !spec) throw new SpecError('rolloutRelease input', problems);
  const { environment, images, requestedBy } = release.data;
  return { environment, images, spec, requestedBy, traffic: trafficOf(spec) };
}

/** The canary Deployment's replicas: maxSurge against the stable Deployment's (a percentage rounds up), at least 1. */
export function canaryReplicas(maxSurge: number | string, stableReplicas: number): number {
  return Math.max(1, resolveSurge(maxSurge, Math.max(stableReplicas, 1)));
}

/** The canary Deployment's name: the spec's, or `<stable>-canary` (a blue-green preview's `<stable>-preview`). */
export function canaryDeploymentName(traffic: KubernetesTraffic, stableDeployment: string, track: 'canary' | 'preview' = 'canary'): string {
  return traffic.canaryDeployment ?? `${stableDeployment}-${track}`;
}
