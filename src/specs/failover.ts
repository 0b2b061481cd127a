// What failoverSite takes: the environment, the site that failed and the one that takes over, the
// Cloudflare load balancer (as ensureSiteLoadBalancer made it) and the token's secret reference,
// each site's database server (password as a secret reference), how to verify traffic, and the
// RPO budget. Checked whole, every problem named by field; pure, so the workflow and any client
// use the same function. No secret value can be given here: only references.
import { z } from 'zod';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE } from '../names/environment-name';
import { parseSpec, secretRef, SpecError } from './common';
import { IMPLEMENTED_PROVIDERS } from '../providers/cloud-provider';
import { firewallRule, parseEnvironmentSpec, type EnvironmentSpec } from './environment';
import { actorName } from './rollout-release';
import { durationMs } from './rollout';

export const siteName = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'must be a site name (lowercase letters, digits, -)');
const id = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a Cloudflare id');
const duration = z.string().regex(/^(\d{1,9})(ms|s|m|h)$/, 'must be a duration such as 30s, 5m or 1h');

/**
 * How long a failover waits for a human. Without it, for ever (two sites cannot safely decide
 * alone). `escalateAfter`: no answer by then, one notice to `notify.webhook` (a secret reference:
 * whoever has the URL can post), then the wait goes on; `autoApproveAfter` (counted from the start
 * of the wait): no answer by then, the run approves itself as `policy:autoApproveAfter`.
 */
export const approvalPolicySchema = z.strictObject({
  escalateAfter: duration.optional(),
  autoApproveAfter: duration.optional(),
  notify: z.strictObject({ webhook: secretRef }).optional(),
});

export const databaseServerSchema = z.strictObject({
  name: z.string().min(1).max(100),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535),
  user: z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'must be a user name'),
  password: secretRef.optional(),
});

/** A site's Redis primary or replica (`requirepass` as a secret reference). */
export const redisServerSchema = z.strictObject({
  name: z.string().min(1).max(100),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535),
  password: secretRef.optional(),
});

const SEVEN_DAYS = 7 * 86_400;

/** How a returning old primary is watched for; failoverSite's input may carry it (`fenceWatch`). */
export const fenceWatchTimingSchema = z.strictObject({
  /** Seconds from one try to the next. */
  intervalSeconds: z.number().min(1).max(3600).default(10),
  /** After this long (from the watcher's first start) it ends `gave up`. */
  maxDurationSeconds: z
    .number()
    .int()
    .min(1)
    .max(90 * 86_400)
    .default(SEVEN_DAYS),
  /** Tries one run makes before it continues as new, carrying its state (keeps each history small). */
  roundsPerRun: z.number().int().min(1).max(2000).default(500),
});

/**
 * More app servers for the survivor once traffic is on it: `add` servers made through the
 * survivor's provider as `like.group` of its environment spec (size, image, tags; the spec's
 * provider and region, `like.networkId` its VPC), bootstrapped, given its compose application and
 * health-gated, then added to its Cloudflare pool as origins at `origins.port`.
 */
export const scaleSurvivorSchema = z.strictObject({
  add: z.number().int().min(1).max(10),
  /** The survivor site's environment spec (checked whole as `opsflow provision` checks it). */
  environmentSpec: z.custom<EnvironmentSpec>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
    message: "must be the survivor site's environment spec (an object)",
  }),
  like: z.strictObject({
    /** The droplet group of the survivor's app servers that the new ones copy. */
    group: z.string().min(1).max(64),
    /** The VPC the survivor's app servers are in (its id from the environment's inventory). */
    networkId: z.string().min(1).max(100).optional(),
  }),
  /** Each new server is an origin of the survivor's pool at this port (the application's, which Cloudflare's monitor probes). */
  origins: z.strictObject({ port: z.number().int().min(1).max(65535) }),
});

const envVariable = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/** A site's app servers as provisioning left them (provisionStack's result lists them). */
export const appServersSchema = z.strictObject({
  hosts: z
    .array(
      z.strictObject({
        instance: z.string().min(1).max(100),
        address: z.string().min(1).max(253),
        hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint'),
      }),
    )
    .min(1),
  ssh: z.strictObject({
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/),
    port: z.number().int().min(1).max(65535),
    key: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must name a key from OPSFLOW_SSH_KEYS'),
  }),
  directory: z.string().regex(/^\/[^\0]*$/, 'must be an absolute path'),
});

/**
 * The app servers of each site and the .env variables their application reads its database hosts
 * from: once the survivor's replica is promoted, its app servers are pointed at it (and at its
 * promoted Redis), compose recreating what changed; a rollback points them back.
 */
export const appsSchema = z.strictObject({
  variables: z.strictObject({ mysqlHost: envVariable, redisHost: envVariable.optional() }),
  sites: z.record(siteName, appServersSchema),
});

/**
 * Each site's database firewall as the stack wrote it (every site's servers let in on the database
 * ports) and its app servers' addresses: the fence takes the failed site's app servers out of the
 * survivor's database rules, so none of them reaches the new primary; a rollback puts them back.
 */
export const databaseFirewallsSchema = z.strictObject({
  ports: z.array(z.number().int().min(1).max(65535)).min(1),
  sites: z.record(
    siteName,
    z.strictObject({
      cloud: z.enum(IMPLEMENTED_PROVIDERS),
      firewallId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a firewall id'),
      inbound: z.array(firewallRule).min(1),
      appSources: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/32$/, 'must be one address as a /32')).min(1),
    }),
  ),
});

export type DatabaseFirewalls = z.output<typeof databaseFirewallsSchema>;

export const failoverSiteSchema = z.strictObject({
  environment: z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE),
  /** The site that failed (or is switched away from). */
  from: siteName,
  /** The site that takes over: its replica is promoted and it takes all traffic. */
  to: siteName,
  requestedBy: actorName.optional(),
  /**
   * `emergency` (the default): the run goes on only when a majority of independent observers see
   * `from` down (probes from the worker, the survivor's replica, Cloudflare's pool health), else
   * it ends SiteNotDown having changed nothing. `planned`: `from` is healthy on purpose; the
   * observers' views are recorded but no majority is needed.
   */
  mode: z.enum(['emergency', 'planned']).default('emergency'),
  /** How the observers look at `from`. Without `probe`, the worker's probes cannot tell. */
  assess: z
    .strictObject({
      /** The failed site's front (its health URL, or an address with `host` as the Host header), probed from the worker. */
      probe: z
        .strictObject({
          url: z.url(),
          host: z.string().min(1).max(253).optional(),
          requests: z.number().int().min(1).max(20).default(3),
          timeoutSeconds: z.number().min(0.1).max(60).default(5),
        })
        .optional(),
      /** How long the survivor's connected replica is watched for an event or heartbeat from the old primary. */
      replicaContactSeconds: z.number().min(0.5).max(120).default(5),
    })
    .default({ replicaContactSeconds: 5 }),
  cloudflare: z.strictObject({ apiUrl: z.url().optional(), apiToken: secretRef }),
  loadBalancer: z.strictObject({
    zoneId: id,
    accountId: id,
    loadBalancerId: id,
    hostname: z.string().min(1).max(253),
    pools: z.record(siteName, id),
  }),
  databases: z.record(siteName, databaseServerSchema),
  /**
   * Each site's Redis, when the stack has one: the survivor's replica is promoted with the
   * database, the failed site's fenced (writes refused) and made its replica if it answers.
   */
  redis: z.record(siteName, redisServerSchema).optional(),
  /** The replication user a demoted server connects with (a rollback points the survivor back at the old primary). */
  replication: z.strictObject({ user: z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'must be a user name'), password: secretRef }),
  verify: z.strictObject({
    /** Where requests go: the site's URL, or the edge with `host` as the Host header. */
    url: z.url(),
    host: z.string().min(1).max(253).optional(),
    requests: z.number().int().min(1).max(1000).default(50),
    /** The response header naming the site that answered. */
    siteHeader: z.string().min(1).max(100).default('x-opsflow-site'),
  }),
  rpo: z
    .strictObject({
      maxLostTransactions: z.number().int().min(0),
      /** Bytes of the old Redis primary's replication stream the promoted replica may lack. */
      maxLostRedisBytes: z.number().int().min(0).default(0),
    })
    .default({ maxLostTransactions: 0, maxLostRedisBytes: 0 }),
  /** Promote beyond the RPO budget; the reason is recorded in the status and result. */
  force: z.strictObject({ reason: z.string().trim().min(1, 'must say why').max(500) }).optional(),
  /** How long the surviving replica may take to receive and apply the rest (default 60 s). */
  catchUpTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
  approval: approvalPolicySchema.optional(),
  /**
   * When the fence finds the old primary unreachable, the failover leaves fenceReturningPrimary
   * watching for it; this says how often it tries and for how long (default every 10 s for 7 days).
   */
  fenceWatch: fenceWatchTimingSchema.optional(),
  /** Point the survivor's app servers at the promoted databases (optional). */
  apps: appsSchema.optional(),
  /** Cut the failed site's app servers off the survivor's databases by firewall during the fence (optional). */
  databaseFirewalls: databaseFirewallsSchema.optional(),
  /** Scale the survivor up after traffic moved (optional). */
  scaleSurvivor: scaleSurvivorSchema.optional(),
});

export type FailoverSiteInput = z.input<typeof failoverSiteSchema>;
export type FailoverSite = z.output<typeof failoverSiteSchema>;

export function parseFailoverSiteInput(input: unknown): FailoverSite {
  const parsed = parseSpec('failoverSite input', failoverSiteSchema, input);
  const problems: string[] = [];
  if (parsed.from === parsed.to) problems.push(`to: ${parsed.to} is the site being failed over from`);
  for (const s of [parsed.from, parsed.to]) {
    if (!(s in parsed.loadBalancer.pools)) problems.push(`loadBalancer.pools: no pool for site ${s}`);
    if (!(s in parsed.databases)) problems.push(`databases: no database server for site ${s}`);
    if (parsed.redis && !(s in parsed.redis)) problems.push(`redis: no Redis server for site ${s}`);
    if (parsed.databaseFirewalls && !(s in parsed.databaseFirewalls.sites))
      problems.push(`databaseFirewalls.sites: no firewall for site ${s}`);
  }
  problems.push(...approvalPolicyProblems(parsed.approval));
  const scaleSurvivor = parsed.scaleSurvivor && scaleSurvivorChecked(parsed.scaleSurvivor, problems);
  if (problems.length) throw new SpecError('failoverSite input', problems);
  return scaleSurvivor ? { ...parsed, scaleSurvivor } : parsed;
}

/**
 * The input with `site` as the one failed over from (`opsflow failover <env> --site <site>`): `to`
 * is the input's own when it names another site, else the load balancer's other site. So a stack's
 * handed-over `failover` (which names neither) runs for either direction.
 */
export function failingSite(input: unknown, site: string): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const value = input as Record<string, unknown>;
  const pools = Object.keys((value.loadBalancer as { pools?: Record<string, unknown> } | undefined)?.pools ?? {});
  if (!pools.includes(site))
    throw new SpecError('failoverSite input', [`--site: ${site} is not a site of loadBalancer.pools (${pools.join(', ') || 'none'})`]);
  const others = pools.filter((p) => p !== site);
  const to = typeof value.to === 'string' && value.to !== site ? value.to : others.length === 1 ? others[0] : undefined;
  if (to === undefined)
    throw new SpecError('failoverSite input', [
      `--site: the load balancer has ${pools.length} sites (${pools.join(', ')}): say which takes over from ${site} with to:`,
    ]);
  return { ...value, from: site, to };
}

/** The environment spec parsed whole (its defaults applied), the group found in it, with an application and health checks. */
function scaleSurvivorChecked(scale: NonNullable<FailoverSite['scaleSurvivor']>, problems: string[]) {
  let environmentSpec: EnvironmentSpec;
  try {
    environmentSpec = parseEnvironmentSpec(scale.environmentSpec);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    problems.push(...err.problems.map((p) => `scaleSurvivor.environmentSpec.${p}`));
    return undefined;
  }
  const groups = environmentSpec.droplets.map((d) => d.name);
  if (!groups.includes(scale.like.group))
    problems.push(`scaleSurvivor.like.group: ${scale.like.group} is not a droplet group of ${environmentSpec.name} (${groups.join(', ')})`);
  if (!environmentSpec.application)
    problems.push(`scaleSurvivor.environmentSpec: ${environmentSpec.name} has no application to deploy on the new servers`);
  if (environmentSpec.healthChecks.length === 0)
    problems.push(`scaleSurvivor.environmentSpec: ${environmentSpec.name} has no healthChecks to gate the new servers with`);
  return { ...scale, environmentSpec };
}

function approvalPolicyProblems(policy: FailoverSite['approval']): string[] {
  if (!policy) return [];
  const problems: string[] = [];
  if (policy.escalateAfter !== undefined && !policy.notify)
    problems.push('approval.notify: escalateAfter needs a webhook to tell (notify: { webhook: env:NAME })');
  if (policy.notify && policy.escalateAfter === undefined)
    problems.push('approval.escalateAfter: notify needs to know when to send the notice (escalateAfter: 5m)');
  if (policy.escalateAfter !== undefined && policy.autoApproveAfter !== undefined)
    if (durationMs(policy.autoApproveAfter) <= durationMs(policy.escalateAfter))
      problems.push(
        `approval.autoApproveAfter: ${policy.autoApproveAfter} is not after escalateAfter ${policy.escalateAfter}: the run would approve itself before anyone is told`,
      );
  return problems;
}
