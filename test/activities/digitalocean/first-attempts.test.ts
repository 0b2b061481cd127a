// Issue 17: a fresh run's first attempts create without looking for what they may have made (only
// a lost response can have made anything, and only a retry follows one), a retry after each lost
// response still finds it, a name someone else holds is still a conflict, and droplet waits of
// one account share their polls. Against the local cloud, counted from its request log.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { DigitalOceanClient } from '../../../src/integrations/digitalocean/client';
import { createDigitalOceanProvider } from '../../../src/activities/digitalocean/provider';
import type { CloudProviderActivities } from '../../../src/providers/cloud-provider';
import type { Owner } from '../../../src/names/ownership-tags';
import { startLocalCloud } from '../../helpers/localcloud';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cloud: LocalCloud;
let activities: CloudProviderActivities;

beforeAll(async () => {
  ({ cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 200 },
  }));
  const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  activities = createDigitalOceanProvider({ digitalOcean: () => client, pollMs: { first: 100, max: 400 } });
});
afterAll(async () => {
  await cloud?.stop();
});

/** One activity attempt (`attempt` as Temporal numbers them) in a real activity context. */
function attempt<K extends keyof CloudProviderActivities>(
  n: number,
  name: K,
  input: Parameters<CloudProviderActivities[K]>[0],
  env = new MockActivityEnvironment({ attempt: n }),
): ReturnType<CloudProviderActivities[K]> {
  const activity = activities[name] as (i: unknown) => Promise<never>;
  return env.run(activity, input) as ReturnType<CloudProviderActivities[K]>;
}

async function control(path: string, method = 'GET', body?: unknown): Promise<Body> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/${path}`, {
    method,
    headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as Body;
}

const requestsSince = async (since: number): Promise<string[]> =>
  ((await control('requests')).requests as Body[])
    .slice(since)
    .map((r) => `${r.method} ${r.url.split('?')[0]}${r.url.includes('?') ? '?' : ''}`);
const total = async (): Promise<number> => ((await control('requests')).requests as Body[]).length;

/** The first attempt's create answers 503 after the cloud made the resource: the response is lost. */
const loseNext = (method: string, path: string) =>
  control('faults', 'PUT', { rules: [{ method, path, errorRate: 1, statuses: [503], loseResponse: true }] });

test("a fresh run's first attempts only create; a retry after each lost response finds what was made, once", async () => {
  const owner: Owner = { workflowId: 'provision-fresh', environment: 'fresh' };
  const region = 'fra1';
  // A retry comes after its backoff, when what the lost create started has settled: no action in progress.
  const settled = async () => {
    for (let i = 0; i < 600; i++) {
      const response = await fetch(`${cloud.apiUrl}/v2/actions?per_page=200`, { headers: { Authorization: `Bearer ${cloud.token}` } });
      const { actions } = (await response.json()) as { actions: Body[] };
      if (!actions.some((a) => a.status === 'in-progress')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('actions still in progress after 30 s');
  };

  // Each create once with its response lost, then the retry (attempt 2) of the same input.
  const lostThenRetried = async <K extends keyof CloudProviderActivities>(
    method: string,
    path: string,
    name: K,
    input: Parameters<CloudProviderActivities[K]>[0],
  ) => {
    await loseNext(method, path);
    const before = await total();
    const lost = await attempt(1, name, input).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(ApplicationFailure);
    // The first attempt sent its create and nothing else: no look-up before it.
    expect(await requestsSince(before)).toEqual([`${method} ${path}`]);
    await control('faults', 'PUT', {});
    await settled();
    return attempt(2, name, input);
  };

  const vpc = await lostThenRetried('POST', '/v2/vpcs', 'ensureNetwork', {
    owner,
    name: 'fresh-vpc',
    region,
    ipRange: '10.60.0.0/16',
    fresh: true,
  });
  const firewall = await lostThenRetried('POST', '/v2/firewalls', 'ensureFirewall', {
    owner,
    name: 'fresh-fw',
    inbound: [{ protocol: 'tcp', ports: '22', sources: ['0.0.0.0/0'] }],
    fresh: true,
  });
  const volume = await lostThenRetried('POST', '/v2/volumes', 'ensureVolume', {
    owner,
    name: 'fresh-data',
    region,
    sizeGb: 5,
    filesystem: 'ext4',
    fresh: true,
  });
  const servers = await lostThenRetried('POST', '/v2/droplets', 'ensureServers', {
    owner,
    names: ['fresh-app'],
    region,
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    networkId: vpc.id,
    sshKeyFingerprints: [],
    fresh: true,
  });
  const [droplet] = await attempt(1, 'waitForServers', { servers });
  await lostThenRetried('POST', `/v2/volumes/${volume.id}/actions`, 'attachVolume', {
    volumeId: volume.id,
    serverId: droplet!.id,
    region,
    fresh: true,
  });
  const { ip } = await lostThenRetried('POST', '/v2/reserved_ips', 'ensureFloatingIp', { serverId: droplet!.id, fresh: true });

  const inventory = await control('inventory');
  expect(inventory.vpcs.filter((v: Body) => v.name === 'fresh-vpc').map((v: Body) => v.id)).toEqual([vpc.id]);
  expect(inventory.firewalls.filter((f: Body) => f.name === 'fresh-fw').map((f: Body) => f.id)).toEqual([firewall.id]);
  expect(inventory.volumes.filter((v: Body) => v.name === 'fresh-data').map((v: Body) => [v.id, v.droplet_ids])).toEqual([
    [volume.id, [droplet!.id]],
  ]);
  expect(inventory.droplets.filter((d: Body) => d.name === 'fresh-app').map((d: Body) => d.id)).toEqual([droplet!.id]);
  expect(inventory.reserved_ips.filter((r: Body) => r.droplet_id === droplet!.id).map((r: Body) => r.ip)).toEqual([ip]);
});

test('a fresh first attempt with no fault sends its create and nothing else', async () => {
  const owner: Owner = { workflowId: 'provision-quiet', environment: 'quiet' };
  const since = await total();
  await attempt(1, 'ensureNetwork', { owner, name: 'quiet-vpc', region: 'fra1', ipRange: '10.61.0.0/16', fresh: true });
  await attempt(1, 'ensureFirewall', { owner, name: 'quiet-fw', inbound: [], fresh: true });
  await attempt(1, 'ensureVolume', { owner, name: 'quiet-data', region: 'fra1', sizeGb: 5, filesystem: 'ext4', fresh: true });
  expect(await requestsSince(since)).toEqual(['POST /v2/vpcs', 'POST /v2/firewalls', 'POST /v2/volumes']);
  // Without `fresh` (a run over an environment an earlier run touched, or one recorded before it), it looks first.
  const before = await total();
  await attempt(1, 'ensureVolume', { owner, name: 'quiet-data', region: 'fra1', sizeGb: 5, filesystem: 'ext4' });
  expect(await requestsSince(before)).toEqual(['GET /v2/volumes?']);
});

test('a name someone else holds is still a conflict for a fresh first attempt, found when the create is refused', async () => {
  const owner: Owner = { workflowId: 'provision-clash', environment: 'clash' };
  const post = (path: string, body: unknown) =>
    fetch(`${cloud.apiUrl}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post('/v2/vpcs', { name: 'clash-vpc', region: 'fra1', ip_range: '10.62.0.0/16' });
  await post('/v2/volumes', { name: 'clash-data', region: 'fra1', size_gigabytes: 5 });
  await expect(
    attempt(1, 'ensureNetwork', { owner, name: 'clash-vpc', region: 'fra1', ipRange: '10.63.0.0/16', fresh: true }),
  ).rejects.toMatchObject({
    type: 'ResourceConflict',
    nonRetryable: true,
  });
  await expect(
    attempt(1, 'ensureVolume', { owner, name: 'clash-data', region: 'fra1', sizeGb: 5, filesystem: 'ext4', fresh: true }),
  ).rejects.toMatchObject({
    type: 'ResourceConflict',
    nonRetryable: true,
  });
});

test('waits for droplets of one account share their polls: lists of the account, fewer than the waits looked', async () => {
  const made = await Promise.all(
    [1, 2, 3].map((n) =>
      attempt(1, 'ensureServers', {
        owner: { workflowId: `provision-shared-${n}`, environment: `shared-${n}` },
        names: [`shared-${n}-app`],
        region: 'fra1',
        size: 's-1vcpu-1gb',
        image: 'ubuntu-22-04-x64',
        tags: [],
        sshKeyFingerprints: [],
        fresh: true,
      }),
    ),
  );
  const since = await total();
  // Each wait heartbeats once per look: its highest `attempt` is how many looks it made.
  const looks = made.map(() => 0);
  const active = await Promise.all(
    made.map((servers, i) => {
      const env = new MockActivityEnvironment({ attempt: 1 });
      env.on('heartbeat', (d: { attempt?: number }) => (looks[i] = Math.max(looks[i]!, (d?.attempt ?? 0) + 1)));
      return attempt(1, 'waitForServers', { servers }, env);
    }),
  );
  expect(active.map((a) => a[0]!.name)).toEqual(['shared-1-app', 'shared-2-app', 'shared-3-app']);
  const polls = (await requestsSince(since)).filter((r) => r.startsWith('GET /v2/droplets') && !r.endsWith('/actions'));
  const sumOfLooks = looks.reduce((a, b) => a + b, 0);
  // Three droplets waited for at once: every poll is one list of the account, none a GET by id.
  expect(polls.filter((p) => p !== 'GET /v2/droplets?')).toEqual([]);
  expect(polls.length).toBeGreaterThan(0);
  expect(polls.length).toBeLessThan(sumOfLooks);
  console.log(`shared droplet polls: ${polls.length} lists answered ${sumOfLooks} looks of 3 waits (${looks.join(', ')})`);
});
