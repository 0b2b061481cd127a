// Tags: /v2/tags. Droplets, volumes and firewalls are created with theirs; a tag can also be made
// ahead of time (a firewall may name a tag no droplet carries yet) and removed when unused.
import type { DigitalOceanClient } from '../client';
import type { ApiTag } from './types';

export function tagsApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiTag>('/tags', 'tags'),
    create: async (name: string) => (await client.request<{ tag: ApiTag }>('POST', '/tags', { body: { name } })).tag,
    delete: (name: string) => client.request<void>('DELETE', `/tags/${encodeURIComponent(name)}`),
  };
}
