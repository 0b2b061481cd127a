// Where a running local cloud can be reached: written by `opsflow localcloud start` into the state
// folder, read by the worker and the CLI when no DIGITALOCEAN_TOKEN is given.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../paths';
import { CONTROL_TOKEN_HEADER } from './api/credentials';

export interface LocalCloudEndpoint {
  apiUrl: string;
  token: string;
  /** The control API's token: never the API token, never printed (also in localcloud/control-token). */
  controlToken: string;
  pid: number;
  spaces?: { endpoint: string; accessKey: string; secretKey: string; region: string };
}

export const localCloudDir = (env: NodeJS.ProcessEnv = process.env) => path.join(stateDir(env), 'localcloud');
const endpointFile = (env: NodeJS.ProcessEnv) => path.join(localCloudDir(env), 'endpoint.json');

export function writeEndpoint(endpoint: LocalCloudEndpoint, env: NodeJS.ProcessEnv = process.env): void {
  writeFileSync(endpointFile(env), JSON.stringify(endpoint, null, 2), { mode: 0o600 });
}

export function removeEndpoint(env: NodeJS.ProcessEnv = process.env): void {
  rmSync(endpointFile(env), { force: true });
}

/** The running local cloud's endpoint, or undefined when none is running. */
export function readEndpoint(env: NodeJS.ProcessEnv = process.env): LocalCloudEndpoint | undefined {
  try {
    const endpoint = JSON.parse(readFileSync(endpointFile(env), 'utf8')) as LocalCloudEndpoint;
    process.kill(endpoint.pid, 0);
    return endpoint;
  } catch {
    return undefined;
  }
}

/** A control call to the running local cloud. */
export async function controlCall<T>(endpoint: LocalCloudEndpoint, method: string, route: string, body?: unknown): Promise<T> {
  if (!endpoint.controlToken) throw new Error('the running local cloud gave no control token (it predates them): restart it');
  const response = await fetch(`${endpoint.apiUrl}/_localcloud/${route}`, {
    method,
    headers: { [CONTROL_TOKEN_HEADER]: endpoint.controlToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json()) as T & { message?: string };
  if (!response.ok) throw new Error(`local cloud refused ${route}: ${parsed.message ?? response.status}`);
  return parsed;
}
