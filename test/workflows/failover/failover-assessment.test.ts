// failoverSite's emergency assessment on the real parts: the Temporal dev server, a MariaDB pair
// (fra1 primary, london its replica), the local cloud's Cloudflare API and edge, and the worker
// probing fra1's front through a path the test can cut. A partition that hides fra1 from the
// worker alone (london's replica and Cloudflare still see it) fails over nothing: SiteNotDown
// naming each observer's view, no step after the observers in the history, fra1 still the
// writable primary, the split untouched. Then fra1 really goes down (its primary stopped, its
// health 503): all three observers agree, a human approves, and london takes over. Between the
// two, Cloudflare's API failing makes its observer "cannot tell", which never counts as down.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import type Cloudflare from 'cloudflare';
import { readTrafficSplit, type EnsuredLoadBalancer } from '../../../src/integrations/cloudflare/load-balancing';
import type { FailoverSiteInput } from '../../../src/specs/failover';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import { appWrite, orderCount, type MariadbServer } from '../../helpers/mariadb-servers';
import { startPartitionProxy, type PartitionProxy } from '../../helpers/partition-proxy';
import type { SiteOrigin } from '../../helpers/site-origins';
import { uniqueTaskQueue, withWorker } from '../../helpers/temporal';
import {
  REPLICATION,
  scheduledActivities,
  startFailoverStage,
  until,
  untilFra1SeenDown,
  type FailoverStage,
} from '../../helpers/failover-stage';

let stage: FailoverStage;
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let cf: Cloudflare;
let fra: MariadbServer;
let lon: MariadbServer;
let origins: SiteOrigin[] = [];
/** The worker's own path to fra1's front. */
let workerPath: PartitionProxy;
let lb: EnsuredLoadBalancer;
const activities = () => stage.activities();
const replication = REPLICATION;
const cloudflare = () => stage.cloudflare();
const taskQueue = uniqueTaskQueue('failover-assess');
const CHANGING_ACTIVITIES = ['fencePrimary', 'unfencePrimary', 'promoteReplica', 'replicateFrom', 'setTrafficSplit', 'verifyWrite'];

afterAll(async () => {
  await workerPath?.close();
  await stage?.stop();
});

const localCloudFaults = (rules: object[]) => stage.faults(rules);

function emergencyInput(): FailoverSiteInput {
  return {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    requestedBy: 'oncall@stack-e',
    mode: 'emergency',
    assess: { probe: { url: `http://${workerPath.address}:${workerPath.port}/health`, requests: 3, timeoutSeconds: 5 } },
    cloudflare: cloudflare(),
    loadBalancer: { zoneId: lb.zoneId, accountId: lb.accountId, loadBalancerId: lb.loadBalancerId, hostname: lb.hostname, pools: lb.pools },
    databases: { fra1: fra.admin, london: lon.admin },
    replication,
    verify: { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40 },
    rpo: { maxLostTransactions: 0 },
  };
}

const through = (requests: number) => stage.through(requests);

const scheduled = (workflowId: string) => scheduledActivities(env.client, workflowId);

/** The attempt each scheduling of an activity type ended on (its ActivityTaskStarted attempt). */
async function attemptsOf(workflowId: string, activityType: string): Promise<number[]> {
  const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const ofType = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType).map((e) => String(e.eventId)),
  );
  return events
    .filter((e) => ofType.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
}

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [41, 42], orders: 5 });
  ({ env, cloud, cf, fra, lon, lb, origins } = stage);
  workerPath = await startPartitionProxy(origins[0]!.address, origins[0]!.port);
}, 600_000);

test('a partition that hides fra1 from the worker alone fails over nothing: SiteNotDown with each view, fra1 still the writable primary, the split as it was', async () => {
  workerPath.cut();
  const { failure, status } = await withWorker(env, taskQueue, activities(), async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-assess-partition',
      args: [emergencyInput()],
    });
    const failure = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string; details?: unknown[] } }) => e.cause,
    );
    return { failure, status: await handle.query<FailoverStatus>('status') };
  });
  workerPath.heal();

  // The worker's probes met the cut (counted at the proxy), the others still saw fra1.
  expect(workerPath.refused).toBeGreaterThanOrEqual(3);
  expect(failure?.type).toBe('SiteNotDown');
  expect(failure?.message).toMatch(
    /^fra1 is not declared down: 1 of 3 observers see it down, 2 needed \(worker probes: down \(0 of 3 probes/,
  );
  expect(failure?.message).toContain('survivor replica: up (london-db is connected to fra1-db');
  expect(failure?.message).toContain('cloudflare pool health: up (pool fra1 healthy');
  expect(failure?.message).toContain('nothing was changed');
  expect(status.failover.phase).toBe('failed');
  expect(status.failover.assessment).toMatchObject({
    mode: 'emergency',
    site: 'fra1',
    down: 1,
    needed: 2,
    declaredDown: false,
    observers: [
      { observer: 'worker probes', verdict: 'down' },
      { observer: 'survivor replica', verdict: 'up' },
      { observer: 'cloudflare pool health', verdict: 'up' },
    ],
  });
  expect(status.completedSteps).toEqual([]);
  console.log(`partition: ${status.failover.assessment!.observers!.map((o) => `${o.observer}: ${o.verdict} (${o.saw})`).join('; ')}`);

  // Nothing changed: only the three observers ran, once each; fra1 takes writes that london
  // receives; the load balancer still splits 50/50 and both sites answer through the edge.
  const counts = await scheduled('failover-assess-partition');
  expect(counts).toMatchObject({ probeSiteFront: 1, observeReplicaView: 1, observePoolHealth: 1 });
  expect(CHANGING_ACTIVITIES.filter((a) => counts[a])).toEqual([]);
  await appWrite(fra, 'after the refused failover');
  await until('london receives it', async () => (await orderCount(lon).catch(() => 0)) === 6);
  expect(await readTrafficSplit(cf, lb)).toEqual({ fra1: 50, london: 50 });
  const sample = await through(200);
  expect(sample.bySite.fra1).toBeGreaterThan(0);
  expect(sample.bySite.london).toBeGreaterThan(0);
}, 600_000);

test('an observer that errors cannot tell, never counts as down: the worker cut off and Cloudflare answering 503 is still not a majority', async () => {
  workerPath.cut();
  const refusedBefore = workerPath.refused;
  await localCloudFaults([{ method: 'GET', path: '/client/v4/accounts', errorRate: 1, statuses: [503] }]);
  const { failure, status } = await withWorker(env, taskQueue, activities(), async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-assess-cloudflare-failing',
      args: [emergencyInput()],
    });
    const failure = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    return { failure, status: await handle.query<FailoverStatus>('status') };
  });
  await localCloudFaults([]);
  workerPath.heal();

  expect(workerPath.refused - refusedBefore).toBe(3);
  expect(failure?.type).toBe('SiteNotDown');
  expect(status.failover.assessment).toMatchObject({
    down: 1,
    declaredDown: false,
    observers: [
      { observer: 'worker probes', verdict: 'down' },
      { observer: 'survivor replica', verdict: 'up' },
      { observer: 'cloudflare pool health', verdict: 'cannot tell' },
    ],
  });
  expect(status.failover.assessment!.observers![2]!.saw).toMatch(/^could not look: .*CloudflareUnavailable|^could not look: .*503/);
  // Cloudflare's observer was tried its 3 attempts, then counted as cannot tell; nothing else ran.
  const history = await env.client.workflow.getHandle('failover-assess-cloudflare-failing').fetchHistory();
  const attempts = (history.events ?? [])
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
  expect(Math.max(...attempts)).toBe(3);
  const counts = await scheduled('failover-assess-cloudflare-failing');
  expect(CHANGING_ACTIVITIES.filter((a) => counts[a])).toEqual([]);
  await appWrite(fra, 'after the second refused failover');
  await until('london receives it', async () => (await orderCount(lon).catch(() => 0)) === 7);
  expect(await readTrafficSplit(cf, lb)).toEqual({ fra1: 50, london: 50 });
}, 600_000);

test('fra1 down (its primary stopped, its pool unhealthy): three of three observers agree, approved, london takes over', async () => {
  const acts = activities();
  origins[0]!.healthStatus = 503;
  await fra.stop();
  // Held until each observer's own source shows it, so the assessment reads a settled state.
  await untilFra1SeenDown(stage);

  const { result, waiting, statusAfter } = await withWorker(env, taskQueue, acts, async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-assess-emergency',
      args: [emergencyInput()],
    });
    const status = () => handle.query<FailoverStatus>('status');
    await until('the run waits for approval', async () => (await status()).failover?.phase === 'awaiting approval');
    const waiting = await status();
    await handle.executeUpdate('approve', { args: [{ by: 'alice@ops', note: 'fra1 dark' }] });
    const result = (await handle.result()) as FailoverResult;
    return { result, waiting, statusAfter: await status() };
  });

  expect(waiting.failover.assessment).toMatchObject({
    mode: 'emergency',
    down: 3,
    needed: 2,
    declaredDown: true,
    observers: [
      { observer: 'worker probes', verdict: 'down' },
      { observer: 'survivor replica', verdict: 'down' },
      { observer: 'cloudflare pool health', verdict: 'down' },
    ],
    survivorPoolHealthy: true,
    survivorRole: 'replica',
  });
  console.log(`emergency: ${waiting.failover.assessment!.observers!.map((o) => `${o.observer}: ${o.verdict} (${o.saw})`).join('; ')}`);
  expect(result).toMatchObject({
    from: 'fra1',
    to: 'london',
    approval: { by: 'alice@ops' },
    assessment: { declaredDown: true, down: 3 },
    fence: { state: 'unreachable' },
    traffic: { split: { fra1: 0, london: 100 }, sample: { london: 40 } },
    newPrimary: { server: 'london-db' },
  });
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
    `emergency failover fra1 -> london: RTO ${result.rto.fromApprovalMs} ms from approval, ${result.rto.fromStartMs} ms from start (assessment included); RPO ${JSON.stringify(result.rpo)}`,
  );
  const counts = await scheduled('failover-assess-emergency');
  expect(counts).toMatchObject({
    probeSiteFront: 1,
    observeReplicaView: 1,
    observePoolHealth: 1,
    fencePrimary: 1,
    promoteReplica: 1,
    setTrafficSplit: 1,
  });
  // Declared down with london's replica having lost it: the stopped primary is fenced once, not
  // retried through the 4 attempts' backoff (1 + 2 + 4 s), and recorded unreachable.
  expect(await attemptsOf('failover-assess-emergency', 'fencePrimary')).toEqual([1]);
  expect(result.fence).toMatchObject({ state: 'unreachable', error: expect.stringMatching(/ECONNREFUSED|no connection/) });

  // Afterwards: london the writable primary with every order, all traffic on it.
  await appWrite(lon, 'after the emergency failover');
  expect(await orderCount(lon)).toBe(8);
  expect(await through(50)).toEqual({ bySite: { london: 50 }, failed: {}, requests: 50 });
}, 600_000);
