// The activities behind an environment's claim: an operation workflow cannot start another
// workflow and wait for an Update's answer itself, so this activity does the Update-with-Start on
// the environment's entity with the worker's own Temporal client; the entity asks, through
// the other one, whether the run holding it is still open; and a watcher left by a failover reads
// which operations came after that failover (the entity's public `inventory` query).
import { Context, ApplicationFailure } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { environmentWorkflowId } from '../../names/workflow-ids';
import { REFUSAL } from '../../workflows/shared/failures';
import type { ClaimRequest, Inventory, OperationRecord } from '../../workflows/environment/inventory';

export interface ClaimInput {
  environment: string;
  request: ClaimRequest;
}

/** Starts the environment's entity if there is none, and claims it; refused when busy. */
export async function claimEnvironmentWith(client: Client, taskQueue: string, input: ClaimInput): Promise<Inventory> {
  const carried = await moveIfStranded(client, taskQueue, input.environment);
  const startWorkflowOperation = new WithStartWorkflowOperation('environmentEntity', {
    workflowId: environmentWorkflowId(input.environment),
    taskQueue,
    args: [{ environment: input.environment, ...(carried ? { inventory: carried } : {}) }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `environment ${input.environment}: inventory and the claim of its operations`,
  });
  try {
    // One Update id per holder run: a retried attempt gets the first attempt's answer.
    return await client.workflow.executeUpdateWithStart<Workflow, Inventory, [ClaimRequest]>('claim', {
      args: [input.request],
      updateId: `claim-${input.request.holder.runId}`,
      startWorkflowOperation,
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as (Error & { type?: string; details?: unknown[] }) | undefined;
      throw ApplicationFailure.create({
        type: cause?.type ?? REFUSAL.ClaimRefused,
        message: cause?.message ?? err.message,
        details: cause?.details as unknown[] | undefined,
        nonRetryable: true,
      });
    }
    throw err;
  }
}

/**
 * The entity runs on the task queue of the operations that claim it (one queue, `opsflow`, in a
 * deployment). One left idle on another queue (a test's, a renamed deployment's) may have no worker
 * any more and would never answer the claim: it is restarted here with the inventory its memo
 * holds. One with a holder is left where it is: its holder's worker answers for it.
 */
async function moveIfStranded(client: Client, taskQueue: string, environment: string): Promise<Inventory | undefined> {
  const handle = client.workflow.getHandle(environmentWorkflowId(environment));
  const description = await handle.describe().catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  });
  if (!description || description.status.name !== 'RUNNING' || description.taskQueue === taskQueue) return undefined;
  const inventory = description.memo?.inventory as Inventory | undefined;
  if (!inventory || inventory.holder) return undefined;
  await handle
    .terminate(`moved from task queue ${description.taskQueue} to ${taskQueue}, the claiming operation's`)
    .catch((err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    });
  return inventory;
}

/** The operations an environment recorded after one run's (a failover's), read from its inventory. */
export interface OperationsAfter {
  /** False when the environment has no entity, or its inventory no longer holds that run's record. */
  found: boolean;
  /** Newest last; how each is going or ended. */
  later: Pick<OperationRecord, 'workflowId' | 'runId' | 'operation' | 'outcome' | 'startedAt'>[];
}

export function createEnvironmentActivities() {
  return {
    async claimEnvironment(input: ClaimInput): Promise<Inventory> {
      const ctx = Context.current();
      // A claim that waits its turn may wait long: heartbeats show the worker still asks.
      const beat = setInterval(() => ctx.heartbeat(), 5_000);
      try {
        return await claimEnvironmentWith(ctx.client, ctx.info.taskQueue, input);
      } finally {
        clearInterval(beat);
      }
    },

    /** RUNNING while the run is open; otherwise how it closed (or NOT_FOUND). */
    async workflowRunStatus(input: { workflowId: string; runId: string }): Promise<{ status: string }> {
      try {
        const description = await Context.current().client.workflow.getHandle(input.workflowId, input.runId).describe();
        return { status: description.status.name };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { status: 'NOT_FOUND' };
        throw err;
      }
    },

    /** The operations recorded after run `runId`'s in the environment's inventory (its entity's public query). */
    async readOperationsAfter({ environment, runId }: { environment: string; runId: string }): Promise<OperationsAfter> {
      let inventory: Inventory;
      try {
        inventory = await Context.current().client.workflow.getHandle(environmentWorkflowId(environment)).query<Inventory>('inventory');
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { found: false, later: [] };
        throw err;
      }
      const at = inventory.operations.findIndex((o) => o.runId === runId);
      if (at < 0) return { found: false, later: [] };
      const later = inventory.operations
        .slice(at + 1)
        .map(({ workflowId, runId: run, operation, outcome, startedAt }) => ({ workflowId, runId: run, operation, outcome, startedAt }));
      return { found: true, later };
    },
  };
}

export type EnvironmentActivities = ReturnType<typeof createEnvironmentActivities>;
