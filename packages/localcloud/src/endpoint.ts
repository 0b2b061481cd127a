// Where a running local cloud can be reached: written by `opsflow localcloud start` into the local
// cloud's folder (`dir`, which its starter chooses), read by the commands that start or drive it.
// The worker never reads it: it is given DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN like any endpoint.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONTROL_TOKEN_HEADER } from './api/credentials';

export interface LocalCloudEndpoint {
  apiUrl: string;
  token: string;
  /** The control API's token: never the API token, never printed (also in localcloud/control-token). */
  controlToken: string;
  pid: number;
  spaces?: { endpoint: string; accessKey: string; secretKey: string; region: string };
  /** The droplets' host network (127.N.x.y) and why it was taken, for `opsflow up` to say. */
  hostNetwork?: { network: number; how: string };
}

const endpointFile = (dir: string) => path.join(dir, 'endpoint.json');

/** Creates the local cloud's folder private (0700), tightening one an older version left open. */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

export function writeEndpoint(dir: string, endpoint: LocalCloudEndpoint): void {
  writeFileSync(endpointFile(dir), JSON.stringify(endpoint, null, 2), { mode: 0o600 });
}

export function removeEndpoint(dir: string): void {
  rmSync(endpointFile(dir), { force: true });
}

/** The endpoint of the local cloud running from `dir`, or undefined when none is running. */
export function readEndpoint(dir: string): LocalCloudEndpoint | undefined {
  try {
    const endpoint = JSON.parse(readFileSync(endpointFile(dir), 'utf8')) as LocalCloudEndpoint;
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
