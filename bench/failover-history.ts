// A failoverSite run's time by step, read from its history (the server's clock, which is this
// machine's): each activity from scheduled to completed, grouped under the step that runs it, the
// wait for approval from the survivor's check to the accepted `approve` Update, and the moment
// traffic was verified on the survivor (the completion of the sample after the split moved).
import type { WorkflowHandle } from '@temporalio/client';

/** The step each activity a failover schedules belongs to, in the order the run takes them. */
const STEP_OF: Record<string, string> = {
  claimEnvironment: 'claim the environment',
  probeSiteFront: 'assess the failed site',
  observeReplicaView: 'assess the failed site',
  observePoolHealth: 'assess the failed site',
  readPoolHealth: 'check the surviving site',
  readReplication: 'check the surviving site',
  fencePrimary: 'fence the old primary',
  promoteReplica: 'promote the surviving replica',
  setTrafficSplit: 'move traffic',
  sampleTraffic: 'verify traffic on the survivor',
  verifyWrite: 'verify a write on the new primary',
};
export const APPROVAL_STEP = 'wait for approval';
const steps = [...new Set(Object.values(STEP_OF))];
/** Every step in the run's order, the approval wait after the survivor's check. */
export const BUDGET_STEPS = [...steps.slice(0, 3), APPROVAL_STEP, ...steps.slice(3)];

export interface RunTimes {
  /** ms per step: first activity scheduled to last closed (the approval wait: check done to Update accepted). */
  steps: Record<string, number>;
  /** Activity types per step, as the history names them. */
  activities: Record<string, string[]>;
  /** Steps whose activity failed for good, with the attempts it took (the fence of a dead primary). */
  failed: Record<string, number>;
  startedAt: number;
  approvedAt: number;
  /** The traffic sample after the split moved completed: traffic verified on the survivor. */
  trafficVerifiedAt: number;
  closedAt: number;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const eventMs = (e: HistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);

/** How an activity closed: completed, or failed or timed out after its last attempt. */
function closing(e: HistoryEvent): { scheduledEventId: string; failed: boolean } | undefined {
  const done = e.activityTaskCompletedEventAttributes;
  if (done) return { scheduledEventId: String(done.scheduledEventId), failed: false };
  const gone = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
  return gone ? { scheduledEventId: String(gone.scheduledEventId), failed: true } : undefined;
}

export async function runTimes(handle: WorkflowHandle): Promise<RunTimes> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map<string, { type: string; at: number; attempts: number }>();
  const spans: Record<string, { from: number; to: number }> = {};
  const activities: Record<string, string[]> = {};
  const failed: Record<string, number> = {};
  let checkedAt = 0;
  let approvedAt = 0;
  let trafficVerifiedAt = 0;
  for (const e of events) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) scheduled.set(String(e.eventId), { type, at: eventMs(e), attempts: 1 });
    // Recorded once the activity closes, with the attempt that closed it.
    const started = e.activityTaskStartedEventAttributes;
    if (started) scheduled.get(String(started.scheduledEventId))!.attempts = started.attempt ?? 1;
    if (e.workflowExecutionUpdateAcceptedEventAttributes && !approvedAt) approvedAt = eventMs(e);
    const closed = closing(e);
    if (!closed) continue;
    const activity = scheduled.get(closed.scheduledEventId)!;
    const step = STEP_OF[activity.type] ?? activity.type;
    const span = (spans[step] ??= { from: activity.at, to: eventMs(e) });
    span.to = eventMs(e);
    activities[step] = [...new Set([...(activities[step] ?? []), activity.type])];
    if (closed.failed) failed[step] = activity.attempts;
    if (step === 'check the surviving site') checkedAt = eventMs(e);
    if (activity.type === 'sampleTraffic' && !closed.failed) trafficVerifiedAt = eventMs(e);
  }
  const steps = Object.fromEntries(Object.entries(spans).map(([step, s]) => [step, s.to - s.from]));
  if (approvedAt && checkedAt) steps[APPROVAL_STEP] = approvedAt - checkedAt;
  activities[APPROVAL_STEP] = ['(approve Update)'];
  return {
    steps,
    activities,
    failed,
    startedAt: eventMs(events[0]!),
    approvedAt,
    trafficVerifiedAt,
    closedAt: eventMs(events.at(-1)!),
  };
}
