// Linode as a cloud provider, through the official client (@linode/api-v4): every neutral activity
// of the seam (src/providers/cloud-provider.ts): the SSH key, the network (a VPC), the firewall,
// servers (instances), volumes, the floating IP (an extra public IPv4) and the inventory; snapshot
// targets are refused by name (snapshots.ts says why). The worker serves them on `opsflow-linode`.
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import type { LinodeDeps } from './deps';
import { firewallActivities } from './firewalls';
import { floatingIpActivities } from './floating-ips';
import { inventoryActivities } from './inventory';
import { networkActivities } from './network';
import { serverActivities } from './servers';
import { snapshotActivities } from './snapshots';
import { volumeActivities } from './volumes';

export type { LinodeDeps } from './deps';

export type LinodeProviderActivities = CloudProviderActivities;

export function createLinodeProvider(deps: LinodeDeps): LinodeProviderActivities {
  return {
    ...inventoryActivities(deps),
    ...networkActivities(deps),
    ...firewallActivities(deps),
    ...serverActivities(deps),
    ...volumeActivities(deps),
    ...floatingIpActivities(deps),
    ...snapshotActivities(),
    ...membershipRefused(),
  };
}

/** A NodeBalancer has weights of its own: weighting by membership is for DigitalOcean's load balancer. */
function membershipRefused(): Pick<CloudProviderActivities, 'readLoadBalancer' | 'setLoadBalancerMembers'> {
  const refuse = async (): Promise<never> => {
    throw failure(
      STEP_FAILURE.TrafficRefused,
      "weighting by load balancer membership is for DigitalOcean's load balancer, which has no weights; a Linode NodeBalancer has node weights (not a rollout traffic backend yet)",
    );
  };
  return { readLoadBalancer: refuse, setLoadBalancerMembers: refuse };
}
