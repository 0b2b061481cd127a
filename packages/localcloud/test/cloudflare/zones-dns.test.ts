// Cloudflare zones and DNS records through the official library against the local cloud: every
// endpoint, pagination, filters, and bad input answered in Cloudflare's envelope naming the field.
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { cloudflareClient, failureOf, startCloudflare, type TestCloudflare } from './client';

let t: TestCloudflare;
beforeAll(async () => {
  t = await startCloudflare();
});
afterAll(async () => {
  await t?.cloud.stop();
});

test('zones: create, list with filters and pages, get, delete; duplicates and bad names refused', async () => {
  const { cf, accountId } = t;
  const names = ['alpha.example', 'beta.example', 'gamma.example'].map((n) => n.replace('.example', '.com'));
  const zones = [];
  for (const name of names) zones.push(await cf.zones.create({ account: { id: accountId }, name, type: 'full' }));
  expect(zones[0]).toMatchObject({ name: 'alpha.com', status: 'active', account: { id: accountId }, type: 'full' });
  expect(zones[0]?.id).toMatch(/^[0-9a-f]{32}$/);

  const page = await cf.zones.list({ per_page: 2, page: 1 });
  expect(page.result.map((z) => z.name)).toEqual(['alpha.com', 'beta.com']);
  expect(page.result_info).toMatchObject({ page: 1, per_page: 2, count: 2, total_count: 3 });
  const all = [];
  for await (const zone of cf.zones.list({ per_page: 2 })) all.push(zone.name);
  expect(all).toEqual(names);
  expect((await cf.zones.list({ name: 'beta.com' })).result.map((z) => z.name)).toEqual(['beta.com']);
  expect((await cf.zones.list({ account: { id: accountId }, status: 'active' })).result).toHaveLength(3);
  expect((await cf.zones.list({ account: { id: 'f'.repeat(32) } })).result).toHaveLength(0);

  const gamma = zones[2]!;
  expect(await cf.zones.get({ zone_id: gamma.id })).toMatchObject({ id: gamma.id, name: 'gamma.com' });
  expect(await cf.zones.delete({ zone_id: gamma.id })).toEqual({ id: gamma.id });
  const gone = await failureOf(cf.zones.get({ zone_id: gamma.id }));
  expect(gone.status).toBe(404);
  expect(gone.errors[0]).toMatchObject({ code: 7003 });

  const twice = await failureOf(cf.zones.create({ account: { id: accountId }, name: 'alpha.com' }));
  expect(twice).toEqual({ status: 400, errors: [{ code: 1061, message: 'alpha.com already exists' }] });
  const bad = await failureOf(cf.zones.create({ account: { id: accountId }, name: 'not a domain' }));
  expect(bad.status).toBe(400);
  expect(bad.errors[0]?.message).toMatch(/^name: /);
  const noAccount = await failureOf(cf.zones.create({ account: {}, name: 'delta.com' }));
  expect(noAccount.errors[0]?.message).toMatch(/^account\.id: /);
});

test('DNS records: create, list filtered by name and type, get, update, edit, delete; invalid content named', async () => {
  const { cf, accountId } = t;
  const zone = await cf.zones.create({ account: { id: accountId }, name: 'records.com' });
  const zone_id = zone.id;
  const apex = await cf.dns.records.create({ zone_id, name: '@', type: 'A', content: '127.0.0.10', ttl: 1, proxied: true });
  expect(apex).toMatchObject({ name: 'records.com', type: 'A', content: '127.0.0.10', proxied: true, proxiable: true, ttl: 1 });
  const www = await cf.dns.records.create({ zone_id, name: 'www', type: 'CNAME', content: 'records.com', ttl: 300 });
  expect(www.name).toBe('www.records.com');
  await cf.dns.records.create({ zone_id, name: 'records.com', type: 'TXT', content: 'v=spf1 -all', ttl: 3600 });
  await cf.dns.records.create({ zone_id, name: 'api.records.com', type: 'A', content: '127.0.0.11', ttl: 60 });

  const byName = await cf.dns.records.list({ zone_id, name: { exact: 'records.com' } });
  expect(byName.result.map((r) => r.type).sort()).toEqual(['A', 'TXT']);
  const byType = await cf.dns.records.list({ zone_id, type: 'A' });
  expect(byType.result.map((r) => r.name).sort()).toEqual(['api.records.com', 'records.com']);
  expect((await cf.dns.records.list({ zone_id, type: 'A', name: { startswith: 'api.' } })).result).toHaveLength(1);
  const paged = await cf.dns.records.list({ zone_id, per_page: 3 });
  expect(paged.result_info).toMatchObject({ page: 1, per_page: 3, count: 3, total_count: 4 });

  expect(await cf.dns.records.get(apex.id, { zone_id })).toMatchObject({ id: apex.id, content: '127.0.0.10' });
  const updated = await cf.dns.records.update(apex.id, { zone_id, name: '@', type: 'A', content: '127.0.0.12', ttl: 120 });
  expect(updated).toMatchObject({ id: apex.id, content: '127.0.0.12', ttl: 120, proxied: false });
  const edited = await cf.dns.records.edit(apex.id, { zone_id, name: 'records.com', type: 'A', ttl: 120, proxied: true });
  expect(edited).toMatchObject({ id: apex.id, content: '127.0.0.12', ttl: 120, proxied: true });
  expect(await cf.dns.records.delete(www.id, { zone_id })).toEqual({ id: www.id });
  expect((await failureOf(cf.dns.records.get(www.id, { zone_id }))).status).toBe(404);

  const badAddress = await failureOf(cf.dns.records.create({ zone_id, name: 'x', type: 'A', content: '999.1.1.1', ttl: 1 }));
  expect(badAddress).toEqual({ status: 400, errors: [{ code: 1004, message: 'content: "999.1.1.1" is not a valid IPv4 address' }] });
  const badTtl = await failureOf(cf.dns.records.create({ zone_id, name: 'x', type: 'A', content: '127.0.0.1', ttl: 5 }));
  expect(badTtl.errors[0]?.message).toMatch(/^ttl: /);
  const unserved = await failureOf(
    cf.dns.records.create({ zone_id, name: 'x', type: 'MX', content: 'mail.records.com', priority: 10, ttl: 1 }),
  );
  expect(unserved.errors[0]?.message).toMatch(/^type: /);
  const twin = await failureOf(cf.dns.records.create({ zone_id, name: 'api', type: 'A', content: '127.0.0.11', ttl: 1 }));
  expect(twin.errors[0]?.code).toBe(81057);
});

test('auth and routes: no token or a wrong one is refused in the envelope; unknown routes too', async () => {
  const wrong = await failureOf(cloudflareClient(t.cloud, 'not-the-token').zones.list());
  expect(wrong).toEqual({ status: 401, errors: [{ code: 10000, message: 'Authentication error' }] });
  const noToken = await fetch(`${t.cloud.apiUrl}/client/v4/zones`);
  expect(noToken.status).toBe(401);
  expect(await noToken.json()).toEqual({
    success: false,
    errors: [{ code: 10000, message: 'Authentication error' }],
    messages: [],
    result: null,
  });
  const raw = await fetch(`${t.cloud.apiUrl}/client/v4/nothing/here`, { headers: { authorization: `Bearer ${t.cloud.token}` } });
  expect(raw.status).toBe(404);
  expect(await raw.json()).toEqual({
    success: false,
    errors: [{ code: 7000, message: expect.stringMatching(/^No route for that URI/) }],
    messages: [],
    result: null,
  });
  const ok = await fetch(`${t.cloud.apiUrl}/client/v4/accounts`, { headers: { authorization: `Bearer ${t.cloud.token}` } });
  expect(await ok.json()).toMatchObject({ success: true, errors: [], messages: [], result_info: { page: 1, count: 1, total_count: 1 } });
});

test('faults reach the Cloudflare API in its envelope: an outage, and a response lost after the work was done', async () => {
  const { cf, cloud, accountId } = t;
  const setFaults = (rules: unknown[]) =>
    fetch(`${cloud.apiUrl}/_localcloud/faults`, {
      method: 'PUT',
      headers: { ...cloud.controlHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ rules }),
    });
  try {
    expect((await setFaults([{ path: '/client/v4/zones', errorRate: 1, statuses: [503] }])).status).toBe(200);
    const outage = await failureOf(cf.zones.list());
    expect(outage).toEqual({ status: 503, errors: [{ code: 10001, message: 'Service is temporarily unavailable.' }] });
    await setFaults([{ method: 'POST', path: '/client/v4/zones', errorRate: 1, statuses: [500], loseResponse: true }]);
    const lost = await failureOf(cf.zones.create({ account: { id: accountId }, name: 'lost.com' }));
    expect(lost.status).toBe(500);
    expect(lost.errors[0]?.code).toBe(10001);
  } finally {
    await setFaults([]);
  }
  // The work was done all the same.
  expect((await cf.zones.list({ name: 'lost.com' })).result).toHaveLength(1);
});

test("the account's rate limit holds for Cloudflare's API too, refused in its envelope", async () => {
  const { cloud } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 3, perHour: 100 } });
  try {
    const cf = cloudflareClient(cloud);
    for (let i = 0; i < 3; i++) await cf.zones.list();
    expect(await failureOf(cf.zones.list())).toEqual({ status: 429, errors: [{ code: 971, message: 'API Rate limit exceeded.' }] });
  } finally {
    await cloud.stop();
  }
});
