// The Cloudflare activities against the local cloud's Cloudflare API and its real edge: the
// site-per-pool load balancer is made once (a second ensure changes nothing), pool health is read
// with origins named, and a 50/50 -> 0/100 split measurably moves traffic: requests through the
// edge are counted by the site that answered. The same split again writes nothing (request log).
// The token is a secret reference resolved by the activity; a refused token, a secret the worker
// does not hand out and a bad split are each refused by name.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import Cloudflare from 'cloudflare';
import { createCloudflareActivities, type EnsureSiteLoadBalancerInput } from '../../../src/activities/cloudflare/load-balancer';
import { sampleTraffic } from '../../../src/activities/cloudflare/traffic-sample';
import { secretResolver } from '../../../src/backups/secrets';
import type { LoadBalancerRef } from '../../../src/integrations/cloudflare/load-balancing';
import { startLocalCloud } from '../../helpers/localcloud';
import { binomialRange, startSiteOrigin, type SiteOrigin } from '../../helpers/site-origins';

let cloud: LocalCloud;
const origins: SiteOrigin[] = [];
afterAll(async () => {
  await Promise.all(origins.map((o) => o.stop()));
  await cloud?.stop();
});

const TOKEN_REF = 'env:OPSFLOW_SECRET_CLOUDFLARE_TOKEN';
const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;

async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(error)}`);
  return error;
}

test('ensure the load balancer, read pool health, and move traffic 50/50 -> 0/100 through the edge', async () => {
  ({ cloud } = await startLocalCloud({ sshHosts: false }));
  const cf = new Cloudflare({ apiToken: cloud.token, baseURL: `${cloud.apiUrl}/client/v4`, maxRetries: 0 });
  const [account] = (await cf.accounts.list()).result;
  await cf.zones.create({ account: { id: account!.id }, name: 'stack-e.com' });
  const fraA = await startSiteOrigin('fra1', 'fra-a');
  const fraB = await startSiteOrigin('fra1', 'fra-b');
  const lon = await startSiteOrigin('london', 'lon-a');
  origins.push(fraA, fraB, lon);

  const cloudflare = { apiUrl: `${cloud.apiUrl}/client/v4`, apiToken: TOKEN_REF };
  const activities = createCloudflareActivities({
    resolveSecret: secretResolver({ OPSFLOW_SECRET_CLOUDFLARE_TOKEN: cloud.token }),
  });
  const spec: EnsureSiteLoadBalancerInput = {
    cloudflare,
    zone: 'stack-e.com',
    hostname: 'www.stack-e.com',
    sites: [
      { name: 'fra1', origins: [fraA, fraB].map((o) => ({ name: o.name, address: o.address, port: o.port })) },
      { name: 'london', origins: [{ name: lon.name, address: lon.address, port: lon.port }] },
    ],
    // Failures are found in seconds; a retry and two failed checks in a row keep a healthy origin
    // healthy on a loaded machine.
    monitor: { type: 'http', path: '/health', interval: 1, timeout: 5, retries: 1, consecutiveDown: 2 },
    initialSplit: { fra1: 50, london: 50 },
  };
  const made = await run(() => activities.ensureSiteLoadBalancer(spec));
  expect(made.changed).toEqual([
    'monitor opsflow www.stack-e.com',
    'pool www-stack-e-com-fra1',
    'pool www-stack-e-com-london',
    'load balancer www.stack-e.com',
  ]);
  expect(made.split).toEqual({ fra1: 50, london: 50 });

  // A second ensure finds everything by name and changes nothing.
  const again = await run(() => activities.ensureSiteLoadBalancer(spec));
  expect(again).toEqual({ ...made, changed: [] });
  const accountId = made.accountId;
  expect((await cf.loadBalancers.pools.list({ account_id: accountId })).result).toHaveLength(2);
  expect((await cf.loadBalancers.monitors.list({ account_id: accountId })).result).toHaveLength(1);
  expect((await cf.loadBalancers.list({ zone_id: made.zoneId })).result).toHaveLength(1);
  const ref: LoadBalancerRef = made;

  // The monitor probes each second: wait until both pools are checked and healthy.
  for (let polls = 0; ; polls++) {
    const health = await run(() => activities.readPoolHealth({ cloudflare, loadBalancer: ref }));
    if (health.fra1!.healthy && health.london!.healthy) {
      expect(health.fra1!.origins.map((o) => [o.name, o.healthy])).toEqual([
        ['fra-a', true],
        ['fra-b', true],
      ]);
      break;
    }
    if (polls > 600) throw new Error(`pools not healthy: ${JSON.stringify(health)}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const edge = cloud.cloudflare.edge;
  const through = (requests: number) => run(() => sampleTraffic({ url: edge.url, host: 'www.stack-e.com', requests }));
  const n = 400;
  const before = await through(n);
  const [low, high] = binomialRange(n, 0.5);
  expect(before.failed).toEqual({});
  expect(before.bySite.fra1).toBeGreaterThanOrEqual(low);
  expect(before.bySite.fra1).toBeLessThanOrEqual(high);
  expect((before.bySite.fra1 ?? 0) + (before.bySite.london ?? 0)).toBe(n);
  expect(lon.served).toBe(before.bySite.london);

  // The fallback pool is the first site's at 50/50, and moves with the traffic to london's at 0/100.
  const fallbackPool = async () => (await cf.loadBalancers.get(ref.loadBalancerId, { zone_id: ref.zoneId })).fallback_pool;
  expect(await fallbackPool()).toBe(ref.pools.fra1);
  const moved = await run(() => activities.setTrafficSplit({ cloudflare, loadBalancer: ref, split: { fra1: 0, london: 100 } }));
  expect(moved).toEqual({ changed: true, previous: { fra1: 50, london: 50 }, split: { fra1: 0, london: 100 } });
  expect(await fallbackPool()).toBe(ref.pools.london);
  const fraServedBefore = fraA.served + fraB.served;
  const after = await through(200);
  expect(after).toEqual({ bySite: { london: 200 }, failed: {}, requests: 200 });
  expect(fraA.served + fraB.served).toBe(fraServedBefore);

  // The same split again: read, nothing written.
  const since = cloud.requestLog.total;
  const same = await run(() => activities.setTrafficSplit({ cloudflare, loadBalancer: ref, split: { fra1: 0, london: 100 } }));
  expect(same).toEqual({ changed: false, previous: { fra1: 0, london: 100 }, split: { fra1: 0, london: 100 } });
  const calls = cloud.requestLog.list(since).requests.map((r) => r.method);
  expect(calls).toEqual(['GET']);
  // An ensure now keeps the fallback where the split put it (it follows the split, not the initial one).
  expect((await run(() => activities.ensureSiteLoadBalancer(spec))).changed).toEqual([]);
  expect(await fallbackPool()).toBe(ref.pools.london);

  // Refusals, each named.
  const badSplit = await failureOf(
    run(() => activities.setTrafficSplit({ cloudflare, loadBalancer: ref, split: { fra1: 60, london: 60 } })),
  );
  expect(badSplit.type).toBe('CloudflareRefused');
  expect(badSplit.message).toContain('the shares add up to 120, not 100');
  const unknownSite = await failureOf(
    run(() => activities.setTrafficSplit({ cloudflare, loadBalancer: ref, split: { fra1: 0, paris: 100 } })),
  );
  expect(unknownSite.message).toContain('unknown site(s) paris');
  const noZone = await failureOf(run(() => activities.ensureSiteLoadBalancer({ ...spec, zone: 'other.com' })));
  expect([noZone.type, noZone.message]).toEqual(['CloudflareRefused', 'zone other.com is not in this Cloudflare account: add it first']);
  const wrongToken = createCloudflareActivities({ resolveSecret: secretResolver({ OPSFLOW_SECRET_CLOUDFLARE_TOKEN: 'not-the-token' }) });
  const refusedToken = await failureOf(run(() => wrongToken.readPoolHealth({ cloudflare, loadBalancer: ref })));
  expect(refusedToken.type).toBe('CloudflareUnauthorized');
  expect(refusedToken.nonRetryable).toBe(true);
  const notHandedOut = await failureOf(
    run(() => activities.readPoolHealth({ cloudflare: { ...cloudflare, apiToken: 'env:HOME' }, loadBalancer: ref })),
  );
  expect(notHandedOut.type).toBe('SecretUnavailable');
  expect(notHandedOut.message).not.toContain(cloud.token);

  // A 5xx is retryable (Temporal retries the attempt); nothing was half-written.
  await fetch(`${cloud.apiUrl}/_localcloud/faults`, {
    method: 'PUT',
    headers: { ...cloud.controlHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ rules: [{ method: 'PATCH', path: '/client/v4/zones', errorRate: 1, statuses: [503] }] }),
  });
  const outage = await failureOf(run(() => activities.setTrafficSplit({ cloudflare, loadBalancer: ref, split: { fra1: 50, london: 50 } })));
  expect([outage.type, outage.nonRetryable]).toEqual(['CloudflareUnavailable', false]);
  expect((await through(50)).bySite).toEqual({ london: 50 });
});
