// Linode as a cloud provider, through the official client (@linode/api-v4): the neutral activities
// (src/providers/cloud-provider.ts) for servers, firewalls, volumes, the SSH key and the inventory.
// Not yet: networks (instances use Linode's per-region private addresses instead), floating IPs
// (Linode's shared IPs) and snapshots; so Linode is not in IMPLEMENTED_PROVIDERS and no worker
// serves its task queue yet.
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import type { LinodeDeps } from './deps';
import { firewallActivities } from './firewalls';
import { inventoryActivities } from './inventory';
import { serverActivities } from './servers';
import { volumeActivities } from './volumes';

export type { LinodeDeps } from './deps';

export type LinodeProviderActivities = Pick<
  CloudProviderActivities,
  | 'ensureSshKey'
  | 'ensureFirewall'
  | 'deleteFirewall'
  | 'ensureServers'
  | 'waitForServers'
  | 'deleteServersTagged'
  | 'ensureVolume'
  | 'attachVolume'
  | 'detachVolume'
  | 'deleteVolume'
  | 'listEnvironmentResources'
>;

export function createLinodeProvider(deps: LinodeDeps): LinodeProviderActivities {
  return {
    ...inventoryActivities(deps),
    ...firewallActivities(deps),
    ...serverActivities(deps),
    ...volumeActivities(deps),
  };
}
