// Where a Deployment's rollout stands, read from its status as `kubectl rollout status` reads it:
// done once the controller observed the latest generation and every desired replica is updated and
// available with no old one left; stalled once the controller reports ProgressDeadlineExceeded
// (the Deployment's progressDeadlineSeconds passed without progress). Pure.

export interface DeploymentStatusView {
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: { replicas?: number; progressDeadlineSeconds?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface RolloutProgress {
  generation: number;
  observedGeneration: number;
  desired: number;
  /** Pods of any revision (old ones still terminating count here). */
  total: number;
  updated: number;
  ready: number;
  available: number;
}

export type RolloutState =
  | { state: 'done'; progress: RolloutProgress }
  | { state: 'progressing'; progress: RolloutProgress; waitingFor: string }
  | { state: 'stalled'; progress: RolloutProgress; reason: string; message: string };

export function rolloutProgress(deployment: DeploymentStatusView): RolloutProgress {
  const status = deployment.status ?? {};
  return {
    generation: deployment.metadata.generation ?? 0,
    observedGeneration: status.observedGeneration ?? 0,
    // The API server defaults spec.replicas to 1.
    desired: deployment.spec?.replicas ?? 1,
    total: status.replicas ?? 0,
    updated: status.updatedReplicas ?? 0,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
  };
}

export function rolloutState(deployment: DeploymentStatusView): RolloutState {
  const progress = rolloutProgress(deployment);
  const { generation, observedGeneration, desired, total, updated, available } = progress;
  if (observedGeneration < generation)
    return {
      state: 'progressing',
      progress,
      waitingFor: `the controller to observe generation ${generation} (it has seen ${observedGeneration})`,
    };
  const progressing = deployment.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return {
      state: 'stalled',
      progress,
      reason: 'ProgressDeadlineExceeded',
      message: progressing.message ?? 'no progress within the deadline',
    };
  if (updated < desired) return { state: 'progressing', progress, waitingFor: `${updated} of ${desired} replicas updated` };
  if (total > updated) return { state: 'progressing', progress, waitingFor: `${total - updated} old replicas to terminate` };
  if (available < updated) return { state: 'progressing', progress, waitingFor: `${available} of ${updated} updated replicas available` };
  return { state: 'done', progress };
}

/** A label selector (matchLabels and matchExpressions) as the API's `labelSelector` query text. */
export function selectorText(selector: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'In') parts.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else throw new Error(`label selector operator ${operator} is not one of In, NotIn, Exists, DoesNotExist`);
  }
  return parts.join(',');
}
