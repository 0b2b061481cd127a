// The backup itself: the dump's stdout flows through gzip into an S3 multipart upload, its SHA-256
// computed on the way, never held whole in memory (at most queueSize parts in flight). The object
// appears only if the dump exited 0 and every part arrived; otherwise the multipart upload is
// aborted and nothing is left under the key. The manifest is written beside it last, signed with
// the worker's backup key (manifest-auth.ts): restores apply only objects such a manifest vouches for.
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CommandFailed } from './command-runner';
import type { DumpSource, DumpStream } from './dump-source';
import type { BackupKey } from './backup-key';
import { BackupError, asBackupError } from './errors';
import { manifestKeyOf, type BackupManifest } from './keys';
import { signManifest } from './manifest-auth';
import { abortPendingUploads, putJson } from './spaces';

export interface BackupProgress {
  /** Bytes the dump wrote so far (before compression). */
  bytesRead: number;
  /** Compressed bytes the upload has sent. */
  bytesUploaded: number;
}

/** What the caller knows of the backup before it starts; the rest of the manifest is measured. */
export type ManifestBase = Omit<
  BackupManifest,
  'formatVersion' | 'key' | 'compression' | 'compressedBytes' | 'uncompressedBytes' | 'sha256' | 'startedAt' | 'endedAt' | 'keyId' | 'mac'
>;

export interface StreamBackupInput {
  source: DumpSource;
  compression: 'gzip' | 'none';
  s3: S3Client;
  bucket: string;
  key: string;
  manifest: ManifestBase;
  /** Signs the manifest (the worker's current backup key). */
  signingKey: BackupKey;
  /** Called at most about once a second, and once at the end. */
  onProgress?: (progress: BackupProgress) => void;
  /** Aborting stops the dump and aborts the upload (activity cancellation). */
  signal?: AbortSignal;
  /** Size of what is dumped (the database on disk), when known: parts grow past 5 MiB only when 9,000 would not hold it. */
  sizeHint?: number;
  /** Default: from sizeHint, else 8 MiB. With 4 parts in flight, buffers stay around 5 × partSize whatever the size. */
  partSize?: number;
  queueSize?: number;
  /** zlib level; 6 is gzip's default. */
  gzipLevel?: number;
}

const MiB = 1024 * 1024;

export async function streamBackupToSpaces(input: StreamBackupInput): Promise<BackupManifest> {
  const { s3, bucket, key } = input;
  // Parts of an earlier attempt whose worker died: abort them before starting again.
  await abortPendingUploads(s3, bucket, key).catch((err: unknown) => {
    throw asBackupError(err, `checking pending uploads of ${key}`);
  });

  const startedAt = new Date().toISOString();
  let dump: DumpStream;
  try {
    dump = await input.source.start();
  } catch (err) {
    throw asBackupError(err, `starting ${input.source.command} on ${input.source.where}`);
  }
  const hash = createHash('sha256');
  let bytesRead = 0;
  let compressedBytes = 0;
  let bytesUploaded = 0;
  let lastReport = 0;
  const report = (force = false) => {
    const now = Date.now();
    if (!input.onProgress || (!force && now - lastReport < 1000)) return;
    lastReport = now;
    input.onProgress({ bytesRead, bytesUploaded });
  };

  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytesRead += chunk.length;
      done(null, chunk);
    },
  });
  const compressor = input.compression === 'gzip' ? createGzip({ level: input.gzipLevel ?? 6, chunkSize: 64 * 1024 }) : new PassThrough();
  // Errors here also surface through the compressor, which the body below reads.
  pipeline(dump.stdout, counter, compressor, () => undefined);

  async function* compressedBody(): AsyncGenerator<Buffer> {
    for await (const chunk of compressor as AsyncIterable<Buffer>) {
      hash.update(chunk);
      compressedBytes += chunk.length;
      report();
      yield chunk;
    }
    // The last part is only sent once the body ends, so a dump that exits non-zero after
    // writing everything still fails the upload here, before any object exists.
    const exit = await dump.completion;
    if (exit.exitCode !== 0) throw new CommandFailed(input.source.command, input.source.where, exit);
  }
  const body = Readable.from(compressedBody(), { objectMode: false, highWaterMark: 256 * 1024 });

  const upload = new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: input.compression === 'gzip' ? 'application/gzip' : 'application/octet-stream',
    },
    partSize: input.partSize ?? partSizeFor(input.sizeHint),
    queueSize: input.queueSize ?? 4,
    leavePartsOnError: false,
  });
  upload.on('httpUploadProgress', (p) => {
    bytesUploaded = p.loaded ?? bytesUploaded;
    report();
  });
  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    dump.kill();
    body.destroy(new BackupError('Cancelled', `backup of ${key} cancelled`, true));
  };
  if (input.signal?.aborted) onAbort();
  input.signal?.addEventListener('abort', onAbort);

  try {
    await upload.done();
  } catch (err) {
    dump.kill();
    body.destroy();
    await dump.completion;
    // lib-storage aborts the multipart upload itself; if Spaces was down for that call too,
    // try again here, and the next attempt starts by aborting whatever is still pending.
    await abortPendingUploads(s3, bucket, key).catch(() => undefined);
    if (cancelled) throw new BackupError('Cancelled', `backup of ${key} cancelled; upload aborted`, false, { cause: err });
    throw failureOf(err, `${input.source.command} on ${input.source.where}`, key);
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
  }

  const manifest = signManifest(
    {
      formatVersion: 2,
      ...input.manifest,
      key,
      compression: input.compression,
      compressedBytes,
      uncompressedBytes: bytesRead,
      sha256: hash.digest('hex'),
      startedAt,
      endedAt: new Date().toISOString(),
    },
    input.signingKey,
  );
  bytesUploaded = compressedBytes;
  report(true);
  try {
    await putJson(s3, bucket, manifestKeyOf(key), manifest);
  } catch (err) {
    // Without its manifest the object is not a backup: remove it rather than leave it looking like one.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    throw asBackupError(err, `writing the manifest of ${key}`);
  }
  return manifest;
}

/**
 * S3 allows 10,000 parts per object. 5 MiB (the minimum) holds 45 GiB in 9,000 parts, a margin for
 * dumps larger than expected; beyond that parts grow with the size. Unknown size: 8 MiB (78 GiB).
 */
export function partSizeFor(sizeHint: number | undefined): number {
  if (!sizeHint) return 8 * MiB;
  return Math.min(512 * MiB, Math.max(5 * MiB, Math.ceil(sizeHint / 9000 / MiB) * MiB));
}

/** Which failure to report: the dump's, if it failed, else the upload's. */
function failureOf(err: unknown, what: string, key: string): BackupError {
  let cause: unknown = err;
  for (let depth = 0; depth < 5 && cause; depth++) {
    if (cause instanceof CommandFailed) return asBackupError(cause, `dump for ${key}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  return asBackupError(err, `upload of ${key} (from ${what})`);
}
