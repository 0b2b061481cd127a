// A workflow cannot send an Update to another workflow, so a DR drill approves its failover and
// failback through this activity, with the worker's own Temporal client: it watches the run's
// `status` query (heartbeating, backing off to 5 s between looks) until the run waits for
// approval, then sends `approve` once (one Update id per run, so a retried attempt gets the first
// attempt's answer). A run that ends first, or that someone else approved, is reported, not retried.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { STEP_FAILURE } from '../../workflows/shared/failures';
import type { ApprovalRecord, ApproveArgs } from '../../workflows/failover/failover-api';

export interface ApproveWhenWaitingInput {
  workflowId: string;
  runId: string;
  approve: ApproveArgs;
}

export type ApproveWhenWaitingResult = { approved: ApprovalRecord } | { alreadyApproved: string } | { ended: string };

interface SwitchStatus {
  failover?: { phase?: string };
  failback?: { phase?: string };
}

const MAX_DELAY_MS = 5_000;

export function createApprovalActivities() {
  return {
    async approveWhenWaiting(input: ApproveWhenWaitingInput): Promise<ApproveWhenWaitingResult> {
      const ctx = Context.current();
      const handle = ctx.client.workflow.getHandle(input.workflowId, input.runId);
      for (let delay = 250; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
        ctx.heartbeat();
        const described = await handle.describe();
        if (described.status.name !== 'RUNNING') return { ended: described.status.name };
        const status = await handle.query<SwitchStatus>('status');
        if ((status.failover ?? status.failback)?.phase === 'awaiting approval') return approve(input);
        await ctx.sleep(delay);
      }
    },
  };
}

async function approve(input: ApproveWhenWaitingInput): Promise<ApproveWhenWaitingResult> {
  const handle = Context.current().client.workflow.getHandle(input.workflowId, input.runId);
  try {
    const approved = await handle.executeUpdate<ApprovalRecord, [ApproveArgs]>('approve', {
      args: [input.approve],
      updateId: `drill-approve-${input.runId}`,
    });
    return { approved };
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const why = err.cause?.message ?? err.message;
    if (/already approved by/.test(why)) return { alreadyApproved: why };
    throw ApplicationFailure.create({
      type: STEP_FAILURE.ApprovalRefused,
      message: `${input.workflowId} refused the drill's approval: ${why}`,
      nonRetryable: true,
    });
  }
}
