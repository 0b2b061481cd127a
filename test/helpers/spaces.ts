// A real S3 server (the local cloud's Spaces) for a test file, with one bucket and a client.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { resolveS3ServerBinary, SpacesServer } from '@opsflow/localcloud';
import { pendingUploads, spacesClient } from '../../src/backups/spaces';
import { freePort } from './processes';

/**
 * A folder this helper owns and removes itself: folders from tempDir() are listed in a manifest
 * shared by every jest run in the checkout, and another run's teardown would remove them mid-test.
 */
export function privateTempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `opsflow-${prefix}-`));
}

export interface TestSpaces {
  server: SpacesServer;
  s3: S3Client;
  bucket: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

export async function startSpaces(bucket = 'backups'): Promise<TestSpaces> {
  const accessKey = 'opsflow-test';
  const secretKey = randomBytes(18).toString('base64url');
  const dataDir = privateTempDir('spaces');
  const server = new SpacesServer({
    address: '127.0.0.1',
    port: await freePort(),
    dataDir,
    accessKey,
    secretKey,
    binaryPath: await resolveS3ServerBinary(),
  });
  await server.start();
  const s3 = spacesClient({ endpoint: server.endpoint, region: server.region, accessKeyId: accessKey, secretAccessKey: secretKey });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    server,
    s3,
    bucket,
    endpoint: server.endpoint,
    accessKey,
    secretKey,
    async stop() {
      s3.destroy();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key as string).sort();
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/**
 * Multipart uploads still pending at exactly these object keys. MinIO lists pending uploads only
 * for an exact object name: asked for a prefix it answers with none even while one is pending, so
 * a check by prefix could never fail. Keys ending in `/` are refused for that reason.
 */
export async function pendingAt(s3: S3Client, bucket: string, keys: string[]) {
  if (keys.length === 0) throw new Error('pendingAt needs at least one object key');
  const prefix = keys.find((k) => k.endsWith('/'));
  if (prefix) throw new Error(`pendingAt takes object keys, not the prefix ${prefix}: MinIO does not list pending uploads by prefix`);
  return (await Promise.all(keys.map((key) => pendingUploads(s3, bucket, key)))).flat();
}
