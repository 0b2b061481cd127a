// failoverSite on the real Temporal dev server with a real MariaDB pair (the test's own servers)
// and the local cloud's Cloudflare API and edge: the run checks the survivor and waits for a
// human's `approve` (nonsense refused, nothing moves before it); then fences fra1's primary,
// promotes london's replica with nothing lost, moves the weights to 0/100 and counts requests
// through the edge landing on london (the fallback pool moved to london's with the weights: with
// london's pool failing, the edge still sends everything there, not to the fenced fra1); RTO and
// RPO are in the status and the result. A second
// failover back, whose traffic switch Cloudflare refuses, leaves traffic and roles as they were.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import type { EnsuredLoadBalancer } from '../../../src/integrations/cloudflare/load-balancing';
import type { FailoverSiteInput } from '../../../src/specs/failover';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import { appWrite, orderCount, type MariadbServer } from '../../helpers/mariadb-servers';
import { uniqueTaskQueue, withWorker } from '../../helpers/temporal';
import { fallbackSiteOf, REPLICATION, runActivity, startFailoverStage, until, type FailoverStage } from '../../helpers/failover-stage';

let stage: FailoverStage;
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let fra: MariadbServer;
let lon: MariadbServer;
let lb: EnsuredLoadBalancer;
const activities = () => stage.activities();
const run = runActivity;
const replication = REPLICATION;
const taskQueue = uniqueTaskQueue('failover');

afterAll(async () => stage?.stop());

const localCloudFaults = (_cloud: LocalCloud, rules: object[]) => stage.faults(rules);
const frontOf = (site: string) => stage.frontOf(site);

function failoverInput(from: string, to: string): FailoverSiteInput {
  const db = (s: MariadbServer) => s.admin;
  return {
    environment: 'stack-e',
    from,
    to,
    requestedBy: 'oncall@stack-e',
    // Both sites are healthy here: switchovers on purpose, the observers' views only recorded.
    mode: 'planned',
    assess: { probe: { url: `http://${frontOf(from).address}:${frontOf(from).port}/health` } },
    cloudflare: { apiUrl: `${cloud.apiUrl}/client/v4`, apiToken: 'env:OPSFLOW_SECRET_CLOUDFLARE_TOKEN' },
    loadBalancer: { zoneId: lb.zoneId, accountId: lb.accountId, loadBalancerId: lb.loadBalancerId, hostname: lb.hostname, pools: lb.pools },
    databases: { fra1: db(fra), london: db(lon) },
    replication,
    verify: { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40 },
    rpo: { maxLostTransactions: 0 },
  };
}

const through = (requests: number) => stage.through(requests);

const poolHealth = () => run(() => activities().readPoolHealth({ cloudflare: stage.cloudflare(), loadBalancer: lb }));

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [21, 22], orders: 10 });
  ({ env, cloud, fra, lon, lb } = stage);
}, 600_000);

test('planned failover fra1 -> london: approved by a human, fenced, promoted with RPO 0, all traffic on london, RTO recorded', async () => {
  const before = await through(200);
  expect(before.bySite.fra1).toBeGreaterThan(0);
  expect(before.bySite.london).toBeGreaterThan(0);
  expect(await fallbackSiteOf(stage)).toBe('fra1');

  const { result, waiting, refusals, statusAfter } = await withWorker(env, taskQueue, activities(), async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-stack-e-fra1-london',
      args: [failoverInput('fra1', 'london')],
    });
    const status = () => handle.query<FailoverStatus>('status');
    await until('the run waits for approval', async () => (await status()).failover?.phase === 'awaiting approval');
    const waiting = await status();
    // Nothing moves before a human approves: fra1 still takes writes, traffic still split.
    await appWrite(fra, 'while waiting');
    const during = await through(100);
    const refusals = await Promise.all(
      [{ by: '' }, { by: 'x'.repeat(200) }, { by: 'eve', note: 'n'.repeat(600) }].map((args) =>
        handle.executeUpdate('approve', { args: [args] }).then(
          () => 'accepted',
          (e: Error & { cause?: Error }) => e.cause?.message ?? e.message,
        ),
      ),
    );
    expect(during.bySite.fra1).toBeGreaterThan(0);
    const approved = await handle.executeUpdate('approve', { args: [{ by: 'alice@ops', note: 'planned switchover' }] });
    expect(approved).toMatchObject({ by: 'alice@ops', note: 'planned switchover' });
    const again = await handle.executeUpdate('approve', { args: [{ by: 'bob' }] }).then(
      () => 'accepted',
      (e: Error & { cause?: Error }) => e.cause?.message ?? e.message,
    );
    refusals.push(again);
    const result = (await handle.result()) as FailoverResult;
    return { result, waiting, refusals, statusAfter: await status() };
  });

  expect(waiting.failover).toMatchObject({
    phase: 'awaiting approval',
    assessment: {
      survivorPoolHealthy: true,
      survivorRole: 'replica',
      mode: 'planned',
      down: 0,
      declaredDown: false,
      observers: [
        { observer: 'worker probes', verdict: 'up' },
        { observer: 'survivor replica', verdict: 'up' },
        { observer: 'cloudflare pool health', verdict: 'up' },
      ],
    },
  });
  expect(result.assessment).toMatchObject({ mode: 'planned', down: 0, needed: 2 });
  expect(waiting.step).toBe('wait for approval');
  expect(refusals[0]).toMatch(/^by: must name who asks/);
  expect(refusals[1]).toMatch(/^by: must name who asks/);
  expect(refusals[2]).toBe('note must be text of at most 500 characters');
  expect(refusals[3]).toMatch(/^already approved by alice@ops at /);

  expect(result).toMatchObject({
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    approval: { by: 'alice@ops' },
    rpo: { lostTransactions: 0, unappliedTransactions: 0 },
    fence: { state: 'fenced' },
    traffic: { split: { fra1: 0, london: 100 }, previous: { fra1: 50, london: 50 }, changed: true, sample: { london: 40 } },
    newPrimary: { server: 'london-db' },
  });
  expect(result.rto.fromApprovalMs).toBeGreaterThan(0);
  expect(result.rto.fromStartMs).toBeGreaterThanOrEqual(result.rto.fromApprovalMs);
  expect(statusAfter.failover).toMatchObject({ phase: 'completed', rto: result.rto, rpo: result.rpo });
  expect(statusAfter.completedSteps).toEqual([
    'assess the failed site',
    'check the surviving site',
    'wait for approval',
    'fence the old primary',
    'promote the surviving replica',
    'move traffic',
    'verify traffic on the survivor',
    'verify a write on the new primary',
  ]);
  console.log(
    `failover fra1 -> london: RTO ${result.rto.fromApprovalMs} ms from approval, ${result.rto.fromStartMs} ms from start; RPO ${result.rpo.lostTransactions} transactions`,
  );

  // Afterwards: every request on london; london takes writes, fra1 refuses them; nothing lost.
  expect(await through(100)).toEqual({ bySite: { london: 100 }, failed: {}, requests: 100 });
  await appWrite(lon, 'after failover');
  await expect(appWrite(fra, 'on the old primary')).rejects.toThrow(/read-only/);
  expect(await orderCount(lon)).toBe(12);

  // The fallback pool moved with the traffic: were london's pool to fail, the edge falls back to
  // london (its origins, unhealthy or not), never to the fenced fra1 whose pool is still healthy.
  expect(await fallbackSiteOf(stage)).toBe('london');
  const london = stage.frontOf('london');
  london.healthStatus = 503;
  await until('Cloudflare sees london unhealthy', async () => !(await poolHealth()).london!.healthy);
  expect((await poolHealth()).fra1!.healthy).toBe(true);
  expect(await through(40)).toEqual({ bySite: { london: 40 }, failed: {}, requests: 40 });
  london.healthStatus = 200;
  await until('Cloudflare sees london healthy again', async () => (await poolHealth()).london!.healthy);
}, 600_000);

test('a failover whose traffic switch Cloudflare refuses leaves traffic and roles as they were', async () => {
  // fra1 follows london now (failback's first half), then a failover back is tried.
  const acts = activities();
  await run(() => acts.replicateFrom({ server: fra.admin, primary: lon.admin, replication }));
  await until('fra1 caught up with london', async () => (await orderCount(fra).catch(() => 0)) === 12);
  await localCloudFaults(cloud, [{ method: 'PATCH', path: '/client/v4/zones', errorRate: 1, statuses: [503] }]);

  const { failure, status } = await withWorker(env, taskQueue, acts, async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-stack-e-london-fra1',
      args: [failoverInput('london', 'fra1')],
    });
    await until(
      'the run waits for approval',
      async () => (await handle.query<FailoverStatus>('status')).failover?.phase === 'awaiting approval',
    );
    await handle.executeUpdate('approve', { args: [{ by: 'alice@ops' }] });
    const failure = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    return { failure, status: await handle.query<FailoverStatus>('status') };
  });
  await localCloudFaults(cloud, []);

  expect(failure?.type).toBe('RolledBack');
  expect(failure?.message).toContain('setTrafficSplit');
  expect(status.failover.phase).toBe('rolled back');
  expect(status.outcome?.undone).toEqual(['make fra1-db a replica of london-db again', 'unfence london-db']);
  // As before: london the writable primary, fra1 its read-only replica, all traffic on london.
  await appWrite(lon, 'after the refused failover');
  await expect(appWrite(fra, 'on the replica')).rejects.toThrow(/read-only/);
  await until('fra1 replicates london again', async () => (await orderCount(fra).catch(() => 0)) === 13);
  expect(await through(50)).toEqual({ bySite: { london: 50 }, failed: {}, requests: 50 });
}, 600_000);

test('beyond the RPO budget the promotion is refused and the failover rolled back: roles and traffic as they were', async () => {
  // fra1 (london's replica) stops receiving; london takes 3 more orders fra1 never gets.
  await fra.sql('STOP SLAVE IO_THREAD');
  for (let i = 0; i < 3; i++) await appWrite(lon, `unreplicated ${i}`);
  const { failure, status } = await withWorker(env, taskQueue, activities(), async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-stack-e-london-fra1-rpo',
      args: [failoverInput('london', 'fra1')],
    });
    await until(
      'the run waits for approval',
      async () => (await handle.query<FailoverStatus>('status')).failover?.phase === 'awaiting approval',
    );
    await handle.executeUpdate('approve', { args: [{ by: 'alice@ops' }] });
    const failure = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    return { failure, status: await handle.query<FailoverStatus>('status') };
  });
  expect(failure?.type).toBe('RolledBack');
  expect(failure?.message).toContain('fra1-db lacks 3 transaction(s) of the old primary; the RPO budget is 0: not promoted');
  expect(status.outcome?.undone).toEqual(['unfence london-db']);
  await appWrite(lon, 'after the refused promotion');
  await expect(appWrite(fra, 'on the replica')).rejects.toThrow(/read-only/);
  expect(await through(50)).toEqual({ bySite: { london: 50 }, failed: {}, requests: 50 });
  await fra.sql('START SLAVE IO_THREAD');
  await until('fra1 receives the rest', async () => (await orderCount(fra).catch(() => 0)) === 17);
}, 600_000);
