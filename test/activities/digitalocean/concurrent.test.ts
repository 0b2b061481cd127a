// DigitalOcean activities when environments are provisioned at once and 429s cut attempts short
// (what bench/provision.ts found with 20 stack-A environments): the deploy key is registered once
// and every racer gets its fingerprint; an attach retried while its own attach still runs is
// retried later instead of failing the environment.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DigitalOceanClient } from '../../../src/integrations/digitalocean/client';
import { createDigitalOceanActivities, type DigitalOceanActivities } from '../../../src/activities/digitalocean/provider';
import type { Owner } from '../../../src/names/ownership-tags';
import { type LocalCloud, generateEd25519 } from '@opsflow/localcloud';
import { startLocalCloud } from '../../helpers/localcloud';

let cloud: LocalCloud;
let activities: DigitalOceanActivities;
const deployKey = generateEd25519().public;

beforeAll(async () => {
  ({ cloud } = await startLocalCloud({
    sshHosts: false,
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 200, actionMs: 1500 },
  }));
  const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  activities = createDigitalOceanActivities({ digitalOcean: () => client, pollMs: { first: 50, max: 200 }, sshPublicKey: () => deployKey });
});
afterAll(async () => {
  await cloud?.stop();
});

function run<K extends keyof DigitalOceanActivities>(
  name: K,
  ...args: Parameters<DigitalOceanActivities[K]>
): ReturnType<DigitalOceanActivities[K]> {
  const activity = activities[name] as (...a: unknown[]) => Promise<never>;
  return new MockActivityEnvironment().run(activity, ...(args as unknown[])) as ReturnType<DigitalOceanActivities[K]>;
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${cloud.apiUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as T;
}

test('environments registering the same deploy key at once all get its fingerprint, and it is registered once', async () => {
  const results = await Promise.all(Array.from({ length: 6 }, () => run('ensureSshKey', { name: 'deploy' })));
  expect(new Set(results.map((r) => r.fingerprint)).size).toBe(1);
  const { ssh_keys } = await api<{ ssh_keys: unknown[] }>('GET', '/v2/account/keys');
  expect(ssh_keys).toHaveLength(1);
});

test('an attach retried while its own earlier attach still runs fails retryably, then finds the volume attached', async () => {
  const owner: Owner = { workflowId: 'provision-busy-1', environment: 'busy' };
  const droplets = await run('ensureServers', {
    owner,
    names: ['busy-app'],
    region: 'fra1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags: [],
    sshKeyFingerprints: [],
  });
  const [droplet] = await run('waitForServers', { servers: droplets });
  const volume = await run('ensureVolume', { owner, name: 'busy-pgdata', region: 'fra1', sizeGb: 20, filesystem: 'ext4' });
  // The first attempt's attach went through, then the attempt was cut short (a 429 while polling).
  await api('POST', `/v2/volumes/${volume.id}/actions`, { type: 'attach', droplet_id: droplet!.id, region: 'fra1' });

  const err = await run('attachVolume', { volumeId: volume.id, serverId: droplet!.id, region: 'fra1' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'DigitalOceanBusy', nonRetryable: false });
  expect((err as Error).message).toContain('pending event');

  await new Promise((r) => setTimeout(r, 1800));
  await run('attachVolume', { volumeId: volume.id, serverId: droplet!.id, region: 'fra1' });
  const { volume: attached } = await api<{ volume: { droplet_ids: number[] } }>('GET', `/v2/volumes/${volume.id}`);
  expect(attached.droplet_ids).toEqual([droplet!.id]);
});
