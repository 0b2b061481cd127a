// Weights applied by a canary Ingress, as ingress-nginx reads them: beside the stable Ingress, a
// second Ingress for the same hosts and paths, annotated `nginx.ingress.kubernetes.io/canary: "true"`,
// sends `canary-weight` percent of their requests to the canary Service. The router makes the
// canary Ingress from the stable one at its first change (its rules with the canary Service for
// backend, weight 0, server-side applied as opsflow) and then changes only its annotations: the
// weight, the split in place (`opsflow.dev/weights`) and the one before the last change
// (`opsflow.dev/previous-weights`) for rollback, as the HTTPRoute router keeps them on the route.
// Each change is one merge patch carrying the resourceVersion it was computed from, so an Ingress
// changed meanwhile by someone else is re-read, never overwritten.
import type { KubeObject, KubernetesClient } from '../../integrations/kubernetes/client';
import { KubernetesRequestError } from '../../integrations/kubernetes/errors';
import type { Manifest } from '../../integrations/kubernetes/manifests';
import { describeRef, type ObjectRef } from '../../integrations/kubernetes/refs';
import { checkWeights, TrafficWeightsError, type TrafficRouter, type Weights } from './router';
import { parseWeights, PREVIOUS_WEIGHTS_ANNOTATION, weightAnnotations, WEIGHTS_ANNOTATION } from './weights-annotations';

export const CANARY_ANNOTATION = 'nginx.ingress.kubernetes.io/canary';
export const CANARY_WEIGHT_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight';
const CONFLICT_RETRIES = 5;

export interface IngressCanaryRouterOptions {
  client: Pick<KubernetesClient, 'get' | 'patch' | 'apply'>;
  namespace: string;
  /** The stable Ingress: every one of its paths must send to the stable Service. */
  ingress: string;
  /** The canary Ingress opsflow makes beside it. */
  canaryIngress: string;
  stableService: string;
  canaryService: string;
}

interface Path {
  backend?: { service?: { name?: string; [field: string]: unknown } };
  [field: string]: unknown;
}
interface Rule {
  http?: { paths?: Path[] };
  [field: string]: unknown;
}

const ingressRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  namespace,
  name,
});

export class IngressCanaryRouter implements TrafficRouter {
  private readonly stableRef: ObjectRef;
  private readonly canaryRef: ObjectRef;

  constructor(private readonly options: IngressCanaryRouterOptions) {
    this.stableRef = ingressRef(options.namespace, options.ingress);
    this.canaryRef = ingressRef(options.namespace, options.canaryIngress);
  }

  async setWeights(weights: Weights): Promise<void> {
    const wanted = checkWeights(weights);
    await this.change((canary, current) => {
      if (current.stable === wanted.stable && current.canary === wanted.canary && annotations(canary)[WEIGHTS_ANNOTATION]) return undefined;
      return { weight: wanted, annotations: weightAnnotations(wanted, current) };
    });
  }

  async currentWeights(): Promise<Weights | undefined> {
    const canary = await this.options.client.get(this.canaryRef);
    return canary ? parseWeights(annotations(canary)[WEIGHTS_ANNOTATION]) : undefined;
  }

  /** The split the canary Ingress gives now (all on stable while it does not exist). */
  async weightsNow(): Promise<Weights> {
    await this.stableRules();
    const canary = await this.options.client.get(this.canaryRef);
    return canary ? weightIn(canary) : { stable: 100, canary: 0 };
  }

  async rollback(): Promise<Weights> {
    let restored: Weights | undefined;
    await this.change((canary, current) => {
      const previous = parseWeights(annotations(canary)[PREVIOUS_WEIGHTS_ANNOTATION]);
      if (!previous)
        throw new TrafficWeightsError(`${describeRef(this.canaryRef)} has no split from before opsflow's last change to go back to`);
      restored = previous;
      if (current.stable === previous.stable && current.canary === previous.canary) return undefined;
      return { weight: previous, annotations: weightAnnotations(previous, current) };
    });
    return restored!;
  }

  /** Reads the canary Ingress (made first if missing), asks `decide`, and patches unless it changed meanwhile (then again). */
  private async change(
    decide: (canary: KubeObject, current: Weights) => { weight: Weights; annotations: Record<string, string> } | undefined,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const canary = (await this.options.client.get(this.canaryRef)) ?? (await this.makeCanary());
      const decided = decide(canary, weightIn(canary));
      if (!decided) return;
      try {
        await this.options.client.patch(
          this.canaryRef,
          {
            metadata: {
              resourceVersion: canary.metadata.resourceVersion,
              annotations: { ...decided.annotations, [CANARY_WEIGHT_ANNOTATION]: String(decided.weight.canary) },
            },
          },
          'merge',
        );
        return;
      } catch (error) {
        const conflict = error instanceof KubernetesRequestError && error.status === 409;
        if (!conflict || attempt >= CONFLICT_RETRIES) throw error;
      }
    }
  }

  /** The canary Ingress: the stable one's class, TLS and rules, each path sent to the canary Service, weight 0. */
  private async makeCanary(): Promise<KubeObject> {
    const stable = await this.stableRules();
    const spec = stable.spec as { ingressClassName?: string; tls?: unknown; rules: Rule[] };
    const rules = spec.rules.map((rule) => ({
      ...rule,
      http: {
        ...rule.http,
        paths: (rule.http?.paths ?? []).map((p) => ({
          ...p,
          backend: { ...p.backend, service: { ...p.backend!.service, name: this.options.canaryService } },
        })),
      },
    }));
    const manifest: Manifest = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: this.options.canaryIngress,
        namespace: this.options.namespace,
        labels: { 'opsflow.dev/canary-of': this.options.ingress },
        annotations: { [CANARY_ANNOTATION]: 'true', [CANARY_WEIGHT_ANNOTATION]: '0' },
      },
      spec: {
        ...(spec.ingressClassName ? { ingressClassName: spec.ingressClassName } : {}),
        ...(spec.tls ? { tls: spec.tls } : {}),
        rules,
      },
    };
    return this.options.client.apply(manifest);
  }

  /** The stable Ingress, refused unless it exists and every path of its rules sends to the stable Service. */
  private async stableRules(): Promise<KubeObject> {
    const { stableService, canaryService } = this.options;
    const stable = await this.options.client.get(this.stableRef);
    if (!stable)
      throw new TrafficWeightsError(
        `${describeRef(this.stableRef)} does not exist: create it (sending to ${stableService}) before the rollout`,
      );
    const paths = ((stable.spec?.rules ?? []) as Rule[]).flatMap((r) => r.http?.paths ?? []);
    const elsewhere = paths.filter((p) => p.backend?.service?.name !== stableService).map((p) => p.backend?.service?.name ?? 'no Service');
    if (paths.length === 0 || elsewhere.length)
      throw new TrafficWeightsError(
        `${describeRef(this.stableRef)} must send every path of its rules to ${stableService}, which ${canaryService} then shares by weight; ${paths.length === 0 ? 'it has no paths' : `it also sends to ${[...new Set(elsewhere)].join(', ')}`}`,
      );
    if (annotations(stable)[CANARY_ANNOTATION] === 'true')
      throw new TrafficWeightsError(
        `${describeRef(this.stableRef)} is itself a canary Ingress (${CANARY_ANNOTATION}: "true"): name the main one`,
      );
    return stable;
  }
}

const annotations = (o: KubeObject) => (o.metadata.annotations ?? {}) as Record<string, string>;

/** The canary's share as ingress-nginx reads it: canary-weight of 100 (not a canary at all: none). */
function weightIn(canary: KubeObject): Weights {
  if (annotations(canary)[CANARY_ANNOTATION] !== 'true') return { stable: 100, canary: 0 };
  const n = Number(annotations(canary)[CANARY_WEIGHT_ANNOTATION] ?? '0');
  const weight = Number.isInteger(n) && n >= 0 ? Math.min(n, 100) : 0;
  return { stable: 100 - weight, canary: weight };
}
