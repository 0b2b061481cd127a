// destroyEnvironment: remove everything an environment owns, found by its tag, in the order the
// cloud allows (addresses and volumes off the droplets, then droplets, then the network around
// them). Idempotent: run it twice and the second run finds nothing and does nothing.
import { ApplicationFailure, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { CloudActivities } from '../../activities';
import type { EnvironmentResources } from '../../activities/digitalocean/cloud-steps';
import { OpsCloud, OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { CLOUD_CALL, CLOUD_RETRY } from '../shared/cloud-activity-options';
import { StatusTracker } from '../shared/status';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { environmentNameProblem } from '../../names/environment-name';

const cloud = proxyActivities<CloudActivities>({ ...CLOUD_CALL, retry: { ...CLOUD_RETRY, maximumAttempts: 10 } });

export interface DestroyInput {
  environment: string;
}

const STEPS = ['find resources', 'release reserved IPs', 'detach volumes', 'delete droplets', 'delete volumes', 'delete firewalls', 'delete VPCs'];

export async function destroyEnvironment(input: DestroyInput): Promise<EnvironmentResources> {
  // Checked, never cleaned up: `stack.a` once became the tag of `stack-a` and destroyed it.
  const problem = environmentNameProblem(input?.environment);
  if (problem) throw ApplicationFailure.create({ type: 'InvalidInput', message: `environment: ${problem}; nothing was deleted`, nonRetryable: true });
  return withEnvironmentClaim(input.environment, 'destroy', () => destroyClaimed(input), { change: () => ({ kind: 'destroyed' }) });
}

async function destroyClaimed(input: DestroyInput): Promise<EnvironmentResources> {
  upsertSearchAttributes([
    { key: OpsEnvironment, value: input.environment },
    { key: OpsOperation, value: 'destroy' },
    { key: OpsCloud, value: 'digitalocean' },
  ]);
  const status = new StatusTracker('destroyEnvironment', STEPS);

  status.step('find resources');
  const found = await cloud.findEnvironmentResources({ environment: input.environment });
  for (const d of found.droplets) status.recordResource({ kind: 'droplet', id: String(d.id), name: d.name });

  status.step('release reserved IPs');
  await Promise.all(found.reservedIps.map((ip) => cloud.releaseReservedIp({ ip })));

  status.step('detach volumes');
  await Promise.all(found.volumes.flatMap((v) => v.dropletIds.map((dropletId) => cloud.detachVolume({ volumeId: v.id, dropletId, region: v.region }))));

  status.step('delete droplets');
  await cloud.deleteDropletsByTag({ tag: found.tag });

  status.step('delete volumes');
  await Promise.all(found.volumes.map((v) => cloud.deleteVolume({ id: v.id })));

  status.step('delete firewalls');
  await Promise.all(found.firewalls.map((id) => cloud.deleteFirewall({ id })));

  status.step('delete VPCs');
  await Promise.all(found.vpcs.map((id) => cloud.deleteVpc({ id })));

  status.finish('done');
  return found;
}
