// Backups of databases that live in a droplet's containers, end to end: a local cloud droplet (a
// real SSH host) runs real PostgreSQL and MariaDB, started by `docker compose up -d` over SSH;
// the worker, wired as backupDepsFromEnv wires it, finds the droplet through the DigitalOcean
// API, checks its host key (pinned in the policy for one target, from a hashed known_hosts file
// for the other), and runs pg_dump / mariadb-dump with `docker exec -i` over SSH into Spaces.
// runBackups verifies each backup; restoreBackup restores it into a fresh database whose tables
// equal the original's. A directory in the droplet is archived with tar over SSH and unpacks to
// the same files. A droplet refusing SSH, an unknown and a wrong host key fail classified.
// The runner itself: passwords reach the container by `docker exec -e NAME` only, kill stops the
// command in the droplet.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { backupDepsFromEnv, createBackupActivities } from '../../src/activities/backups/backup-steps';
import { runToCompletion } from '../../src/backups/command-runner';
import { dropletRunners } from '../../src/backups/droplet-runner';
import { DigitalOceanClient } from '../../src/integrations/digitalocean/client';
import { connect as sshConnect, type SshConnection } from '../../src/integrations/ssh';
import type { LocalCloud } from '@opsflow/localcloud';
import { parseBackupPolicy, type BackupPolicy } from '../../src/specs/backup-policy';
import type { RestoreBackupResult } from '../../src/workflows/backups/restore-backup';
import type { RunBackupsResult } from '../../src/workflows/backups/run-backups';
import { TEST_BACKUP_KEY } from '../helpers/backup-keys';
import { createHostDroplet, fingerprintOf, registerKey, type TestDroplet } from '../helpers/droplet-host';
import { startLocalCloud } from '../helpers/localcloud';
import { privateTempDir, startSpaces, type TestSpaces } from '../helpers/spaces';
import { generateEd25519 } from '../helpers/ssh-keys';
import { startTemporal, uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';

const execFileAsync = promisify(execFile);
const key = generateEd25519();
const dir = privateTempDir('droplet-backups');
const keyFile = path.join(dir, 'id_ed25519');
const knownHosts = path.join(dir, 'known_hosts');
const taskQueue = uniqueTaskQueue('droplet-backups');
const FAST = { maximumAttempts: 2, initialInterval: '200ms' };

let env: TestWorkflowEnvironment;
let spaces: TestSpaces;
let cloud: LocalCloud;
let stateDir: string;
let droplet: TestDroplet;
let hostKey: string;
let ssh: SshConnection;
let worker: Worker;
let workerDone: Promise<void>;

const COMPOSE = `
services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: \${PG_PASSWORD}
      POSTGRES_DB: shop
    volumes: [pgdata:/var/lib/postgresql/data]
  mariadb:
    image: mariadb:11
    environment:
      MARIADB_ROOT_PASSWORD: \${MARIADB_PASSWORD}
      MARIADB_DATABASE: shop
volumes:
  pgdata:
`;

const PG_SEED = `
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, note text, balance numeric(12,2), born date, seen timestamptz, tags text[], data jsonb, photo bytea);
INSERT INTO customers (name, note, balance, born, seen, tags, data, photo)
SELECT 'customer ' || g || ' – ünïcødé ✓', CASE WHEN g % 3 = 0 THEN NULL ELSE E'line one\\nline\\ttwo ''quoted''' END, g * 1.25, DATE '2000-01-01' + g,
       TIMESTAMPTZ '2026-01-01 00:00:00+00' + g * INTERVAL '1 minute', ARRAY['a' || g, 'b'], jsonb_build_object('n', g, 'even', g % 2 = 0), decode(md5(g::text), 'hex')
FROM generate_series(1, 500) g;
CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."order lines" (customer int REFERENCES customers(id), sku text, qty int);
INSERT INTO "Sales Data"."order lines" SELECT 1 + g % 500, 'SKU-' || g, g % 9 FROM generate_series(1, 3000) g;
CREATE TABLE empty_table (id int);
CREATE TABLE bulk (id bigint PRIMARY KEY, a text, b text);
INSERT INTO bulk SELECT g, md5(g::text), repeat(md5((g * 3)::text), 2) FROM generate_series(1, 40000) g;
`;

const MARIADB_SEED = `
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, note TEXT, balance DECIMAL(12,2), born DATE, seen DATETIME(3), data JSON, photo BLOB) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO customers (name, note, balance, born, seen, data, photo)
SELECT CONCAT('customer ', seq, ' – ünïcødé ✓'), IF(seq % 3 = 0, NULL, 'line one\\nline\\ttwo ''quoted'''), seq * 1.25, DATE('2000-01-01') + INTERVAL seq DAY,
       TIMESTAMP('2026-01-01 00:00:00.123') + INTERVAL seq MINUTE, JSON_OBJECT('n', seq, 'even', seq % 2 = 0), UNHEX(MD5(seq))
FROM seq_1_to_500;
CREATE TABLE \`order lines\` (customer INT, sku VARCHAR(40), qty INT, FOREIGN KEY (customer) REFERENCES customers(id)) ENGINE=InnoDB;
INSERT INTO \`order lines\` SELECT 1 + seq % 500, CONCAT('SKU-', seq), seq % 9 FROM seq_1_to_3000;
CREATE TABLE empty_table (id INT) ENGINE=InnoDB;
CREATE TABLE bulk (id BIGINT PRIMARY KEY, a CHAR(32), b VARCHAR(64)) ENGINE=InnoDB;
INSERT INTO bulk SELECT seq, MD5(seq), REPEAT(MD5(seq * 3), 2) FROM seq_1_to_40000;
`;

/** The worker's environment: the local cloud as its DigitalOcean account, its key, its known_hosts. */
function workerEnv(changes: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    DIGITALOCEAN_TOKEN: cloud.token,
    DIGITALOCEAN_API_URL: cloud.apiUrl,
    OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
    OPSFLOW_KNOWN_HOSTS: knownHosts,
    OPSFLOW_BACKUP_KEY: TEST_BACKUP_KEY,
    OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY: spaces.accessKey,
    OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY: spaces.secretKey,
    ...changes,
  };
}

function activitiesFor(environment: NodeJS.ProcessEnv) {
  return createBackupActivities({ ...backupDepsFromEnv(environment), upload: { partSize: 5 * 1024 * 1024 } });
}

/** PostgreSQL's host key pinned in the policy; MariaDB's taken from the worker's known_hosts. */
function policy(changes: { pgIn?: Record<string, unknown>; mariaIn?: Record<string, unknown> } = {}): BackupPolicy {
  const place = { environment: 'dbtest', droplet: 'db', sshPort: droplet.port };
  return parseBackupPolicy({
    name: 'droplet-dbs',
    targets: [
      { name: 'pg', kind: 'postgresql', databases: ['shop'], in: { ...place, service: 'postgres', hostKey, ...changes.pgIn } },
      { name: 'maria', kind: 'mariadb', databases: ['shop'], in: { ...place, service: 'mariadb', ...changes.mariaIn } },
    ],
    destination: {
      bucket: spaces.bucket,
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY',
      secretKey: 'env:OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY',
    },
    parallelism: 2,
    retention: { keepDays: 7, minVerified: 1 },
    schedule: { every: '1h' },
  });
}

/** Runs argv in a compose service of the droplet, over SSH, as an operator would. */
async function inService(service: string, argv: string[], stdin?: string): Promise<string> {
  const result = await ssh.execScript('cd /root/dbstack && exec docker compose exec -T "$@"', [service, ...argv], {
    stdin,
    timeoutMs: 60_000,
    tailBytes: 4 * 1024 * 1024,
  });
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} in ${service} exited with ${result.exitCode}: ${result.stderrTail}`);
  return result.stdoutTail;
}

const pgQuery = (database: string, sql: string) =>
  inService('postgres', ['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', database], sql);
const mariaQuery = (database: string, sql: string) => inService('mariadb', ['mariadb', '-N', '-B', database], sql);

async function runActivity<T>(fn: (input: never) => Promise<T>, input: unknown): Promise<T | ApplicationFailure> {
  const mock = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  return (mock.run(fn as (i: unknown) => Promise<T>, input) as Promise<T>).catch((err: unknown) => err as ApplicationFailure);
}

beforeAll(async () => {
  writeFileSync(keyFile, key.private, { mode: 0o600 });
  let api;
  [env, spaces, { cloud, api, stateDir }] = await Promise.all([
    startTemporal(),
    startSpaces(),
    startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }),
  ]);
  droplet = await createHostDroplet(cloud, api, 'dbtest-db', [await registerKey(api, 'deploy', key.public)]);
  const publicHostKey = readFileSync(path.join(stateDir, 'hosts', String(droplet.id), 'ssh_host_ed25519_key.pub'), 'utf8').trim();
  hostKey = fingerprintOf(publicHostKey);
  // The worker's known_hosts: another host's line, then the droplet's, hashed by OpenSSH itself.
  const name = droplet.port === 22 ? droplet.address : `[${droplet.address}]:${droplet.port}`;
  writeFileSync(knownHosts, `203.0.113.9 ${generateEd25519().public}\n${name} ${publicHostKey.split(' ').slice(0, 2).join(' ')}\n`);
  await execFileAsync('ssh-keygen', ['-H', '-f', knownHosts]);
  expect(readFileSync(knownHosts, 'utf8')).not.toContain(droplet.address);

  ssh = await sshConnect({
    host: droplet.address,
    port: droplet.port,
    username: 'root',
    privateKey: key.private,
    hostKey: { pinned: [hostKey] },
  });
  await ssh.mkdirp('/root/dbstack');
  await ssh.putFile('/root/dbstack/compose.yaml', COMPOSE);
  const up = await ssh.execScript('cd /root/dbstack && docker compose up -d --wait', [], {
    env: { PG_PASSWORD: 'pg secret', MARIADB_PASSWORD: 'maria secret' },
    timeoutMs: 60_000,
  });
  if (up.exitCode !== 0) throw new Error(`docker compose up failed: ${up.stderrTail}`);
  await Promise.all([pgQuery('shop', PG_SEED), mariaQuery('shop', MARIADB_SEED)]);

  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: workflowBundlePath() },
    activities: activitiesFor(workerEnv()),
  });
  workerDone = worker.run();
}, 90_000);

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  ssh?.close();
  await cloud?.stop();
  await spaces?.stop();
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('PostgreSQL and MariaDB in the droplet are dumped over SSH to Spaces, verified, and restored into fresh databases equal to the originals', async () => {
  const p = policy();
  const backups = (await env.client.workflow.execute('runBackups', {
    taskQueue,
    workflowId: 'droplet-backups-run',
    args: [{ policy: p, retry: FAST }],
  })) as RunBackupsResult;
  expect(backups.failures).toEqual([]);
  expect(backups.results.map((r) => [r.target, r.database, r.ok, r.verified])).toEqual([
    ['pg', 'shop', true, true],
    ['maria', 'shop', true, true],
  ]);

  // Dumped in the containers: the droplet's servers and their own pg_dump / mariadb-dump.
  const activities = activitiesFor(workerEnv());
  const [pgManifest, mariaManifest] = await Promise.all(
    backups.results.map((r) => runActivity(activities.readManifest, { policy: p, key: r.key })),
  );
  expect(pgManifest).toMatchObject({
    kind: 'postgresql',
    database: 'shop',
    serverVersion: expect.stringMatching(/^PostgreSQL /),
    toolVersion: expect.stringMatching(/^pg_dump \(PostgreSQL\)/),
  });
  expect(mariaManifest).toMatchObject({
    kind: 'mariadb',
    database: 'shop',
    serverVersion: expect.stringMatching(/MariaDB/),
    toolVersion: expect.stringMatching(/mariadb-dump|mysqldump/),
  });

  const restored = await Promise.all(
    ['pg', 'maria'].map(
      (target) =>
        env.client.workflow.execute('restoreBackup', {
          taskQueue,
          workflowId: `droplet-backups-restore-${target}`,
          args: [{ policy: p, target, intoDatabase: 'shop_restored', retry: FAST }],
        }) as Promise<RestoreBackupResult>,
    ),
  );
  for (const r of restored) expect([r.database, r.matchesManifest, r.differences]).toEqual(['shop_restored', true, []]);

  // The restored tables against the originals: row counts and content checksums, table by table.
  for (const target of ['pg', 'maria']) {
    const original = await runActivity(activities.tableStats, { policy: p, target, database: 'shop' });
    const copy = await runActivity(activities.tableStats, { policy: p, target, database: 'shop_restored' });
    expect(Array.isArray(original) && original.length).toBe(4);
    expect(copy).toEqual(original);
    expect(original).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rows: 40_000 }),
        expect.objectContaining({ rows: 3000 }),
        expect.objectContaining({ rows: 0 }),
      ]),
    );
  }
  // And the content itself, read by the servers' own clients rather than opsflow's checksums.
  const pgCustomers = 'SELECT * FROM customers ORDER BY id;';
  expect(await pgQuery('shop_restored', pgCustomers)).toBe(await pgQuery('shop', pgCustomers));
  const mariaCustomers = 'SELECT id, name, note, balance, born, seen, data, HEX(photo) FROM customers ORDER BY id;';
  expect(await mariaQuery('shop_restored', mariaCustomers)).toBe(await mariaQuery('shop', mariaCustomers));
  expect((await pgQuery('shop_restored', 'SELECT count(*) FROM "Sales Data"."order lines";')).trim()).toBe('3000');
}, 90_000);

test('a directory in the droplet (a media volume) is archived over SSH, verified, and its files come back byte for byte, the excluded ones left out', async () => {
  const files: Record<string, Buffer> = {
    'uploads/photo one.jpg': randomBytes(300_000),
    'uploads/2026/03/report.pdf': randomBytes(70_000),
    'avatars/ünïcødé.png': randomBytes(5_000),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [name, content] of Object.entries(files)) {
    await ssh.mkdirp(path.posix.dirname(`/srv/media/${name}`));
    await ssh.putFile(`/srv/media/${name}`, content);
  }
  await ssh.mkdirp('/srv/media/cache');
  await ssh.putFile('/srv/media/cache/thumb.tmp', 'regenerated, not backed up');

  const base = policy();
  const p = parseBackupPolicy({
    ...base,
    name: 'droplet-media',
    targets: [
      {
        name: 'media',
        kind: 'directory',
        path: '/srv/media',
        exclude: ['./cache'],
        in: { environment: 'dbtest', droplet: 'db', sshPort: droplet.port, hostKey },
      },
    ],
  });
  const backup = (await env.client.workflow.execute('runBackups', {
    taskQueue,
    workflowId: 'droplet-backups-media',
    args: [{ policy: p, retry: FAST }],
  })) as RunBackupsResult;
  expect(backup.failures).toEqual([]);
  expect(backup.results.map((r) => [r.target, r.ok, r.verified])).toEqual([['media', true, true]]);

  // The object in Spaces, unpacked here by the machine's own tar: the same files, nothing else.
  const out = path.join(dir, 'media-restored');
  mkdirSync(out);
  const object = await spaces.s3.send(new GetObjectCommand({ Bucket: spaces.bucket, Key: backup.results[0]!.key! }));
  writeFileSync(path.join(dir, 'media.tar.gz'), Buffer.from(await object.Body!.transformToByteArray()));
  await execFileAsync('tar', ['-xzf', path.join(dir, 'media.tar.gz'), '-C', out]);
  const restored = (await execFileAsync('find', [out, '-type', 'f', '-printf', '%P\\n'])).stdout.trim().split('\n').sort();
  expect(restored).toEqual(Object.keys(files).sort());
  for (const [name, content] of Object.entries(files)) expect(readFileSync(path.join(out, name)).equals(content)).toBe(true);
}, 60_000);

test('a droplet refusing SSH fails the backup as DropletUnreachable (retryable), naming the droplet and address; the run reports it', async () => {
  cloud.ctx.faults.set({ refuseSsh: [droplet.id] });
  try {
    const p = policy();
    const failure = (await runActivity(activitiesFor(workerEnv()).backupDatabase, {
      policy: p,
      target: 'pg',
      database: 'shop',
      takenAt: '2026-03-01T02:00:00.000Z',
    })) as ApplicationFailure;
    expect([failure.type, failure.nonRetryable]).toEqual(['DropletUnreachable', false]);
    expect(failure.message).toContain(`SSH to droplet dbtest-db, service postgres (${droplet.address}:${droplet.port})`);
    expect(failure.message).toMatch(/ECONNRESET|closed the connection/);

    const err = await env.client.workflow
      .execute('runBackups', {
        taskQueue,
        workflowId: 'droplet-backups-refused',
        args: [{ policy: { ...p, targets: [p.targets[0]], verify: { restore: false } }, retry: FAST }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('BackupsFailed');
    expect(cause.message).toContain('pg/shop: backupDatabase: SSH to droplet dbtest-db, service postgres');
  } finally {
    cloud.ctx.faults.set({});
  }
}, 30_000);

test('a host key neither the policy nor known_hosts names is refused before anything is sent; a wrong pinned key too', async () => {
  const input = { target: 'maria', database: 'shop', takenAt: '2026-03-01T03:00:00.000Z' };
  const unknown = (await runActivity(activitiesFor(workerEnv({ OPSFLOW_KNOWN_HOSTS: path.join(dir, 'no-such-file') })).backupDatabase, {
    policy: policy(),
    ...input,
  })) as ApplicationFailure;
  expect([unknown.type, unknown.nonRetryable]).toEqual(['HostKeyUnknown', true]);
  expect(unknown.message).toContain(`host key of droplet dbtest-db (${droplet.address}:${droplet.port}) is not known`);
  expect(unknown.message).toContain('in.hostKey: SHA256:');
  expect(unknown.message).toContain(`The host presents ${hostKey} (unverified)`);

  const wrong = (await runActivity(activitiesFor(workerEnv()).backupDatabase, {
    policy: policy({ mariaIn: { hostKey: fingerprintOf(generateEd25519().public) } }),
    ...input,
  })) as ApplicationFailure;
  expect([wrong.type, wrong.nonRetryable]).toEqual(['SshRefused', true]);
  expect(wrong.message).toMatch(/host key of .* is SHA256:\S+, which is not the pinned fingerprint/);

  const noDroplet = (await runActivity(activitiesFor(workerEnv()).backupDatabase, {
    policy: policy({ mariaIn: { droplet: 'gone' } }),
    ...input,
  })) as ApplicationFailure;
  expect([noDroplet.type, noDroplet.nonRetryable, noDroplet.message]).toEqual([
    'DropletNotFound',
    true,
    expect.stringContaining('no droplet named dbtest-gone'),
  ]);
}, 30_000);

test('the runner: environment values reach the container by `docker exec -e NAME`, never argv; kill stops the command in the droplet', async () => {
  const runners = dropletRunners({
    digitalOcean: () => new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl }),
    privateKey: () => key.private,
    knownHostsFile: knownHosts,
    idleMs: 200,
  });
  const runner = await runners({ environment: 'dbtest', droplet: 'db', service: 'postgres', sshPort: droplet.port });
  expect(runner.where).toBe('droplet dbtest-db, service postgres');
  const marker = `opsflow-${process.pid}-${Date.now()}`;
  // printenv sees the value; ps inside the droplet shows no process whose command line holds it.
  const seen = await runToCompletion(runner, {
    argv: ['sh', '-c', 'printenv OPSFLOW_TEST_SECRET; ps -eo args'],
    env: { OPSFLOW_TEST_SECRET: marker },
  });
  expect(seen.split('\n')[0]).toBe(marker);
  expect(seen.split('\n').slice(1).join('\n')).not.toContain(marker);

  const sleeping = async () =>
    (await ssh.exec(['ps', '-eo', 'pid,args'], { tailBytes: 1024 * 1024 })).stdoutTail
      .split('\n')
      .filter((line) => / sleep 37\.5$/.test(line));
  // Up to 15 s: the droplet side stops the command with TERM once it sees the channel gone (it looks
  // every second) and with KILL 10 s later if TERM was not enough, so 5 s was shorter than the design.
  const waitFor = async (wanted: boolean) => {
    for (let i = 0; (await sleeping()).length > 0 !== wanted; i++) {
      if (i === 60)
        throw new Error(wanted ? 'sleep never showed in the droplet' : `sleep still runs in the droplet: ${(await sleeping()).join('; ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const running = await runner.start({ argv: ['sleep', '37.5'] });
  running.stdin.end();
  running.stdout.resume();
  await waitFor(true);
  const killedAt = Date.now();
  running.kill();
  const exit = await running.completion;
  expect([exit.exitCode, exit.signal]).toEqual([null, 'SIGTERM']);
  expect(Date.now() - killedAt).toBeLessThan(6000);
  // Gone from the droplet too, not only from the channel.
  await waitFor(false);
}, 30_000);
