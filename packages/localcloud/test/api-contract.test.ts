// The local cloud's DigitalOcean API, driven through every implemented operation with success and
// error responses, each checked against DigitalOcean's published OpenAPI spec.
import type { LocalCloud } from '../src';
import type { ContractClient } from '../../../test/helpers/do-api';
import { startLocalCloud, waitForAction } from '../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../test/helpers/ssh-keys';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cloud: LocalCloud;
let api: ContractClient;
beforeAll(async () => {
  // This suite polls actions hard; the rate limit itself is tested in api-behaviour.test.ts.
  ({ cloud, api } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
});
afterAll(async () => {
  await cloud?.stop();
});

const publicKey = () => generateEd25519().public;

/** Actions of these types stay in progress until set again without them (a local cloud fault). */
async function holdActions(types: string[]): Promise<void> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/faults`, {
    method: 'PUT',
    headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: JSON.stringify({ holdActions: types }),
  });
  expect(response.status).toBe(200);
}

/** Polls until `read` gives `want` (returned), or gives up after a generous minute. */
async function waitFor<T>(read: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (value === want || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('account, catalogue and authentication', async () => {
  expect((await api.call('GET', '/v2/account', undefined, 'wrong-token')).status).toBe(401);
  const account = await api.call<Body>('GET', '/v2/account');
  expect(account.status).toBe(200);
  expect(account.body.account.status).toBe('active');
  expect(account.headers.get('ratelimit-limit')).toBe('100000');
  expect(Number(account.headers.get('ratelimit-remaining'))).toBeGreaterThan(0);
  expect(Number(account.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
  expect((await api.call<Body>('GET', '/v2/regions?per_page=200')).body.regions.map((r: Body) => r.slug)).toEqual(
    expect.arrayContaining(['fra1', 'lon1', 'nyc3']),
  );
  expect((await api.call<Body>('GET', '/v2/sizes')).body.sizes.map((s: Body) => s.slug)).toContain('s-1vcpu-1gb');
  expect((await api.call<Body>('GET', '/v2/images?type=distribution')).body.images.map((i: Body) => i.slug)).toContain('ubuntu-22-04-x64');
  expect((await api.call<Body>('GET', '/v2/images/ubuntu-22-04-x64')).body.image.distribution).toBe('Ubuntu');
  expect((await api.call('GET', '/v2/images/999')).status).toBe(404);
});

test('SSH keys: add, find by id and fingerprint, rename, refuse duplicates and junk, delete', async () => {
  const created = await api.call<Body>('POST', '/v2/account/keys', { name: 'deploy', public_key: publicKey() });
  expect(created.status).toBe(201);
  const key = created.body.ssh_key;
  expect(key.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
  expect((await api.call('POST', '/v2/account/keys', { name: 'again', public_key: key.public_key })).status).toBe(422);
  expect((await api.call<Body>('POST', '/v2/account/keys', { name: 'junk', public_key: 'ssh-rsa nonsense' })).body.message).toContain(
    'not a valid SSH public key',
  );
  expect((await api.call<Body>('GET', `/v2/account/keys/${key.fingerprint}`)).body.ssh_key.id).toBe(key.id);
  expect((await api.call<Body>('PUT', `/v2/account/keys/${key.id}`, { name: 'renamed' })).body.ssh_key.name).toBe('renamed');
  expect((await api.call<Body>('GET', '/v2/account/keys')).body.meta.total).toBe(1);
  expect((await api.call('DELETE', `/v2/account/keys/${key.id}`)).status).toBe(204);
  expect((await api.call('GET', `/v2/account/keys/${key.id}`)).status).toBe(404);
});

test('VPCs: create, refuse bad and overlapping ranges, members, delete', async () => {
  const vpc = (await api.call<Body>('POST', '/v2/vpcs', { name: 'stack-a', region: 'fra1', ip_range: '10.10.0.0/16' })).body.vpc;
  expect(vpc.ip_range).toBe('10.10.0.0/16');
  expect((await api.call<Body>('POST', '/v2/vpcs', { name: 'clash', region: 'fra1', ip_range: '10.10.128.0/20' })).body.message).toContain(
    'overlaps VPC stack-a',
  );
  expect((await api.call<Body>('POST', '/v2/vpcs', { name: 'bad', region: 'fra1', ip_range: '10.10.0.1/16' })).body.message).toContain(
    'not a valid IPv4 CIDR',
  );
  expect((await api.call<Body>('POST', '/v2/vpcs', { name: 'public', region: 'fra1', ip_range: '8.8.0.0/16' })).status).toBe(422);
  expect((await api.call<Body>('PATCH', `/v2/vpcs/${vpc.id}`, { description: 'stack A' })).body.vpc.description).toBe('stack A');
  expect((await api.call<Body>('GET', `/v2/vpcs/${vpc.id}/members`)).body.members).toEqual([]);
  expect((await api.call<Body>('GET', '/v2/vpcs')).body.vpcs.length).toBeGreaterThanOrEqual(1);
  expect((await api.call('DELETE', `/v2/vpcs/${vpc.id}`)).status).toBe(204);
  expect((await api.call('GET', `/v2/vpcs/${vpc.id}`)).status).toBe(404);
});

test('droplets: create, become active with addresses, list by tag and name, page, act, lock, delete', async () => {
  const key = (await api.call<Body>('POST', '/v2/account/keys', { name: 'ops', public_key: publicKey() })).body.ssh_key;
  const vpc = (await api.call<Body>('POST', '/v2/vpcs', { name: 'app-net', region: 'lon1', ip_range: '10.20.0.0/16' })).body.vpc;
  const created = await api.call<Body>('POST', '/v2/droplets', {
    name: 'web-1',
    region: 'lon1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    ssh_keys: [key.fingerprint],
    tags: ['env:test', 'web'],
    vpc_uuid: vpc.id,
  });
  expect(created.status).toBe(202);
  expect(created.body.droplet.status).toBe('new');
  const id = created.body.droplet.id;
  expect(await waitForAction(api, created.body.links.actions[0].id)).toBe('completed');
  const droplet = (await api.call<Body>('GET', `/v2/droplets/${id}`)).body.droplet;
  expect(droplet.status).toBe('active');
  const v4 = droplet.networks.v4 as Body[];
  expect(v4.find((n) => n.type === 'public')?.ip_address).toMatch(/^127\./);
  expect(v4.find((n) => n.type === 'private')?.ip_address).toMatch(/^10\.20\./);
  expect((await api.call<Body>('GET', `/v2/vpcs/${vpc.id}/members`)).body.members[0].name).toBe('web-1');

  const many = await api.call<Body>('POST', '/v2/droplets', {
    names: ['worker-1', 'worker-2', 'worker-3'],
    region: 'lon1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: ['env:test', 'worker'],
  });
  expect(many.status).toBe(202);
  expect(many.body.droplets).toHaveLength(3);
  await Promise.all(many.body.links.actions.map((a: Body) => waitForAction(api, a.id)));
  expect((await api.call<Body>('GET', '/v2/droplets?tag_name=worker')).body.droplets.map((d: Body) => d.name)).toEqual([
    'worker-1',
    'worker-2',
    'worker-3',
  ]);
  expect((await api.call<Body>('GET', '/v2/droplets?name=web-1')).body.droplets.map((d: Body) => d.id)).toEqual([id]);
  const page = await api.call<Body>('GET', '/v2/droplets?tag_name=env:test&per_page=2');
  expect(page.body.meta.total).toBe(4);
  expect(page.body.droplets).toHaveLength(2);
  expect(page.body.links.pages.next).toContain('page=2');
  const page2 = await api.call<Body>('GET', new URL(page.body.links.pages.next).pathname + new URL(page.body.links.pages.next).search);
  expect(page2.body.droplets).toHaveLength(2);
  expect(page2.body.links.pages.prev).toContain('page=1');
  expect((await api.call('GET', '/v2/droplets?per_page=500')).status).toBe(400);

  expect(
    (await api.call<Body>('POST', '/v2/droplets', { name: 'x', region: 'lon1', size: 'huge', image: 'ubuntu-22-04-x64' })).body.message,
  ).toContain('invalid size');
  expect(
    (await api.call<Body>('POST', '/v2/droplets', { name: 'bad name!', region: 'lon1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' }))
      .body.message,
  ).toContain('not a valid hostname');
  expect(
    (await api.call<Body>('POST', '/v2/droplets', { name: 'x', region: 'mars1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })).status,
  ).toBe(422);

  // The power-off is held open until the lock has been seen, however slowly this machine runs.
  await holdActions(['power_off']);
  const off = await api.call<Body>('POST', `/v2/droplets/${id}/actions`, { type: 'power_off' });
  expect(off.status).toBe(201);
  const locked = await api.call<Body>('POST', `/v2/droplets/${id}/actions`, { type: 'reboot' });
  expect(locked.status).toBe(422);
  expect(locked.body.message).toBe('Droplet already has a pending event.');
  expect((await api.call<Body>('GET', `/v2/droplets/${id}`)).body.droplet.locked).toBe(true);
  await holdActions([]);
  expect(await waitForAction(api, off.body.action.id)).toBe('completed');
  expect((await api.call<Body>('GET', `/v2/droplets/${id}`)).body.droplet.locked).toBe(false);
  expect((await api.call<Body>('GET', `/v2/droplets/${id}`)).body.droplet.status).toBe('off');
  const resize = await api.call<Body>('POST', `/v2/droplets/${id}/actions`, { type: 'resize', size: 's-2vcpu-2gb' });
  await waitForAction(api, resize.body.action.id);
  const snapshot = await api.call<Body>('POST', `/v2/droplets/${id}/actions`, { type: 'snapshot', name: 'web-1-before' });
  await waitForAction(api, snapshot.body.action.id);
  const on = await api.call<Body>('POST', `/v2/droplets/${id}/actions`, { type: 'power_on' });
  await waitForAction(api, on.body.action.id);
  const rename = await api.call<Body>('POST', `/v2/droplets/${id}/actions`, { type: 'rename', name: 'web-01' });
  await waitForAction(api, rename.body.action.id);
  const after = (await api.call<Body>('GET', `/v2/droplets/${id}`)).body.droplet;
  expect([after.name, after.status, after.size_slug, after.snapshot_ids.length]).toEqual(['web-01', 'active', 's-2vcpu-2gb', 1]);
  expect((await api.call<Body>('GET', `/v2/droplets/${id}/snapshots`)).body.snapshots[0].name).toBe('web-1-before');
  expect((await api.call<Body>('GET', `/v2/droplets/${id}/actions`)).body.actions.map((a: Body) => a.type)).toEqual([
    'rename',
    'power_on',
    'snapshot',
    'resize',
    'power_off',
    'create',
  ]);
  expect((await api.call<Body>('GET', `/v2/droplets/${id}/actions/${off.body.action.id}`)).body.action.type).toBe('power_off');
  expect((await api.call<Body>('GET', '/v2/snapshots?resource_type=droplet')).body.snapshots).toHaveLength(1);
  expect((await api.call('POST', `/v2/droplets/${id}/actions`, { type: 'explode' })).status).toBe(422);
  const bulk = await api.call<Body>('POST', '/v2/droplets/actions?tag_name=worker', { type: 'reboot' });
  expect(bulk.body.actions).toHaveLength(3);
  await Promise.all(bulk.body.actions.map((a: Body) => waitForAction(api, a.id)));
  expect((await api.call<Body>('GET', '/v2/actions?per_page=3')).body.actions).toHaveLength(3);

  expect((await api.call('DELETE', '/v2/droplets?tag_name=worker')).status).toBe(204);
  expect((await api.call<Body>('GET', '/v2/droplets?tag_name=worker')).body.droplets).toEqual([]);
  expect((await api.call('DELETE', `/v2/droplets/${id}`)).status).toBe(204);
  expect((await api.call<Body>('GET', `/v2/droplets/${id}`)).body).toMatchObject({ id: 'not_found', request_id: expect.any(String) });
  const snapshotId = after.snapshot_ids[0];
  expect((await api.call('DELETE', `/v2/snapshots/${snapshotId}`)).status).toBe(204);
});

test('the droplet limit is enforced with the real 422', async () => {
  const names = Array.from({ length: 10 }, (_, i) => `fill-${i}`);
  const made: number[] = [];
  for (let round = 0; round < 2; round++) {
    const r = await api.call<Body>('POST', '/v2/droplets', {
      names,
      region: 'nyc3',
      size: 's-1vcpu-512mb-10gb',
      image: 'debian-12-x64',
      tags: ['limit'],
    });
    made.push(...r.body.droplets.map((d: Body) => d.id));
  }
  const over = await api.call<Body>('POST', '/v2/droplets', { names, region: 'nyc3', size: 's-1vcpu-512mb-10gb', image: 'debian-12-x64' });
  expect(over.status).toBe(422);
  expect(over.body.message).toContain('exceed your droplet limit of 25');
  await api.call('DELETE', '/v2/droplets?tag_name=limit');
});

test('volumes: create, attach, detach, resize, snapshot, refuse conflicts, delete by id and name', async () => {
  const droplet = (
    await api.call<Body>('POST', '/v2/droplets', { name: 'db-1', region: 'fra1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })
  ).body;
  await waitForAction(api, droplet.links.actions[0].id);
  const dropletId = droplet.droplet.id;
  const volume = (
    await api.call<Body>('POST', '/v2/volumes', {
      name: 'pgdata',
      region: 'fra1',
      size_gigabytes: 20,
      filesystem_type: 'ext4',
      tags: ['db'],
    })
  ).body.volume;
  expect(volume.size_gigabytes).toBe(20);
  expect((await api.call('POST', '/v2/volumes', { name: 'pgdata', region: 'fra1', size_gigabytes: 20 })).status).toBe(409);
  expect((await api.call<Body>('POST', '/v2/volumes', { name: 'PGDATA', region: 'fra1', size_gigabytes: 20 })).body.message).toContain(
    'must start with a lowercase letter',
  );
  expect((await api.call('POST', '/v2/volumes', { name: 'nosize', region: 'fra1' })).status).toBe(422);

  const attach = await api.call<Body>('POST', `/v2/volumes/${volume.id}/actions`, {
    type: 'attach',
    droplet_id: dropletId,
    region: 'fra1',
  });
  expect(attach.status).toBe(202);
  expect(await waitForAction(api, attach.body.action.id)).toBe('completed');
  expect((await api.call<Body>('GET', `/v2/volumes/${volume.id}`)).body.volume.droplet_ids).toEqual([dropletId]);
  expect((await api.call<Body>('GET', `/v2/droplets/${dropletId}`)).body.droplet.volume_ids).toEqual([volume.id]);
  expect((await api.call('DELETE', `/v2/volumes/${volume.id}`)).status).toBe(409);

  const detach = await api.call<Body>('POST', '/v2/volumes/actions', {
    type: 'detach',
    volume_name: 'pgdata',
    region: 'fra1',
    droplet_id: dropletId,
  });
  await waitForAction(api, detach.body.action.id);
  const resize = await api.call<Body>('POST', `/v2/volumes/${volume.id}/actions`, { type: 'resize', size_gigabytes: 40, region: 'fra1' });
  await waitForAction(api, resize.body.action.id);
  expect((await api.call<Body>('GET', `/v2/volumes/${volume.id}`)).body.volume).toMatchObject({ droplet_ids: [], size_gigabytes: 40 });
  expect((await api.call<Body>('GET', `/v2/volumes/${volume.id}/actions`)).body.actions.map((a: Body) => a.type)).toEqual([
    'attach_volume',
    'detach_volume',
    'resize_volume',
  ]);
  const snap = (await api.call<Body>('POST', `/v2/volumes/${volume.id}/snapshots`, { name: 'pgdata-nightly', tags: ['db'] })).body.snapshot;
  expect((await api.call<Body>('GET', `/v2/volumes/${volume.id}/snapshots`)).body.snapshots.map((s: Body) => s.id)).toEqual([snap.id]);
  expect((await api.call<Body>('GET', `/v2/volumes/snapshots/${snap.id}`)).body.snapshot.resource_type).toBe('volume');
  expect((await api.call('DELETE', `/v2/volumes/snapshots/${snap.id}`)).status).toBe(204);
  expect((await api.call<Body>('GET', '/v2/volumes?name=pgdata&region=fra1')).body.volumes).toHaveLength(1);
  expect((await api.call('DELETE', '/v2/volumes?name=pgdata&region=fra1')).status).toBe(204);
  expect((await api.call('GET', `/v2/volumes/${volume.id}`)).status).toBe(404);
  await api.call('DELETE', `/v2/droplets/${dropletId}`);
});

test('firewalls: create with rules, add and remove droplets, tags and rules, update, refuse bad ports, delete', async () => {
  const droplet = (
    await api.call<Body>('POST', '/v2/droplets', { name: 'fw-target', region: 'fra1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })
  ).body.droplet;
  const anywhere = { addresses: ['0.0.0.0/0', '::/0'] };
  const inbound = [
    { protocol: 'tcp', ports: '22', sources: anywhere },
    { protocol: 'tcp', ports: '3000', sources: anywhere },
    { protocol: 'tcp', ports: '8081-8084', sources: anywhere },
  ];
  const created = await api.call<Body>('POST', '/v2/firewalls', {
    name: 'stack-a',
    inbound_rules: inbound,
    outbound_rules: [{ protocol: 'tcp', ports: 'all', destinations: anywhere }],
  });
  expect(created.status).toBe(202);
  const fw = created.body.firewall;
  expect(fw.inbound_rules.map((r: Body) => r.ports)).toEqual(['22', '3000', '8081-8084']);
  expect(
    (
      await api.call<Body>('POST', '/v2/firewalls', {
        name: 'bad',
        inbound_rules: [{ protocol: 'tcp', ports: '70000', sources: anywhere }],
      })
    ).body.message,
  ).toContain('inbound_rules[0].ports');
  expect((await api.call('POST', `/v2/firewalls/${fw.id}/droplets`, { droplet_ids: [droplet.id] })).status).toBe(204);
  expect((await api.call('POST', `/v2/firewalls/${fw.id}/tags`, { tags: ['web'] })).status).toBe(204);
  expect(
    (
      await api.call('POST', `/v2/firewalls/${fw.id}/rules`, {
        inbound_rules: [{ protocol: 'tcp', ports: '5432', sources: { addresses: ['10.10.0.0/16'] } }],
      })
    ).status,
  ).toBe(204);
  let current = (await api.call<Body>('GET', `/v2/firewalls/${fw.id}`)).body.firewall;
  expect([current.droplet_ids, current.tags, current.inbound_rules.length]).toEqual([[droplet.id], ['web'], 4]);
  expect((await api.call<Body>('GET', `/v2/droplets/${droplet.id}/firewalls`)).body.firewalls.map((f: Body) => f.id)).toEqual([fw.id]);
  await api.call('DELETE', `/v2/firewalls/${fw.id}/rules`, {
    inbound_rules: [{ protocol: 'tcp', ports: '5432', sources: { addresses: ['10.10.0.0/16'] } }],
  });
  await api.call('DELETE', `/v2/firewalls/${fw.id}/droplets`, { droplet_ids: [droplet.id] });
  await api.call('DELETE', `/v2/firewalls/${fw.id}/tags`, { tags: ['web'] });
  current = (await api.call<Body>('GET', `/v2/firewalls/${fw.id}`)).body.firewall;
  expect([current.droplet_ids, current.tags, current.inbound_rules.length]).toEqual([[], [], 3]);
  const updated = await api.call<Body>('PUT', `/v2/firewalls/${fw.id}`, { name: 'stack-a-v2', inbound_rules: inbound.slice(0, 1) });
  expect(updated.body.firewall.name).toBe('stack-a-v2');
  expect((await api.call<Body>('GET', '/v2/firewalls')).body.firewalls).toHaveLength(1);
  expect((await api.call('DELETE', `/v2/firewalls/${fw.id}`)).status).toBe(204);
  expect((await api.call('GET', `/v2/firewalls/${fw.id}`)).status).toBe(404);
  await api.call('DELETE', `/v2/droplets/${droplet.id}`);
});

test('reserved IPs and floating IPs: create, assign, unassign, delete', async () => {
  const created = (
    await api.call<Body>('POST', '/v2/droplets', { name: 'ip-target', region: 'ams3', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })
  ).body;
  await waitForAction(api, created.links.actions[0].id);
  const dropletId = created.droplet.id;
  const reserved = await api.call<Body>('POST', '/v2/reserved_ips', { region: 'ams3' });
  expect(reserved.status).toBe(202);
  const ip = reserved.body.reserved_ip.ip;
  await holdActions(['assign_ip']);
  const assign = await api.call<Body>('POST', `/v2/reserved_ips/${ip}/actions`, { type: 'assign', droplet_id: dropletId });
  expect(assign.status).toBe(201);
  expect((await api.call('POST', `/v2/reserved_ips/${ip}/actions`, { type: 'unassign' })).status).toBe(422);
  await holdActions([]);
  await waitForAction(api, assign.body.action.id);
  expect((await api.call<Body>('GET', `/v2/reserved_ips/${ip}`)).body.reserved_ip.droplet.id).toBe(dropletId);
  expect((await api.call<Body>('GET', `/v2/reserved_ips/${ip}/actions`)).body.actions.map((a: Body) => a.type)).toEqual(['assign_ip']);
  expect((await api.call<Body>('GET', `/v2/reserved_ips/${ip}/actions/${assign.body.action.id}`)).body.action.status).toBe('completed');
  const unassign = await api.call<Body>('POST', `/v2/reserved_ips/${ip}/actions`, { type: 'unassign' });
  await waitForAction(api, unassign.body.action.id);
  expect((await api.call<Body>('GET', `/v2/reserved_ips/${ip}`)).body.reserved_ip.droplet).toBeNull();
  expect((await api.call('DELETE', `/v2/reserved_ips/${ip}`)).status).toBe(204);

  const floating = await api.call<Body>('POST', '/v2/floating_ips', { droplet_id: dropletId });
  expect(floating.status).toBe(202);
  const fip = floating.body.floating_ip.ip;
  await waitForAction(api, floating.body.links.actions[0].id);
  expect((await api.call<Body>('GET', `/v2/floating_ips/${fip}`)).body.floating_ip.droplet.id).toBe(dropletId);
  expect((await api.call<Body>('GET', '/v2/floating_ips')).body.floating_ips).toHaveLength(1);
  const fUnassign = await api.call<Body>('POST', `/v2/floating_ips/${fip}/actions`, { type: 'unassign' });
  await waitForAction(api, fUnassign.body.action.id);
  expect((await api.call<Body>('GET', `/v2/floating_ips/${fip}/actions`)).body.actions).toHaveLength(2);
  expect((await api.call('DELETE', `/v2/floating_ips/${fip}`)).status).toBe(204);
  expect((await api.call('GET', `/v2/floating_ips/${fip}`)).status).toBe(404);
  await api.call('DELETE', `/v2/droplets/${dropletId}`);
});

test('tags: create, tag and untag resources, counts, delete', async () => {
  const droplet = (
    await api.call<Body>('POST', '/v2/droplets', { name: 'tagged', region: 'sfo3', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' })
  ).body.droplet;
  expect((await api.call<Body>('POST', '/v2/tags', { name: 'env:prod' })).status).toBe(201);
  expect((await api.call('POST', '/v2/tags', { name: 'bad tag' })).status).toBe(422);
  expect(
    (await api.call('POST', '/v2/tags/env:prod/resources', { resources: [{ resource_id: String(droplet.id), resource_type: 'droplet' }] }))
      .status,
  ).toBe(204);
  expect((await api.call<Body>('GET', '/v2/tags/env:prod')).body.tag.resources.droplets.count).toBe(1);
  expect((await api.call<Body>('GET', '/v2/tags')).body.tags.map((t: Body) => t.name)).toContain('env:prod');
  expect(
    (
      await api.call('DELETE', '/v2/tags/env:prod/resources', {
        resources: [{ resource_id: String(droplet.id), resource_type: 'droplet' }],
      })
    ).status,
  ).toBe(204);
  expect((await api.call<Body>('GET', `/v2/droplets/${droplet.id}`)).body.droplet.tags).toEqual([]);
  expect((await api.call('DELETE', '/v2/tags/env:prod')).status).toBe(204);
  expect((await api.call('GET', '/v2/tags/env:prod')).status).toBe(404);
  await api.call('DELETE', `/v2/droplets/${droplet.id}`);
});

test('load balancers: create, become active, add and remove droplets and rules, update, delete', async () => {
  const droplet = (
    await api.call<Body>('POST', '/v2/droplets', {
      name: 'lb-backend',
      region: 'fra1',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-22-04-x64',
      tags: ['backend'],
    })
  ).body.droplet;
  const rules = [{ entry_protocol: 'http', entry_port: 80, target_protocol: 'http', target_port: 3000 }];
  const created = await api.call<Body>('POST', '/v2/load_balancers', {
    name: 'front',
    region: 'fra1',
    forwarding_rules: rules,
    droplet_ids: [droplet.id],
  });
  expect(created.status).toBe(202);
  const lb = created.body.load_balancer;
  expect(lb.status).toBe('new');
  expect(
    (
      await api.call<Body>('POST', '/v2/load_balancers', {
        name: 'bad',
        region: 'fra1',
        forwarding_rules: [{ entry_protocol: 'gopher', entry_port: 80, target_protocol: 'http', target_port: 80 }],
      })
    ).body.message,
  ).toContain('entry_protocol');
  // Provisioning ends on its own: wait for it by polling, as a client would, not for a set time.
  expect(await waitFor(async () => (await api.call<Body>('GET', `/v2/load_balancers/${lb.id}`)).body.load_balancer.status, 'active')).toBe(
    'active',
  );
  expect((await api.call('DELETE', `/v2/load_balancers/${lb.id}/droplets`, { droplet_ids: [droplet.id] })).status).toBe(204);
  expect((await api.call('POST', `/v2/load_balancers/${lb.id}/droplets`, { droplet_ids: [droplet.id] })).status).toBe(204);
  expect(
    (
      await api.call('POST', `/v2/load_balancers/${lb.id}/forwarding_rules`, {
        forwarding_rules: [{ entry_protocol: 'tcp', entry_port: 5432, target_protocol: 'tcp', target_port: 5432 }],
      })
    ).status,
  ).toBe(204);
  expect((await api.call<Body>('GET', `/v2/load_balancers/${lb.id}`)).body.load_balancer.forwarding_rules).toHaveLength(2);
  expect(
    (
      await api.call('DELETE', `/v2/load_balancers/${lb.id}/forwarding_rules`, {
        forwarding_rules: [{ entry_protocol: 'tcp', entry_port: 5432, target_protocol: 'tcp', target_port: 5432 }],
      })
    ).status,
  ).toBe(204);
  const updated = await api.call<Body>('PUT', `/v2/load_balancers/${lb.id}`, {
    name: 'front-2',
    region: 'fra1',
    forwarding_rules: rules,
    tag: 'backend',
  });
  expect(updated.body.load_balancer).toMatchObject({ name: 'front-2', tag: 'backend', droplet_ids: [droplet.id] });
  expect((await api.call<Body>('GET', '/v2/load_balancers')).body.load_balancers).toHaveLength(1);
  expect((await api.call('DELETE', `/v2/load_balancers/${lb.id}`)).status).toBe(204);
  expect((await api.call('GET', `/v2/load_balancers/${lb.id}`)).status).toBe(404);
  await api.call('DELETE', `/v2/droplets/${droplet.id}`);
});

test('domains and records: create, filter, update, delete', async () => {
  const created = await api.call<Body>('POST', '/v2/domains', { name: 'opsflow-example.com', ip_address: '127.200.0.9' });
  expect(created.status).toBe(201);
  expect((await api.call('POST', '/v2/domains', { name: 'not a domain' })).status).toBe(422);
  const record = await api.call<Body>('POST', '/v2/domains/opsflow-example.com/records', {
    type: 'A',
    name: 'www',
    data: '127.200.0.10',
    ttl: 300,
  });
  expect(record.status).toBe(201);
  const id = record.body.domain_record.id;
  expect((await api.call('POST', '/v2/domains/opsflow-example.com/records', { type: 'A', name: 'bad', data: 'nope' })).status).toBe(422);
  expect(
    (await api.call<Body>('GET', '/v2/domains/opsflow-example.com/records?type=A&name=www.opsflow-example.com')).body.domain_records.map(
      (r: Body) => r.id,
    ),
  ).toEqual([id]);
  expect(
    (await api.call<Body>('PATCH', `/v2/domains/opsflow-example.com/records/${id}`, { type: 'A', data: '127.200.0.11' })).body.domain_record
      .data,
  ).toBe('127.200.0.11');
  expect((await api.call('PATCH', `/v2/domains/opsflow-example.com/records/${id}`, { data: '127.200.0.12' })).status).toBe(422);
  const put = await api.call<Body>('PUT', `/v2/domains/opsflow-example.com/records/${id}`, { type: 'CNAME', name: 'www', data: '@' });
  expect(put.body).toMatchObject({ domain_record: { type: 'CNAME' } });
  expect((await api.call<Body>('GET', `/v2/domains/opsflow-example.com/records/${id}`)).body.domain_record.data).toBe('@');
  expect((await api.call<Body>('GET', '/v2/domains/opsflow-example.com')).body.domain.zone_file).toContain('www 300 IN CNAME @');
  expect((await api.call<Body>('GET', '/v2/domains')).body.domains).toHaveLength(1);
  expect((await api.call('DELETE', `/v2/domains/opsflow-example.com/records/${id}`)).status).toBe(204);
  expect((await api.call('DELETE', '/v2/domains/opsflow-example.com')).status).toBe(204);
  expect((await api.call('GET', '/v2/domains/opsflow-example.com')).status).toBe(404);
});

test('every response above matched the published spec', () => {
  expect(api.violations).toEqual([]);
  // What was exercised, for the record: operations with the statuses seen.
  expect(api.seen.size).toBeGreaterThan(60);
});

test('the contract check does catch a response that breaks the spec', async () => {
  const { responseViolations } = await import('../../../test/helpers/contract');
  expect(responseViolations('GET', '/v2/droplets/1', 200, { droplet: { id: 'not-a-number' } }).length).toBeGreaterThan(0);
  expect(responseViolations('GET', '/v2/droplets/1', 404, { message: 'no id' })).not.toEqual([]);
});
