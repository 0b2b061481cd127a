// The Linode provider through the seam (CloudProviderActivities' servers, firewalls, volumes, SSH
// key and inventory) against a real started local cloud, each activity run as Temporal runs it
// (MockActivityEnvironment): idempotent on retry, found again by tag, failures typed and worded.
import { getFirewalls, getLinodes } from '@linode/api-v4';
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { LocalCloud } from '../../src';
import { createLinodeProvider, type LinodeProviderActivities } from '../../../../src/activities/linode/provider';
import { environmentTag, workflowTag } from '../../../../src/names/ownership-tags';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';
import { startLinodeCloud } from './linode-cloud';

let cloud: LocalCloud;
let seam: LinodeProviderActivities;
const workerKey = generateEd25519().public;
beforeAll(async () => {
  cloud = await startLinodeCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  seam = createLinodeProvider({
    account: () => ({ apiUrl: cloud.apiUrl, token: cloud.token }),
    pollMs: { first: 50, max: 200 },
    sshKeys: () => [{ name: 'worker', publicKey: workerKey }],
  });
});
afterAll(async () => {
  await cloud?.stop();
});

function run<I, O>(activity: (input: I) => Promise<O>, input: I): Promise<O> {
  return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(activity, input) as Promise<O>;
}

const owner = { workflowId: 'provision-stack-e-lon', environment: 'stack-e' };

test('servers, firewall and volume of a site through the seam, found again on retry, then torn down', async () => {
  const { fingerprint } = await run(seam.ensureSshKey, { name: 'worker' });
  expect(fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);

  const inbound = [
    { protocol: 'tcp', ports: '22', sources: ['0.0.0.0/0', '::/0'] },
    { protocol: 'tcp', ports: '8081-8084', sources: ['192.168.128.0/17'] },
  ];
  const firewall = await run(seam.ensureFirewall, { owner, name: 'stack-e-lon-fw', inbound });
  // A retry finds it instead of making a second.
  expect(await run(seam.ensureFirewall, { owner, name: 'stack-e-lon-fw', inbound })).toEqual(firewall);
  const [made] = (await getFirewalls()).data;
  expect(made?.rules.inbound?.[1]).toMatchObject({
    protocol: 'TCP',
    ports: '8081-8084',
    action: 'ACCEPT',
    addresses: { ipv4: ['192.168.128.0/17'] },
  });
  expect(made?.rules.inbound_policy).toBe('DROP');

  const request = {
    owner,
    names: ['stack-e-lon-app-1', 'stack-e-lon-app-2'],
    region: 'gb-lon',
    // A DigitalOcean-style size and image: the provider says which Linode plan and image they mean.
    size: 's-1vcpu-1gb',
    image: 'debian-12-x64',
    tags: ['app'],
    sshKeyFingerprints: [fingerprint],
  };
  const refs = await run(seam.ensureServers, request);
  expect(refs.map((r) => r.name)).toEqual(request.names);
  expect(await run(seam.ensureServers, request)).toEqual(refs);
  const listed = (await getLinodes()).data;
  expect(listed).toHaveLength(2);
  expect(listed[0]).toMatchObject({ type: 'g6-nanode-1', image: 'linode/debian12', region: 'gb-lon' });
  expect(listed[0]?.tags).toEqual(['app', workflowTag(owner), environmentTag('stack-e')]);

  const servers = await run(seam.waitForServers, { servers: refs });
  for (const server of servers) {
    expect(server.publicIp).toMatch(/^127\./);
    expect(server.privateIp).toMatch(/^192\.168\./);
  }

  const volume = await run(seam.ensureVolume, { owner, name: 'stack-e-lon-db', region: 'gb-lon', sizeGb: 20, filesystem: 'ext4' });
  expect(volume.devicePath).toBe('/dev/disk/by-id/scsi-0Linode_Volume_stack-e-lon-db');
  expect(await run(seam.ensureVolume, { owner, name: 'stack-e-lon-db', region: 'gb-lon', sizeGb: 20, filesystem: 'ext4' })).toEqual(volume);
  const serverId = (refs[0] as { id: number }).id;
  await run(seam.attachVolume, { volumeId: volume.id, serverId, region: 'gb-lon' });
  await run(seam.attachVolume, { volumeId: volume.id, serverId, region: 'gb-lon' });

  const inventory = await run(seam.listEnvironmentResources, { environment: 'stack-e' });
  expect(inventory).toEqual({
    tag: environmentTag('stack-e'),
    servers: refs,
    volumes: [{ id: volume.id, region: 'gb-lon', serverIds: [serverId] }],
    firewalls: [firewall.id],
    networks: [],
    floatingIps: [],
  });

  await run(seam.detachVolume, { volumeId: volume.id, serverId, region: 'gb-lon' });
  expect(await run(seam.deleteVolume, { id: volume.id })).toBe('deleted');
  expect(await run(seam.deleteVolume, { id: volume.id })).toBe('already gone');
  expect(await run(seam.deleteServersTagged, { tag: workflowTag(owner) })).toBe(2);
  expect(await run(seam.deleteServersTagged, { tag: workflowTag(owner) })).toBe(0);
  expect(await run(seam.deleteFirewall, { id: firewall.id })).toBe('deleted');
  expect(await run(seam.deleteFirewall, { id: firewall.id })).toBe('already gone');
  expect(await run(seam.listEnvironmentResources, { environment: 'stack-e' })).toMatchObject({ servers: [], volumes: [], firewalls: [] });
});

test('a request Linode refuses fails the activity for good, in Linode’s words naming the field', async () => {
  const { fingerprint } = await run(seam.ensureSshKey, { name: 'worker' });
  const failure = (await run(seam.ensureServers, {
    owner,
    names: ['stack-e-mars-app-1'],
    region: 'mars-1',
    size: 'g6-nanode-1',
    image: 'linode/debian12',
    tags: [],
    sshKeyFingerprints: [fingerprint],
  }).catch((e: unknown) => e)) as ApplicationFailure;
  expect(failure).toMatchObject({ type: 'LinodeValidation', nonRetryable: true });
  expect(failure.message).toContain('region: region is not valid');
  // A key the worker does not hold is named, not sent.
  const unknownKey = (await run(seam.ensureSshKey, { name: 'nobody' }).catch((e: unknown) => e)) as ApplicationFailure;
  expect(unknownKey).toMatchObject({ type: 'SshKeyUnavailable', message: expect.stringContaining('nobody') });
  expect((await getLinodes()).results).toBe(0);
});

test('another run’s firewall of the same name is a conflict, never taken over', async () => {
  const other = { workflowId: 'someone-else', environment: 'stack-e' };
  const theirs = await run(seam.ensureFirewall, { owner: other, name: 'shared-name-fw', inbound: [] });
  const failure = (await run(seam.ensureFirewall, { owner, name: 'shared-name-fw', inbound: [] }).catch(
    (e: unknown) => e,
  )) as ApplicationFailure;
  expect(failure).toMatchObject({ type: 'ResourceConflict', nonRetryable: true });
  expect(await run(seam.deleteFirewall, { id: theirs.id })).toBe('deleted');
});
