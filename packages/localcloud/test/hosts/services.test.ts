// The services inside a droplet, driven as a deploy script drives them: docker, docker compose,
// systemctl and apt-get run inside the droplet's sandbox (no SSH needed), talking to the droplet's
// services manager. Real PostgreSQL, MariaDB and Redis servers on the droplet's own address, small
// HTTP services for application images, units that outlive the command that started them, and a
// restart of the local cloud that brings everything back.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeDropletFile } from '../../src/hosts/isolation/droplet-files';
import { DropletNamespaces } from '../../src/hosts/isolation/namespaces';
import { dropletUidBase } from '../../src/hosts/isolation/uid-range';
import type { HostNetworkClaim } from '../../src/hosts/isolation/network-claim';
import { prepareEtcTemplate, prepareRoot, resolveBwrap, sandboxEnv, spawnInSandbox, type DropletSandbox } from '../../src/hosts/sandbox';
import { DropletServices } from '../../src/hosts/services/droplet-services';
import { PROJECT_ROOT } from '../../../../src/paths';
import { until } from '../../../../test/helpers/until';
import { claimFreeHostNetwork } from '../../../../test/helpers/localcloud';

const run = promisify(execFile);
/** The package's sources, which a separate process (a crashed local cloud) loads with tsx. */
const PACKAGE_SRC = path.join(__dirname, '..', '..', 'src');
// A folder of its own rather than tempDir(): the shared manifest lets another jest run that ends
// meanwhile delete it under the running servers. Removed in afterAll.
const dir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-services-'));
const droplet = {
  dropletId: 9001,
  name: 'svc-1',
  root: path.join(dir, 'root'),
  address: '', // 127.<claimed network>.250.10, set in beforeAll
  privateAddress: '10.250.0.10',
  shimDir: path.join(dir, 'shims'),
};
/** No local cloud runs here, but the droplets take a host network's addresses and uids: held, like a cloud's. */
let claim: HostNetworkClaim;
/** The droplet with its namespaces, made in beforeAll. */
let sandbox: DropletSandbox;
let address: string;
const isolations: DropletNamespaces[] = [];

async function isolated<T extends { dropletId: number }>(spec: T): Promise<T & { isolation: DropletNamespaces }> {
  const isolation = await DropletNamespaces.create(dropletUidBase(claim.network, spec.dropletId % 10), resolveBwrap());
  isolations.push(isolation);
  return { ...spec, isolation };
}
let services: DropletServices;

interface ShResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a bash script inside the droplet, as an SSH exec would. */
function sh(
  script: string,
  options: { env?: Record<string, string>; onStdout?: (text: string) => void; in?: DropletSandbox } = {},
): Promise<ShResult> {
  const child = spawnInSandbox(options.in ?? sandbox, ['/bin/bash', '-c', script], {
    env: sandboxEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    options.onStdout?.(chunk.toString());
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function ok(script: string, env?: Record<string, string>, droplet?: DropletSandbox): Promise<ShResult> {
  const result = await sh(script, { env, in: droplet });
  if (result.code !== 0) throw new Error(`\`${script}\` exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Writes a file into the droplet's filesystem, owned by the droplet's root as an upload would be. */
function put(insidePath: string, content: string): void {
  writeDropletFile(sandbox, path.join(sandbox.root, insidePath), content);
}

async function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${address}:${port}${urlPath}`);
  return { status: response.status, body: await response.text() };
}

function refused(port: number, host = address): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Whether a process runs (a zombie waiting for init to reap it has ended). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** psql from the machine, over TCP to the droplet's address, with a password. */
async function psql(sql: string): Promise<string> {
  const { stdout } = await run('psql', ['-h', address, '-p', '5432', '-U', 'app', '-d', 'appdb', '-Atc', sql], {
    env: { ...process.env, PGPASSWORD: 's3cret pass', PGCONNECT_TIMEOUT: '5' },
  });
  return stdout.trim();
}

const COMPOSE = `
name: shop
services:
  db:
    image: postgres:15
    container_name: db
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: \${DB_PASSWORD}
      POSTGRES_DB: appdb
    ports: ["5432:5432"]
    volumes:
      - pgdata:/var/lib/postgresql/data
  web:
    image: registry.example.com/shop/web:\${WEB_TAG:-1.4.2}
    ports: ["8081:8080"]
    env_file: web.env
    environment:
      - DATABASE_URL=postgres://app@db/appdb
    depends_on: [db]
  api:
    image: registry.example.com/shop/api:2.0-unhealthy
    ports:
      - target: 80
        published: 8082
    environment:
      MODE: \${MODE:-live}
    depends_on:
      db:
        condition: service_started
volumes:
  pgdata:
`;

beforeAll(async () => {
  claim = await claimFreeHostNetwork();
  address = droplet.address = `127.${claim.network}.250.10`;
  sandbox = await isolated(droplet);
  prepareEtcTemplate(path.join(dir, 'etc-template'));
  mkdirSync(sandbox.root, { recursive: true });
  await prepareRoot(sandbox, path.join(dir, 'etc-template'));
  DropletServices.writeShims(sandbox.shimDir);
  services = new DropletServices(sandbox);
  await services.start();
  put('/root/shop/compose.yaml', COMPOSE);
  put('/root/shop/.env', 'DB_PASSWORD="s3cret pass"\n');
  put('/root/shop/web.env', '# web settings\nLOG_LEVEL=info\n');
}, 60_000);

afterAll(async () => {
  await services?.stop();
  for (const isolation of isolations) await isolation.close();
  await claim?.release();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('a compose file with PostgreSQL and two application services comes up; psql on the machine reaches the database', async () => {
  const pull = await ok('cd /root/shop && docker compose pull');
  expect(pull.stderr).toContain('db Pulled');
  const up = await ok('cd /root/shop && docker compose up -d');
  expect(up.stderr).toMatch(/Container db\s+Started/);
  expect(up.stderr).toMatch(/Container shop-web-1\s+Started/);
  expect(await psql('select 1')).toBe('1');
  expect(await psql('select current_database()')).toBe('appdb');

  const ps = await ok('cd /root/shop && docker compose ps --format json');
  const rows = ps.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { Service: string; State: string; Publishers: { URL: string; PublishedPort: number }[] });
  expect(rows.map((row) => row.Service).sort()).toEqual(['api', 'db', 'web']);
  expect(rows.every((row) => row.State === 'running')).toBe(true);
  expect(rows.find((row) => row.Service === 'web')!.Publishers).toEqual([expect.objectContaining({ URL: address, PublishedPort: 8081 })]);
  const table = await ok('docker ps');
  expect(table.stdout).toMatch(/^CONTAINER ID\s+IMAGE/);
  expect(table.stdout).toContain(`${address}:8081->8080/tcp`);
});

test('each application answers /health, /version with its tag and /metrics with request counters; an unhealthy tag fails /health', async () => {
  expect(await get(8081, '/health')).toEqual({ status: 200, body: 'ok\n' });
  expect(await get(8081, '/version')).toEqual({ status: 200, body: '1.4.2\n' });
  expect((await get(8081, '/anything')).status).toBe(200);
  const metrics = await get(8081, '/metrics');
  expect(metrics.body).toContain('# TYPE http_requests_total counter');
  expect(metrics.body).toContain('http_requests_total{version="1.4.2",code="200"} 3');
  expect(metrics.body).toContain('http_request_errors_total 0');

  expect(await get(8082, '/health')).toEqual({ status: 503, body: 'unhealthy\n' });
  expect((await get(8082, '/version')).body).toBe('2.0-unhealthy\n');
  expect((await get(8082, '/metrics')).body).toContain('http_request_errors_total 1');
});

test('up -d again recreates only the service whose configuration changed', async () => {
  const before = (await ok("docker inspect --format '{{.Id}}' db")).stdout.trim();
  const up = await ok('cd /root/shop && docker compose up -d', { WEB_TAG: '1.5.0' });
  expect(up.stderr).toMatch(/Container db\s+Running/);
  expect(up.stderr).toMatch(/Container shop-api-1\s+Running/);
  expect(up.stderr).toMatch(/Container shop-web-1\s+Recreated/);
  expect((await get(8081, '/version')).body).toBe('1.5.0\n');
  expect((await ok("docker inspect --format '{{.Id}}' db")).stdout.trim()).toBe(before);
  expect((await ok("docker inspect --format '{{.Config.Image}}' shop-web-1")).stdout).toBe('registry.example.com/shop/web:1.5.0\n');
  const inspected = JSON.parse((await ok('docker inspect shop-web-1')).stdout) as {
    State: { Running: boolean };
    Config: { Env: string[] };
  }[];
  expect(inspected[0]!.State.Running).toBe(true);
  expect(inspected[0]!.Config.Env).toEqual(expect.arrayContaining(['LOG_LEVEL=info', 'DATABASE_URL=postgres://app@db/appdb']));
});

test('docker exec streams both ways: a pg_dump piped through gzip, restored with docker exec -i', async () => {
  await ok(`docker exec -i db psql -U app -d appdb -v ON_ERROR_STOP=1 -q <<'SQL'
create table items (id int primary key, name text);
insert into items select n, 'item ' || n from generate_series(1, 50000) n;
SQL`);
  expect(await psql('select count(*) from items')).toBe('50000');
  await ok('set -o pipefail; docker exec db pg_dump -U app appdb | gzip > /root/dump.sql.gz');
  expect(statSync(path.join(sandbox.root, 'root/dump.sql.gz')).size).toBeGreaterThan(50_000);
  await ok('docker exec db psql -U app appdb -c "drop table items"');
  await ok('set -o pipefail; gunzip -c /root/dump.sql.gz | docker exec -i db psql -U app -d appdb -v ON_ERROR_STOP=1 -q');
  expect(await psql("select count(*), max(name) from items where name like 'item %'")).toBe('50000|item 9999');

  // Exit statuses are the command's own; docker compose exec reaches the same server.
  expect((await sh('docker exec db sh -c "exit 7"')).code).toBe(7);
  const bad = await sh('docker exec db psql -U app appdb -v ON_ERROR_STOP=1 -c "select nonsense"');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('column "nonsense" does not exist');
  expect((await ok('cd /root/shop && docker compose exec -T db psql -U app appdb -Atc "select count(*) from items"')).stdout).toBe(
    '50000\n',
  );
  expect((await sh('docker exec nosuch true')).stderr).toContain('No such container: nosuch');

  // Output arrives while the command still runs: the command goes on only once the test has seen
  // its first line (a gate file), so output held back until the end would print "held" instead.
  const gate = path.join(sandbox.root, 'tmp/stream-gate');
  const streamed = await sh(
    "docker exec db sh -c 'echo first; i=0; while [ ! -e /tmp/stream-gate ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; if [ -e /tmp/stream-gate ]; then echo second; else echo held; fi'",
    { onStdout: (text) => text.includes('first') && put('/tmp/stream-gate', '') },
  );
  expect(existsSync(gate)).toBe(true);
  expect(streamed.stdout).toBe('first\nsecond\n');
});

test('logs and ps show the containers as docker does', async () => {
  expect((await ok('docker logs db')).stdout).toContain('database system is ready to accept connections');
  expect((await ok('docker logs --tail 1 shop-web-1')).stdout).toBe(`shop/web 1.5.0 listening on http://${address}:8081\n`);
  expect((await ok('cd /root/shop && docker compose logs web')).stdout).toMatch(/^shop-web-1\s+\| shop\/web 1\.5\.0 listening/m);
  expect((await ok("docker ps --format '{{.Names}} {{.State}}' --filter name=shop-api")).stdout).toBe('shop-api-1 running\n');
});

test('image tags make an application misbehave: erroring, slow, crashing', async () => {
  await ok(
    'docker run -d --name flaky -p 8090:80 example/app:3.1-erroring && docker run -d --name sluggish -p 8091:80 example/app:3.1-slow',
  );
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await get(8090, '/health')).status);
  expect(statuses).toEqual([200, 500, 200, 500]);
  expect((await get(8090, '/metrics')).body).toContain('http_request_errors_total 2');
  const started = Date.now();
  expect(await get(8091, '/health')).toEqual({ status: 200, body: 'ok\n' });
  expect(Date.now() - started).toBeGreaterThan(1_800);

  await ok('docker run -d --name broken example/app:3.1-crashing');
  const status = await until('the crashing container to exit', async () => {
    const shown = (await ok("docker ps -a --filter name=broken --format '{{.Status}}'")).stdout;
    return shown.startsWith('Up') ? undefined : shown;
  });
  expect(status).toMatch(/^Exited \(1\)/);
  expect((await ok('docker logs broken')).stdout).toContain('crashes on start');
  await ok('docker rm -f flaky sluggish broken');
  expect(await refused(8090)).toBe(true);
});

test('bad compose files fail with a message that names the problem', async () => {
  const cases: [string, RegExp][] = [
    ['services:\n  web:\n    image: nginx\n   ports: [80]\n', /yaml: .*compose\.yaml: line \d+/],
    ['services:\n  web:\n    imagee: nginx\n', /services\.web additional property imagee is not allowed/],
    ['services:\n  web:\n    image: nginx\n    depends_on: [db]\n', /service "web" depends on undefined service "db"/],
    [
      'services:\n  db:\n    image: postgres:15\n    volumes: ["data:/var/lib/postgresql/data"]\n',
      /service "db" refers to undefined volume data/,
    ],
    ['services:\n  web:\n    image: nginx\n    ports: ["80:http"]\n', /services\.web\.ports\[0\]: invalid container port "http"/],
    ['services:\n  web:\n    build: .\n', /service "web" has a build section and no image/],
    ['services:\n  web:\n    image: nginx:${TAG:?set TAG first}\n', /required variable TAG is missing a value: set TAG first/],
  ];
  for (const [content, message] of cases) {
    put('/root/bad/compose.yaml', content);
    const result = await sh('cd /root/bad && docker compose up -d');
    expect({ content, code: result.code, stderr: result.stderr }).toEqual({ content, code: 1, stderr: expect.stringMatching(message) });
  }
  expect((await sh('cd /root && docker compose up -d')).stderr).toContain('no configuration file provided: not found');
  // A tag that is not in the registry fails the pull, as a mistyped release would.
  put('/root/bad/compose.yaml', 'services:\n  web:\n    image: example/web:9.9-missing\n');
  const missing = await sh('cd /root/bad && docker compose up -d');
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain('manifest for example/web:9.9-missing not found');
});

test('MariaDB and Redis images run the real servers on the droplet address', async () => {
  put(
    '/root/data/docker-compose.yml',
    `
services:
  mariadb:
    image: mariadb:11
    environment:
      MARIADB_ROOT_PASSWORD: rootpw
      MARIADB_DATABASE: shop
      MARIADB_USER: shop
      MARIADB_PASSWORD: "it's 'quoted'"
    ports: ["3306:3306"]
  cache:
    image: redis:7-alpine
    ports: ["6379:6379"]
`,
  );
  await ok('cd /root/data && docker compose up -d');
  const { stdout } = await run('mariadb', [
    '-h',
    address,
    '-P',
    '3306',
    '-ushop',
    "-pit's 'quoted'",
    'shop',
    '-N',
    '-e',
    'select database(), current_user()',
  ]);
  expect(stdout.trim()).toBe('shop\tshop@%');
  expect((await ok('cd /root/data && docker compose exec -T mariadb mariadb -N -e "show databases"')).stdout).toContain('shop');
  expect((await run('redis-cli', ['-h', address, '-p', '6379', 'ping'])).stdout.trim()).toBe('PONG');
  await ok('docker exec data-cache-1 redis-cli set greeting hello');
  expect((await run('redis-cli', ['-h', address, '-p', '6379', 'get', 'greeting'])).stdout.trim()).toBe('hello');
  await ok('cd /root/data && docker compose down -v');
  expect(await refused(3306)).toBe(true);
  expect(await refused(6379)).toBe(true);
});

test('systemctl: a unit starts, outlives the command that started it, reports is-active, and stops', async () => {
  put(
    '/etc/systemd/system/ticker.service',
    `[Unit]
Description=Writes a line every 100 ms

[Service]
Environment="GREETING=hello droplet"
WorkingDirectory=/srv
ExecStart=/bin/bash -c 'while true; do echo "$GREETING" >> /srv/ticks; sleep 0.1; done'
Restart=always

[Install]
WantedBy=multi-user.target
`,
  );
  const enable = await ok('systemctl daemon-reload && systemctl enable --now ticker');
  expect(enable.stderr).toContain('Created symlink /etc/systemd/system/multi-user.target.wants/ticker.service');
  const ticks = path.join(sandbox.root, 'srv/ticks');
  const count = () => (existsSync(ticks) ? readFileSync(ticks, 'utf8').split('\n').length : 0);
  const first = count();
  // Still running after `systemctl` and its shell ended: three more lines come.
  await until('three more ticks', async () => (count() > first + 2 ? true : undefined));
  expect(readFileSync(ticks, 'utf8')).toMatch(/^hello droplet$/m);
  expect(await sh('systemctl is-active ticker')).toMatchObject({ code: 0, stdout: 'active\n' });
  expect((await sh('systemctl status ticker')).stdout).toMatch(/Active: active \(running\)/);

  await ok('systemctl stop ticker');
  expect(await sh('systemctl is-active ticker')).toMatchObject({ code: 3, stdout: 'inactive\n' });
  const stopped = count();
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(count()).toBe(stopped);

  expect(await sh('systemctl start nosuch')).toMatchObject({
    code: 5,
    stderr: 'Failed to start nosuch.service: Unit nosuch.service not found.\n',
  });
  expect((await sh('systemctl is-active docker')).code).toBe(0);
  await ok('systemctl start ticker'); // enabled and running again for the restart below
});

test('apt-get installs what the machine has and refuses the rest with status 100', async () => {
  expect((await ok('apt-get update')).stdout).toContain('Reading package lists... Done');
  const install = await ok('DEBIAN_FRONTEND=noninteractive apt-get install -y curl docker.io');
  expect(install.stdout).toContain('Setting up curl');
  expect(readFileSync(path.join(sandbox.root, 'var/lib/localcloud/packages'), 'utf8')).toBe('curl\ndocker.io\n');
  expect((await ok('apt-get install -y curl')).stdout).toContain('curl is already the newest version');
  expect(await sh('apt-get install -y no-such-package-here')).toMatchObject({
    code: 100,
    stderr: expect.stringMatching(/^E: Unable to locate package no-such-package-here\n/),
  });
});

test('a restart of the local cloud brings the containers and units back', async () => {
  await services.stop();
  expect(await refused(8081)).toBe(true);
  expect(await refused(5432)).toBe(true);
  expect((await sh('docker ps')).stderr).toContain('Cannot connect to the Docker daemon');
  const ticks = path.join(sandbox.root, 'srv/ticks');
  appendFileSync(ticks, 'restart\n');

  services = new DropletServices(sandbox);
  await services.start();
  expect((await get(8081, '/version')).body).toBe('1.5.0\n');
  expect(await psql('select count(*) from items')).toBe('50000');
  expect((await sh('systemctl is-active ticker')).stdout).toBe('active\n');
  await until('a tick after the restart', async () => (/^restart\nhello droplet$/m.test(readFileSync(ticks, 'utf8')) ? true : undefined));
});

test('docker compose down stops every service and frees its ports', async () => {
  const down = await ok('cd /root/shop && docker compose down');
  expect(down.stderr).toMatch(/Container db\s+Removed/);
  for (const port of [8081, 8082, 5432]) expect(await refused(port)).toBe(true);
  expect((await ok('docker ps -a --format "{{.Names}}"')).stdout).toBe('');
  // The named volume keeps the data for the next up.
  await ok('cd /root/shop && docker compose up -d db');
  expect(await psql('select count(*) from items')).toBe('50000');
  await ok('cd /root/shop && docker compose down -v && systemctl disable --now ticker');
  expect(await refused(5432)).toBe(true);
});

test('a crash of the local cloud takes every process of the droplet with it; the containers start again', async () => {
  const second = await isolated({
    ...droplet,
    dropletId: 9002,
    name: 'svc-2',
    root: path.join(dir, 'root-2'),
    address: `127.${claim.network}.250.11`,
  });
  mkdirSync(second.root, { recursive: true });
  await prepareRoot(second, path.join(dir, 'etc-template'));
  // The local cloud as a process of its own, so it can die without stopping anything; it makes
  // the droplet's namespaces of its own, as DropletHosts does.
  const script = path.join(dir, 'services-process.ts');
  const { isolation: _own, ...spec } = second;
  writeFileSync(
    script,
    `import { DropletServices } from ${JSON.stringify(path.join(PACKAGE_SRC, 'hosts/services/droplet-services'))};
import { DropletNamespaces } from ${JSON.stringify(path.join(PACKAGE_SRC, 'hosts/isolation/namespaces'))};
import { resolveBwrap } from ${JSON.stringify(path.join(PACKAGE_SRC, 'hosts/sandbox'))};
DropletNamespaces.create(${dropletUidBase(claim.network, second.dropletId % 10)}, resolveBwrap())
  .then((isolation) => new DropletServices({ ...${JSON.stringify(spec)}, isolation }).start())
  .then(() => console.log('ready'));
setInterval(() => undefined, 1000);
`,
  );
  const child: ChildProcess = spawn(process.execPath, ['--require', 'tsx/cjs', script], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let pid: number;
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`services process exited with ${code}`)));
    });
    await ok('docker run -d --name cache -p 6379:6379 redis:7', undefined, second);
    pid = Number((await ok("docker inspect --format '{{.State.Pid}}' cache", undefined, second)).stdout);
    expect(alive(pid)).toBe(true);
    expect((await run('redis-cli', ['-h', second.address, 'ping'])).stdout.trim()).toBe('PONG');
  } finally {
    // The crash, and never a local cloud left running if the test fails before it.
    child.kill('SIGKILL');
    await exited;
  }
  // The droplet's pid namespace ends with its init, which dies with the local cloud: the server
  // goes too, without anyone reading a pid back (the kernel's doing, so wait for it, boundedly).
  for (let i = 0; alive(pid); i++) {
    if (i === 100) throw new Error(`redis (pid ${pid}) outlived the local cloud that started it`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await refused(6379, second.address)).toBe(true);

  const revived = new DropletServices(second);
  try {
    await revived.start();
    const newPid = Number((await ok("docker inspect --format '{{.State.Pid}}' cache", undefined, second)).stdout);
    expect(newPid).not.toBe(pid); // a new server took its place
    expect((await run('redis-cli', ['-h', second.address, 'ping'])).stdout.trim()).toBe('PONG');
  } finally {
    await revived.stop();
  }
  expect(await refused(6379, second.address)).toBe(true);
}, 60_000);

test('a services.json planted by the droplet, naming a machine process, kills nothing across a restart', async () => {
  // A process of the machine, which the droplet learns about somehow (a pid is easy to guess).
  const machine = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
  try {
    const pid = machine.pid!;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const process = { pid, startTime };
    const planted = {
      units: { 'planted.service': { enabled: false, active: false, process } },
      containers: {
        planted: {
          id: 'planted',
          name: 'planted',
          spec: { image: 'redis:7', env: {}, ports: [], volumes: [], restart: 'no', healthcheck: false },
          configHash: 'x',
          created: new Date().toISOString(),
          desired: 'stopped',
          status: 'running',
          exitCode: 0,
          process,
        },
      },
      images: {},
    };
    // Root in the droplet writes it, as a droplet can: a new file moved over the manager's.
    await ok(
      `printf '%s' "$PLANTED" > /var/lib/localcloud/planted.json && mv -f /var/lib/localcloud/planted.json /var/lib/localcloud/services.json`,
      { PLANTED: JSON.stringify(planted) },
    );

    await services.stop();
    services = new DropletServices(sandbox);
    await services.start();
    // The restart read the file (the planted container is listed) and ended nothing of the machine.
    expect((await ok('docker ps -a --format "{{.Names}}"')).stdout).toContain('planted');
    expect(alive(pid)).toBe(true);
    expect(machine.exitCode).toBeNull();
    expect(machine.signalCode).toBeNull();
    await ok('docker rm -f planted');
  } finally {
    machine.kill('SIGKILL');
  }
}, 60_000);
