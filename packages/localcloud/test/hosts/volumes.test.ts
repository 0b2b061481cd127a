// Volumes inside droplets: an attached volume is a device that can be formatted and mounted over
// SSH, whose files live with the volume (not the droplet), follow it to another droplet, and come
// back at boot from /etc/fstab.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LocalCloud } from '../../src';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { connect, createHostDroplet, exec, registerKey, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud, waitForAction } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';

const key = generateEd25519();
let cloud: LocalCloud;
let api: ContractClient;
let stateDir: string;
let web: TestDroplet;
let spare: TestDroplet;

beforeAll(async () => {
  ({ cloud, api, stateDir } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const keyId = await registerKey(api, 'deploy', key.public);
  [web, spare] = await Promise.all([createHostDroplet(cloud, api, 'db-1', [keyId]), createHostDroplet(cloud, api, 'db-2', [keyId])]);
});
afterAll(async () => {
  await cloud?.stop();
});

async function sh(droplet: TestDroplet, command: string) {
  const { client } = await connect(droplet, key.private);
  try {
    return await exec(client, command);
  } finally {
    client.end();
  }
}

async function volumeAction(volumeId: string, body: Record<string, unknown>): Promise<void> {
  const { status, body: reply } = await api.call<{ action: { id: number } }>('POST', `/v2/volumes/${volumeId}/actions`, {
    region: 'nyc3',
    ...body,
  });
  expect(status).toBe(202);
  expect(await waitForAction(api, reply.action.id)).toBe('completed');
}

test('an attached volume is formatted, mounted, written, and follows the volume to another droplet', async () => {
  const { body } = await api.call<{ volume: { id: string } }>('POST', '/v2/volumes', {
    name: 'pgdata',
    region: 'nyc3',
    size_gigabytes: 10,
  });
  const volumeId = body.volume.id;
  const device = '/dev/disk/by-id/scsi-0DO_Volume_pgdata';
  expect((await sh(web, `ls ${device}`)).code).not.toBe(0); // not attached yet
  await volumeAction(volumeId, { type: 'attach', droplet_id: web.id });

  expect((await sh(web, `blkid ${device}`)).code).toBe(2); // unformatted
  expect((await sh(web, `mkdir -p /mnt/pgdata && mount ${device} /mnt/pgdata`)).stderr).toMatch(/wrong fs type/);
  expect((await sh(web, `mkfs.ext4 ${device} && mount ${device} /mnt/nowhere`)).stderr).toMatch(/mount point does not exist/);
  const setup = await sh(
    web,
    [
      `mkfs.ext4 -F ${device}`,
      'mkdir -p /mnt/pgdata',
      `mount -o defaults,nofail,discard,noatime ${device} /mnt/pgdata`,
      `echo '${device} /mnt/pgdata ext4 defaults,nofail,discard,noatime 0 2' >> /etc/fstab`,
    ].join(' && '),
  );
  expect(setup.code).toBe(0);
  expect((await sh(web, `blkid -o value -s TYPE ${device}`)).stdout).toBe('ext4\n');
  // A new session sees the mount; what it writes lands on the volume, not in the droplet's folder.
  const write = await sh(web, 'mountpoint -q /mnt/pgdata && echo rows > /mnt/pgdata/table && findmnt -n -o TARGET /mnt/pgdata');
  expect(write).toMatchObject({ code: 0, stdout: '/mnt/pgdata\n' });
  expect(existsSync(path.join(stateDir, 'hosts', String(web.id), 'root', 'mnt', 'pgdata', 'table'))).toBe(false);

  // Formatting an already formatted volume needs -F, as mkfs does.
  expect((await sh(web, `mkfs.ext4 ${device}`)).stderr).toMatch(/contains a ext4 file system/);

  // Detached: the device and the mount are gone from the droplet.
  await volumeAction(volumeId, { type: 'detach', droplet_id: web.id });
  expect((await sh(web, `ls ${device} || mountpoint /mnt/pgdata`)).stdout).toMatch(/is not a mountpoint/);

  // Attached elsewhere and mounted there, the same files are on it.
  await volumeAction(volumeId, { type: 'attach', droplet_id: spare.id });
  const moved = await sh(spare, `mkdir -p /data && mount ${device} /data`);
  expect(moved.code).toBe(0);
  expect((await sh(spare, 'cat /data/table')).stdout).toBe('rows\n');
  // umount takes it away for later commands.
  expect((await sh(spare, 'umount /data')).code).toBe(0);
  expect((await sh(spare, 'mountpoint -q /data')).code).not.toBe(0);
  expect((await sh(spare, 'umount /data')).stderr).toMatch(/not mounted/);
});

test('/etc/fstab is read at boot: after a restart the volume is mounted again', async () => {
  const { body } = await api.call<{ volume: { id: string } }>('POST', '/v2/volumes', {
    name: 'media',
    region: 'nyc3',
    size_gigabytes: 5,
    filesystem_type: 'xfs',
  });
  await volumeAction(body.volume.id, { type: 'attach', droplet_id: web.id });
  const device = '/dev/disk/by-id/scsi-0DO_Volume_media';
  // Created with a filesystem_type, it comes formatted, as on DigitalOcean.
  expect((await sh(web, `blkid -o value -s TYPE ${device}`)).stdout).toBe('xfs\n');
  expect(
    (await sh(web, `mkdir -p /srv/media && echo '${device} /srv/media xfs defaults,nofail 0 0' >> /etc/fstab && mount -a && true`)).code,
  ).toBe(0);
  expect((await sh(web, 'echo kept > /srv/media/photo')).code).toBe(0);
  await cloud.stop();
  ({ cloud, api } = await startLocalCloud({ stateDir, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  expect(await cloud.hosts!.ready(web.id)).toBe(true);
  expect((await sh(web, 'mountpoint -q /srv/media && cat /srv/media/photo')).stdout).toBe('kept\n');
});

test('df on a mounted 20 GB volume shows the volume, not the machine disk, and follows a resize', async () => {
  const { body } = await api.call<{ volume: { id: string } }>('POST', '/v2/volumes', {
    name: 'dfdata',
    region: 'nyc3',
    size_gigabytes: 20,
    filesystem_type: 'ext4',
  });
  await volumeAction(body.volume.id, { type: 'attach', droplet_id: spare.id });
  const device = '/dev/disk/by-id/scsi-0DO_Volume_dfdata';
  expect((await sh(spare, `mkdir -p /mnt/dfdata && mount -o defaults,nofail ${device} /mnt/dfdata`)).code).toBe(0);
  expect((await sh(spare, 'head -c 3145728 /dev/zero > /mnt/dfdata/three-mib')).code).toBe(0);

  const human = await sh(spare, 'df -h /mnt/dfdata');
  expect(human.code).toBe(0);
  const [header, line] = human.stdout.trim().split('\n');
  expect(header!.split(/\s+/)).toEqual(['Filesystem', 'Size', 'Used', 'Avail', 'Use%', 'Mounted', 'on']);
  expect(line!.split(/\s+/)).toEqual([device, '20G', '3.1M', '20G', '1%', '/mnt/dfdata']);
  // Exact bytes, as scripts ask for them; a file below the mount point is on the volume too.
  expect((await sh(spare, 'df --output=size,used -B1 /mnt/dfdata/three-mib')).stdout.trim().split(/\s+/)).toEqual([
    '1B-blocks',
    'Used',
    String(20 * 1024 ** 3),
    expect.stringMatching(/^31[0-9]{5}$/),
  ]);
  // Without a file: the machine's filesystems (not the volume's mount point at the machine's size), then the volume.
  const all = (await sh(spare, 'df -hT')).stdout.trim().split('\n');
  expect(all.filter((row) => row.trim().endsWith('/mnt/dfdata')).map((row) => row.split(/\s+/).slice(0, 3))).toEqual([
    [device, 'ext4', '20G'],
  ]);
  // Elsewhere df is the machine's own.
  expect((await sh(spare, 'df -h /')).stdout).not.toContain(device);

  await volumeAction(body.volume.id, { type: 'resize', size_gigabytes: 30 });
  expect((await sh(spare, 'df -h /mnt/dfdata')).stdout.split('\n')[1]!.split(/\s+/)[1]).toBe('30G');
  expect((await sh(spare, 'df /no/such/place')).stderr).toBe('df: /no/such/place: No such file or directory\n');
});
