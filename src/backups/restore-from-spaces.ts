// Restore: a backup object already downloaded whole and checked against its authenticated
// manifest (download-verified.ts) is gunzipped and fed to the restore command's stdin (pg_restore,
// mariadb, tar -t). The command reads nothing from the bucket that was not proven ours first.
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CommandFailed, type CommandExit, type RunningCommand } from './command-runner';
import type { VerifiedObject } from './download-verified';
import { BackupError } from './errors';

export interface ApplyInput {
  /** For messages. */
  key: string;
  object: VerifiedObject;
  compression: 'gzip' | 'none';
  /** The restore command, already started; it reads the dump on stdin. */
  sink: RunningCommand;
  /** For messages: the restore program and where it runs. */
  sinkLabel: { command: string; where: string };
  signal?: AbortSignal;
}

export async function applyVerifiedObject(input: ApplyInput): Promise<{ bytesRestored: number }> {
  const { sink } = input;
  // Drain what the command prints so the pipe never fills.
  sink.stdout.resume();
  let bytesRestored = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytesRestored += chunk.length;
      done(null, chunk);
    },
  });
  const source = input.object.read();
  const decompressor = input.compression === 'gzip' ? createGunzip() : new PassThrough();
  const onAbort = () => source.destroy(new BackupError('Cancelled', `restore of ${input.key} cancelled`, false));
  if (input.signal?.aborted) onAbort();
  input.signal?.addEventListener('abort', onAbort);
  try {
    await pipeline(source, decompressor, counter, sink.stdin);
  } catch (err) {
    // Did the restore command fail by itself (bad SQL, refused login), closing its stdin?
    const ended = await Promise.race([sink.completion, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200))]);
    // Killed before end of input: a single-transaction restore rolls back.
    sink.kill();
    await sink.completion;
    if (err instanceof BackupError) throw err;
    if (ended && ended.exitCode !== 0) throw restoreFailed(input, ended);
    // The stream broke under a command that did not fail by itself (an SSH channel lost): worth another attempt.
    throw new BackupError('RestoreFailed', `restore of ${input.key}: ${(err as Error).message}`, true, { cause: err });
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
  }
  const exit = await sink.completion;
  if (exit.exitCode !== 0) throw restoreFailed(input, exit);
  return { bytesRestored };
}

function restoreFailed(input: ApplyInput, exit: CommandExit): BackupError {
  return new BackupError(
    'RestoreFailed',
    `restore of ${input.key}: ${new CommandFailed(input.sinkLabel.command, input.sinkLabel.where, exit).message}`,
    false,
  );
}
