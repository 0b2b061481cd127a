// Actions: /v2/actions/:id, how every asynchronous change (attach, power, snapshot) is followed.
import type { DigitalOceanClient } from '../client';
import type { ApiAction } from './types';

export function actionsApi(client: DigitalOceanClient) {
  return {
    get: async (id: number) => (await client.request<{ action: ApiAction }>('GET', `/actions/${id}`)).action,
  };
}
