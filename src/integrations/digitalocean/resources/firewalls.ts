// Cloud firewalls: /v2/firewalls. A firewall follows tags, so droplets are covered as they appear.
import type { DigitalOceanClient } from '../client';
import type { ApiFirewall, ApiFirewallRule } from './types';

export function firewallsApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiFirewall>('/firewalls', 'firewalls'),
    create: async (body: { name: string; tags: string[]; inbound_rules: ApiFirewallRule[]; outbound_rules: ApiFirewallRule[] }) =>
      (await client.request<{ firewall: ApiFirewall }>('POST', '/firewalls', { body })).firewall,
    get: async (id: string) => (await client.request<{ firewall: ApiFirewall }>('GET', `/firewalls/${id}`)).firewall,
    /** Replaces the firewall whole (PUT): name, tags, droplets and both rule lists. */
    update: async (
      id: string,
      body: { name: string; tags: string[]; droplet_ids: number[]; inbound_rules: ApiFirewallRule[]; outbound_rules: ApiFirewallRule[] },
    ) => (await client.request<{ firewall: ApiFirewall }>('PUT', `/firewalls/${id}`, { body })).firewall,
    delete: (id: string) => client.request<void>('DELETE', `/firewalls/${id}`),
  };
}
