// How workflows call DigitalOcean activities. The timeouts decide how fast a step is retried
// after a worker dies mid-call: a quick API call gets 30 s; a wait heartbeats at least every
// 10 s (its longest backoff), so a dead worker is noticed within 20 s.
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { DIGITALOCEAN_TASK_QUEUE } from '../../temporal/task-queues';

export const CLOUD_CALL: ActivityOptions = {
  taskQueue: DIGITALOCEAN_TASK_QUEUE,
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
};

export const CLOUD_RETRY: RetryPolicy = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 8,
};
