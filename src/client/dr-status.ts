// `opsflow dr status <env>`: an environment's disaster recovery at a glance. The DR monitor
// (dr-monitor-<env>): what it watches, its last verdicts, the consecutive count, the cooldown and
// the failovers it started; the last failover and failback with their RTO and RPO, read from the
// runs' search attributes (so a closed run needs no worker to answer); and which site serves, as
// the environment's inventory records the standing failover. Reads only; prints no secret.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { drMonitorWorkflowId } from '../names/workflow-ids';
import { OpsOutcome, OpsRpoTransactions, OpsRtoSeconds } from '../temporal/search-attributes';
import type { StandingFailover } from '../workflows/environment/inventory';
import type { DrMonitorView, MonitorVerdict } from '../workflows/failover/dr-monitor-api';
import { drillLines, drillReport, type DrillReport } from './dr-drill-status';
import { findInventory } from './environments';

export interface SiteRun {
  workflowId: string;
  execution: string;
  startTime: string;
  closeTime?: string;
  outcome?: string;
  rtoSeconds?: number;
  rpoTransactions?: number;
}

export interface DrStatusReport {
  environment: string;
  monitor: { workflowId: string; execution?: string; view?: DrMonitorView; error?: string };
  lastFailover?: SiteRun;
  lastFailback?: SiteRun;
  /** Whether the environment's inventory was found, and the failover standing in it. */
  inventory: boolean;
  standing?: StandingFailover;
  drill?: DrillReport;
}

/** Gathers the report; `environment` must already be a checked environment name (it goes into a list query). */
export async function drStatus(client: Client, environment: string): Promise<DrStatusReport> {
  const workflowId = drMonitorWorkflowId(environment);
  const monitor: DrStatusReport['monitor'] = { workflowId };
  try {
    const handle = client.workflow.getHandle(workflowId);
    monitor.execution = (await handle.describe()).status.name;
    if (monitor.execution === 'RUNNING') monitor.view = await handle.query<DrMonitorView>('status');
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) monitor.error = err instanceof Error ? err.message : String(err);
  }
  const inventory = await findInventory(client, environment);
  return {
    environment,
    monitor,
    ...optional('lastFailover', await lastRun(client, environment, 'failoverSite')),
    ...optional('lastFailback', await lastRun(client, environment, 'failbackSite')),
    inventory: inventory !== undefined,
    ...optional('standing', inventory?.failover),
    drill: await drillReport(client, environment),
  };
}

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

export async function lastRun(
  client: Client,
  environment: string,
  type: 'failoverSite' | 'failbackSite' | 'drDrill',
): Promise<SiteRun | undefined> {
  let newest: SiteRun | undefined;
  for await (const run of client.workflow.list({ query: `OpsEnvironment = '${environment}' AND WorkflowType = '${type}'` })) {
    const candidate: SiteRun = {
      workflowId: run.workflowId,
      execution: run.status.name,
      startTime: run.startTime.toISOString(),
      ...optional('closeTime', run.closeTime?.toISOString()),
      ...optional('outcome', run.typedSearchAttributes.get(OpsOutcome)),
      ...optional('rtoSeconds', run.typedSearchAttributes.get(OpsRtoSeconds)),
      ...optional('rpoTransactions', run.typedSearchAttributes.get(OpsRpoTransactions)),
    };
    if (!newest || candidate.startTime > newest.startTime) newest = candidate;
  }
  return newest;
}

export function formatDrStatus(r: DrStatusReport): string {
  const lines = [
    ...monitorLines(r),
    ...runLines('failover', r.lastFailover),
    ...runLines('failback', r.lastFailback),
    ...(r.drill ? drillLines(r.drill) : []),
    servingLine(r),
  ];
  return [`DR of ${r.environment}`, ...lines.map((line) => `  ${line}`)].join('\n');
}

function monitorLines(r: DrStatusReport): string[] {
  const { monitor, environment } = r;
  if (monitor.error) return [`monitor ${monitor.workflowId}: could not be read (${monitor.error})`];
  if (!monitor.execution)
    return [`monitor: none (no workflow ${monitor.workflowId}; start drMonitor under that id, see the README's Failover section)`];
  if (!monitor.view) return [`monitor ${monitor.workflowId}: ${monitor.execution} (not watching ${environment})`];
  const v = monitor.view;
  const lines = [
    `monitor ${monitor.workflowId} (${v.phase}): probes ${v.site} every ${v.intervalSeconds} s, survivor ${v.survivor}; ${v.probes} probe(s) over ${v.runs} run(s)`,
    `consecutive down: ${v.consecutiveDown} of ${v.needed} needed${v.armed ? '' : `; disarmed until ${v.site} is seen up again`}${v.cooldownUntil ? `; cooldown until ${v.cooldownUntil}` : ''}`,
  ];
  for (const verdict of v.verdicts.slice(-3)) lines.push(`probe ${verdict.at}: ${describeVerdict(v.site, verdict)}`);
  for (const f of v.failovers)
    lines.push(
      f.refused
        ? `failover not started at ${f.at}: ${f.refused}`
        : `failover started by the monitor at ${f.at}: ${f.workflowId} (run ${f.runId})`,
    );
  return lines;
}

function describeVerdict(site: string, v: MonitorVerdict): string {
  const views = v.observers.map((o) => `${o.observer} ${o.verdict}`).join(', ');
  return `${v.down} of ${v.observers.length} observers see ${site} down, ${v.needed} needed${v.declaredDown ? ': declared down' : ''} (${views})`;
}

function runLines(kind: 'failover' | 'failback', run: SiteRun | undefined): string[] {
  if (!run) return [`last ${kind}: none`];
  const rto = run.rtoSeconds !== undefined ? `RTO ${run.rtoSeconds} s from approval` : 'no RTO recorded';
  // A failover from a dead primary may not know its last position: then the transactions lost are unknown.
  const rpo = run.rpoTransactions !== undefined ? `RPO ${run.rpoTransactions} transaction(s) lost` : 'RPO unknown';
  return [
    `last ${kind}: ${run.workflowId} ${run.execution}${run.outcome ? ` (${run.outcome})` : ''}, started ${run.startTime}${run.closeTime ? `, closed ${run.closeTime}` : ''}; ${rto}, ${rpo}`,
  ];
}

function servingLine(r: DrStatusReport): string {
  if (!r.inventory) return `serving: unknown (no inventory for ${r.environment})`;
  if (r.standing)
    return `serving: ${r.standing.to} takes all traffic (the failover ${r.standing.from} -> ${r.standing.to} stands since ${r.standing.at}, ${r.standing.workflowId})`;
  return 'serving: every site at its usual split (no failover stands)';
}
