// Issue 13 item 7, a backup's first run, on real servers: a Temporal dev server and worker, the local
// cloud with a droplet host running PostgreSQL under docker compose (its superuser renamed by
// POSTGRES_USER, as many stacks do), and the local Spaces (MinIO).
// - A policy writing to a bucket that does not exist fails once with a message naming the bucket, its
//   endpoint and `opsflow spaces create`; that command creates it from the policy file (a second
//   time: already there), and the same run then succeeds.
// - Dumps ran as `postgres`, a role this server lacks: the target's `in.user` and its password
//   (`in.password`, a secret reference) are used instead, also once the server asks for passwords
//   on its local socket (a wrong password is refused, naming the role).
// - `opsflow restore <policy file>` refuses bad arguments naming the choices, then restores the
//   latest backup into a new database with live progress, the tables matching the manifest.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { stringify } from 'yaml';
import type { LocalCloud } from '@opsflow/localcloud';
import { backupDepsFromEnv, createBackupActivities } from '../../../src/activities/backups/backup-steps';
import { missingBucketMessage } from '../../../src/backups/missing-bucket';
import { buildCli } from '../../../src/client/cli';
import { describeFailure } from '../../../src/client/failure-text';
import { connect as sshConnect, type SshConnection } from '../../../src/integrations/ssh';
import { parseBackupPolicy, type BackupPolicy } from '../../../src/specs/backup-policy';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { RunBackupsResult } from '../../../src/workflows/backups/run-backups';
import { TEST_BACKUP_KEY } from '../../helpers/backup-keys';
import { createHostDroplet, fingerprintOf, registerKey, type TestDroplet } from '../../helpers/droplet-host';
import { startLocalCloud } from '../../helpers/localcloud';
import { privateTempDir, startSpaces, type TestSpaces } from '../../helpers/spaces';
import { generateEd25519 } from '../../helpers/ssh-keys';
import { startTemporal, workflowBundlePath } from '../../helpers/temporal';

jest.setTimeout(5 * 60_000);

const key = generateEd25519();
const dir = privateTempDir('first-run');
const keyFile = path.join(dir, 'id_ed25519');
const FAST = { maximumAttempts: 2, initialInterval: '200ms' };
const SAVED_ENV = { ...process.env };
const PG_PASSWORD = 'shop admin secret';

let env: TestWorkflowEnvironment;
let spaces: TestSpaces;
let cloud: LocalCloud;
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
      POSTGRES_USER: shopadmin
      POSTGRES_PASSWORD: \${PG_PASSWORD}
      POSTGRES_DB: shop
`;

// What the worker and the CLI resolve secret references from.
const SECRETS = {
  OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY: '',
  OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY: '',
  OPSFLOW_SECRET_SHOP_PG: PG_PASSWORD,
  OPSFLOW_SECRET_SHOP_PG_WRONG: 'not the password',
};

function policy(name: string, bucket: string, pgIn: Record<string, unknown> = {}): BackupPolicy {
  return parseBackupPolicy({
    name,
    targets: [
      {
        name: 'pg',
        kind: 'postgresql',
        databases: ['shop'],
        in: { environment: 'shop', droplet: 'db', sshPort: droplet.port, service: 'postgres', hostKey, ...pgIn },
      },
    ],
    destination: {
      bucket,
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY',
      secretKey: 'env:OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY',
    },
    retention: { keepDays: 7, minVerified: 1 },
    schedule: { every: '1h' },
  });
}

/** The policy as a file, as a user keeps it. */
function policyFile(p: BackupPolicy): string {
  const file = path.join(dir, `${p.name}.yaml`);
  writeFileSync(file, stringify(p));
  return file;
}

async function runBackups(p: BackupPolicy, workflowId: string): Promise<RunBackupsResult | ApplicationFailure> {
  return env.client.workflow.execute('runBackups', { taskQueue: TASK_QUEUE, workflowId, args: [{ policy: p, retry: FAST }] }).then(
    (result) => result as RunBackupsResult,
    (err: unknown) => {
      expect(err).toBeInstanceOf(WorkflowFailedError);
      return (err as WorkflowFailedError).cause as ApplicationFailure;
    },
  );
}

/** Runs the CLI in this process; what it printed, or the error it ended with. */
async function cli(args: string[]): Promise<{ printed: string; error?: Error }> {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    await buildCli().exitOverride().parseAsync(args, { from: 'user' });
    return { printed: printed.join('\n') };
  } catch (error) {
    return { printed: printed.join('\n'), error: error as Error };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

async function psql(database: string, sql: string): Promise<string> {
  const result = await ssh.execScript(
    'cd /root/shop && exec docker compose exec -T -e PGPASSWORD="$PGPASSWORD" postgres psql -X -q -A -t -v ON_ERROR_STOP=1 -U shopadmin -d "$1"',
    [database],
    { stdin: sql, timeoutMs: 60_000, tailBytes: 1024 * 1024, env: { PGPASSWORD: PG_PASSWORD } },
  );
  if (result.exitCode !== 0) throw new Error(`psql exited with ${result.exitCode}: ${result.stderrTail}`);
  return result.stdoutTail.trim();
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, key.private, { mode: 0o600 });
  let api;
  let stateDir: string;
  [env, spaces, { cloud, api, stateDir }] = await Promise.all([
    startTemporal(),
    startSpaces(),
    startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }),
  ]);
  SECRETS.OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY = spaces.accessKey;
  SECRETS.OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY = spaces.secretKey;
  Object.assign(process.env, SECRETS, { TEMPORAL_ADDRESS: env.address });
  droplet = await createHostDroplet(cloud, api, 'shop-db', [await registerKey(api, 'deploy', key.public)]);
  hostKey = fingerprintOf(readFileSync(path.join(stateDir, 'hosts', String(droplet.id), 'ssh_host_ed25519_key.pub'), 'utf8').trim());
  ssh = await sshConnect({
    host: droplet.address,
    port: droplet.port,
    username: 'root',
    privateKey: key.private,
    hostKey: { pinned: [hostKey] },
  });
  await ssh.mkdirp('/root/shop');
  await ssh.putFile('/root/shop/compose.yaml', COMPOSE);
  const up = await ssh.execScript('cd /root/shop && docker compose up -d --wait', [], { env: { PG_PASSWORD }, timeoutMs: 90_000 });
  if (up.exitCode !== 0) throw new Error(`docker compose up failed: ${up.stderrTail}`);
  await psql(
    'shop',
    'CREATE TABLE orders (id serial PRIMARY KEY, item text); INSERT INTO orders (item) SELECT md5(g::text) FROM generate_series(1, 2000) g;',
  );

  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: workflowBundlePath() },
    activities: createBackupActivities(
      backupDepsFromEnv({
        DIGITALOCEAN_TOKEN: cloud.token,
        DIGITALOCEAN_API_URL: cloud.apiUrl,
        OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
        OPSFLOW_KNOWN_HOSTS: path.join(dir, 'known_hosts'),
        OPSFLOW_BACKUP_KEY: TEST_BACKUP_KEY,
        ...SECRETS,
      }),
    ),
  });
  workerDone = worker.run();
}, 180_000);

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  ssh?.close();
  await cloud?.stop();
  await spaces?.stop();
  await env?.teardown();
  process.env = SAVED_ENV;
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('a missing bucket is named once with how to create it; spaces create makes it from the policy file; the run then succeeds', async () => {
  const p = policy('first-run-bucket', 'first-run-missing', { user: 'shopadmin', password: 'env:OPSFLOW_SECRET_SHOP_PG' });
  const failure = (await runBackups(p, 'first-run-missing-bucket')) as ApplicationFailure;
  expect(failure.type).toBe('BackupsFailed');
  const said = missingBucketMessage('first-run-missing', spaces.endpoint);
  expect(failure.message).toContain(said);
  expect(failure.message.split(said)).toHaveLength(2); // said once

  const file = policyFile(p);
  // Refused before any request: a bad name, no endpoint to be had, keys given inline.
  expect((await cli(['spaces', 'create', 'Bad_Bucket', '--policy', file])).error?.message).toBe(
    `spaces create: no policy in ${file} writes to bucket Bad_Bucket (it names first-run-missing)`,
  );
  expect((await cli(['spaces', 'create', 'Bad_Bucket', '--endpoint', spaces.endpoint])).error?.message).toBe(
    'spaces create: bucket "Bad_Bucket": must be an S3 bucket name',
  );
  expect(
    (await cli(['spaces', 'create', 'fine-bucket', '--endpoint', spaces.endpoint, '--access-key', 'AKIA123', '--secret-key', 'x'])).error
      ?.message,
  ).toMatch(/^spaces create: --access-key: must be a secret reference/);

  const created = await cli(['spaces', 'create', '--policy', file]);
  expect(created.error).toBeUndefined();
  expect(created.printed).toBe(`created bucket first-run-missing at ${spaces.endpoint} (endpoint from ${file}'s destination.endpoint)`);
  await spaces.s3.send(new HeadBucketCommand({ Bucket: 'first-run-missing' })); // it is there
  expect((await cli(['spaces', 'create', '--policy', file])).printed).toBe(
    `bucket first-run-missing already exists at ${spaces.endpoint} and is yours: nothing to do`,
  );

  // With nothing said, the running local cloud's Spaces and keys (its endpoint file); none running: refused.
  const state = path.join(dir, 'state');
  mkdirSync(path.join(state, 'localcloud'), { recursive: true });
  const endpointFile = path.join(state, 'localcloud', 'endpoint.json');
  const localSpaces = { endpoint: spaces.endpoint, region: 'us-east-1', accessKey: spaces.accessKey, secretKey: spaces.secretKey };
  process.env.OPSFLOW_STATE_DIR = state;
  try {
    writeFileSync(endpointFile, JSON.stringify({ pid: process.pid, spaces: localSpaces }));
    expect((await cli(['spaces', 'create', 'first-run-local'])).printed).toBe(
      `created bucket first-run-local at ${spaces.endpoint} (endpoint from the running local cloud)`,
    );
    await spaces.s3.send(new HeadBucketCommand({ Bucket: 'first-run-local' }));
    writeFileSync(endpointFile, JSON.stringify({ pid: 2 ** 22 + 1, spaces: localSpaces })); // no such process
    expect((await cli(['spaces', 'create', 'first-run-local'])).error?.message).toMatch(
      /^spaces create: no Spaces endpoint: give --endpoint/,
    );
  } finally {
    delete process.env.OPSFLOW_STATE_DIR;
  }

  const result = (await runBackups(p, 'first-run-bucket-created')) as RunBackupsResult;
  expect(result.failures).toEqual([]);
  expect(result.results.map((r) => [r.target, r.database, r.ok, r.verified])).toEqual([['pg', 'shop', true, true]]);
});

test('dumps run as the target role with its password, even when the socket asks for one; the default role is refused by the server', async () => {
  // Before: every in-droplet dump ran as `postgres`, which POSTGRES_USER left out of this server.
  const asPostgres = (await runBackups(policy('first-run-default-role', spaces.bucket), 'first-run-default-role')) as ApplicationFailure;
  expect(asPostgres.message).toContain('role "postgres" does not exist');

  // The server now asks for passwords on its local socket too.
  const hba = await psql('shop', 'SHOW hba_file');
  await psql(
    'shop',
    `COPY (SELECT 'local all all scram-sha-256' UNION ALL SELECT 'host all all all scram-sha-256') TO '${hba}'; SELECT pg_reload_conf();`,
  );
  const wrong = (await runBackups(
    policy('first-run-wrong-password', spaces.bucket, { user: 'shopadmin', password: 'env:OPSFLOW_SECRET_SHOP_PG_WRONG' }),
    'first-run-wrong-password',
  )) as ApplicationFailure;
  expect(wrong.message).toContain('password authentication failed for user "shopadmin"');
  expect(wrong.message).not.toContain('not the password'); // the value never shows

  const right = (await runBackups(
    policy('first-run-role', spaces.bucket, { user: 'shopadmin', password: 'env:OPSFLOW_SECRET_SHOP_PG' }),
    'first-run-role',
  )) as RunBackupsResult;
  expect(right.failures).toEqual([]);
  expect(right.results.map((r) => [r.target, r.database, r.ok, r.verified])).toEqual([['pg', 'shop', true, true]]);
});

test('opsflow restore refuses bad arguments naming the choices, then restores the latest backup with progress', async () => {
  const p = policy('first-run-restore', spaces.bucket, { user: 'shopadmin', password: 'env:OPSFLOW_SECRET_SHOP_PG' });
  const file = policyFile(p);
  expect(((await runBackups(p, 'first-run-restore-backup')) as RunBackupsResult).failures).toEqual([]);
  const refusals: [string[], string][] = [
    [
      ['--target', 'nope', '--into', 'copy'],
      `restore: --target: ${file} has no database target nope (first-run-restore/pg (postgresql: shop))`,
    ],
    [['--database', 'other', '--into', 'copy'], 'restore: --database: target pg has no database other (it has shop)'],
    [[], 'restore: --into: name the database to restore into (a new one; an existing one needs --overwrite)'],
    [['--into', 'bad name'], 'restore: --into: must be a database name (letters, digits, _, $ and -)'],
    [
      ['--into', 'copy', '--backup', 'other-policy/pg/shop/x.pgdump.gz'],
      'restore: --backup: must be a backup of policy first-run-restore: a key under first-run-restore/',
    ],
    [['--into', 'copy', '--policy', 'nightly'], `restore: --policy: ${file} has no policy nightly (it has first-run-restore)`],
  ];
  for (const [args, message] of refusals) expect((await cli(['restore', file, ...args])).error?.message).toBe(message);
  expect((await cli(['restore', path.join(dir, 'missing.yaml'), '--into', 'copy'])).error?.message).toBe(
    `restore: no policy file ${path.join(dir, 'missing.yaml')}`,
  );

  const restored = await cli(['restore', file, '--into', 'shop_copy']);
  expect(restored.error).toBeUndefined();
  expect(restored.printed).toMatch(
    /Restoring the latest backup of first-run-restore\/pg into shop_copy: workflow restore-first-run-restore-pg-\d+/,
  );
  // The live progress: the steps as they end, then the result.
  for (const step of ['choose backup', 'check target database', 'restore', 'compare tables']) expect(restored.printed).toContain(step);
  expect(restored.printed).toMatch(
    /Restored first-run-restore\/pg\/shop\/\d{8}T\d{6}Z\.pgdump\.gz \(taken .+\) into database shop_copy: \d+ bytes in [\d.]+ s\./,
  );
  expect(restored.printed).toContain('Every table matches the manifest (row counts and checksums).');
  expect(await psql('shop_copy', 'SELECT count(*) FROM orders')).toBe('2000');

  // By environment: the policies applied for it, read back from their schedules.
  expect((await cli(['restore', 'shop', '--into', 'shop_copy'])).error?.message).toBe(
    'restore: no applied backup policy has targets in environment shop (apply one with `opsflow schedules apply <file>`, or give the policy file instead)',
  );
  expect((await cli(['schedules', 'apply', file])).error).toBeUndefined();
  // The schedule list is eventually consistent: a schedule made a moment ago shows up shortly.
  let byEnvironment = await cli(['restore', 'shop', '--into', 'shop_copy2', '--print-input']);
  for (const deadline = Date.now() + 30_000; byEnvironment.error && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 200));
    byEnvironment = await cli(['restore', 'shop', '--into', 'shop_copy2', '--print-input']);
  }
  expect(byEnvironment.error).toBeUndefined();
  expect(JSON.parse(byEnvironment.printed)).toEqual({ policy: p, target: 'pg', intoDatabase: 'shop_copy2' });

  // Again into the same database: refused by the workflow, not overwritten.
  const again = await cli(['restore', file, '--into', 'shop_copy']);
  expect(describeFailure(again.error)).toContain('database shop_copy already exists on target pg; restoring over it needs overwrite: true');
});
