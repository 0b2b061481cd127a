// Which DigitalOcean account the worker acts on: DIGITALOCEAN_TOKEN (and DIGITALOCEAN_API_URL)
// when set, otherwise the running local cloud. Resolved per call, so the local cloud may start
// after the worker does.
import { readEndpoint } from '../../localcloud/endpoint';
import { accountFromEnv, DigitalOceanClient } from './client';

export function digitalOceanClientFactory(env: NodeJS.ProcessEnv = process.env): () => DigitalOceanClient {
  let cached: { key: string; client: DigitalOceanClient } | undefined;
  return () => {
    const account = accountFromEnv(env) ?? localAccount(env);
    const key = `${account.apiUrl} ${account.token}`;
    if (cached?.key !== key) cached = { key, client: new DigitalOceanClient(account) };
    return cached.client;
  };
}

function localAccount(env: NodeJS.ProcessEnv) {
  const local = readEndpoint(env);
  if (!local) throw new Error('no DIGITALOCEAN_TOKEN is set and no local cloud is running: start it with `npm start` or `opsflow localcloud start`');
  return { token: local.token, apiUrl: local.apiUrl };
}
