// Everything an environment owns, found by its tag (or, for VPCs, the mark in the description;
// for reserved IPs, the droplet they are assigned to).
import { environmentTag } from '../../names/ownership-tags';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { resourcesOf, type DigitalOceanDeps } from './deps';
import { digitalOceanStep } from './failures';

export function inventoryActivities(deps: DigitalOceanDeps): Pick<CloudProviderActivities, 'listEnvironmentResources'> {
  const api = resourcesOf(deps);
  return {
    async listEnvironmentResources(input) {
      return digitalOceanStep(async () => {
        const resources = api();
        const tag = environmentTag(input.environment);
        const droplets = await resources.droplets.list({ tag_name: tag });
        const dropletIds = droplets.map((d) => d.id);
        const volumes = (await resources.volumes.list()).filter((v) => v.tags.includes(tag));
        const firewalls = (await resources.firewalls.list()).filter((f) => f.tags.includes(tag));
        const vpcs = (await resources.vpcs.list()).filter((v) => v.description.split(' ').includes(tag));
        const reservedIps = (await resources.reservedIps.list()).filter((r) => r.droplet && dropletIds.includes(r.droplet.id));
        return {
          tag,
          servers: droplets.map((d) => ({ id: d.id, name: d.name })),
          volumes: volumes.map((v) => ({ id: v.id, region: v.region.slug, serverIds: v.droplet_ids })),
          firewalls: firewalls.map((f) => f.id),
          networks: vpcs.map((v) => v.id),
          floatingIps: reservedIps.map((r) => r.ip),
        };
      });
    },
  };
}
