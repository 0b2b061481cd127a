// drMonitor: watches one site of a two-site environment for as long as it runs, and starts an
// emergency failoverSite when the site stays down. Every interval it looks through the same three
// observers as the failover's assessment (observe-site.ts) and takes the majority's verdict. It
// acts only after `consecutiveDown` majority-down verdicts in a row (one bad probe is not an
// outage), never during the cooldown after a failover it started, and only once per outage: after
// starting a failover it stays disarmed until a probe sees the site up again. The failover is a
// child under the id a human's `opsflow failover` uses (failover-<env>-<site>) with ABANDON as its
// parent close policy: while one runs, a second start is refused (recorded, nothing runs twice),
// and it outlives the monitor's continue-as-new. The failover then waits for approval as its input's
// policy says. After `probesPerRun` probes the monitor continues as new, carrying its state.
import { continueAsNew, setHandler, sleep, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { failoverWorkflowId } from '../../names/workflow-ids';
import { parseDrMonitorInput, type DrMonitor, type DrMonitorInput } from '../../specs/dr-monitor';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { validated } from '../shared/validated';
import type { SiteAssessment } from './assessment';
import {
  drMonitorStatusQuery,
  KEPT_FAILOVERS,
  KEPT_VERDICTS,
  type DrMonitorState,
  type DrMonitorView,
  type MonitorFailover,
  type MonitorVerdict,
} from './dr-monitor-api';
import { observeSite } from './observe-site';

const FIRST_STATE: DrMonitorState = { probes: 0, runs: 0, consecutiveDown: 0, armed: true, verdicts: [], failovers: [] };

export async function drMonitor(input: DrMonitorInput, carried?: DrMonitorState): Promise<never> {
  const spec = validated('input', parseDrMonitorInput, input);
  const state: DrMonitorState = { ...(carried ?? FIRST_STATE), runs: (carried?.runs ?? 0) + 1 };
  let probesThisRun = 0;
  setHandler(drMonitorStatusQuery, () => view(spec, state, probesThisRun));
  upsertSearchAttributes([
    { key: OpsEnvironment, value: spec.failover.environment },
    { key: OpsOperation, value: 'dr monitor' },
  ]);
  for (;;) {
    const assessment = await observeSite({ ...spec.failover, mode: 'emergency' });
    probesThisRun++;
    const verdict = record(state, assessment);
    if (!assessment.declaredDown) state.armed = true;
    if (state.armed && !coolingDown(state) && state.consecutiveDown >= spec.consecutiveDown)
      await startFailover(input, spec, state, verdict);
    await sleep(spec.intervalSeconds * 1000);
    // After the sleep, so the next run's first probe keeps the interval.
    if (probesThisRun >= spec.probesPerRun || workflowInfo().continueAsNewSuggested) await continueAsNew<typeof drMonitor>(input, state);
  }
}

function record(state: DrMonitorState, a: SiteAssessment): MonitorVerdict {
  const verdict: MonitorVerdict = {
    at: new Date().toISOString(),
    down: a.down,
    needed: a.needed,
    declaredDown: a.declaredDown,
    observers: a.observers.map((o) => ({ observer: o.observer, verdict: o.verdict, saw: o.saw })),
  };
  state.probes++;
  state.consecutiveDown = a.declaredDown ? state.consecutiveDown + 1 : 0;
  state.verdicts = [...state.verdicts, verdict].slice(-KEPT_VERDICTS);
  return verdict;
}

const coolingDown = (state: DrMonitorState) => state.cooldownUntil !== undefined && Date.now() < Date.parse(state.cooldownUntil);

/** Starts the emergency failover (or records why it could not); either way the monitor disarms and cools down. */
async function startFailover(input: DrMonitorInput, spec: DrMonitor, state: DrMonitorState, verdict: MonitorVerdict): Promise<void> {
  const workflowId = failoverWorkflowId(spec.failover.environment, spec.failover.from);
  const at = new Date().toISOString();
  let started: MonitorFailover;
  try {
    const child = await startChild('failoverSite', {
      workflowId,
      args: [{ ...input.failover, mode: 'emergency', requestedBy: input.failover.requestedBy ?? `drMonitor ${workflowInfo().workflowId}` }],
      parentClosePolicy: 'ABANDON',
      staticSummary: `emergency failover of ${spec.failover.environment}: ${spec.failover.from} -> ${spec.failover.to}, started by drMonitor`,
    });
    started = { workflowId, runId: child.firstExecutionRunId, at, verdict };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    started = { workflowId, at, verdict, refused: `${workflowId} is already running: a failover of ${spec.failover.from} is under way` };
  }
  state.failovers = [...state.failovers, started].slice(-KEPT_FAILOVERS);
  state.armed = false;
  state.consecutiveDown = 0;
  state.cooldownUntil = new Date(Date.now() + spec.cooldownSeconds * 1000).toISOString();
}

function view(spec: DrMonitor, state: DrMonitorState, probesThisRun: number): DrMonitorView {
  return {
    ...(JSON.parse(JSON.stringify(state)) as DrMonitorState),
    environment: spec.failover.environment,
    site: spec.failover.from,
    survivor: spec.failover.to,
    phase: coolingDown(state) ? 'cooling down' : state.armed ? 'watching' : 'disarmed',
    probesThisRun,
    probesPerRun: spec.probesPerRun,
    needed: spec.consecutiveDown,
    intervalSeconds: spec.intervalSeconds,
  };
}
