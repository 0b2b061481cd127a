// The local edge routes real traffic: two sites' pools split 50/50 by weight (counted over 400
// requests, within a binomial bound), a weight change to 100/0 moves all of it, a disabled origin
// gets none, a pool whose origin stops answering is found unhealthy by its monitor and gets none,
// and with every default pool unhealthy the fallback pool takes everything.
import type Cloudflare from 'cloudflare';
import { startCloudflare, type TestCloudflare } from './client';
import { binomialRange, closeEdgeClients, sendMany, startOrigin, type Origin } from './origins';

let t: TestCloudflare;
const origins: Origin[] = [];
afterAll(async () => {
  closeEdgeClients();
  await Promise.all(origins.map((o) => o.stop()));
  await t?.cloud.stop();
});

/** Polls the pool's health through the API until it is as wanted (the monitor probes each second). */
async function poolHealthBecomes(cf: Cloudflare, account_id: string, poolId: string, healthy: boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const health = await cf.loadBalancers.pools.health.get(poolId, { account_id });
    const checked = health.pop_health?.origins?.every((o) => o.ip?.failure_reason !== 'Not yet checked');
    if (checked && health.pop_health?.healthy === healthy) return;
    if (Date.now() > deadline)
      throw new Error(`pool ${poolId} not ${healthy ? 'healthy' : 'unhealthy'} after 60 s: ${JSON.stringify(health)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the edge steers by pool weight, origin state and health, and falls back when no pool is healthy', async () => {
  t = await startCloudflare();
  const { cf, accountId: account_id, cloud } = t;
  const [fraA, fraB, london, standby] = await Promise.all([
    startOrigin('fra-a', '127.0.0.21'),
    startOrigin('fra-b', '127.0.0.22'),
    startOrigin('london-a', '127.0.0.23'),
    startOrigin('standby', '127.0.0.24'),
  ]);
  origins.push(fraA!, fraB!, london!, standby!);
  const asOrigin = (o: Origin, enabled = true) => ({ name: o.name, address: o.address, port: o.port, weight: 0.5, enabled });

  const zone = await cf.zones.create({ account: { id: account_id }, name: 'stack-e.com' });
  const monitor = await cf.loadBalancers.monitors.create({
    account_id,
    type: 'http',
    path: '/health',
    expected_codes: '200',
    // A stopped origin refuses at once and a 503 is immediate, so failures are found in a second;
    // a generous timeout, a retry and two failed checks in a row keep a healthy origin healthy on
    // a loaded machine.
    interval: 1,
    timeout: 5,
    retries: 1,
    consecutive_down: 2,
  });
  const fra = await cf.loadBalancers.pools.create({
    account_id,
    name: 'fra1',
    monitor: monitor.id,
    origins: [asOrigin(fraA!), asOrigin(fraB!)],
  });
  const lon = await cf.loadBalancers.pools.create({ account_id, name: 'london', monitor: monitor.id, origins: [asOrigin(london!)] });
  const fallback = await cf.loadBalancers.pools.create({ account_id, name: 'standby', origins: [asOrigin(standby!)] });
  const lb = await cf.loadBalancers.create({
    zone_id: zone.id,
    name: 'www',
    default_pools: [fra.id!, lon.id!],
    fallback_pool: fallback.id!,
    steering_policy: 'random',
    random_steering: { pool_weights: { [fra.id!]: 0.5, [lon.id!]: 0.5 } },
    proxied: true,
  });
  await poolHealthBecomes(cf, account_id, fra.id!, true);
  await poolHealthBecomes(cf, account_id, lon.id!, true);
  const edge = cloud.cloudflare.edge;
  expect(edge.url).toMatch(/^http:\/\/127\.\d+\.255\.254:\d+$/);
  const host = 'www.stack-e.com';

  // 50/50 between the sites, and 50/50 between Frankfurt's two origins: within binomial bounds.
  const n = 400;
  const split = await sendMany(edge.url, host, n);
  const fraServed = (split['fra-a'] ?? 0) + (split['fra-b'] ?? 0);
  const [low, high] = binomialRange(n, 0.5);
  expect(fraServed).toBeGreaterThanOrEqual(low);
  expect(fraServed).toBeLessThanOrEqual(high);
  expect(fraServed + (split['london-a'] ?? 0)).toBe(n);
  const [lowA, highA] = binomialRange(fraServed, 0.5);
  expect(split['fra-a']).toBeGreaterThanOrEqual(lowA);
  expect(split['fra-a']).toBeLessThanOrEqual(highA);
  // The edge's own counts agree with what the origins served.
  expect(edge.counts()).toMatchObject({ pools: { [fra.id!]: fraServed, [lon.id!]: split['london-a'] }, fallback: 0, unrouted: 0 });
  expect([fraA!.served, fraB!.served, london!.served]).toEqual([split['fra-a'], split['fra-b'], split['london-a']]);

  // Weights 100/0: all traffic to Frankfurt.
  const reset = await fetch(`${cloud.apiUrl}/_localcloud/cloudflare/edge/counts`, { method: 'DELETE', headers: cloud.controlHeaders });
  expect(reset.status).toBe(200);
  await cf.loadBalancers.edit(lb.id!, { zone_id: zone.id, random_steering: { pool_weights: { [fra.id!]: 1, [lon.id!]: 0 } } });
  const allFra = await sendMany(edge.url, host, 200);
  expect((allFra['fra-a'] ?? 0) + (allFra['fra-b'] ?? 0)).toBe(200);
  expect(allFra['london-a']).toBeUndefined();

  // A disabled origin gets nothing; its pool's other origin takes its share.
  await cf.loadBalancers.pools.edit(fra.id!, { account_id, origins: [asOrigin(fraA!), asOrigin(fraB!, false)] });
  expect(await sendMany(edge.url, host, 100)).toEqual({ 'fra-a': 100 });

  // Back to 50/50; London's origin stops answering: its monitor finds the pool unhealthy and
  // every request goes to Frankfurt, none fails.
  await cf.loadBalancers.edit(lb.id!, { zone_id: zone.id, random_steering: { pool_weights: { [fra.id!]: 0.5, [lon.id!]: 0.5 } } });
  await london!.stop();
  await poolHealthBecomes(cf, account_id, lon.id!, false);
  const health = await cf.loadBalancers.pools.health.get(lon.id!, { account_id });
  expect(health.pop_health?.origins?.[0]?.ip).toMatchObject({ healthy: false, failure_reason: 'TCP connection failed' });
  expect(await sendMany(edge.url, host, 100)).toEqual({ 'fra-a': 100 });

  // Frankfurt's health check fails too: no default pool is healthy, the fallback pool takes all.
  fraA!.healthStatus = 503;
  await poolHealthBecomes(cf, account_id, fra.id!, false);
  const before = edge.counts().fallback;
  expect(await sendMany(edge.url, host, 100)).toEqual({ standby: 100 });
  expect(edge.counts().fallback - before).toBe(100);

  // Frankfurt recovers: traffic leaves the fallback.
  fraA!.healthStatus = 200;
  await poolHealthBecomes(cf, account_id, fra.id!, true);
  expect(await sendMany(edge.url, host, 50)).toEqual({ 'fra-a': 50 });

  // A host no load balancer serves is refused, not guessed at.
  expect(await sendMany(edge.url, 'other.stack-e.com', 1)).toEqual({ 'status 530': 1 });
});
