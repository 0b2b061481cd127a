// drDrill: the DR drill stack E's team runs on a Schedule (the first Sunday of the month): a planned
// failoverSite from one site to the other, then failbackSite to the usual split, each a child run
// whose RTO and RPO are collected into the drill's result, status and search attributes. The
// drill holds the environment for its whole length; each half's own claim is granted inside it,
// so nothing else slips in between the two. Each half is approved by the drill itself once it
// waits (recorded as drill-policy) unless the input asks for a human.
//
// A failed half ends the drill, named (DrillFailoverFailed, DrillFailbackFailed) with the state it
// left. No failback follows a failed failover: a failover that rolled back left nothing to undo,
// and one that did not (its rollback incomplete, or a check after the switch failed) is in a
// state only a human can judge, which a failback must not guess at.
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  isCancellation,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../../activities';
import { drDrillHalfWorkflowId } from '../../names/workflow-ids';
import { DRILL_APPROVER, parseDrDrillInput, type DrDrill, type DrDrillInput } from '../../specs/dr-drill';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { failure, OUTCOME, REFUSAL, STEP_FAILURE } from '../shared/failures';
import { describeError } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { summarizedActivities } from '../shared/summarized-activities';
import { validated } from '../shared/validated';
import { recordRtoRpo } from './switch-common';
import type { FailbackResult } from './failback-api';
import type { FailoverResult } from './failover-api';
import { drDrillStatusQuery, type DrDrillResult, type DrDrillView, type DrillHalfName, type DrillHalfResult } from './dr-drill-api';

export const DRILL_STEPS = ['fail over', 'fail back'];

// Watching a half until it waits for approval may take as long as the failback's catch-up.
const approvals = summarizedActivities<Activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});

/** Failures of a half that changed nothing, or undid all it changed. */
const NOTHING_LEFT = new Set<string>([
  STEP_FAILURE.SiteNotDown,
  STEP_FAILURE.SurvivorUnhealthy,
  STEP_FAILURE.NothingToFailBack,
  REFUSAL.InvalidInput,
  REFUSAL.EnvironmentBusy,
  REFUSAL.ClaimRefused,
  OUTCOME.RolledBack,
]);

export async function drDrill(input: DrDrillInput): Promise<DrDrillResult> {
  const spec = validated('input', parseDrDrillInput, input);
  return withEnvironmentClaim(spec.environment, 'dr drill', () => drill(input, spec));
}

async function drill(input: DrDrillInput, spec: DrDrill): Promise<DrDrillResult> {
  const { from, to } = spec.failover;
  const status = new StatusTracker('drDrill', DRILL_STEPS);
  const view: DrDrillView = { environment: spec.environment, from, to, approval: spec.approval, phase: 'failing over' };
  setHandler(drDrillStatusQuery, () => ({ ...status.snapshot(), drill: JSON.parse(JSON.stringify(view)) as DrDrillView }));
  upsertSearchAttributes([
    { key: OpsEnvironment, value: spec.environment },
    { key: OpsOperation, value: 'dr drill' },
  ]);
  // Who asks for each half (an actor name: a schedule's run id has a colon).
  const requestedBy = spec.requestedBy ?? `DR drill ${spec.environment}`;

  status.step('fail over');
  const over = await half<FailoverResult>(spec, view, status, 'failover', 'failoverSite', {
    ...input.failover,
    mode: 'planned',
    requestedBy: input.failover.requestedBy ?? requestedBy,
  });

  status.step('fail back');
  view.phase = 'failing back';
  const back = await half<FailbackResult>(spec, view, status, 'failback', 'failbackSite', {
    ...input.failback,
    requestedBy: input.failback.requestedBy ?? requestedBy,
  });

  // The drill meets its targets only if both halves do: it records the worse of the two.
  const worst = {
    rtoFromApprovalMs: Math.max(over.rto.fromApprovalMs, back.rto.fromApprovalMs),
    lostTransactions:
      over.rpo.lostTransactions === null || back.rpo.lostTransactions === null
        ? null
        : Math.max(over.rpo.lostTransactions, back.rpo.lostTransactions),
  };
  recordRtoRpo(
    { fromStartMs: Math.max(over.rto.fromStartMs, back.rto.fromStartMs), fromApprovalMs: worst.rtoFromApprovalMs },
    { ...over.rpo, lostTransactions: worst.lostTransactions },
  );
  view.phase = 'completed';
  status.finish('done');
  const split = back.traffic.steps.at(-1)?.split ?? {};
  return {
    environment: spec.environment,
    from,
    to,
    failover: halfResult(view, 'failover', over),
    failback: { ...halfResult(view, 'failback', back), split },
    worst,
  };
}

function halfResult(view: DrDrillView, name: DrillHalfName, r: FailoverResult | FailbackResult): DrillHalfResult {
  const { workflowId, runId } = view[name]!;
  return { workflowId, runId, approval: r.approval, rto: r.rto, rpo: r.rpo };
}

/**
 * Runs one half as a child under the drill's own id plus the half's name, approving it once it
 * waits when the drill approves; a failure ends the drill naming the half and the state left.
 */
async function half<R extends FailoverResult | FailbackResult>(
  spec: DrDrill,
  view: DrDrillView,
  status: StatusTracker,
  name: DrillHalfName,
  workflowType: 'failoverSite' | 'failbackSite',
  args: object,
): Promise<R> {
  const drillId = workflowInfo().workflowId;
  const workflowId = drDrillHalfWorkflowId(drillId, name);
  const { from, to } = name === 'failover' ? spec.failover : spec.failback;
  let child;
  try {
    child = await startChild(workflowType, {
      workflowId,
      args: [args],
      // A drill stopped by force cancels its half, which undoes what it did; it never runs alone.
      parentClosePolicy: 'REQUEST_CANCEL',
      // A retried drill never runs a half again that completed, nor one that still runs.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: `DR drill of ${spec.environment}: ${name} ${from} -> ${to}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const why = `${workflowId} already ran or is running (a retried drill does not run a half twice)`;
    return drillFailed(
      view,
      status,
      name,
      why,
      { message: describeError(err) },
      `this run started nothing: see ${workflowId} for the state it left`,
    );
  }
  view[name] = { workflowId, runId: child.firstExecutionRunId, state: 'running' };
  const approving =
    spec.approval === 'drill'
      ? approvals
          .approveWhenWaiting({
            workflowId,
            runId: child.firstExecutionRunId,
            approve: { by: DRILL_APPROVER, note: `DR drill ${drillId}: the drill's own approval` },
          })
          .catch((err: unknown) => {
            if (isCancellation(err)) return; // the drill itself is being cancelled
            // The half keeps waiting: a human can still approve it.
            view.approvalProblem = `${describeError(err)}; approve it by hand: opsflow approve ${spec.environment}`;
          })
      : Promise.resolve();
  let result: R;
  try {
    result = (await child.result()) as R;
  } catch (err) {
    if (isCancellation(err)) {
      // The drill was cancelled and asked its half to stop: a half undoes what it did when cancelled.
      view[name] = { ...view[name]!, state: 'failed', failure: { message: 'cancelled with the drill' } };
      view.phase = 'failed';
      view.stateLeft = `cancelled during the ${name}, which undid what it had done (see ${workflowId}'s status)`;
      status.finish('cancelled');
      throw err;
    }
    const cause = err instanceof ChildWorkflowFailure && err.cause ? err.cause : err;
    const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
    return drillFailed(view, status, name, describeError(cause), { type, message: describeError(cause) });
  } finally {
    await approving;
  }
  view[name] = { ...view[name], state: 'completed', approval: result.approval, rto: result.rto, rpo: result.rpo };
  return result;
}

function drillFailed(
  view: DrDrillView,
  status: StatusTracker,
  name: DrillHalfName,
  why: string,
  childFailure: { type?: string; message: string },
  stateLeft: string = stateLeftAfter(view, name, childFailure.type),
): never {
  if (view[name]) view[name] = { ...view[name], state: 'failed', failure: childFailure };
  view.stateLeft = stateLeft;
  view.phase = 'failed';
  const message = `the ${name} half of the DR drill failed: ${why}; ${view.stateLeft}`;
  status.failed(message);
  throw failure(name === 'failover' ? STEP_FAILURE.DrillFailoverFailed : STEP_FAILURE.DrillFailbackFailed, message, {
    details: [{ half: name, failure: childFailure, stateLeft: view.stateLeft }],
  });
}

/** What a half that failed this way leaves, and what a human must do. */
function stateLeftAfter(view: DrDrillView, name: DrillHalfName, type: string | undefined): string {
  const { to, environment } = view;
  const undone = type !== undefined && NOTHING_LEFT.has(type);
  if (name === 'failover')
    return undone
      ? 'the failover changed nothing or undid all it changed: the databases and the split are as before the drill; no failback was needed'
      : `the failover may have left ${environment} part-way (see ${view.failover?.workflowId ?? 'its run'}'s status): no failback was tried; a human must look before failing back`;
  return undone
    ? `the failover still stands: ${to} takes all traffic and holds the primary; fail back by hand (opsflow failback ${environment} --input <file>) once the cause is fixed`
    : `the failback may have left ${environment} part-way (see ${view.failback?.workflowId ?? 'its run'}'s status): a human must look`;
}
