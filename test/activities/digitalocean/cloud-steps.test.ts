// DigitalOcean's provider activities against the local cloud, in a real activity context: creates find their
// own resources instead of duplicating them (even when a response was lost), deletes are
// idempotent, and failures leave as classified ApplicationFailures.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DigitalOceanClient } from '../../../src/integrations/digitalocean/client';
import { createDigitalOceanActivities, type DigitalOceanActivities } from '../../../src/activities/digitalocean/provider';
import type { Owner } from '../../../src/names/ownership-tags';
import { resourcesToLegacy } from '../../../src/providers/legacy-activity-names';
import type { LocalCloud } from '@opsflow/localcloud';
import { startLocalCloud } from '../../helpers/localcloud';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cloud: LocalCloud;
let activities: DigitalOceanActivities;
const owner: Owner = { workflowId: 'provision-stack-a-1', environment: 'stack-a' };

beforeAll(async () => {
  ({ cloud } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  activities = createDigitalOceanActivities({ digitalOcean: () => client, pollMs: { first: 50, max: 200 } });
});
afterAll(async () => {
  await cloud?.stop();
});

/** Runs one activity in a real activity context (heartbeats, cancellation), outside a worker. */
function run<K extends keyof DigitalOceanActivities>(
  name: K,
  ...args: Parameters<DigitalOceanActivities[K]>
): ReturnType<DigitalOceanActivities[K]> {
  const activity = activities[name] as (...a: unknown[]) => Promise<never>;
  return new MockActivityEnvironment().run(activity, ...(args as unknown[])) as ReturnType<DigitalOceanActivities[K]>;
}

async function control(path: string, method = 'GET', body?: unknown): Promise<Body> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/${path}`, {
    method,
    headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as Body;
}

test('every create is idempotent: running the whole sequence twice yields the same resources', async () => {
  const sequence = async () => {
    const vpc = await run('ensureNetwork', { owner, name: 'stack-a-vpc', region: 'fra1', ipRange: '10.10.0.0/16' });
    const firewall = await run('ensureFirewall', {
      owner,
      name: 'stack-a-fw',
      inbound: [{ protocol: 'tcp', ports: '22', sources: ['0.0.0.0/0'] }],
    });
    const droplets = await run('ensureServers', {
      owner,
      names: ['stack-a-app'],
      region: 'fra1',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-22-04-x64',
      tags: [],
      networkId: vpc.id,
      sshKeyFingerprints: [],
    });
    const active = await run('waitForServers', { servers: droplets });
    const volume = await run('ensureVolume', { owner, name: 'stack-a-pgdata', region: 'fra1', sizeGb: 20, filesystem: 'ext4' });
    await run('attachVolume', { volumeId: volume.id, serverId: active[0]!.id, region: 'fra1' });
    const ip = await run('ensureFloatingIp', { serverId: active[0]!.id });
    return { vpc, firewall, droplets, volume, ip, privateIp: active[0]!.privateIp };
  };
  const first = await sequence();
  const second = await sequence();
  expect(second).toEqual(first);
  expect(first.privateIp).toMatch(/^10\.10\./);
  // The provider decides where the volume appears on its server.
  expect(first.volume).toEqual({
    id: expect.any(String),
    name: 'stack-a-pgdata',
    devicePath: '/dev/disk/by-id/scsi-0DO_Volume_stack-a-pgdata',
  });
  const inventory = await control('inventory');
  expect([
    inventory.droplets.length,
    inventory.volumes.length,
    inventory.firewalls.length,
    inventory.vpcs.length,
    inventory.reserved_ips.length,
  ]).toEqual([1, 1, 1, 1, 1]);
  expect(inventory.droplets[0].tags).toEqual(expect.arrayContaining(['opsflow:provision-stack-a-1', 'opsflow-env:stack-a']));
  expect(inventory.reserved_ips[0].droplet_id).toBe(first.droplets[0]!.id);
});

test('a create whose response was lost is found by the retry, not made twice', async () => {
  const lostOwner: Owner = { workflowId: 'provision-lost-1', environment: 'lost' };
  await control('faults', 'PUT', { rules: [{ method: 'POST', path: '/v2/droplets', errorRate: 1, statuses: [503], loseResponse: true }] });
  const err = await run('ensureServers', {
    owner: lostOwner,
    names: ['lost-app'],
    region: 'lon1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    sshKeyFingerprints: [],
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'DigitalOceanServer', nonRetryable: false });
  await control('faults', 'PUT', {});
  const retried = await run('ensureServers', {
    owner: lostOwner,
    names: ['lost-app'],
    region: 'lon1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    sshKeyFingerprints: [],
  });
  const named = (await control('inventory')).droplets.filter((d: Body) => d.name === 'lost-app');
  expect(named).toHaveLength(1);
  expect(retried[0]!.id).toBe(named[0].id);
});

test('a wait rides out 5xx and 429 answers to its polls instead of failing the attempt', async () => {
  const waitOwner: Owner = { workflowId: 'provision-flaky-1', environment: 'flaky' };
  const droplets = await run('ensureServers', {
    owner: waitOwner,
    names: ['flaky-app'],
    region: 'ams3',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    sshKeyFingerprints: [],
  });
  // Every poll fails for 300 ms (an outage, a 429 storm), then the API answers again.
  await control('faults', 'PUT', {
    seed: 11,
    rules: [{ method: 'GET', path: `/v2/droplets/${droplets[0]!.id}`, errorRate: 1, statuses: [503, 429] }],
  });
  const outageOver = new Promise((resolve) => setTimeout(resolve, 300)).then(() => control('faults', 'PUT', {}));
  const active = await run('waitForServers', { servers: droplets });
  await outageOver;
  expect(active[0]).toMatchObject({ name: 'flaky-app', publicIp: expect.stringMatching(/^127\./) });
  const failedPolls = (await control('requests')).requests.filter(
    (r: Body) => r.url === `/v2/droplets/${droplets[0]!.id}` && r.status >= 429,
  );
  expect(failedPolls.length).toBeGreaterThan(0);
  // A wait that never gets an answer still fails, after a bounded number of tries.
  await control('faults', 'PUT', { rules: [{ method: 'GET', path: `/v2/droplets/${droplets[0]!.id}`, errorRate: 1, statuses: [503] }] });
  await expect(run('waitForServers', { servers: droplets })).rejects.toMatchObject({ type: 'DigitalOceanServer', nonRetryable: false });
  await control('faults', 'PUT', {});
  await run('deleteServersTagged', { tag: 'opsflow:provision-flaky-1' });
});

test('a name taken by something opsflow does not own is a non-retryable conflict', async () => {
  await fetch(`${cloud.apiUrl}/v2/vpcs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'hand-made', region: 'fra1', ip_range: '10.50.0.0/16' }),
  });
  await expect(run('ensureNetwork', { owner, name: 'hand-made', region: 'fra1', ipRange: '10.50.0.0/16' })).rejects.toMatchObject({
    type: 'ResourceConflict',
    nonRetryable: true,
  });
});

test('API failures are classified: validation is final, a rate limit carries the next delay, an errored action is retried', async () => {
  await expect(
    run('ensureServers', {
      owner,
      names: ['bad'],
      region: 'fra1',
      size: 'no-such-size',
      image: 'ubuntu-22-04-x64',
      tags: [],
      sshKeyFingerprints: [],
    }),
  ).rejects.toMatchObject({ type: 'DigitalOceanValidation', nonRetryable: true });

  await fetch(`${cloud.apiUrl}/_localcloud/rate-limit`, {
    method: 'PUT',
    headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: JSON.stringify({ perMinute: 1, perHour: 1000 }),
  });
  await run('ensureVolume', { owner, name: 'rl-a', region: 'fra1', sizeGb: 1, filesystem: 'ext4' }).catch(() => undefined);
  const limited = (await run('ensureVolume', { owner, name: 'rl-b', region: 'fra1', sizeGb: 1, filesystem: 'ext4' }).catch(
    (e: unknown) => e,
  )) as ApplicationFailure;
  expect(limited).toMatchObject({ type: 'DigitalOceanRateLimited', nonRetryable: false });
  expect(Number(limited.nextRetryDelay)).toBeGreaterThan(30_000);
  await fetch(`${cloud.apiUrl}/_localcloud/rate-limit`, {
    method: 'PUT',
    headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: JSON.stringify({ perMinute: 100_000, perHour: 100_000 }),
  });

  const droplets = await run('ensureServers', {
    owner,
    names: ['stack-a-db'],
    region: 'fra1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    sshKeyFingerprints: [],
  });
  await run('waitForServers', { servers: droplets });
  const volume = await run('ensureVolume', { owner, name: 'stack-a-extra', region: 'fra1', sizeGb: 5, filesystem: 'ext4' });
  await control('faults', 'PUT', { failNextActions: { attach_volume: 1 } });
  await expect(run('attachVolume', { volumeId: volume.id, serverId: droplets[0]!.id, region: 'fra1' })).rejects.toMatchObject({
    type: 'DigitalOceanActionErrored',
    nonRetryable: false,
  });
  await run('attachVolume', { volumeId: volume.id, serverId: droplets[0]!.id, region: 'fra1' });
  expect((await control('inventory')).volumes.find((v: Body) => v.id === volume.id).droplet_ids).toEqual([droplets[0]!.id]);
});

test("a reserved IP whose assignment errored while its worker died is released by the retry, which finds it in the dead attempt's heartbeats", async () => {
  const orphanOwner: Owner = { workflowId: 'provision-orphan-1', environment: 'lost' };
  const droplets = await run('ensureServers', {
    owner: orphanOwner,
    names: ['orphan-a', 'orphan-b'],
    region: 'fra1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    sshKeyFingerprints: [],
  });
  const [a, b] = await run('waitForServers', { servers: droplets });

  // Every attempt carries the IP it created in its heartbeats, from the moment the create returned.
  const first = new MockActivityEnvironment();
  const heartbeats: Body[] = [];
  first.on('heartbeat', (details: Body) => heartbeats.push(details));
  const { ip } = (await first.run(activities.ensureFloatingIp, { serverId: a!.id })) as { ip: string };
  expect(heartbeats.some((h) => h.remembered?.createdReservedIp === ip)).toBe(true);

  // What a dead attempt leaves: an IP created for droplet b whose assignment errored, never released.
  await control('faults', 'PUT', { failNextActions: { assign_ip: 1 } });
  const headers = { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' };
  const created = (await (
    await fetch(`${cloud.apiUrl}/v2/reserved_ips`, { method: 'POST', headers, body: JSON.stringify({ droplet_id: b!.id }) })
  ).json()) as Body;
  const orphan: string = created.reserved_ip.ip;
  for (;;) {
    const { action } = (await (await fetch(`${cloud.apiUrl}/v2/actions/${created.links.actions[0].id}`, { headers })).json()) as Body;
    if (action.status !== 'in-progress') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const unassigned = () =>
    control('inventory').then((inv) => inv.reserved_ips.filter((r: Body) => r.droplet_id === null).map((r: Body) => r.ip));
  expect(await unassigned()).toEqual([orphan]);

  // The retry, handed that attempt's last heartbeat by the server.
  const retry = new MockActivityEnvironment({
    attempt: 2,
    heartbeatDetails: { waitingFor: 'assign reserved IP', remembered: { createdReservedIp: orphan } },
  });
  const second = (await retry.run(activities.ensureFloatingIp, { serverId: b!.id })) as { ip: string };
  expect(second.ip).not.toBe(orphan);
  expect(await unassigned()).toEqual([]);
  const inv = await control('inventory');
  expect(
    inv.reserved_ips
      .filter((r: Body) => [a!.id, b!.id].includes(r.droplet_id))
      .map((r: Body) => [r.ip, r.droplet_id])
      .sort(),
  ).toEqual(
    [
      [ip, a!.id],
      [second.ip, b!.id],
    ].sort(),
  );
});

test("an environment's resources are listed in neutral terms; the names runs from before the provider seam schedule still answer", async () => {
  const found = await run('listEnvironmentResources', { environment: 'stack-a' });
  const inventory = await control('inventory');
  const ofStackA = inventory.droplets.filter((d: Body) => d.tags.includes('opsflow-env:stack-a'));
  expect(found.tag).toBe('opsflow-env:stack-a');
  expect(found.servers.map((s) => s.name).sort()).toEqual(ofStackA.map((d: Body) => d.name).sort());
  expect(found.networks).toHaveLength(1);
  expect(found.firewalls).toHaveLength(1);
  expect(found.floatingIps).toHaveLength(1);
  const app = ofStackA.find((d: Body) => d.name === 'stack-a-app');
  expect(found.volumes.find((v) => v.serverIds.includes(app.id))).toMatchObject({ region: 'fra1' });

  // Old names and shapes: the same resources, found rather than made again.
  const legacy = await run('findEnvironmentResources', { environment: 'stack-a' });
  expect(legacy).toEqual(resourcesToLegacy(found));
  const again = await run('ensureDroplets', {
    owner,
    names: ['stack-a-app'],
    region: 'fra1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    vpcId: found.networks[0],
    sshKeyFingerprints: [],
  });
  expect(again).toEqual([{ id: app.id, name: 'stack-a-app' }]);
  expect(await run('waitForDropletsActive', { droplets: again })).toEqual(await run('waitForServers', { servers: again }));
  const volume = found.volumes.find((v) => v.serverIds.includes(app.id))!;
  await run('attachVolume', { volumeId: volume.id, dropletId: app.id, region: 'fra1' } as never);
  expect(await run('ensureReservedIp', { dropletId: app.id })).toEqual({ ip: found.floatingIps[0] });
  const after = await control('inventory');
  expect([after.droplets.length, after.volumes.length, after.reserved_ips.length]).toEqual([
    inventory.droplets.length,
    inventory.volumes.length,
    inventory.reserved_ips.length,
  ]);
});

test('deletes are idempotent and leave nothing behind', async () => {
  const inventory = await control('inventory');
  for (const ip of inventory.reserved_ips) {
    expect(await run('releaseFloatingIp', { ip: ip.ip })).toBe('deleted');
    expect(await run('releaseFloatingIp', { ip: ip.ip })).toBe('already gone');
  }
  for (const v of inventory.volumes)
    for (const d of v.droplet_ids) await run('detachVolume', { volumeId: v.id, serverId: d, region: 'fra1' });
  for (const tag of ['opsflow-env:stack-a', 'opsflow-env:lost']) await run('deleteServersTagged', { tag });
  for (const v of inventory.volumes) expect(await run('deleteVolume', { id: v.id })).toBe('deleted');
  for (const f of inventory.firewalls) expect(await run('deleteFirewall', { id: f.id })).toBe('deleted');
  for (const v of inventory.vpcs) await run('deleteNetwork', { id: v.id });
  expect(await run('deleteNetwork', { id: inventory.vpcs[0].id })).toBe('already gone');
  const after = await control('inventory');
  expect([after.droplets, after.volumes, after.firewalls, after.vpcs, after.reserved_ips]).toEqual([[], [], [], [], []]);
});
