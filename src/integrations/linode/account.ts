// Which Linode account the process acts on: LINODE_TOKEN and LINODE_API_URL (default
// https://api.linode.com), for Linode and the local cloud alike, as DIGITALOCEAN_TOKEN and
// DIGITALOCEAN_API_URL choose DigitalOcean's. The official client (@linode/api-v4) talks through
// one module-wide axios instance (baseRequest) to absolute https://api.linode.com/v4 URLs: the
// account is applied there, its token with setToken and its URL by rewriting that root.
import { baseRequest, setToken } from '@linode/api-v4';
import { endpointProblem } from '../../specs/endpoint-url';

export interface LinodeAccount {
  token: string;
  /** Without /v4: https://api.linode.com, or the local cloud's API URL. */
  apiUrl: string;
}

export const LINODE_API_URL = 'https://api.linode.com';
const CLIENT_ROOT = /^https:\/\/api\.linode\.com\/(v4beta|v4)(?=\/|$)/;

export function linodeAccountFromEnv(env: NodeJS.ProcessEnv = process.env): LinodeAccount | undefined {
  if (!env.LINODE_TOKEN) return undefined;
  return { token: env.LINODE_TOKEN, apiUrl: env.LINODE_API_URL ?? LINODE_API_URL };
}

export function missingLinodeAccountMessage(env: NodeJS.ProcessEnv): string {
  const url = env.LINODE_API_URL ? `LINODE_API_URL is ${env.LINODE_API_URL} but no LINODE_TOKEN is set` : 'no LINODE_TOKEN is set';
  return (
    `${url}: set LINODE_TOKEN to the account's personal access token (LINODE_API_URL defaults to ${LINODE_API_URL}); ` +
    'for the local cloud, set LINODE_API_URL to its API URL and LINODE_TOKEN to the token in its folder (.opsflow/localcloud/token)'
  );
}

let applied: { key: string; tokenInterceptor: number } | undefined;
let baseUrl = LINODE_API_URL;

// Installed once: every request the client builds is sent to the chosen account's URL.
baseRequest.interceptors.request.use((config) => {
  if (config.url) config.url = config.url.replace(CLIENT_ROOT, (_root, version: string) => `${baseUrl}/${version}`);
  return config;
});

/** Points the official client at the account (the process has one Linode account at a time). */
export function useLinodeAccount(account: LinodeAccount): void {
  // The token goes with every request: never over plain http to anything but this machine.
  const problem = endpointProblem(account.apiUrl);
  if (problem) throw new Error(`Linode API URL ${account.apiUrl}: ${problem}`);
  const key = `${account.apiUrl} ${account.token}`;
  if (applied?.key === key) return;
  if (applied) baseRequest.interceptors.request.eject(applied.tokenInterceptor);
  baseUrl = account.apiUrl.replace(/\/+$/, '');
  applied = { key, tokenInterceptor: setToken(account.token) };
}

/** The account from the environment, applied; a clear error naming what to set when there is none. */
export function useLinodeAccountFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  const account = linodeAccountFromEnv(env);
  if (!account) throw new Error(missingLinodeAccountMessage(env));
  useLinodeAccount(account);
}
