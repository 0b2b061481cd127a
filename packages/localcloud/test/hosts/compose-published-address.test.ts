// A compose port is bound where compose says (issue 13): over real SSH, a droplet runs PostgreSQL
// and an application image published on 127.0.0.1, then on every address. From the droplet both
// answer on 127.0.0.1 each time; from the machine and from another droplet, the droplet's public
// address answers only in the second case (refused in the first). The droplet's loopback really
// holds the listener (the machine sees the socket) and still refuses the machine and the other
// droplet; the other droplet's own 127.0.0.1 has nothing. `docker compose exec` (the socket path
// backups use) works either way. A host address the droplet does not have fails `up`, naming it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import type { Client } from 'ssh2';
import type { LocalCloud } from '../../src';
import { dropletLoopbackAddress } from '../../src/hosts/isolation/droplet-loopback';
import { connect, createHostDroplet, exec, registerKey, type ExecResult, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';

jest.setTimeout(5 * 60_000);

const run = promisify(execFile);
const key = generateEd25519();
const PASSWORD = 'pw-for-the-port-test';
let cloud: LocalCloud;
let db: TestDroplet;
let other: TestDroplet;
let dbSsh: Client;
let otherSsh: Client;
/** Where db's 127.0.0.1 leads on the machine. */
let loopback: string;

/** PostgreSQL on 5432 and an application on 8080, both published on `host` ('' for every address). */
function compose(host: string): string {
  const prefix = host ? `${host}:` : '';
  return `name: ports
services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${PASSWORD}
    ports: ["${prefix}5432:5432"]
  api:
    image: ghcr.io/acme/api:1.0.0
    ports: ["${prefix}8080:8080"]
`;
}

async function ok(client: Client, command: string): Promise<ExecResult> {
  const result = await exec(client, command);
  if (result.code !== 0) throw new Error(`\`${command}\` exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Replaces the project in /opt/ports with `file` and starts it (up -d returns once PostgreSQL accepts connections). */
async function up(file: string): Promise<ExecResult> {
  await ok(dbSsh, 'mkdir -p /opt/ports && cd /opt/ports && { [ ! -f compose.yaml ] || docker compose down; }');
  await ok(dbSsh, `cat > /opt/ports/compose.yaml <<'EOF'\n${file}EOF`);
  return exec(dbSsh, 'cd /opt/ports && docker compose up -d');
}

/** What psql in the droplet gets from `select 40 + 2` at host (the droplet's own client, over TCP). */
function psqlInDroplet(host: string): Promise<ExecResult> {
  return exec(dbSsh, `PGPASSWORD=${PASSWORD} PGCONNECT_TIMEOUT=10 psql -h ${host} -p 5432 -U postgres -Atc 'select 40 + 2'`);
}

/** The application's /version through curl in a droplet. */
function curlIn(client: Client, host: string): Promise<ExecResult> {
  return exec(client, `curl -sS --max-time 10 http://${host}:8080/version`);
}

/** How a TCP connection from a droplet to host:port ends: 'open' or bash's error. */
async function tcpFrom(client: Client, host: string, port: number): Promise<string> {
  const result = await exec(client, `timeout 10 bash -c 'exec 3<>/dev/tcp/${host}/${port}' && echo open`);
  return result.code === 0 ? 'open' : /Connection refused/.test(result.stderr) ? 'refused' : `failed: ${result.stderr.trim()}`;
}

/** How a TCP connection from the machine to host:port ends: 'open' or the error code. */
function tcpFromMachine(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 10_000 });
    socket.once('connect', () => (socket.destroy(), resolve('open')));
    socket.once('timeout', () => (socket.destroy(), resolve('timeout')));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : String(error.code)));
  });
}

/** The machine's psql to the droplet's public address. */
async function psqlFromMachine(): Promise<string> {
  const psql = ['/usr/bin/psql', ...[17, 16, 15, 14].map((v) => `/usr/lib/postgresql/${v}/bin/psql`)].find((p) => existsSync(p))!;
  const { stdout } = await run(psql, ['-h', db.address, '-p', '5432', '-U', 'postgres', '-Atc', 'select 40 + 2'], {
    env: { ...process.env, PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'disable' },
  });
  return stdout.trim();
}

/** Listening TCP sockets on the machine at address:port, as `ss` shows them. */
async function listeningAt(address: string, port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Hltn', `src ${address}:${port}`]);
  return stdout.split('\n').filter((line) => line.trim()).length;
}

beforeAll(async () => {
  const started = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  cloud = started.cloud;
  const keyId = await registerKey(started.api, 'deploy', key.public);
  [db, other] = await Promise.all([
    createHostDroplet(cloud, started.api, 'ports-db', [keyId]),
    createHostDroplet(cloud, started.api, 'ports-other', [keyId]),
  ]);
  loopback = dropletLoopbackAddress(cloud.ctx.hostNetwork, cloud.ctx.store.state.internal.hosts[db.id]!.uidSlot!);
  ({ client: dbSsh } = await connect(db, key.private, 60_000));
  ({ client: otherSsh } = await connect(other, key.private, 60_000));
}, 120_000);

afterAll(async () => {
  if (dbSsh) await exec(dbSsh, 'cd /opt/ports && docker compose down').catch(() => undefined);
  dbSsh?.end();
  otherSsh?.end();
  await cloud?.stop();
}, 60_000);

test('published on 127.0.0.1: the droplet reaches it there, nothing reaches it from outside', async () => {
  expect(await up(compose('127.0.0.1'))).toMatchObject({ code: 0 });
  // From the droplet: its 127.0.0.1 and localhost.
  expect(await psqlInDroplet('127.0.0.1')).toMatchObject({ code: 0, stdout: '42\n' });
  expect(await psqlInDroplet('localhost')).toMatchObject({ code: 0, stdout: '42\n' });
  expect(await curlIn(dbSsh, '127.0.0.1')).toMatchObject({ code: 0, stdout: '1.0.0\n' });
  // Not on its own public address, even from itself.
  expect(await tcpFrom(dbSsh, db.address, 5432)).toBe('refused');
  expect(await tcpFrom(dbSsh, db.address, 8080)).toBe('refused');
  // From the machine: the public address refuses.
  expect(await tcpFromMachine(db.address, 5432)).toBe('refused');
  expect(await tcpFromMachine(db.address, 8080)).toBe('refused');
  // The loopback really holds both listeners, and still refuses the machine.
  expect(await listeningAt(loopback, 5432)).toBe(1);
  expect(await listeningAt(loopback, 8080)).toBe(1);
  expect(await tcpFromMachine(loopback, 5432)).toBe('refused');
  expect(await tcpFromMachine(loopback, 8080)).toBe('refused');
  // From another droplet: the public address, db's loopback and its own 127.0.0.1 all refuse.
  for (const port of [5432, 8080]) {
    expect({ port, at: await tcpFrom(otherSsh, db.address, port) }).toEqual({ port, at: 'refused' });
    expect({ port, at: await tcpFrom(otherSsh, loopback, port) }).toEqual({ port, at: 'refused' });
    expect({ port, at: await tcpFrom(otherSsh, '127.0.0.1', port) }).toEqual({ port, at: 'refused' });
  }
  // docker compose ps shows it where compose put it; compose exec (the unix socket) works.
  const ps = await ok(dbSsh, 'cd /opt/ports && docker compose ps --format json');
  const publishers = ps.stdout
    .trim()
    .split('\n')
    .flatMap((line) => (JSON.parse(line) as { Publishers: { URL: string; PublishedPort: number }[] }).Publishers)
    .map((p) => `${p.URL}:${p.PublishedPort}`)
    .sort();
  expect(publishers).toEqual(['127.0.0.1:5432', '127.0.0.1:8080']);
  expect(await exec(dbSsh, "cd /opt/ports && docker compose exec -T postgres psql -U postgres -Atc 'select 6 * 7'")).toMatchObject({
    code: 0,
    stdout: '42\n',
  });
});

test('published on every address: the droplet reaches it on 127.0.0.1, the machine and other droplets on its public address', async () => {
  expect(await up(compose(''))).toMatchObject({ code: 0 });
  expect(await psqlInDroplet('127.0.0.1')).toMatchObject({ code: 0, stdout: '42\n' });
  expect(await psqlInDroplet(db.address)).toMatchObject({ code: 0, stdout: '42\n' });
  expect(await curlIn(dbSsh, '127.0.0.1')).toMatchObject({ code: 0, stdout: '1.0.0\n' });
  expect(await psqlFromMachine()).toBe('42');
  expect(await tcpFromMachine(db.address, 8080)).toBe('open');
  expect(await curlIn(otherSsh, db.address)).toMatchObject({ code: 0, stdout: '1.0.0\n' });
  expect(await tcpFrom(otherSsh, db.address, 5432)).toBe('open');
  // The other droplet's 127.0.0.1 is its own, empty; db's loopback is still db's alone.
  expect(await tcpFrom(otherSsh, '127.0.0.1', 5432)).toBe('refused');
  expect(await listeningAt(loopback, 5432)).toBe(1);
  expect(await tcpFromMachine(loopback, 5432)).toBe('refused');
  expect(await tcpFrom(otherSsh, loopback, 5432)).toBe('refused');
  expect(await exec(dbSsh, "cd /opt/ports && docker compose exec -T postgres psql -U postgres -Atc 'select 6 * 7'")).toMatchObject({
    code: 0,
    stdout: '42\n',
  });
});

test('a host address the droplet does not have fails up, naming it', async () => {
  const result = await up('name: ports\nservices:\n  api:\n    image: ghcr.io/acme/api:1.0.0\n    ports: ["10.99.99.99:8080:8080"]\n');
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('10.99.99.99:8080: bind: cannot assign requested address');
  expect(await tcpFromMachine(db.address, 8080)).toBe('refused');
});
