// A load balancer's membership, for the rollout's membership backend: read it (with its droplets'
// addresses, so the workflow can tell which fleet host each is), and set it to exactly a list of
// droplets. Setting is desired state: what is missing is added, then what is too much removed, and
// a retry (or a replay's activity run again) that finds the list in place sends nothing.
import type { CloudProviderActivities, LoadBalancerState } from '../../providers/cloud-provider';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { resourcesOf, type DigitalOceanDeps } from './deps';
import { digitalOceanStep } from './failures';
import type { ApiLoadBalancer } from '../../integrations/digitalocean/resources';

type LoadBalancerActivities = Pick<CloudProviderActivities, 'readLoadBalancer' | 'setLoadBalancerMembers'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function loadBalancerActivities(deps: DigitalOceanDeps): LoadBalancerActivities {
  const api = resourcesOf(deps);
  return {
    async readLoadBalancer({ loadBalancer }) {
      return digitalOceanStep(async () => {
        const resources = api();
        const all = await resources.loadBalancers.list();
        const byId = UUID.test(loadBalancer) ? all.find((l) => l.id === loadBalancer) : undefined;
        const named = all.filter((l) => l.name === loadBalancer);
        if (!byId && named.length > 1)
          throw failure(
            STEP_FAILURE.TrafficRefused,
            `${named.length} load balancers are named ${loadBalancer} (${named.map((l) => l.id).join(', ')}): name it by id in the rollout spec`,
          );
        const lb = byId ?? named[0];
        if (!lb)
          throw failure(STEP_FAILURE.TrafficRefused, `no load balancer ${loadBalancer} in this DigitalOcean account (by id or name)`);
        const droplets = await resources.droplets.list();
        return stateOf(lb, droplets);
      });
    },

    async setLoadBalancerMembers({ loadBalancerId, members }) {
      return digitalOceanStep(async () => {
        const { loadBalancers } = api();
        const lb = await loadBalancers.get(loadBalancerId);
        if (lb.tag)
          throw failure(
            STEP_FAILURE.TrafficRefused,
            `load balancer ${lb.name} selects its droplets by tag ${lb.tag}: droplets cannot be added to it or removed one by one`,
          );
        const added = members.filter((id) => !lb.droplet_ids.includes(id));
        const removed = lb.droplet_ids.filter((id) => !members.includes(id));
        // Added first: the load balancer is never left with fewer members than either list has.
        if (added.length) await loadBalancers.addDroplets(loadBalancerId, added);
        if (removed.length) await loadBalancers.removeDroplets(loadBalancerId, removed);
        return { added, removed };
      });
    },
  };
}

function stateOf(
  lb: ApiLoadBalancer,
  droplets: { id: number; name: string; networks: { v4: { ip_address: string; type: string }[] } }[],
): LoadBalancerState {
  const address = (d: (typeof droplets)[number], type: string) => d.networks.v4.find((n) => n.type === type)?.ip_address ?? '';
  const hc = lb.health_check;
  return {
    id: lb.id,
    name: lb.name,
    ip: lb.ip,
    status: lb.status,
    ...(lb.tag ? { tag: lb.tag } : {}),
    members: lb.droplet_ids.map((id) => {
      const d = droplets.find((x) => x.id === id);
      return { id, name: d?.name ?? '', publicIp: d ? address(d, 'public') : '', privateIp: d ? address(d, 'private') : '' };
    }),
    forwarding: lb.forwarding_rules.map((r) => ({ entryProtocol: r.entry_protocol, entryPort: r.entry_port, targetPort: r.target_port })),
    healthCheck: {
      protocol: hc.protocol,
      port: hc.port,
      intervalSeconds: hc.check_interval_seconds,
      timeoutSeconds: hc.response_timeout_seconds,
      healthyThreshold: hc.healthy_threshold,
      unhealthyThreshold: hc.unhealthy_threshold,
    },
  };
}
