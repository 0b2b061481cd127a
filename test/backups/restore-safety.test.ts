// Rule 11 for restores, on real PostgreSQL, MariaDB and S3: nothing from the bucket is run or
// applied before it is proven ours (a manifest signed with the worker's key, for that very key)
// and whole (the object downloaded and matched to it). Each attack below writes to the bucket as
// someone without the key could; each is refused, the planted `\! touch <marker>` never runs, and
// the database the restore would have replaced (an approved overwrite) keeps its tables and rows.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createBackupActivities } from '../../src/activities/backups/backup-steps';
import {
  backupKeyring,
  backupKeyringFromEnv,
  ensureBackupKeyFile,
  generateBackupKey,
  type BackupKeyring,
} from '../../src/backups/backup-key';
import { runToCompletion } from '../../src/backups/command-runner';
import { manifestKeyOf, type BackupManifest } from '../../src/backups/keys';
import { mariadb } from '../../src/backups/mariadb';
import { postgresql } from '../../src/backups/postgres';
import { secretResolver } from '../../src/backups/secrets';
import { getJson, putJson } from '../../src/backups/spaces';
import { parseBackupPolicy, type BackupPolicy } from '../../src/specs/backup-policy';
import { TEST_BACKUP_KEY, TEST_KEYRING, testKeyring } from '../helpers/backup-keys';
import { MARIADB, PG, dropMariadb, dropPostgres, mariadbQuery, psql, seedMariadb, seedPostgres, uniqueDbName } from '../helpers/databases';
import { keysUnder, privateTempDir, startSpaces, type TestSpaces } from '../helpers/spaces';

let spaces: TestSpaces;
const dir = privateTempDir('restore-safety');
const marker = path.join(dir, 'planted-command-ran');
const tmpDir = path.join(dir, 'downloads');
const pgSource = uniqueDbName('safesrc');
const pgTarget = uniqueDbName('safetgt');
const mdbSource = uniqueDbName('safemsrc');
const mdbTarget = uniqueDbName('safemtgt');
const madePg = [pgSource, pgTarget];
const madeMariadb = [mdbSource, mdbTarget];
let pgKey: string;
let mdbKey: string;

function policy(): BackupPolicy {
  return parseBackupPolicy({
    name: 'safe',
    targets: [
      { name: 'pg', kind: 'postgresql', databases: [pgSource], connection: { host: '127.0.0.1', port: 5432, user: 'postgres' } },
      { name: 'maria', kind: 'mariadb', databases: [mdbSource], connection: { host: '127.0.0.1', port: 3306, user: 'root' } },
    ],
    destination: {
      bucket: spaces.bucket,
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_SAFE_ACCESS_KEY',
      secretKey: 'env:OPSFLOW_SECRET_SAFE_SECRET_KEY',
    },
    retention: { keepDays: 7 },
    schedule: { cron: '0 2 * * *' },
  });
}

function activities(keys: BackupKeyring = TEST_KEYRING) {
  return createBackupActivities({
    resolveSecret: secretResolver({ OPSFLOW_SECRET_SAFE_ACCESS_KEY: spaces.accessKey, OPSFLOW_SECRET_SAFE_SECRET_KEY: spaces.secretKey }),
    backupKeys: keys,
    restoreTmpDir: tmpDir,
  });
}

async function run<K extends keyof ReturnType<typeof activities>>(
  name: K,
  input: Parameters<ReturnType<typeof activities>[K]>[0],
  keys?: BackupKeyring,
): Promise<unknown> {
  const mock = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  const fn = activities(keys)[name] as (i: typeof input) => Promise<unknown>;
  return mock.run(fn, input).catch((err: unknown) => err);
}

/** A plain SQL dump as an attacker writes it: a shell command for psql (or mariadb), then damage. */
const PLANTED = `\\! touch ${marker}\nsystem touch ${marker}\nDROP TABLE customers;\nCREATE TABLE planted (x int);\n`;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function readObject(key: string): Promise<Buffer> {
  const { Body } = await spaces.s3.send(new GetObjectCommand({ Bucket: spaces.bucket, Key: key }));
  return Buffer.from(await (Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function put(key: string, body: Buffer, manifest: unknown): Promise<void> {
  await spaces.s3.send(new PutObjectCommand({ Bucket: spaces.bucket, Key: key, Body: body }));
  await putJson(spaces.s3, spaces.bucket, manifestKeyOf(key), manifest);
}

async function genuineManifest(key: string): Promise<BackupManifest> {
  return (await getJson<BackupManifest>(spaces.s3, spaces.bucket, manifestKeyOf(key))) as BackupManifest;
}

/** What an opsflow before signing wrote: format 1, the right SHA-256 and sizes, no signature. */
function formatOneManifest(key: string, body: Buffer, kind: 'postgresql' | 'mariadb', database: string) {
  const now = new Date().toISOString();
  return {
    formatVersion: 1,
    policy: 'safe',
    target: kind === 'postgresql' ? 'pg' : 'maria',
    kind,
    database,
    key,
    compression: 'gzip',
    serverVersion: '',
    toolVersion: '',
    compressedBytes: body.length,
    uncompressedBytes: 0,
    sha256: sha256(body),
    takenAt: now,
    startedAt: now,
    endedAt: now,
    tables: [],
  };
}

const targetState = {
  pg: () => postgresql.tableStats(PG, pgTarget),
  maria: () => mariadb.tableStats(MARIADB, mdbTarget),
};

/** Restores `key` over the target database (replace: as an approved overwrite); expects a refusal and no trace of it. */
async function expectRefused(target: 'pg' | 'maria', key: string, type: string, message: RegExp, keys?: BackupKeyring): Promise<void> {
  const before = await targetState[target]();
  expect(before.length).toBeGreaterThan(0);
  const database = target === 'pg' ? pgTarget : mdbTarget;
  const outcome = await run('restoreIntoDatabase', { policy: policy(), target, key, database, replace: true }, keys);
  expect(outcome).toBeInstanceOf(ApplicationFailure);
  expect([(outcome as ApplicationFailure).type, (outcome as ApplicationFailure).nonRetryable]).toEqual([type, true]);
  expect((outcome as ApplicationFailure).message).toMatch(message);
  expect(existsSync(marker)).toBe(false);
  expect(await targetState[target]()).toEqual(before);
  expect(readdirSync(tmpDir)).toEqual([]);
}

beforeAll(async () => {
  spaces = await startSpaces();
  mkdirSync(tmpDir);
  await Promise.all([seedPostgres(pgSource, 300), seedPostgres(pgTarget, 40), seedMariadb(mdbSource, 300), seedMariadb(mdbTarget, 40)]);
  const takenAt = '2026-03-01T02:00:00.000Z';
  const [pg, maria] = await Promise.all([
    run('backupDatabase', { policy: policy(), target: 'pg', database: pgSource, takenAt }),
    run('backupDatabase', { policy: policy(), target: 'maria', database: mdbSource, takenAt }),
  ]);
  pgKey = (pg as { key: string }).key;
  mdbKey = (maria as { key: string }).key;
}, 10 * 60_000);

afterAll(async () => {
  await dropPostgres(...madePg);
  await dropMariadb(...madeMariadb);
  await spaces?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a backup is a PostgreSQL custom archive (or SQL for MariaDB) with a signed format-2 manifest', async () => {
  expect(pgKey).toMatch(/^safe\/pg\/opsflow_safesrc_[0-9a-f]+\/20260301T020000Z\.pgdump\.gz$/);
  const manifest = await genuineManifest(pgKey);
  expect(manifest).toMatchObject({
    formatVersion: 2,
    format: 'postgresql-custom',
    key: pgKey,
    keyId: TEST_KEYRING.signingKey().id,
    mac: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  // pg_dump's custom archive starts with PGDMP; pg_restore reads nothing else.
  const { gunzipSync } = await import('node:zlib');
  expect(
    gunzipSync(await readObject(pgKey))
      .subarray(0, 5)
      .toString(),
  ).toBe('PGDMP');
  expect(await genuineManifest(mdbKey)).toMatchObject({ formatVersion: 2, format: 'mysql-sql', key: mdbKey });
});

test('the planted dump of the report (`\\! touch` with a format-1 manifest whose SHA-256 is right) is refused, saying why', async () => {
  const key = `safe/pg/${pgSource}/20260302T020000Z.sql.gz`;
  const body = gzipSync(PLANTED);
  await put(key, body, formatOneManifest(key, body, 'postgresql', pgSource));
  await expectRefused('pg', key, 'BackupFormatRefused', /before opsflow signed its backups .*plain SQL.*psql meta-commands/);
  const mkey = `safe/maria/${mdbSource}/20260302T020000Z.sql.gz`;
  await put(mkey, body, formatOneManifest(mkey, body, 'mariadb', mdbSource));
  await expectRefused('maria', mkey, 'BackupFormatRefused', /nothing proves this worker wrote it/);
});

test('a genuine old-format backup (plain SQL from pg_dump, format-1 manifest) is refused with the reason and what to do', async () => {
  const key = `safe/pg/${pgSource}/20260101T020000Z.sql.gz`;
  const plain = await runToCompletion(PG.runner, {
    argv: ['pg_dump', '--no-password', '--host', '127.0.0.1', '--username', 'postgres', '--format=plain', '--dbname', pgSource],
  });
  const body = gzipSync(plain);
  await put(key, body, formatOneManifest(key, body, 'postgresql', pgSource));
  await expectRefused(
    'pg',
    key,
    'BackupFormatRefused',
    /restore it by hand on a machine that holds no secrets; backups taken from now on are signed/,
  );
});

test('a dump planted with a manifest signed by another key, or with a made-up signature, is refused', async () => {
  const key = `safe/pg/${pgSource}/20260303T020000Z.pgdump.gz`;
  const body = gzipSync(PLANTED);
  const genuine = await genuineManifest(pgKey);
  const forged = { ...genuine, key, sha256: sha256(body), compressedBytes: body.length };
  // Signed properly, with a key the attacker made.
  const { signManifest } = await import('../../src/backups/manifest-auth');
  const { keyId: _k, mac: _m, ...unsigned } = forged;
  const attackerKey = testKeyring(generateBackupKey()).signingKey();
  await put(key, body, signManifest(unsigned, attackerKey));
  await expectRefused(
    'pg',
    key,
    'BackupNotAuthentic',
    new RegExp(`names signing key "${attackerKey.id}", which this worker does not hold`),
  );
  // The worker's key id, a signature that is not the key's.
  await put(key, body, { ...forged, mac: 'ab'.repeat(32) });
  await expectRefused('pg', key, 'BackupNotAuthentic', /signature does not match its content/);
});

test('a genuine backup whose dump was replaced and whose manifest got the new SHA-256 and size is refused', async () => {
  for (const [target, key] of [
    ['pg', pgKey],
    ['maria', mdbKey],
  ] as const) {
    const genuine = await genuineManifest(key);
    const genuineBody = await readObject(key);
    const body = gzipSync(PLANTED);
    await put(key, body, { ...genuine, sha256: sha256(body), compressedBytes: body.length });
    try {
      await expectRefused(target, key, 'BackupNotAuthentic', /signature does not match its content/);
    } finally {
      await put(key, genuineBody, genuine);
    }
  }
});

test('a tampered manifest (table figures changed), or a genuine one copied beside another object, is refused', async () => {
  const genuine = await genuineManifest(pgKey);
  await putJson(spaces.s3, spaces.bucket, manifestKeyOf(pgKey), {
    ...genuine,
    tables: genuine.tables.map((t) => ({ ...t, rows: t.rows + 1 })),
  });
  try {
    await expectRefused('pg', pgKey, 'BackupNotAuthentic', /signature does not match/);
    // readManifest (what the workflows read first) refuses it too.
    const read = await run('readManifest', { policy: policy(), key: pgKey });
    expect((read as ApplicationFailure).type).toBe('BackupNotAuthentic');
  } finally {
    await putJson(spaces.s3, spaces.bucket, manifestKeyOf(pgKey), genuine);
  }
  // The real object and manifest, copied under a newer name so `latest` would pick them.
  const copy = `safe/pg/${pgSource}/20260304T020000Z.pgdump.gz`;
  await put(copy, await readObject(pgKey), genuine);
  await expectRefused('pg', copy, 'BackupNotAuthentic', new RegExp(`signed for "${pgKey.replace(/[.$]/g, '\\$&')}", not for this key`));
});

test('with an authentic manifest, an object that is not its bytes is refused before the database is dropped or fed', async () => {
  const genuineBody = await readObject(pgKey);
  try {
    // Same length, one byte changed: only the SHA-256 of the whole object can tell.
    const changed = Buffer.from(genuineBody);
    const at = changed.length - 20;
    changed[at] = (changed[at] as number) ^ 0xff;
    await spaces.s3.send(new PutObjectCommand({ Bucket: spaces.bucket, Key: pgKey, Body: changed }));
    await expectRefused('pg', pgKey, 'ChecksumMismatch', /SHA-256 .*its manifest says/);
    // Longer than the manifest says: refused from the object's size, nothing downloaded.
    await spaces.s3.send(
      new PutObjectCommand({ Bucket: spaces.bucket, Key: pgKey, Body: Buffer.concat([genuineBody, gzipSync(PLANTED)]) }),
    );
    await expectRefused('pg', pgKey, 'ChecksumMismatch', /bytes; its manifest says/);
  } finally {
    await spaces.s3.send(new PutObjectCommand({ Bucket: spaces.bucket, Key: pgKey, Body: genuineBody }));
  }
});

test('the restore clients themselves run no client commands: pg_restore and mariadb fed `\\! touch` run nothing', async () => {
  // Defence in depth, below the signature: even an input that got this far cannot reach a shell.
  for (const [engine, access, database] of [
    [postgresql, PG, pgTarget],
    [mariadb, MARIADB, mdbTarget],
  ] as const) {
    const { running } = await engine.startRestore(access, database);
    running.stdout.resume();
    running.stdin.end(PLANTED);
    const exit = await running.completion;
    expect(exit.exitCode).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  }
  expect((await psql(pgTarget, "SELECT count(*) FROM pg_tables WHERE tablename IN ('customers', 'planted');")).trim()).toBe('1');
  expect(
    (
      await mariadbQuery(
        mdbTarget,
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('customers', 'planted');",
      )
    ).trim(),
  ).toBe('1');
});

test('a genuine backup still restores over the target, equal to its source, and leaves no file behind', async () => {
  for (const [target, key, database, stats] of [
    ['pg', pgKey, pgTarget, () => postgresql.tableStats(PG, pgSource)],
    ['maria', mdbKey, mdbTarget, () => mariadb.tableStats(MARIADB, mdbSource)],
  ] as const) {
    const outcome = await run('restoreIntoDatabase', { policy: policy(), target, key, database, replace: true });
    expect(outcome).toMatchObject({ key, database });
    expect(await targetState[target]()).toEqual(await stats());
    expect(await targetState[target]()).toEqual((await genuineManifest(key)).tables);
  }
  expect(readdirSync(tmpDir)).toEqual([]);
  expect(existsSync(marker)).toBe(false);
});

test('keys rotate: a backup signed with the previous key restores while that key is still held, and is refused once it is dropped', async () => {
  const newKey = generateBackupKey();
  // Held: the new key signs, the old one (which signed pgKey) still verifies.
  const rotated = testKeyring(newKey, TEST_BACKUP_KEY);
  expect(await run('readManifest', { policy: policy(), key: pgKey }, rotated)).toMatchObject({
    key: pgKey,
    keyId: TEST_KEYRING.signingKey().id,
  });
  const fresh = (await run(
    'backupDatabase',
    { policy: policy(), target: 'pg', database: pgSource, takenAt: '2026-03-05T02:00:00.000Z' },
    rotated,
  )) as { key: string };
  expect((await genuineManifest(fresh.key)).keyId).toBe(testKeyring(newKey).signingKey().id);
  // Dropped: refused, naming the key id it was signed with.
  await expectRefused(
    'pg',
    pgKey,
    'BackupNotAuthentic',
    new RegExp(`names signing key "${TEST_KEYRING.signingKey().id}", which this worker does not hold`),
    testKeyring(newKey),
  );
});

test('a worker without a key refuses to back up (naming the setting) before dumping anything, and restores nothing', async () => {
  const none = backupKeyring([]);
  const takenAt = '2026-03-06T02:00:00.000Z';
  const outcome = (await run(
    'backupDatabase',
    { policy: policy(), target: 'pg', database: pgSource, takenAt },
    none,
  )) as ApplicationFailure;
  expect([outcome.type, outcome.nonRetryable]).toEqual(['BackupKeyMissing', true]);
  expect(outcome.message).toMatch(/set OPSFLOW_BACKUP_KEY .* or OPSFLOW_BACKUP_KEY_FILE/);
  expect(await keysUnder(spaces.s3, spaces.bucket, `safe/pg/${pgSource}/20260306`)).toEqual([]);
  await expectRefused('pg', pgKey, 'BackupNotAuthentic', /which this worker does not hold \(it holds none\)/, none);
});

test('the key settings: read at start, refused when malformed, doubled or readable by others; opsflow up makes a 0600 file once', () => {
  const file = path.join(dir, 'secrets', 'backup-key');
  expect(ensureBackupKeyFile(file)).toEqual({ created: true });
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  const first = backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY_FILE: file });
  expect(ensureBackupKeyFile(file)).toEqual({ created: false });
  expect(backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY_FILE: file }).ids).toEqual(first.ids);
  // Two keys: the first signs, both verify.
  writeFileSync(file, `${generateBackupKey()}\n${TEST_BACKUP_KEY}\n`);
  const two = backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY_FILE: file });
  expect(two.ids).toHaveLength(2);
  expect(two.find(TEST_KEYRING.signingKey().id)).toBeDefined();
  expect(backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY: `${TEST_BACKUP_KEY}` }).ids).toEqual(TEST_KEYRING.ids);
  chmodSync(file, 0o644);
  expect(() => backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY_FILE: file })).toThrow(
    `OPSFLOW_BACKUP_KEY_FILE ${file}: others may read it (mode 0644); chmod 600 it`,
  );
  expect(() => backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY: 'short' })).toThrow(
    'OPSFLOW_BACKUP_KEY: key 1 is not base64 of at least 32 bytes',
  );
  expect(() => backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY: TEST_BACKUP_KEY, OPSFLOW_BACKUP_KEY_FILE: file })).toThrow(
    'set one of OPSFLOW_BACKUP_KEY and OPSFLOW_BACKUP_KEY_FILE, not both',
  );
  expect(() => backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY_FILE: path.join(dir, 'missing') })).toThrow(
    /OPSFLOW_BACKUP_KEY_FILE .*missing: ENOENT/,
  );
  // A message never holds the key itself.
  try {
    backupKeyringFromEnv({ OPSFLOW_BACKUP_KEY: `${TEST_BACKUP_KEY},tooshort` });
    throw new Error('accepted');
  } catch (err) {
    expect((err as Error).message).toBe(
      'OPSFLOW_BACKUP_KEY: key 2 is not base64 of at least 32 bytes (make one with: openssl rand -base64 32)',
    );
  }
});
