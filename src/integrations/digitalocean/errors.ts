// DigitalOcean API failures, classified once: what kind of failure, whether retrying can help,
// and how long to wait first (from `ratelimit-reset` or `Retry-After`). Activities turn these
// into ApplicationFailures with the kind as the failure type.
import type { AxiosError } from 'axios';

export type DigitalOceanErrorKind =
  | 'authentication' // 401, 403: the token is wrong or lacks scope
  | 'validation' // 400, 422: the request is wrong; retrying cannot help
  | 'not_found' // 404
  | 'conflict' // 409
  | 'quota' // 422 that names a limit: droplet limit and the like
  | 'busy' // 422 "already has a pending event": the droplet or IP is locked by an action still running
  | 'rate_limited' // 429
  | 'server' // 5xx
  | 'network'; // no response: timeout, refused, reset

const RETRYABLE: Record<DigitalOceanErrorKind, boolean> = {
  authentication: false,
  validation: false,
  not_found: false,
  conflict: false,
  quota: false,
  busy: true,
  rate_limited: true,
  server: true,
  network: true,
};

export class DigitalOceanApiError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly kind: DigitalOceanErrorKind,
    message: string,
    readonly status: number | undefined,
    readonly requestId: string | undefined,
    /** How long to wait before retrying, when the API said so. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'DigitalOceanApiError';
    this.retryable = RETRYABLE[kind];
  }
}

interface ErrorBody {
  id?: string;
  message?: string;
  request_id?: string;
}

function kindOf(status: number, body: ErrorBody): DigitalOceanErrorKind {
  if (status === 401 || status === 403) return 'authentication';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  if (status === 422 && /limit|quota|exceed/i.test(body.message ?? '')) return 'quota';
  // Locked by a running action (often this activity's own, from an attempt cut short): it ends.
  if (status === 422 && /pending event/i.test(body.message ?? '')) return 'busy';
  return 'validation';
}

/**
 * Milliseconds until the API will take requests again, from its headers: `Retry-After` when given;
 * for a 429 without it, `ratelimit-reset` (when the budget refills). A 5xx uses only
 * `Retry-After`: `ratelimit-reset` is on every response and says nothing about an outage.
 */
export function retryDelayMs(kind: DigitalOceanErrorKind, headers: Record<string, unknown>, now = Date.now()): number | undefined {
  const retryAfter = Number(headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  if (kind !== 'rate_limited') return undefined;
  const reset = Number(headers['ratelimit-reset']);
  if (Number.isFinite(reset) && reset > 0) return Math.max(1000, reset * 1000 - now);
  return undefined;
}

export function classify(err: AxiosError, what: string): DigitalOceanApiError {
  const axiosError = err as AxiosError<ErrorBody>;
  const response = axiosError.response;
  if (!response) {
    return new DigitalOceanApiError(
      'network',
      `${what}: no response from the DigitalOcean API (${axiosError.code ?? axiosError.message})`,
      undefined,
      undefined,
      undefined,
    );
  }
  const body: ErrorBody = typeof response.data === 'object' && response.data !== null ? response.data : {};
  const kind = kindOf(response.status, body);
  const headers = response.headers as Record<string, unknown>;
  return new DigitalOceanApiError(
    kind,
    `${what}: ${response.status} ${body.id ?? ''} ${body.message ?? response.statusText}`.replace(/\s+/g, ' ').trim(),
    response.status,
    body.request_id,
    kind === 'rate_limited' || kind === 'server' ? retryDelayMs(kind, headers) : undefined,
  );
}
