// Which DigitalOcean account the worker acts on: DIGITALOCEAN_TOKEN (and DIGITALOCEAN_API_URL)
// when set, otherwise the running local cloud. Resolved per call, so the local cloud may start
// after the worker does. One client per account in the process: its request budget (the pacer)
// is shared by every activity that uses the account, cloud steps and backup lookups alike.
import { readEndpoint } from '../../localcloud/endpoint';
import { accountFromEnv, DigitalOceanClient, requestBudgetFromEnv, type DigitalOceanAccount } from './client';

const clients = new Map<string, DigitalOceanClient>();

export function digitalOceanClientFactory(env: NodeJS.ProcessEnv = process.env): () => DigitalOceanClient {
  return () => {
    const account = accountFromEnv(env) ?? localAccount(env);
    const key = `${account.apiUrl} ${account.token} ${account.requestBudget?.perWindow}`;
    let client = clients.get(key);
    if (!client) clients.set(key, (client = new DigitalOceanClient(account)));
    return client;
  };
}

/** The local cloud's budget is DigitalOcean's (250 a minute), so the same pacing applies. */
function localAccount(env: NodeJS.ProcessEnv): DigitalOceanAccount {
  const local = readEndpoint(env);
  if (!local) throw new Error('no DIGITALOCEAN_TOKEN is set and no local cloud is running: start it with `npm start` or `opsflow localcloud start`');
  return { token: local.token, apiUrl: local.apiUrl, requestBudget: requestBudgetFromEnv(env) };
}
