// Restore, streaming: the object is downloaded, its SHA-256 checked against the manifest on the
// way, gunzipped and fed to the restore command's stdin (psql / mariadb). The checksum is decided
// before the command sees end of input, so a corrupt object makes the restore fail instead of
// commit (psql runs it as one transaction; for MariaDB the caller drops the database it made).
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CommandFailed, type CommandExit, type RunningCommand } from './command-runner';
import { BackupError, asBackupError } from './errors';

export interface RestoreInput {
  s3: S3Client;
  bucket: string;
  key: string;
  expectedSha256: string;
  compression: 'gzip' | 'none';
  /** The restore command, already started; it reads the dump on stdin. */
  sink: RunningCommand;
  /** For messages: the restore program and where it runs. */
  sinkLabel: { command: string; where: string };
  onProgress?: (progress: { bytesDownloaded: number }) => void;
  signal?: AbortSignal;
}

export async function restoreFromSpaces(input: RestoreInput): Promise<{ bytesDownloaded: number; bytesRestored: number }> {
  const { sink } = input;
  // psql prints results of pg_dump's set_config() calls; drain them so the pipe never fills.
  sink.stdout.resume();
  let body: Readable;
  try {
    const object = await input.s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.key }));
    body = object.Body as Readable;
  } catch (err) {
    sink.kill();
    await sink.completion;
    throw asBackupError(err, `download of ${input.key}`);
  }

  const hash = createHash('sha256');
  let bytesDownloaded = 0;
  let bytesRestored = 0;
  let lastReport = 0;
  const verifier = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytesDownloaded += chunk.length;
      if (input.onProgress && Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        input.onProgress({ bytesDownloaded });
      }
      done(null, chunk);
    },
    flush(done) {
      const actual = hash.digest('hex');
      if (actual === input.expectedSha256) done();
      else done(new BackupError('ChecksumMismatch', `${input.key}: SHA-256 is ${actual}, the manifest says ${input.expectedSha256}`, false));
    },
  });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytesRestored += chunk.length;
      done(null, chunk);
    },
  });
  const decompressor = input.compression === 'gzip' ? createGunzip() : new PassThrough();
  const onAbort = () => body.destroy(new BackupError('Cancelled', `restore of ${input.key} cancelled`, false));
  input.signal?.addEventListener('abort', onAbort);
  try {
    await pipeline(body, verifier, decompressor, counter, sink.stdin);
  } catch (err) {
    // Did the restore command fail by itself (bad SQL, refused login), closing its stdin?
    const ended = await Promise.race([sink.completion, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200))]);
    // Killed before end of input: psql's single transaction rolls back.
    sink.kill();
    await sink.completion;
    if (err instanceof BackupError) throw err;
    if (ended && ended.exitCode !== 0) throw restoreFailed(input, ended);
    throw asBackupError(err, `download of ${input.key}`);
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
  }
  const exit = await sink.completion;
  if (exit.exitCode !== 0) throw restoreFailed(input, exit);
  input.onProgress?.({ bytesDownloaded });
  return { bytesDownloaded, bytesRestored };
}

function restoreFailed(input: RestoreInput, exit: CommandExit): BackupError {
  return new BackupError('RestoreFailed', `restore of ${input.key}: ${new CommandFailed(input.sinkLabel.command, input.sinkLabel.where, exit).message}`, false);
}
