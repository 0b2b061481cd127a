// The provider seam: workflows speak only the neutral vocabulary (no DigitalOcean import, provider
// id or device path in src/workflows), and one function routes a spec's `cloud:` to its queue.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createDigitalOceanActivities } from '../../../src/activities/digitalocean/provider';
import { IMPLEMENTED_PROVIDERS, PROVIDER_IDS } from '../../../src/providers/cloud-provider';
import { legacyCloudActivities } from '../../../src/providers/legacy-activity-names';
import { SpecError } from '../../../src/specs/common';
import { parseEnvironmentSpec } from '../../../src/specs/environment';
import { providerTaskQueue } from '../../../src/temporal/task-queues';

const workflowsDir = path.join(__dirname, '../../../src/workflows');

function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [{ file: path.relative(workflowsDir, full), text: readFileSync(full, 'utf8') }] : [];
  });
}

const importsOf = (text: string) =>
  [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]!);

test('no workflow imports anything of DigitalOcean, names it as a provider, or assumes its device paths', () => {
  const files = sources(workflowsDir);
  expect(files.length).toBeGreaterThan(10);
  const offending = files.flatMap(({ file, text }) => [
    ...importsOf(text)
      .filter((spec) => /digitalocean/i.test(spec))
      .map((spec) => `${file} imports ${spec}`),
    ...(/['"`]digitalocean['"`]/i.test(text) ? [`${file} names the digitalocean provider`] : []),
    ...(/scsi-0DO_Volume/.test(text) ? [`${file} writes DigitalOcean's volume device path`] : []),
  ]);
  expect(offending).toEqual([]);
});

test('the check above would see such an import', () => {
  expect(
    importsOf("import type { X } from '../../activities/digitalocean/provider';\nimport('../integrations/digitalocean/client')"),
  ).toEqual(['../../activities/digitalocean/provider', '../integrations/digitalocean/client']);
});

test('each provider has its own queue, chosen by one function', () => {
  expect(PROVIDER_IDS.map(providerTaskQueue)).toEqual(['opsflow-digitalocean', 'opsflow-linode']);
});

const spec = (cloud?: string) => ({
  name: 'stack-a',
  ...(cloud ? { cloud } : {}),
  region: 'fra1',
  droplets: [{ name: 'app', size: 's-1vcpu-1gb' }],
  ssh: { key: 'deploy' },
});

const problems = (input: unknown): string => {
  try {
    parseEnvironmentSpec(input);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error('the spec was accepted');
};

test('a spec names its cloud (digitalocean by default); an unknown provider is refused by name', () => {
  expect(parseEnvironmentSpec(spec()).cloud).toBe('digitalocean');
  expect(parseEnvironmentSpec(spec('digitalocean')).cloud).toBe('digitalocean');
  expect(IMPLEMENTED_PROVIDERS).toEqual(['digitalocean', 'linode']);
  expect(problems(spec('aws'))).toMatch(/cloud.*"aws" is not a cloud provider this opsflow runs.*valid: digitalocean, linode/);
});

test('a linode spec names Linode regions, plan types and images, each refused with Linode valid ones', () => {
  const linode = { ...spec('linode'), region: 'gb-lon', droplets: [{ name: 'app', size: 'g6-nanode-1' }] };
  const parsed = parseEnvironmentSpec(linode);
  expect(parsed).toMatchObject({ cloud: 'linode', region: 'gb-lon', droplets: [{ size: 'g6-nanode-1', image: 'linode/ubuntu22.04' }] });
  expect(problems({ ...linode, region: 'fra1' })).toContain(
    'region: "fra1" is not a Linode region; valid: de-fra-2, eu-central, eu-west, gb-lon, us-east',
  );
  expect(problems({ ...linode, droplets: [{ name: 'app', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' }] })).toMatch(
    /droplets\.0\.size: "s-1vcpu-1gb" is not a Linode plan type; valid: g6-dedicated-2, .*\n.*droplets\.0\.image: "ubuntu-22-04-x64" is not a Linode image/s,
  );
  // A DigitalOcean spec is not offered Linode's ids either.
  expect(problems({ ...spec(), region: 'gb-lon' })).toContain('region: "gb-lon" is not a region; valid: ams3');
});

test('runs from before the seam schedule the old names with the old shapes, and the DigitalOcean worker registers every one', async () => {
  const calls: [string, unknown][] = [];
  const oldProxy = new Proxy({} as Record<string, (input: unknown) => Promise<unknown>>, {
    get: (_, name: string) => async (input: unknown) => {
      calls.push([name, input]);
      if (name === 'ensureVolume') return { id: 'vol-1' };
      if (name === 'findEnvironmentResources')
        return {
          tag: 't',
          droplets: [{ id: 1, name: 'a' }],
          volumes: [{ id: 'v', region: 'fra1', dropletIds: [1] }],
          firewalls: ['f'],
          vpcs: ['n'],
          reservedIps: ['1.2.3.4'],
        };
      return undefined;
    },
  });
  const legacy = legacyCloudActivities(oldProxy);
  const owner = { workflowId: 'w', environment: 'e' };
  await legacy.ensureNetwork({ owner, name: 'e-vpc', region: 'fra1', ipRange: '10.0.0.0/16' });
  await legacy.deleteNetwork({ id: 'n' });
  await legacy.ensureServers({
    owner,
    names: ['e-app'],
    region: 'fra1',
    size: 's',
    image: 'i',
    tags: [],
    networkId: 'n',
    sshKeyFingerprints: [],
  });
  await legacy.waitForServers({ servers: [{ id: 1, name: 'e-app' }] });
  await legacy.deleteServersTagged({ tag: 't' });
  expect(await legacy.ensureVolume({ owner, name: 'e-data', region: 'fra1', sizeGb: 1, filesystem: 'ext4' })).toEqual({
    id: 'vol-1',
    name: 'e-data',
    devicePath: '/dev/disk/by-id/scsi-0DO_Volume_e-data',
  });
  await legacy.attachVolume({ volumeId: 'v', serverId: 1, region: 'fra1' });
  await legacy.detachVolume({ volumeId: 'v', serverId: 1, region: 'fra1' });
  await legacy.ensureFloatingIp({ serverId: 1 });
  await legacy.releaseFloatingIp({ ip: '1.2.3.4' });
  expect(await legacy.listEnvironmentResources({ environment: 'e' })).toEqual({
    tag: 't',
    servers: [{ id: 1, name: 'a' }],
    volumes: [{ id: 'v', region: 'fra1', serverIds: [1] }],
    firewalls: ['f'],
    networks: ['n'],
    floatingIps: ['1.2.3.4'],
  });
  expect(calls).toEqual([
    ['ensureVpc', { owner, name: 'e-vpc', region: 'fra1', ipRange: '10.0.0.0/16' }],
    ['deleteVpc', { id: 'n' }],
    ['ensureDroplets', { owner, names: ['e-app'], region: 'fra1', size: 's', image: 'i', tags: [], vpcId: 'n', sshKeyFingerprints: [] }],
    ['waitForDropletsActive', { droplets: [{ id: 1, name: 'e-app' }] }],
    ['deleteDropletsByTag', { tag: 't' }],
    ['ensureVolume', { owner, name: 'e-data', region: 'fra1', sizeGb: 1, filesystem: 'ext4' }],
    ['attachVolume', { volumeId: 'v', dropletId: 1, region: 'fra1' }],
    ['detachVolume', { volumeId: 'v', dropletId: 1, region: 'fra1' }],
    ['ensureReservedIp', { dropletId: 1 }],
    ['releaseReservedIp', { ip: '1.2.3.4' }],
    ['findEnvironmentResources', { environment: 'e' }],
  ]);
  const registered = Object.keys(
    createDigitalOceanActivities({
      digitalOcean: () => {
        throw new Error('not called');
      },
    }),
  );
  expect(calls.map(([name]) => name).filter((name) => !registered.includes(name))).toEqual([]);
});
