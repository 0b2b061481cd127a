// The cloud half of provisionEnvironment: network, firewall, servers, volumes and the floating IP,
// each create registering its undo with the run's saga.
//
// Since patch `provision-at-once` (issue 17) it goes as Terraform does: what depends on nothing
// (SSH key, VPC, firewall, volumes) is created at once, then the droplets, and once they are
// active the volume attachments and the reserved IP together. A fresh environment's creates skip
// their look-ups on a first attempt (fresh-environment.ts). Runs recorded before the patch replay
// the one-after-another sequence below it unchanged.
import type { Owner } from '../../names/ownership-tags';
import { firewallName, networkName, serverName, volumeName } from '../../names/resource-names';
import type { CloudProviderActivities, Server, Volume } from '../../providers/cloud-provider';
import { workflowTag } from '../../names/ownership-tags';
import { dropletInstances, type EnvironmentSpec } from '../../specs/environment';
import type { Saga } from '../shared/saga';
import type { StatusTracker } from '../shared/status';
import type { ProvisionInput, ProvisionResult } from './provision-environment';

export interface InfrastructureRun {
  input: ProvisionInput;
  spec: EnvironmentSpec;
  owner: Owner;
  cloud: CloudProviderActivities;
  undo: CloudProviderActivities;
  saga: Saga;
  status: StatusTracker;
  result: ProvisionResult;
}

/** The droplet that runs `instance`, once the droplets are active. */
export const dropletOf = (run: Pick<InfrastructureRun, 'spec' | 'result'>, instance: string): Server =>
  run.result.droplets.find((d) => d.name === serverName(run.spec.name, instance)) as Server;

/** A create under way, and what its result registers (its undo, the status, the result). */
interface Made<T> {
  made: Promise<T>;
  register: (value: T) => void;
}
const made = <T>(promise: Promise<T>, register: (value: T) => void = () => undefined): Made<unknown> => ({
  made: promise,
  register: register as (value: unknown) => void,
});

/**
 * Waits for every create, registers what each made in the list's order (not as they finished: the
 * undo order, and what a kept run names, is the same every run), then throws the first failure. A
 * create still in flight when another fails may succeed, and only a result that reaches the
 * workflow gets its undo registered.
 */
async function allThenFirstFailure(steps: Made<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(steps.map((s) => s.made));
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') steps[i]!.register(s.value);
  });
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function infrastructureAtOnce(run: InfrastructureRun, fresh: boolean): Promise<void> {
  const { input, spec, owner, cloud, undo, saga, status, result } = run;
  let deployKey = '';
  const volumes: { name: string; id: string; device: string; droplet: string; mountPoint: string }[] = [];
  const first: Made<unknown>[] = [];

  status.step('register SSH key');
  // The account keeps the key after a rollback: other environments may use it too.
  first.push(made(cloud.ensureSshKey({ name: spec.ssh.key }), (k) => (deployKey = (k as { fingerprint: string }).fingerprint)));
  if (spec.vpc) {
    status.step('create VPC');
    const vpc = cloud.ensureNetwork({ owner, name: networkName(spec.name), region: spec.region, ipRange: spec.vpc.ipRange, fresh });
    first.push(
      made(vpc, (v) => {
        const { id } = v as { id: string };
        saga.addCompensation('delete VPC', () => undo.deleteNetwork({ id }));
        status.recordResource({ kind: 'vpc', id, name: networkName(spec.name), step: 'create VPC' });
        result.vpcId = id;
      }),
    );
  }
  if (spec.firewall) {
    status.step('create firewall');
    const firewall = cloud.ensureFirewall({ owner, name: firewallName(spec.name), inbound: spec.firewall.inbound, fresh });
    first.push(
      made(firewall, (f) => {
        const { id } = f as { id: string };
        saga.addCompensation('delete firewall', () => undo.deleteFirewall({ id }));
        status.recordResource({ kind: 'firewall', id, name: firewallName(spec.name), step: 'create firewall' });
        result.firewallId = id;
      }),
    );
  }
  // Volumes need no droplet to exist: made now, attached once the droplets are active.
  for (const volumeSpec of spec.volumes) {
    const name = volumeName(spec.name, volumeSpec.name);
    const volume = cloud.ensureVolume({
      owner,
      name,
      region: spec.region,
      sizeGb: volumeSpec.sizeGb,
      filesystem: volumeSpec.filesystem,
      fresh,
    });
    first.push(
      made(volume, (v) => {
        const { id, devicePath } = v as Volume;
        saga.addCompensation(`delete volume ${name}`, () => undo.deleteVolume({ id }));
        status.recordResource({ kind: 'volume', id, name, step: 'create volumes' });
        volumes.push({ name, id, device: devicePath, droplet: volumeSpec.droplet, mountPoint: volumeSpec.mountPoint });
      }),
    );
  }
  await allThenFirstFailure(first);

  status.step('create droplets');
  // Registered before the create: deleting by this run's tag is safe even if nothing exists, and
  // it also catches a droplet whose create response was lost.
  saga.addCompensation('delete droplets', () => undo.deleteServersTagged({ tag: workflowTag(owner) }));
  const created = (
    await Promise.all(
      spec.droplets.map((group) =>
        cloud.ensureServers({
          owner,
          names: dropletInstances({ droplets: [group] }).map((i) => serverName(spec.name, i.instance)),
          region: spec.region,
          size: group.size,
          image: group.image,
          tags: group.tags,
          networkId: result.vpcId,
          sshKeyFingerprints: [deployKey, ...(input.sshKeyFingerprints ?? [])],
          fresh,
        }),
      ),
    )
  ).flat();
  for (const d of created) status.recordResource({ kind: 'droplet', id: String(d.id), name: d.name });

  status.step('wait for droplets');
  result.droplets = await cloud.waitForServers({ servers: created });

  // The attachments and the reserved IP together: each is an action of several seconds.
  if (spec.volumes.length > 0) status.step('create volumes');
  const last: Made<unknown>[] = spec.volumes.map((volumeSpec) => {
    const volume = volumes.find((v) => v.name === volumeName(spec.name, volumeSpec.name))!;
    const droplet = dropletOf(run, volumeSpec.droplet);
    // Registered before the attach: detaching is a no-op when it never happened, and an attach
    // that went through while its attempt failed is undone too.
    saga.addCompensation(`detach volume ${volume.name}`, () =>
      undo.detachVolume({ volumeId: volume.id, serverId: droplet.id, region: spec.region }),
    );
    return made(cloud.attachVolume({ volumeId: volume.id, serverId: droplet.id, region: spec.region, fresh }));
  });
  if (spec.reservedIp) {
    status.step('assign reserved IP');
    const assigned = cloud.ensureFloatingIp({ serverId: dropletOf(run, spec.reservedIp.droplet).id, fresh });
    last.push(
      made(assigned, (a) => {
        const { ip } = a as { ip: string };
        saga.addCompensation('release reserved IP', () => undo.releaseFloatingIp({ ip }));
        status.recordResource({ kind: 'reserved_ip', id: ip, step: 'assign reserved IP' });
        result.reservedIp = ip;
      }),
    );
  }
  await allThenFirstFailure(last);
  // In the spec's order, as the mount step reads them.
  result.volumes = spec.volumes.map((volumeSpec) => {
    const v = volumes.find((made) => made.name === volumeName(spec.name, volumeSpec.name))!;
    return { name: v.name, id: v.id, droplet: dropletOf(run, v.droplet).name, device: v.device, mountPoint: v.mountPoint };
  });
}

/** Before patch `provision-at-once`: one create after another, each looking first. */
export async function infrastructureOneByOne(run: InfrastructureRun): Promise<void> {
  const { input, spec, owner, cloud, undo, saga, status, result } = run;
  status.step('register SSH key');
  // The account keeps the key after a rollback: other environments may use it too.
  const { fingerprint: deployKey } = await cloud.ensureSshKey({ name: spec.ssh.key });

  if (spec.vpc) {
    status.step('create VPC');
    const vpc = await cloud.ensureNetwork({ owner, name: networkName(spec.name), region: spec.region, ipRange: spec.vpc.ipRange });
    saga.addCompensation('delete VPC', () => undo.deleteNetwork({ id: vpc.id }));
    status.recordResource({ kind: 'vpc', id: vpc.id, name: networkName(spec.name) });
    result.vpcId = vpc.id;
  }

  if (spec.firewall) {
    status.step('create firewall');
    const firewall = await cloud.ensureFirewall({ owner, name: firewallName(spec.name), inbound: spec.firewall.inbound });
    saga.addCompensation('delete firewall', () => undo.deleteFirewall({ id: firewall.id }));
    status.recordResource({ kind: 'firewall', id: firewall.id, name: firewallName(spec.name) });
    result.firewallId = firewall.id;
  }

  status.step('create droplets');
  // Registered before the create: deleting by this run's tag is safe even if nothing exists,
  // and it also catches a droplet whose create response was lost.
  saga.addCompensation('delete droplets', () => undo.deleteServersTagged({ tag: workflowTag(owner) }));
  const created = (
    await Promise.all(
      spec.droplets.map((group) =>
        cloud.ensureServers({
          owner,
          names: dropletInstances({ droplets: [group] }).map((i) => serverName(spec.name, i.instance)),
          region: spec.region,
          size: group.size,
          image: group.image,
          tags: group.tags,
          networkId: result.vpcId,
          sshKeyFingerprints: [deployKey, ...(input.sshKeyFingerprints ?? [])],
        }),
      ),
    )
  ).flat();
  for (const d of created) status.recordResource({ kind: 'droplet', id: String(d.id), name: d.name });

  status.step('wait for droplets');
  result.droplets = await cloud.waitForServers({ servers: created });

  if (spec.volumes.length > 0) status.step('create volumes');
  for (const volumeSpec of spec.volumes) {
    const name = volumeName(spec.name, volumeSpec.name);
    const volume = await cloud.ensureVolume({
      owner,
      name,
      region: spec.region,
      sizeGb: volumeSpec.sizeGb,
      filesystem: volumeSpec.filesystem,
    });
    saga.addCompensation(`delete volume ${name}`, () => undo.deleteVolume({ id: volume.id }));
    status.recordResource({ kind: 'volume', id: volume.id, name });
    const droplet = dropletOf(run, volumeSpec.droplet);
    // Registered before the attach, as for droplets: detaching is a no-op when it never
    // happened, and an attach that went through while its attempt failed is undone too.
    saga.addCompensation(`detach volume ${name}`, () =>
      undo.detachVolume({ volumeId: volume.id, serverId: droplet.id, region: spec.region }),
    );
    await cloud.attachVolume({ volumeId: volume.id, serverId: droplet.id, region: spec.region });
    result.volumes.push({ name, id: volume.id, droplet: droplet.name, device: volume.devicePath, mountPoint: volumeSpec.mountPoint });
  }

  if (spec.reservedIp) {
    status.step('assign reserved IP');
    const { ip } = await cloud.ensureFloatingIp({ serverId: dropletOf(run, spec.reservedIp.droplet).id });
    saga.addCompensation('release reserved IP', () => undo.releaseFloatingIp({ ip }));
    status.recordResource({ kind: 'reserved_ip', id: ip });
    result.reservedIp = ip;
  }
}
