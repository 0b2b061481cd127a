// Issue 13 item 3: a second local cloud on one machine takes a host network of its own instead of
// being refused, and a state folder keeps its network (so its droplets keep their 127.N addresses)
// across restarts. Two clouds run at once in this process, each with a droplet answering SSH on its
// own address; the first restarts on its remembered network while the second holds another; a state
// folder whose remembered network another cloud holds, a given network that contradicts the
// remembered one and a garbled note are each refused, saying why and what to do.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LocalCloud } from '../../src';
import { DEFAULT_HOST_NETWORK, HostNetworkClaim, HostNetworkInUse, rememberedNetworkFile } from '../../src/hosts/isolation/network-claim';

jest.setTimeout(180_000);

const dirs: string[] = [];
const clouds: LocalCloud[] = [];
const stateDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-network-choice-'));
  dirs.push(dir);
  return dir;
};
const FAST_API = { rateLimit: { perMinute: 100_000, perHour: 100_000 } };

async function start(dir: string, hostNetwork?: number): Promise<LocalCloud> {
  const cloud = await LocalCloud.start({ stateDir: dir, hostNetwork, ...FAST_API });
  clouds.push(cloud);
  return cloud;
}

async function stop(cloud: LocalCloud): Promise<void> {
  clouds.splice(clouds.indexOf(cloud), 1);
  await cloud.stop();
}

/** The error a start is refused with (a cloud that starts fails the test). */
async function refusal(dir: string, hostNetwork?: number): Promise<Error> {
  const cloud = await LocalCloud.start({ stateDir: dir, hostNetwork, ...FAST_API }).catch((err: unknown) => err as Error);
  if (cloud instanceof LocalCloud) {
    await cloud.stop();
    throw new Error(`a cloud started on ${dir} (network ${cloud.hostNetworkChoice.network}); it should have been refused`);
  }
  return cloud;
}

afterAll(async () => {
  for (const cloud of clouds) await cloud.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function api<T>(cloud: LocalCloud, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(cloud.apiUrl + route, {
    method,
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as T;
}

/** A droplet made through the API, once its host runs: its id and public address. */
async function droplet(cloud: LocalCloud, name: string): Promise<{ id: number; address: string }> {
  const { droplet } = await api<{ droplet: { id: number } }>(cloud, 'POST', '/v2/droplets', {
    name,
    region: 'fra1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
  });
  for (;;) {
    const { droplet: now } = await api<{ droplet: { status: string; networks: { v4: { ip_address: string; type: string }[] } } }>(
      cloud,
      'GET',
      `/v2/droplets/${droplet.id}`,
    );
    if (now.status === 'active') {
      if (!(await cloud.hosts!.ready(droplet.id))) throw new Error(`droplet ${droplet.id}'s host did not start`);
      return { id: droplet.id, address: now.networks.v4.find((n) => n.type === 'public')!.ip_address };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The first line an SSH server sends on address:22 (its version banner). */
function sshBanner(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(22, address);
    let text = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no SSH banner from ${address}:22 within 10 s`)));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) {
        socket.destroy();
        resolve(text.split('\n')[0]!.trim());
      }
    });
    socket.on('error', reject);
  });
}

test('a second cloud takes its own network; a restart keeps the remembered one; contradictions are refused', async () => {
  const dirA = stateDir();
  const dirB = stateDir();
  const a = await start(dirA);
  const na = a.hostNetworkChoice.network;
  expect(['default', 'next free']).toContain(a.hostNetworkChoice.how);
  expect(readFileSync(rememberedNetworkFile(dirA), 'utf8')).toBe(`${na}\n`);
  // Nothing else may take A's network while A runs.
  await expect(HostNetworkClaim.take(na)).rejects.toBeInstanceOf(HostNetworkInUse);

  // Before claims chose by themselves, this start was refused naming OPSFLOW_LOCALCLOUD_HOST_NETWORK.
  const b = await start(dirB);
  const nb = b.hostNetworkChoice.network;
  expect(nb).not.toBe(na);
  if (na === DEFAULT_HOST_NETWORK) expect(b.hostNetworkChoice.how).toBe('next free');
  expect(readFileSync(rememberedNetworkFile(dirB), 'utf8')).toBe(`${nb}\n`);

  // Droplets with the same id in both clouds, each on its cloud's network, each answering SSH.
  const [da, db] = await Promise.all([droplet(a, 'web'), droplet(b, 'web')]);
  expect(da.id).toBe(db.id);
  expect(da.address.startsWith(`127.${na}.`)).toBe(true);
  expect(db.address).toBe(da.address.replace(`127.${na}.`, `127.${nb}.`));
  expect(await sshBanner(da.address)).toMatch(/^SSH-2\.0-/);
  expect(await sshBanner(db.address)).toMatch(/^SSH-2\.0-/);

  // A restarts with nothing said: its remembered network, its droplet back on the same address.
  await stop(a);
  const a2 = await start(dirA);
  expect(a2.hostNetworkChoice).toEqual({ network: na, how: 'remembered', file: rememberedNetworkFile(dirA) });
  expect(await a2.hosts!.ready(da.id)).toBe(true);
  expect(await sshBanner(da.address)).toMatch(/^SSH-2\.0-/);
  expect(await sshBanner(db.address)).toMatch(/^SSH-2\.0-/); // B never noticed

  // A state folder whose droplets live on B's network cannot start while B holds it: said with why.
  const dirD = stateDir();
  writeFileSync(rememberedNetworkFile(dirD), `${nb}\n`);
  const refused = await refusal(dirD);
  expect(refused).toBeInstanceOf(HostNetworkInUse);
  expect(refused.message).toBe(
    `host network ${nb} (droplet addresses 127.${nb}.x.y) is in use by another local cloud on this machine (pid ${process.pid}): ` +
      `this state folder's droplets live there (remembered in ${rememberedNetworkFile(dirD)}): stop that cloud, or start this one with another state folder`,
  );

  // A network given that contradicts the remembered one would move the droplets: refused before any claim.
  await stop(a2);
  const moved = await refusal(dirA, nb);
  expect(moved.message).toContain(
    `keeps its droplets on host network ${na} (127.${na}.x.y, remembered in ${rememberedNetworkFile(dirA)}), not ${nb}`,
  );

  writeFileSync(rememberedNetworkFile(dirD), 'hundred\n');
  const garbled = await refusal(dirD);
  expect(garbled.message).toContain(`should hold the host network this state folder's droplets use (1 to 254), not "hundred"`);
});
