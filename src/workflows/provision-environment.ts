// provisionEnvironment: the runbook for a new environment, as one durable saga. Each step that
// creates something registers its undo; a failure or a cancellation undoes them newest first, or,
// with `onFailure: keep`, leaves them for inspection and says what exists.
//
// This is the infrastructure half: VPC, firewall, droplets, volumes, reserved IP. Bootstrap over
// SSH, the compose deployment and the health gate follow once droplets answer SSH.
import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CloudActivities } from '../activities';
import type { ActiveDroplet } from '../activities/digitalocean';
import { workflowTag, type Owner } from '../activities/ownership';
import { SpecError } from '../specs/common';
import { dropletInstances, parseEnvironmentSpec, type EnvironmentSpec } from '../specs/environment';
import { OpsCloud, OpsEnvironment, OpsOperation } from '../temporal/search-attributes';
import { COMPENSATION_RETRY, runSaga } from './saga';
import { CLOUD_CALL, CLOUD_RETRY } from './cloud-activity-options';
import { StatusTracker } from './status';

const cloud = proxyActivities<CloudActivities>({ ...CLOUD_CALL, retry: CLOUD_RETRY });
const undo = proxyActivities<CloudActivities>({ ...CLOUD_CALL, retry: COMPENSATION_RETRY });

export interface ProvisionInput {
  spec: EnvironmentSpec;
  /** Fingerprints of account SSH keys to install on the droplets (never the keys themselves). */
  sshKeyFingerprints?: string[];
}

export interface ProvisionResult {
  environment: string;
  vpcId?: string;
  firewallId?: string;
  droplets: ActiveDroplet[];
  volumes: { name: string; id: string; droplet: string }[];
  reservedIp?: string;
}

const STEPS = ['validate spec', 'create VPC', 'create firewall', 'create droplets', 'wait for droplets', 'create volumes', 'assign reserved IP'];

export async function provisionEnvironment(input: ProvisionInput): Promise<ProvisionResult> {
  const status = new StatusTracker('provisionEnvironment', STEPS);
  status.step('validate spec');
  const spec = validated(input.spec);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: spec.name },
    { key: OpsOperation, value: 'provision' },
    { key: OpsCloud, value: spec.cloud },
  ]);
  const owner: Owner = { workflowId: workflowInfo().workflowId, environment: spec.name };
  const result: ProvisionResult = { environment: spec.name, droplets: [], volumes: [] };

  return runSaga(
    async (saga) => {
      if (spec.vpc) {
        status.step('create VPC');
        const vpc = await cloud.ensureVpc({ owner, name: `${spec.name}-vpc`, region: spec.region, ipRange: spec.vpc.ipRange });
        saga.addCompensation('delete VPC', () => undo.deleteVpc({ id: vpc.id }));
        status.recordResource({ kind: 'vpc', id: vpc.id, name: `${spec.name}-vpc` });
        result.vpcId = vpc.id;
      }

      if (spec.firewall) {
        status.step('create firewall');
        const firewall = await cloud.ensureFirewall({ owner, name: `${spec.name}-fw`, inbound: spec.firewall.inbound });
        saga.addCompensation('delete firewall', () => undo.deleteFirewall({ id: firewall.id }));
        status.recordResource({ kind: 'firewall', id: firewall.id, name: `${spec.name}-fw` });
        result.firewallId = firewall.id;
      }

      status.step('create droplets');
      // Registered before the create: deleting by this run's tag is safe even if nothing exists,
      // and it also catches a droplet whose create response was lost.
      saga.addCompensation('delete droplets', () => undo.deleteDropletsByTag({ tag: workflowTag(owner) }));
      const created = (
        await Promise.all(
          spec.droplets.map((group) =>
            cloud.ensureDroplets({
              owner,
              names: dropletInstances({ droplets: [group] }).map((i) => `${spec.name}-${i.instance}`),
              region: spec.region,
              size: group.size,
              image: group.image,
              tags: group.tags,
              vpcId: result.vpcId,
              sshKeyFingerprints: input.sshKeyFingerprints ?? [],
            }),
          ),
        )
      ).flat();
      for (const d of created) status.recordResource({ kind: 'droplet', id: String(d.id), name: d.name });

      status.step('wait for droplets');
      result.droplets = await cloud.waitForDropletsActive({ droplets: created });
      const dropletOf = (instance: string) => result.droplets.find((d) => d.name === `${spec.name}-${instance}`) as ActiveDroplet;

      if (spec.volumes.length > 0) status.step('create volumes');
      for (const volumeSpec of spec.volumes) {
        const name = `${spec.name}-${volumeSpec.name}`;
        const volume = await cloud.ensureVolume({ owner, name, region: spec.region, sizeGb: volumeSpec.sizeGb, filesystem: volumeSpec.filesystem });
        saga.addCompensation(`delete volume ${name}`, () => undo.deleteVolume({ id: volume.id }));
        status.recordResource({ kind: 'volume', id: volume.id, name });
        const droplet = dropletOf(volumeSpec.droplet);
        await cloud.attachVolume({ volumeId: volume.id, dropletId: droplet.id, region: spec.region });
        saga.addCompensation(`detach volume ${name}`, () => undo.detachVolume({ volumeId: volume.id, dropletId: droplet.id, region: spec.region }));
        result.volumes.push({ name, id: volume.id, droplet: droplet.name });
      }

      if (spec.reservedIp) {
        status.step('assign reserved IP');
        const { ip } = await cloud.ensureReservedIp({ dropletId: dropletOf(spec.reservedIp.droplet).id });
        saga.addCompensation('release reserved IP', () => undo.releaseReservedIp({ ip }));
        status.recordResource({ kind: 'reserved_ip', id: ip });
        result.reservedIp = ip;
      }

      status.finish('done');
      return result;
    },
    { rollbackOnFailure: spec.onFailure === 'rollback', onRollback: () => status.finish('rolling back') },
  );
}

/** Rule 7: the same schema again at workflow start; a bad spec fails before any side effect. */
function validated(spec: EnvironmentSpec): EnvironmentSpec {
  try {
    return parseEnvironmentSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) throw ApplicationFailure.create({ type: 'InvalidSpec', message: err.message, details: [err.problems], nonRetryable: true });
    throw err;
  }
}
