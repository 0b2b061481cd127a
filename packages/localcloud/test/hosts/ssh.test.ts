// Droplets are hosts: real SSH on each droplet's own address, with the keys it was created with,
// commands confined to the droplet's folder, SFTP, signals, a host key for life, and SSH faults.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalCloud } from '../../src';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { connect, createHostDroplet, exec, fingerprintOf, registerKey, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';
import { tempDir } from '../../../../test/helpers/temp';

const run = promisify(execFile);
const key = generateEd25519();
const stranger = generateEd25519();
let cloud: LocalCloud;
let api: ContractClient;
let stateDir: string;
let droplet: TestDroplet;
const keyDir = tempDir('ssh-client');
const keyFile = path.join(keyDir, 'id_ed25519');

beforeAll(async () => {
  writeFileSync(keyFile, key.private, { mode: 0o600 });
  ({ cloud, api, stateDir } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const keyId = await registerKey(api, 'deploy', key.public);
  droplet = await createHostDroplet(cloud, api, 'web-1', [keyId]);
});
afterAll(async () => {
  await cloud?.stop();
});

function hostRoot(dropletId: number): string {
  return path.join(stateDir, 'hosts', String(dropletId), 'root');
}

test('ssh2 logs in with the droplet key: exit codes, stdout and stderr come back apart; the cloud counts the login and both commands', async () => {
  const before = { ...cloud.hosts!.sshCounts };
  const { client } = await connect(droplet, key.private);
  try {
    const result = await exec(client, 'echo out; echo err >&2; hostname; exit 3');
    expect(result).toEqual({ code: 3, signal: undefined, stdout: 'out\nweb-1\n', stderr: 'err\n' });
    const addr = await exec(client, 'cat /etc/hosts');
    expect(addr.stdout).toContain(`${droplet.address}\tweb-1`);
  } finally {
    client.end();
  }
  expect(cloud.hosts!.sshCounts).toEqual({ logins: before.logins + 1, commands: before.commands + 2 });
});

test('a signal sent over the channel reaches the command, which ends by it', async () => {
  const { client } = await connect(droplet, key.private);
  try {
    // Signalled once it has started (its output says so), not after a guess at how long that takes.
    const result = await exec(client, 'echo started; sleep 30', (channel) => channel.once('data', () => channel.signal('TERM')));
    expect(result.signal).toBe('SIGTERM'); // ssh2 reports the wire's "TERM" with its SIG prefix
    expect(result.stdout).toBe('started\n');
  } finally {
    client.end();
  }
});

test('writes to /etc, /opt and /root change only the droplet, never the machine', async () => {
  const marker = `proof-${process.pid}-${Date.now()}`;
  const { client } = await connect(droplet, key.private);
  try {
    const result = await exec(
      client,
      `echo ${marker} > /etc/${marker} && mkdir -p /opt/${marker} && touch /root/${marker} && ls /etc/${marker}`,
    );
    expect(result.code).toBe(0);
    for (const dir of ['etc', 'opt', 'root']) {
      expect(existsSync(path.join('/', dir, marker))).toBe(false);
      expect(existsSync(path.join(hostRoot(droplet.id), dir, marker))).toBe(true);
    }
    // /usr is the machine's, read-only.
    const usr = await exec(client, `touch /usr/${marker}`);
    expect(usr.code).not.toBe(0);
    expect(usr.stderr).toMatch(/Read-only file system/);
  } finally {
    client.end();
  }
});

test('SFTP over ssh2 copies a file in and out of the droplet', async () => {
  const { client } = await connect(droplet, key.private);
  try {
    const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) => client.sftp((e, s) => (e ? reject(e) : resolve(s))));
    const content = Buffer.from('release: 1.2.3\n'.repeat(1000));
    await new Promise<void>((resolve, reject) => sftp.writeFile('/root/release.txt', content, (e) => (e ? reject(e) : resolve())));
    expect(readFileSync(path.join(hostRoot(droplet.id), 'root', 'release.txt'))).toEqual(content);
    const back = await new Promise<Buffer>((resolve, reject) => sftp.readFile('/root/release.txt', (e, b) => (e ? reject(e) : resolve(b))));
    expect(back).toEqual(content);
    // SFTP is confined too: the machine's /etc/shadow is not there.
    await expect(new Promise((resolve, reject) => sftp.readFile('/etc/shadow', (e, b) => (e ? reject(e) : resolve(b))))).rejects.toThrow(
      /No such file/,
    );
  } finally {
    client.end();
  }
});

test("OpenSSH's ssh and sftp log in with the key, checking the droplet's host key", async () => {
  const hostPub = readFileSync(path.join(stateDir, 'hosts', String(droplet.id), 'ssh_host_ed25519_key.pub'), 'utf8').trim();
  const knownHosts = path.join(keyDir, 'known_hosts');
  writeFileSync(knownHosts, `${droplet.address} ${hostPub}\n`);
  const options = [
    '-i',
    keyFile,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'IdentitiesOnly=yes',
    '-p',
    String(droplet.port),
  ];
  const { stdout } = await run('ssh', [...options, `root@${droplet.address}`, 'uname -s; cat /etc/hostname']);
  expect(stdout).toBe('Linux\nweb-1\n');
  const local = path.join(keyDir, 'upload.txt');
  writeFileSync(local, 'hello from openssh\n');
  const batch = path.join(keyDir, 'batch');
  writeFileSync(batch, `put ${local} /root/upload.txt\nget /root/upload.txt ${local}.back\n`);
  const sftpOptions = options.map((o) => (o === '-p' ? '-P' : o));
  await run('sftp', [...sftpOptions, '-b', batch, `root@${droplet.address}`]);
  expect(readFileSync(path.join(hostRoot(droplet.id), 'root', 'upload.txt'), 'utf8')).toBe('hello from openssh\n');
  expect(readFileSync(`${local}.back`, 'utf8')).toBe('hello from openssh\n');
  // A wrong known host key makes OpenSSH refuse, as it must.
  writeFileSync(knownHosts, `${droplet.address} ${generateEd25519().public}\n`);
  await expect(run('ssh', [...options, `root@${droplet.address}`, 'true'])).rejects.toMatchObject({
    stderr: expect.stringMatching(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/),
  });
});

test('a key that was not given at creation is refused', async () => {
  const before = { ...cloud.hosts!.sshCounts };
  await expect(connect(droplet, stranger.private)).rejects.toThrow(/authentication methods failed/);
  expect(cloud.hosts!.sshCounts).toEqual(before); // a refused login is not a login
  const strangerFile = path.join(keyDir, 'stranger');
  writeFileSync(strangerFile, stranger.private, { mode: 0o600 });
  await expect(
    run('ssh', [
      '-i',
      strangerFile,
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'IdentitiesOnly=yes',
      '-p',
      String(droplet.port),
      `root@${droplet.address}`,
      'true',
    ]),
  ).rejects.toMatchObject({ stderr: expect.stringMatching(/Permission denied \(publickey\)/) });
});

test('two droplets are two hosts: separate addresses, filesystems and host keys', async () => {
  const keyId = (await api.call<{ ssh_keys: { id: number }[] }>('GET', '/v2/account/keys')).body.ssh_keys[0]!.id;
  const other = await createHostDroplet(cloud, api, 'web-2', [keyId]);
  expect(other.address).not.toBe(droplet.address);
  const a = await connect(droplet, key.private);
  const b = await connect(other, key.private);
  try {
    await exec(a.client, 'echo a > /root/which');
    expect((await exec(b.client, 'cat /root/which 2>&1; hostname')).stdout).toMatch(/No such file[\s\S]*web-2/);
    expect(a.fingerprint).not.toBe(b.fingerprint);
  } finally {
    a.client.end();
    b.client.end();
  }
  // Destroying the droplet stops its host and removes its folder.
  expect((await api.call('DELETE', `/v2/droplets/${other.id}`)).status).toBe(204);
  await waitUntil(() => !existsSync(path.join(stateDir, 'hosts', String(other.id))));
  await expect(connect(other, key.private, 2000)).rejects.toThrow(/ECONNREFUSED/);
});

test('faults: a host refusing SSH, and a dark region whose droplets never answer', async () => {
  await cloud.ctx.faults.set({ refuseSsh: [droplet.id] });
  await expect(connect(droplet, key.private, 3000)).rejects.toThrow(/ECONNRESET|closed|Connection lost/i);
  cloud.ctx.faults.set({ darkRegions: [droplet.region] });
  await expect(connect(droplet, key.private, 1500)).rejects.toThrow(/Timed out while waiting for handshake/);
  cloud.ctx.faults.set({});
  const { client } = await connect(droplet, key.private);
  client.end();
});

test("the host key stays the same for the droplet's whole life, across a restart of the local cloud", async () => {
  const before = await connect(droplet, key.private);
  await exec(before.client, 'echo kept > /root/kept');
  before.client.end();
  await cloud.stop();
  ({ cloud, api } = await startLocalCloud({ stateDir, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  expect(await cloud.hosts!.ready(droplet.id)).toBe(true);
  const after = await connect(droplet, key.private);
  try {
    expect(after.fingerprint).toBe(before.fingerprint);
    expect(after.fingerprint).toBe(
      fingerprintOf(readFileSync(path.join(stateDir, 'hosts', String(droplet.id), 'ssh_host_ed25519_key.pub'), 'utf8')),
    );
    expect((await exec(after.client, 'cat /root/kept')).stdout).toBe('kept\n');
  } finally {
    after.client.end();
  }
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
