// The floating IP is an extra public IPv4 allocated to the instance: Linode's address that can move
// (POST /networking/ips/assign hands it to another instance of the region; IP sharing for
// failover builds on the same address). It carries no name or tag, but it needs none: an
// instance opsflow made has one public address of its own, so any other public address on it is
// the floating one, and a retry after a lost response finds it there instead of allocating twice.
import { allocateIPAddress, getIP, getLinode, getLinodeIPs, removeIPAddress } from '@linode/api-v4';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { connect, type LinodeDeps } from './deps';
import { linodeStep, statusOf } from './failures';

type FloatingIpActivities = Pick<CloudProviderActivities, 'ensureFloatingIp' | 'releaseFloatingIp'>;

/** The instance's public addresses beyond its own (Linode lists its own first). */
async function extraAddresses(linodeId: number): Promise<string[]> {
  const [linode, ips] = await Promise.all([getLinode(linodeId), getLinodeIPs(linodeId)]);
  const own = linode.ipv4[0];
  return ips.ipv4.public.map((a) => a.address).filter((address) => address !== own);
}

export function floatingIpActivities(deps: LinodeDeps): FloatingIpActivities {
  return {
    async ensureFloatingIp(input) {
      return linodeStep(`allocate a public IPv4 to Linode ${input.serverId}`, async () => {
        connect(deps);
        const [existing] = await extraAddresses(input.serverId);
        if (existing) return { ip: existing };
        const allocated = await allocateIPAddress(input.serverId, { type: 'ipv4', public: true });
        return { ip: allocated.address };
      });
    },

    async releaseFloatingIp(input) {
      return linodeStep(`release public IPv4 ${input.ip}`, async () => {
        connect(deps);
        try {
          // An address goes with its instance: a deleted instance's one is gone already (404).
          const address = await getIP(input.ip);
          await removeIPAddress({ linodeID: address.linode_id, address: input.ip });
          return 'deleted';
        } catch (error) {
          if (statusOf(error) === 404) return 'already gone';
          throw error;
        }
      });
    },
  };
}
