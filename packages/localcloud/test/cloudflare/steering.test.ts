// The edge's choices, given the random numbers: pools by weight or in order, only healthy ones,
// the fallback when none is, origins by weight among the enabled and healthy.
import { choose, choosePool, chooseOrigin, drawByWeight, type Health } from '../../src/cloudflare/steering';
import type { StoredLoadBalancer, StoredPool } from '../../src/cloudflare/state';

const pool = (id: string, origins: { name: string; weight?: number; enabled?: boolean }[] = [{ name: `${id}-a` }]): StoredPool =>
  ({ id, name: id, enabled: true, origins: origins.map((o) => ({ address: '127.0.0.1', port: 80, ...o })) }) as StoredPool;
const lb = (over: Partial<StoredLoadBalancer>): StoredLoadBalancer =>
  ({
    id: 'lb',
    name: 'www.example.com',
    default_pools: ['a', 'b'],
    fallback_pool: 'f',
    steering_policy: 'random',
    ...over,
  }) as StoredLoadBalancer;
const health = (downPools: string[] = [], downOrigins: string[] = []): Health => ({
  isPoolHealthy: (p) => !downPools.includes(p.id),
  isOriginHealthy: (_p, name) => !downOrigins.includes(name),
});
const pools = [pool('a'), pool('b'), pool('f')];

test('drawByWeight: each item owns a slice of [0, 1) as wide as its share; zero weights own none', () => {
  const items = ['x', 'y', 'z'];
  const weights: Record<string, number> = { x: 0.25, y: 0, z: 0.75 };
  expect([0, 0.2499, 0.25, 0.9999].map((r) => drawByWeight(items, (i) => weights[i]!, r))).toEqual(['x', 'x', 'z', 'z']);
  expect(drawByWeight(items, () => 0, 0.5)).toBeUndefined();
});

test('pools: random by pool weights (default_weight for the unnamed), off takes the first healthy, none healthy takes the fallback', () => {
  const weighted = lb({ random_steering: { default_weight: 0.5, pool_weights: { a: 0.5 } } });
  expect(choosePool(weighted, pools, health(), 0.49)?.pool.id).toBe('a');
  expect(choosePool(weighted, pools, health(), 0.5)?.pool.id).toBe('b');
  const allOnA = lb({ random_steering: { pool_weights: { a: 1, b: 0 } } });
  expect([0, 0.5, 0.999].map((r) => choosePool(allOnA, pools, health(), r)?.pool.id)).toEqual(['a', 'a', 'a']);
  expect(choosePool(allOnA, pools, health(['a']), 0.3)).toEqual({ pool: pools[2], fallback: true });
  const failover = lb({ steering_policy: 'off' });
  expect(choosePool(failover, pools, health(), 0.99)?.pool.id).toBe('a');
  expect(choosePool(failover, pools, health(['a']), 0.99)?.pool.id).toBe('b');
  expect(choosePool(failover, pools, health(['a', 'b', 'f']), 0)).toEqual({ pool: pools[2], fallback: true });
});

test('origins: by weight among enabled, healthy ones; a fallback pool with none healthy still serves its enabled ones', () => {
  const p = pool('a', [
    { name: 'one', weight: 1 },
    { name: 'two', weight: 1 },
    { name: 'off', weight: 1, enabled: false },
  ]);
  expect([0.1, 0.6, 0.99].map((r) => chooseOrigin(p, health(), r, false)?.name)).toEqual(['one', 'two', 'two']);
  expect(chooseOrigin(p, health([], ['one']), 0.1, false)?.name).toBe('two');
  expect(chooseOrigin(p, health([], ['one', 'two']), 0.1, false)).toBeUndefined();
  expect(chooseOrigin(p, health([], ['one', 'two']), 0.1, true)?.name).toBe('one');
  const randoms = [0.9, 0.1];
  expect(choose(lb({}), pools, health(), () => randoms.shift()!)).toMatchObject({
    pool: { id: 'b' },
    origin: { name: 'b-a' },
    fallback: false,
  });
});
