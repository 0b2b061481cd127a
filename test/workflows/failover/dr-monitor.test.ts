// drMonitor on the real parts (Temporal dev server, a MariaDB pair, the local cloud's Cloudflare
// API and edge, the worker probing fra1's front through a path the test can cut), probing every
// second, acting after 2 consecutive majority-down verdicts, continuing as new every 3 probes.
// A partition that hides fra1 from the worker alone: probe after probe one observer of three sees
// it down, nothing is started, the state carried through continue-as-new. Then fra1 goes dark (its
// primary stopped, its health 503): the monitor starts exactly one failoverSite under
// failover-stack-e-fra1, which waits for a human's approval; probes go on (fra1 still dark) and
// start nothing more; approved, london takes over. `opsflow dr status stack-e` (in-process, as the
// other CLI tests run it) shows nothing before the monitor, then the monitor's state, the failover
// it started with its RTO and RPO, and london serving. A start refused because a run already holds
// the failover's id is recorded, and nothing else starts. Held by counted probes, never by sleeps.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { failoverWorkflowId, drMonitorWorkflowId } from '../../../src/names/workflow-ids';
import type { DrMonitorInput } from '../../../src/specs/dr-monitor';
import type { DrMonitorView } from '../../../src/workflows/failover/dr-monitor-api';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import { captureCliOutput, opsflow, pointCliAt } from '../../helpers/in-process-cli';
import { orderCount } from '../../helpers/mariadb-servers';
import { startPartitionProxy, type PartitionProxy } from '../../helpers/partition-proxy';
import { uniqueTaskQueue, withWorker } from '../../helpers/temporal';
import { REPLICATION, startFailoverStage, until, type FailoverStage } from '../../helpers/failover-stage';

const taskQueue = uniqueTaskQueue('dr-monitor');
const MONITOR = drMonitorWorkflowId('stack-e');
const FAILOVER = failoverWorkflowId('stack-e', 'fra1');
let stage: FailoverStage;
let env: TestWorkflowEnvironment;
/** The worker's own path to fra1's front. */
let workerPath: PartitionProxy;

captureCliOutput();

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [81, 82], orders: 5 });
  env = stage.env;
  pointCliAt(env);
  workerPath = await startPartitionProxy(stage.origins[0]!.address, stage.origins[0]!.port);
}, 600_000);

afterAll(async () => {
  await env?.client.workflow
    .getHandle(MONITOR)
    .terminate('test over')
    .catch(() => undefined);
  await workerPath?.close();
  await stage?.stop();
});

function monitorInput(): DrMonitorInput {
  const { cloud, fra, lon } = stage;
  return {
    failover: {
      environment: 'stack-e',
      from: 'fra1',
      to: 'london',
      assess: {
        probe: { url: `http://${workerPath.address}:${workerPath.port}/health`, requests: 3, timeoutSeconds: 2 },
        replicaContactSeconds: 1,
      },
      cloudflare: stage.cloudflare(),
      loadBalancer: stage.loadBalancerRef(),
      databases: { fra1: fra.admin, london: lon.admin },
      replication: REPLICATION,
      verify: { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 20 },
    },
    intervalSeconds: 1,
    consecutiveDown: 2,
    cooldownSeconds: 3600,
    probesPerRun: 3,
  };
}

const status = () => env.client.workflow.getHandle(MONITOR).query<DrMonitorView>('status');

/** Waits until the monitor has made `n` probes in all. */
async function probesReach(n: number): Promise<DrMonitorView> {
  let seen: DrMonitorView | undefined;
  await until(`${n} probes`, async () => {
    seen = await status().catch(() => undefined);
    return (seen?.probes ?? 0) >= n;
  });
  return seen!;
}

async function failoverRuns(): Promise<string[]> {
  const runs: string[] = [];
  for await (const run of env.client.workflow.list({ query: `WorkflowType = 'failoverSite'` })) runs.push(run.runId);
  return runs;
}

test('one observer losing sight of fra1 (the worker cut off): probe after probe nothing is started, the state carried through continue-as-new', async () => {
  const before = await opsflow('dr', 'status', 'stack-e');
  expect(before.error).toBeUndefined();
  expect(before.out.split('\n')).toEqual([
    'DR of stack-e',
    `  monitor: none (no workflow ${MONITOR}; start drMonitor under that id, see the README's Failover section)`,
    '  last failover: none',
    '  last failback: none',
    '  serving: unknown (no inventory for stack-e)',
    '',
  ]);
  expect((await opsflow('dr', 'status', 'Stack_E')).error).toMatch(/Stack_E/);

  workerPath.cut();
  const seen = await withWorker(env, taskQueue, stage.activities(), async () => {
    await env.client.workflow.start('drMonitor', { taskQueue, workflowId: MONITOR, args: [monitorInput()] });
    return probesReach(5);
  });
  workerPath.heal();

  expect(seen).toMatchObject({
    environment: 'stack-e',
    site: 'fra1',
    survivor: 'london',
    phase: 'watching',
    consecutiveDown: 0,
    needed: 2,
  });
  expect(seen.runs).toBeGreaterThanOrEqual(2);
  expect(seen.failovers).toEqual([]);
  for (const v of seen.verdicts) {
    expect(v).toMatchObject({ down: 1, needed: 2, declaredDown: false });
    expect(v.observers.map((o) => o.verdict)).toEqual(['down', 'up', 'up']);
  }
  expect(workerPath.refused).toBeGreaterThanOrEqual(15);
  await expect(env.client.workflow.getHandle(FAILOVER).describe()).rejects.toThrow(WorkflowNotFoundError);
  expect(await failoverRuns()).toEqual([]);
  console.log(
    `partition: ${seen.probes} probes over ${seen.runs} runs, none declared fra1 down; last: ${JSON.stringify(seen.verdicts.at(-1)!.observers)}`,
  );
}, 600_000);

test('fra1 dark: after 2 majority-down probes exactly one failover starts and waits for approval; later probes start nothing; approved, london serves', async () => {
  stage.origins[0]!.healthStatus = 503;
  await stage.fra.stop();
  const out = await withWorker(env, taskQueue, stage.activities(), async () => {
    let started: DrMonitorView | undefined;
    await until('the monitor starts a failover', async () => {
      started = await status();
      return started.failovers.length > 0;
    });
    const failover = env.client.workflow.getHandle(FAILOVER);
    await until('the failover waits for approval', async () => {
      const s = await failover.query<FailoverStatus>('status').catch(() => undefined);
      return s?.failover?.phase === 'awaiting approval';
    });
    const waiting = await failover.query<FailoverStatus>('status');
    // Three more probes of a dark site while the failover waits: none starts another.
    const later = await probesReach(started!.probes + 3);
    const runsWhileWaiting = await failoverRuns();
    await failover.executeUpdate('approve', { args: [{ by: 'alice@ops', note: 'fra1 dark, drMonitor' }] });
    const result = (await failover.result()) as FailoverResult;
    const after = await probesReach(later.probes + 1);
    let dr = { out: '' } as Awaited<ReturnType<typeof opsflow>>;
    await until('dr status shows the failover with its RTO', async () => {
      dr = await opsflow('dr', 'status', 'stack-e');
      return dr.out.includes(' s from approval');
    });
    return { started: started!, waiting, later, runsWhileWaiting, result, after, runsAfter: await failoverRuns(), dr };
  });

  const [first] = out.started.failovers;
  expect(out.started.failovers).toHaveLength(1);
  expect(first).toMatchObject({ workflowId: FAILOVER, runId: expect.any(String), verdict: { declaredDown: true } });
  expect(first!.refused).toBeUndefined();
  // It acted on the 2nd majority-down verdict in a row, not the first.
  const downBefore = out.started.verdicts.filter((v) => v.at <= first!.at);
  expect(downBefore.slice(-2).every((v) => v.declaredDown)).toBe(true);
  expect(out.started.verdicts.filter((v) => v.declaredDown).length).toBeGreaterThanOrEqual(2);
  expect(out.waiting.failover.assessment).toMatchObject({ mode: 'emergency', declaredDown: true });

  expect(out.later).toMatchObject({ phase: 'cooling down', armed: false, failovers: [first] });
  expect(out.later.verdicts.at(-1)!.declaredDown).toBe(true);
  expect(out.runsWhileWaiting).toEqual([first!.runId]);
  expect(out.runsAfter).toEqual([first!.runId]);
  expect(out.after.failovers).toHaveLength(1);

  expect(out.result).toMatchObject({
    from: 'fra1',
    to: 'london',
    approval: { by: 'alice@ops' },
    traffic: { split: { fra1: 0, london: 100 } },
  });
  expect(await orderCount(stage.lon)).toBe(5);

  // opsflow dr status: the monitor, the failover it started with RTO and RPO, london serving.
  expect(out.dr.error).toBeUndefined();
  const lines = out.dr.out.split('\n');
  expect(lines[0]).toBe('DR of stack-e');
  expect(lines[1]).toMatch(
    new RegExp(`^  monitor ${MONITOR} \\(cooling down\\): probes fra1 every 1 s, survivor london; \\d+ probe\\(s\\) over \\d+ run\\(s\\)$`),
  );
  expect(lines[2]).toMatch(/^ {2}consecutive down: \d+ of 2 needed; disarmed until fra1 is seen up again; cooldown until \S+$/);
  expect(lines).toContain(`  failover started by the monitor at ${first!.at}: ${FAILOVER} (run ${first!.runId})`);
  expect(out.dr.out).toMatch(/ {2}probe \S+: [23] of 3 observers see fra1 down, 2 needed: declared down \(worker probes down, /);
  expect(out.dr.out).toMatch(
    new RegExp(
      `  last failover: ${FAILOVER} COMPLETED \\(completed\\), started \\S+, closed \\S+; RTO ${Math.ceil(out.result.rto.fromApprovalMs / 1000)} s from approval, ${out.result.rpo.lostTransactions === null ? 'RPO unknown' : `RPO ${out.result.rpo.lostTransactions} transaction\\(s\\) lost`}`,
    ),
  );
  expect(lines).toContain('  last failback: none');
  expect(out.dr.out).toMatch(
    new RegExp(`  serving: london takes all traffic \\(the failover fra1 -> london stands since \\S+, ${FAILOVER}\\)`),
  );
  console.log(`opsflow dr status:\n${out.dr.out}`);
  expect(await stage.through(20)).toEqual({ bySite: { london: 20 }, failed: {}, requests: 20 });
  console.log(
    `drMonitor: failover started at probe ${out.started.probes} (run ${out.started.runs}), ${out.later.probes - out.started.probes} probes later still one; RTO ${out.result.rto.fromApprovalMs} ms from approval, ${out.result.rto.fromStartMs} ms from the failover's start`,
  );
}, 600_000);

test('a failover start refused because its id is already running: recorded as refused, nothing else started, the monitor disarmed', async () => {
  // Another run holds failover-stack-e2-fra1 (any run will do: here an environment entity parked
  // under that id), as a human's `opsflow failover stack-e2` would; fra1 is still dark.
  const monitorId = drMonitorWorkflowId('stack-e2');
  const occupied = failoverWorkflowId('stack-e2', 'fra1');
  const input = monitorInput();
  input.failover.environment = 'stack-e2';
  const seen = await withWorker(env, taskQueue, stage.activities(), async () => {
    await env.client.workflow.start('environmentEntity', { taskQueue, workflowId: occupied, args: [{ environment: 'stack-e2' }] });
    await env.client.workflow.start('drMonitor', { taskQueue, workflowId: monitorId, args: [input] });
    const monitor = env.client.workflow.getHandle(monitorId);
    let view: DrMonitorView | undefined;
    await until('the monitor tries to start the failover', async () => {
      view = await monitor.query<DrMonitorView>('status');
      return view.failovers.length > 0;
    });
    const tried = view!;
    await until('two more probes', async () => (await monitor.query<DrMonitorView>('status')).probes >= tried.probes + 2);
    const after = await monitor.query<DrMonitorView>('status');
    await monitor.terminate('test over');
    await env.client.workflow.getHandle(occupied).terminate('test over');
    return after;
  });
  expect(seen.failovers).toHaveLength(1);
  expect(seen.failovers[0]).toMatchObject({
    workflowId: occupied,
    refused: `${occupied} is already running: a failover of fra1 is under way`,
    verdict: { declaredDown: true },
  });
  expect(seen.failovers[0]!.runId).toBeUndefined();
  expect(seen).toMatchObject({ armed: false, phase: 'cooling down' });
  const runs: string[] = [];
  for await (const run of env.client.workflow.list({ query: `WorkflowType = 'failoverSite' AND OpsEnvironment = 'stack-e2'` }))
    runs.push(run.runId);
  expect(runs).toEqual([]);
}, 600_000);
