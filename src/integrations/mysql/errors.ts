// mysql2's errors as opsflow's named failures: no connection (refused, timed out, lost, the
// server going away) is retryable DatabaseUnreachable; anything the server refused (login,
// privileges, a statement) is DatabaseRefused, with the server's own code and words.
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

export function databaseFailure(what: string, error: unknown): Error {
  const err = error as { code?: string; errno?: number; sqlMessage?: string; message?: string; fatal?: boolean };
  if (err && typeof err === 'object' && 'type' in err && (err as { type?: unknown }).type) return error as Error; // already named
  const said = err?.sqlMessage ?? err?.message ?? String(error);
  const code = err?.code ?? 'unknown';
  if (UNREACHABLE.has(code) || (err?.fatal && !err?.sqlMessage))
    return failure(STEP_FAILURE.DatabaseUnreachable, `${what}: no connection (${code}: ${said})`, { retryable: true });
  return failure(STEP_FAILURE.DatabaseRefused, `${what}: refused (${code}: ${said})`);
}
