// Weights applied by a Gateway API HTTPRoute (Kubernetes): the rule whose backendRefs name the
// stable and the canary Service gets their weights, and the route's annotations keep the split in
// place (`opsflow.dev/weights`) and the one before the last change (`opsflow.dev/previous-weights`)
// for rollback, as the nginx router keeps `.previous` beside its file. Each change is one merge
// patch carrying the resourceVersion it was computed from, so a route changed meanwhile by someone
// else is re-read, never overwritten. The cluster's ingress (a Gateway controller) moves the traffic.
import type { KubeObject, KubernetesClient } from '../../integrations/kubernetes/client';
import { KubernetesRequestError } from '../../integrations/kubernetes/errors';
import { describeRef, type ObjectRef } from '../../integrations/kubernetes/refs';
import { checkWeights, TrafficWeightsError, type TrafficRouter, type Weights } from './router';
import { parseWeights, PREVIOUS_WEIGHTS_ANNOTATION, weightAnnotations, WEIGHTS_ANNOTATION } from './weights-annotations';

const CONFLICT_RETRIES = 5;

export interface HttpRouteRouterOptions {
  client: Pick<KubernetesClient, 'get' | 'patch'>;
  namespace: string;
  route: string;
  /** The Services the rule splits between. */
  stableService: string;
  canaryService: string;
}

interface BackendRef {
  name: string;
  kind?: string;
  weight?: number;
  [field: string]: unknown;
}
interface Rule {
  backendRefs?: BackendRef[];
  [field: string]: unknown;
}

export class HttpRouteRouter implements TrafficRouter {
  private readonly ref: ObjectRef;

  constructor(private readonly options: HttpRouteRouterOptions) {
    this.ref = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: options.namespace, name: options.route };
  }

  async setWeights(weights: Weights): Promise<void> {
    const wanted = checkWeights(weights);
    await this.change((route, rules, current) => {
      if (current.stable === wanted.stable && current.canary === wanted.canary && annotations(route)[WEIGHTS_ANNOTATION]) return undefined;
      return { rules: this.withWeights(rules, wanted), annotations: weightAnnotations(wanted, current) };
    });
  }

  async currentWeights(): Promise<Weights | undefined> {
    const route = await this.read();
    return parseWeights(annotations(route)[WEIGHTS_ANNOTATION]);
  }

  /** The split the route's rule gives now (by its backendRefs' weights); refused if no one rule names both Services. */
  async weightsNow(): Promise<Weights> {
    const route = await this.read();
    return this.weightsIn((route.spec?.rules ?? []) as Rule[]);
  }

  async rollback(): Promise<Weights> {
    let restored: Weights | undefined;
    await this.change((route, rules, current) => {
      const previous = parseWeights(annotations(route)[PREVIOUS_WEIGHTS_ANNOTATION]);
      if (!previous) throw new TrafficWeightsError(`${describeRef(this.ref)} has no split from before opsflow's last change to go back to`);
      restored = previous;
      if (current.stable === previous.stable && current.canary === previous.canary) return undefined;
      return { rules: this.withWeights(rules, previous), annotations: weightAnnotations(previous, current) };
    });
    return restored!;
  }

  /** Reads the route, asks `decide` for its change, and patches it unless the route changed meanwhile (then again). */
  private async change(
    decide: (route: KubeObject, rules: Rule[], current: Weights) => { rules: Rule[]; annotations: Record<string, string> } | undefined,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const route = await this.read();
      const rules = (route.spec?.rules ?? []) as Rule[];
      const decided = decide(route, rules, this.weightsIn(rules));
      if (!decided) return;
      try {
        await this.options.client.patch(
          this.ref,
          {
            metadata: { resourceVersion: route.metadata.resourceVersion, annotations: decided.annotations },
            spec: { rules: decided.rules },
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

  private async read(): Promise<KubeObject> {
    const route = await this.options.client.get(this.ref);
    if (!route)
      throw new TrafficWeightsError(
        `${describeRef(this.ref)} does not exist: create it (with backendRefs to ${this.options.stableService} and ${this.options.canaryService}) before the rollout`,
      );
    return route;
  }

  /** The index of the rule splitting stable and canary: exactly one rule must name both. */
  private ruleIndex(rules: Rule[]): number {
    const { stableService, canaryService } = this.options;
    const names = (rule: Rule) => (rule.backendRefs ?? []).filter((b) => (b.kind ?? 'Service') === 'Service').map((b) => b.name);
    const matching = rules.flatMap((rule, i) => (names(rule).includes(stableService) && names(rule).includes(canaryService) ? [i] : []));
    if (matching.length !== 1)
      throw new TrafficWeightsError(
        `${describeRef(this.ref)} must have exactly one rule whose backendRefs name both ${stableService} and ${canaryService}; ${matching.length} do`,
      );
    return matching[0]!;
  }

  private weightsIn(rules: Rule[]): Weights {
    const rule = rules[this.ruleIndex(rules)]!;
    const weightOf = (service: string) =>
      (rule.backendRefs ?? []).filter((b) => b.name === service).reduce((sum, b) => sum + (b.weight ?? 1), 0);
    const stable = weightOf(this.options.stableService);
    const canary = weightOf(this.options.canaryService);
    const total = stable + canary;
    if (total === 0) return { stable: 100, canary: 0 };
    const canaryPercent = Math.round((canary * 100) / total);
    return { stable: 100 - canaryPercent, canary: canaryPercent };
  }

  private withWeights(rules: Rule[], weights: Weights): Rule[] {
    const index = this.ruleIndex(rules);
    return rules.map((rule, i) =>
      i !== index
        ? rule
        : {
            ...rule,
            backendRefs: (rule.backendRefs ?? []).map((b) =>
              b.name === this.options.stableService
                ? { ...b, weight: weights.stable }
                : b.name === this.options.canaryService
                  ? { ...b, weight: weights.canary }
                  : b,
            ),
          },
    );
  }
}

const annotations = (route: KubeObject) => (route.metadata.annotations ?? {}) as Record<string, string>;
