// Account SSH keys: /v2/account/keys. Droplets are created with their fingerprints.
import type { DigitalOceanClient } from '../client';
import type { ApiSshKey } from './types';

export function sshKeysApi(client: DigitalOceanClient) {
  return {
    list: () => client.listAll<ApiSshKey>('/account/keys', 'ssh_keys'),
    create: async (body: { name: string; public_key: string }) =>
      (await client.request<{ ssh_key: ApiSshKey }>('POST', '/account/keys', { body })).ssh_key,
  };
}
