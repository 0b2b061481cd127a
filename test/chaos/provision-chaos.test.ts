// Chaos: the real worker process is SIGKILLed 20 times at random moments while four environments
// provision, and restarted each time; then API faults (20% 5xx, 429 storms). Every workflow must
// end correctly with zero duplicate and zero orphaned resources, counted from the local cloud.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '../../src/localcloud';
import { loadEnvironmentSpec } from '../../src/specs/load';
import type { EnvironmentSpec } from '../../src/specs/environment';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/provision-environment';
import { startLocalCloud } from '../helpers/localcloud';
import { startTemporal, workflowBundlePath } from '../helpers/temporal';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
jest.setTimeout(10 * 60_000);

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');
const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', 'examples', 'stack-a.yaml'));

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 }, timing: { dropletCreateMs: 1200, actionMs: 300 } }));
});
afterAll(async () => {
  await cloud?.stop();
  await env?.teardown();
});

/** The production worker (dist/worker.js), pointed at this test's server and local cloud. */
function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      OPSFLOW_WORKFLOW_BUNDLE: workflowBundlePath(),
      OPSFLOW_METRICS_ADDRESS: 'off',
      DIGITALOCEAN_TOKEN: cloud.token,
      DIGITALOCEAN_API_URL: cloud.apiUrl,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('"worker started"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}):\n${log}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function environment(n: number, prefix: string): EnvironmentSpec {
  return { ...structuredClone(stackA), name: `${prefix}-${n}`, vpc: { ipRange: `10.${100 + n}.0.0/16` } };
}

async function inventory(): Promise<Body> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: { Authorization: `Bearer ${cloud.token}` } })).json() as Promise<Body>;
}

/** Every resource belongs to exactly one environment, and each environment has exactly one of each. */
function expectExactlyOneEach(inv: Body, names: string[]): void {
  expect(inv.droplets.map((d: Body) => d.name).sort()).toEqual(names.map((n) => `${n}-app`).sort());
  expect(inv.volumes.map((v: Body) => v.name).sort()).toEqual(names.map((n) => `${n}-pgdata`).sort());
  expect(inv.vpcs.map((v: Body) => v.name).sort()).toEqual(names.map((n) => `${n}-vpc`).sort());
  expect(inv.firewalls.map((f: Body) => f.name).sort()).toEqual(names.map((n) => `${n}-fw`).sort());
  expect(inv.reserved_ips).toHaveLength(names.length);
  for (const v of inv.volumes) expect(v.droplet_ids).toHaveLength(1);
}

test('20 SIGKILLs of the worker during four provisionings: all finish, nothing duplicated or orphaned', async () => {
  let worker = await startWorker();
  const specs = [1, 2, 3, 4].map((n) => environment(n, 'chaos'));
  const handles = await Promise.all(specs.map((spec) => env.client.workflow.start('provisionEnvironment', { taskQueue: TASK_QUEUE, workflowId: `provision-${spec.name}`, args: [{ spec }] })));

  // Seeded, so a failing run can be repeated.
  let seed = 20261122;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let kills = 0;
  while (kills < 20) {
    await new Promise((r) => setTimeout(r, 200 + random() * 1000));
    await kill(worker);
    kills++;
    worker = await startWorker();
  }
  try {
    const results = (await Promise.all(handles.map((h) => h.result()))) as ProvisionResult[];
    expect(results.map((r) => r.environment)).toEqual(specs.map((s) => s.name));
    for (const r of results) expect(r.droplets[0]?.publicIp).toMatch(/^127\./);
  } finally {
    await kill(worker);
  }
  expect(kills).toBe(20);
  expectExactlyOneEach(await inventory(), specs.map((s) => s.name));
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: { Authorization: `Bearer ${cloud.token}` } });
});

test('with 20% of API calls failing and 429 storms, every provisioning still succeeds', async () => {
  await fetch(`${cloud.apiUrl}/_localcloud/faults`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ seed: 5, rules: [{ path: '/v2/', errorRate: 0.2, statuses: [500, 503] }, { path: '/v2/droplets', errorRate: 0.3, statuses: [429] }] }),
  });
  const worker = await startWorker();
  try {
    const specs = [1, 2, 3].map((n) => environment(n, 'faulty'));
    const handles = await Promise.all(specs.map((spec) => env.client.workflow.start('provisionEnvironment', { taskQueue: TASK_QUEUE, workflowId: `provision-${spec.name}`, args: [{ spec }] })));
    const results = (await Promise.all(handles.map((h) => h.result()))) as ProvisionResult[];
    expect(results.map((r) => r.environment)).toEqual(specs.map((s) => s.name));
    await fetch(`${cloud.apiUrl}/_localcloud/faults`, { method: 'PUT', headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' }, body: '{}' });
    expectExactlyOneEach(await inventory(), specs.map((s) => s.name));
  } finally {
    await kill(worker);
  }
});
