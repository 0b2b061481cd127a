// How DigitalOcean failures leave an activity: as ApplicationFailures whose type names the kind
// (DigitalOceanAuthentication, DigitalOceanRateLimited, ...), non-retryable when retrying cannot
// help, and with the API's own next delay when it gave one (rule 3).
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { DigitalOceanApiError } from '../clients/digitalocean/errors';

const typeName = (kind: string) => 'DigitalOcean' + kind.split('_').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');

export function toActivityFailure(err: unknown): unknown {
  if (!(err instanceof DigitalOceanApiError)) return err;
  return ApplicationFailure.create({
    type: typeName(err.kind),
    message: err.message,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryAfterMs,
    details: [{ status: err.status ?? null, requestId: err.requestId ?? null }],
  });
}

/**
 * Runs an activity body, classifying what the DigitalOcean API threw. While it runs, it
 * heartbeats every 5 s (repeating the last details), so a worker that died is noticed within the
 * heartbeat timeout however long a slow API makes the call.
 */
export async function digitalOceanStep<T>(body: () => Promise<T>): Promise<T> {
  const keepAlive = setInterval(() => heartbeat(lastDetails.get(Context.current())), 5000);
  try {
    return await body();
  } catch (err) {
    throw toActivityFailure(err);
  } finally {
    clearInterval(keepAlive);
  }
}

const lastDetails = new WeakMap<Context, unknown>();

/** Heartbeat with details that the keep-alive repeats until the next one. */
export function heartbeatWith(details: unknown): void {
  lastDetails.set(Context.current(), details);
  heartbeat(details);
}

/** A delete for which "not found" means done (rule 2). */
export async function deleteIgnoringNotFound(remove: () => Promise<unknown>): Promise<'deleted' | 'already gone'> {
  try {
    await remove();
    return 'deleted';
  } catch (err) {
    if (err instanceof DigitalOceanApiError && err.kind === 'not_found') return 'already gone';
    throw err;
  }
}

/** A read for which "not found" is an answer, not a failure. */
export async function findOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof DigitalOceanApiError && err.kind === 'not_found') return undefined;
    throw err;
  }
}
