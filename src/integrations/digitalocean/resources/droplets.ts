// Droplets: /v2/droplets and their actions. Listing follows every page (client.listAll).
import type { DigitalOceanClient } from '../client';
import type { ApiAction, ApiDroplet } from './types';

export interface DropletCreate {
  names: string[];
  region: string;
  size: string;
  image: string;
  ssh_keys: string[];
  tags: string[];
  vpc_uuid?: string;
  monitoring: boolean;
}

/** The action bodies opsflow sends to /v2/droplets/:id/actions. */
export type DropletActionBody = { type: 'shutdown' | 'power_off' | 'power_on' } | { type: 'snapshot'; name: string };

/** The API allows at most ten names per multi-create. */
export const MAX_DROPLETS_PER_CREATE = 10;

export function dropletsApi(client: DigitalOceanClient) {
  return {
    list: (filter: { tag_name?: string; name?: string } = {}) => client.listAll<ApiDroplet>('/droplets', 'droplets', filter),
    get: async (id: number) => (await client.request<{ droplet: ApiDroplet }>('GET', `/droplets/${id}`)).droplet,
    create: async (body: DropletCreate) => (await client.request<{ droplets: ApiDroplet[] }>('POST', '/droplets', { body })).droplets,
    deleteTagged: (tag: string) => client.request<void>('DELETE', '/droplets', { params: { tag_name: tag } }),
    actions: async (id: number) => (await client.request<{ actions: ApiAction[] }>('GET', `/droplets/${id}/actions`)).actions,
    act: async (id: number, body: DropletActionBody) =>
      (await client.request<{ action: ApiAction }>('POST', `/droplets/${id}/actions`, { body })).action,
  };
}
