// Cloudflare's answers as opsflow's named failures (rule 3: activities classify, Temporal retries):
// throttling, 5xx and no answer are retryable (after Retry-After when given); a refused token or
// a refused request is not, and its message carries Cloudflare's own error codes and words.
import { APIConnectionError, APIError } from 'cloudflare';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export function cloudflareFailure(what: string, error: unknown): Error {
  if (error instanceof APIConnectionError)
    return failure(STEP_FAILURE.CloudflareUnavailable, `${what}: no answer from Cloudflare (${error.message})`, { retryable: true });
  if (!(error instanceof APIError)) return error instanceof Error ? error : new Error(String(error));
  const said = error.errors.map((e) => `${e.code}: ${e.message}`).join('; ') || error.message;
  const status = error.status ?? 0;
  if (status === 429 || status >= 500) {
    const retryAfter = Number(error.headers?.get('retry-after'));
    return failure(STEP_FAILURE.CloudflareUnavailable, `${what}: Cloudflare answered ${status} (${said})`, {
      retryable: true,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { nextRetryDelay: retryAfter * 1000 } : {}),
    });
  }
  if (status === 401 || status === 403)
    return failure(STEP_FAILURE.CloudflareUnauthorized, `${what}: Cloudflare refused the token (${status}: ${said})`);
  return failure(STEP_FAILURE.CloudflareRefused, `${what}: Cloudflare refused it (${status}: ${said})`);
}

/** Runs one Cloudflare call, its failure classified and named after `what`. */
export async function cloudflareCall<T>(what: string, call: () => PromiseLike<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw cloudflareFailure(what, error);
  }
}
