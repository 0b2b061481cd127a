// provisionEnvironment on the real Temporal server against the local cloud: stack A comes up whole
// (infrastructure, volume mounted over SSH, bootstrap, compose application, health gate); a
// failure, a cancellation or a bad spec leaves nothing of ours behind.
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { OpsEnvironment } from '../../../src/temporal/search-attributes';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { connect, exec } from '../../helpers/droplet-host';
import type { OpsflowWorkers } from '../../helpers/opsflow-workers';
import { startProvisionHarness, type ProvisionHarness } from '../../helpers/provision-harness';
import { uniqueTaskQueue } from '../../helpers/temporal';
import { decodedText } from '../../helpers/history-text';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: OpsflowWorkers;
const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));

let harness: ProvisionHarness;

beforeAll(async () => {
  harness = await startProvisionHarness();
  ({ env, cloud, workers } = harness);
});
afterAll(async () => {
  await harness?.stop();
});

async function inventory(): Promise<Body> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: cloud.controlHeaders })).json() as Promise<Body>;
}

async function withWorkflowWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueTaskQueue('provision');
  return workers.withWorkflowWorker(taskQueue, () => fn(taskQueue));
}

function spec(changes: Partial<EnvironmentSpec> = {}): EnvironmentSpec {
  return { ...structuredClone(stackA), ...changes };
}

test('stack A whole: infrastructure, volume mounted, five services and PostgreSQL healthy, reserved IP', async () => {
  const result = await withWorkflowWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start('provisionEnvironment', {
      taskQueue,
      workflowId: 'provision-stack-a',
      args: [{ spec: spec() }],
    });
    const value = (await handle.result()) as ProvisionResult;
    const status = await handle.query<OperationStatus>('status');
    expect(status.step).toBe('done');
    expect(status.completedSteps).toEqual(
      expect.arrayContaining(['wait for SSH', 'mount volumes', 'bootstrap', 'deploy application', 'health gate']),
    );
    // Since patch provision-at-once volumes are made with the VPC and firewall, before the droplets.
    expect(status.resources.map((r) => r.kind)).toEqual(['vpc', 'firewall', 'volume', 'droplet', 'reserved_ip']);
    expect((await handle.describe()).searchAttributes[OpsEnvironment.name]).toEqual(['stack-a']);
    // The secret went to the host, never into history.
    const history = decodedText(await handle.fetchHistory());
    expect(history).toContain('env:STACK_A_POSTGRES_PASSWORD'); // payloads decoded: the reference is there
    expect(history).not.toContain('correct-horse-battery');
    return value;
  });
  expect(result.droplets).toHaveLength(1);
  const app = result.droplets[0]!;
  expect(app).toMatchObject({
    name: 'stack-a-app',
    publicIp: expect.stringMatching(/^127\./),
    privateIp: expect.stringMatching(/^10\.10\./),
  });
  expect(result.volumes).toEqual([
    {
      name: 'stack-a-pgdata',
      id: expect.any(String),
      droplet: 'stack-a-app',
      mountPoint: '/mnt/pgdata',
      device: '/dev/disk/by-id/scsi-0DO_Volume_stack-a-pgdata',
    },
  ]);
  expect(result.hosts).toEqual([
    {
      instance: 'app',
      dropletId: app.id,
      address: app.publicIp,
      privateAddress: app.privateIp,
      hostKey: expect.stringMatching(/^SHA256:/),
    },
  ]);
  expect(result.urls.sort()).toEqual([3000, 8081, 8082, 8083, 8084].map((port) => `http://${app.publicIp}:${port}/health`));
  expect(result.application).toEqual({ directory: '/opt/app', images: stackA.application!.images });
  const inv = await inventory();
  expect(inv.volumes[0].droplet_ids).toEqual([app.id]);
  expect(inv.reserved_ips).toEqual([{ ip: result.reservedIp, droplet_id: app.id }]);

  // What an operator would check by hand: the services answer, PostgreSQL's data is on the volume.
  for (const url of result.urls) expect((await fetch(url)).status).toBe(200);
  const { client, fingerprint } = await connect(
    { id: app.id, address: app.publicIp, port: result.ssh.port, region: 'fra1' },
    workers.deployKey,
  );
  try {
    expect(fingerprint).toBe(result.hosts[0]!.hostKey);
    const ps = await exec(client, "cd /opt/app && docker compose ps --format '{{.Service}} {{.State}}'");
    expect(ps.stdout.trim().split('\n').sort()).toEqual([
      'auth running',
      'booking running',
      'fleet running',
      'frontend running',
      'payment running',
      'postgres running',
    ]);
    const mounted = await exec(
      client,
      'mountpoint -q /mnt/pgdata && ls /mnt/pgdata && stat -c %a /opt/app/.env && systemctl is-enabled booking.service',
    );
    expect(mounted.stdout).toMatch(/PG_VERSION/);
    expect(mounted.stdout).toMatch(/\n600\nenabled\n$/);
  } finally {
    client.end();
  }
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: cloud.controlHeaders });
});

test('a failure at the volume step rolls everything of ours back and leaves others’ resources alone', async () => {
  // Someone else's volume already holds the name this environment needs.
  await fetch(`${cloud.apiUrl}/v2/volumes`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'stack-a-pgdata', region: 'fra1', size_gigabytes: 5 }),
  });
  const err = await withWorkflowWorker((taskQueue) =>
    env.client.workflow
      .execute('provisionEnvironment', { taskQueue, workflowId: 'provision-conflict', args: [{ spec: spec() }] })
      .catch((e: unknown) => e),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  expect(failure.message).toContain('ensureVolume: volume stack-a-pgdata in fra1 already exists and is not managed by this opsflow run');
  const inv = await inventory();
  expect([inv.droplets, inv.firewalls, inv.vpcs, inv.reserved_ips]).toEqual([[], [], [], []]);
  expect(inv.volumes.map((v: Body) => v.name)).toEqual(['stack-a-pgdata']);
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: cloud.controlHeaders });
});

test('onFailure keep leaves what exists and names it', async () => {
  const err = await withWorkflowWorker((taskQueue) =>
    env.client.workflow
      .execute('provisionEnvironment', {
        taskQueue,
        workflowId: 'provision-keep',
        args: [
          {
            spec: spec({
              onFailure: 'keep',
              droplets: [{ name: 'app', count: 1, size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64', tags: ['x'.repeat(300)] }],
            }),
          },
        ],
      })
      .catch((e: unknown) => e),
  );
  // An invalid tag is refused at validation, before anything exists.
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('InvalidSpec');
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).message).toContain('droplets.0.tags.0');
  expect((await inventory()).vpcs).toEqual([]);

  await fetch(`${cloud.apiUrl}/v2/volumes`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'stack-a-pgdata', region: 'fra1', size_gigabytes: 5 }),
  });
  const kept = await withWorkflowWorker((taskQueue) =>
    env.client.workflow
      .execute('provisionEnvironment', { taskQueue, workflowId: 'provision-keep-2', args: [{ spec: spec({ onFailure: 'keep' }) }] })
      .catch((e: unknown) => e),
  );
  const failure = (kept as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('FailedAndKept');
  // The volume is made beside the VPC and firewall, before any droplet (issue 17): its conflict
  // stops the run with those two kept and no droplet made.
  expect(failure.message).toContain('delete VPC, delete firewall');
  expect(failure.message).not.toContain('delete droplets');
  const inv = await inventory();
  expect([inv.droplets.length, inv.firewalls.length, inv.vpcs.length]).toEqual([0, 1, 1]);
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: cloud.controlHeaders });
});

test('cancelling while droplets are being created leaves nothing behind', async () => {
  await withWorkflowWorker(async (taskQueue) => {
    const handle = await env.client.workflow.start('provisionEnvironment', {
      taskQueue,
      workflowId: 'provision-cancel',
      args: [{ spec: spec() }],
    });
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
    await env.client.workflow.execute('provisionEnvironment', {
      taskQueue,
      workflowId: 'provision-then-destroy',
      args: [{ spec: spec() }],
    });
    // Something that belongs to another environment must survive.
    await env.client.workflow.execute('provisionEnvironment', {
      taskQueue,
      workflowId: 'provision-neighbour',
      args: [{ spec: spec({ name: 'neighbour', vpc: { ipRange: '10.77.0.0/16' }, volumes: [], reservedIp: undefined }) }],
    });
    const destroyed = (await env.client.workflow.execute('destroyEnvironment', {
      taskQueue,
      workflowId: 'destroy-stack-a',
      args: [{ environment: 'stack-a' }],
    })) as Body;
    expect([
      destroyed.servers.length,
      destroyed.volumes.length,
      destroyed.firewalls.length,
      destroyed.networks.length,
      destroyed.floatingIps.length,
    ]).toEqual([1, 1, 1, 1, 1]);
    const again = (await env.client.workflow.execute('destroyEnvironment', {
      taskQueue,
      workflowId: 'destroy-stack-a-again',
      args: [{ environment: 'stack-a' }],
    })) as Body;
    expect([again.servers, again.volumes, again.firewalls, again.networks, again.floatingIps]).toEqual([[], [], [], [], []]);
  });
  const inv = await inventory();
  expect(inv.droplets.map((d: Body) => d.name)).toEqual(['neighbour-app']);
  expect([inv.volumes, inv.reserved_ips]).toEqual([[], []]);
  expect(inv.vpcs.map((v: Body) => v.name)).toEqual(['neighbour-vpc']);
});
