// destroyEnvironment: remove everything an environment owns at its cloud provider, found by its
// tag, in the order the cloud allows (floating IPs and volumes off the servers, then servers, then
// the network around them). Kubernetes clusters made for it (tagged with it) go first, with
// their nodes, so the VPC they sit in can go at the end. Idempotent: run it twice and the second run finds nothing and does nothing.
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { KubernetesActivities } from '../../activities/kubernetes';
import {
  DEFAULT_PROVIDER,
  IMPLEMENTED_PROVIDERS,
  isImplementedProvider,
  type EnvironmentResources,
  type ProviderId,
} from '../../providers/cloud-provider';
import { OpsCloud, OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { providerTaskQueue } from '../../temporal/task-queues';
import { CLOUD_CALL, CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { summarizedActivities } from '../shared/summarized-activities';
import { StatusTracker } from '../shared/status';
import { refuse } from '../shared/validated';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { environmentNameProblem } from '../../names/environment-name';

export interface DestroyInput {
  environment: string;
  /** The environment's provider (its spec's `cloud:`); default DEFAULT_PROVIDER. */
  cloud?: ProviderId;
}

/** Runs started before clusters were destroyed with their environment left them; they replay that way. */
export const DESTROY_CLUSTERS_PATCH = 'destroy-kubernetes-clusters';

const STEPS = [
  'find resources',
  'delete Kubernetes clusters',
  'release reserved IPs',
  'detach volumes',
  'delete droplets',
  'delete volumes',
  'delete firewalls',
  'delete VPCs',
];

/** What was removed: the provider's resources, and the Kubernetes clusters made for the environment. */
export type DestroyResult = EnvironmentResources & { kubernetesClusters?: { id: string; name: string }[] };

export async function destroyEnvironment(input: DestroyInput): Promise<DestroyResult> {
  // Checked, never cleaned up: `stack.a` once became the tag of `stack-a` and destroyed it.
  const problem = environmentNameProblem(input?.environment);
  if (problem) refuse('input', 'environment', `${problem}; nothing was deleted`);
  if (input.cloud !== undefined && !isImplementedProvider(input.cloud)) {
    refuse(
      'input',
      'cloud',
      `${JSON.stringify(input.cloud)} is not a provider this opsflow runs (${IMPLEMENTED_PROVIDERS.join(', ')}); nothing was deleted`,
    );
  }
  return withEnvironmentClaim(input.environment, 'destroy', () => destroyClaimed(input), { change: () => ({ kind: 'destroyed' }) });
}

async function destroyClaimed(input: DestroyInput): Promise<DestroyResult> {
  const provider = input.cloud ?? DEFAULT_PROVIDER;
  upsertSearchAttributes([
    { key: OpsEnvironment, value: input.environment },
    { key: OpsOperation, value: 'destroy' },
    { key: OpsCloud, value: provider },
  ]);
  const cloud = cloudProvider(provider, { retry: { ...CLOUD_RETRY, maximumAttempts: 10 } });
  const status = new StatusTracker('destroyEnvironment', STEPS);

  status.step('find resources');
  const found = await cloud.listEnvironmentResources({ environment: input.environment });
  for (const d of found.servers) status.recordResource({ kind: 'droplet', id: String(d.id), name: d.name });

  // Only DigitalOcean makes clusters (DOKS); their activities run on its queue.
  let kubernetesClusters: DestroyResult['kubernetesClusters'];
  if (provider === DEFAULT_PROVIDER && patched(DESTROY_CLUSTERS_PATCH)) {
    status.step('delete Kubernetes clusters');
    const kubernetes = summarizedActivities<KubernetesActivities>({
      ...CLOUD_CALL,
      taskQueue: providerTaskQueue(DEFAULT_PROVIDER),
      retry: { ...CLOUD_RETRY, maximumAttempts: 10 },
    });
    kubernetesClusters = await kubernetes.listKubernetesClustersTagged({ tag: input.environment });
    for (const c of kubernetesClusters) status.recordResource({ kind: 'kubernetes cluster', id: c.id, name: c.name });
    await Promise.all(kubernetesClusters.map((c) => kubernetes.deleteKubernetesCluster({ clusterId: c.id })));
  }

  status.step('release reserved IPs');
  await Promise.all(found.floatingIps.map((ip) => cloud.releaseFloatingIp({ ip })));

  status.step('detach volumes');
  await Promise.all(
    found.volumes.flatMap((v) => v.serverIds.map((serverId) => cloud.detachVolume({ volumeId: v.id, serverId, region: v.region }))),
  );

  status.step('delete droplets');
  await cloud.deleteServersTagged({ tag: found.tag });

  status.step('delete volumes');
  await Promise.all(found.volumes.map((v) => cloud.deleteVolume({ id: v.id })));

  status.step('delete firewalls');
  await Promise.all(found.firewalls.map((id) => cloud.deleteFirewall({ id })));

  status.step('delete VPCs');
  await Promise.all(found.networks.map((id) => cloud.deleteNetwork({ id })));

  status.finish('done');
  return kubernetesClusters ? { ...found, kubernetesClusters } : found;
}
