// Which DigitalOcean account the worker acts on: DIGITALOCEAN_TOKEN and DIGITALOCEAN_API_URL, for
// DigitalOcean and the local cloud alike (`opsflow up` sets both for the worker it starts). Resolved
// per call, so a missing token fails the activity that needs it, with what to set. One client per
// account in the process: its request budget (the pacer) is shared by every activity that uses the
// account, cloud steps and backup lookups alike.
import { accountFromEnv, DigitalOceanClient, type DigitalOceanAccount } from './client';

const clients = new Map<string, DigitalOceanClient>();

export function digitalOceanClientFactory(env: NodeJS.ProcessEnv = process.env): () => DigitalOceanClient {
  return () => {
    const account = accountFromEnv(env) ?? noAccount(env);
    const key = `${account.apiUrl} ${account.token} ${account.requestBudget?.perWindow}`;
    let client = clients.get(key);
    if (!client) clients.set(key, (client = new DigitalOceanClient(account)));
    return client;
  };
}

/** Neither variable (or only the URL) is set: say what to set, for either kind of endpoint. */
export function missingAccountMessage(env: NodeJS.ProcessEnv): string {
  const url = env.DIGITALOCEAN_API_URL
    ? `DIGITALOCEAN_API_URL is ${env.DIGITALOCEAN_API_URL} but no DIGITALOCEAN_TOKEN is set`
    : 'neither DIGITALOCEAN_TOKEN nor DIGITALOCEAN_API_URL is set';
  return (
    `${url}: set DIGITALOCEAN_TOKEN to the account's personal access token (DIGITALOCEAN_API_URL defaults to https://api.digitalocean.com); ` +
    'for the local cloud, set DIGITALOCEAN_API_URL to its API URL and DIGITALOCEAN_TOKEN to the token in its folder (.opsflow/localcloud/token), as `opsflow up` does for the worker it starts'
  );
}

function noAccount(env: NodeJS.ProcessEnv): DigitalOceanAccount {
  throw new Error(missingAccountMessage(env));
}
