// How workflows call a cloud provider's activities: on the provider's own rate-limited queue
// (`opsflow-<provider>`, picked from the spec's `cloud:`), through the neutral interface. The
// timeouts decide how fast a step is retried after a worker dies mid-call: a quick API call gets
// 30 s; a wait heartbeats at least every 10 s (its longest backoff), so a dead worker is noticed within 20 s.
import { patched, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { CloudProviderActivities, ProviderId } from '../../providers/cloud-provider';
import { legacyCloudActivities, PROVIDER_SEAM_PATCH } from '../../providers/legacy-activity-names';
import { providerTaskQueue } from '../../temporal/task-queues';
import { summarizedActivities } from './summarized-activities';

export const CLOUD_CALL: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
};

export const CLOUD_RETRY: RetryPolicy = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 8,
};

/**
 * The provider's activities with these options. Call it inside the workflow, before its first
 * cloud step: runs recorded before the provider seam (no PROVIDER_SEAM_PATCH marker) keep
 * scheduling the activity names they used then.
 */
export function cloudProvider(provider: ProviderId, options: ActivityOptions): CloudProviderActivities {
  const activities = summarizedActivities({ ...CLOUD_CALL, ...options, taskQueue: providerTaskQueue(provider) });
  return patched(PROVIDER_SEAM_PATCH) ? (activities as unknown as CloudProviderActivities) : legacyCloudActivities(activities);
}
