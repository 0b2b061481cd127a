// Load balancers: /v2/load_balancers. Droplets are added and removed by id (a load balancer by tag
// takes no such call: DigitalOcean answers 422).
import type { DigitalOceanClient } from '../client';
import type { ApiLoadBalancer } from './types';

export function loadBalancersApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiLoadBalancer>('/load_balancers', 'load_balancers'),
    get: async (id: string) => (await client.request<{ load_balancer: ApiLoadBalancer }>('GET', `/load_balancers/${id}`)).load_balancer,
    addDroplets: (id: string, dropletIds: number[]) =>
      client.request<void>('POST', `/load_balancers/${id}/droplets`, { body: { droplet_ids: dropletIds } }),
    removeDroplets: (id: string, dropletIds: number[]) =>
      client.request<void>('DELETE', `/load_balancers/${id}/droplets`, { body: { droplet_ids: dropletIds } }),
  };
}
