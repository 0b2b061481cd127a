// What the local cloud keeps of its Linode account, in the shapes Linode's API v4 returns them
// (typed by the official client's @linode/api-v4 response types, so tsc checks every field).
import type { Firewall, FirewallDevice, Linode, NodeBalancer, NodeBalancerConfig, Volume } from '@linode/api-v4';

export interface LinodeInstanceRecord {
  linode: Linode;
  /** The one configuration profile every instance boots from (volumes attach to it). */
  configId: number;
}

export interface LinodeFirewallRecord {
  firewall: Firewall;
  devices: FirewallDevice[];
}

export interface LinodeNodeBalancerRecord {
  nodeBalancer: NodeBalancer;
  configs: NodeBalancerConfig[];
}

export interface LinodeState {
  instances: LinodeInstanceRecord[];
  firewalls: LinodeFirewallRecord[];
  volumes: Volume[];
  nodeBalancers: LinodeNodeBalancerRecord[];
  /** Tags created explicitly; tags named by resources exist implicitly too. */
  tags: string[];
}

export const emptyLinodeState = (): LinodeState => ({ instances: [], firewalls: [], volumes: [], nodeBalancers: [], tags: [] });
