// Issue 15: failoverSite with the production worker (dist/worker.js) SIGKILLed at every step,
// each kill point held open by construction. The worker reaches each server through a gate of the
// test's (MariaDB fra1 and london, Cloudflare's API, its edge): armed, a gate parks the next
// connection, so the activity that opened it is known to be inside its call; the run's pending
// activity (from the server) says which step it is, and only the step aimed at is killed (another
// step's connection is let through). The wait for approval is killed with nothing running. A new
// worker takes over after each kill. The invariants: the run completes once, with each step's
// activity scheduled once (a killed attempt is retried, never a second promotion), london the one
// writable primary with exactly the rows acknowledged (none lost, none twice), fra1 fenced, and all
// traffic on london.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { generateEd25519 } from '@opsflow/localcloud';
import type { FailoverSiteInput } from '../../src/specs/failover';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { FailoverResult, FailoverStatus } from '../../src/workflows/failover/failover-api';
import { scheduledActivities, siteConnections, startFailoverStage, until, type FailoverStage } from '../helpers/failover-stage';
import { appWrite, orderCount } from '../helpers/mariadb-servers';
import { killProcess, startProductionWorker } from '../helpers/production-worker';
import { startTcpGate, type TcpGate } from '../helpers/tcp-gate';
import { tempDir } from '../helpers/temp';
import { workflowBundlePath } from '../helpers/temporal';

jest.setTimeout(20 * 60_000);

let stage: FailoverStage;
let worker: ChildProcess | undefined;
let keyFile: string;
const gates: Record<'fra1' | 'london' | 'cloudflare' | 'edge', TcpGate> = {} as never;
/** Each kill: the step aimed at and the activity the server showed running. */
const kills: { step: string; running: string[] }[] = [];

async function startWorker(): Promise<void> {
  worker = await startProductionWorker({
    temporalAddress: stage.env.address,
    env: {
      ...stage.secrets,
      OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
      DIGITALOCEAN_TOKEN: stage.cloud.token,
      DIGITALOCEAN_API_URL: stage.cloud.apiUrl,
    },
  });
}

const running = async (handle: WorkflowHandle) =>
  ((await handle.describe()).raw.pendingActivities ?? []).map((a) => a.activityType?.name ?? '?');

/**
 * Arms `gate`, runs `trigger`, and kills the worker once a connection of `activity` is parked
 * there; a parked connection of another activity is let through and the gate armed again.
 */
async function killInside(handle: WorkflowHandle, gate: TcpGate, activity: string, trigger?: () => Promise<unknown>): Promise<void> {
  gate.arm();
  const triggered = trigger?.();
  for (let looks = 0; ; looks++) {
    if (looks > 50) throw new Error(`no connection of ${activity} was parked in 50 looks`);
    await gate.held();
    const now = await running(handle);
    if (now.includes(activity)) {
      await killProcess(worker!);
      kills.push({ step: activity, running: now });
      break;
    }
    gate.release();
    gate.arm();
  }
  gate.release();
  await triggered?.catch(() => undefined); // an update sent to the worker that died is not ours to judge
  await startWorker();
}

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [61, 62], orders: 8 });
  gates.fra1 = await startTcpGate(stage.fra.admin.host, stage.fra.admin.port);
  gates.london = await startTcpGate(stage.lon.admin.host, stage.lon.admin.port);
  const api = new URL(stage.cloud.apiUrl);
  gates.cloudflare = await startTcpGate(api.hostname, Number(api.port));
  const edge = new URL(stage.cloud.cloudflare.edge.url);
  gates.edge = await startTcpGate(edge.hostname, Number(edge.port));
  keyFile = path.join(tempDir('failover-chaos-keys'), 'deploy');
  writeFileSync(keyFile, generateEd25519().private, { mode: 0o600 });
}, 600_000);

afterAll(async () => {
  if (worker) await killProcess(worker);
  for (const gate of Object.values(gates)) await gate?.close();
  await stage?.stop();
});

function input(): FailoverSiteInput {
  const sites = siteConnections(stage);
  const through = (gate: TcpGate) => `http://${gate.host}:${gate.port}`;
  return {
    environment: 'stack-e-chaos',
    from: 'fra1',
    to: 'london',
    requestedBy: 'oncall@stack-e',
    mode: 'planned',
    assess: { probe: { url: `http://${stage.frontOf('fra1').address}:${stage.frontOf('fra1').port}/health` } },
    ...sites,
    cloudflare: { ...sites.cloudflare, apiUrl: `${through(gates.cloudflare)}/client/v4` },
    databases: {
      fra1: { ...stage.fra.admin, host: gates.fra1.host, port: gates.fra1.port },
      london: { ...stage.lon.admin, host: gates.london.host, port: gates.london.port },
    },
    verify: { ...sites.verify, url: through(gates.edge) },
    rpo: { maxLostTransactions: 0 },
  };
}

test('failoverSite with the worker SIGKILLed inside every step completes once: one promotion, london primary, fra1 its healthy replica, nothing lost', async () => {
  await startWorker();
  // Armed before the start, so the run's first connection to london is parked whatever the pace.
  gates.london.arm();
  const handle = await stage.env.client.workflow.start('failoverSite', {
    taskQueue: TASK_QUEUE,
    workflowId: 'failover-stack-e-chaos',
    args: [input()],
  });
  const status = () => handle.query<FailoverStatus>('status');
  // Checking the survivor: its replication read through london's gate (the assessment's own look is let through).
  await killInside(handle, gates.london, 'readReplication');
  await until('the run waits for approval', async () => (await status()).failover?.phase === 'awaiting approval');
  await appWrite(stage.fra, 'acknowledged before approval');
  // Waiting for a human: nothing runs; the kill loses no more than the worker's cache.
  await killProcess(worker!);
  kills.push({ step: 'wait for approval', running: await running(handle) });
  await startWorker();
  const approve = () => handle.executeUpdate('approve', { args: [{ by: 'alice@ops', note: 'chaos drill' }] });
  await killInside(handle, gates.fra1, 'fencePrimary', approve);
  await killInside(handle, gates.london, 'promoteReplica');
  await killInside(handle, gates.cloudflare, 'setTrafficSplit');
  await killInside(handle, gates.edge, 'sampleTraffic');
  await killInside(handle, gates.london, 'verifyWrite');
  const result = (await handle.result()) as FailoverResult;

  expect(kills.map((k) => k.step)).toEqual([
    'readReplication',
    'wait for approval',
    'fencePrimary',
    'promoteReplica',
    'setTrafficSplit',
    'sampleTraffic',
    'verifyWrite',
  ]);
  expect(kills[1]!.running).toEqual([]);
  expect(result).toMatchObject({
    from: 'fra1',
    to: 'london',
    approval: { by: 'alice@ops' },
    rpo: { lostTransactions: 0 },
    fence: { state: 'fenced' },
    traffic: { split: { fra1: 0, london: 100 } },
    newPrimary: { server: 'london-db' },
  });
  // Each step's activity once: a killed attempt was retried, never scheduled again.
  const scheduled = await scheduledActivities(stage.env.client, handle.workflowId);
  expect(scheduled).toMatchObject({
    readReplication: 1,
    fencePrimary: 1,
    promoteReplica: 1,
    setTrafficSplit: 1,
    sampleTraffic: 1,
    verifyWrite: 1,
  });
  expect(scheduled.unfencePrimary).toBeUndefined();
  // One writable primary, fra1 fenced; nothing acknowledged lost and nothing applied twice: the 8
  // orders, the one acknowledged before approval and ours after (the verify write has its own table).
  await appWrite(stage.lon, 'after the chaos');
  await expect(appWrite(stage.fra, 'on the old primary')).rejects.toThrow(/read-only/);
  expect(await orderCount(stage.lon)).toBe(10);
  expect(await stage.through(100)).toEqual({ bySite: { london: 100 }, failed: {}, requests: 100 });
  expect((await status()).failover?.phase).toBe('completed');
  await expect(
    Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
  ).resolves.toBeUndefined();
  console.log(
    `failover chaos: ${kills.length} kills (${kills.map((k) => k.step).join(', ')}); RTO ${result.rto.fromApprovalMs} ms from approval, RPO ${result.rpo.lostTransactions}`,
  );
});
