// What a workflow run is doing, read from the server alone (describe and history), so it can be
// read while the worker is stopped: its running activity attempts with their inputs, and whether
// its first workflow task is on a worker. And afterwards: which attempts were retried.
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const TASK_STARTED = temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED;

export interface ActivityAttempt {
  workflowId: string;
  activityId: string;
  type: string;
  /** The activity's first argument (empty when it cannot be read, e.g. encrypted). */
  input: Body;
  attempt: number;
  /** Handed to a worker and not finished: the worker is running it. */
  started: boolean;
}

export interface RunLook {
  workflowId: string;
  running: boolean;
  /** The run's first workflow task is on a worker and has scheduled nothing yet. */
  firstTaskStarted: boolean;
  activities: ActivityAttempt[];
}

function firstArgument(payloads: temporal.api.common.v1.IPayload[] | null | undefined): Body {
  try {
    return payloads?.[0] ? (defaultPayloadConverter.fromPayload(payloads[0]) as Body) : {};
  } catch {
    return {};
  }
}

export async function lookAtRun(handle: WorkflowHandle): Promise<RunLook> {
  const description = await handle.describe();
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map<string, Body>();
  for (const event of events) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes?.activityId) scheduled.set(attributes.activityId, firstArgument(attributes.input?.payloads));
  }
  const activities = (description.raw.pendingActivities ?? []).map((pending) => ({
    workflowId: handle.workflowId,
    activityId: pending.activityId ?? '',
    type: pending.activityType?.name ?? '',
    input: scheduled.get(pending.activityId ?? '') ?? {},
    attempt: pending.attempt ?? 1,
    started: pending.state === STARTED,
  }));
  return {
    workflowId: handle.workflowId,
    running: description.status.name === 'RUNNING',
    firstTaskStarted: scheduled.size === 0 && description.raw.pendingWorkflowTask?.state === TASK_STARTED,
    activities,
  };
}

/** Each activity's last attempt number (activity id to attempt), from a run's history. */
export async function lastAttempts(handle: WorkflowHandle): Promise<Map<string, number>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const idOfEvent = new Map<string, string>();
  const attempts = new Map<string, number>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityId) idOfEvent.set(String(event.eventId), scheduled.activityId);
    const started = event.activityTaskStartedEventAttributes;
    if (started) attempts.set(idOfEvent.get(String(started.scheduledEventId)) ?? '?', started.attempt ?? 1);
  }
  return attempts;
}

/** True when the run's first workflow task timed out (its worker died) before any activity was scheduled. */
export async function firstTaskTimedOut(handle: WorkflowHandle): Promise<boolean> {
  for (const event of (await handle.fetchHistory()).events ?? []) {
    if (event.activityTaskScheduledEventAttributes) return false;
    if (event.workflowTaskTimedOutEventAttributes) return true;
  }
  return false;
}
