// The local cloud's Linode API v4, driven through Linode's official client (@linode/api-v4):
// catalog, instances and their asynchronous boots, firewalls and devices, volumes, NodeBalancers,
// tags, Linode's pages, its error shape naming the field, and 401. API only (no SSH hosts here;
// ssh-host.test.ts boots a real one).
import {
  addFirewallDevice,
  attachVolume,
  baseRequest,
  createFirewall,
  createLinode,
  createNodeBalancer,
  createTag,
  createVolume,
  deleteFirewall,
  deleteFirewallDevice,
  deleteLinode,
  deleteNodeBalancer,
  deleteTag,
  deleteVolume,
  detachVolume,
  getFirewall,
  getFirewallDevices,
  getFirewalls,
  getImages,
  getLinode,
  getLinodes,
  getLinodeTypes,
  getNodeBalancer,
  getNodeBalancerConfigNodes,
  getNodeBalancerConfigs,
  getNodeBalancers,
  getRegions,
  getTags,
  getVolume,
  getVolumes,
  linodeBoot,
  linodeReboot,
  linodeShutdown,
} from '@linode/api-v4';
import type { LocalCloud } from '../../src';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';
import { refusal, startLinodeCloud, untilStatus } from './linode-cloud';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLinodeCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } });
});
afterAll(async () => {
  await cloud?.stop();
});

const ROOT_PASS = 'a-Long-r00t-pass!word';
const instance = (label: string, extra: Record<string, unknown> = {}) =>
  createLinode({ label, region: 'gb-lon', type: 'g6-nanode-1', image: 'linode/debian12', root_pass: ROOT_PASS, ...extra });

test('regions, types and images are Linode pages', async () => {
  const regions = await getRegions();
  expect(regions).toMatchObject({ page: 1, pages: 1, results: regions.data.length });
  expect(regions.data.map((r) => r.id)).toEqual(expect.arrayContaining(['gb-lon', 'de-fra-2', 'us-east']));
  expect((await getLinodeTypes()).data.find((t) => t.id === 'g6-nanode-1')).toMatchObject({ vcpus: 1, memory: 1024 });
  expect((await getImages()).data.map((i) => i.id)).toContain('linode/debian12');
});

test('an instance provisions, boots and runs asynchronously; shuts down, boots, reboots; is deleted', async () => {
  const created = await instance('web-lon-1', { private_ip: true, tags: ['site-lon'], authorized_keys: [generateEd25519().public] });
  expect(created.status).toBe('provisioning');
  // A public address and a private one (192.168.128.0/17), from the start.
  expect(created.ipv4).toHaveLength(2);
  expect(created.ipv4[1]).toMatch(/^192\.168\.(1[2-9]\d|2[0-5]\d)\.\d+$/);
  expect(created).toMatchObject({ region: 'gb-lon', type: 'g6-nanode-1', image: 'linode/debian12', tags: ['site-lon'] });
  const seen = new Set<string>();
  for (;;) {
    const { status } = await getLinode(created.id);
    seen.add(status);
    if (status === 'running') break;
    expect(['provisioning', 'booting']).toContain(status);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(seen.has('running')).toBe(true);

  // X-Filter by tag finds it; another tag does not.
  expect((await getLinodes({}, { tags: 'site-lon' })).data.map((l) => l.id)).toEqual([created.id]);
  expect((await getLinodes({}, { tags: 'site-fra' })).results).toBe(0);

  await linodeShutdown(created.id);
  expect(['shutting_down', 'offline']).toContain((await getLinode(created.id)).status);
  await untilStatus(created.id, 'offline');
  await linodeBoot(created.id);
  await untilStatus(created.id, 'running');
  await linodeReboot(created.id);
  await untilStatus(created.id, 'running');

  expect(await deleteLinode(created.id)).toEqual({});
  const gone = refusal(await getLinode(created.id).catch((e: unknown) => e));
  expect(gone).toMatchObject({ status: 404, body: { errors: [{ reason: 'Not found' }] } });
});

test('pages: page and page_size over more than one page, and a page_size out of range named', async () => {
  // Counted from what the account holds already (other tests' tags), so this test stands alone.
  const before = (await getTags()).results;
  for (let i = 0; i < 30; i++) await createTag({ label: `page-tag-${String(i).padStart(2, '0')}` });
  const results = before + 30;
  const pages = Math.ceil(results / 25);
  const first = await getTags({ page: 1, page_size: 25 });
  expect(first).toMatchObject({ page: 1, pages, results });
  expect(first.data).toHaveLength(25);
  const second = await getTags({ page: 2, page_size: 25 });
  expect(second).toMatchObject({ page: 2, pages, results });
  expect(second.data).toHaveLength(Math.min(25, results - 25));
  // Over every page, every tag once.
  const all = [...first.data, ...second.data];
  for (let page = 3; page <= pages; page++) all.push(...(await getTags({ page, page_size: 25 })).data);
  expect(all).toHaveLength(results);
  expect(all.filter((t) => t.label.startsWith('page-tag-'))).toHaveLength(30);
  const tooSmall = refusal(await getTags({ page_size: 5 }).catch((e: unknown) => e));
  expect(tooSmall).toMatchObject({ status: 400, body: { errors: [{ field: 'page_size' }] } });
  for (let i = 0; i < 30; i++) await deleteTag(`page-tag-${String(i).padStart(2, '0')}`);
  expect((await getTags()).results).toBe(before);
});

test('a bad request is refused in Linode’s shape, naming each field, as Linode’s own schemas say', async () => {
  const bad = { region: 'gb-lon', type: 'g6-nanode-1', label: 'x' };
  // Sent raw (the client would refuse it before sending): the local cloud refuses it itself.
  const sent = refusal(await baseRequest.post('https://api.linode.com/v4/linode/instances', bad).catch((e: unknown) => e));
  expect(sent.status).toBe(400);
  const errors = (sent.body as { errors: { field?: string; reason: string }[] }).errors;
  expect(errors).toEqual([{ field: 'label', reason: expect.stringContaining('3 and 64') }]);
  // The client's own check of the same body names the same field with the same words.
  expect(await createLinode(bad).catch((e: unknown) => e)).toEqual(errors);
  // A value the schema takes but the cloud does not know: named too.
  const unknownType = refusal(
    await baseRequest
      .post('https://api.linode.com/v4/linode/instances', { ...bad, label: 'fine-label', type: 'g9-huge' })
      .catch((e: unknown) => e),
  );
  expect(unknownType).toMatchObject({ status: 400, body: { errors: [{ field: 'type' }] } });
  expect((await getLinodes({}, { label: 'fine-label' })).results).toBe(0);
});

test('no token: 401 in Linode’s shape', async () => {
  const response = await fetch(`${cloud.apiUrl}/v4/linode/instances`);
  expect(response.status).toBe(401);
  expect(await response.json()).toEqual({ errors: [{ reason: 'Invalid Token' }] });
  const wrong = await fetch(`${cloud.apiUrl}/v4beta/regions`, { headers: { Authorization: 'Bearer not-the-token' } });
  expect(wrong.status).toBe(401);
});

test('firewalls: created with a device, listed, devices added and removed, deleted', async () => {
  const web = await instance('fw-web-1');
  const nb = await createNodeBalancer({ region: 'gb-lon', label: 'fw-nb-1', configs: [] });
  const firewall = await createFirewall({
    label: 'site-lon-fw',
    rules: {
      inbound_policy: 'DROP',
      outbound_policy: 'ACCEPT',
      inbound: [{ protocol: 'TCP', ports: '22, 80', action: 'ACCEPT', addresses: { ipv4: ['0.0.0.0/0'] } }],
    },
    devices: { linodes: [web.id] },
    tags: ['site-lon'],
  });
  expect(firewall).toMatchObject({
    label: 'site-lon-fw',
    status: 'enabled',
    entities: [{ id: web.id, type: 'linode', label: 'fw-web-1' }],
  });
  expect(firewall.rules.inbound).toEqual([{ protocol: 'TCP', ports: '22, 80', action: 'ACCEPT', addresses: { ipv4: ['0.0.0.0/0'] } }]);
  expect((await getFirewalls({}, { label: 'site-lon-fw' })).data.map((f) => f.id)).toEqual([firewall.id]);

  const device = await addFirewallDevice(firewall.id, { type: 'nodebalancer', id: nb.id });
  expect(device.entity).toMatchObject({ id: nb.id, type: 'nodebalancer' });
  expect((await getFirewallDevices(firewall.id)).results).toBe(2);
  // One firewall per device: a second firewall cannot take the instance.
  const taken = refusal(
    await createFirewall({
      label: 'second-fw',
      rules: { inbound_policy: 'DROP', outbound_policy: 'ACCEPT' },
      devices: { linodes: [web.id] },
    }).catch((e: unknown) => e),
  );
  expect(taken).toMatchObject({ status: 400, body: { errors: [{ field: 'devices.linodes' }] } });
  // A bad device type, refused by Linode's device schema.
  const badDevice = refusal(
    await baseRequest
      .post(`https://api.linode.com/v4/networking/firewalls/${firewall.id}/devices`, { type: 'toaster', id: 1 })
      .catch((e: unknown) => e),
  );
  expect(badDevice).toMatchObject({ status: 400, body: { errors: [{ field: 'type' }] } });

  await deleteFirewallDevice(firewall.id, device.id);
  expect((await getFirewall(firewall.id)).entities.map((e) => e.type)).toEqual(['linode']);
  // Deleting the instance takes it off the firewall.
  await deleteLinode(web.id);
  expect((await getFirewall(firewall.id)).entities).toEqual([]);
  await deleteFirewall(firewall.id);
  expect((await getFirewalls({}, { label: 'site-lon-fw' })).results).toBe(0);
  await deleteNodeBalancer(nb.id);
});

test('volumes: created, attached, refused deletion while attached, detached, deleted', async () => {
  const db = await instance('vol-db-1');
  const volume = await createVolume({ label: 'mysql-data', size: 40, region: 'gb-lon', tags: ['site-lon'] });
  expect(volume).toMatchObject({
    size: 40,
    region: 'gb-lon',
    linode_id: null,
    filesystem_path: '/dev/disk/by-id/scsi-0Linode_Volume_mysql-data',
  });
  expect(await attachVolume(volume.id, { linode_id: db.id })).toMatchObject({ linode_id: db.id, linode_label: 'vol-db-1' });
  expect((await getVolume(volume.id)).linode_id).toBe(db.id);
  const attached = refusal(await deleteVolume(volume.id).catch((e: unknown) => e));
  expect(attached).toMatchObject({ status: 400, body: { errors: [{ reason: expect.stringContaining('detached') }] } });
  // Another region's instance cannot take it.
  const fra = await createLinode({ label: 'vol-fra-1', region: 'de-fra-2', type: 'g6-nanode-1' });
  await detachVolume(volume.id);
  const elsewhere = refusal(await attachVolume(volume.id, { linode_id: fra.id }).catch((e: unknown) => e));
  expect(elsewhere).toMatchObject({ status: 400, body: { errors: [{ field: 'linode_id' }] } });
  expect((await getVolume(volume.id)).linode_id).toBeNull();
  await deleteVolume(volume.id);
  expect((await getVolumes({}, { label: 'mysql-data' })).results).toBe(0);
  await deleteLinode(db.id);
  await deleteLinode(fra.id);
});

test('NodeBalancers: created with configs and nodes on private addresses, read back, deleted', async () => {
  const apps = [await instance('nb-app-1', { private_ip: true }), await instance('nb-app-2', { private_ip: true })];
  const privateOf = (ipv4: string[]) => ipv4.find((ip) => ip.startsWith('192.168.')) as string;
  // The client's form shape: address and port apart; it joins them to "address:port" on the wire.
  const nb = await createNodeBalancer({
    region: 'gb-lon',
    label: 'site-lon-lb',
    tags: ['site-lon'],
    configs: [
      {
        port: 80,
        protocol: 'http',
        algorithm: 'roundrobin',
        check: 'http',
        check_path: '/health',
        nodes: apps.map((a, i) => ({ label: `app-${i + 1}`, address: privateOf(a.ipv4), port: 8080, weight: 50 })),
      },
    ] as never,
  });
  expect(nb).toMatchObject({ label: 'site-lon-lb', region: 'gb-lon', tags: ['site-lon'] });
  expect(nb.ipv4).toMatch(/^127\.\d+\.\d+\.\d+$/);
  expect((await getNodeBalancers({}, { label: 'site-lon-lb' })).data.map((n) => n.id)).toEqual([nb.id]);
  expect((await getNodeBalancer(nb.id)).hostname).toContain('nodebalancer');
  const configs = await getNodeBalancerConfigs(nb.id);
  expect(configs.data).toHaveLength(1);
  expect(configs.data[0]).toMatchObject({ port: 80, protocol: 'http', check: 'http', check_path: '/health' });
  const nodes = await getNodeBalancerConfigNodes(nb.id, (configs.data[0] as { id: number }).id);
  expect(nodes.data.map((n) => [n.label, n.address, n.weight])).toEqual(
    apps.map((a, i) => [`app-${i + 1}`, `${privateOf(a.ipv4)}:8080`, 50]),
  );
  // A node on a public address is refused by Linode's schema, naming the node's field.
  const publicNode = refusal(
    await baseRequest
      .post('https://api.linode.com/v4/nodebalancers', {
        region: 'gb-lon',
        configs: [{ port: 80, nodes: [{ label: 'pub-node', address: '8.8.8.8:80' }] }],
      })
      .catch((e: unknown) => e),
  );
  expect(publicNode).toMatchObject({ status: 400, body: { errors: [{ field: 'configs[0].nodes[0].address' }] } });
  await deleteNodeBalancer(nb.id);
  expect((await getNodeBalancers({}, { label: 'site-lon-lb' })).results).toBe(0);
  for (const a of apps) await deleteLinode(a.id);
});

test('tags: created on resources, listed, deleted from everything', async () => {
  const app = await instance('tag-app-1');
  const volume = await createVolume({ label: 'tag-vol', size: 10, region: 'gb-lon' });
  // The client's TagRequest types only linodes; the API takes volumes and NodeBalancers too.
  const tagged = await baseRequest.post('https://api.linode.com/v4/tags', { label: 'env-prod', linodes: [app.id], volumes: [volume.id] });
  expect(tagged.data).toEqual({ label: 'env-prod' });
  expect((await getLinode(app.id)).tags).toContain('env-prod');
  expect((await getTags()).data).toContainEqual({ label: 'env-prod' });
  const onTag = await baseRequest.get('https://api.linode.com/v4/tags/env-prod');
  expect((onTag.data as { data: { type: string }[] }).data.map((t) => t.type).sort()).toEqual(['linode', 'volume']);
  const short = refusal(await createTag({ label: 'x' }).catch((e: unknown) => e));
  expect(short).toMatchObject({ status: 400, body: { errors: [{ field: 'label' }] } });
  await deleteTag('env-prod');
  expect((await getLinode(app.id)).tags).not.toContain('env-prod');
  expect((await getVolume(volume.id)).tags).not.toContain('env-prod');
  await deleteVolume(volume.id);
  await deleteLinode(app.id);
});

async function setFaults(faults: unknown): Promise<void> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/faults`, {
    method: 'PUT',
    headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(response.status).toBe(200);
}

test('faults answer in Linode’s shape: a 503 storm, a lost response whose work was done, a dark region', async () => {
  try {
    await setFaults({ rules: [{ path: '/v4beta/regions', errorRate: 1, statuses: [503] }] });
    const storm = refusal(await getRegions().catch((e: unknown) => e));
    expect(storm).toMatchObject({ status: 503, body: { errors: [{ reason: expect.any(String) }] } });

    await setFaults({ rules: [{ method: 'POST', path: '/v4/tags', errorRate: 1, statuses: [500], loseResponse: true }] });
    const lost = refusal(await createTag({ label: 'lost-answer' }).catch((e: unknown) => e));
    expect(lost.status).toBe(500);
    expect(Object.keys(lost.body as object)).toEqual(['errors']);
    await setFaults({});
    expect((await getTags()).data).toContainEqual({ label: 'lost-answer' });
    await deleteTag('lost-answer');

    await setFaults({ darkRegions: ['de-fra-2'] });
    const dark = refusal(await createLinode({ label: 'dark-fra-1', region: 'de-fra-2', type: 'g6-nanode-1' }).catch((e: unknown) => e));
    expect(dark).toMatchObject({ status: 503, body: { errors: [{ reason: expect.stringContaining('de-fra-2') }] } });
  } finally {
    await setFaults({});
  }
  expect((await getLinodes({}, { label: 'dark-fra-1' })).results).toBe(0);
});
