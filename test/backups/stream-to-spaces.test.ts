// streamBackupToSpaces against the real S3 server with sources that misbehave on purpose: a dump
// that exits 1 after its output (small, and after several parts), Spaces going dark mid-upload,
// a cancelled backup, parts left pending by a worker that died; and a directory archived with tar.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { runToCompletion } from '../../src/backups/command-runner';
import { commandSource, directorySource, type DumpSource } from '../../src/backups/dump-source';
import { BackupError } from '../../src/backups/errors';
import { manifestKeyOf, type BackupManifest } from '../../src/backups/keys';
import { localRunner } from '../../src/backups/local-runner';
import { getJson } from '../../src/backups/spaces';
import { streamBackupToSpaces, type StreamBackupInput } from '../../src/backups/stream-to-spaces';
import { TEST_KEYRING } from '../helpers/backup-keys';
import { keysUnder, pendingAt, privateTempDir, startSpaces, type TestSpaces } from '../helpers/spaces';

let spaces: TestSpaces;
const ownDirs: string[] = [];
const ownDir = (prefix: string) => {
  const dir = privateTempDir(prefix);
  ownDirs.push(dir);
  return dir;
};
const runner = localRunner();
const MiB = 1024 * 1024;

beforeAll(async () => {
  spaces = await startSpaces();
}, 10 * 60_000);
afterAll(async () => {
  await spaces?.stop();
  for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
});

/** A test source: a bash script (a test's own fake dump; opsflow itself never runs a shell line). */
const script = (text: string): DumpSource => commandSource(runner, { argv: ['bash', '-c', text] });

function run(source: DumpSource, key: string, extra: Partial<StreamBackupInput> = {}) {
  return streamBackupToSpaces({
    source,
    compression: 'gzip',
    s3: spaces.s3,
    bucket: spaces.bucket,
    key,
    partSize: 5 * MiB,
    signingKey: TEST_KEYRING.signingKey(),
    manifest: {
      format: 'postgresql-custom',
      policy: 'test',
      target: 'fake',
      kind: 'postgresql',
      database: 'fake',
      serverVersion: 'fake',
      toolVersion: 'bash',
      takenAt: new Date().toISOString(),
      tables: [],
    },
    ...extra,
  });
}

async function nothingLeft(key: string): Promise<void> {
  expect(await keysUnder(spaces.s3, spaces.bucket, key)).toEqual([]);
  expect(await pendingAt(spaces.s3, spaces.bucket, [key])).toEqual([]);
}

test.each([
  ['1 KB', 'head -c 1024 /dev/urandom; echo "pg_dump: error: query failed" >&2; exit 1', 'fail/small.sql.gz'],
  [
    '12 MiB (three parts)',
    'head -c 12582912 /dev/urandom; echo "mariadb-dump: Error 2013: Lost connection" >&2; exit 1',
    'fail/parts.sql.gz',
  ],
])('a dump that exits 1 after writing %s leaves no object and no pending multipart upload', async (_size, text, key) => {
  const err = await run(script(text), key).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackupError);
  expect((err as BackupError).type).toBe('DumpFailed');
  expect((err as BackupError).retryable).toBe(true);
  expect((err as BackupError).message).toMatch(/bash on worker exited with status 1: .*(query failed|Lost connection)/);
  await nothingLeft(key);
});

test('a refused login is not retryable', async () => {
  const err = await run(
    script('echo \'pg_dump: error: connection to server failed: FATAL:  password authentication failed for user "backup"\' >&2; exit 1'),
    'fail/auth.sql.gz',
  ).catch((e: unknown) => e);
  expect((err as BackupError).type).toBe('DumpRefused');
  expect((err as BackupError).retryable).toBe(false);
});

test('Spaces going dark mid-upload fails the backup as retryable, stops the dump, and a retry succeeds cleanly', async () => {
  const key = 'outage/db.sql.gz';
  // 40 MiB of incompressible output over ~4 s.
  const slow = 'for i in $(seq 40); do head -c 1048576 /dev/urandom; sleep 0.1; done';
  let darkened = false;
  const err = await run(script(slow), key, {
    onProgress: (p) => {
      if (p.bytesUploaded > 0 && !darkened) {
        darkened = true;
        void spaces.server.setUnavailable(true);
      }
    },
  }).catch((e: unknown) => e);
  expect(darkened).toBe(true);
  expect((err as BackupError).type).toBe('SpacesUnavailable');
  expect((err as BackupError).retryable).toBe(true);
  await spaces.server.setUnavailable(false);

  // The abort may not have reached a dark server; the next attempt starts by clearing it.
  const manifest = await run(script('head -c 6291456 /dev/zero'), key);
  expect(manifest.uncompressedBytes).toBe(6 * MiB);
  expect(await keysUnder(spaces.s3, spaces.bucket, 'outage/')).toEqual([key, manifestKeyOf(key)]);
  expect(await pendingAt(spaces.s3, spaces.bucket, [key])).toEqual([]);
});

test('parts left pending by a worker that died are aborted before the next attempt', async () => {
  const key = 'dead-worker/db.sql.gz';
  const { UploadId } = await spaces.s3.send(new CreateMultipartUploadCommand({ Bucket: spaces.bucket, Key: key }));
  await spaces.s3.send(new UploadPartCommand({ Bucket: spaces.bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
  expect(await pendingAt(spaces.s3, spaces.bucket, [key])).toHaveLength(1);
  await run(script('echo hello'), key);
  expect(await pendingAt(spaces.s3, spaces.bucket, [key])).toEqual([]);
});

test('a cancelled backup stops the dump and leaves nothing', async () => {
  const key = 'cancel/db.sql.gz';
  const controller = new AbortController();
  const pidFile = path.join(ownDir('cancel'), 'dump.pid');
  // A dump that would run for minutes; it says who it is so the test can look for it afterwards.
  const endless = `echo $$ > ${pidFile}; for i in $(seq 3000); do head -c 1048576 /dev/urandom; sleep 0.1; done`;
  const err = await run(script(endless), key, {
    signal: controller.signal,
    onProgress: (p) => p.bytesUploaded > 0 && controller.abort(),
  }).catch((e: unknown) => e);
  expect((err as BackupError).type).toBe('Cancelled');
  // Stopped, not left running: the cancelled backup returns only after its dump has exited.
  const pid = Number(readFileSync(pidFile, 'utf8'));
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  await nothingLeft(key);
});

test('a directory is archived with tar, compressed, checksummed and described by its manifest', async () => {
  const dir = ownDir('media');
  mkdirSync(path.join(dir, 'uploads', '2026'), { recursive: true });
  writeFileSync(path.join(dir, 'uploads', '2026', 'photo.jpg'), randomBytes(300_000));
  writeFileSync(path.join(dir, 'uploads', 'notes.txt'), 'hello\n');
  writeFileSync(path.join(dir, 'cache.tmp'), 'skip me');
  const key = 'media/archive.tar.gz';
  const manifest = await run(directorySource(runner, { path: dir, exclude: ['*.tmp'] }), key, {
    manifest: {
      format: 'tar',
      policy: 'test',
      target: 'media',
      kind: 'directory',
      database: dir,
      serverVersion: '',
      toolVersion: 'tar',
      takenAt: new Date().toISOString(),
      tables: [],
    },
  });
  const { Body } = await spaces.s3.send(new GetObjectCommand({ Bucket: spaces.bucket, Key: key }));
  const bytes = Buffer.from(await (Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
  expect(bytes.length).toBe(manifest.compressedBytes);
  const tarFile = path.join(ownDir('media-check'), 'a.tar');
  writeFileSync(tarFile, gunzipSync(bytes));
  const listing = (await runToCompletion(runner, { argv: ['tar', '-tf', tarFile] })).split('\n').filter(Boolean).sort();
  expect(listing).toEqual(['./', './uploads/', './uploads/2026/', './uploads/2026/photo.jpg', './uploads/notes.txt']);
  expect(await getJson<BackupManifest>(spaces.s3, spaces.bucket, manifestKeyOf(key))).toMatchObject({
    formatVersion: 2,
    format: 'tar',
    kind: 'directory',
    sha256: manifest.sha256,
    keyId: TEST_KEYRING.signingKey().id,
    mac: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
});
