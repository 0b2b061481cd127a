// The typed DigitalOcean API: every resource opsflow uses, through one account's client (which
// carries the transport: pacing, retries of what is safe to resend, classified errors, paging).
import type { DigitalOceanClient } from '../client';
import { actionsApi } from './actions';
import { dropletsApi } from './droplets';
import { firewallsApi } from './firewalls';
import { kubernetesClustersApi } from './kubernetes-clusters';
import { loadBalancersApi } from './load-balancers';
import { reservedIpsApi } from './reserved-ips';
import { snapshotsApi } from './snapshots';
import { sshKeysApi } from './ssh-keys';
import { tagsApi } from './tags';
import { volumesApi } from './volumes';
import { vpcsApi } from './vpcs';

export function digitalOceanResources(client: DigitalOceanClient) {
  return {
    actions: actionsApi(client),
    droplets: dropletsApi(client),
    firewalls: firewallsApi(client),
    kubernetesClusters: kubernetesClustersApi(client),
    loadBalancers: loadBalancersApi(client),
    reservedIps: reservedIpsApi(client),
    snapshots: snapshotsApi(client),
    sshKeys: sshKeysApi(client),
    tags: tagsApi(client),
    volumes: volumesApi(client),
    vpcs: vpcsApi(client),
  };
}

export type DigitalOceanResources = ReturnType<typeof digitalOceanResources>;
export type * from './types';
