// Snapshots: /v2/snapshots (droplet and volume images alike). Taken through droplet actions or
// the volume's snapshots endpoint (droplets.ts, volumes.ts).
import type { DigitalOceanClient } from '../client';
import type { ApiSnapshot } from './types';

export function snapshotsApi(client: DigitalOceanClient) {
  return {
    list: (filter: { resource_type?: 'droplet' | 'volume' } = {}) => client.listAll<ApiSnapshot>('/snapshots', 'snapshots', filter),
    get: async (id: string) => (await client.request<{ snapshot: ApiSnapshot }>('GET', `/snapshots/${id}`)).snapshot,
    delete: (id: string) => client.request<void>('DELETE', `/snapshots/${id}`),
  };
}
