// Reserved IPs: /v2/reserved_ips. They carry no name or tag: only their droplet tells whose they are.
import type { DigitalOceanClient } from '../client';
import type { ApiAction, ApiReservedIp } from './types';

export function reservedIpsApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiReservedIp>('/reserved_ips', 'reserved_ips'),
    get: async (ip: string) => (await client.request<{ reserved_ip: ApiReservedIp }>('GET', `/reserved_ips/${ip}`)).reserved_ip,
    /** Created assigned to the droplet; the assignment's actions are in `actionIds`. */
    createFor: async (dropletId: number) => {
      const created = await client.request<{ reserved_ip: ApiReservedIp; links: { actions: { id: number }[] } }>('POST', '/reserved_ips', {
        body: { droplet_id: dropletId },
      });
      return { ip: created.reserved_ip.ip, actionIds: created.links.actions.map((a) => a.id) };
    },
    unassign: async (ip: string) =>
      (await client.request<{ action: ApiAction }>('POST', `/reserved_ips/${ip}/actions`, { body: { type: 'unassign' } })).action,
    delete: (ip: string) => client.request<void>('DELETE', `/reserved_ips/${ip}`),
  };
}
