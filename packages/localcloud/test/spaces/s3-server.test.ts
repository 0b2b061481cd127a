// Spaces against the real S3 server, driven by the same AWS SDK v3 the activities use: objects,
// listing, multipart (streamed, aborted, completed by hand), SigV4 auth, restarts and the outage fault.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { resolveS3ServerBinary } from '../../src/spaces/resolve-binary';
import { SpacesServer } from '../../src/spaces/s3-server';
import { freePort } from '../../../../test/helpers/processes';

const ACCESS_KEY = 'opsflow-spaces';
const SECRET_KEY = randomBytes(18).toString('base64url');
const BUCKET = 'backups';
const MiB = 1024 * 1024;
// A reset connection surfaces as ECONNRESET, or as Node's "socket hang up" before any response.
const RESET = /ECONNRESET|socket hang up/;

let server: SpacesServer;
let client: S3Client;
let dataDir: string;
const extraClients: S3Client[] = [];

function clientFor(overrides: { secretKey?: string; accessKey?: string; region?: string; maxAttempts?: number } = {}): S3Client {
  const made = new S3Client({
    endpoint: server.endpoint,
    region: overrides.region ?? server.region,
    forcePathStyle: true,
    maxAttempts: overrides.maxAttempts,
    credentials: { accessKeyId: overrides.accessKey ?? ACCESS_KEY, secretAccessKey: overrides.secretKey ?? SECRET_KEY },
  });
  extraClients.push(made);
  return made;
}

async function readText(key: string, s3 = client): Promise<string> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Body!.transformToString();
}

async function sha256Of(stream: AsyncIterable<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { hex: hash.digest('hex'), bytes };
}

/** The S3 error a rejected call carries: name (the S3 error code) and HTTP status. */
async function s3ErrorOf(call: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof S3ServiceException) return { name: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
  throw new Error('expected the call to be refused, but it succeeded');
}

/**
 * How a call failed below S3: the socket error. Under jest the SDK sees Node's errors from another
 * realm and wraps them in a plain Error whose message still names the cause, so both are read.
 */
async function connectionErrorOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof S3ServiceException) throw new Error(`expected no answer from S3, but it answered ${err.name}`);
    const { code, message } = err as { code?: string; message?: string };
    return `${code ?? ''} ${message ?? ''}`;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

beforeAll(async () => {
  // The first run on a machine builds MinIO from source (about 6 minutes on 2 cores).
  const binaryPath = await resolveS3ServerBinary();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-spaces-'));
  server = new SpacesServer({
    address: '127.0.0.1',
    port: await freePort(),
    dataDir,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    binaryPath,
  });
  await server.start();
  client = clientFor();
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 15 * 60_000);

afterAll(async () => {
  for (const c of extraClients) c.destroy();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a bucket is created and listed, and reports a us-east-1 compatible location', async () => {
  const { Buckets } = await client.send(new ListBucketsCommand({}));
  expect(Buckets?.map((b) => b.Name)).toContain(BUCKET);
  const { LocationConstraint } = await client.send(new GetBucketLocationCommand({ Bucket: BUCKET }));
  // S3 reports us-east-1 as an empty LocationConstraint.
  expect([undefined, '', 'us-east-1']).toContain(LocationConstraint);
});

test('put, get, head, list with a prefix and delete objects', async () => {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'db/2024-01-01.sql', Body: 'dump one', ContentType: 'application/sql' }));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'db/2024-01-02.sql', Body: 'dump two!' }));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'media/a.tar', Body: 'media' }));

  expect(await readText('db/2024-01-01.sql')).toBe('dump one');
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'db/2024-01-02.sql' }));
  expect(head.ContentLength).toBe(9);
  const headTyped = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'db/2024-01-01.sql' }));
  expect(headTyped.ContentType).toBe('application/sql');

  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'db/' }));
  expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([
    ['db/2024-01-01.sql', 8],
    ['db/2024-01-02.sql', 9],
  ]);
  expect(listed.KeyCount).toBe(2);

  const paged = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'db/', MaxKeys: 1 }));
  expect(paged.IsTruncated).toBe(true);
  const rest = await client.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'db/', ContinuationToken: paged.NextContinuationToken }),
  );
  expect(rest.Contents?.map((o) => o.Key)).toEqual(['db/2024-01-02.sql']);

  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'db/2024-01-01.sql' }));
  expect(await s3ErrorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'db/2024-01-01.sql' })))).toEqual({
    name: 'NoSuchKey',
    status: 404,
  });
  expect(await s3ErrorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'db/2024-01-01.sql' })))).toMatchObject({ status: 404 });
  const after = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'db/' }));
  expect(after.Contents?.map((o) => o.Key)).toEqual(['db/2024-01-02.sql']);
});

test('a 12 MiB stream is uploaded in parts with lib-storage and downloads byte for byte', async () => {
  const total = 12 * MiB + 12_345; // not a multiple of the part size: the last part is short
  const sent = createHash('sha256');
  async function* source(): AsyncGenerator<Buffer> {
    for (let left = total; left > 0;) {
      const chunk = randomBytes(Math.min(left, 256 * 1024));
      sent.update(chunk);
      left -= chunk.length;
      yield chunk;
    }
  }
  const upload = new Upload({
    client,
    params: { Bucket: BUCKET, Key: 'media/big.tar', Body: Readable.from(source()) },
    partSize: 5 * MiB,
    queueSize: 2,
  });
  const partsSeen = new Set<number>();
  upload.on('httpUploadProgress', (p) => p.part !== undefined && partsSeen.add(p.part));
  const done = await upload.done();
  const sentHex = sent.digest('hex');

  // A multipart ETag is "<md5 of the part md5s>-<part count>": three parts of 5, 5 and 2 MiB.
  expect(done.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
  expect([...partsSeen].sort()).toEqual([1, 2, 3]);
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'media/big.tar' }));
  expect(head.ContentLength).toBe(total);

  const { Body } = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'media/big.tar' }));
  const received = await sha256Of(Body as Readable);
  expect(received).toEqual({ hex: sentHex, bytes: total });
});

test('a multipart upload completed by hand from ListParts', async () => {
  const key = 'manual/two-parts.bin';
  const first = randomBytes(5 * MiB);
  const second = randomBytes(1000);
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: first }));
  await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: second }));

  const { Parts } = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }));
  expect(Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([
    [1, first.length],
    [2, second.length],
  ]);
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: Parts!.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
    }),
  );

  const { Body } = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const expected = createHash('sha256').update(first).update(second).digest('hex');
  expect(await sha256Of(Body as Readable)).toEqual({ hex: expected, bytes: first.length + second.length });
});

test('an aborted multipart upload leaves no object and no listed upload', async () => {
  const key = 'db/aborted.sql';
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
  const during = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
  expect(during.Uploads?.map((u) => u.UploadId)).toEqual([UploadId]);

  await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

  const after = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
  expect(after.Uploads ?? []).toEqual([]);
  expect(await s3ErrorOf(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId })))).toEqual({
    name: 'NoSuchUpload',
    status: 404,
  });
  expect(await s3ErrorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))).toMatchObject({ status: 404 });
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  expect(listed.KeyCount).toBe(0);
});

test('a wrong secret key or an unknown access key is refused and writes nothing', async () => {
  const wrongSecret = clientFor({ secretKey: SECRET_KEY + 'x', maxAttempts: 1 });
  expect(await s3ErrorOf(wrongSecret.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'intruder.txt', Body: 'x' })))).toEqual({
    name: 'SignatureDoesNotMatch',
    status: 403,
  });
  const unknownKey = clientFor({ accessKey: 'nobody-here', maxAttempts: 1 });
  expect(await s3ErrorOf(unknownKey.send(new ListBucketsCommand({})))).toEqual({ name: 'InvalidAccessKeyId', status: 403 });

  expect(await s3ErrorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'intruder.txt' })))).toMatchObject({ status: 404 });
});

test('requests signed for a Spaces region name such as fra1 are accepted', async () => {
  const fra1 = clientFor({ region: 'fra1' });
  await fra1.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'regions/fra1.txt', Body: 'from fra1' }));
  expect(await readText('regions/fra1.txt', fra1)).toBe('from fra1');
  expect(await readText('regions/fra1.txt')).toBe('from fra1');
});

test('data survives stop() and start()', async () => {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'restart/kept.txt', Body: 'still here' }));
  await server.stop();
  const whileStopped = clientFor({ maxAttempts: 1 });
  expect(await connectionErrorOf(whileStopped.send(new ListBucketsCommand({})))).toMatch(/ECONNREFUSED/);

  await server.start();
  expect(await readText('restart/kept.txt')).toBe('still here');
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'media/big.tar' }));
  expect(head.ContentLength).toBe(12 * MiB + 12_345);
});

test('setUnavailable(true) makes requests fail; setUnavailable(false) brings the same data back', async () => {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'outage/before.txt', Body: 'written before the outage' }));
  const oneShot = clientFor({ maxAttempts: 1 });

  await server.setUnavailable(true);
  expect(await connectionErrorOf(oneShot.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'outage/before.txt' })))).toMatch(RESET);
  expect(await connectionErrorOf(oneShot.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'outage/during.txt', Body: 'lost' })))).toMatch(
    RESET,
  );
  // Idempotent: a second switch while already dark changes nothing.
  await server.setUnavailable(true);

  await server.setUnavailable(false);
  expect(await readText('outage/before.txt', oneShot)).toBe('written before the outage');
  expect(await s3ErrorOf(oneShot.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'outage/during.txt' })))).toMatchObject({ status: 404 });
  await oneShot.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'outage/after.txt', Body: 'written after' }));
  expect(await readText('outage/after.txt')).toBe('written after');
});
