// Everything an environment owns at Linode, found by its environment tag (VPCs by the mark in their
// description; extra public addresses by the instance they are on), and the worker's SSH key as the
// seam names keys (Linode takes the key itself at creation: nothing is stored at the account).
import { getFirewalls, getLinodeIPs, getVolumes, getVPCs } from '@linode/api-v4';
import { environmentTag } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { connect, type LinodeDeps } from './deps';
import { linodeStep } from './failures';
import { linodesTagged } from './servers';
import { allPages, keyFingerprint } from './translate';

type InventoryActivities = Pick<CloudProviderActivities, 'listEnvironmentResources' | 'ensureSshKey'>;

export function inventoryActivities(deps: LinodeDeps): InventoryActivities {
  return {
    async listEnvironmentResources(input) {
      return linodeStep(`list what environment ${input.environment} owns`, async () => {
        connect(deps);
        const tag = environmentTag(input.environment);
        const [servers, volumes, firewalls, vpcs] = await Promise.all([
          linodesTagged(tag),
          allPages((params) => getVolumes(params, { tags: tag })),
          allPages((params) => getFirewalls(params, { tags: tag })),
          allPages((params) => getVPCs(params)),
        ]);
        // An instance's own address is listed first; the others on it are its floating ones.
        const floatingIps = (
          await Promise.all(
            servers.map(async (l) => (await getLinodeIPs(l.id)).ipv4.public.map((a) => a.address).filter((a) => a !== l.ipv4[0])),
          )
        ).flat();
        return {
          tag,
          servers: servers.map((l) => ({ id: l.id, name: l.label })),
          volumes: volumes.map((v) => ({ id: String(v.id), region: v.region, serverIds: v.linode_id === null ? [] : [v.linode_id] })),
          firewalls: firewalls.map((f) => String(f.id)),
          networks: vpcs.filter((v) => v.description.split(' ').includes(tag)).map((v) => String(v.id)),
          floatingIps,
        };
      });
    },

    async ensureSshKey(input) {
      const key = deps.sshKeys?.().find((k) => k.name === input.name);
      if (!key) throw failure(STEP_FAILURE.SshKeyUnavailable, `this worker has no SSH key named ${input.name}`);
      return { fingerprint: keyFingerprint(key.publicKey) };
    },
  };
}
