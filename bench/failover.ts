// Failover benchmark (issue 15), on the failover tests' stage (test/helpers/failover-stage.ts): the
// Temporal dev server, the local cloud's Cloudflare API and edge with www.stack-e.com split 50/50
// over a pool per site, two site origins, and a MariaDB pair really replicating (fra1 primary,
// london its replica). Each round runs, under a steady writer through the primary and a prober
// through the edge (a fresh connection per request):
//   - a planned switchover fra1 -> london, approved as soon as it waits, then failbackSite to 50/50;
//   - an emergency: fra1's primary stopped and its origin answering 503 to everything, failoverSite
//     in emergency mode once each observer's source sees it (the assessment declares it down),
//     approved as soon as it waits; then fra1 restarted and failed back.
// Measured per kind: RTO from approval and from detection to healthy traffic, RPO as rows the
// writer had acknowledged that the new primary lacks (and the run's own GTID count), requests
// failed during the switch, and the failover's time by step from its history.
// Run with `npm run bench` or `npx tsx bench/failover.ts`; writes bench/results/failover.md.
import type { WorkflowHandle } from '@temporalio/client';
import type { FailbackSiteInput } from '../src/specs/failback';
import type { FailoverSiteInput } from '../src/specs/failover';
import type { FailoverResult, FailoverStatus } from '../src/workflows/failover/failover-api';
import { REPLICATION, runActivity, startFailoverStage, until, type FailoverStage } from '../test/helpers/failover-stage';
import type { MariadbServer } from '../test/helpers/mariadb-servers';
import { uniqueTaskQueue, withWorker } from '../test/helpers/temporal';
import { APPROVAL_STEP, BUDGET_STEPS, runTimes, type RunTimes } from './failover-history';
import { longestWriteGapMs, onlyOnSiteSince, rowsPresent, startProber, startWriter, tally, type Probe } from './failover-load';
import { median, writeResults, type Row } from './harness';
import { provideTestSetup, removeTestFolders } from './test-setup';

const ROUNDS = Math.min(5, Math.max(1, Number(process.env.OPSFLOW_BENCH_FAILOVER_ROUNDS ?? 3)));
/** The goal for RTO from approval; the team's own target is 15 minutes. */
const GOAL_RTO_MS = 60_000;
const TEAM_TARGET_MS = 15 * 60_000;
const HOST = 'www.stack-e.com';
const taskQueue = uniqueTaskQueue('bench-failover');

type Kind = 'planned switchover' | 'emergency failover' | 'failback';

interface Switch {
  kind: Kind;
  round: number;
  /** The run's own record: approval to traffic verified on the survivor. */
  rtoFromApprovalMs: number;
  /** Detection (the first failed observation in an emergency; the run's start otherwise) to traffic verified. */
  rtoFromDetectionMs: number;
  /** Failovers: the prober seeing only the survivor from then on, from the approval (planned) or the fault (emergency). */
  edgeOnSurvivorMs?: number;
  /** The run's RPO from GTIDs. */
  lostTransactions: number | null;
  acknowledged: number;
  /** Acknowledged rows the new primary lacks. */
  lost: number;
  /** Rows present though their write was not acknowledged (a write cut off after its commit). */
  presentUnacknowledged: number;
  longestWriteGapMs: number;
  /** Requests the run made to the local cloud's APIs (Cloudflare's, here). */
  apiRequests: number;
  /** Probes in the steady state before the run (or the fault): the baseline. */
  before: { requests: number; failed: number };
  /** Probes from the fault to the approval (emergency only). */
  untilApproval?: { requests: number; failed: Record<string, number>; bySite: Record<string, number> };
  /** Probes from the approval to the run's close. */
  during: { requests: number; failed: Record<string, number>; bySite: Record<string, number> };
  times?: RunTimes;
  /** Emergency: the fault until each observer's source saw it (what a monitor waits for), and its first failed observation. */
  faultToObservedMs?: number;
  faultToFirstFailureMs?: number;
}

interface Run {
  kind: Kind;
  round: number;
  workflowType: 'failoverSite' | 'failbackSite';
  input: FailoverSiteInput | FailbackSiteInput;
  writeFirst: MariadbServer;
  newPrimary: MariadbServer;
  survivor: string;
  /** Breaks the old site and waits until its observers see it (emergency only); resolves when it broke. */
  fault?: () => Promise<{ faultAt: number; observedAt: number }>;
}

const count = (tallyOf: Record<string, number>) => Object.values(tallyOf).reduce((a, b) => a + b, 0);

function failoverInput(stage: FailoverStage, mode: 'planned' | 'emergency'): FailoverSiteInput {
  const front = stage.frontOf('fra1');
  return {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    requestedBy: 'bench@opsflow',
    mode,
    assess: { probe: { url: `http://${front.address}:${front.port}/health`, requests: 3, timeoutSeconds: 5 } },
    cloudflare: stage.cloudflare(),
    loadBalancer: stage.loadBalancerRef(),
    databases: { fra1: stage.fra.admin, london: stage.lon.admin },
    replication: REPLICATION,
    verify: { url: stage.cloud.cloudflare.edge.url, host: HOST, requests: 40 },
    rpo: { maxLostTransactions: 0 },
  };
}

function failbackInput(stage: FailoverStage): FailbackSiteInput {
  return {
    environment: 'stack-e',
    from: 'london',
    to: 'fra1',
    requestedBy: 'bench@opsflow',
    cloudflare: stage.cloudflare(),
    loadBalancer: stage.loadBalancerRef(),
    databases: { fra1: stage.fra.admin, london: stage.lon.admin },
    replication: REPLICATION,
    verify: { url: stage.cloud.cloudflare.edge.url, host: HOST, requests: 40 },
    // The writer keeps writing to london: caught up means within a few transactions (the promotion waits for the rest).
    catchUp: { timeoutSeconds: 60, intervalSeconds: 1, maxBehindTransactions: 5 },
    traffic: { mode: 'gradual', steps: [10, 25], holdSeconds: 1 },
  };
}

/** Starts the run, approves it as soon as it waits, and returns its handle once it ended (completed, or throws). */
async function runApproved(stage: FailoverStage, run: Run, workflowId: string): Promise<WorkflowHandle> {
  const handle = await stage.env.client.workflow.start(run.workflowType, { taskQueue, workflowId, args: [run.input] });
  const status = () => handle.query<FailoverStatus & { failback?: { phase: string } }>('status');
  await until(`${workflowId} waits for approval`, async () => {
    const s = await status();
    return (s.failover ?? s.failback)?.phase === 'awaiting approval' || s.outcome !== undefined;
  });
  await handle.executeUpdate('approve', { args: [{ by: 'bench@opsflow', note: run.kind }] });
  await handle.result().catch(async (err: Error & { cause?: Error }) => {
    throw new Error(`${workflowId} did not complete: ${err.cause?.message ?? err.message}; status ${JSON.stringify(await status())}`);
  });
  return handle;
}

/** One switch under the writer and the prober. */
async function measure(stage: FailoverStage, run: Run): Promise<Switch> {
  const tag = `${run.kind.split(' ')[0]}${run.round}`;
  const workflowId = `bench-${run.workflowType}-${tag}`;
  const writer = startWriter(tag, [stage.fra, stage.lon], run.writeFirst);
  const prober = startProber(stage.cloud.cloudflare.edge.url, HOST);
  const loadFrom = Date.now();
  let handle: WorkflowHandle;
  let broke: { faultAt: number; observedAt: number } | undefined;
  let probes: Probe[];
  let apiRequests = 0;
  try {
    await until('the writer writes', async () => writer.acknowledged.size >= 20);
    if (run.fault) broke = await run.fault();
    const since = stage.cloud.requestLog.total;
    handle = await runApproved(stage, run, workflowId);
    apiRequests = stage.cloud.requestLog.total - since;
    // The application writes again, on the new primary, before the loads stop.
    const acknowledged = writer.acknowledged.size;
    await until('the writer writes to the new primary', async () => writer.acknowledged.size >= acknowledged + 10);
  } finally {
    await writer.stop();
    probes = await prober.stop();
  }
  const times = await runTimes(handle);
  const result = (await handle.result()) as Pick<FailoverResult, 'rto' | 'rpo'>;
  const present = await rowsPresent(run.newPrimary, tag);
  const acked = [...writer.acknowledged.keys()];
  const steadyUntil = broke?.faultAt ?? times.startedAt;
  // A probe in flight at the fault belongs to the fault's side: the steady state is what was answered before it.
  const steady = tally(
    probes.filter((p) => p.doneAt < steadyUntil),
    loadFrom,
    steadyUntil,
  );
  const firstFailure = broke
    ? Math.min(...[...probes.filter((p) => p.failed).map((p) => p.at), ...writer.refusedAt].filter((at) => at >= broke.faultAt))
    : undefined;
  const onSurvivor = run.workflowType === 'failoverSite' ? onlyOnSiteSince(probes, run.survivor) : undefined;
  const during = tally(probes, times.approvedAt, times.closedAt);
  return {
    kind: run.kind,
    round: run.round,
    rtoFromApprovalMs: result.rto.fromApprovalMs,
    rtoFromDetectionMs: firstFailure !== undefined ? times.trafficVerifiedAt - firstFailure : result.rto.fromStartMs,
    ...(onSurvivor !== undefined ? { edgeOnSurvivorMs: onSurvivor - (broke?.faultAt ?? times.approvedAt) } : {}),
    lostTransactions: result.rpo.lostTransactions,
    acknowledged: acked.length,
    lost: acked.filter((note) => !present.has(note)).length,
    presentUnacknowledged: [...present].filter((note) => !writer.acknowledged.has(note)).length,
    longestWriteGapMs: longestWriteGapMs(writer),
    apiRequests,
    before: { requests: steady.requests, failed: count(steady.failed) },
    ...(broke
      ? {
          untilApproval: tally(
            probes.filter((p) => p.doneAt >= broke.faultAt),
            0,
            times.approvedAt,
          ),
        }
      : {}),
    during: { requests: during.requests, failed: during.failed, bySite: during.bySite },
    ...(run.workflowType === 'failoverSite' ? { times } : {}),
    ...(broke ? { faultToObservedMs: broke.observedAt - broke.faultAt, faultToFirstFailureMs: firstFailure! - broke.faultAt } : {}),
  };
}

/**
 * Polls Cloudflare's pool health every 500 ms (its monitor looks every second) until `healthy` is
 * what fra1's pool shows: a 100 ms poll would spend the API's 250 requests a minute the runs need.
 */
async function untilFra1Pool(stage: FailoverStage, healthy: boolean): Promise<void> {
  const acts = stage.activities();
  for (let polls = 0; ; polls++) {
    // A refused look (429 when the runs spent the budget) is looked at again.
    const health = await runActivity(() => acts.readPoolHealth({ cloudflare: stage.cloudflare(), loadBalancer: stage.lb })).catch(
      () => undefined,
    );
    if (health?.fra1!.healthy === healthy) return;
    if (polls > 240) throw new Error(`Cloudflare never saw fra1 ${healthy ? 'healthy' : 'unhealthy'}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** fra1 dark: its primary stopped, its origin answering 503; held until london's replica and Cloudflare see it. */
async function darkenFra1(stage: FailoverStage): Promise<{ faultAt: number; observedAt: number }> {
  const acts = stage.activities();
  const faultAt = Date.now();
  stage.frontOf('fra1').appStatus = 503;
  stage.frontOf('fra1').healthStatus = 503;
  await stage.fra.stop();
  await until('london lost fra1', async () => {
    const seen = await runActivity(() => acts.readReplication({ server: stage.lon.admin }));
    return seen.replica?.ioRunning !== 'Yes' && /Can't connect|Lost connection/.test(seen.replica?.lastIoError ?? '');
  });
  await untilFra1Pool(stage, false);
  return { faultAt, observedAt: Date.now() };
}

/** fra1 back: its primary started (a failback makes it london's replica), its origin healthy, its pool healthy at Cloudflare. */
async function restoreFra1(stage: FailoverStage): Promise<void> {
  await stage.fra.start();
  stage.frontOf('fra1').appStatus = 200;
  stage.frontOf('fra1').healthStatus = 200;
  await untilFra1Pool(stage, true);
}

function report(s: Switch): void {
  const { times, ...rest } = s;
  console.log(`${s.kind} ${s.round}: ${JSON.stringify({ ...rest, steps: times?.steps })}`);
}

const ms = (v: number) => `${v} ms`;
const each = (values: (number | string)[]) => values.join(', ');
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'met' : 'missed');
const kindRows = (switches: Switch[], kind: Kind): Switch[] => switches.filter((s) => s.kind === kind);

function rowsOf(switches: Switch[], kind: Kind): Row[] {
  const of = kindRows(switches, kind);
  const fromApproval = of.map((s) => s.rtoFromApprovalMs);
  const fromDetection = of.map((s) => s.rtoFromDetectionMs);
  const lost = of.map((s) => s.lost);
  const failedDuring = of.map((s) => count(s.during.failed));
  const detection = kind === 'emergency failover' ? 'the first failed observation' : "the run's start";
  const rows: Row[] = [
    {
      measure: `${kind}: RTO, approval to traffic verified on the survivor (median of ${of.length}; each ${each(fromApproval)} ms)`,
      value: ms(median(fromApproval)),
      target: `≤ ${GOAL_RTO_MS / 1000} s (team: ${TEAM_TARGET_MS / 60_000} min)`,
      verdict: verdict(Math.max(...fromApproval) <= GOAL_RTO_MS),
    },
    {
      measure: `${kind}: RTO, ${detection} to traffic verified (median; each ${each(fromDetection)} ms)`,
      value: ms(median(fromDetection)),
      target: `≤ ${TEAM_TARGET_MS / 60_000} min (team)`,
      verdict: verdict(Math.max(...fromDetection) <= TEAM_TARGET_MS),
    },
  ];
  const atEdge = of.filter((s) => s.edgeOnSurvivorMs !== undefined).map((s) => s.edgeOnSurvivorMs!);
  const edgeFrom = kind === 'emergency failover' ? "the fault (Cloudflare's monitor taking fra1's pool out, before any run)" : 'approval';
  if (atEdge.length)
    rows.push({
      measure: `${kind}: ${edgeFrom} to every probe through the edge answered by london (median; each ${each(atEdge)} ms)`,
      value: ms(median(atEdge)),
      verdict: 'info',
    });
  rows.push(
    {
      measure: `${kind}: RPO, rows acknowledged to the writer but absent from the new primary (of ${of.map((s) => s.acknowledged).join(', ')} acknowledged; each ${each(lost)})`,
      value: String(lost.reduce((a, b) => a + b, 0)),
      target: kind === 'emergency failover' ? '' : '0',
      verdict: kind === 'emergency failover' ? 'info' : verdict(lost.every((n) => n === 0)),
    },
    {
      measure: `${kind}: RPO the run recorded (transactions lost, from GTIDs; each)`,
      value: each(of.map((s) => (s.lostTransactions === null ? 'unknown' : String(s.lostTransactions)))),
      verdict: 'info',
    },
    {
      measure: `${kind}: requests failed through the edge from approval to the run's end (of ${of.map((s) => s.during.requests).join(', ')}; each ${each(failedDuring)}${describeFailures(of.map((s) => s.during.failed))})`,
      value: String(failedDuring.reduce((a, b) => a + b, 0)),
      baseline: `${of.reduce((n, s) => n + s.before.failed, 0)} of ${of.reduce((n, s) => n + s.before.requests, 0)} before`,
      target: '0',
      verdict: verdict(failedDuring.every((n) => n === 0)),
    },
    {
      measure: `${kind}: longest time the writer had no write acknowledged (median; each ${each(of.map((s) => s.longestWriteGapMs))} ms)`,
      value: ms(median(of.map((s) => s.longestWriteGapMs))),
      verdict: 'info',
    },
  );
  rows.push({
    measure: `${kind}: Cloudflare API requests the run made (each; the API allows 250 a minute)`,
    value: each(of.map((s) => s.apiRequests)),
    verdict: 'info',
  });
  const unacked = of.reduce((n, s) => n + s.presentUnacknowledged, 0);
  if (unacked)
    rows.push({
      measure: `${kind}: rows present whose write was not acknowledged (cut off after commit)`,
      value: String(unacked),
      verdict: 'info',
    });
  if (kind === 'emergency failover') {
    const untilApproval = of.map((s) => count(s.untilApproval!.failed));
    rows.push(
      {
        measure: `emergency: requests failed from the fault to the approval, fra1's 503s before Cloudflare's monitor took its pool out (of ${of.map((s) => s.untilApproval!.requests).join(', ')}; each ${each(untilApproval)}${describeFailures(of.map((s) => s.untilApproval!.failed))})`,
        value: String(untilApproval.reduce((a, b) => a + b, 0)),
        verdict: 'info',
      },
      {
        measure: `emergency: fault to its first failed observation (each ${each(of.map((s) => s.faultToFirstFailureMs!))} ms)`,
        value: ms(median(of.map((s) => s.faultToFirstFailureMs!))),
        verdict: 'info',
      },
      {
        measure: `emergency: fault to london's replica and Cloudflare both seeing fra1 down, when the run starts (each ${each(of.map((s) => s.faultToObservedMs!))} ms)`,
        value: ms(median(of.map((s) => s.faultToObservedMs!))),
        verdict: 'info',
      },
    );
  }
  return rows;
}

function describeFailures(tallies: Record<string, number>[]): string {
  const kinds: Record<string, number> = {};
  for (const t of tallies) for (const [k, n] of Object.entries(t)) kinds[k] = (kinds[k] ?? 0) + n;
  const text = Object.entries(kinds)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return text ? `: ${text}` : '';
}

/** What the emergency's RTO from approval went to when its fence of the stopped primary was retried. */
function fenceNote(switches: Switch[]): string[] {
  const emergency = kindRows(switches, 'emergency failover');
  const retried = emergency.filter((s) => s.times!.failed['fence the old primary'] !== undefined);
  if (!retried.length) return [];
  const fence = median(retried.map((s) => s.times!.steps['fence the old primary']!));
  const rest = median(retried.map((s) => s.rtoFromApprovalMs - s.times!.steps['fence the old primary']!));
  const planned = median(kindRows(switches, 'planned switchover').map((s) => s.rtoFromApprovalMs));
  return [
    `In ${retried.length} of ${emergency.length} emergencies the fence of the stopped primary took ${fence} ms (median) of the RTO from approval: fencePrimary's refused connection is DatabaseUnreachable, which is retryable, so it is tried ${retried[0]!.times!.failed['fence the old primary']} times (the run's retry policy: 1 s, then 2 s, then 4 s apart) before the run records the primary unreachable and promotes. The rest of the switch took ${rest} ms (median; the whole planned switchover ${planned} ms), though the assessment had already seen the primary gone.`,
  ];
}

/** The steps RTO from approval spans. */
const AFTER_APPROVAL = ['fence the old primary', 'promote the surviving replica', 'move traffic', 'verify traffic on the survivor'];

/** The failover's time by step, median of each kind's rounds, as a second table. */
function budgetTable(switches: Switch[]): string[] {
  const kinds: Kind[] = ['planned switchover', 'emergency failover'];
  const cell = (kind: Kind, step: string) => {
    const of = kindRows(switches, kind).filter((s) => s.times!.steps[step] !== undefined);
    const values = of.map((s) => s.times!.steps[step]!);
    const failed = of.map((s) => s.times!.failed[step]).filter((n) => n !== undefined);
    const failures = failed.length ? `; failed for good in ${failed.length} (after ${each(failed)} attempts)` : '';
    return values.length ? `${median(values)} (${each(values)})${failures}` : '';
  };
  // Approval to traffic verified less the steps in it: the workflow's own tasks and the retries' waits between them.
  const between = (kind: Kind) => {
    const values = kindRows(switches, kind).map((s) => {
      const t = s.times!;
      const inSteps = AFTER_APPROVAL.reduce((n, step) => n + (t.steps[step] ?? 0), 0);
      return t.trafficVerifiedAt - t.approvedAt - inSteps;
    });
    return `${median(values)} (${each(values)})`;
  };
  const activities = (step: string) => switches.find((s) => s.times?.activities[step])?.times!.activities[step]!.join(', ') ?? '';
  const emergency = kindRows(switches, 'emergency failover');
  return [
    "## Time budget by step (failoverSite, ms: median (each round)), from the run's history",
    '',
    '| step | activities | planned switchover | emergency failover |',
    '| --- | --- | --- | --- |',
    `| before the run: fault → london's replica and Cloudflare see fra1 down | (the benchmark waits, as a monitor would) |  | ${median(emergency.map((s) => s.faultToObservedMs!))} (${each(emergency.map((s) => s.faultToObservedMs!))}) |`,
    ...BUDGET_STEPS.map((step) => `| ${step} | ${activities(step)} | ${cell(kinds[0]!, step)} | ${cell(kinds[1]!, step)} |`),
    `| between the steps from approval to traffic verified | (workflow tasks) | ${between(kinds[0]!)} | ${between(kinds[1]!)} |`,
    `| RTO from approval (the run's record) | | ${median(kindRows(switches, kinds[0]!).map((s) => s.rtoFromApprovalMs))} | ${median(emergency.map((s) => s.rtoFromApprovalMs))} |`,
    '',
    `A step's time runs from its first activity scheduled to its last completed; "${APPROVAL_STEP}" from the survivor's check to the accepted \`approve\` Update (the benchmark approves as soon as the status says the run waits, polling every 100 ms). The time between steps is the workflow's own tasks.`,
    '',
  ];
}

async function main(): Promise<void> {
  await provideTestSetup();
  const stage = await startFailoverStage({ serverIds: [81, 82], orders: 5 });
  const switches: Switch[] = [];
  const take = (s: Switch) => {
    report(s);
    switches.push(s);
  };
  try {
    await withWorker(stage.env, taskQueue, stage.activities(), async () => {
      const failback = (round: number): Run => ({
        kind: 'failback',
        round,
        workflowType: 'failbackSite',
        input: failbackInput(stage),
        writeFirst: stage.lon,
        newPrimary: stage.fra,
        survivor: 'fra1',
      });
      for (let round = 1; round <= ROUNDS; round++) {
        const over = { workflowType: 'failoverSite' as const, writeFirst: stage.fra, newPrimary: stage.lon, survivor: 'london', round };
        take(await measure(stage, { ...over, kind: 'planned switchover', input: failoverInput(stage, 'planned') }));
        take(await measure(stage, failback(round * 2 - 1)));
        take(
          await measure(stage, {
            ...over,
            kind: 'emergency failover',
            input: failoverInput(stage, 'emergency'),
            fault: () => darkenFra1(stage),
          }),
        );
        await restoreFra1(stage);
        take(await measure(stage, failback(round * 2)));
      }
    });
  } finally {
    await stage.stop();
    removeTestFolders();
  }
  const file = writeResults(
    'failover',
    'Failover: RTO, RPO under a steady writer, requests failed during the switch, time by step',
    [...rowsOf(switches, 'planned switchover'), ...rowsOf(switches, 'emergency failover'), ...rowsOf(switches, 'failback')],
    [
      `${ROUNDS} rounds, each: a planned switchover fra1 → london, failbackSite back to 50/50, an emergency failover fra1 → london (fra1's MariaDB stopped by SIGTERM, its origin answering 503 to every request and its health check), fra1 restarted, and failbackSite again. Every run is approved by the \`approve\` Update as soon as its status says it waits.`,
      "The stage is the failover tests' (test/helpers/failover-stage.ts): Temporal's dev server, the local cloud's Cloudflare API and edge (site-per-pool load balancer, monitor every 1 s, 2 failures to mark a pool down), two site origins, a MariaDB primary/replica pair replicating by GTID; no Redis.",
      'The writer inserts one row at a time (the `mariadb` client as the `app` user, 20 ms apart) into whichever server takes it, trying the other on a refusal; every acknowledged row is looked up by name on the new primary after the run. The prober sends GETs through the edge in 4 loops, each one request after another 10 ms apart, every request on a new connection.',
      "RTO from approval is the run's own record (result, status, the OpsRtoSeconds search attribute): approval to the traffic sample through the edge all on the survivor. From detection: planned, the run's start; emergency, the first failed probe or refused write after the fault, to the same moment (the history's clock, this machine's). The baseline column counts the probes before the run (or the fault), in the steady 50/50 state.",
      ...fenceNote(switches),
    ],
    budgetTable(switches),
  );
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
