// What went wrong in a backup, named and classified once (rule 3): the activity layer turns a
// BackupError into an ApplicationFailure of the same type, retryable or not.
import { CommandFailed } from './command-runner';

// The names are defined with every other failure type, in workflows/shared/failures.ts.
import type { BackupErrorType } from '../workflows/shared/failures';

export type { BackupErrorType };

export class BackupError extends Error {
  constructor(
    readonly type: BackupErrorType,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackupError';
  }
}

/** stderr lines that mean the same command will fail the same way next time. */
const PERMANENT_DUMP_ERRORS = [
  /password authentication failed/i,
  /no password supplied/i,
  /role "[^"]*" does not exist/i,
  /database "[^"]*" does not exist/i,
  /permission denied/i,
  /access denied for user/i,
  /unknown database/i,
  /spawn \S+ ENOENT|command not found|executable file not found|Cannot (open|stat|chdir)[^:]*: No such file or directory/i,
  /server version mismatch/i,
];

export function classifyCommandFailure(err: CommandFailed, what: string): BackupError {
  const permanent = PERMANENT_DUMP_ERRORS.some((pattern) => pattern.test(err.exit.stderrTail));
  return new BackupError(permanent ? 'DumpRefused' : 'DumpFailed', `${what}: ${err.message}`, !permanent, { cause: err });
}

const REFUSED_S3_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'NoSuchBucket',
  'InvalidBucketName',
  'AuthorizationHeaderMalformed',
  'InvalidArgument',
]);

/** An S3 SDK error (or a socket error under it) as a BackupError. */
export function classifyS3Failure(err: unknown, what: string): BackupError {
  if (err instanceof BackupError) return err;
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const refused = REFUSED_S3_CODES.has(name) || (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429);
  const detail = `${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}${e.code && !String(e.message).includes(e.code) ? ` [${e.code}]` : ''}`;
  return new BackupError(refused ? 'SpacesRefused' : 'SpacesUnavailable', `${what}: ${detail}`, !refused, { cause: err });
}

export function asBackupError(err: unknown, what: string): BackupError {
  if (err instanceof BackupError) return err;
  if (err instanceof CommandFailed) return classifyCommandFailure(err, what);
  return classifyS3Failure(err, what);
}
