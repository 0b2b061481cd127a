// `opsflow dr drill schedule | run`: an environment's DR drill as a Temporal Schedule
// (dr-drill-<env>) that starts drDrill with the checked input, by default on the first Sunday of
// each month at 04:00 UTC (a calendar: Sunday AND day 1-7), overlap SKIP so a drill that still
// runs is never joined by a second. Scheduling again with the same file and time changes nothing
// else than what differs; `run` triggers the schedule now (overlap SKIP too) and says which run
// started, or that it was skipped because one still runs. As src/client/schedules.ts does, the
// schedule is read back from itself (describe), not from the eventually consistent list.
import { ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import { drDrillScheduleId } from '../names/workflow-ids';
import type { DrDrill } from '../specs/dr-drill';
import { OpsEnvironment, OpsOperation, OpsRequestedBy } from '../temporal/search-attributes';
import { TASK_QUEUE } from '../temporal/task-queues';

/** When the drill runs: the first Sunday of the month at 04:00 UTC, or a 5-field cron (UTC). */
export type DrillWhen = { calendar: 'first-sunday' } | { cron: string };

export const DRILL_CALENDARS = ['first-sunday'] as const;
const CRON = /^(\S+\s+){4}\S+$/;

/** The `--calendar` / `--cron` options as a DrillWhen; a bad one refused naming it. */
export function drillWhen(opts: { calendar?: string; cron?: string }): DrillWhen {
  if (opts.calendar !== undefined && opts.cron !== undefined) throw new Error('give --calendar or --cron, not both');
  if (opts.cron !== undefined) {
    if (!CRON.test(opts.cron.trim())) throw new Error(`--cron: "${opts.cron}" is not a 5-field cron expression such as "0 4 * * 0"`);
    return { cron: opts.cron.trim() };
  }
  const calendar = opts.calendar ?? 'first-sunday';
  if (!(DRILL_CALENDARS as readonly string[]).includes(calendar))
    throw new Error(`--calendar: ${calendar} is not a calendar opsflow knows (${DRILL_CALENDARS.join(', ')})`);
  return { calendar: 'first-sunday' };
}

export const describeWhen = (when: DrillWhen) =>
  'cron' in when ? `cron "${when.cron}" UTC` : 'the first Sunday of each month at 04:00 UTC';

function drillSpec(when: DrillWhen): ScheduleSpec {
  if ('cron' in when) return { cronExpressions: [when.cron], timezone: 'UTC' };
  // Every calendar field must match: a Sunday that is also one of the month's first seven days.
  return {
    calendars: [{ dayOfWeek: 'SUNDAY', dayOfMonth: { start: 1, end: 7 }, hour: 4, minute: 0 }],
    timezone: 'UTC',
  };
}

interface DrillMemo {
  managedBy: 'opsflow dr drill';
  environment: string;
  when: string;
}

/** Everything of the schedule that scheduling again may change. */
function scheduleBody(input: DrDrill, when: DrillWhen): Omit<ScheduleOptions, 'scheduleId' | 'memo'> {
  const scheduleId = drDrillScheduleId(input.environment);
  const { from, to } = input.failover;
  return {
    spec: drillSpec(when),
    action: {
      type: 'startWorkflow',
      workflowType: 'drDrill',
      workflowId: scheduleId,
      taskQueue: TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [
        { key: OpsOperation, value: 'dr drill' },
        { key: OpsEnvironment, value: input.environment },
        { key: OpsRequestedBy, value: `schedule ${scheduleId}` },
      ],
      memo: { environment: input.environment, operation: 'dr drill', requestedBy: `schedule ${scheduleId}` },
      staticSummary: `DR drill of ${input.environment}: ${from} -> ${to} and back`,
      staticDetails: `**DR drill** of environment **${input.environment}** by schedule ${scheduleId}, ${describeWhen(when)}; approved by ${input.approval === 'drill' ? 'the drill itself' : 'a human'}`,
    },
    // A drill still running (waiting for a human, say) is never joined by a second one.
    policies: { overlap: 'SKIP', catchupWindow: '1 hour' },
  };
}

export async function describeDrillSchedule(client: Client, environment: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(drDrillScheduleId(environment)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Creates the environment's drill schedule, or updates it to this input and time; says which. */
export async function scheduleDrill(client: Client, input: DrDrill, when: DrillWhen): Promise<'created' | 'updated'> {
  const scheduleId = drDrillScheduleId(input.environment);
  const memo: DrillMemo = { managedBy: 'opsflow dr drill', environment: input.environment, when: describeWhen(when) };
  const body = scheduleBody(input, when);
  if (!(await describeDrillSchedule(client, input.environment))) {
    await client.schedule.create({ scheduleId, ...body, memo: memo as unknown as Record<string, unknown> });
    return 'created';
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, ...body }));
  return 'updated';
}

export type DrillTrigger = { started: { workflowId: string; runId: string } } | { skipped: { running: string[] } };

/**
 * Triggers the schedule now with overlap SKIP, then reads it back until the trigger shows: a new
 * recent action (the run it started) or one more skip (a drill still runs). The schedule decides
 * asynchronously, so this polls its description, up to `waitMs`.
 */
export async function runDrillNow(client: Client, environment: string, waitMs = 30_000): Promise<DrillTrigger> {
  const before = await describeDrillSchedule(client, environment);
  if (!before)
    throw new Error(
      `no DR drill schedule for ${environment} (no schedule ${drDrillScheduleId(environment)}); make one with \`opsflow dr drill schedule ${environment} --input <file>\``,
    );
  const handle = client.schedule.getHandle(drDrillScheduleId(environment));
  const known = new Set(before.info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  await handle.trigger('SKIP');
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const now = await handle.describe();
    const started = now.info.recentActions.find((a) => !known.has(a.action.workflow.firstExecutionRunId));
    if (started) return { started: { workflowId: started.action.workflow.workflowId, runId: started.action.workflow.firstExecutionRunId } };
    if (now.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap)
      return { skipped: { running: now.info.runningActions.map((a) => a.workflow.workflowId) } };
  }
  throw new Error(`triggered ${drDrillScheduleId(environment)}, but after ${waitMs / 1000} s it shows neither a new run nor a skip`);
}
