// Task queue names shared by the worker, the client and the workflows. Pure: safe in workflow code.
import type { ProviderId } from '../providers/cloud-provider';

/** Workflows and every activity that is not rate limited by a provider. */
export const TASK_QUEUE = 'opsflow';

/** A provider's API activities: `opsflow-<provider>`, rate-limited by the server across all workers. */
export function providerTaskQueue(provider: ProviderId): string {
  return `opsflow-${provider}`;
}

/** DigitalOcean API activities (kept for callers that name the queue itself). */
export const DIGITALOCEAN_TASK_QUEUE = providerTaskQueue('digitalocean');

/**
 * Activity starts per second allowed on a provider's queue across every worker. DigitalOcean: 3 a
 * second is 180 a minute, leaving room under its 250 for activities that make a few calls.
 * Linode's limits are per endpoint (its own provider will set them); until then the same pace.
 */
export const PROVIDER_ACTIVITIES_PER_SECOND: Record<ProviderId, number> = { digitalocean: 3, linode: 3 };

/** DigitalOcean's pace (bench/provision.ts reports it). */
export const DIGITALOCEAN_ACTIVITIES_PER_SECOND = PROVIDER_ACTIVITIES_PER_SECOND.digitalocean;
