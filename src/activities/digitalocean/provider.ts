// DigitalOcean as a cloud provider: the neutral activities (src/providers/cloud-provider.ts), each
// a thin translation onto the typed API (src/integrations/digitalocean/resources), plus the names
// runs from before the provider seam still schedule.
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { legacyActivityAliases, serverIdOf } from '../../providers/legacy-activity-names';
import type { DigitalOceanDeps } from './deps';
import { floatingIpActivities } from './floating-ips';
import { inventoryActivities } from './inventory';
import { loadBalancerActivities } from './load-balancers';
import { networkActivities } from './network';
import { serverActivities } from './servers';
import { createSnapshotActivities } from './snapshots';
import { sshKeyActivities } from './ssh-keys';
import { volumeActivities } from './volumes';

export type { DigitalOceanDeps } from './deps';

export function createDigitalOceanProvider(deps: DigitalOceanDeps): CloudProviderActivities {
  return {
    ...sshKeyActivities(deps),
    ...networkActivities(deps),
    ...serverActivities(deps),
    ...volumeActivities(deps),
    ...floatingIpActivities(deps),
    ...inventoryActivities(deps),
    ...loadBalancerActivities(deps),
    ...createSnapshotActivities(deps),
  };
}

/** What the DigitalOcean worker registers: the neutral names and the old ones. */
export function createDigitalOceanActivities(deps: DigitalOceanDeps) {
  const neutral = createDigitalOceanProvider(deps);
  // attachVolume and detachVolume kept their names: older runs send `dropletId`.
  type VolumeStep = Parameters<CloudProviderActivities['attachVolume']>[0];
  const legacyInput = (i: VolumeStep) => ({ ...i, serverId: serverIdOf(i) });
  return {
    ...neutral,
    attachVolume: (i: VolumeStep) => neutral.attachVolume(legacyInput(i)),
    detachVolume: (i: VolumeStep) => neutral.detachVolume(legacyInput(i)),
    ...legacyActivityAliases(neutral),
  };
}

export type DigitalOceanActivities = ReturnType<typeof createDigitalOceanActivities>;
