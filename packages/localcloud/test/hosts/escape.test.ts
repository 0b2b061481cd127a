// A droplet cannot reach the machine it runs on: logged in over SSH as root in a droplet of a
// running local cloud, every way out that worked against the first sandbox (machine pid and
// network namespaces, full capabilities) is tried, and each is refused. What a droplet must
// still do (reach its VPC neighbours and the cloud API) is checked alongside, so a sandbox that
// refused everything would fail too.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client } from 'ssh2';
import type { LocalCloud } from '../../src';
import { cloudUidRange } from '../../src/hosts/isolation/uid-range';
import { connect, createHostDroplet, exec, registerKey, type ExecResult, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';
import { tempDir } from '../../../../test/helpers/temp';

const key = generateEd25519();
const marker = `escape-${process.pid}-${Date.now()}`;
const keyDir = tempDir('escape-keys');
/** The test's stand-in for .opsflow/ssh/deploy: a private key on the machine. */
const deployKey = path.join(keyDir, 'deploy');
let cloud: LocalCloud;
let stateDir: string;
let web1: TestDroplet;
let web2: TestDroplet;
let client: Client;
/** A machine process holding a secret in its environment, as the worker holds database passwords. */
let worker: ChildProcess;
const listeners: net.Server[] = [];
/** Machine services on 127.0.0.1: Temporal's frontend, Web UI and the worker's metrics where free, and a random port. */
const machinePorts: number[] = [];

function listen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined); // the test's own probe hangs up at once
      socket.end('machine service\n');
    });
    server.once('error', () => resolve(undefined)); // taken: something of the machine answers there already
    server.listen(port, '127.0.0.1', () => {
      listeners.push(server);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

beforeAll(async () => {
  writeFileSync(deployKey, key.private, { mode: 0o600 });
  ({ cloud, stateDir } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }).then(async (started) => {
    const keyId = await registerKey(started.api, 'deploy', key.public);
    web1 = await createHostDroplet(started.cloud, started.api, 'web-1', [keyId]);
    web2 = await createHostDroplet(started.cloud, started.api, 'web-2', [keyId]);
    return started;
  }));
  ({ client } = await connect(web1, key.private));
  worker = spawn('sleep', ['600'], { env: { STACK_A_POSTGRES_PASSWORD: marker }, stdio: 'ignore', detached: true });
  for (const port of [7233, 8233, 9464, 0]) {
    const bound = await listen(port);
    machinePorts.push(bound ?? port);
  }
}, 120_000);

afterAll(async () => {
  client?.end();
  worker?.kill('SIGKILL');
  for (const server of listeners) server.close();
  await cloud?.stop();
});

function inDroplet(command: string): Promise<ExecResult> {
  return exec(client, command);
}

/** Runs an attempt in the droplet; it must fail, and its output must not carry `secret`. */
async function refused(command: string, secret?: string): Promise<ExecResult> {
  const result = await inDroplet(command);
  expect({ command, code: result.code === 0 ? 'succeeded' : 'refused' }).toEqual({ command, code: 'refused' });
  if (secret !== undefined) expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

function hostDir(droplet: TestDroplet): string {
  return path.join(stateDir, 'hosts', String(droplet.id));
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('root in the droplet is root there only: its own processes, an unprivileged host uid, few capabilities', async () => {
  const id = await inDroplet('id -u; ps -eo pid= | wc -l; grep CapEff /proc/self/status; touch /root/owned-by-me');
  expect(id.code).toBe(0);
  const [uid, processes, capEff] = id.stdout.trim().split('\n');
  expect(uid).toBe('0');
  // pid 1 (the namespace's init), bash, ps, wc: nothing of the machine.
  expect(Number(processes)).toBeLessThan(10);
  expect(capEff).not.toBe('CapEff:\t000001fffeffffff');
  const owner = statSync(path.join(hostDir(web1), 'root', 'root', 'owned-by-me')).uid;
  // A uid of this cloud's own block (its host network's), which no other cloud's droplets use.
  const block = cloudUidRange(cloud.ctx.hostNetwork);
  expect(owner).toBeGreaterThanOrEqual(block.first);
  expect(owner).toBeLessThan(block.end);
});

test("the machine's files are out of reach: /proc/<pid>/root, /etc/shadow, /tmp, another droplet, the deploy key", async () => {
  const shadow = readFileSync('/etc/shadow', 'utf8').split('\n')[0]!;
  // 1. The local cloud's own root through /proc, by its pid and by every pid the droplet sees.
  await refused(`ls /proc/${process.pid}/root${keyDir}`);
  await refused(`ls /proc/${process.pid}/root/`, 'work');
  const anyRoot = await inDroplet(`for p in /proc/[0-9]*; do ls "$p/root${keyDir}" 2>/dev/null; done; true`);
  expect(anyRoot.stdout).toBe('');
  // 2. The machine's /etc/shadow, directly and through any process's root.
  await refused('cat /etc/shadow', shadow);
  const shadows = await inDroplet('cat /proc/[0-9]*/root/etc/shadow 2>&1; true');
  expect(shadows.stdout).not.toContain(shadow);
  // 3. The machine's /tmp: nothing written there appears on the machine.
  await inDroplet(
    `echo x > /proc/${process.pid}/root/tmp/${marker}; for p in /proc/[0-9]*; do echo x > "$p/root/tmp/${marker}"; done; true`,
  );
  expect(existsSync(path.join('/tmp', marker))).toBe(false);
  // 4. Another droplet's host private key, and 5. its root.
  const web2Key = path.join(hostDir(web2), 'ssh_host_ed25519_key');
  expect(readFileSync(web2Key, 'utf8')).toContain('PRIVATE KEY');
  await refused(`cat ${web2Key}`, 'PRIVATE KEY');
  const keys = await inDroplet(`cat /proc/[0-9]*/root${web2Key} 2>&1; true`);
  expect(keys.stdout).not.toContain('PRIVATE KEY');
  await refused(`echo x > ${path.join(hostDir(web2), 'root', 'root', marker)}`);
  await inDroplet(`for p in /proc/[0-9]*; do echo x > "$p/root${path.join(hostDir(web2), 'root', 'root', marker)}"; done; true`);
  expect(existsSync(path.join(hostDir(web2), 'root', 'root', marker))).toBe(false);
  // 6. The deploy key the worker logs in with.
  await refused(`cat ${deployKey}`, 'PRIVATE KEY');
  await refused(`cat /proc/${process.pid}/root${deployKey}`, 'PRIVATE KEY');
});

test("the machine's processes are out of reach: environ, kill, ptrace, /proc/<pid>/mem, cgroups", async () => {
  const pid = worker.pid!;
  expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).toContain(marker);
  // 7. A worker's environment (database passwords).
  await refused(`cat /proc/${pid}/environ`, marker);
  const environs = await inDroplet('cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"; true');
  expect(environs.stdout).not.toContain(marker);
  // 8. ptrace: of the machine process, and of pid 1 (the namespace's init, a machine process).
  // An attached strace runs until timeout ends it (status 124); a refused one fails at once.
  await refused(`timeout 3 strace -p ${pid} -o /dev/null; test $? -eq 124`);
  await refused(`timeout 60 gdb -p ${pid} -batch -ex "info inferiors" 2>&1 | grep -q "process ${pid} "`);
  await refused('timeout 3 strace -p 1 -o /dev/null; test $? -eq 124');
  await refused(`echo x > /proc/${pid}/mem`);
  await refused('echo x > /proc/1/mem');
  // 9. kill -9 of a machine process: it lives on.
  await refused(`kill -9 ${pid}`);
  await refused(`kill -9 ${process.pid}`);
  await refused('kill -9 1');
  expect(alive(pid)).toBe(true);
  // 10. The machine's cgroups (and so every other process's).
  await refused('ls /sys/fs/cgroup/memory');
  await refused(`cat /sys/fs/cgroup/memory/memory.usage_in_bytes`);
  expect(alive(pid)).toBe(true);
});

test('no way to gain privilege: mount, nsenter, unshare, chroot, raw devices', async () => {
  // 11. mount, through the volume shim and the real tool: nothing gets mounted.
  await refused('mount -t tmpfs none /mnt; grep -q " /mnt tmpfs " /proc/self/mounts');
  await refused('/usr/bin/mount --bind / /mnt');
  await refused('/usr/bin/mount -t proc proc /mnt');
  // 12. nsenter into pid 1's namespaces (the machine's, before).
  await refused('nsenter -t 1 -a true');
  await refused(`nsenter -t ${process.pid} -m -p true`);
  // 13. unshare: a user namespace, a mount namespace.
  await refused('unshare -r true');
  await refused('unshare -m true');
  await refused('unshare -U -m true');
  // 14. chroot.
  await refused('mkdir -p /tmp/jail && chroot /tmp/jail /bin/true');
  // 15. Raw devices: disks, memory, the kernel log; and making device nodes.
  await refused('head -c 512 /dev/vda > /dev/null');
  await refused('head -c 512 /dev/sda > /dev/null');
  await refused('head -c 16 /dev/mem > /dev/null');
  await refused('head -c 16 /dev/kmsg > /dev/null');
  await refused('mknod /tmp/disk b 254 0');
  await refused('echo 1 > /proc/sys/kernel/sysrq');
});

test("the machine's services on 127.0.0.1 are out of reach; other droplets and the cloud API are not", async () => {
  // 16. Temporal's frontend, its Web UI, the worker's metrics, any other machine port on 127.0.0.1:
  // each answers the machine, none answers the droplet.
  for (const port of machinePorts) {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    await refused(`timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}'`);
    await refused(`curl -sS --max-time 10 http://127.0.0.1:${port}/`);
    await refused(`curl -sS --max-time 10 http://localhost:${port}/`);
  }
  // Still there: the other droplet of the VPC (its SSH), and the cloud API.
  const neighbour = await inDroplet(`timeout 10 bash -c 'exec 3<>/dev/tcp/${web2.address}/${web2.port}; head -c 7 <&3'`);
  expect(neighbour).toMatchObject({ code: 0, stdout: 'SSH-2.0' });
  const api = await inDroplet(`curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${cloud.apiUrl}/v2/account`);
  expect(api).toMatchObject({ code: 0, stdout: '401' });
});
