// digitalocean-js, unchanged but for a current axios, driving the local cloud through the
// project's client module: every service opsflow uses, its traps handled, and every request it
// sends and response it gets checked against DigitalOcean's published spec.
import { instance as sharedAxios } from 'digitalocean-js/src/lib/axios-instance';
import { DigitalOceanClient } from '../../src/integrations/digitalocean/client';
import { DigitalOceanApiError } from '../../src/integrations/digitalocean/errors';
import type { LocalCloud } from '@opsflow/localcloud';
import { requestViolations, responseViolations } from '../helpers/contract';
import { startLocalCloud } from '../helpers/localcloud';
import { generateEd25519 } from '../helpers/ssh-keys';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cloud: LocalCloud;
let client: DigitalOceanClient;
const violations: string[] = [];

// Check the library's traffic against the spec as it passes.
sharedAxios.interceptors.response.use((response) => {
  const url = new URL(response.config.url ?? '', response.config.baseURL + '/');
  const path = new URL(`${response.config.baseURL}${response.config.url}`).pathname || url.pathname;
  const sent = typeof response.config.data === 'string' ? JSON.parse(response.config.data) : response.config.data;
  violations.push(...requestViolations(response.config.method?.toUpperCase() ?? 'GET', path, sent));
  violations.push(
    ...responseViolations(
      response.config.method?.toUpperCase() ?? 'GET',
      path,
      response.status,
      response.status === 204 ? undefined : response.data,
    ),
  );
  return response;
});

beforeAll(async () => {
  ({ cloud } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
});
afterAll(async () => {
  await cloud?.stop();
});

async function untilActionDone(actionId: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const action = await client.call('get action', (lib) => lib.actions.getExistingAction(actionId));
    if (action.status !== 'in-progress') return action.status;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`action ${actionId} never finished`);
}

test('droplets, keys, actions and snapshots through digitalocean-js', async () => {
  const key = await client.call('add key', (lib) => lib.ssh.createNewKey({ name: 'deploy', public_key: generateEd25519().public }));
  const droplet = await client.call('create droplet', (lib) =>
    lib.droplets.createNewDroplet({
      name: 'app-1',
      region: 'fra1',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-22-04-x64',
      ssh_keys: [key.fingerprint],
      tags: ['stack-a'],
    } as never),
  );
  expect(droplet.status).toBe('new');
  const [create] = await client.call('droplet actions', (lib) => lib.droplets.getDropletActions(droplet.id));
  expect(await untilActionDone((create as Body).id)).toBe('completed');
  const active = await client.call('get droplet', (lib) => lib.droplets.getExistingDroplet(droplet.id));
  expect(active.status).toBe('active');

  const off = await client.call('power off', (lib) => lib.dropletActions.powerOffDroplet(droplet.id));
  expect(await untilActionDone(off.id)).toBe('completed');
  const snap = await client.call('snapshot', (lib) => lib.dropletActions.snapshotDroplet(droplet.id, 'app-1-before'));
  expect(await untilActionDone(snap.id)).toBe('completed');
  const snapshots = await client.call('list snapshots', (lib) => lib.snapshots.getSnapshots());
  expect(snapshots.map((s: Body) => s.name)).toEqual(['app-1-before']);
  const on = await client.call('power on', (lib) => lib.dropletActions.powerOnDroplet(droplet.id));
  expect(await untilActionDone(on.id)).toBe('completed');
  expect((await client.call('all actions', (lib) => lib.actions.getAllActions())).length).toBeGreaterThanOrEqual(4);
  await client.call('delete snapshot', (lib) => lib.snapshots.deleteSnapshot(String(snapshots[0]?.id)));
});

test('volumes with attach, firewalls, floating IPs, load balancers, tags and domain records', async () => {
  const droplets = await client.call('droplets by tag', (lib) => lib.droplets.getDropletsByTag('stack-a'));
  const dropletId = (droplets[0] as Body).id as number;

  const volume = await client.call('create volume', (lib) =>
    lib.blockStorage.createBlockStorage({ name: 'pgdata', region: 'fra1', size_gigabytes: 20 } as never),
  );
  const attach = await client.call('attach volume', (lib) =>
    lib.blockStorageActions.attachVolumeToDroplet(volume.id, { type: 'attach', droplet_id: dropletId, region: 'fra1' } as never),
  );
  expect(await untilActionDone(attach.id)).toBe('completed');
  expect((await client.call('get volume', (lib) => lib.blockStorage.getBlockStorageById(volume.id))).droplet_ids).toEqual([dropletId]);

  const anywhere = { addresses: ['0.0.0.0/0'] };
  const firewall = await client.call('create firewall', (lib) =>
    lib.firewalls.createFirewall({
      name: 'stack-a',
      inbound_rules: [{ protocol: 'tcp', ports: '22', sources: anywhere }],
      outbound_rules: [{ protocol: 'tcp', ports: 'all', destinations: anywhere }],
      droplet_ids: [dropletId],
    } as never),
  );
  expect((await client.call('get firewall', (lib) => lib.firewalls.getExistingFirewall(firewall.id as string))).droplet_ids).toEqual([
    dropletId,
  ]);

  const ip = await client.call('floating ip', (lib) => lib.floatingIPs.createFloatingIPForRegion('fra1'));
  const assign = await client.call('assign ip', (lib) => lib.floatingIPActions.assignFloatingIPToDroplet(ip.ip, dropletId as never));
  expect(await untilActionDone(assign.id)).toBe('completed');
  expect((await client.call('get ip', (lib) => lib.floatingIPs.getExistingFloatingIP(ip.ip))).droplet?.id).toBe(dropletId);

  const lb = await client.call('create lb', (lib) =>
    lib.loadBalancers.createLoadBalancer({
      name: 'front',
      region: 'fra1',
      forwarding_rules: [{ entry_protocol: 'http', entry_port: 80, target_protocol: 'http', target_port: 3000 }],
      droplet_ids: [dropletId],
    } as never),
  );
  expect((await client.call('list lbs', (lib) => lib.loadBalancers.getAllLoadBalancers())).map((l: Body) => l.id)).toEqual([lb.id]);

  await client.call('create tag', (lib) => lib.tags.createTag('env-prod'));
  await client.call('tag droplet', (lib) => lib.tags.tagResources('env-prod', [String(dropletId)]));
  expect((await client.call('get tag', (lib) => lib.tags.getTagByName('env-prod'))).resources?.droplets?.count).toBe(1);

  await client.call('create domain', (lib) => lib.domains.createDomain({ name: 'opsflow-test.com', ip_address: ip.ip } as never));
  const record = await client.call('create record', (lib) =>
    lib.domainRecords.createDomainRecord('opsflow-test.com', { type: 'A', name: 'www', data: ip.ip, ttl: 300 } as never),
  );
  expect(
    (await client.call('list records', (lib) => lib.domainRecords.getAllDomainRecords('opsflow-test.com'))).map((r: Body) => r.id),
  ).toContain(record.id);

  // Tear down in reverse; the local cloud must then hold nothing but the droplet.
  await client.call('delete record', (lib) => lib.domainRecords.deleteDomainRecord('opsflow-test.com', record.id));
  await client.call('delete domain', (lib) => lib.domains.deleteDomain('opsflow-test.com'));
  await client.call('delete tag', (lib) => lib.tags.deleteTag('env-prod'));
  await client.call('delete lb', (lib) => lib.loadBalancers.deleteLoadBalancer(lb.id));
  const unassign = await client.call('unassign ip', (lib) => lib.floatingIPActions.unassignFloatingIP(ip.ip));
  await untilActionDone(unassign.id);
  await client.call('delete ip', (lib) => lib.floatingIPs.deleteFloatingIP(ip.ip));
  await client.call('delete firewall', (lib) => lib.firewalls.deleteFirewall(firewall.id as string));
  const detach = await client.call('detach', (lib) =>
    lib.blockStorageActions.detachVolumeFromDroplet(volume.id, { type: 'detach', droplet_id: dropletId, region: 'fra1' } as never),
  );
  await untilActionDone(detach.id);
  await client.call('delete volume', (lib) => lib.blockStorage.deleteBlockStorageById(volume.id));
  const inventory = (await (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: cloud.controlHeaders })).json()) as Body;
  expect([inventory.volumes, inventory.firewalls, inventory.reserved_ips, inventory.load_balancers, inventory.domains]).toEqual([
    [],
    [],
    [],
    [],
    [],
  ]);
});

test('endpoints the library lacks (VPCs, reserved IPs, volume snapshots) through request()', async () => {
  const vpc = (await client.request<Body>('POST', '/vpcs', { body: { name: 'net', region: 'lon1', ip_range: '10.30.0.0/16' } })).vpc;
  expect((await client.request<Body>('GET', `/vpcs/${vpc.id}`)).vpc.ip_range).toBe('10.30.0.0/16');
  const reserved = (await client.request<Body>('POST', '/reserved_ips', { body: { region: 'lon1' } })).reserved_ip;
  expect((await client.listAll<Body>('/reserved_ips', 'reserved_ips')).map((r) => r.ip)).toContain(reserved.ip);
  await client.request('DELETE', `/reserved_ips/${reserved.ip}`);
  await client.request('DELETE', `/vpcs/${vpc.id}`);
});

test('lists: the library stops at the first page, listAll reads every page', async () => {
  await client.call('many droplets', (lib) =>
    lib.droplets.createMultipleDroplets({
      names: Array.from({ length: 10 }, (_, i) => `page-${i}`),
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-22-04-x64',
      tags: ['paged'],
    } as never),
  );
  await client.call('more droplets', (lib) =>
    lib.droplets.createMultipleDroplets({
      names: Array.from({ length: 10 }, (_, i) => `page-${10 + i}`),
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-22-04-x64',
      tags: ['paged'],
    } as never),
  );
  const total = 21; // 20 here plus app-1 from the first test
  expect((await client.call('library list', (lib) => lib.droplets.getAllDroplets())).length).toBe(20);
  expect((await client.listAll<Body>('/droplets', 'droplets', {}, 4)).length).toBe(total);
  expect((await client.listAll<Body>('/droplets', 'droplets', { tag_name: 'paged' })).length).toBe(20);
  await client.call('delete by tag', (lib) => lib.droplets.deleteDropletsByTag('paged'));
});

test('two accounts at once never borrow each other’s token or URL', async () => {
  const other = await startLocalCloud();
  try {
    const second = new DigitalOceanClient({ token: other.cloud.token, apiUrl: other.cloud.apiUrl });
    const [mine, theirs] = await Promise.all([
      client.call('list', (lib) => lib.droplets.getAllDroplets()),
      second.call('list', (lib) => lib.droplets.getAllDroplets()),
    ]);
    expect(mine.length).toBeGreaterThan(0);
    expect(theirs).toEqual([]);
    expect(second.requests).toBe(1);
  } finally {
    await other.cloud.stop();
  }
});

test('failures are classified: refused token, rate limit with its delay, server error, timeout', async () => {
  const wrong = new DigitalOceanClient({ token: 'dop_v1_wrong', apiUrl: cloud.apiUrl });
  await expect(wrong.call('account', (lib) => lib.account.getUserInformation())).rejects.toMatchObject({
    kind: 'authentication',
    status: 401,
    retryable: false,
  });

  const limited = await startLocalCloud({ rateLimit: { perMinute: 2, perHour: 100 } });
  try {
    const c = new DigitalOceanClient({ token: limited.cloud.token, apiUrl: limited.cloud.apiUrl });
    await c.call('a', (lib) => lib.account.getUserInformation());
    expect(c.rateLimit).toMatchObject({ limit: 100, remaining: 1 });
    await c.call('b', (lib) => lib.account.getUserInformation());
    const err = (await c.call('c', (lib) => lib.account.getUserInformation()).catch((e: unknown) => e)) as DigitalOceanApiError;
    expect(err).toBeInstanceOf(DigitalOceanApiError);
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryable: true });
    expect(err.retryAfterMs).toBeGreaterThan(50_000);
  } finally {
    await limited.cloud.stop();
  }

  const faulty = await startLocalCloud();
  try {
    const put = (body: unknown) =>
      fetch(`${faulty.cloud.apiUrl}/_localcloud/faults`, {
        method: 'PUT',
        headers: { ...faulty.cloud.controlHeaders, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    await put({ rules: [{ path: '/v2/account', errorRate: 1, statuses: [503] }] });
    const c = new DigitalOceanClient({ token: faulty.cloud.token, apiUrl: faulty.cloud.apiUrl, timeoutMs: 300 });
    await expect(c.call('account', (lib) => lib.account.getUserInformation())).rejects.toMatchObject({
      kind: 'server',
      status: 503,
      retryable: true,
    });
    await put({ rules: [{ path: '/v2/account', latencyMs: 2000 }] });
    await expect(c.call('account', (lib) => lib.account.getUserInformation())).rejects.toMatchObject({ kind: 'network', retryable: true });
    await expect(
      c.call('invalid', (lib) =>
        lib.droplets.createNewDroplet({ name: 'x', region: 'fra1', size: 'nope', image: 'ubuntu-22-04-x64' } as never),
      ),
    ).rejects.toMatchObject({ kind: 'validation', status: 422, retryable: false });
  } finally {
    await faulty.cloud.stop();
  }
});

test('with a budget, calls beyond it wait their turn instead of being refused, and a 429 holds every call until its Retry-After', async () => {
  const paced = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  try {
    // 6 calls at once on a budget of 4 in any 2 s: 4 go now, 2 wait for the window, none is refused.
    const c = new DigitalOceanClient({
      token: paced.cloud.token,
      apiUrl: paced.cloud.apiUrl,
      requestBudget: { perWindow: 4, windowMs: 2000 },
    });
    const started = Date.now();
    const calls = Array.from({ length: 6 }, () => c.request('GET', '/account'));
    await new Promise((r) => setTimeout(r, 500));
    expect([c.requests, c.queuedRequests]).toEqual([4, 2]);
    await Promise.all(calls);
    const accountCalls = paced.cloud.requestLog.list(0).requests.filter((r) => r.url === '/v2/account');
    expect(accountCalls.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(Date.parse(accountCalls[4]!.at) - started).toBeGreaterThanOrEqual(1999);

    // A 429 from the API (another process spends the same account): the next calls wait it out.
    const shared = new DigitalOceanClient({ token: paced.cloud.token, apiUrl: paced.cloud.apiUrl, requestBudget: { perWindow: 250 } });
    paced.cloud.ctx.faults.set({ rules: [{ path: '/v2/regions', errorRate: 1, statuses: [429] }] });
    const refusedAt = Date.now();
    await expect(shared.request('GET', '/regions')).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: 1000 });
    paced.cloud.ctx.faults.set({});
    const since = paced.cloud.requestLog.total;
    await Promise.all([shared.request('GET', '/sizes'), shared.request('GET', '/sizes')]);
    const sent = paced.cloud.requestLog.list(since).requests.map((r) => Date.parse(r.at));
    expect(sent).toHaveLength(2);
    // Retry-After is 1 s; the log's clock has millisecond resolution.
    for (const at of sent) expect(at - refusedAt).toBeGreaterThanOrEqual(999);
  } finally {
    await paced.cloud.stop();
  }
});

test('what is safe to resend is resent: a GET after a 5xx, any request after a short 429; a POST after a 5xx is not', async () => {
  const flaky = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  try {
    const c = new DigitalOceanClient({ token: flaky.cloud.token, apiUrl: flaky.cloud.apiUrl });
    const log = (path: string) =>
      flaky.cloud.requestLog
        .list(0)
        .requests.filter((r) => r.url.startsWith(path))
        .map((r) => `${r.method} ${r.status}`);
    /** Faults on `path` until the first one has been answered, then none. */
    const failOnce = async (rule: Record<string, unknown>, path: string, call: () => Promise<unknown>) => {
      flaky.cloud.ctx.faults.set({ rules: [{ path, errorRate: 1, ...rule }] });
      const result = call().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      while (log(path).length === 0) await new Promise((r) => setTimeout(r, 5));
      flaky.cloud.ctx.faults.set({});
      return result;
    };

    expect(await failOnce({ statuses: [503] }, '/v2/regions', () => c.request('GET', '/regions'))).toEqual({
      value: expect.objectContaining({ regions: expect.any(Array) }),
    });
    expect(log('/v2/regions')).toEqual(['GET 503', 'GET 200']);

    expect(
      await failOnce({ statuses: [429] }, '/v2/tags', () => c.request('POST', '/tags', { body: { name: 'resent-after-429' } })),
    ).toEqual({ value: expect.objectContaining({ tag: expect.objectContaining({ name: 'resent-after-429' }) }) });
    expect(log('/v2/tags')).toEqual(['POST 429', 'POST 201']);

    const failed = await failOnce({ statuses: [503], method: 'POST' }, '/v2/vpcs', () =>
      c.request('POST', '/vpcs', { body: { name: 'not-resent', region: 'fra1' } }),
    );
    expect(failed).toEqual({ error: expect.objectContaining({ kind: 'server', status: 503 }) });
    expect(log('/v2/vpcs')).toEqual(['POST 503']);
  } finally {
    await flaky.cloud.stop();
  }
});

test('everything digitalocean-js sent and received matched the published spec', () => {
  expect(violations).toEqual([]);
});
