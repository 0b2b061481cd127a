// What a failover leaves behind when its fence found the old primary (or its Redis) dead: the
// fenceReturningPrimary watcher, a child with ABANDON as its parent close policy (it outlives the
// failover by days) under an id fixed by the failover's, so a retried start finds the running one.
// Runs from before this patch replay without it.
import { patched, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { fenceWatchWorkflowId } from '../../names/workflow-ids';
import type { FailoverSite } from '../../specs/failover';
import type { FenceWatchInput } from '../../specs/fence-watch';
import type { FailoverView } from './failover-api';
import type { fenceReturningPrimary } from './fence-returning-primary';

export const FENCE_WATCH_PATCH = 'failover-fence-watch';

export async function leaveFenceWatch(spec: FailoverSite, view: FailoverView): Promise<void> {
  const deadDatabase = view.fence?.state === 'unreachable';
  const deadRedis = view.redis?.fence?.state === 'unreachable';
  if (!(deadDatabase || deadRedis) || !patched(FENCE_WATCH_PATCH)) return;
  const { workflowId, runId } = workflowInfo();
  const watchId = fenceWatchWorkflowId(workflowId);
  const input: FenceWatchInput = {
    environment: spec.environment,
    failover: { workflowId, runId, from: spec.from, to: spec.to },
    ...(deadDatabase ? { database: spec.databases[spec.from]! } : {}),
    ...(deadRedis ? { redis: spec.redis![spec.from]! } : {}),
    ...spec.fenceWatch,
  };
  try {
    const child = await startChild<typeof fenceReturningPrimary>('fenceReturningPrimary', {
      workflowId: watchId,
      args: [input],
      parentClosePolicy: 'ABANDON',
      staticSummary: `fence ${[input.database?.name, input.redis?.name].filter(Boolean).join(' and ')} of ${spec.environment} when it comes back (after the failover ${spec.from} -> ${spec.to})`,
    });
    view.fenceWatch = { workflowId: watchId, runId: child.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    view.fenceWatch = { workflowId: watchId, refused: `${watchId} is already running: an earlier watch still waits for ${spec.from}` };
  }
}
