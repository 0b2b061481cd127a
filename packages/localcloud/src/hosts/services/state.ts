// What a droplet's services manager remembers, kept in the droplet's own folder
// (/var/lib/localcloud/services.json) so a restart of the local cloud brings back what ran, and a
// destroyed droplet takes its containers and units with it. The droplet can rewrite this file, so
// nothing in it is trusted to name a machine process: pids in it are shown, never acted on.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeDropletDir } from '../isolation/droplet-files';
import { hostPath, type DropletSandbox } from '../sandbox';

export const STATE_FILE = '/var/lib/localcloud/services.json';
/** In-droplet folder of each container's data, logs and sockets, by container name. */
export const CONTAINERS_DIR = '/var/lib/localcloud/containers';
/** In-droplet folder of named volumes, `<project>_<name>`. */
export const VOLUMES_DIR = '/var/lib/localcloud/volumes';
export const PACKAGES_FILE = '/var/lib/localcloud/packages';
export const UNIT_LOG_DIR = '/var/log/localcloud';

export interface PortBinding {
  /** Port on the droplet's address; undefined when the compose file publishes none (one is picked). */
  published?: number;
  /** The host address compose names (`127.0.0.1:5432:5432`, `host_ip`); none means every address. */
  hostIp?: string;
  target: number;
  protocol: 'tcp' | 'udp';
}

export interface VolumeMount {
  /** In-droplet path of the bind source or of the named volume's folder. */
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly: boolean;
  /** Named volumes belong to the project and go with `down -v`. */
  volumeName?: string;
}

/** Everything that decides how a container runs; a change of any of it recreates the container. */
export interface ContainerSpec {
  image: string;
  command?: string[];
  entrypoint?: string[];
  env: Record<string, string>;
  ports: PortBinding[];
  volumes: VolumeMount[];
  restart: string;
  healthcheck: boolean;
  workingDir?: string;
  user?: string;
}

/** A service's process as the machine sees it, as bwrap reported it when it started the service. */
export interface ProcessRef {
  pid: number;
}

export interface ContainerRecord {
  id: string;
  name: string;
  project?: string;
  service?: string;
  /** Compose file(s) and project folder, as `docker inspect` labels show them. */
  configFiles?: string[];
  workingDir?: string;
  spec: ContainerSpec;
  configHash: string;
  created: string;
  startedAt?: string;
  finishedAt?: string;
  /** What a restart of the local cloud restores: the user's last start or stop, not a crash. */
  desired: 'running' | 'stopped';
  status: 'created' | 'running' | 'exited';
  exitCode: number;
  /** Ports actually bound, `published` filled in. */
  boundPorts?: PortBinding[];
  /** The server process while it runs, for `docker inspect`; dropped when read back at a restart. */
  process?: ProcessRef;
}

export interface UnitRecord {
  enabled: boolean;
  /** Started and not stopped by the user: comes back after a restart of the local cloud. */
  active: boolean;
  process?: ProcessRef;
}

export interface ServicesState {
  containers: Record<string, ContainerRecord>;
  units: Record<string, UnitRecord>;
  /** Images pulled, with when. */
  images: Record<string, string>;
}

export function emptyState(): ServicesState {
  return { containers: {}, units: {}, images: {} };
}

/**
 * Reads the droplet's state. The file lives where root in the droplet can edit it, so what comes
 * back is treated as untrusted: every path in it is resolved through the sandbox again before use.
 */
export function loadState(sandbox: DropletSandbox): ServicesState {
  const file = hostPath(sandbox, STATE_FILE);
  if (!existsSync(file)) return emptyState();
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServicesState>;
    return {
      containers: isObject(parsed.containers) ? (parsed.containers as Record<string, ContainerRecord>) : {},
      units: isObject(parsed.units) ? (parsed.units as Record<string, UnitRecord>) : {},
      images: isObject(parsed.images) ? (parsed.images as Record<string, string>) : {},
    };
  } catch {
    return emptyState();
  }
}

/** Writes the whole state atomically: a crash mid-write leaves the previous file. */
export function saveState(sandbox: DropletSandbox, state: ServicesState): void {
  const file = hostPath(sandbox, STATE_FILE);
  makeDropletDir(sandbox, path.dirname(file));
  const temp = `${file}.${process.pid}.tmp`;
  // Root only, as /var/lib/docker is: container environments hold passwords.
  writeFileSync(temp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(temp, file);
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
