// Chaos beyond provisioning, on one stack A environment: the production worker is SIGKILLed inside
// deployRelease (a healthy release, then inside the rollback of an unhealthy one) and inside
// destroyEnvironment, each kill aimed at a step (the worker is stopped, the runs read from the
// server, and it dies only when an attempt of that step runs on it) and found in the history
// afterwards. The invariants: a release lands or is rolled back to the previous tags, with every
// service and every image line once; a destroy leaves nothing in the local cloud.
import type { ChildProcess } from 'node:child_process';
import { provisionWorkflowId } from '../../src/names/workflow-ids';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildDeployInput } from '../../src/client/deploy';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { DeployResult } from '../../src/workflows/release/deploy-release';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import type { OperationStatus } from '../../src/workflows/shared/status';
import { landedKills, lookAndAim, type AimedKill } from '../helpers/aimed-kills';
import { stackA, startChaosCloud, until, type ChaosCloud } from '../helpers/chaos-harness';
import { connect } from '../helpers/droplet-host';
import { killProcess } from '../helpers/production-worker';
import { leftovers } from '../helpers/provision-harness';
import { deployStep, expectRunningOnce as expectRunningOnceOn } from '../helpers/release-checks';
import type { ActivityAttempt } from '../helpers/run-activities';
import { startTemporal } from '../helpers/temporal';

jest.setTimeout(10 * 60_000);

const spec = { ...stackA('release-chaos', '10.140.0.0/16'), onFailure: 'rollback' as const };

let env: TestWorkflowEnvironment;
let chaos: ChaosCloud;
let worker: ChildProcess | undefined;
let provisioned: ProvisionResult;

const startWorker = async () => (worker = await chaos.startWorker(env.address));

beforeAll(async () => {
  env = await startTemporal();
  chaos = await startChaosCloud();
  await startWorker();
  provisioned = (await env.client.workflow.execute('provisionEnvironment', {
    taskQueue: TASK_QUEUE,
    workflowId: provisionWorkflowId(spec.name),
    args: [{ spec }],
  })) as ProvisionResult;
});
afterAll(async () => {
  if (worker) await killProcess(worker);
  await chaos?.cloud.stop();
  await env?.teardown();
});

/**
 * Looks at the stopped worker until `wanted` finds an attempt to kill it in (bounded), then kills it
 * and starts it again. Returns the kill.
 */
async function killAimedAt(
  handle: WorkflowHandle,
  stepOf: (a: ActivityAttempt) => string,
  wanted: (step: string) => boolean,
): Promise<AimedKill> {
  const kill = await until(`a running attempt of the aimed step in ${handle.workflowId}`, async () => {
    if (!(await handle.describe()).status.name.startsWith('RUNNING'))
      throw new Error(`${handle.workflowId} ended before the aimed step was found running`);
    return (await lookAndAim(worker!, [handle], stepOf, wanted)).kill;
  });
  await startWorker();
  return kill;
}

/** Exactly these images run on the host, each service once, each image line once, every service answering its tag. */
const expectRunningOnce = (images: Record<string, string>) => expectRunningOnceOn(provisioned, spec.region, chaos.deployKey, images);

const deployInput = (images: Record<string, string>) => buildDeployInput({ result: provisioned, spec }, images);

test('a SIGKILL while a release is pulled and started (or in its health gate): the release lands once', async () => {
  const before = provisioned.application!.images;
  // A slow auth answers each probe after about 2 s: its health gate is held open that long.
  const images = { auth: 'ghcr.io/acme/auth:2.0.2-slow', booking: 'ghcr.io/acme/booking:3.2.1' };
  const handle = await env.client.workflow.start('deployRelease', {
    taskQueue: TASK_QUEUE,
    workflowId: 'deploy-chaos',
    args: [deployInput(images)],
  });
  const kill = await killAimedAt(handle, deployStep, (step) => step === 'pull and start' || step === 'health gate');
  const result = (await handle.result()) as DeployResult;
  expect(result.images).toEqual(images);
  const { perStep } = await landedKills([handle], [kill]);
  expect((perStep.get('pull and start') ?? 0) + (perStep.get('health gate') ?? 0)).toBeGreaterThanOrEqual(1);
  await expectRunningOnce({ ...before, ...images });
  console.log(`deploy chaos: killed in ${kill.steps.join(', ')}; the release landed once`);
});

test('a SIGKILL inside the rollback of an unhealthy release: rolled back to the previous tags, once', async () => {
  const current = { ...provisioned.application!.images, auth: 'ghcr.io/acme/auth:2.0.2-slow', booking: 'ghcr.io/acme/booking:3.2.1' };
  const handle = await env.client.workflow.start('deployRelease', {
    taskQueue: TASK_QUEUE,
    workflowId: 'deploy-chaos-rollback',
    args: [deployInput({ auth: 'ghcr.io/acme/auth:2.0.4-unhealthy', fleet: 'ghcr.io/acme/fleet:1.1.1' })],
  });
  // Rolling back lasts until the saga ends: every attempt running from now on is the rollback's
  // (its health gate waits on the slow auth put back, about 2 s a probe).
  await until('the release to be rolling back', async () =>
    (await handle.query<OperationStatus>('status')).step === 'rolling back' ? true : undefined,
  );
  const kill = await killAimedAt(
    handle,
    (a) => `rollback: ${deployStep(a)}`,
    () => true,
  );
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('RolledBack');
  const { perStep } = await landedKills([handle], [kill]);
  expect([...perStep.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
  expect((await handle.query<OperationStatus>('status')).step).toBe('rolled back');
  await expectRunningOnce(current);
  console.log(`rollback chaos: killed in ${kill.steps.join(', ')}; rolled back once`);
});

// The destroy steps that wait on the cloud (an action or a listing); reads are held 1.5 s meanwhile
// so a look finds their attempts running. Each kill costs its attempt the 20 s heartbeat timeout.
const DESTROY_AIMS = ['release reserved IPs', 'detach volumes', 'delete droplets'];
const DESTROY_ACTIVITIES: Record<string, string> = {
  listEnvironmentResources: 'find resources',
  releaseFloatingIp: 'release reserved IPs',
  detachVolume: 'detach volumes',
  deleteServersTagged: 'delete droplets',
  deleteVolume: 'delete volumes',
  deleteFirewall: 'delete firewalls',
  deleteNetwork: 'delete VPCs',
};

test('SIGKILLs in each waiting step of destroyEnvironment: everything is removed, nothing orphaned', async () => {
  const handle = await env.client.workflow.start('destroyEnvironment', {
    taskQueue: TASK_QUEUE,
    workflowId: 'destroy-chaos',
    args: [{ environment: spec.name }],
  });
  const kills: AimedKill[] = [];
  const hit = new Set<string>();
  try {
    await chaos.control('PUT', 'faults', { rules: [{ method: 'GET', path: '/v2/', latencyMs: 1500 }] });
    for (const aim of DESTROY_AIMS) {
      if (hit.has(aim)) continue;
      const kill = await killAimedAt(
        handle,
        (a) => DESTROY_ACTIVITIES[a.type] ?? `unknown (${a.type})`,
        (step) => step === aim,
      );
      kills.push(kill);
      for (const step of kill.steps) hit.add(step);
    }
  } finally {
    await chaos.control('PUT', 'faults', {});
  }
  await handle.result();
  const { perStep } = await landedKills([handle], kills);
  expect(Object.fromEntries(DESTROY_AIMS.map((s) => [s, (perStep.get(s) ?? 0) >= 1]))).toEqual(
    Object.fromEntries(DESTROY_AIMS.map((s) => [s, true])),
  );
  // The whole local cloud, not only what carries the environment's name: nothing is left but the account's key.
  const inventory = await chaos.control('GET', 'inventory');
  expect(leftovers(inventory, spec.name, { unassignedIps: true })).toEqual([]);
  expect({
    droplets: inventory.droplets,
    volumes: inventory.volumes,
    firewalls: inventory.firewalls,
    vpcs: inventory.vpcs,
    reservedIps: inventory.reserved_ips,
  }).toEqual({ droplets: [], volumes: [], firewalls: [], vpcs: [], reservedIps: [] });
  // The droplet's host is gone with it: its SSH port no longer answers.
  const host = provisioned.hosts[0]!;
  await expect(
    connect({ id: host.dropletId, address: host.address, port: provisioned.ssh.port, region: spec.region }, chaos.deployKey),
  ).rejects.toThrow();
  console.log(`destroy chaos: ${kills.length} kills, landed per step: ${[...perStep.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}`);
});
