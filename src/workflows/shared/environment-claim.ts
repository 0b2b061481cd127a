// withEnvironmentClaim: how an operation that changes an environment runs exclusively. Its first
// step claims the environment from its entity workflow (refused at once, naming the running
// operation, when another holds it); its last, whatever happened, releases it and records what
// changed. The release is a signal sent in a scope cancellation cannot interrupt, so a failed or
// cancelled operation releases too; a run that dies without releasing is taken over later (see
// environment-entity.ts). Runs recorded before this existed replay without it (patch
// `environment-claim`).
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { EnvironmentActivities } from '../../activities/environment/claims';
import { environmentWorkflowId } from '../../names/workflow-ids';
import { releaseSignal } from '../environment/environment-entity';
import type { Holder, Inventory, InventoryChange, OperationKind, Release } from '../environment/inventory';
import { describeError } from './saga';
import { summarizedActivities } from './summarized-activities';
import { statusQuery, type OperationStatus } from './status';

/** Memo key asking a claim to wait for the running operation instead of being refused. */
export const WAIT_FOR_ENVIRONMENT_MEMO = 'waitForEnvironment';

const quick = summarizedActivities<EnvironmentActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});
// Waiting a turn may take as long as the operation before it; the heartbeat shows it is alive.
const patient = summarizedActivities<EnvironmentActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

export interface ClaimOptions<T> {
  /** What a successful body changes in the inventory. */
  change?: (result: T) => InventoryChange;
}

export async function withEnvironmentClaim<T>(
  environment: string,
  operation: OperationKind,
  body: (inventory?: Inventory) => Promise<T>,
  options: ClaimOptions<T> = {},
): Promise<T> {
  if (!patched('environment-claim')) return body();
  const { workflowId, runId, memo, workflowType, parent } = workflowInfo();
  // Naming the parent lets the entity grant the claim inside the parent's own (a DR drill's halves).
  const holder: Holder = {
    workflowId,
    runId,
    operation,
    ...(parent ? { within: { workflowId: parent.workflowId, runId: parent.runId } } : {}),
  };
  const wait = memo?.[WAIT_FOR_ENVIRONMENT_MEMO] === true;
  // `status` answers from the first moment; the body's own StatusTracker takes over once claimed.
  const status: OperationStatus = {
    operation: workflowType,
    workflowId,
    step: wait ? `waiting for environment ${environment}` : `claim environment ${environment}`,
    completedSteps: [],
    remainingSteps: [],
    resources: [],
  };
  setHandler(statusQuery, () => status);
  const inventory = await (wait ? patient : quick).claimEnvironment({ environment, request: { holder, wait } }).catch((err: unknown) => {
    // The refusal itself (EnvironmentBusy, naming the holder) is how this run ends, not "activity failed".
    status.step = 'failed';
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) throw err.cause;
    throw err;
  });

  let release: Release = { holder, outcome: 'failed' };
  try {
    const result = await body(inventory);
    release = { holder, outcome: 'succeeded', change: options.change?.(result) };
    return result;
  } catch (err) {
    release = { holder, outcome: isCancellation(err) ? 'cancelled' : 'failed', detail: describeError(err).slice(0, 500) };
    throw err;
  } finally {
    // A failed signal (the entity was terminated by hand) must not hide how the operation ended.
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(environmentWorkflowId(environment)).signal(releaseSignal, release),
    ).catch(() => undefined);
  }
}
