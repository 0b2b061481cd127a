// A reserved IP reaches its droplet, as on DigitalOcean (issue 13): assigned, SSH to the reserved
// IP lands on the droplet (its host key) from the machine, and a connection from another droplet
// arrives too; reassigned, it lands on the other droplet; unassigned, nothing answers there.
import net from 'node:net';
import type { LocalCloud } from '../../src';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { connect, createHostDroplet, exec, registerKey, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud, waitForAction } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';

jest.setTimeout(5 * 60_000);

const key = generateEd25519();
let cloud: LocalCloud;
let api: ContractClient;
let web: TestDroplet;
let spare: TestDroplet;

beforeAll(async () => {
  ({ cloud, api } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const keyId = await registerKey(api, 'deploy', key.public);
  [web, spare] = await Promise.all([createHostDroplet(cloud, api, 'rip-1', [keyId]), createHostDroplet(cloud, api, 'rip-2', [keyId])]);
});
afterAll(async () => {
  await cloud?.stop();
});

/** The host key fingerprint SSH sees at address:port, and the hostname the shell there reports. */
async function landsOn(droplet: TestDroplet, address: string): Promise<{ fingerprint: string; hostname: string }> {
  const { client, fingerprint } = await connect({ ...droplet, address }, key.private);
  try {
    return { fingerprint, hostname: (await exec(client, 'hostname')).stdout.trim() };
  } finally {
    client.end();
  }
}

function refused(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

async function ipAction(ip: string, body: Record<string, unknown>): Promise<void> {
  const { status, body: reply } = await api.call<{ action: { id: number } }>('POST', `/v2/reserved_ips/${ip}/actions`, body);
  expect(status).toBe(201);
  expect(await waitForAction(api, reply.action.id)).toBe('completed');
}

test('the reserved IP answers as its droplet, follows a reassignment and goes quiet when unassigned', async () => {
  const created = await api.call<{ reserved_ip: { ip: string }; links: { actions: { id: number }[] } }>('POST', '/v2/reserved_ips', {
    droplet_id: web.id,
  });
  expect(created.status).toBe(202);
  const ip = created.body.reserved_ip.ip;
  expect(await waitForAction(api, created.body.links.actions[0]!.id)).toBe('completed');
  // In the cloud's own host network, never another cloud's.
  expect(ip.split('.').slice(0, 2)).toEqual(web.address.split('.').slice(0, 2));

  const direct = await landsOn(web, web.address);
  expect(await landsOn(web, ip)).toEqual(direct);
  // From another droplet: the reserved IP's SSH banner is the droplet's sshd.
  const { client } = await connect(spare, key.private);
  try {
    const banner = await exec(client, `exec 3<>/dev/tcp/${ip}/${web.port} && head -c 8 <&3`);
    expect(banner).toMatchObject({ code: 0, stdout: 'SSH-2.0-' });
  } finally {
    client.end();
  }

  await ipAction(ip, { type: 'assign', droplet_id: spare.id });
  const other = await landsOn(spare, ip);
  expect(other).toEqual(await landsOn(spare, spare.address));
  expect(other.fingerprint).not.toBe(direct.fingerprint);

  await ipAction(ip, { type: 'unassign' });
  expect(await refused(ip, web.port)).toBe(true);
  expect(await refused(web.address, web.port)).toBe(false); // the droplet itself still answers
});
