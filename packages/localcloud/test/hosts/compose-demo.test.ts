// Issue 3's demonstration, end to end through the local cloud: a droplet created through the API
// with a registered key, a compose file uploaded over SFTP, `docker compose up -d` run over SSH in
// the droplet; then, from this machine, the real psql binary reaches the droplet's PostgreSQL on the
// droplet's address, and each application answers /health and /version there.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import type { Client, SFTPWrapper } from 'ssh2';
import type { LocalCloud } from '../../src';
import { connect, createHostDroplet, exec, registerKey, type ExecResult, type TestDroplet } from '../../../../test/helpers/droplet-host';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { generateEd25519 } from '../../../../test/helpers/ssh-keys';

const run = promisify(execFile);
const key = generateEd25519();
const PASSWORD = "demo pass, with 'quotes'";
let cloud: LocalCloud;
let droplet: TestDroplet;
let ssh: Client;

const COMPOSE = `name: demo
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD}
      POSTGRES_DB: demo
    ports: ["5432:5432"]
  api:
    image: ghcr.io/acme/api:1.2.0
    ports: ["8080:8080"]
    environment:
      DATABASE_URL: postgres://postgres@db:5432/demo
    depends_on: [db]
  web:
    image: ghcr.io/acme/web:2.0.0
    ports: ["3000:3000"]
    depends_on: [api]
`;

/** The real psql binary: on PATH, or from a Debian PostgreSQL package's bin folder. */
function psqlBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(`${dir}/psql`)) return `${dir}/psql`;
  for (const version of [17, 16, 15, 14, 13])
    if (existsSync(`/usr/lib/postgresql/${version}/bin/psql`)) return `/usr/lib/postgresql/${version}/bin/psql`;
  throw new Error('psql not found on PATH or under /usr/lib/postgresql/*/bin');
}

async function psql(sql: string): Promise<string> {
  const { stdout } = await run(
    psqlBinary(),
    ['-h', droplet.address, '-p', '5432', '-U', 'postgres', '-d', 'demo', '-v', 'ON_ERROR_STOP=1', '-Atc', sql],
    {
      env: { ...process.env, PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '5', PGSSLMODE: 'disable' },
    },
  );
  return stdout.trim();
}

async function ok(command: string): Promise<ExecResult> {
  const result = await exec(ssh, command);
  if (result.code !== 0) throw new Error(`\`${command}\` exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

function upload(sftp: SFTPWrapper, remotePath: string, content: string, mode = 0o644): Promise<void> {
  return new Promise((resolve, reject) => sftp.writeFile(remotePath, content, { mode }, (e) => (e ? reject(e) : resolve())));
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${droplet.address}:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text() };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, droplet.address);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

beforeAll(async () => {
  const started = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } });
  cloud = started.cloud;
  const api = started.api;
  const keyId = await registerKey(api, 'deploy', key.public);
  droplet = await createHostDroplet(cloud, api, 'demo-1', [keyId]);
  ({ client: ssh } = await connect(droplet, key.private));
}, 60_000);

afterAll(async () => {
  // compose down is part of the demonstration (its own test); this is only the safety net.
  if (ssh) {
    await exec(ssh, 'cd /opt/demo && docker compose down -v').catch(() => undefined);
    ssh.end();
  }
  await cloud?.stop();
}, 60_000);

test('the compose file goes up over SFTP, and docker compose up -d over SSH starts all three services', async () => {
  await ok('mkdir -p /opt/demo');
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => ssh.sftp((e, s) => (e ? reject(e) : resolve(s))));
  try {
    await upload(sftp, '/opt/demo/compose.yaml', COMPOSE);
    await upload(sftp, '/opt/demo/.env', `POSTGRES_PASSWORD="${PASSWORD.replace(/["\\$]/g, '\\$&')}"\n`, 0o600);
  } finally {
    sftp.end();
  }
  expect((await ok('cat /opt/demo/compose.yaml')).stdout).toBe(COMPOSE);

  const up = await ok('cd /opt/demo && docker compose up -d');
  for (const container of ['demo-db-1', 'demo-api-1', 'demo-web-1'])
    expect(up.stderr).toMatch(new RegExp(`Container ${container}\\s+Started`));

  const ps = await ok('cd /opt/demo && docker compose ps --format json');
  const rows = ps.stdout
    .trim()
    .split('\n')
    .map(
      (line) => JSON.parse(line) as { Service: string; State: string; Image: string; Publishers: { URL: string; PublishedPort: number }[] },
    );
  expect(rows.map((row) => [row.Service, row.State, row.Image]).sort()).toEqual([
    ['api', 'running', 'ghcr.io/acme/api:1.2.0'],
    ['db', 'running', 'postgres:16'],
    ['web', 'running', 'ghcr.io/acme/web:2.0.0'],
  ]);
  const published = Object.fromEntries(rows.map((row) => [row.Service, row.Publishers.map((p) => `${p.URL}:${p.PublishedPort}`)]));
  expect(published).toEqual({ db: [`${droplet.address}:5432`], api: [`${droplet.address}:8080`], web: [`${droplet.address}:3000`] });
  // The plain table too, as someone on the droplet would read it.
  const table = (await ok('cd /opt/demo && docker compose ps')).stdout.trim().split('\n');
  expect(table).toHaveLength(4);
  expect(table.slice(1).every((line) => /\bUp\b/.test(line))).toBe(true);
});

test("psql on this machine reaches the droplet's PostgreSQL on the droplet's address: create, insert, select", async () => {
  expect(await psql('select current_database(), current_user')).toBe('demo|postgres');
  await psql('create table bookings (id serial primary key, guest text not null, nights int not null)');
  await psql("insert into bookings (guest, nights) values ('ada', 3), ('grace', 5), ('linus', 1)");
  expect(await psql('select guest, nights from bookings order by id')).toBe('ada|3\ngrace|5\nlinus|1');
  expect(await psql('select count(*), sum(nights) from bookings')).toBe('3|9');
  // The server really is the droplet's: the same rows from inside it, through docker compose exec.
  expect(
    (
      await ok(
        'cd /opt/demo && docker compose exec -T db psql -U postgres -d demo -Atc "select string_agg(guest, \',\' order by id) from bookings"',
      )
    ).stdout,
  ).toBe('ada,grace,linus\n');
  // And a wrong password is refused, so the login above was a real one.
  await expect(
    run(psqlBinary(), ['-h', droplet.address, '-U', 'postgres', '-d', 'demo', '-c', 'select 1'], {
      env: { ...process.env, PGPASSWORD: 'wrong', PGCONNECT_TIMEOUT: '5' },
    }),
  ).rejects.toMatchObject({
    stderr: expect.stringContaining('password authentication failed for user "postgres"'),
  });
});

test("each application answers /health with 200 and /version with its tag on the droplet's address", async () => {
  expect(await get(8080, '/health')).toEqual({ status: 200, body: 'ok\n' });
  expect(await get(3000, '/health')).toEqual({ status: 200, body: 'ok\n' });
  expect(await get(8080, '/version')).toEqual({ status: 200, body: '1.2.0\n' });
  expect(await get(3000, '/version')).toEqual({ status: 200, body: '2.0.0\n' });
});

test('docker compose down stops the three services and frees their ports', async () => {
  const down = await ok('cd /opt/demo && docker compose down');
  for (const container of ['demo-db-1', 'demo-api-1', 'demo-web-1'])
    expect(down.stderr).toMatch(new RegExp(`Container ${container}\\s+Removed`));
  expect((await ok('cd /opt/demo && docker compose ps --format json')).stdout.trim()).toBe('');
  for (const port of [5432, 8080, 3000]) expect(await refused(port)).toBe(true);
});
