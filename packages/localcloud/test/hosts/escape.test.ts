// A droplet cannot reach the machine it runs on: logged in over SSH as root in a droplet of a
// running local cloud, every way out that worked against the first sandbox (machine pid and
// network namespaces, full capabilities) is tried, and each is refused. What a droplet must
// still do (reach its VPC neighbours and the cloud API) is checked alongside, so a sandbox that
// refused everything would fail too.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client } from 'ssh2';
import type { LocalCloud } from '../../src';
import { cloudUidRange } from '../../src/hosts/isolation/uid-range';
import { connect, createHostDroplet, exec, registerKey, type ExecResult, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { freePort } from '../../../../test/helpers/processes';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';
import { tempDir } from '../../../../test/helpers/temp';
import { until } from '../../../../test/helpers/until';

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
/**
 * Machine services on 127.0.0.1: Temporal's frontend, Web UI, the worker's metrics, PostgreSQL,
 * Redis, MariaDB, RabbitMQ (AMQP, management) where this machine runs none, and a fresh port.
 */
const machinePorts: number[] = [];
/** Machine services on every address: one on 0.0.0.0, one on :: (Node's default, both families). */
const wildcardPorts: number[] = [];
/** A machine UDP socket on 0.0.0.0 and what reached it. */
let udpSocket: dgram.Socket;
let udpPort: number;
const udpReceived: string[] = [];
/** Where droplets' own servers listen in the test, on their own addresses. */
let dropletPort: number;
/**
 * Stands in for Spaces: an HTTP server on 127.0.0.1 that the cloud opens to droplets as
 * `opsflow localcloud --spaces` opens MinIO's (what is judged is the address and port, not the server).
 */
let spacesPort: number;

function listen(port: number, host = '127.0.0.1'): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined); // the test's own probe hangs up at once
      socket.end('machine service\n');
    });
    server.once('error', () => resolve(undefined)); // taken: something of the machine answers there already
    server.listen(port, host, () => {
      listeners.push(server);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

beforeAll(async () => {
  writeFileSync(deployKey, key.private, { mode: 0o600 });
  // A state folder as versions before left it (0755): the cloud makes it private when it starts.
  const openStateDir = path.join(tempDir('escape-state'), 'cloud');
  mkdirSync(openStateDir, { mode: 0o755 });
  chmodSync(openStateDir, 0o755);
  const options = { stateDir: openStateDir, rateLimit: { perMinute: 100_000, perHour: 100_000 } };
  ({ cloud, stateDir } = await startLocalCloud(options).then(async (started) => {
    const keyId = await registerKey(started.api, 'deploy', key.public);
    web1 = await createHostDroplet(started.cloud, started.api, 'web-1', [keyId]);
    web2 = await createHostDroplet(started.cloud, started.api, 'web-2', [keyId]);
    return started;
  }));
  ({ client } = await connect(web1, key.private));
  worker = spawn('sleep', ['600'], { env: { STACK_A_POSTGRES_PASSWORD: marker }, stdio: 'ignore', detached: true });
  for (const port of [7233, 8233, 9464, 5432, 6379, 3306, 5672, 15672, 0]) {
    const bound = await listen(port);
    machinePorts.push(bound ?? port);
  }
  for (const host of ['0.0.0.0', '::']) wildcardPorts.push((await listen(0, host))!);
  udpSocket = dgram.createSocket('udp4', (message) => udpReceived.push(message.toString().trim()));
  await new Promise<void>((resolve) => udpSocket.bind(0, '0.0.0.0', resolve));
  udpPort = udpSocket.address().port;
  dropletPort = await freePort();
  const spaces = http.createServer((_request, response) => response.end('spaces'));
  listeners.push(spaces);
  spacesPort = await new Promise<number>((resolve) => spaces.listen(0, '127.0.0.1', () => resolve((spaces.address() as AddressInfo).port)));
}, 120_000);

afterAll(async () => {
  client?.end();
  worker?.kill('SIGKILL');
  for (const server of listeners) server.close();
  udpSocket?.close();
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

/** A web server in a droplet on `address`:dropletPort for a minute, serving `text`, left running in the background. */
function serve(text: string, address: string): string {
  const dir = `/tmp/serve-${text}`;
  return `mkdir -p ${dir} && echo ${text} > ${dir}/index.html && (setsid timeout 60 python3 -m http.server -b ${address} -d ${dir} ${dropletPort} </dev/null >/dev/null 2>&1 &)`;
}

/** Fetches / from address:dropletPort once its server answers (it was started in the background). */
function fetchFrom(address: string): string {
  return `for i in $(seq 300); do out=$(curl -sf --max-time 5 http://${address}:${dropletPort}/) && { echo "$out"; exit 0; }; sleep 0.1; done; exit 1`;
}

/** Whether the machine itself connects to address:port (the service is there to be refused). */
function connectsFromMachine(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, address, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
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

test("the machine's services on 127.0.0.1 are out of reach: Temporal, metrics, databases, queues, a fresh port", async () => {
  // 16. Temporal's frontend, its Web UI, the worker's metrics, PostgreSQL, Redis, MariaDB, RabbitMQ
  // (the machine's own where they run, else the test's stand-in) and a fresh port on 127.0.0.1:
  // each answers the machine, none answers the droplet, and each refusal comes at once.
  for (const port of machinePorts) {
    await expect(connectsFromMachine('127.0.0.1', port)).resolves.toBe(true);
    const tcp = await refused(`timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}'`);
    expect({ port, said: tcp.stderr }).toEqual({ port, said: expect.stringContaining('Connection refused') });
    await refused(`curl -sS --max-time 10 http://127.0.0.1:${port}/`);
    await refused(`curl -sS --max-time 10 http://localhost:${port}/`);
  }
});

test('a machine service on every address (0.0.0.0, ::) is out of reach at every address a droplet can name', async () => {
  // 17. What answers on 0.0.0.0 answers on every 127.x address, the droplets' own among them: the
  // connection is refused where it would land, whichever address the droplet names.
  const network = cloud.ctx.hostNetwork;
  const otherNetwork = network === 254 ? 253 : network + 1;
  const targets = [
    web1.address,
    web2.address,
    `127.${network}.0.1`,
    `127.${network}.200.9`,
    '127.0.0.1',
    '127.0.0.2',
    `127.${otherNetwork}.0.2`,
  ];
  for (const port of wildcardPorts) {
    for (const address of targets) {
      await expect(connectsFromMachine(address, port)).resolves.toBe(true);
      const tcp = await refused(`timeout 10 bash -c 'exec 3<>/dev/tcp/${address}/${port}'`);
      expect({ address, port, said: tcp.stderr }).toEqual({ address, port, said: expect.stringContaining('Connection refused') });
    }
    await refused(`curl -sS --max-time 10 -g http://[::1]:${port}/`);
  }
  // UDP alike: datagrams sent from the droplet to a machine socket on 0.0.0.0 never arrive (the
  // sender learns it: ECONNREFUSED), while the machine's own arrive. Counted at the socket.
  const before = udpReceived.length;
  await refused(
    `exec 3<>/dev/udp/${web1.address}/${udpPort}; for i in 1 2 3; do echo droplet >&3 || exit 1; sleep 0.2; done; exec 3<>/dev/udp/127.0.0.1/${udpPort}; echo droplet >&3`,
  );
  await new Promise<void>((resolve, reject) =>
    udpSocket.send('machine', udpPort, web1.address, (error) => (error ? reject(error) : resolve())),
  );
  await until("the machine's own datagram", async () => (udpReceived.length > before ? true : undefined), 30_000);
  expect(udpReceived.slice(before)).toEqual(['machine']);
});

test('what a droplet must still reach: its own services, another droplet of its VPC, the cloud API, Spaces', async () => {
  // Its own server on its own address, from itself.
  const own = await inDroplet(`${serve('own', web1.address)}; ${fetchFrom(web1.address)}`);
  expect(own).toMatchObject({ code: 0, stdout: 'own\n' });
  // The other droplet: its SSH (the local cloud's daemon on its address) and a server its root runs.
  const neighbour = await inDroplet(`timeout 10 bash -c 'exec 3<>/dev/tcp/${web2.address}/${web2.port}; head -c 7 <&3'`);
  expect(neighbour).toMatchObject({ code: 0, stdout: 'SSH-2.0' });
  const web2Client = (await connect(web2, key.private)).client;
  try {
    expect(await exec(web2Client, serve('web-2', web2.address))).toMatchObject({ code: 0 });
  } finally {
    web2Client.end();
  }
  expect(await inDroplet(fetchFrom(web2.address))).toMatchObject({ code: 0, stdout: 'web-2\n' });
  // The cloud API and Spaces, at their exact address and port.
  const api = await inDroplet(`curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${cloud.apiUrl}/v2/account`);
  expect(api).toMatchObject({ code: 0, stdout: '401' });
  const spaces = `curl -sS --max-time 10 http://127.0.0.1:${spacesPort}/`;
  await refused(spaces); // a machine port like any other, until the cloud opens it
  await cloud.hosts!.allowMachinePort(spacesPort, '127.0.0.1');
  expect(await inDroplet(spaces)).toMatchObject({ code: 0, stdout: 'spaces' });
});

test("another user of the machine reads nothing of the cloud's state: its folders are 0700", async () => {
  const hosts = path.join(stateDir, 'hosts');
  const folders = [stateDir, hosts, hostDir(web1), hostDir(web2)];
  expect(folders.map((dir) => [dir, (statSync(dir).mode & 0o777).toString(8)])).toEqual(folders.map((dir) => [dir, '700']));
  const secrets = [
    path.join(stateDir, 'token'),
    path.join(stateDir, 'state.json'),
    path.join(hostDir(web1), 'ssh_host_ed25519_key'),
    path.join(hostDir(web1), 'root', 'etc', 'hostname'),
  ];
  for (const file of secrets) {
    // The machine's root reads each (so the refusal below is the folders', not a missing file).
    expect(readFileSync(file).length).toBeGreaterThan(0);
    const asNobody = await new Promise<number>((resolve) =>
      execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', file], (error) =>
        resolve(error ? ((error as { code?: number }).code ?? 1) : 0),
      ),
    );
    expect({ file, asNobody: asNobody === 0 ? 'read' : 'refused' }).toEqual({ file, asNobody: 'refused' });
  }
});
