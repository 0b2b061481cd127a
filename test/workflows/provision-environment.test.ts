// provisionEnvironment on the real Temporal server against the local cloud: stack A's
// infrastructure comes up; a failure, a cancellation or a bad spec leaves nothing of ours behind.
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createCloudActivities } from '../../src/activities';
import { DigitalOceanClient } from '../../src/clients/digitalocean/client';
import type { LocalCloud } from '../../src/localcloud';
import { loadEnvironmentSpec } from '../../src/specs/load';
import type { EnvironmentSpec } from '../../src/specs/environment';
import { OpsEnvironment } from '../../src/temporal/search-attributes';
import { DIGITALOCEAN_TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/provision-environment';
import type { OperationStatus } from '../../src/workflows/status';
import { startLocalCloud } from '../helpers/localcloud';
import { startTemporal, uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let cloudWorker: Worker;
let cloudWorkerDone: Promise<void>;
const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', 'examples', 'stack-a.yaml'));

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 }, timing: { dropletCreateMs: 1500, actionMs: 150 } }));
  const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  cloudWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: DIGITALOCEAN_TASK_QUEUE,
    activities: createCloudActivities({ digitalOcean: () => client, pollMs: { first: 100, max: 400 } }),
  });
  cloudWorkerDone = cloudWorker.run();
});
afterAll(async () => {
  cloudWorker?.shutdown();
  await cloudWorkerDone;
  await cloud?.stop();
  await env?.teardown();
});

async function inventory(): Promise<Body> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: { Authorization: `Bearer ${cloud.token}` } })).json() as Promise<Body>;
}

async function withWorkflowWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueTaskQueue('provision');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: workflowBundlePath() }, activities: {} });
  return worker.runUntil(fn(taskQueue));
}

function spec(changes: Partial<EnvironmentSpec> = {}): EnvironmentSpec {
  return { ...structuredClone(stackA), ...changes };
}

test('stack A infrastructure: VPC, firewall, droplet, attached volume, reserved IP', async () => {
  const result = await withWorkflowWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start('provisionEnvironment', { taskQueue, workflowId: 'provision-stack-a', args: [{ spec: spec() }] });
    const value = (await handle.result()) as ProvisionResult;
    const status = await handle.query<OperationStatus>('status');
    expect(status.step).toBe('done');
    expect(status.resources.map((r) => r.kind)).toEqual(['vpc', 'firewall', 'droplet', 'volume', 'reserved_ip']);
    expect((await handle.describe()).searchAttributes[OpsEnvironment.name]).toEqual(['stack-a']);
    return value;
  });
  expect(result.droplets).toHaveLength(1);
  expect(result.droplets[0]).toMatchObject({ name: 'stack-a-app', publicIp: expect.stringMatching(/^127\./), privateIp: expect.stringMatching(/^10\.10\./) });
  expect(result.volumes).toEqual([{ name: 'stack-a-pgdata', id: expect.any(String), droplet: 'stack-a-app' }]);
  const inv = await inventory();
  expect(inv.volumes[0].droplet_ids).toEqual([result.droplets[0]!.id]);
  expect(inv.reserved_ips).toEqual([{ ip: result.reservedIp, droplet_id: result.droplets[0]!.id }]);
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: { Authorization: `Bearer ${cloud.token}` } });
});

test('a failure at the volume step rolls everything of ours back and leaves others’ resources alone', async () => {
  // Someone else's volume already holds the name this environment needs.
  await fetch(`${cloud.apiUrl}/v2/volumes`, { method: 'POST', headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'stack-a-pgdata', region: 'fra1', size_gigabytes: 5 }) });
  const err = await withWorkflowWorker((taskQueue) => env.client.workflow.execute('provisionEnvironment', { taskQueue, workflowId: 'provision-conflict', args: [{ spec: spec() }] }).catch((e: unknown) => e));
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  expect(failure.message).toContain('ensureVolume: volume stack-a-pgdata in fra1 already exists and is not managed by this opsflow run');
  const inv = await inventory();
  expect([inv.droplets, inv.firewalls, inv.vpcs, inv.reserved_ips]).toEqual([[], [], [], []]);
  expect(inv.volumes.map((v: Body) => v.name)).toEqual(['stack-a-pgdata']);
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: { Authorization: `Bearer ${cloud.token}` } });
});

test('onFailure keep leaves what exists and names it', async () => {
  const err = await withWorkflowWorker((taskQueue) =>
    env.client.workflow.execute('provisionEnvironment', { taskQueue, workflowId: 'provision-keep', args: [{ spec: spec({ onFailure: 'keep', droplets: [{ name: 'app', count: 1, size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64', tags: ['x'.repeat(300)] }] }) }] }).catch((e: unknown) => e),
  );
  // An invalid tag is refused at validation, before anything exists.
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('InvalidSpec');
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).message).toContain('droplets.0.tags.0');
  expect((await inventory()).vpcs).toEqual([]);

  await fetch(`${cloud.apiUrl}/v2/volumes`, { method: 'POST', headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'stack-a-pgdata', region: 'fra1', size_gigabytes: 5 }) });
  const kept = await withWorkflowWorker((taskQueue) => env.client.workflow.execute('provisionEnvironment', { taskQueue, workflowId: 'provision-keep-2', args: [{ spec: spec({ onFailure: 'keep' }) }] }).catch((e: unknown) => e));
  const failure = (kept as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('FailedAndKept');
  expect(failure.message).toContain('delete VPC, delete firewall, delete droplets');
  const inv = await inventory();
  expect([inv.droplets.length, inv.firewalls.length, inv.vpcs.length]).toEqual([1, 1, 1]);
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: { Authorization: `Bearer ${cloud.token}` } });
});

test('cancelling while droplets are being created leaves nothing behind', async () => {
  await withWorkflowWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start('provisionEnvironment', { taskQueue, workflowId: 'provision-cancel', args: [{ spec: spec() }] });
    for (let i = 0; i < 100; i++) {
      if ((await handle.query<OperationStatus>('status')).step === 'wait for droplets') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await inventory()).droplets).toHaveLength(1);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  });
  const inv = await inventory();
  expect([inv.droplets, inv.volumes, inv.firewalls, inv.vpcs, inv.reserved_ips]).toEqual([[], [], [], [], []]);
});

test('destroyEnvironment removes everything the environment owns, and a second run finds nothing', async () => {
  await withWorkflowWorker(async (taskQueue) => {
    await env.client.workflow.execute('provisionEnvironment', { taskQueue, workflowId: 'provision-then-destroy', args: [{ spec: spec() }] });
    // Something that belongs to another environment must survive.
    await env.client.workflow.execute('provisionEnvironment', { taskQueue, workflowId: 'provision-neighbour', args: [{ spec: spec({ name: 'neighbour', vpc: { ipRange: '10.77.0.0/16' }, volumes: [], reservedIp: undefined }) }] });
    const destroyed = (await env.client.workflow.execute('destroyEnvironment', { taskQueue, workflowId: 'destroy-stack-a', args: [{ environment: 'stack-a' }] })) as Body;
    expect([destroyed.droplets.length, destroyed.volumes.length, destroyed.firewalls.length, destroyed.vpcs.length, destroyed.reservedIps.length]).toEqual([1, 1, 1, 1, 1]);
    const again = (await env.client.workflow.execute('destroyEnvironment', { taskQueue, workflowId: 'destroy-stack-a-again', args: [{ environment: 'stack-a' }] })) as Body;
    expect([again.droplets, again.volumes, again.firewalls, again.vpcs, again.reservedIps]).toEqual([[], [], [], [], []]);
  });
  const inv = await inventory();
  expect(inv.droplets.map((d: Body) => d.name)).toEqual(['neighbour-app']);
  expect([inv.volumes, inv.reserved_ips]).toEqual([[], []]);
  expect(inv.vpcs.map((v: Body) => v.name)).toEqual(['neighbour-vpc']);
});
