// The whole object, proven whole before any of it is used: it is downloaded into a temporary file
// on the worker, hashed on the way, and handed out only once its size and SHA-256 are those of its
// (authenticated) manifest. Checking while streaming into the restore tool, as before, let the
// tool act on bytes before the check could fail; checking a first pass and downloading again
// would apply a second copy nobody checked. The file holds the object as stored (compressed), so
// the worker needs the backup's compressed size free in OPSFLOW_BACKUP_TMPDIR (default the OS
// temporary folder); it is created 0600 in a 0700 folder and unlinked at once, so it is never
// reachable by name and its space is freed when its handle closes, even if the worker is killed.
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, statfs, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BackupError, asBackupError } from './errors';
import type { BackupManifest } from './keys';

export interface VerifiedObject {
  bytes: number;
  /** The object's bytes from the start (once per object). */
  read(): Readable;
  /** Closes the file; its space is freed. */
  dispose(): Promise<void>;
}

export interface DownloadInput {
  s3: S3Client;
  bucket: string;
  key: string;
  manifest: Pick<BackupManifest, 'sha256' | 'compressedBytes'>;
  /** Where the temporary file goes (default OPSFLOW_BACKUP_TMPDIR, else the OS temporary folder). */
  tmpDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: { bytesDownloaded: number }) => void;
}

export const restoreTmpDirFromEnv = (env: NodeJS.ProcessEnv = process.env) => env.OPSFLOW_BACKUP_TMPDIR?.trim() || os.tmpdir();

export async function downloadVerified(input: DownloadInput): Promise<VerifiedObject> {
  const { key, manifest } = input;
  const expected = manifest.compressedBytes;
  const handle = await anonymousFile(input.tmpDir ?? restoreTmpDirFromEnv(), expected);
  try {
    let body: Readable;
    let length: number | undefined;
    try {
      const object = await input.s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: key }), { abortSignal: input.signal });
      body = object.Body as Readable;
      length = object.ContentLength;
    } catch (err) {
      throw asBackupError(err, `download of ${key}`);
    }
    if (length !== undefined && length !== expected) {
      body.destroy();
      throw new BackupError('ChecksumMismatch', `${key} is ${length} bytes; its manifest says ${expected}`, false);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    let lastReport = 0;
    const onAbort = () => body.destroy(new BackupError('Cancelled', `download of ${key} cancelled`, false));
    input.signal?.addEventListener('abort', onAbort);
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        // Never more than the manifest promised on the worker's disk.
        if (bytes + chunk.length > expected) {
          body.destroy();
          throw new BackupError('ChecksumMismatch', `${key} is longer than the ${expected} bytes its manifest says`, false);
        }
        hash.update(chunk);
        await handle.write(chunk, 0, chunk.length, bytes);
        bytes += chunk.length;
        if (input.onProgress && Date.now() - lastReport >= 1000) {
          lastReport = Date.now();
          input.onProgress({ bytesDownloaded: bytes });
        }
      }
    } catch (err) {
      throw asBackupError(err, `download of ${key}`);
    } finally {
      input.signal?.removeEventListener('abort', onAbort);
    }
    const actual = hash.digest('hex');
    if (bytes !== expected || actual !== manifest.sha256) {
      throw new BackupError(
        'ChecksumMismatch',
        `${key}: ${bytes} bytes with SHA-256 ${actual}; its manifest says ${expected} bytes with SHA-256 ${manifest.sha256}`,
        false,
      );
    }
    input.onProgress?.({ bytesDownloaded: bytes });
    return {
      bytes,
      read: () => Readable.from(chunksOf(handle, bytes)),
      dispose: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function* chunksOf(handle: FileHandle, size: number): AsyncGenerator<Buffer> {
  for (let position = 0; position < size;) {
    const { bytesRead, buffer } = await handle.read(
      Buffer.alloc(Math.min(256 * 1024, size - position)),
      0,
      Math.min(256 * 1024, size - position),
      position,
    );
    if (bytesRead === 0) throw new Error(`the downloaded copy ended at ${position} of ${size} bytes`);
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** A 0600 file in a fresh 0700 folder, both unlinked before anything is written to it. */
async function anonymousFile(tmpDir: string, needed: number): Promise<FileHandle> {
  let free: number;
  try {
    const fs = await statfs(tmpDir);
    free = fs.bavail * fs.bsize;
  } catch (err) {
    throw new BackupError(
      'NoTempSpace',
      `cannot use ${tmpDir} for the download (OPSFLOW_BACKUP_TMPDIR): ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      false,
    );
  }
  if (free < needed) {
    throw new BackupError(
      'NoTempSpace',
      `the backup is ${needed} bytes and ${tmpDir} has ${free} free; the whole object is checked before any of it is restored, so set OPSFLOW_BACKUP_TMPDIR to a folder with room`,
      false,
    );
  }
  const dir = await mkdtemp(path.join(tmpDir, 'opsflow-restore-'));
  try {
    return await open(path.join(dir, 'object'), 'wx+', 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
