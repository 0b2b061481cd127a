// A site-per-pool load balancer at Cloudflare, through the official library: find or make the
// monitor, one pool per site and the load balancer (each found by a name opsflow derives, so a
// retried call makes nothing twice), read pool health, and read or write the traffic split.
import type Cloudflare from 'cloudflare';
import type { LoadBalancer } from 'cloudflare/resources/load-balancers/load-balancers';
import type { Monitor } from 'cloudflare/resources/load-balancers/monitors/monitors';
import type { Pool } from 'cloudflare/resources/load-balancers/pools/pools';
import type { Zone } from 'cloudflare/resources/zones/zones';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { cloudflareCall } from './errors';
import { fallbackPoolFor, poolWeights, splitOf, weightsMatch, type TrafficSplit } from './split';

export interface SiteOrigin {
  /** Letters, digits, - and _ (Cloudflare's rule for origin names). */
  name: string;
  address: string;
  port?: number;
  /** Share within its site's pool, 0 to 1 (default 1). */
  weight?: number;
}

export interface SiteMonitor {
  type: 'http' | 'tcp';
  /** For http: the path probed (default /health) and the status expected (default 200). */
  path?: string;
  expectedCodes?: string;
  /** Seconds between checks, per check and retries before a check fails. */
  interval: number;
  timeout: number;
  retries: number;
  /** Failed checks in a row before an origin counts as down. */
  consecutiveDown?: number;
}

export interface SiteLoadBalancerSpec {
  zone: string;
  /** The hostname the load balancer answers, in the zone (www.stack-e.com). */
  hostname: string;
  sites: { name: string; origins: SiteOrigin[] }[];
  monitor: SiteMonitor;
  /** The split a new load balancer starts with; an existing one keeps its own (setTrafficSplit changes it). */
  initialSplit: TrafficSplit;
  /**
   * The site whose pool takes everything when no pool with weight is healthy (default: the one
   * with the largest share of the load balancer's split, the first on a tie, as setTrafficSplit
   * keeps it; given, it is kept whatever the split).
   */
  fallbackSite?: string;
}

/** Where a site-per-pool load balancer is: what every later call needs, no secret in it. */
export interface LoadBalancerRef {
  zoneId: string;
  accountId: string;
  loadBalancerId: string;
  hostname: string;
  /** Pool id per site. */
  pools: Record<string, string>;
}

export interface EnsuredLoadBalancer extends LoadBalancerRef {
  monitorId: string;
  /** What this call made or changed ("pool fra1", "load balancer www.stack-e.com"); empty when all was in place. */
  changed: string[];
  split: TrafficSplit;
}

/** The pool name of a site: the hostname's labels and the site, joined by '-' (letters, digits, - only). */
export function poolName(hostname: string, site: string): string {
  return `${hostname.replace(/[^A-Za-z0-9-]/g, '-')}-${site}`;
}

/** Monitors have no name: opsflow's carries this description. */
export const monitorDescription = (hostname: string) => `opsflow ${hostname}`;

export async function findZone(cf: Cloudflare, name: string): Promise<Zone> {
  const page = await cloudflareCall(`find zone ${name}`, () => cf.zones.list({ name }));
  const zone = page.result.find((z) => z.name === name);
  if (!zone) throw failure(STEP_FAILURE.CloudflareRefused, `zone ${name} is not in this Cloudflare account: add it first`);
  return zone;
}

async function allOf<T>(what: string, list: () => PromiseLike<{ result: T[] }>): Promise<T[]> {
  // Monitors, pools and load balancers are single pages in Cloudflare's API.
  return (await cloudflareCall(what, list)).result;
}

function monitorFields(spec: SiteLoadBalancerSpec) {
  const m = spec.monitor;
  return {
    type: m.type,
    description: monitorDescription(spec.hostname),
    interval: m.interval,
    timeout: m.timeout,
    retries: m.retries,
    ...(m.consecutiveDown !== undefined ? { consecutive_down: m.consecutiveDown } : {}),
    ...(m.type === 'http' ? { path: m.path ?? '/health', expected_codes: m.expectedCodes ?? '200' } : {}),
  };
}

async function ensureMonitor(cf: Cloudflare, account_id: string, spec: SiteLoadBalancerSpec, changed: string[]): Promise<Monitor> {
  const wanted = monitorFields(spec);
  const monitors = await allOf('list monitors', () => cf.loadBalancers.monitors.list({ account_id }));
  const existing = monitors.find((m) => m.description === wanted.description);
  if (!existing) {
    changed.push(`monitor ${wanted.description}`);
    return cloudflareCall('create monitor', () => cf.loadBalancers.monitors.create({ account_id, ...wanted }));
  }
  const same = Object.entries(wanted).every(([k, v]) => (existing as Record<string, unknown>)[k] === v);
  if (same) return existing;
  changed.push(`monitor ${wanted.description}`);
  return cloudflareCall('update monitor', () => cf.loadBalancers.monitors.edit(existing.id!, { account_id, ...wanted }));
}

const originOf = (o: SiteOrigin) => ({ name: o.name, address: o.address, port: o.port ?? 0, weight: o.weight ?? 1, enabled: true });

function sameOrigins(pool: Pool, wanted: ReturnType<typeof originOf>[]): boolean {
  const have = pool.origins ?? [];
  return (
    have.length === wanted.length &&
    wanted.every((w, i) => {
      const h = have[i]!;
      return (
        h.name === w.name && h.address === w.address && (h.port ?? 0) === w.port && (h.weight ?? 1) === w.weight && h.enabled !== false
      );
    })
  );
}

async function ensurePools(
  cf: Cloudflare,
  account_id: string,
  spec: SiteLoadBalancerSpec,
  monitorId: string,
  changed: string[],
): Promise<Record<string, string>> {
  const pools = await allOf('list pools', () => cf.loadBalancers.pools.list({ account_id }));
  const ids: Record<string, string> = {};
  for (const site of spec.sites) {
    const name = poolName(spec.hostname, site.name);
    const origins = site.origins.map(originOf);
    const existing = pools.find((p) => p.name === name);
    if (!existing) {
      changed.push(`pool ${name}`);
      const made = await cloudflareCall(`create pool ${name}`, () =>
        cf.loadBalancers.pools.create({ account_id, name, origins, monitor: monitorId, description: `opsflow site ${site.name}` }),
      );
      ids[site.name] = made.id!;
    } else {
      if (!sameOrigins(existing, origins) || existing.monitor !== monitorId || existing.enabled === false) {
        changed.push(`pool ${name}`);
        await cloudflareCall(`update pool ${name}`, () =>
          cf.loadBalancers.pools.edit(existing.id!, { account_id, origins, monitor: monitorId, enabled: true }),
        );
      }
      ids[site.name] = existing.id!;
    }
  }
  return ids;
}

async function findLoadBalancer(cf: Cloudflare, zone_id: string, hostname: string): Promise<LoadBalancer | undefined> {
  const all = await allOf(`list load balancers of zone ${zone_id}`, () => cf.loadBalancers.list({ zone_id }));
  return all.find((lb) => lb.name === hostname);
}

/** Makes (or brings in line) the monitor, the pools and the load balancer; the split of an existing one is kept. */
export async function ensureSiteLoadBalancer(cf: Cloudflare, spec: SiteLoadBalancerSpec): Promise<EnsuredLoadBalancer> {
  const zone = await findZone(cf, spec.zone);
  const account_id = zone.account.id!;
  const changed: string[] = [];
  const monitor = await ensureMonitor(cf, account_id, spec, changed);
  const pools = await ensurePools(cf, account_id, spec, monitor.id!, changed);
  const defaultPools = spec.sites.map((s) => pools[s.name]!);
  let lb = await findLoadBalancer(cf, zone.id, spec.hostname);
  // Unnamed, the fallback follows the split (an existing one's own, not the initial one).
  const weights = lb ? (lb.random_steering?.pool_weights ?? {}) : poolWeights(spec.initialSplit, pools);
  const fallback = spec.fallbackSite ? pools[spec.fallbackSite]! : (fallbackPoolFor(weights, defaultPools) ?? defaultPools[0]!);
  if (!lb) {
    changed.push(`load balancer ${spec.hostname}`);
    lb = await cloudflareCall(`create load balancer ${spec.hostname}`, () =>
      cf.loadBalancers.create({
        zone_id: zone.id,
        name: spec.hostname,
        default_pools: defaultPools,
        fallback_pool: fallback,
        steering_policy: 'random',
        random_steering: { default_weight: 0, pool_weights: poolWeights(spec.initialSplit, pools) },
        proxied: true,
      }),
    );
  } else if (lb.fallback_pool !== fallback || JSON.stringify(lb.default_pools) !== JSON.stringify(defaultPools)) {
    changed.push(`load balancer ${spec.hostname}`);
    const id = lb.id!;
    lb = await cloudflareCall(`update load balancer ${spec.hostname}`, () =>
      cf.loadBalancers.edit(id, { zone_id: zone.id, default_pools: defaultPools, fallback_pool: fallback }),
    );
  }
  return {
    zoneId: zone.id,
    accountId: account_id,
    loadBalancerId: lb.id!,
    hostname: spec.hostname,
    monitorId: monitor.id!,
    pools,
    changed,
    split: splitOf(lb.random_steering?.pool_weights ?? {}, pools, lb.random_steering?.default_weight ?? 1),
  };
}

export interface OriginHealth {
  name: string;
  healthy: boolean;
  reason?: string;
}
export interface SiteHealth {
  healthy: boolean;
  origins: OriginHealth[];
}

/** Each site's pool health as Cloudflare's monitors see it, origins named. */
export async function readPoolHealth(
  cf: Cloudflare,
  ref: Pick<LoadBalancerRef, 'accountId' | 'pools'>,
): Promise<Record<string, SiteHealth>> {
  const account_id = ref.accountId;
  const sites: Record<string, SiteHealth> = {};
  for (const [site, poolId] of Object.entries(ref.pools)) {
    const [pool, health] = await Promise.all([
      cloudflareCall(`read pool ${site}`, () => cf.loadBalancers.pools.get(poolId, { account_id })),
      cloudflareCall(`read the health of pool ${site}`, () => cf.loadBalancers.pools.health.get(poolId, { account_id })),
    ]);
    const checks = health.pop_health?.origins ?? [];
    sites[site] = {
      healthy: health.pop_health?.healthy === true,
      origins: (pool.origins ?? []).map((o, i) => {
        const ip = checks[i]?.ip;
        return {
          name: o.name ?? `origin ${i}`,
          healthy: ip?.healthy === true,
          ...(ip?.failure_reason ? { reason: ip.failure_reason } : {}),
        };
      }),
    };
  }
  return sites;
}

/** The split the load balancer makes now. */
export async function readTrafficSplit(cf: Cloudflare, ref: LoadBalancerRef): Promise<TrafficSplit> {
  const lb = await cloudflareCall(`read load balancer ${ref.hostname}`, () =>
    cf.loadBalancers.get(ref.loadBalancerId, { zone_id: ref.zoneId }),
  );
  return splitOf(lb.random_steering?.pool_weights ?? {}, ref.pools, lb.random_steering?.default_weight ?? 1);
}

/**
 * Sets the split, and the fallback pool to the pool with the largest share (fallbackPoolFor): a
 * site emptied to 0 is never where the edge falls back, and a split restored restores the fallback
 * with it. The same split as now (fallback included) writes nothing. Returns the split before and
 * whether it wrote.
 */
export async function writeTrafficSplit(
  cf: Cloudflare,
  ref: LoadBalancerRef,
  split: TrafficSplit,
): Promise<{ changed: boolean; previous: TrafficSplit }> {
  const lb = await cloudflareCall(`read load balancer ${ref.hostname}`, () =>
    cf.loadBalancers.get(ref.loadBalancerId, { zone_id: ref.zoneId }),
  );
  const current = lb.random_steering?.pool_weights ?? {};
  const defaultWeight = lb.random_steering?.default_weight ?? 1;
  const previous = splitOf(current, ref.pools, defaultWeight);
  const wanted = poolWeights(split, ref.pools);
  const fallback = fallbackPoolFor(wanted, lb.default_pools?.length ? lb.default_pools : Object.values(ref.pools));
  if (lb.steering_policy === 'random' && weightsMatch(current, wanted) && (!fallback || lb.fallback_pool === fallback))
    return { changed: false, previous };
  await cloudflareCall(`set the traffic split of ${ref.hostname}`, () =>
    cf.loadBalancers.edit(ref.loadBalancerId, {
      zone_id: ref.zoneId,
      steering_policy: 'random',
      random_steering: { default_weight: 0, pool_weights: wanted },
      ...(fallback ? { fallback_pool: fallback } : {}),
    }),
  );
  return { changed: true, previous };
}

/** What removeSiteLoadBalancer found and deleted (an absent part is left so: the same call again deletes nothing). */
export interface RemovedLoadBalancer {
  deleted: string[];
}

/**
 * Deletes what ensureSiteLoadBalancer made for `hostname`: the load balancer first (pools in use
 * cannot go), then each site's pool, then the monitor no pool uses any more. Found by name, so a
 * create whose answer was lost is found too.
 */
export async function removeSiteLoadBalancer(
  cf: Cloudflare,
  spec: Pick<SiteLoadBalancerSpec, 'zone' | 'hostname'> & { sites: string[] },
): Promise<RemovedLoadBalancer> {
  const zone = await findZone(cf, spec.zone);
  const account_id = zone.account.id!;
  const deleted: string[] = [];
  const lb = await findLoadBalancer(cf, zone.id, spec.hostname);
  if (lb) {
    await cloudflareCall(`delete load balancer ${spec.hostname}`, () => cf.loadBalancers.delete(lb.id!, { zone_id: zone.id }));
    deleted.push(`load balancer ${spec.hostname}`);
  }
  const names = new Set(spec.sites.map((site) => poolName(spec.hostname, site)));
  for (const pool of await allOf('list pools', () => cf.loadBalancers.pools.list({ account_id }))) {
    if (!names.has(pool.name!)) continue;
    await cloudflareCall(`delete pool ${pool.name}`, () => cf.loadBalancers.pools.delete(pool.id!, { account_id }));
    deleted.push(`pool ${pool.name}`);
  }
  const description = monitorDescription(spec.hostname);
  for (const monitor of await allOf('list monitors', () => cf.loadBalancers.monitors.list({ account_id }))) {
    if (monitor.description !== description) continue;
    await cloudflareCall(`delete monitor ${description}`, () => cf.loadBalancers.monitors.delete(monitor.id!, { account_id }));
    deleted.push(`monitor ${description}`);
  }
  return { deleted };
}
