// From a policy's `in: {environment, droplet, service?}` to a CommandRunner over SSH: the droplet
// `<environment>-<droplet>` found by name through the DigitalOcean API (every page), its public
// IPv4, root, the policy's `sshPort` (default 22) and `sshKey` (default the worker's), and a host
// key that must be known before anything is sent: the policy's `hostKey` fingerprint, else the one
// provisioning pinned (the environment's inventory), else the entries for that address in the
// worker's OpenSSH known_hosts file. A droplet whose host key none names fails HostKeyUnknown, non-retryable, with how to pin it; nothing is trusted on
// first use.
import os from 'node:os';
import path from 'node:path';
import type { DigitalOceanClient } from '../integrations/digitalocean/client';
import { dropletsApi } from '../integrations/digitalocean/resources/droplets';
import { connect, HostKeyMismatchError, normalizeFingerprint, type SshConnection, type SshTarget } from '../integrations/ssh';
import { knownHostsName, readKnownHosts } from '../integrations/ssh/known-hosts';
import { serverName } from '../names/resource-names';
import type { CommandRunner } from './command-runner';
import { BackupError } from './errors';
import { sshFailure, sshRunner } from './ssh-runner';

/** What a policy says about where a target lives (BackupDeps' DropletPlace). */
export interface DropletAddress {
  environment: string;
  droplet: string;
  service?: string;
  sshPort?: number;
  sshKey?: string;
  hostKey?: string;
}

export interface DropletRunnerDeps {
  /** The account's API client (the worker's: DIGITALOCEAN_TOKEN, or the running local cloud). */
  digitalOcean: () => DigitalOceanClient;
  /** The private key text for a key name (OPSFLOW_SSH_KEYS); read per connection, never kept. */
  privateKey: (name: string) => string | Promise<string>;
  /** Key name when the policy names none (the worker's default, `deploy`). */
  defaultKey?: string;
  /**
   * The host key provisioning pinned for `<environment>`'s instance (the environment's inventory),
   * consulted when the policy pins none, before known_hosts.
   */
  pinnedHostKey?: (environment: string, instance: string) => Promise<string | undefined>;
  /** OpenSSH known_hosts file consulted when neither the policy nor the inventory pins a host key. */
  knownHostsFile: string;
  /** TCP connect, handshake and login (default 20 s). */
  readyTimeoutMs?: number;
  /** How long an unused connection stays open (default 2 s). */
  idleMs?: number;
}

/** OPSFLOW_KNOWN_HOSTS, else ~/.ssh/known_hosts. */
export function knownHostsFileFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const file = env.OPSFLOW_KNOWN_HOSTS?.trim();
  return file ? path.resolve(file.replace(/^~(?=$|\/)/, os.homedir())) : path.join(os.homedir(), '.ssh', 'known_hosts');
}

/** BackupDeps.dropletRunner: resolves the droplet now, connects at the first command. */
export function dropletRunners(deps: DropletRunnerDeps): (place: DropletAddress) => Promise<CommandRunner> {
  return async (place) => {
    const name = serverName(place.environment, place.droplet);
    const where = `droplet ${name}${place.service ? `, service ${place.service}` : ''}`;
    let client: DigitalOceanClient;
    try {
      client = deps.digitalOcean();
    } catch (err) {
      throw new BackupError('Unsupported', `${where}: this worker cannot look droplets up: ${(err as Error).message}`, false);
    }
    const host = await publicAddress(client, name);
    const port = place.sshPort ?? 22;
    const keyName = place.sshKey ?? deps.defaultKey ?? 'deploy';
    const pinned = await hostKeysFor(deps, place, name, host, port);
    const target = async (): Promise<SshTarget> => {
      let privateKey: string;
      try {
        privateKey = await deps.privateKey(keyName);
      } catch (err) {
        throw new BackupError('SecretUnavailable', `SSH key ${keyName} for ${where}: ${(err as Error).message}`, false);
      }
      return { host, port, username: 'root', privateKey, hostKey: { pinned } };
    };
    const open = async (): Promise<SshConnection> => {
      try {
        return await connect(await target(), { readyTimeoutMs: deps.readyTimeoutMs });
      } catch (err) {
        throw sshFailure(err, `SSH to ${where} (${host}:${port})`);
      }
    };
    return sshRunner({ where, service: place.service, connect: open, idleMs: deps.idleMs });
  };
}

async function publicAddress(client: DigitalOceanClient, name: string): Promise<string> {
  // `name` narrows the listing where the API supports it; the exact match is checked here.
  const droplets = (await dropletsApi(client).list({ name })).filter((d) => d.name === name);
  if (droplets.length === 0)
    throw new BackupError(
      'DropletNotFound',
      `no droplet named ${name} in the account (the policy's in.environment and in.droplet name it)`,
      false,
    );
  if (droplets.length > 1)
    throw new BackupError(
      'DropletNotFound',
      `${droplets.length} droplets are named ${name} (ids ${droplets.map((d) => d.id).join(', ')}); cannot tell which one to back up`,
      false,
    );
  const droplet = droplets[0]!;
  const address = droplet.networks?.v4?.find((n) => n.type === 'public')?.ip_address;
  if (!address)
    throw new BackupError(
      'DropletUnreachable',
      `droplet ${name} (id ${droplet.id}, ${droplet.status}) has no public IPv4 address yet`,
      true,
    );
  return address;
}

async function hostKeysFor(deps: DropletRunnerDeps, place: DropletAddress, name: string, host: string, port: number): Promise<string[]> {
  if (place.hostKey) {
    try {
      return [normalizeFingerprint(place.hostKey)];
    } catch (err) {
      throw new BackupError('SshRefused', `in.hostKey of droplet ${name}: ${(err as Error).message}`, false);
    }
  }
  const inventoryKey = await deps.pinnedHostKey?.(place.environment, place.droplet);
  if (inventoryKey) return [normalizeFingerprint(inventoryKey)];
  let known;
  try {
    known = await readKnownHosts(deps.knownHostsFile, host, port);
  } catch (err) {
    throw new BackupError(
      'HostKeyUnknown',
      `cannot read the known_hosts file ${deps.knownHostsFile} for droplet ${name}: ${(err as Error).message}`,
      false,
    );
  }
  if (known.fingerprints.length > 0) return known.fingerprints;

  const why = !known.fileExists
    ? `the policy pins no in.hostKey and the worker's known_hosts file ${deps.knownHostsFile} does not exist`
    : known.revoked.length > 0
      ? `the worker's known_hosts file ${deps.knownHostsFile} marks its only keys for ${knownHostsName(host, port)} @revoked`
      : known.certificateAuthorities > 0
        ? `the worker's known_hosts file ${deps.knownHostsFile} names only a @cert-authority for ${knownHostsName(host, port)}, and host certificates are not supported`
        : `the policy pins no in.hostKey and the worker's known_hosts file ${deps.knownHostsFile} has no entry for ${knownHostsName(host, port)}`;
  const presented = await presentedFingerprint(host, port, deps.readyTimeoutMs);
  throw new BackupError(
    'HostKeyUnknown',
    `host key of droplet ${name} (${host}:${port}) is not known: ${why}. ` +
      `Check the key on the droplet itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub, or the droplet console), then pin it in the target as in.hostKey: SHA256:..., ` +
      `or add it to known_hosts (ssh-keyscan -p ${port} ${host} >> ${deps.knownHostsFile}; OPSFLOW_KNOWN_HOSTS names another file)` +
      (presented ? `. The host presents ${presented} (unverified)` : ''),
    false,
  );
}

/** The fingerprint a host presents, for the message only (never trusted): a handshake that stops at the host key. */
async function presentedFingerprint(host: string, port: number, readyTimeoutMs = 10_000): Promise<string | undefined> {
  try {
    const impossible = 'SHA256:' + 'A'.repeat(43);
    const c = await connect(
      { host, port, username: 'root', privateKey: '', hostKey: { pinned: [impossible] } },
      { readyTimeoutMs: Math.min(readyTimeoutMs, 10_000) },
    );
    c.close();
  } catch (err) {
    if (err instanceof HostKeyMismatchError) return err.presented;
  }
  return undefined;
}
