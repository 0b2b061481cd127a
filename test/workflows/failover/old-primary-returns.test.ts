// The old primary comes back after an emergency failover (issue 15): it stays read-only and out of
// the pool, no split brain. On the real parts (failover-stage: Temporal dev server, MariaDB and
// Redis pairs, the local cloud's Cloudflare API and edge). fra1 goes dark (its MariaDB and Redis
// stopped, its health 503); the failover finds both unreachable at the fence and leaves
// fenceReturningPrimary watching. The watcher is held by construction: while no worker serves it
// nothing of it runs, so fra1 is restarted on its data in that gap and is seen writable (the hazard),
// then the worker comes back and the watcher's next try fences it. Afterwards fra1 refuses writes
// with MariaDB's read-only error and Redis's NOREPLICAS, london is the one writable primary, and 100
// requests through the edge all land on london although Cloudflare's monitors see fra1 healthy
// again. A watcher whose failover is followed by a failback stands down without touching fra1.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { fenceWatchWorkflowId } from '../../../src/names/workflow-ids';
import { readTrafficSplit } from '../../../src/integrations/cloudflare/load-balancing';
import type { FailbackSiteInput } from '../../../src/specs/failback';
import type { FailoverSiteInput } from '../../../src/specs/failover';
import type { FenceWatchInput } from '../../../src/specs/fence-watch';
import type { FailbackResult, FailbackStatus } from '../../../src/workflows/failover/failback-api';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import type { FenceWatchResult, FenceWatchView } from '../../../src/workflows/failover/fence-watch-api';
import {
  runActivity,
  scheduledActivities,
  siteConnections,
  startFailoverStage,
  until,
  untilFra1SeenDown,
  type FailoverStage,
} from '../../helpers/failover-stage';
import { appWrite, orderCount } from '../../helpers/mariadb-servers';
import { freePort } from '../../helpers/processes';
import { redisRole } from '../../helpers/redis-servers';
import { uniqueTaskQueue, withWorker, workflowBundlePath } from '../../helpers/temporal';

let stage: FailoverStage;
const taskQueue = uniqueTaskQueue('old-primary');
// Named as test/replay names its files: OPSFLOW_RECORD_HISTORIES=1 records these runs there.
const FAILOVER_ID = 'failover-site-old-primary-dead';
const WATCH_ID = fenceWatchWorkflowId(FAILOVER_ID);

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [71, 72], orders: 5, redis: true });
}, 600_000);
afterAll(async () => stage?.stop());

function failoverInput(): FailoverSiteInput {
  const front = stage.frontOf('fra1');
  return {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    requestedBy: 'oncall@stack-e',
    mode: 'emergency',
    assess: { probe: { url: `http://${front.address}:${front.port}/health`, requests: 3, timeoutSeconds: 5 } },
    ...siteConnections(stage),
    // A try a second, three per run: the test sees the watcher continue as new.
    fenceWatch: { intervalSeconds: 1, roundsPerRun: 3 },
  };
}

const readOnly = async (server: typeof stage.fra) => (await server.sql('SELECT @@global.read_only')).trim();
const watchStatus = () => stage.env.client.workflow.getHandle(WATCH_ID).query<FenceWatchView>('status');

const scheduled = (workflowId: string) => scheduledActivities(stage.env.client, workflowId);

/** Replays a run against the current code; with OPSFLOW_RECORD_HISTORIES=1 also records it into test/replay/<file>.json. */
async function replayAndRecord(workflowId: string, runId: string | undefined, file: string): Promise<void> {
  const history = await stage.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  await expect(Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, history, file)).resolves.toBeUndefined();
  const json = historyToJSON(history);
  // References only: no password or token of the stage may be in the history.
  for (const secret of Object.values(stage.secrets)) expect(json.includes(secret)).toBe(false);
  if (process.env.OPSFLOW_RECORD_HISTORIES === '1') writeFileSync(path.join(__dirname, '..', '..', 'replay', `${file}.json`), json);
}

test('fra1 dark, failed over; its MariaDB and Redis restarted writable are fenced by the watcher the failover left; london the one primary, all traffic on it while fra1 is healthy again', async () => {
  const acts = stage.activities();
  const fra1 = stage.frontOf('fra1');
  fra1.healthStatus = 503;
  await stage.fra.stop();
  await stage.redis!.fra.stop();
  await untilFra1SeenDown(stage);

  const { result, firstRunId, waitingWatch } = await withWorker(stage.env, taskQueue, acts, async () => {
    const handle = await stage.env.client.workflow.start('failoverSite', { taskQueue, workflowId: FAILOVER_ID, args: [failoverInput()] });
    await until(
      'the failover waits for approval',
      async () => (await handle.query<FailoverStatus>('status')).failover?.phase === 'awaiting approval',
    );
    await handle.executeUpdate('approve', { args: [{ by: 'alice@ops', note: 'fra1 dark' }] });
    const result = (await handle.result()) as FailoverResult;
    // Three tries a run: a fourth means it continued as new, fra1 still dark.
    await until('the watcher tried 4 times over 2 runs', async () => {
      const s = await watchStatus();
      return s.runs >= 2 && s.tries >= 4;
    });
    return { result, firstRunId: result.fenceWatch!.runId!, waitingWatch: await watchStatus() };
  });

  expect(result).toMatchObject({
    fence: { state: 'unreachable' },
    redis: { fence: { state: 'unreachable' }, promotion: { promoted: true } },
    traffic: { split: { fra1: 0, london: 100 }, sample: { london: 40 } },
    newPrimary: { server: 'london-db' },
    fenceWatch: { workflowId: WATCH_ID },
  });
  // The failover has ended; its watcher (ABANDON) runs on, both servers still waiting, each try recorded.
  expect((await stage.env.client.workflow.getHandle(FAILOVER_ID).describe()).status.name).toBe('COMPLETED');
  expect((await stage.env.client.workflow.getHandle(WATCH_ID).describe()).status.name).toBe('RUNNING');
  expect(waitingWatch).toMatchObject({
    phase: 'watching',
    environment: 'stack-e',
    failoverWorkflowId: FAILOVER_ID,
    intervalSeconds: 1,
    failoverRecorded: true,
    database: { server: 'fra1-db', state: 'waiting' },
    redis: { server: 'fra1-redis', state: 'waiting' },
  });
  expect(waitingWatch.database!.misses).toBe(waitingWatch.tries);
  expect(waitingWatch.recent.length).toBeLessThanOrEqual(5);
  expect(waitingWatch.recent.at(-1)!.saw['fra1-db']).toMatch(/^fencePrimary: .*no connection/);
  expect(waitingWatch.recent.at(-1)!.saw['fra1-redis']).toMatch(/^fenceRedisPrimary: .*no connection/);
  console.log(`watching: ${waitingWatch.tries} tries over ${waitingWatch.runs} runs; last ${JSON.stringify(waitingWatch.recent.at(-1))}`);

  // No worker serves the watcher now: fra1 restarted on its data comes back writable (the hazard).
  await stage.fra.start();
  await stage.redis!.fra.start();
  expect(await readOnly(stage.fra)).toBe('0');
  expect(await stage.redis!.fra.command('SET', 'returned', '1')).toBe('OK');
  fra1.healthStatus = 200;
  await until('Cloudflare sees fra1 healthy again', async () => {
    const health = await runActivity(() => acts.readPoolHealth({ cloudflare: stage.cloudflare(), loadBalancer: stage.lb }));
    return health.fra1!.healthy === true;
  });

  const { ended, fencedWatch } = await withWorker(stage.env, taskQueue, acts, async () => {
    const ended = (await stage.env.client.workflow.getHandle(WATCH_ID).result()) as FenceWatchResult;
    return { ended, fencedWatch: await watchStatus() };
  });
  expect(ended).toMatchObject({
    outcome: 'fenced',
    database: { server: 'fra1-db', state: 'fenced', killed: expect.any(Number) },
    redis: { server: 'fra1-redis', state: 'fenced' },
  });
  expect(ended.tries).toBeGreaterThan(waitingWatch.tries);
  expect(fencedWatch.phase).toBe('fenced');
  expect(fencedWatch.recent.at(-1)!.saw).toEqual({
    'fra1-db': expect.stringMatching(/^fenced \(read_only on/),
    'fra1-redis': expect.stringMatching(/^fenced \(writes refused/),
  });
  console.log(`fenced: ${ended.detail}; database ${JSON.stringify(ended.database)}; redis ${JSON.stringify(ended.redis)}`);

  // fra1 refuses writes, london is the one writable primary.
  expect(await readOnly(stage.fra)).toBe('1');
  await expect(appWrite(stage.fra, 'on the returned old primary')).rejects.toThrow(/1290.*--read-only/);
  await expect(stage.redis!.fra.command('SET', 'returned', '2')).rejects.toThrow(/NOREPLICAS/);
  expect(await readOnly(stage.lon)).toBe('0');
  const before = await orderCount(stage.lon);
  await appWrite(stage.lon, 'after fra1 returned');
  expect(await orderCount(stage.lon)).toBe(before + 1);
  expect(await redisRole(stage.redis!.lon)).toBe('master');
  expect(await stage.redis!.lon.command('SET', 'after', '1')).toBe('OK');

  // Out of the pool: Cloudflare's monitors see fra1 healthy, yet its weight stays 0 and no request reaches it.
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 0, london: 100 });
  const edge = stage.cloud.cloudflare.edge;
  edge.resetCounts();
  const servedBefore = fra1.served;
  const sample = await stage.through(100);
  // The edge's own tally: every request steered to london's pool, none to fra1's or the fallback.
  expect(edge.counts()).toMatchObject({ pools: { [stage.lb.pools.london!]: 100 }, fallback: 0, unrouted: 0 });
  expect(fra1.served).toBe(servedBefore);
  // Every answer came from london. The only other answer allowed is the edge's 521 for a connection
  // to london's origin that broke (seen once in four runs at load 12), matched by the edge's own count.
  expect(Object.keys(sample.bySite)).toEqual(['london']);
  expect(sample.bySite.london! + (sample.failed['status 521'] ?? 0)).toBe(100);
  expect(sample.failed['status 521'] ?? 0).toBe(edge.counts().originErrors);
  console.log(`through the edge: ${JSON.stringify(sample)}; edge tally ${JSON.stringify(edge.counts())}`);

  // The fence ran once per server; the first run ended by continuing as new.
  const firstRun = await stage.env.client.workflow.getHandle(WATCH_ID, firstRunId).fetchHistory();
  expect(firstRun.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
  await replayAndRecord(FAILOVER_ID, undefined, FAILOVER_ID);
  await replayAndRecord(WATCH_ID, firstRunId, 'fence-returning-primary-continued');
  await replayAndRecord(WATCH_ID, undefined, 'fence-returning-primary-fenced');
}, 600_000);

function failbackInput(): FailbackSiteInput {
  return {
    environment: 'stack-e',
    from: 'london',
    to: 'fra1',
    requestedBy: 'oncall@stack-e',
    ...siteConnections(stage),
    catchUp: { timeoutSeconds: 60, intervalSeconds: 1 },
  };
}

test('a watcher whose failover a failback follows stands down at its first look, never fencing the primary the failback promotes', async () => {
  // Where the test above left stack-e: the failover fra1 -> london stands, fra1 is back and read-only.
  const failover = await stage.env.client.workflow.getHandle(FAILOVER_ID).describe();
  // No worker serves the watcher's queue until the failback holds the environment: its first look comes after, by construction.
  const watchQueue = uniqueTaskQueue('old-primary-watch');
  const input: FenceWatchInput = {
    environment: 'stack-e',
    failover: { workflowId: FAILOVER_ID, runId: failover.runId, from: 'fra1', to: 'london' },
    database: stage.fra.admin,
    redis: stage.redis!.fra.spec,
    intervalSeconds: 1,
  };
  const watch = await stage.env.client.workflow.start('fenceReturningPrimary', {
    taskQueue: watchQueue,
    workflowId: 'fence-watch-superseded',
    args: [input],
  });

  const { ended, back } = await withWorker(stage.env, taskQueue, stage.activities(), async () => {
    const handle = await stage.env.client.workflow.start('failbackSite', {
      taskQueue,
      workflowId: 'failback-after-old-primary-returned',
      args: [failbackInput()],
    });
    await until(
      'the failback waits for approval',
      async () => (await handle.query<FailbackStatus>('status')).failback?.phase === 'awaiting approval',
    );
    const ended = (await withWorker(stage.env, watchQueue, stage.activities(), () => watch.result())) as FenceWatchResult;
    await handle.executeUpdate('approve', { args: [{ by: 'alice@ops', note: 'fra1 is back' }] });
    return { ended, back: (await handle.result()) as FailbackResult };
  });

  expect(ended).toMatchObject({
    outcome: 'superseded',
    tries: 0,
    database: { state: 'waiting', misses: 0 },
    redis: { state: 'waiting', misses: 0 },
  });
  expect(ended.detail).toMatch(
    /^failback failback-after-old-primary-returned \(running, since \S+\) came after the failover: the watch stands down/,
  );
  // It read the inventory once and fenced nothing.
  expect(await scheduled('fence-watch-superseded')).toEqual({ readOperationsAfter: 1 });
  console.log(`superseded: ${ended.detail}`);

  // The failback made fra1 the primary again: writable, its Redis the primary, london following.
  expect(back).toMatchObject({ from: 'london', to: 'fra1', newPrimary: { server: 'fra1-db' } });
  expect(await readOnly(stage.fra)).toBe('0');
  const before = await orderCount(stage.fra);
  await appWrite(stage.fra, 'after the failback');
  expect(await orderCount(stage.fra)).toBe(before + 1);
  expect(await readOnly(stage.lon)).toBe('1');
  expect(await redisRole(stage.redis!.fra)).toBe('master');
  expect(await stage.redis!.fra.command('SET', 'after-failback', '1')).toBe('OK');
}, 600_000);

test('a server that never answers: the watcher gives up after its max duration, naming the server and its last try', async () => {
  const input: FenceWatchInput = {
    environment: 'stack-e',
    // A run the inventory never recorded: nothing comes after it, so only the clock ends the watch.
    failover: { workflowId: 'failover-never-recorded', runId: 'no-such-run', from: 'fra1', to: 'london' },
    database: { ...stage.fra.admin, name: 'gone-db', port: await freePort() },
    intervalSeconds: 1,
    maxDurationSeconds: 3,
  };
  const { ended, status } = await withWorker(stage.env, taskQueue, stage.activities(), async () => {
    const handle = await stage.env.client.workflow.start('fenceReturningPrimary', {
      taskQueue,
      workflowId: 'fence-watch-gives-up',
      args: [input],
    });
    return { ended: (await handle.result()) as FenceWatchResult, status: await handle.query<FenceWatchView>('status') };
  });
  expect(ended).toMatchObject({ outcome: 'gave up', database: { server: 'gone-db', state: 'waiting' } });
  expect(ended.tries).toBeGreaterThanOrEqual(1);
  expect(ended.database!.misses).toBe(ended.tries);
  expect(ended.detail).toMatch(/^gone-db not fenced in 3 s \(last try: .*no connection.*\): fence it by hand/);
  expect(status).toMatchObject({ phase: 'gave up', failoverRecorded: false, ended: ended.detail });
  expect(await scheduled('fence-watch-gives-up')).toEqual({ readOperationsAfter: ended.tries, fencePrimary: ended.tries });
}, 600_000);
