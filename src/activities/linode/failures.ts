// How Linode API failures leave an activity: ApplicationFailures typed Linode<Kind>, non-retryable
// when retrying cannot help (400, 401, 403, 404), with Retry-After as the next delay on a 429.
// Linode's own words ({"errors": [{"reason", "field"}]}) go in the message; a token never does.
import { ApplicationFailure, heartbeat } from '@temporalio/activity';

interface ErrorResponse {
  status: number;
  data?: { errors?: { reason?: string; field?: string }[] };
  headers?: Record<string, unknown>;
}

function kindOf(status: number | undefined): { kind: string; retryable: boolean } {
  if (status === undefined) return { kind: 'Network', retryable: true };
  if (status === 401 || status === 403) return { kind: 'Authentication', retryable: false };
  if (status === 404) return { kind: 'NotFound', retryable: false };
  if (status === 429) return { kind: 'RateLimited', retryable: true };
  if (status >= 500) return { kind: 'Server', retryable: true };
  return { kind: 'Validation', retryable: false };
}

/** The API's reasons, each with its field: "label: Label must be unique among your Linodes". */
export function linodeReasons(error: unknown): string {
  const response = (error as { response?: ErrorResponse }).response;
  // The client's own schema check rejects with the same entries, before anything is sent.
  const entries = Array.isArray(error) ? (error as { reason?: string; field?: string }[]) : (response?.data?.errors ?? []);
  const reasons = entries.map((e) => (e.field ? `${e.field}: ${e.reason}` : (e.reason ?? ''))).filter(Boolean);
  return reasons.join('; ') || (error as Error).message || 'Linode API request failed';
}

export function statusOf(error: unknown): number | undefined {
  return (error as { response?: ErrorResponse }).response?.status;
}

export function toLinodeFailure(error: unknown, what: string): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const isApiError = Array.isArray(error) || (error as { isAxiosError?: boolean })?.isAxiosError === true;
  if (!isApiError) throw error;
  const status = Array.isArray(error) ? 400 : statusOf(error);
  const { kind, retryable } = kindOf(status);
  const retryAfter = Number((error as { response?: ErrorResponse }).response?.headers?.['retry-after']);
  return ApplicationFailure.create({
    type: `Linode${kind}`,
    message: `${what}: ${linodeReasons(error)}`,
    nonRetryable: !retryable,
    nextRetryDelay: status === 429 && retryAfter > 0 ? retryAfter * 1000 : undefined,
    details: [{ status: status ?? null }],
  });
}

/** Runs a step against the API, heartbeating every 5 s, its failures classified. */
export async function linodeStep<T>(what: string, body: () => Promise<T>): Promise<T> {
  const keepAlive = setInterval(() => heartbeat({ step: what }), 5000);
  try {
    return await body();
  } catch (error) {
    throw toLinodeFailure(error, what);
  } finally {
    clearInterval(keepAlive);
  }
}
