// Cloud firewalls: /v2/firewalls. A firewall follows tags, so droplets are covered as they appear.
import type { DigitalOceanClient } from '../client';
import type { ApiFirewall, ApiFirewallRule } from './types';

export function firewallsApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiFirewall>('/firewalls', 'firewalls'),
    create: async (body: { name: string; tags: string[]; inbound_rules: ApiFirewallRule[]; outbound_rules: ApiFirewallRule[] }) =>
      (await client.request<{ firewall: ApiFirewall }>('POST', '/firewalls', { body })).firewall,
    delete: (id: string) => client.request<void>('DELETE', `/firewalls/${id}`),
  };
}
