// VPCs: /v2/vpcs. They take no tags: opsflow's owner mark lives in the description.
import type { DigitalOceanClient } from '../client';
import type { ApiVpc } from './types';

export function vpcsApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiVpc>('/vpcs', 'vpcs'),
    create: async (body: { name: string; region: string; ip_range: string; description: string }) =>
      (await client.request<{ vpc: ApiVpc }>('POST', '/vpcs', { body })).vpc,
    delete: (id: string) => client.request<void>('DELETE', `/vpcs/${id}`),
  };
}
