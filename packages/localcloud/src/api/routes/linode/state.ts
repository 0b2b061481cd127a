// What the local cloud keeps of its Linode account, in the shapes Linode's API v4 returns them
// (typed by the official client's @linode/api-v4 response types, so tsc checks every field).
import type { Firewall, FirewallDevice, Linode, NodeBalancer, NodeBalancerConfig, VPC, Volume } from '@linode/api-v4';

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

/** A public IPv4 address allocated to an instance beyond its first (Linode's way to an address that moves). */
export interface LinodeExtraIp {
  address: string;
  linodeId: number;
  region: string;
}

export interface LinodeState {
  instances: LinodeInstanceRecord[];
  firewalls: LinodeFirewallRecord[];
  volumes: Volume[];
  nodeBalancers: LinodeNodeBalancerRecord[];
  /** VPCs with their subnets (each subnet lists the instances with an interface in it). */
  vpcs: VPC[];
  /** Additional public addresses, each routed to its instance like a reserved IP to its droplet. */
  extraIps: LinodeExtraIp[];
  /** Tags created explicitly; tags named by resources exist implicitly too. */
  tags: string[];
}

export const emptyLinodeState = (): LinodeState => ({
  instances: [],
  firewalls: [],
  volumes: [],
  nodeBalancers: [],
  vpcs: [],
  extraIps: [],
  tags: [],
});
