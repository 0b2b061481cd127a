// Chaos in backups: the production worker (dist/worker.js) is SIGKILLed while runBackups streams a
// PostgreSQL dump to Spaces as a multipart upload (seen pending in the S3 server while the worker is
// stopped), and while restoreBackup's pg_restore overwrites a database. The invariants: no multipart
// upload is left pending and the backup exists once; the overwritten database is, with the worker
// dead, either untouched or fully restored, and in the end exactly the backed-up one.
import type { ChildProcess } from 'node:child_process';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { generateBackupKey } from '../../src/backups/backup-key';
import { restoreStagingNames } from '../../src/backups/database';
import { pendingUploads } from '../../src/backups/spaces';
import type { BackupPolicy } from '../../src/specs/backup-policy';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { RestoreBackupResult } from '../../src/workflows/backups/restore-backup';
import type { RunBackupsResult } from '../../src/workflows/backups/run-backups';
import { backupPolicyOf, backupWorkerEnv, contents, createBackupSource, createRestoreTarget, dumpKeyOf } from '../helpers/backup-fixtures';
import { until } from '../helpers/chaos-harness';
import { dropPostgres, psql, uniqueDbName } from '../helpers/databases';
import { killProcess, startProductionWorker, whileStopped } from '../helpers/production-worker';
import { lastAttempts, lookAtRun, type ActivityAttempt } from '../helpers/run-activities';
import { keysUnder, startSpaces, type TestSpaces } from '../helpers/spaces';
import { startTemporal } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

let env: TestWorkflowEnvironment;
let spaces: TestSpaces;
let worker: ChildProcess | undefined;
const source = uniqueDbName('chaos_src');
const target = uniqueDbName('chaos_dst');
const PREFIX = 'chaos/';

const startWorker = async () =>
  (worker = await startProductionWorker({
    temporalAddress: env.address,
    env: backupWorkerEnv(spaces, signingKey),
  }));
const signingKey = generateBackupKey();

let policy: BackupPolicy;

beforeAll(async () => {
  [env, spaces] = await Promise.all([startTemporal(), startSpaces()]);
  await createBackupSource(source);
  // The restore target exists, with other contents: the restore overwrites it.
  await createRestoreTarget(target);
  policy = backupPolicyOf('chaos', spaces, source, PREFIX);
  await startWorker();
}, 10 * 60_000);

afterAll(async () => {
  if (worker) await killProcess(worker);
  await dropPostgres(source, target);
  await spaces?.stop();
  await env?.teardown();
});

/**
 * Looks at the stopped worker until `inside` says the run is where the kill must land, then kills
 * it there and starts it again. Returns the attempt it hit (activity id and attempt number).
 */
async function killInside(
  handle: WorkflowHandle,
  activityType: string,
  inside: (attempt: ActivityAttempt) => Promise<boolean>,
): Promise<{ activityId: string; attempt: number }> {
  const hit = await until(`${activityType} of ${handle.workflowId} at the aimed point`, async () => {
    if ((await handle.describe()).status.name !== 'RUNNING') {
      const outcome = await handle.result().then(
        (r: unknown) => JSON.stringify(r),
        (e: { cause?: Error }) => String(e.cause ?? e),
      );
      throw new Error(`${handle.workflowId} ended before the aimed point: ${outcome}`);
    }
    return whileStopped(worker!, async () => {
      const attempt = (await lookAtRun(handle)).activities.find((a) => a.started && a.type === activityType);
      if (!attempt || !(await inside(attempt))) return undefined;
      await killProcess(worker!);
      return { activityId: attempt.activityId, attempt: attempt.attempt };
    });
  });
  await startWorker();
  return hit;
}

/** The hit attempt was cut short: the history shows a later attempt of that activity. */
async function expectRetried(handle: WorkflowHandle, hit: { activityId: string; attempt: number }): Promise<void> {
  expect((await lastAttempts(handle)).get(hit.activityId)).toBeGreaterThan(hit.attempt);
}

let backupKeyOfRun: string;

/** The worker's sessions (pg_restore's) connected to the restore target or its staging database. */
const restoreSessions = async () =>
  Number(
    await psql(
      'postgres',
      `SELECT count(*) FROM pg_stat_activity WHERE datname IN ('${target}', '${restoreStagingNames(target).staging}') AND application_name = 'opsflow-backup';`,
    ),
  );

test('a SIGKILL while the dump is uploaded in parts: the run succeeds, no multipart upload is left, the backup exists once', async () => {
  const handle = await env.client.workflow.start('runBackups', {
    taskQueue: TASK_QUEUE,
    workflowId: 'backup-chaos',
    args: [{ policy, retry: { initialInterval: '1s' } }],
  });
  // Mid-upload by construction: the worker is stopped while the S3 server holds the multipart upload
  // of the attempt's key pending. (Heartbeats cannot say so: the SDK sends them at most every 48 s.)
  let key = '';
  const hit = await killInside(handle, 'backupDatabase', async (a) => {
    key = dumpKeyOf(policy, source, a.input.takenAt);
    return (await pendingUploads(spaces.s3, spaces.bucket, key)).length > 0;
  });
  const result = (await handle.result()) as RunBackupsResult;
  expect(result.failures).toEqual([]);
  expect(result.results).toEqual([expect.objectContaining({ target: 'pg', database: source, ok: true, verified: true })]);
  await expectRetried(handle, hit);
  backupKeyOfRun = result.results[0]!.key!;
  expect(backupKeyOfRun).toBe(key);
  // MinIO lists pending uploads by exact key only (asked by prefix it answers none, even with one
  // pending), so the key is asked: the same question found the upload pending at the kill.
  expect(await pendingUploads(spaces.s3, spaces.bucket, key)).toEqual([]);
  // One dump under the policy's folder: the retry wrote the same key, not a second backup.
  const dumps = (await keysUnder(spaces.s3, spaces.bucket, PREFIX)).filter((k) => k.endsWith('.pgdump.gz'));
  expect(dumps).toEqual([backupKeyOfRun]);
  console.log(
    `backup chaos: killed mid-upload (attempt ${hit.attempt}); ${result.results[0]!.compressedBytes} bytes uploaded once, 0 uploads pending; objects: ${(await keysUnder(spaces.s3, spaces.bucket, PREFIX)).length}`,
  );
});

test('a SIGKILL while restoreBackup overwrites a database: the run succeeds and the database is exactly the backed-up one', async () => {
  const expected = await contents(source);
  const old = await contents(target);
  const handle = await env.client.workflow.start('restoreBackup', {
    taskQueue: TASK_QUEUE,
    workflowId: 'restore-chaos',
    args: [{ policy, target: 'pg', backupKey: backupKeyOfRun, intoDatabase: target, overwrite: true, retry: { initialInterval: '1s' } }],
  });
  // Inside the restore proper: the worker is stopped while its pg_restore is connected.
  const hit = await killInside(handle, 'restoreIntoDatabase', async () => (await restoreSessions()) > 0);
  // What a reader finds with the worker dead, once its pg_restore has ended too.
  await until("the dead worker's pg_restore to end", async () => ((await restoreSessions()) === 0 ? true : undefined));
  const atKill = await contents(target).catch((err: unknown) => `unreadable: ${String(err).split('\n')[0]}`);
  const outcome = await handle.result().catch((e: unknown) => e);
  if (outcome instanceof WorkflowFailedError) throw outcome;
  expect((outcome as RestoreBackupResult).database).toBe(target);
  await expectRetried(handle, hit);
  expect(await contents(target)).toBe(expected);
  // With the worker dead mid-restore, the target was either what it was or the whole backup.
  const stateAtKill = atKill === old ? 'untouched' : atKill === expected ? 'fully restored' : `neither (${atKill.slice(0, 80)})`;
  expect(['untouched', 'fully restored']).toContain(stateAtKill);
  // Neither the staging database nor the replaced one is left behind.
  const { staging, replaced } = restoreStagingNames(target);
  expect((await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname IN ('${staging}', '${replaced}');`)).trim()).toBe('0');
  console.log(
    `restore chaos: killed mid-restore (attempt ${hit.attempt}); the target was ${stateAtKill} at the kill and is exactly the source after the run`,
  );
});
