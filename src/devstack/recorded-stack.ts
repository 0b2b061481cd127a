// The running local stack's addresses, recorded by `opsflow up` in the state folder, so every other
// command (and a worker started by hand) finds it by itself on whatever ports it was given.
// Written only by `up` and removed when it stops; private (0600 in a 0700 folder) like the rest.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureStateDir, stateDir } from '../paths';

export interface RecordedStack {
  /** The `opsflow up` process that owns the stack: the record holds only while it lives. */
  pid: number;
  /** Temporal frontend (gRPC), host:port. */
  address: string;
  uiUrl: string;
  metricsUrl?: string;
  /** The local cloud's DigitalOcean API, when this stack uses one. */
  localcloudUrl?: string;
  /** Where its API token is (a path: the token itself stays in its own 0600 file). */
  localcloudTokenFile?: string;
  /** The local stack's Prometheus HTTP API, when this stack runs one (devstack/prometheus.ts). */
  prometheusUrl?: string;
  /** Its file_sd targets file: writeScrapeTargets replaces it to scrape droplets' applications. */
  prometheusTargetsFile?: string;
  startedAt: string;
}

export type RecordedStackLookup =
  | { state: 'none' }
  | { state: 'running'; stack: RecordedStack; file: string }
  /** A file left by an `up` that is gone (killed, machine restarted): ignored, with a note. */
  | { state: 'stale'; file: string; note: string };

export function recordedStackFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'stack.json');
}

export function recordStack(stack: RecordedStack, env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(ensureStateDir(env), 'stack.json');
  writeFileSync(file, JSON.stringify(stack, null, 2) + '\n', { mode: 0o600 });
  // `mode` applies only when the file is created; one left by an older version is tightened too.
  chmodSync(file, 0o600);
  return file;
}

export function lookUpRecordedStack(env: NodeJS.ProcessEnv = process.env): RecordedStackLookup {
  const file = recordedStackFile(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { state: 'none' };
  }
  let stack: RecordedStack;
  try {
    stack = JSON.parse(text) as RecordedStack;
    if (!Number.isInteger(stack.pid) || typeof stack.address !== 'string') throw new Error('no pid or address');
  } catch (err) {
    return {
      state: 'stale',
      file,
      note: `ignoring ${file}: it is not a stack record (${err instanceof Error ? err.message : String(err)})`,
    };
  }
  if (!isAlive(stack.pid)) {
    return {
      state: 'stale',
      file,
      note: `ignoring ${file}: the stack it records (Temporal at ${stack.address}, started ${stack.startedAt} by pid ${stack.pid}) is no longer running`,
    };
  }
  return { state: 'running', stack, file };
}

/**
 * The local cloud of the running stack as DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN, for a command
 * run with neither set (they always win); undefined when no running stack has a local cloud.
 */
export function recordedLocalCloudEnv(
  env: NodeJS.ProcessEnv = process.env,
): { DIGITALOCEAN_API_URL: string; DIGITALOCEAN_TOKEN: string } | undefined {
  if (env.DIGITALOCEAN_TOKEN || env.DIGITALOCEAN_API_URL) return undefined;
  const recorded = lookUpRecordedStack(env);
  if (recorded.state !== 'running' || !recorded.stack.localcloudUrl || !recorded.stack.localcloudTokenFile) return undefined;
  try {
    return {
      DIGITALOCEAN_API_URL: recorded.stack.localcloudUrl,
      DIGITALOCEAN_TOKEN: readFileSync(recorded.stack.localcloudTokenFile, 'utf8').trim(),
    };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it lives, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
