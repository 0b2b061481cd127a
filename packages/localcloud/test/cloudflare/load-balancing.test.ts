// Cloudflare load balancing through the official library against the local cloud: monitors,
// pools (origins with weights), pool health, load balancers with random steering; every endpoint,
// and bad input answered in Cloudflare's envelope naming the field.
import type { LocalCloud } from '../../src';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { cloudflareClient, failureOf, startCloudflare, type TestCloudflare } from './client';
import { closeEdgeClients, sendMany, startOrigin } from './origins';

let t: TestCloudflare;
beforeAll(async () => {
  t = await startCloudflare();
});
afterAll(async () => {
  await t?.cloud.stop();
});

test('monitors: create, list, get, update, edit, delete; unsupported probes and bad fields named', async () => {
  const { cf, accountId: account_id } = t;
  const monitor = await cf.loadBalancers.monitors.create({
    account_id,
    type: 'http',
    path: '/health',
    expected_codes: '2xx',
    interval: 30,
    timeout: 3,
  });
  expect(monitor).toMatchObject({
    type: 'http',
    method: 'GET',
    path: '/health',
    expected_codes: '2xx',
    interval: 30,
    timeout: 3,
    retries: 2,
  });
  expect((await cf.loadBalancers.monitors.list({ account_id })).result.map((m) => m.id)).toEqual([monitor.id]);
  expect(await cf.loadBalancers.monitors.get(monitor.id!, { account_id })).toMatchObject({ id: monitor.id, path: '/health' });
  const replaced = await cf.loadBalancers.monitors.update(monitor.id!, { account_id, type: 'tcp', port: 8080 });
  expect(replaced).toMatchObject({ id: monitor.id, type: 'tcp', port: 8080, interval: 60 });
  const edited = await cf.loadBalancers.monitors.edit(monitor.id!, { account_id, interval: 10 });
  expect(edited).toMatchObject({ id: monitor.id, type: 'tcp', port: 8080, interval: 10 });
  expect(await cf.loadBalancers.monitors.delete(monitor.id!, { account_id })).toEqual({ id: monitor.id });

  const icmp = await failureOf(cf.loadBalancers.monitors.create({ account_id, type: 'icmp_ping' }));
  expect(icmp).toEqual({
    status: 400,
    errors: [{ code: 1002, message: "type: must be 'http' or 'tcp' (the probes the local cloud runs)" }],
  });
  const codes = await failureOf(cf.loadBalancers.monitors.create({ account_id, expected_codes: 'ok', path: 'health' }));
  expect(codes.errors.map((e) => e.message.split(':')[0]).sort()).toEqual(['expected_codes', 'path']);
  const otherAccount = await failureOf(cf.loadBalancers.monitors.list({ account_id: '0'.repeat(32) }));
  expect(otherAccount.status).toBe(404);
});

test('pools, pool health and load balancers: every endpoint, references kept whole, bad input named', async () => {
  const { cf, accountId: account_id } = t;
  const zone = await cf.zones.create({ account: { id: account_id }, name: 'shop.com' });
  const monitor = await cf.loadBalancers.monitors.create({ account_id, type: 'tcp', interval: 60 });
  const origin = (name: string, weight: number) => ({ name, address: '127.0.0.1', port: 9, weight, enabled: true });
  const fra = await cf.loadBalancers.pools.create({ account_id, name: 'fra1', origins: [origin('fra-a', 1), origin('fra-b', 0.5)] });
  const lon = await cf.loadBalancers.pools.create({ account_id, name: 'london', origins: [origin('lon-a', 1)], monitor: monitor.id });
  expect(fra).toMatchObject({
    name: 'fra1',
    enabled: true,
    minimum_origins: 1,
    origins: [
      { name: 'fra-a', weight: 1 },
      { name: 'fra-b', weight: 0.5 },
    ],
  });

  expect((await cf.loadBalancers.pools.list({ account_id })).result.map((p) => p.name)).toEqual(['fra1', 'london']);
  expect((await cf.loadBalancers.pools.list({ account_id, monitor: monitor.id })).result.map((p) => p.name)).toEqual(['london']);
  expect(await cf.loadBalancers.pools.get(fra.id!, { account_id })).toMatchObject({ id: fra.id, name: 'fra1' });
  const updated = await cf.loadBalancers.pools.update(fra.id!, { account_id, name: 'fra1', origins: [origin('fra-a', 0.25)] });
  expect(updated.origins).toEqual([expect.objectContaining({ name: 'fra-a', weight: 0.25 })]);
  const edited = await cf.loadBalancers.pools.edit(fra.id!, { account_id, description: 'Frankfurt' });
  expect(edited).toMatchObject({ description: 'Frankfurt', origins: [{ name: 'fra-a', weight: 0.25 }] });

  // No monitor: healthy by definition, as at Cloudflare.
  const health = await cf.loadBalancers.pools.health.get(fra.id!, { account_id });
  expect(health).toMatchObject({
    pool_id: fra.id,
    pop_health: { healthy: true, origins: [{ ip: { healthy: true, failure_reason: 'No monitor' } }] },
  });

  const lb = await cf.loadBalancers.create({
    zone_id: zone.id,
    name: 'www',
    default_pools: [fra.id!, lon.id!],
    fallback_pool: lon.id!,
    steering_policy: 'random',
    random_steering: { pool_weights: { [fra.id!]: 0.5, [lon.id!]: 0.5 } },
    proxied: true,
  });
  expect(lb).toMatchObject({
    name: 'www.shop.com',
    zone_name: 'shop.com',
    steering_policy: 'random',
    default_pools: [fra.id, lon.id],
    fallback_pool: lon.id,
  });
  expect((await cf.loadBalancers.list({ zone_id: zone.id })).result.map((l) => l.id)).toEqual([lb.id]);
  expect(await cf.loadBalancers.get(lb.id!, { zone_id: zone.id })).toMatchObject({
    id: lb.id,
    random_steering: { pool_weights: { [fra.id!]: 0.5 } },
  });
  const replaced = await cf.loadBalancers.update(lb.id!, {
    zone_id: zone.id,
    name: 'www.shop.com',
    default_pools: [lon.id!],
    fallback_pool: lon.id!,
  });
  expect(replaced).toMatchObject({ id: lb.id, default_pools: [lon.id], steering_policy: '' });
  const edited2 = await cf.loadBalancers.edit(lb.id!, { zone_id: zone.id, default_pools: [fra.id!, lon.id!], steering_policy: 'off' });
  expect(edited2).toMatchObject({ default_pools: [fra.id, lon.id], steering_policy: 'off' });

  // References stay whole: what a load balancer uses, or a pool, cannot go.
  const inUse = await failureOf(cf.loadBalancers.pools.delete(lon.id!, { account_id }));
  expect(inUse.errors[0]?.message).toMatch(/still used by load balancers: www\.shop\.com/);
  const monitorInUse = await failureOf(cf.loadBalancers.monitors.delete(monitor.id!, { account_id }));
  expect(monitorInUse.errors[0]?.message).toMatch(/still used by pools: london/);

  // Bad input, each named.
  const heavy = await failureOf(
    cf.loadBalancers.pools.create({ account_id, name: 'x', origins: [{ name: 'a', address: '127.0.0.1', weight: 2 }] }),
  );
  expect(heavy).toEqual({ status: 400, errors: [{ code: 1002, message: 'origins.0.weight: must be from 0 to 1' }] });
  const empty = await failureOf(cf.loadBalancers.pools.create({ account_id, name: 'x', origins: [] }));
  expect(empty.errors[0]?.message).toBe('origins: a pool needs at least one origin');
  const noMonitor = await failureOf(
    cf.loadBalancers.pools.create({ account_id, name: 'x', origins: [origin('a', 1)], monitor: 'f'.repeat(32) }),
  );
  expect(noMonitor.errors[0]?.message).toMatch(/^monitor: no monitor/);
  const geo = await failureOf(
    cf.loadBalancers.create({ zone_id: zone.id, name: 'geo', default_pools: [fra.id!], fallback_pool: fra.id!, steering_policy: 'geo' }),
  );
  expect(geo.errors[0]?.message).toMatch(/^steering_policy: /);
  const strayWeight = await failureOf(
    cf.loadBalancers.create({
      zone_id: zone.id,
      name: 'w2',
      default_pools: [fra.id!],
      fallback_pool: fra.id!,
      random_steering: { pool_weights: { [lon.id!]: 1 } },
    }),
  );
  expect(strayWeight.errors[0]?.message).toMatch(/^random_steering\.pool_weights\./);
  const unknownPool = await failureOf(
    cf.loadBalancers.create({ zone_id: zone.id, name: 'w3', default_pools: ['a'.repeat(32)], fallback_pool: fra.id! }),
  );
  expect(unknownPool.errors[0]?.message).toBe(`default_pools.0: no pool ${'a'.repeat(32)}`);

  expect(await cf.loadBalancers.delete(lb.id!, { zone_id: zone.id })).toEqual({ id: lb.id });
  expect(await cf.loadBalancers.pools.delete(lon.id!, { account_id })).toEqual({ id: lon.id });
  expect(await cf.loadBalancers.pools.delete(fra.id!, { account_id })).toEqual({ id: fra.id });
  expect((await cf.loadBalancers.pools.list({ account_id })).result).toEqual([]);
});

test('a restart keeps the account, zones, records, monitors, pools and load balancers; the edge serves them again', async () => {
  const { cloud, stateDir } = await startLocalCloud({ sshHosts: false });
  let running: LocalCloud | undefined = cloud;
  let restarted: LocalCloud | undefined;
  const origin = await startOrigin('kept', '127.0.0.25');
  try {
    const cf = cloudflareClient(cloud);
    const account_id = (await cf.accounts.list()).result[0]!.id;
    const zone = await cf.zones.create({ account: { id: account_id }, name: 'kept.com' });
    await cf.dns.records.create({ zone_id: zone.id, name: 'www', type: 'A', content: '127.0.0.25', ttl: 1 });
    const pool = await cf.loadBalancers.pools.create({
      account_id,
      name: 'kept',
      origins: [{ name: 'kept', address: origin.address, port: origin.port }],
    });
    const lb = await cf.loadBalancers.create({ zone_id: zone.id, name: 'www', default_pools: [pool.id!], fallback_pool: pool.id! });
    await cloud.stop();
    running = undefined;

    restarted = (await startLocalCloud({ sshHosts: false, stateDir })).cloud;
    const again = cloudflareClient(restarted);
    expect((await again.accounts.list()).result[0]?.id).toBe(account_id);
    expect((await again.dns.records.list({ zone_id: zone.id, name: { exact: 'www.kept.com' } })).result).toHaveLength(1);
    expect(await again.loadBalancers.get(lb.id!, { zone_id: zone.id })).toMatchObject({ name: 'www.kept.com', default_pools: [pool.id] });
    expect(await sendMany(restarted.cloudflare.edge.url, 'www.kept.com', 5)).toEqual({ kept: 5 });
  } finally {
    closeEdgeClients();
    await origin.stop();
    await running?.stop();
    await restarted?.stop();
  }
});
