// Block storage volumes: /v2/volumes, their attach/detach actions and their snapshots.
import type { DigitalOceanClient } from '../client';
import type { ApiAction, ApiSnapshot, ApiVolume } from './types';

export interface VolumeCreate {
  name: string;
  region: string;
  size_gigabytes: number;
  filesystem_type: string;
  tags: string[];
}

export function volumesApi(client: DigitalOceanClient) {
  return {
    /** `name` narrows the listing (names repeat across regions); callers check the exact match. */
    list: (filter: { name?: string; region?: string } = {}) => client.listAll<ApiVolume>('/volumes', 'volumes', filter),
    get: async (id: string) => (await client.request<{ volume: ApiVolume }>('GET', `/volumes/${id}`)).volume,
    create: async (body: VolumeCreate) => (await client.request<{ volume: ApiVolume }>('POST', '/volumes', { body })).volume,
    delete: (id: string) => client.request<void>('DELETE', `/volumes/${id}`),
    act: async (id: string, body: { type: 'attach' | 'detach'; droplet_id: number; region: string }) =>
      (await client.request<{ action: ApiAction }>('POST', `/volumes/${id}/actions`, { body })).action,
    snapshot: async (id: string, name: string) =>
      (await client.request<{ snapshot: ApiSnapshot }>('POST', `/volumes/${id}/snapshots`, { body: { name } })).snapshot,
  };
}
