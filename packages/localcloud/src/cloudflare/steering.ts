// How the edge chooses, given the load balancer, its pools and their health: a pool (steering
// `off`: the first healthy of default_pools; `random`: a healthy one drawn by random_steering's
// pool weights; none: the fallback pool, healthy or not, as Cloudflare does), then an origin in it
// drawn by origin weight among the enabled, healthy ones (in the fallback pool with none healthy,
// among the enabled ones). `random` is a number in [0, 1), given so tests can pin it.
import type { StoredLoadBalancer, StoredPool } from './state';

type PoolOrigin = StoredPool['origins'][number];

export interface Health {
  isPoolHealthy(pool: StoredPool): boolean;
  isOriginHealthy(pool: StoredPool, originName: string): boolean;
}

export interface Choice {
  pool: StoredPool;
  origin: PoolOrigin;
  /** The pool was the fallback: no default pool was healthy (or had weight). */
  fallback: boolean;
}

/** Draws one item by weight; undefined when no item has a positive weight. */
export function drawByWeight<T>(items: T[], weightOf: (item: T) => number, random: number): T | undefined {
  const weighted = items.filter((i) => weightOf(i) > 0);
  const total = weighted.reduce((sum, i) => sum + weightOf(i), 0);
  let point = random * total;
  for (const item of weighted) {
    point -= weightOf(item);
    if (point < 0) return item;
  }
  return weighted.at(-1);
}

export function choosePool(
  lb: StoredLoadBalancer,
  pools: StoredPool[],
  health: Health,
  random: number,
): { pool: StoredPool; fallback: boolean } | undefined {
  const byId = new Map(pools.map((p) => [p.id, p]));
  const healthy = lb.default_pools.map((id) => byId.get(id)).filter((p): p is StoredPool => p !== undefined && health.isPoolHealthy(p));
  const steered =
    lb.steering_policy === 'random'
      ? drawByWeight(healthy, (p) => lb.random_steering?.pool_weights?.[p.id] ?? lb.random_steering?.default_weight ?? 1, random)
      : healthy[0];
  if (steered) return { pool: steered, fallback: false };
  const fallback = byId.get(lb.fallback_pool);
  return fallback ? { pool: fallback, fallback: true } : undefined;
}

export function chooseOrigin(pool: StoredPool, health: Health, random: number, fallback: boolean): PoolOrigin | undefined {
  const enabled = pool.origins.filter((o) => o.enabled !== false);
  const healthy = enabled.filter((o) => health.isOriginHealthy(pool, o.name ?? ''));
  const weightOf = (o: PoolOrigin) => o.weight ?? 1;
  return drawByWeight(healthy, weightOf, random) ?? (fallback ? drawByWeight(enabled, weightOf, random) : undefined);
}

export function choose(lb: StoredLoadBalancer, pools: StoredPool[], health: Health, random: () => number): Choice | undefined {
  const picked = choosePool(lb, pools, health, random());
  if (!picked) return undefined;
  const origin = chooseOrigin(picked.pool, health, random(), picked.fallback);
  return origin ? { pool: picked.pool, origin, fallback: picked.fallback } : undefined;
}
