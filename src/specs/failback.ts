// What failbackSite takes: after a failover from `to` onto `from`, bring `to` back. The same
// Cloudflare load balancer, database servers and replication user as the failover's input (Redis
// too when the stack has it); how long the recovered site may take to catch up and how close it
// must come; the split to restore and whether at once or in steps. A failback is a planned
// switchover: it loses nothing (RPO 0), so there is no budget to give. Pure; the workflow and the
// CLI use the same function.
import { z } from 'zod';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE } from '../names/environment-name';
import { absolutePath, parseSpec, SpecError } from './common';
import { databaseServerSchema, failoverSiteSchema, redisServerSchema, siteName } from './failover';
import { actorName } from './rollout-release';

const base = failoverSiteSchema.shape;

export const failbackSiteSchema = z.strictObject({
  environment: z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE),
  /** The site that took over in the failover (its database is the primary now). */
  from: siteName,
  /** The recovered site the failover left: rebuilt as a replica, then the primary again. */
  to: siteName,
  requestedBy: actorName.optional(),
  cloudflare: base.cloudflare,
  loadBalancer: base.loadBalancer,
  databases: z.record(siteName, databaseServerSchema),
  redis: z.record(siteName, redisServerSchema).optional(),
  replication: base.replication,
  verify: base.verify,
  /** How close the rebuilt replica must come before the switchover is offered for approval. */
  catchUp: z
    .strictObject({
      timeoutSeconds: z.number().int().min(1).max(86_400).default(300),
      maxBehindTransactions: z.number().int().min(0).default(0),
      maxBehindRedisBytes: z.number().int().min(0).default(0),
      /** Seconds between measurements (each shown in `status`). */
      intervalSeconds: z.number().min(0.5).max(60).default(2),
    })
    .default({ timeoutSeconds: 300, maxBehindTransactions: 0, maxBehindRedisBytes: 0, intervalSeconds: 2 }),
  /** The split to restore (default 50/50) and how: at once, or through each step's share for `to`. */
  traffic: z
    .strictObject({
      split: z.record(siteName, z.number().int().min(0).max(100)).optional(),
      mode: z.enum(['at once', 'gradual']).default('at once'),
      /** For `gradual`: `to`'s share at each step before the final split (ascending), held `holdSeconds` each. */
      steps: z.array(z.number().int().min(1).max(99)).max(10).default([10, 25]),
      holdSeconds: z.number().min(0).max(3600).default(5),
    })
    .default({ mode: 'at once', steps: [10, 25], holdSeconds: 5 }),
  /** The Redis setting the new primary runs with once unfenced (min-replicas-to-write). */
  redisMinReplicasToWrite: z.number().int().min(0).max(100).default(0),
  /**
   * When the recovered server holds transactions the primary never had (errant writes from while
   * it was cut off), re-seed it from a copy of the primary instead of refusing: its own databases
   * are saved first to a file in this folder on the worker (the only record of those writes).
   */
  reseed: z.strictObject({ saveErrantTo: absolutePath }).optional(),
  /** The stack's app servers: `from`'s are pointed at the recovered primary again before traffic moves back. */
  apps: base.apps,
  /** The stack's database firewalls: `from`'s rules written back whole (the failover cut `to`'s app servers off). */
  databaseFirewalls: base.databaseFirewalls,
  /** How long the promotion may wait for the last transactions to be applied. */
  promoteTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
});

export type FailbackSiteInput = z.input<typeof failbackSiteSchema>;
export type FailbackSite = z.output<typeof failbackSiteSchema> & { traffic: { split: Record<string, number> } };

export function parseFailbackSiteInput(input: unknown): FailbackSite {
  const parsed = parseSpec('failbackSite input', failbackSiteSchema, input);
  const problems: string[] = [];
  if (parsed.from === parsed.to) problems.push(`to: ${parsed.to} is the site failing back from`);
  for (const s of [parsed.from, parsed.to]) {
    if (!(s in parsed.loadBalancer.pools)) problems.push(`loadBalancer.pools: no pool for site ${s}`);
    if (!(s in parsed.databases)) problems.push(`databases: no database server for site ${s}`);
    if (parsed.redis && !(s in parsed.redis)) problems.push(`redis: no Redis server for site ${s}`);
    if (parsed.databaseFirewalls && !(s in parsed.databaseFirewalls.sites))
      problems.push(`databaseFirewalls.sites: no firewall for site ${s}`);
  }
  const sites = Object.keys(parsed.loadBalancer.pools);
  const split = parsed.traffic.split ?? Object.fromEntries(sites.map((s, i) => [s, i === 0 ? 100 - 50 * (sites.length - 1) : 50]));
  if (!parsed.traffic.split && sites.length !== 2) problems.push('traffic.split: say the split to restore (more than two sites)');
  const total = Object.values(split).reduce((n, w) => n + w, 0);
  if (total !== 100) problems.push(`traffic.split: the weights add up to ${total}, not 100`);
  if (parsed.traffic.split && !((split[parsed.to] ?? 0) > 0)) problems.push(`traffic.split: gives ${parsed.to} nothing to take back`);
  const steps = parsed.traffic.steps;
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!)) problems.push('traffic.steps: must go up');
  if (parsed.traffic.mode === 'gradual' && steps.some((s) => s >= (split[parsed.to] ?? 0)))
    problems.push(`traffic.steps: each must be below ${parsed.to}'s final share (${split[parsed.to] ?? 0})`);
  if (problems.length) throw new SpecError('failbackSite input', problems);
  return { ...parsed, traffic: { ...parsed.traffic, split } };
}
