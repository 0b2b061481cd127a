// Pointing a site's app servers at its databases: the variables that name the MySQL and Redis
// hosts set in each server's compose .env (every other line kept), then `docker compose up`, which
// recreates the services whose configuration changed. Used when a stack is made (every app server
// at the primary) and when a failover promotes the survivor (its app servers at the new primary).
import type { Activities } from '../../activities';
import { COMPOSE_UP, SET_ENV_VALUES } from '../environment/host-scripts';
import { SSH_STEP, type HostTarget } from '../environment/host-steps';
import { failure, REFUSAL } from './failures';
import { summarizedActivities } from './summarized-activities';

/** A site's app servers, as provisioning left them (host keys pinned). */
export interface AppServers {
  hosts: { instance: string; address: string; hostKey: string }[];
  ssh: { user: string; port: number; key: string };
  directory: string;
}

/** The .env variables the application reads its databases' hosts from. */
export interface AppDatabaseVariables {
  mysqlHost: string;
  redisHost?: string;
}

const ssh = summarizedActivities<Activities>(SSH_STEP);

/** The values to write: the MySQL host, and the Redis host when the application reads one. */
export function databaseValues(variables: AppDatabaseVariables, mysqlHost: string, redisHost?: string): Record<string, string> {
  return { [variables.mysqlHost]: mysqlHost, ...(variables.redisHost && redisHost ? { [variables.redisHost]: redisHost } : {}) };
}

export async function pointAppServers(apps: AppServers, values: Record<string, string>): Promise<void> {
  const targets = apps.hosts.map((h) => ({
    instance: h.instance,
    host: h.address,
    port: apps.ssh.port,
    user: apps.ssh.user,
    key: apps.ssh.key,
    fingerprints: [h.hostKey],
  }));
  await pointHosts(targets, apps.directory, values);
}

/** The same for hosts already reached over SSH (a failover's scale servers). */
export async function pointHosts(targets: HostTarget[], directory: string, values: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(values))
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /['\n\r\0]/.test(value))
      throw failure(REFUSAL.InvalidInput, `${name}=${JSON.stringify(value)} cannot be written to a compose .env file`);
  const pairs = Object.entries(values).flat();
  await Promise.all(
    targets.map(async (target) => {
      await ssh.runRemoteCommand({
        ...target,
        script: SET_ENV_VALUES,
        args: [directory, ...pairs],
        label: 'point the application at its databases',
      });
      await ssh.runRemoteCommand({
        ...target,
        script: COMPOSE_UP,
        args: [directory],
        label: 'docker compose pull and up',
        timeoutMs: 20 * 60_000,
      });
    }),
  );
}
