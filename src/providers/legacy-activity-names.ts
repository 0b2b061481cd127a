// Before the provider seam (patch PROVIDER_SEAM_PATCH) workflows called DigitalOcean's activities
// by DigitalOcean's names and shapes: ensureVpc, ensureDroplets, ensureReservedIp, ... Histories
// recorded then must replay, and runs started then must go on, with the same activity types. This
// module is the one place that knows them: a neutral view over the old names for such runs, and the
// old names' shapes for the DigitalOcean worker, which still registers them. Pure: safe in workflows.
import type { CloudProviderActivities, EnvironmentResources, ServerId, ServerRef, Volume } from './cloud-provider';

/** patched() id: runs that record it call the neutral activity names. */
export const PROVIDER_SEAM_PATCH = 'provider-seam';

/** What findEnvironmentResources returned. */
export interface LegacyEnvironmentResources {
  tag: string;
  droplets: ServerRef[];
  volumes: { id: string; region: string; dropletIds: ServerId[] }[];
  firewalls: string[];
  vpcs: string[];
  reservedIps: string[];
}

export const resourcesFromLegacy = (r: LegacyEnvironmentResources): EnvironmentResources => ({
  tag: r.tag,
  servers: r.droplets,
  volumes: r.volumes.map((v) => ({ id: v.id, region: v.region, serverIds: v.dropletIds })),
  firewalls: r.firewalls,
  networks: r.vpcs,
  floatingIps: r.reservedIps,
});

export const resourcesToLegacy = (r: EnvironmentResources): LegacyEnvironmentResources => ({
  tag: r.tag,
  droplets: r.servers,
  volumes: r.volumes.map((v) => ({ id: v.id, region: v.region, dropletIds: v.serverIds })),
  firewalls: r.firewalls,
  vpcs: r.networks,
  reservedIps: r.floatingIps,
});

/** Where those runs mounted a volume: ensureVolume did not say, DigitalOcean's path was assumed. */
const legacyDevicePath = (volumeName: string) => `/dev/disk/by-id/scsi-0DO_Volume_${volumeName}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyActivities = Record<string, (input: any) => Promise<any>>;

/** The neutral interface over a proxy of the old activity names (for runs without the patch). */
export function legacyCloudActivities(old: AnyActivities): CloudProviderActivities {
  return {
    ensureSshKey: (i) => old.ensureSshKey!(i),
    ensureNetwork: (i) => old.ensureVpc!(i),
    deleteNetwork: (i) => old.deleteVpc!(i),
    ensureFirewall: (i) => old.ensureFirewall!(i),
    deleteFirewall: (i) => old.deleteFirewall!(i),
    ensureServers: ({ networkId, ...i }) => old.ensureDroplets!({ ...i, vpcId: networkId }),
    waitForServers: (i) => old.waitForDropletsActive!({ droplets: i.servers }),
    deleteServersTagged: (i) => old.deleteDropletsByTag!(i),
    ensureVolume: async (i) => {
      const { id } = (await old.ensureVolume!(i)) as { id: string };
      return { id, name: i.name, devicePath: legacyDevicePath(i.name) } satisfies Volume;
    },
    attachVolume: ({ serverId, ...i }) => old.attachVolume!({ ...i, dropletId: serverId }),
    detachVolume: ({ serverId, ...i }) => old.detachVolume!({ ...i, dropletId: serverId }),
    deleteVolume: (i) => old.deleteVolume!(i),
    ensureFloatingIp: (i) => old.ensureReservedIp!({ dropletId: i.serverId }),
    releaseFloatingIp: (i) => old.releaseReservedIp!(i),
    listEnvironmentResources: async (i) => resourcesFromLegacy(await old.findEnvironmentResources!(i)),
    takeSnapshot: (i) => old.takeSnapshot!(i),
    listSnapshots: (i) => old.listSnapshots!(i),
    deleteSnapshots: (i) => old.deleteSnapshots!(i),
    // Newer than the seam: no run without the patch schedules them.
    readLoadBalancer: (i) => old.readLoadBalancer!(i),
    setLoadBalancerMembers: (i) => old.setLoadBalancerMembers!(i),
    setFirewallInbound: (i) => old.setFirewallInbound!(i),
  };
}

/** A volume step's server, from a neutral input or one a run without the patch scheduled. */
export const serverIdOf = (input: { serverId?: ServerId; dropletId?: ServerId }): ServerId =>
  (input.serverId ?? input.dropletId) as ServerId;

/** The old names, as the DigitalOcean worker registers them next to the neutral ones. */
export function legacyActivityAliases(neutral: CloudProviderActivities) {
  return {
    ensureVpc: (i: Parameters<CloudProviderActivities['ensureNetwork']>[0]) => neutral.ensureNetwork(i),
    deleteVpc: (i: { id: string }) => neutral.deleteNetwork(i),
    ensureDroplets: ({ vpcId, ...i }: Omit<Parameters<CloudProviderActivities['ensureServers']>[0], 'networkId'> & { vpcId?: string }) =>
      neutral.ensureServers({ ...i, networkId: vpcId }),
    waitForDropletsActive: (i: { droplets: ServerRef[] }) => neutral.waitForServers({ servers: i.droplets }),
    deleteDropletsByTag: (i: { tag: string }) => neutral.deleteServersTagged(i),
    ensureReservedIp: (i: { dropletId: ServerId }) => neutral.ensureFloatingIp({ serverId: i.dropletId }),
    releaseReservedIp: (i: { ip: string }) => neutral.releaseFloatingIp(i),
    findEnvironmentResources: async (i: { environment: string }) => resourcesToLegacy(await neutral.listEnvironmentResources(i)),
  };
}
