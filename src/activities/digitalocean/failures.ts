// How DigitalOcean failures leave an activity: as ApplicationFailures whose type names the kind
// (DigitalOceanAuthentication, DigitalOceanRateLimited, ...), non-retryable when retrying cannot
// help, and with the API's own next delay when it gave one (rule 3).
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { DigitalOceanApiError } from '../../integrations/digitalocean/errors';

const typeName = (kind: string) =>
  'DigitalOcean' +
  kind
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

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
const remembered = new WeakMap<Context, Record<string, unknown>>();

/**
 * Heartbeat with details that the keep-alive repeats until the next one. What the attempt
 * remembers for a retry (rememberForRetry) rides along in every heartbeat.
 */
export function heartbeatWith(details: Record<string, unknown>): void {
  const ctx = Context.current();
  const memory = remembered.get(ctx);
  const payload = memory ? { ...details, remembered: memory } : details;
  lastDetails.set(ctx, payload);
  heartbeat(payload);
}

/**
 * Something this attempt made that a retry must know of because nothing else finds it (a reserved
 * IP has no name or tag): kept in the attempt's heartbeats, which the server hands to the next
 * attempt even when this worker dies. The worker sends heartbeats at most a second apart
 * (createCloudWorker), so that is how long the value is at risk.
 */
export function rememberForRetry(key: string, value: unknown): void {
  const ctx = Context.current();
  remembered.set(ctx, { ...remembered.get(ctx), [key]: value });
  const { remembered: _previous, ...details } = (lastDetails.get(ctx) ?? {}) as Record<string, unknown>;
  heartbeatWith(details);
}

/** What the previous attempt remembered under `key`, if it got as far as a heartbeat. */
export function rememberedByEarlierAttempt<T>(key: string): T | undefined {
  const details = Context.current().info.heartbeatDetails as { remembered?: Record<string, unknown> } | undefined;
  return details?.remembered?.[key] as T | undefined;
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
