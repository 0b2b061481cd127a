// drDrill on its Schedule, on the real parts (failover-stage: Temporal dev server, the local cloud's
// Cloudflare API and edge, a MariaDB pair really replicating). The schedule is made through the
// CLI (`opsflow dr drill schedule`) and triggered with the pinned `temporal` CLI binary
// (`temporal schedule trigger`). The drill approves itself: a planned failover fra1 -> london,
// then the failback to 50/50, each a child whose RTO and RPO the drill collects; while the
// failback's approval is held by a gate, london serves every request and is the primary. A writer
// writes rows through the whole drill: every acknowledged one is there after (RPO 0 both ways).
// Then a drill a human must approve holds the environment (a failback started by hand is refused
// as busy), and a second trigger while it waits is skipped (overlap SKIP), counted by the schedule.
// A failed half ends the drill named, with the state it left: a failover onto the primary changes
// nothing and no failback follows; a failback whose traffic switch Cloudflare refuses leaves the
// failover standing (london primary, all traffic), failed back by hand after. A drill cancelled
// (`temporal workflow cancel`) while its failover waits cancels the failover: nothing changed. A
// drill run again under the same id (as a retry is) starts neither half again.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { readTrafficSplit } from '../../../src/integrations/cloudflare/load-balancing';
import type { DrDrillInput } from '../../../src/specs/dr-drill';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { DrDrillResult, DrDrillStatus } from '../../../src/workflows/failover/dr-drill-api';
import type { FailbackStatus } from '../../../src/workflows/failover/failback-api';
import type { FailoverStatus } from '../../../src/workflows/failover/failover-api';
import type { Inventory } from '../../../src/workflows/environment/inventory';
import { REPLICATION, rtoRpoAttributes, startFailoverStage, until, type FailoverStage } from '../../helpers/failover-stage';
import { captureCliOutput, opsflow, pointCliAt } from '../../helpers/in-process-cli';
import { appWrite, orderCount } from '../../helpers/mariadb-servers';
import { startSiteWriter } from '../../helpers/site-writer';
import { tempDir } from '../../helpers/temp';
import { temporalCliPath, withWorker, workflowBundlePath } from '../../helpers/temporal';

captureCliOutput();
const run = promisify(execFile);
const SCHEDULE = 'dr-drill-stack-e';
let stage: FailoverStage;
let env: TestWorkflowEnvironment;
let dir: string;
/** Rows fra1 holds before the drills: 5 at the start. */
let rowsBefore = 5;

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [91, 92], orders: 5 });
  env = stage.env;
  pointCliAt(env);
  dir = tempDir('dr-drill');
}, 600_000);
afterAll(async () => stage?.stop());

function drillInput(approval: 'drill' | 'human'): DrDrillInput {
  const common = {
    environment: 'stack-e',
    cloudflare: stage.cloudflare(),
    loadBalancer: stage.loadBalancerRef(),
    databases: { fra1: stage.fra.admin, london: stage.lon.admin },
    replication: REPLICATION,
    verify: { url: stage.cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40 },
  };
  return {
    environment: 'stack-e',
    approval,
    failover: { ...common, from: 'fra1', to: 'london' },
    // The writer keeps writing to london: caught up within a few transactions (the promotion waits for the rest).
    failback: { ...common, from: 'london', to: 'fra1', catchUp: { timeoutSeconds: 60, intervalSeconds: 1, maxBehindTransactions: 5 } },
  };
}

function inputFile(approval: 'drill' | 'human'): string {
  const file = path.join(dir, `drill-${approval}.json`);
  writeFileSync(file, JSON.stringify(drillInput(approval)));
  return file;
}

async function temporal(...args: string[]): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [...args, '--address', env.address, '--namespace', env.namespace ?? 'default']);
  return stdout;
}

const schedule = () => env.client.schedule.getHandle(SCHEDULE).describe();

/** The drill run the schedule started after the `known` ones (read back from the schedule itself). */
async function nextDrillRun(known: number): Promise<{ workflowId: string; runId: string }> {
  await until('the schedule lists the run it started', async () => (await schedule()).info.recentActions.length > known);
  const action = (await schedule()).info.recentActions[known]!.action.workflow;
  return { workflowId: action.workflowId, runId: action.firstExecutionRunId };
}

async function phaseOf(workflowId: string): Promise<string | undefined> {
  const s = await env.client.workflow.getHandle(workflowId).query<FailoverStatus & FailbackStatus>('status');
  return (s.failover ?? s.failback)?.phase;
}

/** The stage's activities, with the drill's approval of its failback half held until openGate(). */
function holdingFailbackApproval() {
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const base = stage.activities();
  const activities = {
    ...base,
    approveWhenWaiting: async (input: Parameters<typeof base.approveWhenWaiting>[0]) => {
      if (input.workflowId.endsWith('-failback')) await gate;
      return base.approveWhenWaiting(input);
    },
  };
  return { activities, openGate: () => openGate() };
}

test('the schedule triggered from the temporal CLI runs a drill: fra1 -> london and back to 50/50, RTO and RPO 0 recorded for both halves', async () => {
  const made = await opsflow('dr', 'drill', 'schedule', 'stack-e', '--input', inputFile('drill'));
  expect(made.error).toBeUndefined();
  expect(made.out).toContain(
    `created schedule ${SCHEDULE}: drDrill of stack-e (fra1 -> london and back), the first Sunday of each month at 04:00 UTC, overlap skip`,
  );
  const described = await schedule();
  expect(described.policies.overlap).toBe('SKIP');
  expect(described.spec.calendars).toEqual([
    expect.objectContaining({
      dayOfWeek: [{ start: 'SUNDAY', end: 'SUNDAY', step: 1 }],
      dayOfMonth: [{ start: 1, end: 7, step: 1 }],
      hour: [{ start: 4, end: 4, step: 1 }],
      minute: [{ start: 0, end: 0, step: 1 }],
    }),
  ]);
  expect(described.info.nextActionTimes[0]!.getUTCDay()).toBe(0);
  expect(described.info.nextActionTimes[0]!.getUTCDate()).toBeLessThanOrEqual(7);

  // The failback's approval waits at this gate, so the switched state is seen by construction.
  const { activities, openGate } = holdingFailbackApproval();

  const writer = startSiteWriter(stage);
  await until('the writer wrote', async () => writer.state.rows > 3);
  const { drill, result, during, final, history } = await withWorker(env, TASK_QUEUE, activities, async () => {
    await temporal('schedule', 'trigger', '--schedule-id', SCHEDULE);
    const drill = await nextDrillRun(0);
    const failback = `${drill.workflowId}-failback`;
    await until('the failback waits for approval', async () => (await phaseOf(failback).catch(() => undefined)) === 'awaiting approval');
    const during = {
      sample: await stage.through(100),
      split: await readTrafficSplit(stage.cf, stage.lb),
      londonWrites: await appWrite(stage.lon, 'london is the primary').then(() => true),
      fraRefuses: await appWrite(stage.fra, 'fra1 is fenced').then(
        () => false,
        (e: Error) => /read-only/.test(e.message),
      ),
      status: await env.client.workflow.getHandle(drill.workflowId).query<DrDrillStatus>('status'),
      dr: await opsflow('dr', 'status', 'stack-e'),
    };
    openGate();
    const handle = env.client.workflow.getHandle(drill.workflowId, drill.runId);
    const result = await handle.result();
    const final = await handle.query<DrDrillStatus>('status');
    return { drill, result: result as DrDrillResult, during, final, history: await handle.fetchHistory() };
  });

  // During the switchover: london takes every request and every write, fra1 refuses them.
  expect(during.sample).toEqual({ bySite: { london: 100 }, failed: {}, requests: 100 });
  expect(during.split).toEqual({ fra1: 0, london: 100 });
  expect(during.londonWrites).toBe(true);
  expect(during.fraRefuses).toBe(true);
  expect(during.status.drill).toMatchObject({ phase: 'failing back', failover: { state: 'completed' }, failback: { state: 'running' } });
  expect(during.dr.out).toContain(`last drill: ${drill.workflowId} RUNNING`);
  expect(during.dr.out).toContain(`drill schedule ${SCHEDULE}: the first Sunday of each month at 04:00 UTC`);

  // The result: both halves approved by the drill, RPO 0 each way, RTO measured for each.
  expect(drill.workflowId).toMatch(/^dr-drill-stack-e-/);
  expect(result).toMatchObject({
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    failover: { workflowId: `${drill.workflowId}-failover`, approval: { by: 'drill-policy' }, rpo: { lostTransactions: 0 } },
    failback: {
      workflowId: `${drill.workflowId}-failback`,
      approval: { by: 'drill-policy' },
      rpo: { lostTransactions: 0 },
      split: { fra1: 50, london: 50 },
    },
    worst: { lostTransactions: 0 },
  });
  for (const half of [result.failover, result.failback]) {
    expect(half.rto.fromApprovalMs).toBeGreaterThan(0);
    expect(half.rto.fromStartMs).toBeGreaterThanOrEqual(half.rto.fromApprovalMs);
  }
  expect(result.worst.rtoFromApprovalMs).toBe(Math.max(result.failover.rto.fromApprovalMs, result.failback.rto.fromApprovalMs));
  const attrs = await rtoRpoAttributes(
    env.client,
    drill.workflowId,
    `WorkflowType = 'drDrill' AND OpsRpoTransactions = 0 AND OpsRtoSeconds < 900`,
  );
  expect(attrs).toMatchObject({
    rtoSeconds: Math.ceil(result.worst.rtoFromApprovalMs / 1000),
    rpoTransactions: 0,
    listed: [drill.workflowId],
  });
  expect(final.drill).toMatchObject({ phase: 'completed', failover: { state: 'completed' }, failback: { state: 'completed' } });
  expect(final.completedSteps).toEqual(['fail over', 'fail back']);

  // After: 50/50, fra1 the writable primary, london its read-only replica.
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 50, london: 50 });
  const after = await stage.through(200);
  expect(after.failed).toEqual({});
  expect(after.bySite.fra1).toBeGreaterThan(0);
  expect(after.bySite.london).toBeGreaterThan(0);
  await until('the writer writes to fra1 again', async () => {
    const rows = writer.state.rows;
    await new Promise((r) => setTimeout(r, 300));
    return writer.state.rows > rows;
  });
  await writer.stop();
  await expect(appWrite(stage.lon, 'on the replica')).rejects.toThrow(/read-only/);
  // Every acknowledged row is on fra1 and reaches london: 5 orders, the one written on london mid-drill, the writer's.
  rowsBefore += 1 + writer.state.rows;
  expect(await orderCount(stage.fra)).toBe(rowsBefore);
  await until('london has every row', async () => (await orderCount(stage.lon).catch(() => 0)) === rowsBefore);

  // The schedule lists the run; the run replays against the current code.
  expect((await schedule()).info.recentActions.map((a) => a.action.workflow.workflowId)).toEqual([drill.workflowId]);
  await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, history, drill.workflowId);
  const dr = await opsflow('dr', 'status', 'stack-e');
  expect(dr.out).toContain(`last drill: ${drill.workflowId} COMPLETED (completed)`);
  expect(dr.out).toContain('serving: every site at its usual split (no failover stands)');
  console.log(`${made.out}$ opsflow dr status stack-e\n${dr.out}`);
  console.log(
    `DR drill ${drill.workflowId}: failover RTO ${result.failover.rto.fromApprovalMs} ms from approval (${result.failover.rto.fromStartMs} ms from its start), failback RTO ${result.failback.rto.fromApprovalMs} ms (${result.failback.rto.fromStartMs} ms), RPO ${result.failover.rpo.lostTransactions}/${result.failback.rpo.lostTransactions}; writer ${writer.state.rows} rows acknowledged, ${writer.state.refused} refused, none lost`,
  );
}, 900_000);

test('a drill a human approves holds the environment; a second trigger while it waits is skipped; approved, it completes', async () => {
  const updated = await opsflow('dr', 'drill', 'schedule', 'stack-e', '--input', inputFile('human'));
  expect(updated.out).toContain(`updated schedule ${SCHEDULE}`);
  expect(updated.out).toContain('approved by a human (opsflow approve)');
  const skippedBefore = (await schedule()).info.numActionsSkippedOverlap;
  process.env.OPSFLOW_REQUESTED_BY = 'alice@ops';
  try {
    await withWorker(env, TASK_QUEUE, stage.activities(), async () => {
      await temporal('schedule', 'trigger', '--schedule-id', SCHEDULE);
      const drill = await nextDrillRun(1);
      const failover = `${drill.workflowId}-failover`;
      await until('the failover waits for a human', async () => (await phaseOf(failover).catch(() => undefined)) === 'awaiting approval');

      // A second trigger (the temporal CLI's, then opsflow's) while the drill waits: skipped, no run.
      await temporal('schedule', 'trigger', '--schedule-id', SCHEDULE);
      await until('the schedule counts the skip', async () => (await schedule()).info.numActionsSkippedOverlap === skippedBefore + 1);
      const again = await opsflow('dr', 'drill', 'run', 'stack-e');
      expect(again.error).toBe(`skipped: a drill of stack-e still runs (${drill.workflowId})`);
      expect((await schedule()).info.numActionsSkippedOverlap).toBe(skippedBefore + 2);
      expect((await schedule()).info.recentActions).toHaveLength(2);

      // The drill holds the environment: a failback started by hand is refused, naming the drill's failover.
      const refused = await env.client.workflow
        .execute('failbackSite', { taskQueue: TASK_QUEUE, workflowId: 'failback-by-hand', args: [drillInput('human').failback] })
        .then(
          () => undefined,
          (e: Error & { cause?: Error & { type?: string } }) => e.cause,
        );
      expect(refused?.type).toBe('EnvironmentBusy');
      expect(refused?.message).toContain(`failover ${failover} is running`);

      const first = await opsflow('approve', 'stack-e', '--note', 'drill, first half');
      expect(first.out).toContain(`approved by alice@ops`);
      const failback = `${drill.workflowId}-failback`;
      await until('the failback waits for a human', async () => (await phaseOf(failback).catch(() => undefined)) === 'awaiting approval');
      const second = await opsflow('approve', 'stack-e', '--note', 'drill, second half');
      expect(second.out).toContain(`approved by alice@ops`);
      const result = (await env.client.workflow.getHandle(drill.workflowId, drill.runId).result()) as DrDrillResult;
      expect(result).toMatchObject({
        failover: { approval: { by: 'alice@ops', note: 'drill, first half' }, rpo: { lostTransactions: 0 } },
        failback: {
          approval: { by: 'alice@ops', note: 'drill, second half' },
          rpo: { lostTransactions: 0 },
          split: { fra1: 50, london: 50 },
        },
      });
    });
  } finally {
    delete process.env.OPSFLOW_REQUESTED_BY;
  }
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 50, london: 50 });
  await appWrite(stage.fra, 'after the second drill');
  await expect(appWrite(stage.lon, 'on the replica')).rejects.toThrow(/read-only/);
}, 900_000);

test('a drill whose failover half fails ends DrillFailoverFailed naming the state left; no failback is started and the environment is released', async () => {
  const input = drillInput('drill');
  // Failing over onto fra1, the primary: the survivor check refuses before anything changes.
  const backwards: DrDrillInput = {
    ...input,
    failover: { ...input.failover, from: 'london', to: 'fra1' },
    failback: { ...input.failback, from: 'fra1', to: 'london' },
  };
  const workflowId = 'dr-drill-stack-e-backwards';
  const { failure, status, inventory } = await withWorker(env, TASK_QUEUE, stage.activities(), async () => {
    const handle = await env.client.workflow.start('drDrill', { taskQueue: TASK_QUEUE, workflowId, args: [backwards] });
    const failure = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    return {
      failure,
      status: await handle.query<DrDrillStatus>('status'),
      inventory: await env.client.workflow.getHandle('environment-stack-e').query<Inventory>('inventory'),
    };
  });
  expect(failure?.type).toBe('DrillFailoverFailed');
  expect(failure?.message).toMatch(
    /^the failover half of the DR drill failed: fra1-db is \S+, not a replica of london-db: nothing to promote; the failover changed nothing or undid all it changed: the databases and the split are as before the drill; no failback was needed$/,
  );
  expect(status.drill).toMatchObject({ phase: 'failed', failover: { state: 'failed', failure: { type: 'SurvivorUnhealthy' } } });
  expect(status.drill.failback).toBeUndefined();
  expect(status.remainingSteps).toEqual(['fail back']);
  await expect(env.client.workflow.getHandle(`${workflowId}-failback`).describe()).rejects.toThrow(/not found/i);
  // Released: no holder; the drill and its failover recorded as failed, the failover within the drill.
  expect(inventory.holder).toBeUndefined();
  const recorded = inventory.operations.filter((o) => o.workflowId.startsWith(workflowId));
  expect(recorded.map((o) => [o.operation, o.workflowId, o.outcome, o.within?.workflowId])).toEqual([
    ['dr drill', workflowId, 'failed', undefined],
    ['failover', `${workflowId}-failover`, 'failed', workflowId],
  ]);
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 50, london: 50 });
  await appWrite(stage.fra, 'after the failed drill');
}, 600_000);

test('a drill whose failback half fails ends DrillFailbackFailed: the failover stands (london primary, all traffic) until failed back by hand', async () => {
  const { activities, openGate } = holdingFailbackApproval();
  const workflowId = 'dr-drill-stack-e-failback-refused';
  const input = drillInput('drill');
  const { failure, status } = await withWorker(env, TASK_QUEUE, activities, async () => {
    const handle = await env.client.workflow.start('drDrill', { taskQueue: TASK_QUEUE, workflowId, args: [input] });
    await until(
      'the failback waits for approval',
      async () => (await phaseOf(`${workflowId}-failback`).catch(() => undefined)) === 'awaiting approval',
    );
    // Cloudflare refuses every change of weights from here: the failback cannot move traffic back.
    await stage.faults([{ method: 'PATCH', path: '/client/v4/zones', errorRate: 1, statuses: [503] }]);
    openGate();
    const failure = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    return { failure, status: await handle.query<DrDrillStatus>('status') };
  });
  await stage.faults([]);
  // Kept for test/replay (a drill with both halves, the second failed) when asked to record.
  if (process.env.OPSFLOW_RECORD_HISTORIES === '1')
    writeFileSync(
      path.join(__dirname, '..', '..', 'replay', `${workflowId}.json`),
      await temporal('workflow', 'show', '--workflow-id', workflowId, '--output', 'json'),
    );
  expect(failure?.type).toBe('DrillFailbackFailed');
  expect(failure?.message).toMatch(
    /^the failback half of the DR drill failed: set the traffic split of www.stack-e.com: Cloudflare answered 503/,
  );
  expect(failure?.message).toMatch(
    /; the failover still stands: london takes all traffic and holds the primary; fail back by hand \(opsflow failback stack-e --input <file>\) once the cause is fixed$/,
  );
  expect(status.drill).toMatchObject({
    phase: 'failed',
    failover: { state: 'completed', rpo: { lostTransactions: 0 } },
    failback: { state: 'failed', failure: { type: 'RolledBack' } },
  });
  // As the message says: london the writable primary with all traffic, fra1 its read-only replica.
  expect(await stage.through(50)).toEqual({ bySite: { london: 50 }, failed: {}, requests: 50 });
  await appWrite(stage.lon, 'london after the failed failback');
  await expect(appWrite(stage.fra, 'on the replica')).rejects.toThrow(/read-only/);

  // Failed back by hand: 50/50 and fra1 the primary again.
  await withWorker(env, TASK_QUEUE, stage.activities(), async () => {
    const handle = await env.client.workflow.start('failbackSite', {
      taskQueue: TASK_QUEUE,
      workflowId: 'failback-after-drill',
      args: [input.failback],
    });
    await until('the failback waits for approval', async () => (await phaseOf('failback-after-drill')) === 'awaiting approval');
    await handle.executeUpdate('approve', { args: [{ by: 'alice@ops' }] });
    await handle.result();
  });
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 50, london: 50 });
  await appWrite(stage.fra, 'fra1 after failing back by hand');
}, 600_000);

test('a drill cancelled while its failover waits for a human cancels the failover: nothing changed, the environment free again', async () => {
  const workflowId = 'dr-drill-stack-e-cancelled';
  const { failure, status, child, inventory } = await withWorker(env, TASK_QUEUE, stage.activities(), async () => {
    const handle = await env.client.workflow.start('drDrill', { taskQueue: TASK_QUEUE, workflowId, args: [drillInput('human')] });
    await until(
      'the failover waits for a human',
      async () => (await phaseOf(`${workflowId}-failover`).catch(() => undefined)) === 'awaiting approval',
    );
    await temporal('workflow', 'cancel', '--workflow-id', workflowId);
    const failure = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error }) => e.cause,
    );
    return {
      failure,
      status: await handle.query<DrDrillStatus>('status'),
      child: await env.client.workflow.getHandle(`${workflowId}-failover`).describe(),
      inventory: await env.client.workflow.getHandle('environment-stack-e').query<Inventory>('inventory'),
    };
  });
  expect(failure?.name).toBe('CancelledFailure');
  expect(child.status.name).toBe('CANCELLED');
  expect(status.outcome?.state).toBe('cancelled');
  expect(status.drill.stateLeft).toBe(`cancelled during the failover, which undid what it had done (see ${workflowId}-failover's status)`);
  expect(inventory.holder).toBeUndefined();
  expect(inventory.operations.filter((o) => o.workflowId.startsWith(workflowId)).map((o) => [o.operation, o.outcome])).toEqual([
    ['dr drill', 'cancelled'],
    ['failover', 'cancelled'],
  ]);
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 50, london: 50 });
  await appWrite(stage.fra, 'after the cancelled drill');
}, 600_000);

test('a drill run again under the same id runs neither half twice: its failover start is refused, nothing started', async () => {
  const workflowId = 'dr-drill-stack-e-retried';
  const { first, again, childStarts } = await withWorker(env, TASK_QUEUE, stage.activities(), async () => {
    const first = (await env.client.workflow.execute('drDrill', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [drillInput('drill')],
    })) as DrDrillResult;
    // As a retry does: a new run under the same workflow id, so the same halves' ids.
    const handle = await env.client.workflow.start('drDrill', { taskQueue: TASK_QUEUE, workflowId, args: [drillInput('drill')] });
    const again = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    const history = await handle.fetchHistory();
    const childStarts = (history.events ?? []).filter((e) => e.childWorkflowExecutionStartedEventAttributes).length;
    return { first, again, childStarts };
  });
  expect(first.failback.split).toEqual({ fra1: 50, london: 50 });
  expect(again?.type).toBe('DrillFailoverFailed');
  expect(again?.message).toBe(
    `the failover half of the DR drill failed: ${workflowId}-failover already ran or is running (a retried drill does not run a half twice); this run started nothing: see ${workflowId}-failover for the state it left`,
  );
  expect(childStarts).toBe(0);
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 50, london: 50 });
  await appWrite(stage.fra, 'after the drill run again');
}, 600_000);
