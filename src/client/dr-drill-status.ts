// The DR drill's part of `opsflow dr status <env>`: its schedule (when, paused, next run, the runs
// it started) and the last drill run with the worse half's RTO and RPO (from the run's search
// attributes, so a closed run needs no worker); a drill still running shows its phase and halves.
import type { Client } from '@temporalio/client';
import { drDrillScheduleId } from '../names/workflow-ids';
import type { DrDrillStatus, DrDrillView } from '../workflows/failover/dr-drill-api';
import { describeDrillSchedule } from './dr-drill';
import { lastRun, type SiteRun } from './dr-status';
import { seconds } from './site-operations';

export interface DrillReport {
  scheduleId: string;
  schedule?: { when: string; paused: boolean; nextRun?: string; recent: { workflowId: string; at: string }[]; skipped: number };
  last?: SiteRun & { view?: DrDrillView };
}

export async function drillReport(client: Client, environment: string): Promise<DrillReport> {
  const scheduleId = drDrillScheduleId(environment);
  const described = await describeDrillSchedule(client, environment);
  const last: DrillReport['last'] = await lastRun(client, environment, 'drDrill');
  if (last?.execution === 'RUNNING')
    last.view = await client.workflow
      .getHandle(last.workflowId)
      .query<DrDrillStatus>('status')
      .then((s) => s.drill)
      .catch(() => undefined);
  return {
    scheduleId,
    ...(described
      ? {
          schedule: {
            when: String((described.memo as { when?: string } | undefined)?.when ?? 'its own spec'),
            paused: described.state.paused,
            ...(described.info.nextActionTimes[0] ? { nextRun: described.info.nextActionTimes[0].toISOString() } : {}),
            recent: described.info.recentActions.map((a) => ({ workflowId: a.action.workflow.workflowId, at: a.takenAt.toISOString() })),
            skipped: described.info.numActionsSkippedOverlap,
          },
        }
      : {}),
    ...(last ? { last } : {}),
  };
}

/** Nothing when the environment has neither a drill schedule nor a drill run (most have none). */
export function drillLines(r: DrillReport): string[] {
  const s = r.schedule;
  if (!s && !r.last) return [];
  const lines = s
    ? [
        `drill schedule ${r.scheduleId}: ${s.when}${s.paused ? ' (paused)' : ''}${s.nextRun ? `, next ${s.nextRun}` : ''}; ${s.recent.length} recent run(s), ${s.skipped} skipped while one ran`,
      ]
    : [`drill schedule: none (make one with \`opsflow dr drill schedule <env> --input <file>\`)`];
  const last = r.last;
  if (!last) return [...lines, 'last drill: none'];
  const rto = last.rtoSeconds !== undefined ? `RTO ${last.rtoSeconds} s from approval (the worse half)` : 'no RTO recorded';
  const rpo = last.rpoTransactions !== undefined ? `RPO ${last.rpoTransactions} transaction(s) lost` : 'RPO unknown';
  lines.push(
    `last drill: ${last.workflowId} ${last.execution}${last.outcome ? ` (${last.outcome})` : ''}, started ${last.startTime}${last.closeTime ? `, closed ${last.closeTime}` : ''}; ${rto}, ${rpo}`,
  );
  const v = last.view;
  if (v) {
    lines.push(`  drill ${v.phase}: ${v.from} -> ${v.to} and back, approved by ${v.approval === 'drill' ? 'the drill' : 'a human'}`);
    for (const half of [v.failover, v.failback])
      if (half)
        lines.push(
          `  ${half.workflowId}: ${half.state}${half.rto ? `, RTO ${seconds(half.rto.fromApprovalMs)} from approval` : ''}${half.rpo ? `, RPO ${half.rpo.lostTransactions ?? 'unknown'} transaction(s)` : ''}`,
        );
    if (v.approvalProblem) lines.push(`  ${v.approvalProblem}`);
  }
  return lines;
}
