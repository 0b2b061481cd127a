// The few S3 calls backups make besides the streaming upload: listing a folder across pages,
// JSON objects (manifests, verification records), deletes, and aborting multipart uploads that a
// failed or killed attempt left pending (they cost storage and never show as objects).
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type _Object,
} from '@aws-sdk/client-s3';

export interface SpacesAccess {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** An S3 client for Spaces (or any S3-compatible endpoint): path-style, bounded timeouts. */
export function spacesClient(access: SpacesAccess, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: access.endpoint,
    region: access.region,
    forcePathStyle: true,
    credentials: { accessKeyId: access.accessKeyId, secretAccessKey: access.secretAccessKey },
    // S3-compatible stores (Spaces among them) do not all accept the SDK's newer default CRC
    // headers; backups carry their own SHA-256 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A dead endpoint fails a call in seconds; Temporal's retry policy does the waiting.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    ...overrides,
  });
}

export async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<_Object[]> {
  const objects: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    objects.push(...(page.Contents ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<T | undefined> {
  try {
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await (Body as { transformToString(): Promise<string> }).transformToString()) as T;
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value, null, 2) + '\n', ContentType: 'application/json' }),
  );
}

/** Deletes keys, 1000 per request (the S3 limit); a key already gone counts as deleted. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
    );
    const failed = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (failed.length)
      throw Object.assign(new Error(`could not delete ${failed.map((e) => `${e.Key} (${e.Code})`).join(', ')}`), {
        name: failed[0]?.Code ?? 'DeleteFailed',
      });
  }
}

/** Multipart uploads still pending under exactly `key` (or every key under a prefix). */
export async function pendingUploads(
  s3: S3Client,
  bucket: string,
  keyOrPrefix: string,
  exact = true,
): Promise<{ key: string; uploadId: string }[]> {
  const found: { key: string; uploadId: string }[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: keyOrPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
    );
    for (const u of page.Uploads ?? [])
      if (u.Key && u.UploadId && (!exact || u.Key === keyOrPrefix)) found.push({ key: u.Key, uploadId: u.UploadId });
    if (!page.IsTruncated) return found;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

export async function abortPendingUploads(s3: S3Client, bucket: string, key: string): Promise<number> {
  const pending = await pendingUploads(s3, bucket, key);
  for (const u of pending) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId })).catch((err: unknown) => {
      if ((err as { name?: string }).name !== 'NoSuchUpload') throw err;
    });
  }
  return pending.length;
}
