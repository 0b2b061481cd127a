// PostgreSQL for real: a seeded database dumped through gzip into the real S3 server, restored
// into a fresh database, and every table compared (row counts and content checksums) with what
// the dump recorded; a dump killed mid-stream leaves nothing; a corrupt object is refused before
// anything is restored.
import { Transform } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { CommandRunner } from '../../src/backups/command-runner';
import { postgresql } from '../../src/backups/postgres';
import { manifestKeyOf, type BackupManifest } from '../../src/backups/keys';
import { downloadVerified } from '../../src/backups/download-verified';
import { applyVerifiedObject } from '../../src/backups/restore-from-spaces';
import { getJson } from '../../src/backups/spaces';
import { streamBackupToSpaces } from '../../src/backups/stream-to-spaces';
import { BackupError } from '../../src/backups/errors';
import { TEST_KEYRING } from '../helpers/backup-keys';
import { PG, dropPostgres, psql, seedPostgres, uniqueDbName } from '../helpers/databases';
import { keysUnder, pendingAt, startSpaces, type TestSpaces } from '../helpers/spaces';

let spaces: TestSpaces;
const source = uniqueDbName('pgsrc');
const made: string[] = [source];

beforeAll(async () => {
  spaces = await startSpaces();
  // ~24 MB of text: several 5 MiB parts once compressed.
  await seedPostgres(source, 150_000);
}, 10 * 60_000);

afterAll(async () => {
  await dropPostgres(...made);
  await spaces?.stop();
});

async function backup(database: string, key: string, access = PG) {
  const prepared = await postgresql.prepareDump(access, database);
  try {
    return await streamBackupToSpaces({
      source: prepared.source,
      compression: 'gzip',
      s3: spaces.s3,
      bucket: spaces.bucket,
      key,
      partSize: 5 * 1024 * 1024,
      signingKey: TEST_KEYRING.signingKey(),
      manifest: {
        format: prepared.format,
        policy: 'test',
        target: 'pg',
        kind: 'postgresql',
        database,
        serverVersion: prepared.serverVersion,
        toolVersion: prepared.toolVersion,
        takenAt: new Date().toISOString(),
        tables: prepared.tables,
      },
    });
  } finally {
    await prepared.release();
  }
}

/** As restoreIntoDatabase does it: the whole object checked first, then the database made and fed. */
async function restore(key: string, into: string, manifest: BackupManifest) {
  made.push(into);
  const object = await downloadVerified({ s3: spaces.s3, bucket: spaces.bucket, key, manifest });
  try {
    await postgresql.create(PG, into);
    const sink = await postgresql.startRestore(PG, into);
    return await applyVerifiedObject({ key, object, compression: 'gzip', sink: sink.running, sinkLabel: sink });
  } finally {
    await object.dispose();
  }
}

test('seeded tables are dumped to Spaces, restored into a fresh database and compare equal', async () => {
  const key = 'pg/roundtrip.pgdump.gz';
  const manifest = await backup(source, key);
  expect(manifest.tables.map((t) => [t.table, t.rows])).toEqual([
    ['"Sales Data"."order lines"', 3000],
    ['public.bulk', 150_000],
    ['public.customers', 500],
    ['public.empty_table', 0],
  ]);
  expect(manifest.serverVersion).toMatch(/^PostgreSQL 1\d/);
  expect(manifest.toolVersion).toMatch(/^pg_dump \(PostgreSQL\)/);
  expect(manifest.uncompressedBytes).toBeGreaterThan(20_000_000);
  expect(manifest.compressedBytes).toBeLessThan(manifest.uncompressedBytes / 1.5);
  expect(await getJson<BackupManifest>(spaces.s3, spaces.bucket, manifestKeyOf(key))).toEqual(manifest);

  // The object's bytes are what the manifest says.
  const { Body, ContentLength, ETag } = await spaces.s3.send(new GetObjectCommand({ Bucket: spaces.bucket, Key: key }));
  expect(ContentLength).toBe(manifest.compressedBytes);
  expect(ETag).toMatch(/-\d+"$/); // a multipart upload
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  for await (const chunk of Body as AsyncIterable<Buffer>) hash.update(chunk);
  expect(hash.digest('hex')).toBe(manifest.sha256);

  const into = uniqueDbName('pgrestored');
  const restored = await restore(key, into, manifest);
  expect(restored.bytesRestored).toBe(manifest.uncompressedBytes);
  expect(await postgresql.tableStats(PG, into)).toEqual(manifest.tables);
  // Views and types come back too.
  expect((await psql(into, 'SELECT count(*) FROM big_customers;')).trim()).toBe('420');
});

test('statistics and dump share one snapshot: writes during the dump are in neither', async () => {
  const db = uniqueDbName('pgbusy');
  made.push(db);
  await seedPostgres(db, 100_000);
  let writing = true;
  const writer = (async () => {
    let n = 0;
    while (writing)
      await psql(db, `INSERT INTO customers (name) VALUES ('written during the dump ${n++}'); DELETE FROM bulk WHERE id = ${n};`);
    return n;
  })();
  const manifest = await backup(db, 'pg/busy.pgdump.gz');
  writing = false;
  const writes = await writer;
  expect(writes).toBeGreaterThan(0);
  // The live database moved on; the backup and its figures did not.
  expect(await postgresql.tableStats(PG, db)).not.toEqual(manifest.tables);
  const into = uniqueDbName('pgbusyrestored');
  await restore('pg/busy.pgdump.gz', into, manifest);
  expect(await postgresql.tableStats(PG, into)).toEqual(manifest.tables);
});

test('a pg_dump killed mid-stream leaves no object, no manifest and no pending multipart upload', async () => {
  // The runner passes pg_dump's output on and SIGKILLs pg_dump once 15 MB went by: by then the
  // first 5 MiB part is uploading, so a multipart upload exists when the dump dies.
  let killedAfter = 0;
  const killing: CommandRunner = {
    where: 'worker',
    async start(command) {
      const running = await PG.runner.start(command);
      if (command.argv[0] !== 'pg_dump') return running;
      let seen = 0;
      const watched = new Transform({
        transform(chunk: Buffer, _enc, done) {
          seen += chunk.length;
          if (seen > 15_000_000 && !killedAfter) {
            killedAfter = seen;
            process.kill(running.pid as number, 'SIGKILL');
          }
          done(null, chunk);
        },
      });
      running.stdout.pipe(watched);
      return { ...running, stdout: watched };
    },
  };
  const prepared = await postgresql.prepareDump({ ...PG, runner: killing }, source);
  const key = 'pg/killed.pgdump.gz';
  const err = await streamBackupToSpaces({
    source: prepared.source,
    compression: 'gzip',
    s3: spaces.s3,
    bucket: spaces.bucket,
    key,
    partSize: 5 * 1024 * 1024,
    signingKey: TEST_KEYRING.signingKey(),
    manifest: {
      format: 'postgresql-custom',
      policy: 'test',
      target: 'pg',
      kind: 'postgresql',
      database: source,
      serverVersion: '',
      toolVersion: '',
      takenAt: new Date().toISOString(),
      tables: [],
    },
  }).catch((e: unknown) => e);
  await prepared.release();
  expect(killedAfter).toBeGreaterThan(15_000_000);
  expect(err).toBeInstanceOf(BackupError);
  expect((err as BackupError).type).toBe('DumpFailed');
  expect((err as BackupError).message).toContain('pg_dump on worker was killed by SIGKILL');
  expect(await keysUnder(spaces.s3, spaces.bucket, key)).toEqual([]);
  expect(await pendingAt(spaces.s3, spaces.bucket, [key])).toEqual([]);
});

test('a corrupt object is refused by its checksum before any database is made or fed', async () => {
  const key = 'pg/small.pgdump.gz';
  const small = uniqueDbName('pgsmall');
  made.push(small);
  await seedPostgres(small, 10);
  const manifest = await backup(small, key);
  const { Body } = await spaces.s3.send(new GetObjectCommand({ Bucket: spaces.bucket, Key: key }));
  const bytes = Buffer.from(await (Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  // Same gzip, one byte of the archive's data changed: it still decompresses, but is not what was dumped.
  const { gunzipSync, gzipSync } = await import('node:zlib');
  const archive = gunzipSync(bytes);
  const at = archive.indexOf('customer 1 ');
  expect(at).toBeGreaterThan(0);
  archive[at + 'customer '.length] = 'X'.charCodeAt(0);
  await spaces.s3.send(new PutObjectCommand({ Bucket: spaces.bucket, Key: key, Body: gzipSync(archive) }));

  const into = uniqueDbName('pgcorrupt');
  const err = await restore(key, into, manifest).catch((e: unknown) => e);
  expect((err as BackupError).type).toBe('ChecksumMismatch');
  expect(await postgresql.exists(PG, into)).toBe(false);
});
