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
    // The command closed its stdin: it exited (or is exiting) by itself, so its exit status is coming;
    // any other break (a source read error, a lost SSH channel) leaves it waiting for input: kill it.
    const sinkClosed = closedByReader(err);
    if (!sinkClosed) sink.kill(); // killed before end of input: a single-transaction restore rolls back
    const ended = await settledWithin(sink.completion, SINK_EXIT_GRACE_MS);
    sink.kill();
    await sink.completion;
    if (err instanceof BackupError) throw err;
    if (ended && ended.exitCode !== 0) throw restoreFailed(input, ended);
    if (ended && sinkClosed) {
      throw new BackupError(
        'RestoreFailed',
        `restore of ${input.key}: ${input.sinkLabel.command} on ${input.sinkLabel.where} exited (status 0) before reading the whole backup (${bytesRestored} bytes read)`,
        false,
      );
    }
    // The stream broke under a command that did not fail by itself (an SSH channel lost): worth another attempt.
    throw new BackupError('RestoreFailed', `restore of ${input.key}: ${(err as Error).message}`, true, { cause: err });
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
  }
  const exit = await sink.completion;
  if (exit.exitCode !== 0) throw restoreFailed(input, exit);
  return { bytesRestored };
}

/** How long a command that closed its stdin gets to report its exit status before it is killed. */
const SINK_EXIT_GRACE_MS = 30_000;

function closedByReader(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function restoreFailed(input: ApplyInput, exit: CommandExit): BackupError {
  return new BackupError(
    'RestoreFailed',
    `restore of ${input.key}: ${new CommandFailed(input.sinkLabel.command, input.sinkLabel.where, exit).message}`,
    false,
  );
}
