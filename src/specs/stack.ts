// A stack of two sites (stack E: DigitalOcean FRA1 and Linode London) provisioned in one run: each
// site an app environment and a data environment (its MySQL-compatible primary and replica, its
// Redis pair, on the data environment's servers), replication wired inside each site and across
// (the primary site's primary feeds the other site's first server), and Cloudflare in front with
// one pool per site. What provisionStack takes; checked whole, every problem named by field.
// Secrets are references only (the CLI inlines each site's environment spec files).
import { z } from 'zod';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE } from '../names/environment-name';
import { parseSpec, secretRef, SpecError } from './common';
import { dropletInstances, parseEnvironmentSpec, type EnvironmentSpec } from './environment';
import { siteName } from './failover';

const environmentObject = z.custom<EnvironmentSpec>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
  message: 'must be an environment spec (an object; in a file, the path of its YAML)',
});
const userName = z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'must be a user name');
const group = z.string().min(1).max(64);
const port = z.number().int().min(1).max(65535);

export const stackSpecSchema = z.strictObject({
  name: z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE),
  /** The site whose first data server is the one writable primary; every other server replicates. */
  primarySite: siteName,
  sites: z.record(
    siteName,
    z.strictObject({
      /** The site's app servers (their group `cloudflare.origins.group` is the site's pool). */
      app: environmentObject,
      /** The site's data servers: `<mysql.group>-1` the site's primary, `-2` its replica (Redis the same on `<redis.group>`). */
      data: environmentObject,
    }),
  ),
  mysql: z.strictObject({
    group,
    port: port.default(3306),
    /** The account opsflow administers each server with (the image's root, made on first start). */
    admin: z.strictObject({ user: userName, password: secretRef }),
    /** The account replicas connect with; made on every server (with sql_log_bin off). */
    replication: z.strictObject({ user: userName, password: secretRef }),
  }),
  redis: z
    .strictObject({
      group,
      port: port.default(6379),
      /** `requirepass` (and `masterauth`) of every Redis server. */
      password: secretRef.optional(),
    })
    .optional(),
  /**
   * The compose .env variables the application reads its database hosts from: set on every app
   * server to the primary site's servers once replication runs, and re-pointed by a failover.
   */
  appVariables: z
    .strictObject({
      mysqlHost: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
      redisHost: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
        .optional(),
    })
    .optional(),
  /**
   * Narrow each data firewall's database ports (MySQL's, Redis's) to the stack's own servers (both
   * sites' app and data servers, public and private addresses) and `operators` (the worker's
   * address, an administrator's: whoever must keep reaching the databases from outside), once every
   * address is known. A failover then also cuts the failed site's app servers off by firewall.
   */
  databaseAccess: z
    .strictObject({
      operators: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR such as 203.0.113.7/32')).default([]),
    })
    .optional(),
  cloudflare: z.strictObject({
    apiUrl: z.url().optional(),
    apiToken: secretRef,
    zone: z.string().min(1).max(253),
    hostname: z.string().min(1).max(253),
    /** Each site's pool: its app servers of this group, at this port (the application's). */
    origins: z.strictObject({ group, port }),
    monitor: z
      .strictObject({
        path: z.string().startsWith('/').default('/health'),
        intervalSeconds: z.number().int().min(1).max(3600).default(60),
        consecutiveDown: z.number().int().min(1).max(10).default(2),
      })
      .default({ path: '/health', intervalSeconds: 60, consecutiveDown: 2 }),
    /** Percent of traffic per site; default an even split. */
    split: z.record(siteName, z.number().int().min(0).max(100)).optional(),
    /**
     * Requests sent through the edge once both pools are healthy (the hostname's URL, or the
     * edge's address with `host` as the Host header): each must succeed and every site with a
     * share must answer some, named by its app servers in `siteHeader`.
     */
    verify: z
      .strictObject({
        url: z.url(),
        host: z.string().min(1).max(253).optional(),
        requests: z.number().int().min(2).max(1000).default(40),
        siteHeader: z.string().min(1).max(100).default('x-opsflow-site'),
      })
      .optional(),
  }),
});

export type StackSpecInput = z.input<typeof stackSpecSchema>;
export type StackSpec = z.output<typeof stackSpecSchema>;

/** The stack checked whole: two sites, each environment spec valid, the groups replication needs present with two servers. */
export function parseStackSpec(input: unknown): StackSpec {
  const parsed = parseSpec('stack', stackSpecSchema, input);
  const problems: string[] = [];
  const siteNames = Object.keys(parsed.sites);
  if (siteNames.length !== 2) problems.push(`sites: a stack has exactly two sites, not ${siteNames.length} (${siteNames.join(', ')})`);
  if (!siteNames.includes(parsed.primarySite))
    problems.push(`primarySite: ${parsed.primarySite} is not one of the sites (${siteNames.join(', ')})`);
  const sites: StackSpec['sites'] = {};
  const environmentNames = new Map<string, string>();
  for (const [site, { app, data }] of Object.entries(parsed.sites)) {
    const checkedApp = environmentChecked(`sites.${site}.app`, app, problems);
    const checkedData = environmentChecked(`sites.${site}.data`, data, problems);
    for (const [role, spec] of [
      ['app', checkedApp],
      ['data', checkedData],
    ] as const) {
      if (!spec) continue;
      const other = environmentNames.get(spec.name);
      if (other)
        problems.push(`sites.${site}.${role}.name: ${spec.name} is also ${other}'s name; every environment of a stack needs its own`);
      environmentNames.set(spec.name, `sites.${site}.${role}`);
    }
    if (checkedApp) groupProblem(`sites.${site}.app`, checkedApp, parsed.cloudflare.origins.group, 1, 'cloudflare.origins.group', problems);
    if (checkedData) {
      groupProblem(`sites.${site}.data`, checkedData, parsed.mysql.group, 2, 'mysql.group', problems);
      if (parsed.redis) groupProblem(`sites.${site}.data`, checkedData, parsed.redis.group, 2, 'redis.group', problems);
    }
    if (checkedData && parsed.databaseAccess) {
      const ports = [parsed.mysql.port, ...(parsed.redis ? [parsed.redis.port] : [])];
      const opened = (port: number) => checkedData.firewall?.inbound.some((r) => covers(r.ports, port));
      const closed = ports.filter((port) => !opened(port));
      if (closed.length)
        problems.push(
          `sites.${site}.data.firewall: databaseAccess narrows the database ports, but ${checkedData.name}'s firewall has no inbound rule for ${closed.join(', ')}`,
        );
    }
    if (checkedApp && checkedData) sites[site] = { app: checkedApp, data: checkedData };
  }
  if (parsed.cloudflare.split) {
    const split = parsed.cloudflare.split;
    const named = Object.keys(split);
    if (named.length !== siteNames.length || !siteNames.every((s) => s in split))
      problems.push(`cloudflare.split: must give a share for each site (${siteNames.join(', ')}), not ${named.join(', ')}`);
    const total = Object.values(split).reduce((a, b) => a + b, 0);
    if (total !== 100) problems.push(`cloudflare.split: the shares add up to ${total}, not 100`);
  }
  if (problems.length) throw new SpecError('stack', problems);
  return { ...parsed, sites };
}

function environmentChecked(field: string, spec: EnvironmentSpec, problems: string[]): EnvironmentSpec | undefined {
  try {
    return parseEnvironmentSpec(spec);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    problems.push(...err.problems.map((p) => `${field}.${p}`));
    return undefined;
  }
}

function groupProblem(field: string, spec: EnvironmentSpec, name: string, atLeast: number, by: string, problems: string[]): void {
  const found = spec.droplets.find((d) => d.name === name);
  if (!found)
    problems.push(
      `${field}: ${spec.name} has no droplet group ${name} (${by}); its groups: ${spec.droplets.map((d) => d.name).join(', ')}`,
    );
  else if (found.count < atLeast)
    problems.push(`${field}: group ${name} of ${spec.name} has ${found.count} server(s); ${by} needs ${atLeast}`);
}

/** Whether a rule's ports ("3306", "3000-3010") include the port. */
export function covers(ports: string, port: number): boolean {
  const [low, high = low] = ports.split('-').map(Number) as [number, number?];
  return port >= low && port <= (high as number);
}

/** The instance names of a group, as provisioning names them (`db-1`, `db-2`; a single one keeps the group's name). */
export function groupInstances(spec: EnvironmentSpec, name: string): string[] {
  return dropletInstances(spec)
    .filter((i) => i.droplet.name === name)
    .map((i) => i.instance);
}

/** Sites in a fixed order: the primary site first, so server ids and the order of steps never depend on object key order. */
export function orderedSites(spec: StackSpec): string[] {
  return [
    spec.primarySite,
    ...Object.keys(spec.sites)
      .filter((s) => s !== spec.primarySite)
      .sort(),
  ];
}
