// A rollout spec file read for `opsflow rollout --spec`: each problem after the file:line:col of
// its field, as environment specs and backup policies are reported. A spec whose traffic is
// `httpRoute` is a canary on Kubernetes and is checked against that schema instead.
import { parseSpec } from './common';
import { kubernetesRolloutSchema, type KubernetesRolloutSpec } from './kubernetes-rollout';
import { parseYamlFile } from './load';
import { parseRolloutSpec, type RolloutSpec } from './rollout';

export function loadRolloutSpec(file: string): RolloutSpec {
  return parseYamlFile(file, 'rollout', parseRolloutSpec);
}

/** A rollout spec of either kind: droplets (a fleet behind nginx or a load balancer) or Kubernetes (an HTTPRoute). */
export type AnyRolloutSpec = { kind: 'droplets'; spec: RolloutSpec } | { kind: 'kubernetes'; spec: KubernetesRolloutSpec };

/** Whether a spec value describes a rollout on Kubernetes (traffic.httpRoute or ingressCanary), as rolloutRelease decides. */
export function describesKubernetes(value: unknown): boolean {
  const traffic = (value as { traffic?: unknown } | null | undefined)?.traffic;
  if (typeof traffic !== 'object' || traffic === null) return false;
  const t = traffic as { httpRoute?: unknown; ingressCanary?: unknown };
  return t.httpRoute !== undefined || t.ingressCanary !== undefined;
}

export function loadAnyRolloutSpec(file: string): AnyRolloutSpec {
  return parseYamlFile<AnyRolloutSpec>(file, 'rollout', (value) =>
    describesKubernetes(value)
      ? { kind: 'kubernetes', spec: parseSpec('rollout', kubernetesRolloutSchema, value) }
      : { kind: 'droplets', spec: parseRolloutSpec(value) },
  );
}
