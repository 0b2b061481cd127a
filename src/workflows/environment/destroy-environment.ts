// destroyEnvironment: remove everything an environment owns at its cloud provider, found by its
// tag, in the order the cloud allows (floating IPs and volumes off the servers, then servers, then
// the network around them). Idempotent: run it twice and the second run finds nothing and does nothing.
import { upsertSearchAttributes } from '@temporalio/workflow';
import {
  DEFAULT_PROVIDER,
  IMPLEMENTED_PROVIDERS,
  isImplementedProvider,
  type EnvironmentResources,
  type ProviderId,
} from '../../providers/cloud-provider';
import { OpsCloud, OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { StatusTracker } from '../shared/status';
import { refuse } from '../shared/validated';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { environmentNameProblem } from '../../names/environment-name';

export interface DestroyInput {
  environment: string;
  /** The environment's provider (its spec's `cloud:`); default DEFAULT_PROVIDER. */
  cloud?: ProviderId;
}

const STEPS = [
  'find resources',
  'release reserved IPs',
  'detach volumes',
  'delete droplets',
  'delete volumes',
  'delete firewalls',
  'delete VPCs',
];

export async function destroyEnvironment(input: DestroyInput): Promise<EnvironmentResources> {
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

async function destroyClaimed(input: DestroyInput): Promise<EnvironmentResources> {
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
  return found;
}
