// Requests as DigitalOcean's Terraform provider (its Go client, godo) sends them, and what it reads
// back, as plain HTTP: each test is one place the local cloud was stricter or different than
// DigitalOcean, found by applying, planning and destroying with the provider (test/terraform/).
// Every request and response is checked against DigitalOcean's published spec as well.
import type { LocalCloud } from '../src';
import type { ContractClient } from '../../../test/helpers/do-api';
import { startLocalCloud, waitForAction } from '../../../test/helpers/localcloud';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cloud: LocalCloud;
let api: ContractClient;
beforeAll(async () => {
  ({ cloud, api } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
});
afterAll(async () => {
  await cloud?.stop();
});
afterEach(() => {
  expect(api.violations).toEqual([]);
});

/**
 * A request exactly as the provider sends it, around the contract-checking client: for bodies the
 * published spec is stricter about than DigitalOcean itself.
 */
async function sendAsProvider(method: string, path: string, body: unknown): Promise<{ status: number; body: Body }> {
  const response = await fetch(new URL(path, cloud.apiUrl), {
    method,
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

async function activeDroplet(name: string): Promise<Body> {
  const created = await api.call<Body>('POST', '/v2/droplets', { name, region: 'fra1', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' });
  expect(created.status).toBe(202);
  expect(await waitForAction(api, created.body.links.actions[0].id)).toBe('completed');
  return (await api.call<Body>('GET', `/v2/droplets/${created.body.droplet.id}`)).body.droplet;
}

test('a firewall create with "droplet_ids": null, "tags": null and no outbound rules is accepted, as DigitalOcean does', async () => {
  // godo marshals an empty Go slice as null: a firewall that names no droplets (or no tags) sends these.
  const created = await api.call<Body>('POST', '/v2/firewalls', {
    name: 'tf-null-lists',
    inbound_rules: [{ protocol: 'tcp', ports: '443', sources: { addresses: ['0.0.0.0/0'] } }],
    outbound_rules: null,
    droplet_ids: null,
    tags: null,
  });
  expect(created.status).toBe(202);
  expect(created.body.firewall).toMatchObject({ droplet_ids: [], tags: [], outbound_rules: [] });
  const droplet = await activeDroplet('tf-fw-null');
  const updated = await api.call<Body>('PUT', `/v2/firewalls/${created.body.firewall.id}`, {
    name: 'tf-null-lists',
    inbound_rules: null,
    outbound_rules: [{ protocol: 'tcp', ports: 'all', destinations: { addresses: ['0.0.0.0/0'] } }],
    droplet_ids: [droplet.id],
    tags: null,
  });
  expect(updated.status).toBe(200);
  expect(updated.body.firewall).toMatchObject({ droplet_ids: [droplet.id], inbound_rules: [] });
  // A list that is not a list is still refused, naming the field.
  const wrong = await api.call<Body>('POST', '/v2/firewalls', { name: 'tf-wrong', droplet_ids: 'all' });
  expect(wrong.status).toBe(422);
  expect(wrong.body.message).toMatch(/droplet_ids/);
});

test('a tag reports resources.images (the key clients read), not only the spec schema misspelling', async () => {
  // The provider's tag read dereferences resources.images: without it, it crashed on every tag.
  const created = await api.call<Body>('POST', '/v2/tags', { name: 'tf-images' });
  expect(created.status).toBe(201);
  expect(created.body.tag.resources.images).toEqual({ count: 0 });
  const read = await api.call<Body>('GET', '/v2/tags/tf-images');
  expect(read.body.tag.resources).toMatchObject({ count: 0, images: { count: 0 }, volumes: { count: 0 }, databases: { count: 0 } });
  expect((await api.call('DELETE', '/v2/tags/tf-images')).status).toBe(204);
});

test("a droplet snapshot's created_at is its action's started_at, both in whole seconds as DigitalOcean writes them", async () => {
  // The provider finds the snapshot it made by parsing created_at as "2006-01-02T15:04:05Z" (no
  // fractions) and comparing it with the action's started_at: with milliseconds it never matched.
  const droplet = await activeDroplet('tf-snap');
  const started = await api.call<Body>('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'snapshot', name: 'tf-snap-1' });
  expect(started.status).toBe(201);
  const action = started.body.action;
  expect(action.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(await waitForAction(api, action.id)).toBe('completed');
  const finished = (await api.call<Body>('GET', `/v2/actions/${action.id}`)).body.action;
  expect(finished.completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const snapshots = (await api.call<Body>('GET', `/v2/droplets/${droplet.id}/snapshots?per_page=200`)).body.snapshots;
  const matching = snapshots.filter((s: Body) => s.created_at === action.started_at);
  expect(matching.map((s: Body) => s.name)).toEqual(['tf-snap-1']);
  expect((await api.call<Body>('GET', `/v2/snapshots/${matching[0].id}`)).body.snapshot).toMatchObject({
    name: 'tf-snap-1',
    resource_id: String(droplet.id),
    created_at: action.started_at,
  });
});

test("a domain record PUT without type keeps the record's type, as DigitalOcean does; PATCH still needs it", async () => {
  expect((await api.call('POST', '/v2/domains', { name: 'tf-records.example.com' })).status).toBe(201);
  const created = await api.call<Body>('POST', '/v2/domains/tf-records.example.com/records', {
    type: 'A',
    name: 'www',
    data: '127.200.0.9',
    ttl: 300,
  });
  expect(created.status).toBe(201);
  const path = `/v2/domains/tf-records.example.com/records/${created.body.domain_record.id}`;
  // Byte for byte what the provider's update sends (godo's DomainRecordEditRequest: type omitted,
  // priority, port, weight and flags always present). The published spec marks type required;
  // DigitalOcean itself takes it.
  const put = await sendAsProvider('PUT', path, '{"name":"www","data":"127.200.0.9","priority":0,"port":0,"ttl":600,"weight":0,"flags":0}');
  expect(put.status).toBe(200);
  expect(put.body.domain_record).toMatchObject({ type: 'A', name: 'www', data: '127.200.0.9', ttl: 600 });
  expect((await api.call<Body>('GET', path)).body.domain_record).toMatchObject({ type: 'A', ttl: 600 });
  // The record's own type still rules its data, and a PATCH without type is still refused.
  const wrongData = await sendAsProvider('PUT', path, { name: 'www', data: 'not-an-address', ttl: 600 });
  expect(wrongData.status).toBe(422);
  expect((await api.call<Body>('GET', path)).body.domain_record).toMatchObject({ type: 'A', data: '127.200.0.9', ttl: 600 });
  expect((await api.call('PATCH', path, { ttl: 900 })).status).toBe(422);
  expect((await api.call('DELETE', '/v2/domains/tf-records.example.com')).status).toBe(204);
});

test('a volume created with "filesystem_type": "" is an unformatted volume, as DigitalOcean takes it', async () => {
  // godo's VolumeCreateRequest has no omitempty: every create carries these empty strings and a null tag list.
  const created = await api.call<Body>('POST', '/v2/volumes', {
    region: 'fra1',
    name: 'tf-raw',
    description: '',
    size_gigabytes: 5,
    snapshot_id: '',
    filesystem_type: '',
    filesystem_label: '',
    tags: null,
  });
  expect(created.status).toBe(201);
  expect(created.body.volume).toMatchObject({ name: 'tf-raw', filesystem_type: '', tags: [] });
  expect(
    (await api.call('POST', '/v2/volumes', { region: 'fra1', name: 'tf-bad-fs', size_gigabytes: 5, filesystem_type: 'ntfs' })).status,
  ).toBe(422);
  expect((await api.call('DELETE', `/v2/volumes/${created.body.volume.id}`)).status).toBe(204);
});

test('host names in MX and CNAME data are kept without their trailing dot, as DigitalOcean keeps them', async () => {
  // The provider writes "mail.example.com." and adds a dot to what it reads back: kept with the dot,
  // it read "mail.example.com.." and planned a change on every run.
  expect((await api.call('POST', '/v2/domains', { name: 'tf-mx.example.com' })).status).toBe(201);
  const records = '/v2/domains/tf-mx.example.com/records';
  const mx = await api.call<Body>('POST', records, { type: 'MX', name: '@', data: 'mail.tf-mx.example.com.', priority: 10 });
  expect(mx.status).toBe(201);
  expect(mx.body.domain_record).toMatchObject({ type: 'MX', data: 'mail.tf-mx.example.com', priority: 10 });
  const cname = await api.call<Body>('POST', records, { type: 'CNAME', name: 'app', data: 'www.tf-mx.example.com.' });
  expect(cname.body.domain_record.data).toBe('www.tf-mx.example.com');
  // "@" and text records are data as written.
  expect((await api.call<Body>('POST', records, { type: 'CNAME', name: 'www', data: '@' })).body.domain_record.data).toBe('@');
  expect((await api.call<Body>('POST', records, { type: 'TXT', name: '@', data: 'ends with a dot.' })).body.domain_record.data).toBe(
    'ends with a dot.',
  );
  const updated = await api.call<Body>('PUT', `${records}/${mx.body.domain_record.id}`, { type: 'MX', data: 'mx2.tf-mx.example.com.' });
  expect(updated.body.domain_record.data).toBe('mx2.tf-mx.example.com');
  expect((await api.call('DELETE', '/v2/domains/tf-mx.example.com')).status).toBe(204);
});

test('a droplet created with "ssh_keys": null and "tags": null is created without keys or tags, as DigitalOcean does', async () => {
  // godo's DropletCreateRequest sends both lists as null when a droplet has none (the spec wants an
  // array for ssh_keys; DigitalOcean takes null, or no droplet without keys could be made by Terraform).
  const created = await sendAsProvider('POST', '/v2/droplets', {
    name: 'tf-bare',
    region: 'fra1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    ssh_keys: null,
    backups: false,
    ipv6: false,
    private_networking: false,
    monitoring: false,
    tags: null,
  });
  expect(created.status).toBe(202);
  expect(created.body.droplet).toMatchObject({ name: 'tf-bare', tags: [] });
  expect(
    (
      await api.call('POST', '/v2/droplets', {
        name: 'tf-bad',
        region: 'fra1',
        size: 's-1vcpu-1gb',
        image: 'ubuntu-22-04-x64',
        ssh_keys: 'all',
      })
    ).status,
  ).toBe(422);
  expect(await waitForAction(api, created.body.links.actions[0].id)).toBe('completed');
  expect((await api.call('DELETE', `/v2/droplets/${created.body.droplet.id}`)).status).toBe(204);
});
