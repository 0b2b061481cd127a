// The backup activities as the worker runs them (in an activity context): heartbeats carry bytes
// so far; secrets come from env:/file: references and never show in failures; the webhook gets a
// Slack-style {text} POST, retried on 5xx and not on 404; what cannot work fails as non-retryable;
// a verification record counts only when this worker signed it.
import { writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createBackupActivities, type BackupListing } from '../../src/activities/backups/backup-steps';
import { generateBackupKey } from '../../src/backups/backup-key';
import { verifiedKeyOf, type VerificationRecord } from '../../src/backups/keys';
import { putJson } from '../../src/backups/spaces';
import { signVerification } from '../../src/backups/verification-auth';
import { secretResolver } from '../../src/backups/secrets';
import { parseBackupPolicy, type BackupPolicy } from '../../src/specs/backup-policy';
import { TEST_KEYRING, testKeyring } from '../helpers/backup-keys';
import { dropPostgres, seedPostgres, uniqueDbName } from '../helpers/databases';
import { privateTempDir, startSpaces, type TestSpaces } from '../helpers/spaces';

let spaces: TestSpaces;
let hook: http.Server;
let hookUrl: string;
const received: { path: string; contentType?: string; body: unknown }[] = [];
let answer = 200;
const db = uniqueDbName('actpg');
const secretsDir = privateTempDir('act-secrets');

function policy(changes: Record<string, unknown> = {}): BackupPolicy {
  return parseBackupPolicy({
    name: 'act-test',
    targets: [{ name: 'pg', kind: 'postgresql', databases: [db], connection: { host: '127.0.0.1', port: 5432, user: 'postgres' } }],
    destination: {
      bucket: spaces.bucket,
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_ACT_ACCESS_KEY',
      secretKey: `file:${path.join(secretsDir, 'secret-key')}`,
    },
    retention: { keepDays: 7 },
    schedule: { cron: '0 2 * * *' },
    notify: { webhook: 'env:OPSFLOW_SECRET_ACT_WEBHOOK' },
    ...changes,
  });
}

function activities(env: Record<string, string> = {}) {
  return createBackupActivities({
    resolveSecret: secretResolver({
      OPSFLOW_SECRET_ACT_ACCESS_KEY: spaces.accessKey,
      OPSFLOW_SECRET_ACT_WEBHOOK: hookUrl,
      OPSFLOW_SECRETS_DIR: secretsDir,
      ...env,
    }),
    upload: { partSize: 5 * 1024 * 1024 },
    backupKeys: TEST_KEYRING,
  });
}

/** Runs one activity in a mock activity context; returns its result (or failure) and heartbeats. */
async function run<K extends keyof ReturnType<typeof activities>>(
  name: K,
  input: Parameters<ReturnType<typeof activities>[K]>[0],
  env?: Record<string, string>,
) {
  const mock = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  mock.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const fn = activities(env)[name] as (i: typeof input) => Promise<unknown>;
  const outcome = await mock.run(fn, input).catch((err: unknown) => err);
  return { outcome, heartbeats };
}

beforeAll(async () => {
  spaces = await startSpaces();
  writeFileSync(path.join(secretsDir, 'secret-key'), spaces.secretKey + '\n');
  await seedPostgres(db, 200_000);
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(body) });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/services/T0/B0/very-secret-token`;
}, 10 * 60_000);

afterAll(async () => {
  hook?.close();
  await dropPostgres(db);
  await spaces?.stop();
  rmSync(secretsDir, { recursive: true, force: true });
});

test('backupDatabase heartbeats the bytes dumped so far, and a second run of the same step returns the same backup', async () => {
  const takenAt = '2026-03-01T02:00:00.000Z';
  const first = await run('backupDatabase', { policy: policy(), target: 'pg', database: db, takenAt });
  expect(first.outcome).toMatchObject({ target: 'pg', database: db, key: `act-test/pg/${db}/20260301T020000Z.pgdump.gz`, tables: 4 });
  const dumping = first.heartbeats.filter((h) => (h as { phase?: string })?.phase === 'dumping') as { bytesRead: number }[];
  expect(dumping.length).toBeGreaterThan(0);
  expect(Math.max(...dumping.map((h) => h.bytesRead))).toBeGreaterThan(1_000_000);
  // A retry after a lost completion: the manifest exists, nothing is dumped again.
  const again = await run('backupDatabase', { policy: policy(), target: 'pg', database: db, takenAt });
  expect(again.outcome).toEqual(first.outcome);
  expect(again.heartbeats.filter((h) => (h as { phase?: string })?.phase === 'dumping')).toEqual([]);
});

test('the failure notice is one Slack-style JSON POST {text}', async () => {
  received.length = 0;
  const { outcome } = await run('postFailureNotice', { policy: policy(), text: 'backups of act-test failed for pg' });
  expect(outcome).toEqual({ sent: true });
  expect(received).toEqual([
    { path: '/services/T0/B0/very-secret-token', contentType: 'application/json', body: { text: 'backups of act-test failed for pg' } },
  ]);
  // No webhook in the policy: nothing is sent.
  expect((await run('postFailureNotice', { policy: policy({ notify: undefined }), text: 'x' })).outcome).toEqual({ sent: false });
  expect(received).toHaveLength(1);
});

test.each([
  [500, false],
  [429, false],
  [404, true],
])('a webhook answering %i fails the notice (non-retryable: %s) without showing its URL', async (status, nonRetryable) => {
  answer = status;
  try {
    const { outcome } = await run('postFailureNotice', { policy: policy(), text: 'x' });
    expect(outcome).toBeInstanceOf(ApplicationFailure);
    expect((outcome as ApplicationFailure).type).toBe('WebhookFailed');
    expect((outcome as ApplicationFailure).nonRetryable).toBe(nonRetryable);
    expect((outcome as ApplicationFailure).message).toContain(`answered HTTP ${status}`);
    expect((outcome as ApplicationFailure).message).not.toContain('very-secret-token');
  } finally {
    answer = 200;
  }
});

test('what cannot work fails at once, non-retryable, naming the reason', async () => {
  const cases: [string, Promise<{ outcome: unknown }>, string, RegExp][] = [
    [
      'missing secret',
      run('listBackups', { policy: policy() }, { OPSFLOW_SECRET_ACT_ACCESS_KEY: '' }),
      'SecretUnavailable',
      /env:OPSFLOW_SECRET_ACT_ACCESS_KEY: the worker has no environment variable OPSFLOW_SECRET_ACT_ACCESS_KEY/,
    ],
    [
      'wrong key',
      run('listBackups', { policy: policy() }, { OPSFLOW_SECRET_ACT_ACCESS_KEY: 'someone-else' }),
      'SpacesRefused',
      /InvalidAccessKeyId/,
    ],
    [
      'zstd',
      run('backupDatabase', { policy: policy({ compression: 'zstd' }), target: 'pg', database: db, takenAt: '2026-03-01T02:00:00.000Z' }),
      'Unsupported',
      /zstd/,
    ],
    [
      'droplet target',
      run('backupDatabase', {
        policy: policy({
          targets: [
            {
              name: 'pg',
              kind: 'postgresql',
              databases: ['app'],
              in: { environment: 'stack-b', droplet: 'platform', service: 'postgres' },
            },
          ],
        }),
        target: 'pg',
        database: 'app',
        takenAt: '2026-03-01T02:00:00.000Z',
      }),
      'Unsupported',
      /lives in droplet platform of stack-b: this worker has no SSH runner/,
    ],
    [
      'unknown database',
      run('backupDatabase', {
        policy: policy({
          targets: [
            { name: 'pg', kind: 'postgresql', databases: ['no_such_db'], connection: { host: '127.0.0.1', port: 5432, user: 'postgres' } },
          ],
        }),
        target: 'pg',
        database: 'no_such_db',
        takenAt: '2026-03-01T02:00:00.000Z',
      }),
      'DumpRefused',
      /database "no_such_db" does not exist/,
    ],
    [
      'foreign key',
      run('deleteBackups', { policy: policy(), keys: ['other-policy/pg/db/20260101T020000Z.sql.gz'] }),
      'Unsupported',
      /refusing to delete keys outside act-test\//,
    ],
  ];
  for (const [what, pending, type, message] of cases) {
    const { outcome } = await pending;
    expect([what, (outcome as ApplicationFailure).type, (outcome as ApplicationFailure).nonRetryable]).toEqual([what, type, true]);
    expect((outcome as ApplicationFailure).message).toMatch(message);
    expect((outcome as ApplicationFailure).message).not.toContain(spaces.secretKey);
  }
});

test('an unreachable database server is retryable', async () => {
  const p = policy({
    targets: [{ name: 'pg', kind: 'postgresql', databases: ['app'], connection: { host: '127.0.0.1', port: 1, user: 'postgres' } }],
  });
  const { outcome } = await run('backupDatabase', { policy: p, target: 'pg', database: 'app', takenAt: '2026-03-01T02:00:00.000Z' });
  expect((outcome as ApplicationFailure).type).toBe('DumpFailed');
  expect((outcome as ApplicationFailure).nonRetryable).toBe(false);
  expect((outcome as ApplicationFailure).message).toMatch(/psql on worker exited with status 2: .*Connection refused/);
});

test('a verification record counts only when this worker signed it for that backup: forged, unsigned and moved ones are refused', async () => {
  const takenAt = '2026-03-01T02:00:00.000Z';
  const backup = (await run('backupDatabase', { policy: policy(), target: 'pg', database: db, takenAt })).outcome as { key: string };
  const listed = async () =>
    ((await run('listBackups', { policy: policy() })).outcome as BackupListing[]).find((b) => b.key === backup.key)?.verified;
  const record: VerificationRecord = { key: backup.key, verifiedAt: takenAt, restoredInto: 'scratch', tables: 4, rows: 200_000 };
  const place = (value: unknown) => putJson(spaces.s3, spaces.bucket, verifiedKeyOf(backup.key), value);
  const genuine = signVerification(record, TEST_KEYRING.signingKey());
  const forgeries: [string, unknown][] = [
    ['unsigned, as written before records were signed (or by anyone with the Spaces keys)', record],
    ["the worker's key id with a made-up MAC", { ...record, keyId: genuine.keyId, mac: 'ab'.repeat(32) }],
    ['signed with a key this worker does not hold', signVerification(record, testKeyring(generateBackupKey()).signingKey())],
    [
      'a genuine record of another backup, copied beside this one',
      signVerification({ ...record, key: `${backup.key}.other` }, TEST_KEYRING.signingKey()),
    ],
    ['a genuine record with a field changed', { ...genuine, rows: 1 }],
    ['not an object', 'verified'],
  ];
  expect(await listed()).toBe(false);
  for (const [what, forged] of forgeries) {
    await place(forged);
    expect([what, await listed()]).toEqual([what, false]);
  }
  // The activity's own record counts (and so the check can pass).
  expect((await run('recordVerification', { policy: policy(), record })).outcome).toBeUndefined();
  expect(await listed()).toBe(true);
  await place(genuine);
  expect(await listed()).toBe(true);
});
