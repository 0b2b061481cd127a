// failbackSite on the real parts (failover-stage: Temporal dev server, the local cloud's Cloudflare
// API and edge, a MariaDB pair and a Redis pair really replicating). A failback with no failover
// standing is refused, nothing changed. A planned failover fra1 -> london moves the database and
// Redis (london's Redis promoted, fra1's following it and refusing writes). A failback whose
// rebuilt replica cannot catch up (its replication password wrong) is refused after its timeout and
// rolled back. fra1 then takes an errant write of its own: a failback is refused (ErrantTransactions),
// nothing changed. Then the failback itself, with `reseed`: fra1's databases saved to a file, fra1
// re-seeded from a copy of london and rebuilt as london's replica, caught up (measured in
// status), approved, london fenced, fra1 promoted with RPO 0, london following, traffic back to
// 50/50 in steps; a writer writing rows and Redis entries through the whole run loses none.
import type { FailbackSiteInput } from '../../../src/specs/failback';
import type { FailoverSiteInput } from '../../../src/specs/failover';
import type { FailbackResult, FailbackStatus } from '../../../src/workflows/failover/failback-api';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import {
  fallbackSiteOf,
  rtoRpoAttributes,
  runActivity,
  scheduledActivities,
  siteConnections,
  startFailoverStage,
  until,
  type FailoverStage,
} from '../../helpers/failover-stage';
import { appWrite, orderCount } from '../../helpers/mariadb-servers';
import { redisRole } from '../../helpers/redis-servers';
import { startSiteWriter } from '../../helpers/site-writer';
import { uniqueTaskQueue, withWorker } from '../../helpers/temporal';
import { tempDir } from '../../helpers/temp';
import { readFileSync } from 'node:fs';

let stage: FailoverStage;
const taskQueue = uniqueTaskQueue('failback');
const CHANGING_ACTIVITIES = [
  'fencePrimary',
  'promoteReplica',
  'replicateFrom',
  'setTrafficSplit',
  'fenceRedisPrimary',
  'promoteRedisReplica',
  'pointRedisAt',
];

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [61, 62], orders: 5, redis: true });
}, 600_000);
afterAll(async () => stage?.stop());

function failoverInput(): FailoverSiteInput {
  return {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    requestedBy: 'oncall@stack-e',
    mode: 'planned',
    assess: { probe: { url: `http://${stage.frontOf('fra1').address}:${stage.frontOf('fra1').port}/health` } },
    ...siteConnections(stage),
  };
}

function failbackInput(overrides: Partial<FailbackSiteInput> = {}): FailbackSiteInput {
  return {
    environment: 'stack-e',
    from: 'london',
    to: 'fra1',
    requestedBy: 'oncall@stack-e',
    ...siteConnections(stage),
    // The writer keeps writing to london: caught up means within a few transactions (the promotion then waits for the rest).
    catchUp: { timeoutSeconds: 60, intervalSeconds: 1, maxBehindTransactions: 5, maxBehindRedisBytes: 2000 },
    traffic: { mode: 'gradual', steps: [10, 25], holdSeconds: 1 },
    ...overrides,
  };
}

const scheduled = (workflowId: string) => scheduledActivities(stage.env.client, workflowId);

async function runToEnd<T>(workflowType: string, workflowId: string, args: unknown[], approve: boolean) {
  return withWorker(stage.env, taskQueue, stage.activities(), async () => {
    const handle = await stage.env.client.workflow.start(workflowType, { taskQueue, workflowId, args });
    const status = () => handle.query<FailoverStatus & FailbackStatus>('status');
    let waiting: (FailoverStatus & FailbackStatus) | undefined;
    if (approve) {
      await until('the run waits for approval', async () => {
        const s = await status();
        return (s.failover ?? s.failback)?.phase === 'awaiting approval' || s.outcome !== undefined;
      });
      waiting = await status();
      if (!waiting.outcome) await handle.executeUpdate('approve', { args: [{ by: 'alice@ops', note: workflowId }] });
    }
    const ended = await handle.result().then(
      (result) => ({ result: result as T, failure: undefined }),
      (e: Error & { cause?: Error & { type?: string } }) => ({ result: undefined, failure: e.cause }),
    );
    return { ...ended, waiting, status: await status() };
  });
}

test('a failback with no failover standing is refused, nothing changed', async () => {
  const { failure, status } = await runToEnd('failbackSite', 'failback-stack-e-none', [failbackInput()], false);
  expect(failure?.type).toBe('NothingToFailBack');
  expect(failure?.message).toBe(
    'no failover stands in stack-e (its inventory records none since the last failback): nothing to fail back to fra1; nothing was changed',
  );
  expect(status.failback.phase).toBe('failed');
  expect(status.completedSteps).toEqual([]);
  const counts = await scheduled('failback-stack-e-none');
  expect(CHANGING_ACTIVITIES.filter((a) => counts[a])).toEqual([]);
  // fra1 still the primary, london its replica; fra1's Redis still the primary.
  await appWrite(stage.fra, 'after the refused failback');
  await until('london receives it', async () => (await orderCount(stage.lon).catch(() => 0)) === 6);
  expect(await redisRole(stage.redis!.fra)).toBe('master');
  expect(await redisRole(stage.redis!.lon)).toBe('slave');
}, 600_000);

test('failover then failback: Redis promoted and back, a failback that cannot catch up refused and rolled back, then the primary and traffic back on fra1 with no write lost', async () => {
  const writer = startSiteWriter(stage, { redis: true });
  await until('the writer wrote', async () => writer.state.rows > 3 && writer.state.entries > 3);

  // Failover fra1 -> london, Redis with it.
  const fallbackBefore = await fallbackSiteOf(stage);
  expect(fallbackBefore).toBe('fra1');
  const over = await runToEnd<FailoverResult>('failoverSite', 'failover-stack-e-fra1', [failoverInput()], true);
  expect(over.failure).toBeUndefined();
  expect(over.result).toMatchObject({
    rpo: { lostTransactions: 0, redisLostBytes: 0 },
    redis: { fence: { state: 'fenced' }, promotion: { promoted: true }, oldFollowsNew: true },
    traffic: { split: { fra1: 0, london: 100 } },
  });
  // The edge falls back to the survivor, never to the fenced fra1.
  expect(await fallbackSiteOf(stage)).toBe('london');
  expect(await redisRole(stage.redis!.lon)).toBe('master');
  expect(await redisRole(stage.redis!.fra)).toBe('slave');
  await expect(stage.redis!.fra.command('SET', 'x', '1')).rejects.toThrow(/READONLY/);
  await until('the writer writes to london', async () => {
    const rows = writer.state.rows;
    await new Promise((r) => setTimeout(r, 300));
    return writer.state.rows > rows;
  });

  // A failback whose rebuilt replica cannot connect (wrong password): not caught up, rolled back.
  stage.secrets.OPSFLOW_SECRET_DB_REPL_WRONG = 'not-the-password';
  const stuck = await runToEnd<FailbackResult>(
    'failbackSite',
    'failback-stack-e-stuck',
    [
      failbackInput({
        replication: { user: 'repl', password: 'env:OPSFLOW_SECRET_DB_REPL_WRONG' },
        catchUp: { timeoutSeconds: 15, intervalSeconds: 1 },
      }),
    ],
    false,
  );
  expect(stuck.failure?.type).toBe('RolledBack');
  expect(stuck.failure?.message).toMatch(
    /fra1-db has not caught up with london-db after 15 s: \d+ transaction\(s\) behind, IO thread (No|Connecting)/,
  );
  expect(stuck.status.failback.catchUp).toMatchObject({ caughtUp: false });
  expect(stuck.status.failback.catchUp!.measurements).toBeGreaterThanOrEqual(2);
  expect(stuck.status.outcome?.undone).toEqual(['stop fra1-db replicating from london-db']);
  expect(stuck.status.failedSteps?.[0]).toMatch(/^wait for the replica to catch up/);
  const fraState = await runActivity(() => stage.activities().readReplication({ server: stage.fra.admin }));
  expect(fraState).toMatchObject({ role: 'read-only (no primary)' });
  expect(await stage.through(40)).toEqual({ bySite: { london: 40 }, failed: {}, requests: 40 });

  // While cut off, fra1 took a write of its own (read_only turned off by hand): an errant transaction.
  const fraOrders = await orderCount(stage.fra);
  await stage.fra.sql(
    "SET GLOBAL read_only = OFF; INSERT INTO shop.orders (note) VALUES ('errant a'), ('errant b'); SET GLOBAL read_only = ON;",
  );
  const errant = await runToEnd<FailbackResult>('failbackSite', 'failback-stack-e-errant', [failbackInput()], false);
  expect(errant.failure?.message).toMatch(/fra1-db holds 1 transaction\(s\) the new primary never had .*re-seed it/);
  expect(await orderCount(stage.fra)).toBe(fraOrders + 2); // refused: nothing changed, the errant rows still there

  // The failback with `reseed`: fra1's databases saved, fra1 re-seeded from london, caught up,
  // approved, switched back with the writer still writing.
  const saveErrantTo = tempDir('errant-saves');
  const back = await runToEnd<FailbackResult>('failbackSite', 'failback-stack-e-fra1', [failbackInput({ reseed: { saveErrantTo } })], true);
  expect(back.failure).toBeUndefined();
  const reseeded = back.status.failback.rebuild!.reseeded!;
  expect(reseeded).toMatchObject({ copied: expect.arrayContaining(['shop']), dropped: [] });
  expect(readFileSync(reseeded.savedTo, 'utf8')).toMatch(/'errant a'\),\(\d+,'errant b'\)|errant a[\s\S]*errant b/);
  expect(back.waiting?.failback).toMatchObject({ phase: 'awaiting approval', catchUp: { caughtUp: true } });
  const latest = back.waiting!.failback.catchUp!.latest!;
  expect(latest).toMatchObject({ ioRunning: 'Yes', redisLinkUp: true });
  expect(latest.behindTransactions).toBeLessThanOrEqual(5);
  expect(latest.redisBehindBytes).toBeLessThanOrEqual(2000);
  const result = back.result!;
  expect(result).toMatchObject({
    from: 'london',
    to: 'fra1',
    failover: { from: 'fra1', to: 'london', workflowId: 'failover-stack-e-fra1' },
    approval: { by: 'alice@ops' },
    rpo: { lostTransactions: 0, unappliedTransactions: 0, redisLostBytes: 0 },
    newPrimary: { server: 'fra1-db' },
    redis: { fence: { state: 'fenced' }, promotion: { promoted: true }, oldFollowsNew: true },
  });
  expect(result.traffic.steps.map((s) => s.split)).toEqual([
    { fra1: 10, london: 90 },
    { fra1: 25, london: 75 },
    { fra1: 50, london: 50 },
  ]);
  expect(result.traffic.previous).toEqual({ fra1: 0, london: 100 });
  // Back at 50/50, the fallback pool is fra1's again, as it was before the failover.
  expect(await fallbackSiteOf(stage)).toBe(fallbackBefore);
  expect(result.rto.fromApprovalMs).toBeGreaterThan(0);
  expect(back.status.failback).toMatchObject({ phase: 'completed', rto: result.rto, rpo: result.rpo });
  // RTO and RPO as search attributes: `temporal workflow list --query 'OpsRtoSeconds < 60'` finds it.
  const attrs = await rtoRpoAttributes(
    stage.env.client,
    'failback-stack-e-fra1',
    `OpsRtoSeconds < 60 AND OpsRpoTransactions = 0 AND WorkflowType = 'failbackSite'`,
  );
  expect(attrs).toMatchObject({
    rtoSeconds: Math.ceil(result.rto.fromApprovalMs / 1000),
    rpoTransactions: 0,
    listed: ['failback-stack-e-fra1'],
  });
  expect(back.status.completedSteps).toEqual([
    'check the failover to undo',
    'rebuild the recovered site as a replica',
    'wait for the replica to catch up',
    'wait for approval',
    'fence the current primary',
    'promote the recovered site',
    'make the other site its replica',
    'move traffic back',
    'verify a write on the primary',
  ]);

  // The writer goes on against fra1, then stops: every acknowledged row and entry is there.
  await until('the writer writes to fra1 again', async () => {
    const rows = writer.state.rows;
    await new Promise((r) => setTimeout(r, 300));
    return writer.state.rows > rows;
  });
  await writer.stop();
  // 5 orders at the start, 1 after the refused failback, what the writer got acknowledged.
  expect(await orderCount(stage.fra)).toBe(6 + writer.state.rows);
  await until('london has every row', async () => (await orderCount(stage.lon).catch(() => 0)) === 6 + writer.state.rows);
  expect(Number(await stage.redis!.fra.command('LLEN', 'orders'))).toBe(writer.state.entries);
  expect(await redisRole(stage.redis!.fra)).toBe('master');
  expect(await redisRole(stage.redis!.lon)).toBe('slave');
  await expect(appWrite(stage.lon, 'on the replica')).rejects.toThrow(/read-only/);
  await expect(stage.redis!.lon.command('SET', 'x', '1')).rejects.toThrow(/READONLY/);
  const sample = await stage.through(200);
  expect(sample.failed).toEqual({});
  expect(sample.bySite.fra1).toBeGreaterThan(0);
  expect(sample.bySite.london).toBeGreaterThan(0);
  console.log(
    `failback london -> fra1: RTO ${result.rto.fromApprovalMs} ms from approval, ${result.rto.fromStartMs} ms from start; RPO ${JSON.stringify(result.rpo)}; catch-up ${result.catchUp.measurements} measurement(s); writer ${writer.state.rows} rows and ${writer.state.entries} Redis entries acknowledged, ${writer.state.refused} refused, none lost`,
  );

  // The failover is undone: a second failback finds nothing to do.
  const again = await runToEnd('failbackSite', 'failback-stack-e-again', [failbackInput()], false);
  expect(again.failure?.type).toBe('NothingToFailBack');
}, 1_500_000);
