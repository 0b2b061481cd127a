// Chaos: the production worker (dist/worker.js, with its deploy key and stack A's database password
// in its environment) is SIGKILLed 22 times at seeded random moments while four whole stack A
// environments provision (infrastructure, SSH, volume mount, bootstrap, compose, health gate; most
// of the time goes to the SSH steps, so most kills land there), and restarted each time; then API faults (20% 5xx, 429 storms). Every workflow must end provisioned,
// with zero duplicate and zero orphaned resources counted from the local cloud's inventory, and
// every host must run its whole compose stack.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '../../src/localcloud';
import { generateEd25519 } from '../../src/localcloud/hosts/host-key';
import { loadEnvironmentSpec } from '../../src/specs/load';
import type { EnvironmentSpec } from '../../src/specs/environment';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/provision-environment';
import type { OperationStatus } from '../../src/workflows/status';
import { connect, exec } from '../helpers/droplet-host';
import { startLocalCloud } from '../helpers/localcloud';
import { localCloudControl } from '../helpers/provision-harness';
import { tempDir } from '../helpers/temp';
import { startTemporal, workflowBundlePath } from '../helpers/temporal';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
jest.setTimeout(10 * 60_000);

const KILLS = 22;
const SEED = 20261122;

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let deployKey: string;
let keyFile: string;
const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');
const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', 'examples', 'stack-a.yaml'));

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 }, timing: { dropletCreateMs: 1200, actionMs: 300 } }));
  deployKey = generateEd25519().private;
  keyFile = path.join(tempDir('chaos-keys'), 'deploy');
  writeFileSync(keyFile, deployKey, { mode: 0o600 });
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
      OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
      STACK_A_POSTGRES_PASSWORD: 'chaos-horse-battery',
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
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function environment(n: number, prefix: string): EnvironmentSpec {
  return { ...structuredClone(stackA), name: `${prefix}-${n}`, vpc: { ipRange: `10.${100 + n}.0.0/16` } };
}

const control = (method: string, what: string, body?: unknown) => localCloudControl(cloud, method, what, body);

/** Every resource belongs to exactly one environment, and each environment has exactly one of each. */
function expectExactlyOneEach(inv: Body, results: ProvisionResult[]): void {
  const names = results.map((r) => r.environment).sort();
  expect(inv.droplets.map((d: Body) => d.name).sort()).toEqual(names.map((n) => `${n}-app`));
  expect(inv.volumes.map((v: Body) => v.name).sort()).toEqual(names.map((n) => `${n}-pgdata`));
  expect(inv.vpcs.map((v: Body) => v.name).sort()).toEqual(names.map((n) => `${n}-vpc`));
  expect(inv.firewalls.map((f: Body) => f.name).sort()).toEqual(names.map((n) => `${n}-fw`));
  // Each volume on its own environment's droplet, each reserved IP on one, none spare.
  const dropletOf = (environment: string) => inv.droplets.find((d: Body) => d.name === `${environment}-app`).id;
  for (const r of results) {
    expect(inv.volumes.find((v: Body) => v.name === `${r.environment}-pgdata`).droplet_ids).toEqual([dropletOf(r.environment)]);
    expect(inv.reserved_ips.filter((ip: Body) => ip.droplet_id === dropletOf(r.environment))).toEqual([{ ip: r.reservedIp, droplet_id: dropletOf(r.environment) }]);
  }
  expect(inv.reserved_ips).toHaveLength(names.length);
  // The deploy key once, however many workers raced to register it.
  expect(inv.ssh_keys).toHaveLength(1);
}

/** The hosts really run stack A: every service answers, and compose shows all six running. */
async function expectHostsServing(results: ProvisionResult[]): Promise<void> {
  for (const r of results) {
    for (const url of r.urls) expect({ url, status: (await fetch(url)).status }).toEqual({ url, status: 200 });
    const host = r.hosts[0]!;
    const { client, fingerprint } = await connect({ id: host.dropletId, address: host.address, port: r.ssh.port, region: 'fra1' }, deployKey);
    try {
      expect(fingerprint).toBe(host.hostKey);
      const ps = await exec(client, "cd /opt/app && docker compose ps --format '{{.Service}} {{.State}}' && mountpoint -q /mnt/pgdata && echo mounted");
      expect({ environment: r.environment, ps: ps.stdout.trim().split('\n').sort() }).toEqual({
        environment: r.environment,
        ps: ['auth running', 'booking running', 'fleet running', 'frontend running', 'mounted', 'payment running', 'postgres running'],
      });
    } finally {
      client.end();
    }
  }
}

const SSH_STEPS = ['wait for SSH', 'mount volumes', 'bootstrap', 'deploy application', 'health gate'];

test(`${KILLS} SIGKILLs of the worker during four whole stack A provisionings: all finish, nothing duplicated or orphaned`, async () => {
  const started = Date.now();
  const at = () => Date.now() - started;
  let worker = await startWorker();
  const specs = [1, 2, 3, 4].map((n) => environment(n, 'chaos'));
  // Started 20 s apart, so the kills find runs at every step, not four runs in step with each other.
  const handles: WorkflowHandle[] = [];
  const starting = (async () => {
    for (const [i, spec] of specs.entries()) {
      await new Promise((r) => setTimeout(r, Math.max(0, i * 20_000 - at())));
      handles.push(await env.client.workflow.start('provisionEnvironment', { taskQueue: TASK_QUEUE, workflowId: `provision-${spec.name}`, args: [{ spec }] }));
    }
  })();

  // Seeded, so a failing run can be repeated: a kill every 1 to 3 s (drawn at random) after the
  // worker is back, so the kills stay among running steps however fast this machine provisions, and
  // the whole kill phase lasts about 80 s. An SSH step allows 5 attempts, each retried 30 s of
  // heartbeat timeout (plus backoff) after a death, so the 5th starts at least 150 s after the 1st
  // was killed: within that window no step can be killed on every attempt, and the runs must all
  // succeed.
  let seed = SEED;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const stepsAtKill = new Map<string, number>();
  let kills = 0;
  let midRun = 0;
  let inSsh = 0;
  let restartMs = 0;
  try {
    // Past 130 s no more kills (see above: the 150 s a step needs to be killed on all 5 attempts).
    while (kills < KILLS && at() < 130_000) {
      await new Promise((r) => setTimeout(r, 1000 + random() * 2000));
      // Where the runs are (a query that takes over 4 s does not hold the kill back).
      const steps = await Promise.all(
        handles.map((h) => Promise.race([h.query<OperationStatus>('status').then((s) => s.step), new Promise<string>((r) => setTimeout(() => r('unknown'), 4000))]).catch(() => 'unknown')),
      );
      // Every run has ended: later kills would prove nothing (the assertion on midRun says so).
      if (handles.length === specs.length && steps.every((s) => s === 'done')) break;
      for (const step of steps) stepsAtKill.set(step, (stepsAtKill.get(step) ?? 0) + 1);
      if (steps.some((s) => s !== 'done')) midRun++;
      if (steps.some((s) => SSH_STEPS.includes(s))) inSsh++;
      await kill(worker);
      kills++;
      const restarting = Date.now();
      worker = await startWorker();
      restartMs += Date.now() - restarting;
    }
    const killPhaseMs = at();
    await starting;
    const results = (await Promise.all(handles.map((h) => h.result()))) as ProvisionResult[];
    const totalMs = at();
    expect(results.map((r) => r.environment)).toEqual(specs.map((s) => s.name));
    expect(kills).toBeGreaterThanOrEqual(20);
    // The kills landed while provisioning went on, not after it.
    expect(midRun).toBeGreaterThanOrEqual(20);
    expectExactlyOneEach(await control('GET', 'inventory'), results);
    await expectHostsServing(results);
    const tally = [...stepsAtKill.entries()].sort((a, b) => b[1] - a[1]).map(([step, n]) => `${step} ${n}`);
    console.log(
      `chaos: ${kills} SIGKILLs and restarts (${(restartMs / kills / 1000).toFixed(1)} s a restart on average) in ${(killPhaseMs / 1000).toFixed(1)} s; ` +
        `${midRun} while a run was provisioning, ${inSsh} while one was in an SSH step; all four provisioned after ${(totalMs / 1000).toFixed(1)} s; ` +
        `steps of the runs at each kill: ${tally.join(', ')}`,
    );
  } finally {
    await kill(worker);
    // Even after a failure: the next test's environments use the same VPC ranges.
    await control('POST', 'reset');
  }
});

// 20% of every API call answers 500 or 503, and on top of that the droplet endpoints (the most
// polled) answer 429 three times in ten. Waits ride out failed polls; any other failed call costs
// an activity attempt, and a cloud step has 8.
test('with 20% of API calls failing and 429 storms, every provisioning still succeeds', async () => {
  await control('PUT', 'faults', { seed: 5, rules: [{ path: '/v2/', errorRate: 0.2, statuses: [500, 503] }, { path: '/v2/droplets', errorRate: 0.3, statuses: [429] }] });
  const started = Date.now();
  const worker = await startWorker();
  try {
    const specs = [1, 2, 3].map((n) => environment(n, 'faulty'));
    const handles = await Promise.all(specs.map((spec) => env.client.workflow.start('provisionEnvironment', { taskQueue: TASK_QUEUE, workflowId: `provision-${spec.name}`, args: [{ spec }] })));
    const results = (await Promise.all(handles.map((h) => h.result()))) as ProvisionResult[];
    const { requests } = await control('GET', 'requests');
    await control('PUT', 'faults', {});
    expect(results.map((r) => r.environment)).toEqual(specs.map((s) => s.name));
    expectExactlyOneEach(await control('GET', 'inventory'), results);
    await expectHostsServing(results);
    const failed = requests.filter((r: Body) => r.status >= 500).length;
    const throttled = requests.filter((r: Body) => r.status === 429).length;
    console.log(`faults: 3 provisioned in ${((Date.now() - started) / 1000).toFixed(1)} s through ${requests.length} API requests, ${failed} answered 5xx and ${throttled} 429`);
  } finally {
    await kill(worker);
  }
});
