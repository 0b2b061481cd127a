// Origins added to and removed from one site's pool, by name: a failover that scales the survivor
// puts its new app servers in the survivor's pool (the edge then sends them traffic) and its
// compensation takes them out again. Both read the pool first and write only what differs, so a
// retried call (a lost answer, a worker killed mid-call) changes nothing twice.
import type Cloudflare from 'cloudflare';
import type { Pool } from 'cloudflare/resources/load-balancers/pools/pools';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { cloudflareCall } from './errors';
import type { LoadBalancerRef, SiteOrigin } from './load-balancing';

export interface PoolOriginsChange {
  /** Names written in (or out) by this call; empty when the pool already was so. */
  changed: string[];
  /** The pool's origins after the call, by name. */
  origins: string[];
}

type PoolRef = Pick<LoadBalancerRef, 'accountId' | 'pools'>;

async function readPool(cf: Cloudflare, ref: PoolRef, site: string): Promise<{ poolId: string; pool: Pool }> {
  const poolId = ref.pools[site];
  if (!poolId)
    throw failure(STEP_FAILURE.CloudflareRefused, `site: ${site} has no pool in the load balancer (${Object.keys(ref.pools).join(', ')})`);
  const pool = await cloudflareCall(`read pool ${site}`, () => cf.loadBalancers.pools.get(poolId, { account_id: ref.accountId }));
  return { poolId, pool };
}

async function writeOrigins(cf: Cloudflare, ref: PoolRef, site: string, poolId: string, origins: Pool['origins']): Promise<void> {
  await cloudflareCall(`set the origins of pool ${site}`, () =>
    cf.loadBalancers.pools.edit(poolId, { account_id: ref.accountId, origins: origins ?? [] }),
  );
}

/** Adds each origin not yet in the site's pool (by name); one the pool already has is left as it is. */
export async function addPoolOrigins(cf: Cloudflare, ref: PoolRef, site: string, origins: SiteOrigin[]): Promise<PoolOriginsChange> {
  const { poolId, pool } = await readPool(cf, ref, site);
  const have = pool.origins ?? [];
  const missing = origins.filter((o) => !have.some((h) => h.name === o.name));
  const after = [
    ...have,
    ...missing.map((o) => ({ name: o.name, address: o.address, port: o.port ?? 0, weight: o.weight ?? 1, enabled: true })),
  ];
  if (missing.length) await writeOrigins(cf, ref, site, poolId, after);
  return { changed: missing.map((o) => o.name), origins: after.map((o) => o.name ?? '') };
}

/** Removes the named origins from the site's pool; a name it does not have is already gone. */
export async function removePoolOrigins(cf: Cloudflare, ref: PoolRef, site: string, names: string[]): Promise<PoolOriginsChange> {
  const { poolId, pool } = await readPool(cf, ref, site);
  const have = pool.origins ?? [];
  const kept = have.filter((h) => !names.includes(h.name ?? ''));
  if (kept.length === have.length) return { changed: [], origins: kept.map((o) => o.name ?? '') };
  if (kept.length === 0)
    throw failure(STEP_FAILURE.CloudflareRefused, `removing ${names.join(', ')} would leave pool ${site} with no origin: not done`);
  await writeOrigins(cf, ref, site, poolId, kept);
  return { changed: have.filter((h) => names.includes(h.name ?? '')).map((o) => o.name ?? ''), origins: kept.map((o) => o.name ?? '') };
}
