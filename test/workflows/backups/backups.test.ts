// The backup workflows on the real Temporal server, against real PostgreSQL and MariaDB (by
// connection), a directory, the real S3 server and a local webhook: a run backs everything up,
// verifies each backup by a restore and lists it verified; restoreBackup refuses an existing
// database unless told to overwrite; Spaces going dark is retried through; a target that keeps
// failing gets exactly one notice; retention over 60 simulated days keeps exactly the expected set.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createBackupActivities, type BackupListing } from '../../../src/activities/backups/backup-steps';
import { applySchedules, listSchedules } from '../../../src/client/schedules';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import { runToCompletion } from '../../../src/backups/command-runner';
import { localRunner } from '../../../src/backups/local-runner';
import { backupKey, manifestKeyOf, verifiedKeyOf, type BackupManifest } from '../../../src/backups/keys';
import { signManifest } from '../../../src/backups/manifest-auth';
import { signVerification } from '../../../src/backups/verification-auth';
import { deleteKeys, getJson, putJson } from '../../../src/backups/spaces';
import { secretResolver } from '../../../src/backups/secrets';
import { postgresql } from '../../../src/backups/postgres';
import { mariadb } from '../../../src/backups/mariadb';
import { parseBackupPolicy, type BackupPolicy } from '../../../src/specs/backup-policy';
import type { ApplyRetentionResult } from '../../../src/workflows/backups/apply-retention';
import type { RestoreBackupResult } from '../../../src/workflows/backups/restore-backup';
import type { RunBackupsResult } from '../../../src/workflows/backups/run-backups';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { TEST_KEYRING } from '../../helpers/backup-keys';
import {
  MARIADB,
  PG,
  dropMariadb,
  dropPostgres,
  mariadbQuery,
  psql,
  seedMariadb,
  seedPostgres,
  uniqueDbName,
} from '../../helpers/databases';
import { keysUnder, pendingAt, privateTempDir, startSpaces, type TestSpaces } from '../../helpers/spaces';
import { startTemporal, temporalCliPath, uniqueTaskQueue, workflowBundlePath } from '../../helpers/temporal';

let env: TestWorkflowEnvironment;
let spaces: TestSpaces;
const ownDirs: string[] = [];
const ownDir = (prefix: string) => {
  const dir = privateTempDir(prefix);
  ownDirs.push(dir);
  return dir;
};
let worker: Worker;
let activities: ReturnType<typeof createBackupActivities>;
let workerDone: Promise<void>;
let webhook: http.Server;
const notices: { text: string }[] = [];
const taskQueue = uniqueTaskQueue('backups');
const pgDb = uniqueDbName('wfpg');
const mdb = uniqueDbName('wfmdb');
const madePg: string[] = [pgDb];
const madeMariadb: string[] = [mdb];
let mediaDir: string;
let passwordFile: string;
const FAST = { maximumAttempts: 3, initialInterval: '500ms' };

function policy(changes: Record<string, unknown> = {}): BackupPolicy {
  return parseBackupPolicy({
    name: 'wf-test',
    targets: [
      {
        name: 'pg',
        kind: 'postgresql',
        databases: [pgDb],
        connection: { host: '127.0.0.1', port: 5432, user: 'postgres', password: `file:${passwordFile}` },
      },
      { name: 'shop-db', kind: 'mariadb', databases: [mdb], connection: { host: '127.0.0.1', port: 3306, user: 'root' } },
      { name: 'media', kind: 'directory', path: mediaDir, in: { environment: 'test-env', droplet: 'app' } },
    ],
    destination: {
      bucket: spaces.bucket,
      prefix: 'runs/',
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY',
      secretKey: 'env:OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY',
    },
    parallelism: 2,
    retention: { keepDays: 30, minVerified: 3 },
    schedule: { every: '1h' },
    notify: { webhook: 'env:OPSFLOW_SECRET_TEST_WEBHOOK_URL' },
    ...changes,
  });
}

beforeAll(async () => {
  [env, spaces] = await Promise.all([startTemporal(), startSpaces()]);
  await Promise.all([seedPostgres(pgDb, 20_000), seedMariadb(mdb, 20_000)]);
  mediaDir = ownDir('wf-media');
  mkdirSync(path.join(mediaDir, 'uploads'));
  writeFileSync(path.join(mediaDir, 'uploads', 'a.jpg'), Buffer.alloc(100_000, 7));
  passwordFile = path.join(ownDir('wf-secrets'), 'pg-password');
  writeFileSync(path.join(passwordFile), 'not-needed-with-trust-auth\n');

  webhook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      notices.push(JSON.parse(body) as { text: string });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
  const secrets = secretResolver({
    OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY: spaces.accessKey,
    OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY: spaces.secretKey,
    OPSFLOW_SECRET_TEST_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hooks/T000/B000/secret`,
    // `file:` secrets are read only inside the worker's secrets folder.
    OPSFLOW_SECRETS_DIR: path.dirname(passwordFile),
  });
  // Directory targets live in droplets; until the SSH runner lands, the worker itself stands in for the droplet.
  activities = createBackupActivities({
    resolveSecret: secrets,
    upload: { partSize: 5 * 1024 * 1024 },
    dropletRunner: () => localRunner(),
    backupKeys: TEST_KEYRING,
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: workflowBundlePath() },
    activities,
  });
  workerDone = worker.run();
}, 10 * 60_000);

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  webhook?.close();
  await dropPostgres(...madePg);
  await dropMariadb(...madeMariadb);
  await spaces?.stop();
  for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
  await env?.teardown();
});

const start = (type: string, workflowId: string, input: object) =>
  env.client.workflow.start(type, { taskQueue, workflowId, args: [input] });
const failureOf = async (promise: Promise<unknown>) => {
  const err = await promise.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
};

/** What listBackups says now, run as the worker runs it. */
async function list(p: BackupPolicy): Promise<BackupListing[]> {
  const activities = createBackupActivities({
    resolveSecret: secretResolver({
      OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY: spaces.accessKey,
      OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY: spaces.secretKey,
    }),
    backupKeys: TEST_KEYRING,
  });
  return new MockActivityEnvironment().run(activities.listBackups, { policy: p });
}

async function scratchDatabases(): Promise<string[]> {
  const pg = (await psql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'opsflow\\_verify\\_%';"))
    .split('\n')
    .filter(Boolean);
  const maria = (
    await mariadbQuery(undefined, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'opsflow\\_verify\\_%';")
  )
    .split('\n')
    .filter(Boolean);
  return [...pg, ...maria];
}

test('a run backs up PostgreSQL, MariaDB and a directory, verifies each by a restore, and lists them verified', async () => {
  const handle = await start('runBackups', 'backups-run-verified', { policy: policy() });
  const result = (await handle.result()) as RunBackupsResult;
  expect(result.failures).toEqual([]);
  expect(result.results.map((r) => [r.target, r.database, r.ok, r.verified])).toEqual([
    ['pg', pgDb, true, true],
    ['shop-db', mdb, true, true],
    ['media', undefined, true, true],
  ]);
  for (const r of result.results) {
    expect(r.key).toMatch(new RegExp(`^runs/wf-test/${r.target}/${r.database ?? 'archive'}/\\d{8}T\\d{6}Z\\.(pgdump|sql|tar)\\.gz$`));
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.compressedBytes).toBeGreaterThan(0);
  }
  const status = await handle.query<OperationStatus>('status');
  expect(status.step).toBe('done');
  expect(status.resources.filter((x) => x.kind === 'backup')).toHaveLength(3);

  const listed = await list(policy());
  expect(listed.map((b) => [b.target, b.verified])).toEqual(
    expect.arrayContaining([
      ['pg', true],
      ['shop-db', true],
      ['media', true],
    ]),
  );
  const record = await getJson<{ tables: number; rows: number }>(spaces.s3, spaces.bucket, verifiedKeyOf(result.results[0]!.key!));
  expect(record).toMatchObject({ tables: 4, rows: 20_000 + 500 + 3000 });
  expect(await scratchDatabases()).toEqual([]);
  expect(notices).toEqual([]);
  expect(
    await pendingAt(
      spaces.s3,
      spaces.bucket,
      result.results.map((r) => r.key!),
    ),
  ).toEqual([]);
});

test('restoreBackup restores the latest backup; refuses an existing database without overwrite; replaces it with overwrite', async () => {
  const into = uniqueDbName('wfrestored');
  madePg.push(into);
  const restored = (await env.client.workflow.execute('restoreBackup', {
    taskQueue,
    workflowId: 'restore-pg-1',
    args: [{ policy: policy(), target: 'pg', intoDatabase: into }],
  })) as RestoreBackupResult;
  expect(restored).toMatchObject({ database: into, matchesManifest: true, differences: [] });
  expect(restored.key).toMatch(/^runs\/wf-test\/pg\//);
  expect(await postgresql.tableStats(PG, into)).toEqual(await postgresql.tableStats(PG, pgDb));

  // Someone works in it now; a restore without overwrite must not touch it.
  await psql(into, "INSERT INTO customers (name) VALUES ('written after the restore');");
  const refused = await failureOf(
    env.client.workflow.execute('restoreBackup', {
      taskQueue,
      workflowId: 'backups-restore-refused',
      args: [{ policy: policy(), target: 'pg', intoDatabase: into, retry: FAST }],
    }),
  );
  expect(refused.type).toBe('DatabaseExists');
  expect(refused.message).toContain(`database ${into} already exists on target pg; restoring over it needs overwrite: true`);
  expect((await psql(into, 'SELECT count(*) FROM customers;')).trim()).toBe('501');

  const replaced = (await env.client.workflow.execute('restoreBackup', {
    taskQueue,
    workflowId: 'restore-pg-3',
    args: [{ policy: policy(), target: 'pg', intoDatabase: into, overwrite: true }],
  })) as RestoreBackupResult;
  expect(replaced.matchesManifest).toBe(true);
  expect((await psql(into, 'SELECT count(*) FROM customers;')).trim()).toBe('500');

  const intoMaria = uniqueDbName('wfmdbrestored');
  madeMariadb.push(intoMaria);
  const maria = (await env.client.workflow.execute('restoreBackup', {
    taskQueue,
    workflowId: 'restore-mdb-1',
    args: [{ policy: policy(), target: 'shop-db', intoDatabase: intoMaria }],
  })) as RestoreBackupResult;
  expect(maria.matchesManifest).toBe(true);
  expect(await mariadb.tableStats(MARIADB, intoMaria)).toEqual(await mariadb.tableStats(MARIADB, mdb));
});

test('restoreBackup of a planted latest backup (`\\! touch`, format-1 manifest with the right SHA-256) fails before touching anything, even with overwrite', async () => {
  const into = uniqueDbName('wfplanted');
  madePg.push(into);
  await seedPostgres(into, 10);
  const before = await postgresql.tableStats(PG, into);
  const marker = path.join(ownDir('wf-planted'), 'ran');
  const key = backupKey({
    prefix: 'runs/',
    policy: 'wf-test',
    target: 'pg',
    database: pgDb,
    takenAt: '2099-01-01T00:00:00.000Z',
    compression: 'gzip',
  });
  const body = gzipSync(`\\! touch ${marker}\nDROP TABLE customers;\n`);
  await spaces.s3.send(new PutObjectCommand({ Bucket: spaces.bucket, Key: key, Body: body }));
  await putJson(spaces.s3, spaces.bucket, manifestKeyOf(key), {
    formatVersion: 1,
    key,
    kind: 'postgresql',
    compression: 'gzip',
    compressedBytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    takenAt: '2099-01-01T00:00:00.000Z',
    tables: [],
  });
  try {
    const handle = await start('restoreBackup', 'restore-planted', {
      policy: policy(),
      target: 'pg',
      intoDatabase: into,
      overwrite: true,
      retry: FAST,
    });
    const failure = await failureOf(handle.result());
    const cause = (failure.cause as ApplicationFailure | undefined) ?? failure;
    expect([cause.type, cause.nonRetryable]).toEqual(['BackupFormatRefused', true]);
    expect(cause.message).toContain(`${key} was written before opsflow signed its backups`);
    // It ended in the step that refused it, with that refusal as its final state's reason (nothing restored).
    const status = await handle.query<OperationStatus>('status');
    expect([status.step, status.outcome?.state, status.completedSteps]).toEqual(['failed', 'failed', []]);
    expect(status.outcome?.reason).toContain(`${key} was written before opsflow signed its backups`);
    expect(status.failedSteps).toEqual([`choose backup: ${status.outcome?.reason}`]);
    expect(existsSync(marker)).toBe(false);
    expect(await postgresql.tableStats(PG, into)).toEqual(before);
  } finally {
    await deleteKeys(spaces.s3, spaces.bucket, [key, manifestKeyOf(key)]);
  }
});

test('verifyBackup fails loudly when the restored tables do not match the manifest, and drops its scratch database; a manifest changed without the key is refused before any restore', async () => {
  const [latest] = (await list(policy())).filter((b) => b.target === 'pg');
  const manifest = (await getJson<BackupManifest>(spaces.s3, spaces.bucket, manifestKeyOf(latest!.key)))!;
  const { keyId: _keyId, mac: _mac, ...fields } = manifest;
  const wrongFigures = { ...fields, tables: manifest.tables.map((t) => (t.table === 'public.customers' ? { ...t, rows: 499 } : t)) };
  try {
    // Figures that do not match, in a manifest the worker's key signed (a dump that lost rows).
    await putJson(spaces.s3, spaces.bucket, manifestKeyOf(latest!.key), signManifest(wrongFigures, TEST_KEYRING.signingKey()));
    const failure = await failureOf(
      env.client.workflow.execute('verifyBackup', {
        taskQueue,
        workflowId: 'verify-tampered',
        args: [{ policy: policy(), target: 'pg', key: latest!.key }],
      }),
    );
    expect(failure.type).toBe('VerificationFailed');
    expect(failure.message).toContain('public.customers: 500 rows restored, 499 dumped');
    expect(await scratchDatabases()).toEqual([]);
    // The same change made by someone without the key: refused when the manifest is read.
    await putJson(spaces.s3, spaces.bucket, manifestKeyOf(latest!.key), { ...wrongFigures, keyId: manifest.keyId, mac: manifest.mac });
    const refused = await failureOf(
      env.client.workflow.execute('verifyBackup', {
        taskQueue,
        workflowId: 'verify-forged',
        args: [{ policy: policy(), target: 'pg', key: latest!.key, retry: FAST }],
      }),
    );
    expect((refused.cause as ApplicationFailure | undefined)?.type ?? refused.type).toBe('BackupNotAuthentic');
    expect(await scratchDatabases()).toEqual([]);
  } finally {
    await putJson(spaces.s3, spaces.bucket, manifestKeyOf(latest!.key), manifest);
  }
});

test('Spaces unavailable for a while: the backup step is retried and the run then succeeds', async () => {
  const p = policy({ name: 'wf-outage', targets: [policy().targets[0]], verify: { restore: false } });
  await spaces.server.setUnavailable(true);
  const handle = await start('runBackups', 'backup-wf-outage', { policy: p, retry: { maximumAttempts: 10, initialInterval: '1s' } });
  await new Promise((r) => setTimeout(r, 6000));
  await spaces.server.setUnavailable(false);
  const result = (await handle.result()) as RunBackupsResult;
  expect(result.results.map((r) => r.ok)).toEqual([true]);
  const history = await handle.fetchHistory();
  const attempts = (history.events ?? [])
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  expect(Math.max(...attempts)).toBeGreaterThan(1);
  expect(await keysUnder(spaces.s3, spaces.bucket, 'runs/wf-outage/')).toHaveLength(2); // the dump and its manifest
  expect(
    await pendingAt(
      spaces.s3,
      spaces.bucket,
      result.results.map((r) => r.key!),
    ),
  ).toEqual([]);
});

test('a target that keeps failing: the others are backed up, the webhook gets exactly one notice naming it, the run fails', async () => {
  notices.length = 0;
  const p = policy({
    name: 'wf-failing',
    targets: [
      // Nothing listens on port 1: connection refused on every attempt, as from a droplet that is down.
      { name: 'orders-db', kind: 'postgresql', databases: ['orders'], connection: { host: '127.0.0.1', port: 1, user: 'postgres' } },
      policy().targets[0],
    ],
    verify: { restore: false },
  });
  const handle = await start('runBackups', 'backups-run-failing-notice', { policy: p, retry: FAST });
  const failure = await failureOf(handle.result());
  expect(failure.type).toBe('BackupsFailed');
  expect(failure.message).toContain('orders-db/orders: backupDatabase');
  expect(failure.message).toMatch(/Connection refused/i);
  const details = failure.details?.[0] as RunBackupsResult;
  expect(details.results.map((r) => [r.target, r.ok])).toEqual([
    ['orders-db', false],
    ['pg', true],
  ]);
  expect(details.notified).toBe(true);
  expect(notices).toHaveLength(1);
  expect(notices[0]!.text).toContain('backups of wf-failing failed for orders-db (run backups-run-failing-notice)');
  expect(notices[0]!.text).toMatch(/orders-db\/orders: .*Connection refused/i);
  // Three attempts of the failing dump, as the retry policy allows.
  const history = await handle.fetchHistory();
  const attempts = (history.events ?? [])
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  expect(attempts).toContain(3);
  const finished = await handle.query<OperationStatus>('status');
  expect(finished.step).toBe('failed');
  // The failed target's step is listed as failed, not done (issue 13 item 5).
  expect(finished.completedSteps).not.toContain('back up');
  expect(finished.failedSteps).toEqual([expect.stringMatching(/^back up: orders-db\/orders: .*Connection refused/i)]);
  expect(finished.outcome?.state).toBe('failed');
});

test('a schedule made by `opsflow schedules apply` runs the backup when triggered; the run shows in describe, the list and the workflow list', async () => {
  const p = policy({ name: 'wf-scheduled', targets: [policy().targets[0]], verify: { restore: false } });
  expect((await applySchedules(env.client, [p], 'wf-test')).map((i) => [i.action, i.scheduleId])).toEqual([
    ['create', 'backup-wf-scheduled'],
  ]);
  // Schedules start runBackups on the production task queue: a worker serves it here.
  const scheduled = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: workflowBundlePath() },
    activities,
  });
  await scheduled.runUntil(async () => {
    const schedule = env.client.schedule.getHandle('backup-wf-scheduled');
    await schedule.trigger();
    let action;
    for (let i = 0; i < 100 && !action; i++) {
      action = (await schedule.describe()).info.recentActions[0]?.action;
      if (!action) await new Promise((r) => setTimeout(r, 100));
    }
    expect(action?.workflow.workflowId).toMatch(/^backup-wf-scheduled-/);
    const result = (await env.client.workflow
      .getHandle(action!.workflow.workflowId, action!.workflow.firstExecutionRunId)
      .result()) as RunBackupsResult;
    expect(result.results.map((r) => [r.target, r.ok])).toEqual([['pg', true]]);
    let listed: string[] = [];
    for (let i = 0; i < 100 && listed.length === 0; i++) {
      listed = [];
      for await (const w of env.client.workflow.list({
        query: `WorkflowType = 'runBackups' AND OpsEnvironment = 'wf-scheduled' AND ExecutionStatus = 'Completed'`,
      }))
        listed.push(w.workflowId);
      if (listed.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed).toEqual([action!.workflow.workflowId]);
    const [listing] = (await listSchedules(env.client)).filter((l) => l.scheduleId === 'backup-wf-scheduled');
    expect(listing?.lastRun).toMatchObject({ workflowId: action!.workflow.workflowId, status: 'COMPLETED' });
    // The same through the temporal CLI, as the README shows it.
    const described = await runToCompletion(localRunner(), {
      argv: [
        temporalCliPath(),
        'schedule',
        'describe',
        '--schedule-id',
        'backup-wf-scheduled',
        '--address',
        env.address,
        '--output',
        'json',
      ],
    });
    expect(described).toContain(action!.workflow.workflowId);
  });
  await applySchedules(env.client, [], 'wf-test');
});

/** 60 nightly runs from 2026-01-01, applyRetention after each, on real objects in Spaces. */
async function simulate(
  p: BackupPolicy,
  outcome: (day: number) => 'verified' | 'unverified' | 'none',
): Promise<{ kept: string[]; verifiedAlways: number }> {
  let verifiedAlways = Infinity;
  for (let i = 0; i < 60; i++) {
    const takenAt = new Date(Date.UTC(2026, 0, 1 + i, 2)).toISOString();
    const key = backupKey({ prefix: p.destination.prefix, policy: p.name, target: 'pg', database: pgDb, takenAt, compression: 'gzip' });
    const result = outcome(i);
    if (result !== 'none') {
      await spaces.s3.send(new PutObjectCommand({ Bucket: spaces.bucket, Key: key, Body: `dump of day ${i}` }));
      await putJson(spaces.s3, spaces.bucket, manifestKeyOf(key), { key, takenAt });
      // Signed by the worker's key, as recordVerification writes it: an unsigned record does not count.
      const record = { key, verifiedAt: takenAt, restoredInto: 'simulated', tables: 0, rows: 0 };
      if (result === 'verified')
        await putJson(spaces.s3, spaces.bucket, verifiedKeyOf(key), signVerification(record, TEST_KEYRING.signingKey()));
    }
    await env.client.workflow.execute('applyRetention', {
      taskQueue,
      workflowId: `retention-${p.name}-${i}`,
      args: [{ policy: p, now: new Date(Date.UTC(2026, 0, 1 + i, 12)).toISOString() }],
    });
    if (i >= 2) verifiedAlways = Math.min(verifiedAlways, (await list(p)).filter((b) => b.verified).length);
  }
  const kept = (await list(p)).map((b) => b.takenAt.slice(0, 10)).sort();
  return { kept, verifiedAlways };
}

test('retention over 60 simulated days keeps exactly 7 daily, 4 weekly and 3 monthly backups', async () => {
  const p = policy({ name: 'wf-retention', retention: { keepDays: 7, keepWeekly: 4, keepMonthly: 3, minVerified: 3 } });
  const { kept } = await simulate(p, () => 'verified');
  expect(kept).toEqual([
    '2026-01-31',
    '2026-02-08',
    '2026-02-15',
    '2026-02-22',
    '2026-02-23',
    '2026-02-24',
    '2026-02-25',
    '2026-02-26',
    '2026-02-27',
    '2026-02-28',
    '2026-03-01',
  ]);
  // Each deleted backup took its manifest and verification record with it.
  expect(await keysUnder(spaces.s3, spaces.bucket, 'runs/wf-retention/')).toHaveLength(11 * 3);
}, 240_000);

test('with the last five runs failed, the floor keeps the newest verified backups', async () => {
  // Runs 56-60 failed outright: no backup at all. keepDays 3 alone would leave nothing.
  const none = await simulate(policy({ name: 'wf-floor-none', retention: { keepDays: 3, minVerified: 3 } }), (day) =>
    day >= 55 ? 'none' : 'verified',
  );
  expect(none.kept).toEqual(['2026-02-22', '2026-02-23', '2026-02-24']);
  expect(none.verifiedAlways).toBeGreaterThanOrEqual(3);
  // Runs 56-60 produced backups whose verification failed.
  const unverified = await simulate(policy({ name: 'wf-floor-unverified', retention: { keepDays: 3, minVerified: 3 } }), (day) =>
    day >= 55 ? 'unverified' : 'verified',
  );
  expect(unverified.kept).toEqual(['2026-02-22', '2026-02-23', '2026-02-24', '2026-02-27', '2026-02-28', '2026-03-01']);
  expect(unverified.verifiedAlways).toBeGreaterThanOrEqual(3);
}, 480_000);

test('applyRetention result says why each backup is kept', async () => {
  const p = policy({ name: 'wf-retention', retention: { keepDays: 7, keepWeekly: 4, keepMonthly: 3, minVerified: 3 } });
  const result = (await env.client.workflow.execute('applyRetention', {
    taskQueue,
    workflowId: 'backups-retention',
    args: [{ policy: p, now: '2026-03-01T12:00:00.000Z' }],
  })) as ApplyRetentionResult;
  expect(result.removed).toEqual([]);
  const jan31 = result.kept.find((k) => k.includes('20260131'))!;
  expect(result.reasons[jan31]).toEqual(['newest of month 2026-01']);
});

test('the runs above replay against the current workflow code (rule 8) and their histories hold no secret (rule 6)', async () => {
  const secrets = [spaces.secretKey, spaces.accessKey, 'hooks/T000/B000/secret', 'not-needed-with-trust-auth'];
  // Workflow ids are the file names, as test/replay replays them; OPSFLOW_RECORD_HISTORIES=1 records them there.
  for (const workflowId of ['backups-run-verified', 'backups-run-failing-notice', 'backups-restore-refused', 'backups-retention']) {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, history, workflowId),
    ).resolves.toBeUndefined();
    // The CLI's JSON, as `temporal workflow show -o json` exports it from production too.
    const json = await runToCompletion(localRunner(), {
      argv: [temporalCliPath(), 'workflow', 'show', '--address', env.address, '--workflow-id', workflowId, '--output', 'json'],
    });
    const payloads = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)]
      .map((m) => Buffer.from(m[1] as string, 'base64').toString('utf8'))
      .join('\n');
    expect(payloads).toContain('env:OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY');
    for (const secret of secrets) expect(payloads.includes(secret) || json.includes(secret)).toBe(false);
    if (process.env.OPSFLOW_RECORD_HISTORIES === '1') writeFileSync(path.join(__dirname, '..', '..', 'replay', `${workflowId}.json`), json);
  }
});
