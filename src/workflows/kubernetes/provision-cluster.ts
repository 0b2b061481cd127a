// provisionCluster: a DOKS cluster with its workloads, as the runbook goes. Create the cluster (or
// find the one an earlier attempt made), wait until it runs, apply the manifests with server-side
// apply (all validated by the API server first), then wait for every Deployment among them to be
// rolled out. A failure at any step deletes the cluster this run made (saga), so nothing is left
// half-created; a cluster that was there before the run is never deleted. The run holds its
// environment's claim (one operation at a time), and the inventory records the cluster, so
// `opsflow env show` lists it and `opsflow destroy` deletes it.
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { KubernetesActivities } from '../../activities/kubernetes';
import type { Manifest } from '../../integrations/kubernetes/manifests';
import type { SecretFromRefs } from '../../activities/kubernetes/apply-secrets';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { DEFAULT_PROVIDER } from '../../providers/cloud-provider';
import { providerTaskQueue } from '../../temporal/task-queues';
import { CLOUD_CALL, CLOUD_RETRY } from '../shared/cloud-activity-options';
import { describeError, runSaga } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { summarizedActivities } from '../shared/summarized-activities';
import { refuse } from '../shared/validated';
import { withEnvironmentClaim } from '../shared/environment-claim';
import type { InventoryChange } from '../environment/inventory';

export interface ClusterNodePool {
  name: string;
  size: string;
  count: number;
  autoScale?: { minNodes: number; maxNodes: number };
}

export interface ProvisionClusterInput {
  environment: string;
  cluster: { name: string; region: string; version: string; nodePools: ClusterNodePool[] };
  /** Applied in order (namespaces first); Secrets' values are refused by the apply activity. */
  manifests: Manifest[];
  /** Secrets whose values the worker resolves from references (never in history), made before the manifests. */
  secrets?: SecretFromRefs[];
}

export interface ProvisionClusterResult {
  clusterId: string;
  deployments: string[];
}

const SECRET_REF = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/\S+)$/;
const STEPS = ['create cluster', 'wait for the cluster', 'apply secrets', 'apply manifests', 'wait for deployments'];

export async function provisionCluster(input: ProvisionClusterInput): Promise<ProvisionClusterResult> {
  checkInput(input);
  return withEnvironmentClaim(input.environment, 'provision', () => provisionClaimed(input), {
    change: (result) => clusterProvisioned(input, result),
  });
}

function clusterProvisioned(input: ProvisionClusterInput, result: ProvisionClusterResult): InventoryChange {
  return {
    kind: 'provisioned',
    cloud: DEFAULT_PROVIDER,
    region: input.cluster.region,
    hosts: [],
    healthChecks: [],
    resources: { volumes: [], kubernetesCluster: { id: result.clusterId, name: input.cluster.name } },
  };
}

async function provisionClaimed(input: ProvisionClusterInput): Promise<ProvisionClusterResult> {
  upsertSearchAttributes([
    { key: OpsEnvironment, value: input.environment },
    { key: OpsOperation, value: 'provision-cluster' },
  ]);
  const status = new StatusTracker('provisionCluster', input.secrets?.length ? STEPS : STEPS.filter((s) => s !== 'apply secrets'));
  const kubernetes = summarizedActivities<KubernetesActivities>({
    ...CLOUD_CALL,
    taskQueue: providerTaskQueue(DEFAULT_PROVIDER),
    retry: CLOUD_RETRY,
  });
  const deployments = input.manifests
    .filter((m) => m.kind === 'Deployment' && m.apiVersion === 'apps/v1')
    .map((m) => ({ namespace: m.metadata?.namespace ?? 'default', name: m.metadata?.name ?? '' }));
  const result = await runSaga(
    async (saga) => {
      status.step('create cluster');
      const { cluster } = input;
      const made = await kubernetes.ensureKubernetesCluster({
        name: cluster.name,
        region: cluster.region,
        version: cluster.version,
        tags: [input.environment],
        runTag: `opsflow-run:${workflowInfo().runId}`,
        node_pools: cluster.nodePools.map((p) => ({
          name: p.name,
          size: p.size,
          count: p.count,
          ...(p.autoScale ? { auto_scale: true, min_nodes: p.autoScale.minNodes, max_nodes: p.autoScale.maxNodes } : {}),
        })),
      });
      const clusterId = made.clusterId;
      status.recordResource({ kind: 'kubernetes cluster', id: clusterId, name: cluster.name });
      if (made.created)
        saga.addCompensation(`delete Kubernetes cluster ${cluster.name}`, () => kubernetes.deleteKubernetesCluster({ clusterId }));

      status.step('wait for the cluster');
      await kubernetes.waitForKubernetesCluster({ clusterId });

      // Before the workloads that read them: a pod whose Secret is missing does not start.
      if (input.secrets?.length) {
        status.step('apply secrets');
        await kubernetes.applyKubernetesSecrets({ clusterId, secrets: input.secrets });
      }

      status.step('apply manifests');
      await kubernetes.applyKubernetesManifests({ clusterId, manifests: input.manifests });

      status.step('wait for deployments');
      await Promise.all(deployments.map((d) => kubernetes.waitForDeploymentRollout({ clusterId, ...d })));
      return { clusterId, deployments: deployments.map((d) => `${d.namespace}/${d.name}`) };
    },
    { onRolledBack: (report, original) => status.rolledBack(report, describeError(original)) },
  );
  status.finish('done');
  return result;
}

function checkInput(input: ProvisionClusterInput): void {
  if (!input?.environment) refuse('input', 'environment', 'is required');
  if (!input.cluster?.name || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(input.cluster.name))
    refuse('input', 'cluster.name', `${JSON.stringify(input.cluster?.name)} is not a cluster name (lowercase letters, digits and dashes)`);
  if (!Array.isArray(input.cluster.nodePools) || input.cluster.nodePools.length === 0)
    refuse('input', 'cluster.nodePools', 'must list at least one node pool');
  input.cluster.nodePools.forEach((p, i) => {
    if (!Number.isInteger(p.count) || p.count < 1)
      refuse('input', `cluster.nodePools[${i}].count`, `must be a whole number of 1 or more, not ${p.count}`);
    if (p.autoScale && !(p.autoScale.minNodes <= p.count && p.count <= p.autoScale.maxNodes))
      refuse(
        'input',
        `cluster.nodePools[${i}].autoScale`,
        `count ${p.count} must be within minNodes ${p.autoScale.minNodes} and maxNodes ${p.autoScale.maxNodes}`,
      );
  });
  if (!Array.isArray(input.manifests)) refuse('input', 'manifests', 'must be a list of Kubernetes objects');
  (input.secrets ?? []).forEach((secret, i) => {
    for (const [key, ref] of Object.entries(secret?.data ?? {}))
      if (typeof ref !== 'string' || !SECRET_REF.test(ref))
        refuse(
          'input',
          `secrets[${i}].data.${key}`,
          'must be a secret reference (env:VARIABLE or file:/absolute/path), not a value (not shown)',
        );
  });
}
