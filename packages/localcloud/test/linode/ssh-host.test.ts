// A Linode instance is a real host, as a droplet is: once `running` it answers SSH on its public
// address with the key it was created with, knows its private address, is a host again after the
// cloud restarts, and stops being one when it is deleted.
import { createLinode, deleteLinode } from '@linode/api-v4';
import type { LocalCloud } from '../../src';
import { connect, exec } from '../../../../test/helpers/droplet-host';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';
import { until } from '../../../../test/helpers/until';
import { tempDir } from '../../../../test/helpers/temp';
import { startLinodeCloud, untilStatus } from './linode-cloud';

const stateDir = tempDir('linode-hosts');
let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLinodeCloud({ stateDir });
});
afterAll(async () => {
  await cloud?.stop();
});

test('a running instance answers SSH with its key, and is gone once deleted', async () => {
  const key = generateEd25519();
  const created = await createLinode({
    label: 'ssh-app-1',
    region: 'gb-lon',
    type: 'g6-nanode-1',
    image: 'linode/debian12',
    // Linode requires a root password with an image; the host takes the key.
    root_pass: 'an-Unused-r00t-pass!',
    authorized_keys: [key.public],
    private_ip: true,
  });
  const running = await untilStatus(created.id, 'running');
  expect(await cloud.hosts!.ready(created.id)).toBe(true);
  const [publicIp, privateIp] = running.ipv4 as [string, string];
  const host = { id: created.id, address: publicIp, port: cloud.ctx.store.state.internal.hosts[created.id]!.sshPort, region: 'gb-lon' };
  const { client } = await connect(host, key.private);
  try {
    const hostname = await exec(client, 'hostname; getent hosts ssh-app-1-private');
    expect(hostname.code).toBe(0);
    expect(hostname.stdout).toContain('ssh-app-1');
    expect(hostname.stdout).toContain(privateIp);
  } finally {
    client.end();
  }
  // Another key is refused.
  await expect(connect(host, generateEd25519().private)).rejects.toThrow();

  // The cloud restarts on its folder: the instance is running and a host again, same address.
  await cloud.stop();
  cloud = await startLinodeCloud({ stateDir });
  expect(await cloud.hosts!.ready(created.id)).toBe(true);
  expect((await untilStatus(created.id, 'running')).ipv4).toEqual(running.ipv4);
  const again = await connect({ ...host, port: cloud.ctx.store.state.internal.hosts[created.id]!.sshPort }, key.private);
  again.client.end();

  await deleteLinode(created.id);
  await until('the deleted instance to stop answering SSH', async () =>
    (await connect(host, key.private, 2000).then(
      ({ client: c }) => {
        c.end();
        return false;
      },
      () => true,
    ))
      ? true
      : undefined,
  );
});
